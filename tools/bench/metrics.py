"""Distortion metrics on 8-bit RGB.

PSNR is over all three channels (peak 255); an identical image has infinite
PSNR, which we keep as ``inf`` internally and write as ``null`` in JSON (and
exclude from means, reporting how many were excluded). SSIM and MS-SSIM come
from pytorch-msssim (Gaussian window 11, σ 1.5, data range 255), on RGB.
"""
from __future__ import annotations

import math

import numpy as np
import torch
from pytorch_msssim import ms_ssim, ssim


def psnr(ref: np.ndarray, test: np.ndarray) -> float:
    mse = float(np.mean((ref.astype(np.float64) - test.astype(np.float64)) ** 2))
    return math.inf if mse == 0 else 10 * math.log10(255.0 ** 2 / mse)


def mse(ref: np.ndarray, test: np.ndarray) -> float:
    return float(np.mean((ref.astype(np.float64) - test.astype(np.float64)) ** 2))


def _tensor(img: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.array(img, dtype=np.float32, copy=True)).permute(2, 0, 1)[None]


@torch.no_grad()
def ssim_rgb(ref: np.ndarray, test: np.ndarray) -> float:
    return float(ssim(_tensor(ref), _tensor(test), data_range=255, size_average=True))


@torch.no_grad()
def msssim_rgb(ref: np.ndarray, test: np.ndarray) -> float | None:
    """MS-SSIM needs both sides > 160 px (5 scales of an 11-px window); None if smaller."""
    if min(ref.shape[:2]) <= 160:
        return None
    return float(ms_ssim(_tensor(ref), _tensor(test), data_range=255, size_average=True))


def msssim_db(value: float | None) -> float | None:
    if value is None:
        return None
    return math.inf if value >= 1 else -10 * math.log10(1 - value)


def all_metrics(ref: np.ndarray, test: np.ndarray) -> dict:
    m = msssim_rgb(ref, test)
    return {"psnr": psnr(ref, test), "mse": mse(ref, test), "ssim": ssim_rgb(ref, test),
            "msssim": m, "msssim_db": msssim_db(m)}
