"""Distortions the latent search can minimise: L2, L1, SSIM, MS-SSIM and a mix.

SSIM follows Wang et al. 2004 (11×11 Gaussian window, σ = 1.5, K1 = 0.01,
K2 = 0.03, valid convolution), the same definition as pytorch-msssim and the
bench's metric. MS-SSIM at 64×64 cannot use the usual five scales (the
fifth would be 4×4, smaller than the window), so it uses three scales with a
7×7 window and the first three of Wang et al.'s exponents, renormalised.
``mix`` is Zhao et al. 2017's 0.84·(1 − MS-SSIM) + 0.16·L1.

Every loss takes images in [0, 1] shaped (N, 3, H, W) and returns one value
per image, so a batch of search candidates is scored independently.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

LOSSES = ("l2", "l1", "ssim", "ms-ssim", "mix")
MS_WEIGHTS = torch.tensor([0.0448, 0.2856, 0.3001])
MS_WEIGHTS = MS_WEIGHTS / MS_WEIGHTS.sum()


def _window(size: int, sigma: float) -> torch.Tensor:
    x = torch.arange(size, dtype=torch.float32) - (size - 1) / 2
    g = torch.exp(-x ** 2 / (2 * sigma ** 2))
    return g / g.sum()


def _blur(x: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    c = x.shape[1]
    x = F.conv2d(x, g.view(1, 1, 1, -1).repeat(c, 1, 1, 1), groups=c)
    return F.conv2d(x, g.view(1, 1, -1, 1).repeat(c, 1, 1, 1), groups=c)


def _ssim_terms(x: torch.Tensor, y: torch.Tensor, g: torch.Tensor, dims: tuple = (1, 2, 3)
                ) -> tuple[torch.Tensor, torch.Tensor]:
    """(SSIM, contrast-structure) per image, both averaged over ``dims`` (map and channels)."""
    c1, c2 = 0.01 ** 2, 0.03 ** 2
    mx, my = _blur(x, g), _blur(y, g)
    sxx = _blur(x * x, g) - mx * mx
    syy = _blur(y * y, g) - my * my
    sxy = _blur(x * y, g) - mx * my
    cs = (2 * sxy + c2) / (sxx + syy + c2)
    ssim = (2 * mx * my + c1) / (mx * mx + my * my + c1) * cs
    return ssim.mean(dim=dims), cs.mean(dim=dims)


def ssim(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return _ssim_terms(x, y, _window(11, 1.5).to(x))[0]


def _multi_scale(x: torch.Tensor, y: torch.Tensor, weights: torch.Tensor, window: int,
                 per_channel: bool, pad_odd: bool) -> torch.Tensor:
    """Wang et al.'s product over scales: contrast-structure at every scale but the last,
    full SSIM at the last, each raised to its exponent in ``weights``. ``per_channel``
    takes the product per colour channel and then averages (pytorch-msssim's order);
    ``pad_odd`` pads odd sides before halving (pytorch-msssim) instead of dropping them."""
    g = _window(window, 1.5).to(x)
    dims = (2, 3) if per_channel else (1, 2, 3)
    values = []
    for level in range(len(weights)):
        s, cs = _ssim_terms(x, y, g, dims)
        values.append(s if level == len(weights) - 1 else cs)
        if level < len(weights) - 1:
            pad = [side % 2 for side in x.shape[2:]] if pad_odd else 0
            x, y = F.avg_pool2d(x, 2, padding=pad), F.avg_pool2d(y, 2, padding=pad)
    stacked = torch.stack(values, dim=0).clamp_min(1e-6)   # cs can be ≤ 0 for wild candidates
    exponents = weights.to(stacked).view(-1, *[1] * (stacked.dim() - 1))
    value = torch.prod(stacked ** exponents, dim=0)         # (N,) or (N, C)
    return value.mean(dim=1) if per_channel else value


def ms_ssim(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return _multi_scale(x, y, MS_WEIGHTS, 7, per_channel=False, pad_odd=False)


WANG_WEIGHTS = torch.tensor([0.0448, 0.2856, 0.3001, 0.2363, 0.1333])


def ms_ssim5(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The benchmark's MS-SSIM, differentiable: Wang et al.'s five scales and exponents,
    11×11 window, per colour channel (then averaged), as pytorch-msssim computes it.

    Training a generative model against this instead of the three-scale proxy puts
    weight on the coarse scales (37 % of the exponents) that the 3-scale version
    ignores; it needs images of at least 161 pixels a side.
    """
    if min(x.shape[-2:]) < 161:
        raise ValueError("five-scale MS-SSIM needs images of at least 161 pixels a side")
    return _multi_scale(x, y, WANG_WEIGHTS, 11, per_channel=True, pad_odd=True)


def distortion(name: str, x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Per-image loss to minimise (lower is better)."""
    if name == "l2":
        return ((x - target) ** 2).mean(dim=(1, 2, 3))
    if name == "l1":
        return (x - target).abs().mean(dim=(1, 2, 3))
    if name == "ssim":
        return 1 - ssim(x, target)
    if name == "ms-ssim":
        return 1 - ms_ssim(x, target)
    if name == "mix":
        return 0.84 * (1 - ms_ssim(x, target)) + 0.16 * (x - target).abs().mean(dim=(1, 2, 3))
    raise ValueError(f"unknown loss {name!r} (choose {', '.join(LOSSES)})")
