"""Analysis (image → latent) and synthesis (latent → image) transforms.

Both are fully convolutional with a total stride of 16, so any image whose
sides are multiples of 16 maps to a latent of shape ``(M, H/16, W/16)``; the
backend pads other sizes by edge replication and crops after synthesis.
"""
from __future__ import annotations

from torch import nn

from .config import STRIDE  # noqa: F401 (re-exported)
from .layers import ResidualBlock, SimplifiedGDN, UpsampleConv


class AnalysisTransform(nn.Sequential):
    """Four 5×5 stride-2 convolutions with GDN, then a residual block at 1/16 scale."""

    def __init__(self, n: int, m: int):
        super().__init__(
            nn.Conv2d(3, n // 2, 5, stride=2, padding=2),
            SimplifiedGDN(n // 2),
            nn.Conv2d(n // 2, n, 5, stride=2, padding=2),
            SimplifiedGDN(n),
            nn.Conv2d(n, n, 5, stride=2, padding=2),
            SimplifiedGDN(n),
            nn.Conv2d(n, m, 5, stride=2, padding=2),
            ResidualBlock(m),
        )


class SynthesisTransform(nn.Sequential):
    """Mirror of the analysis: residual block, then four sub-pixel upsamplings with inverse GDN.

    Channel widths shrink as resolution grows; with N = 96, M = 160 the cost is 24.7 kMAC per
    output pixel (≈9.7 GMAC for a 768×512 image; counted layer by layer in bench/decoder.py).
    """

    def __init__(self, n: int, m: int):
        super().__init__(
            ResidualBlock(m),
            UpsampleConv(m, n),
            SimplifiedGDN(n, inverse=True),
            ResidualBlock(n),
            UpsampleConv(n, n),
            SimplifiedGDN(n, inverse=True),
            UpsampleConv(n, n // 2),
            SimplifiedGDN(n // 2, inverse=True),
            UpsampleConv(n // 2, 3),
        )
