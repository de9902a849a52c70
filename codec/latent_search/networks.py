"""The coding networks of the latent-search backend (64×64 RGB faces).

* :class:`Generator` G: latent z (``z_dim``, prior N(0, I)) → image in [0, 1].
  It is all the decoder needs. Its *first linear layer* (z → 4×4 feature map)
  is kept separate (``stem``) because GANZ variable-ratio coding swaps exactly
  that layer for a seeded random projection (see :mod:`.projection`).
* :class:`Encoder` E: image → z. Used only to give the latent search an
  amortized first guess, which is better and far cheaper than random restarts.

The discriminator D, which only training needs, is in
:mod:`gzc.codec.training.latent_search.discriminator`.

G has batch norm (DCGAN). At coding time it runs in eval mode, where batch
norm is a fixed per-channel affine map from stored statistics, so G(z) does
not depend on the batch it is computed in.
"""
from __future__ import annotations

import torch
from torch import nn

from .config import SIZE, GeneratorConfig  # noqa: F401 (re-exported)


def _up_block(cin: int, cout: int) -> nn.Sequential:
    """2× nearest upsampling + 3×3 conv: no checkerboard artefacts (unlike transposed convs)."""
    return nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"),
                         nn.Conv2d(cin, cout, 3, padding=1, bias=False),
                         nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class Generator(nn.Module):
    def __init__(self, config: GeneratorConfig = GeneratorConfig()):
        super().__init__()
        self.config = config
        w = config.width
        self.stem_channels = 8 * w
        self.stem = nn.Linear(config.z_dim, self.stem_channels * 16)   # the layer GANZ replaces
        self.body = nn.Sequential(
            nn.BatchNorm2d(8 * w), nn.ReLU(inplace=True),           # 4×4
            _up_block(8 * w, 4 * w),                                 # 8×8
            _up_block(4 * w, 2 * w),                                 # 16×16
            _up_block(2 * w, w),                                     # 32×32
            _up_block(w, w),                                         # 64×64
            nn.Conv2d(w, 3, 3, padding=1),
        )

    def features(self, z: torch.Tensor) -> torch.Tensor:
        """The stem's output as a 4×4 map, the input of :meth:`render`."""
        return self.stem(z).view(-1, self.stem_channels, 4, 4)

    def render(self, features: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.body(features))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.render(self.features(z))


class Encoder(nn.Module):
    """Image in [0, 1] → (mean, log-variance) of z; the mean is the search's first guess."""

    def __init__(self, config: GeneratorConfig = GeneratorConfig()):
        super().__init__()
        w = config.width

        def down(cin, cout):
            return nn.Sequential(nn.Conv2d(cin, cout, 4, 2, 1), nn.LeakyReLU(0.2, inplace=True))
        self.net = nn.Sequential(down(3, w), down(w, 2 * w), down(2 * w, 4 * w), down(4 * w, 8 * w),
                                 nn.Flatten(), nn.Linear(8 * w * 16, 2 * config.z_dim))
        self.z_dim = config.z_dim

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.net(x * 2 - 1)
        return h[:, :self.z_dim], h[:, self.z_dim:].clamp(-8, 4)
