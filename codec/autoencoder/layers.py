"""Building blocks of the autoencoder transforms.

We use the *simplified* GDN of Johnston et al. (2019), ``x / (beta + gamma·|x|)``,
instead of Ballé's original ``x / sqrt(beta + gamma·x²)``: it gives nearly the same
rate–distortion but avoids a square root per activation, which matters on a
2-core CPU where decoding a 768×512 image must take well under a second.
"""
from __future__ import annotations

import torch
from torch import nn
import torch.nn.functional as F


class SimplifiedGDN(nn.Module):
    """Divisive normalisation ``y = x / (beta + conv1x1(|x|, gamma))`` (or its inverse).

    ``beta`` and ``gamma`` are kept non-negative by squaring a free parameter,
    with ``beta`` floored so the denominator can never reach zero.
    """

    def __init__(self, channels: int, inverse: bool = False, beta_min: float = 1e-4):
        super().__init__()
        self.inverse = inverse
        self.beta_min = beta_min
        self.beta_sqrt = nn.Parameter(torch.ones(channels))
        self.gamma_sqrt = nn.Parameter(torch.eye(channels) * 0.3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        beta = self.beta_sqrt.square() + self.beta_min
        gamma = self.gamma_sqrt.square()
        c = gamma.shape[0]
        norm = F.conv2d(x.abs(), gamma.view(c, c, 1, 1), beta)
        return x * norm if self.inverse else x / norm


class ResidualBlock(nn.Module):
    """Two 3×3 convolutions with a skip; used at the coarsest scales where they are cheap."""

    def __init__(self, channels: int):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv2(F.leaky_relu(self.conv1(x), 0.2))


class UpsampleConv(nn.Module):
    """3×3 convolution followed by a 2× pixel shuffle (sub-pixel upsampling).

    Much cheaper than a 5×5 transposed convolution at the same output size,
    and free of its checkerboard artefacts.
    """

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels * 4, 3, padding=1)
        self.shuffle = nn.PixelShuffle(2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.shuffle(self.conv(x))
