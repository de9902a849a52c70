"""The face generator's critic (training only): a DCGAN-style discriminator with
spectral norm, applied at two image scales (64×64 and 32×32)."""
from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils import spectral_norm


class Discriminator(nn.Module):
    """Two spectrally normalised DCGAN critics: one on the image, one on it at half size."""

    def __init__(self, width: int = 32):
        super().__init__()

        def critic(levels: int) -> nn.Sequential:
            layers, cin, cout = [], 3, width
            for _ in range(levels):
                layers += [spectral_norm(nn.Conv2d(cin, cout, 4, 2, 1)), nn.LeakyReLU(0.2, inplace=True)]
                cin, cout = cout, cout * 2
            layers += [nn.Flatten(), spectral_norm(nn.Linear(cin * 16, 1))]
            return nn.Sequential(*layers)
        self.fine = critic(4)    # 64 → 4
        self.coarse = critic(3)    # 32 → 4

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = x * 2 - 1
        return [self.fine(x), self.coarse(nn.functional.avg_pool2d(x, 2))]
