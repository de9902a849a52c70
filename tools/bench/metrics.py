"""Distortion metrics on 8-bit RGB.

PSNR is over all three channels (peak 255); an identical image has infinite
PSNR, which we keep as ``inf`` internally and write as ``null`` in JSON (and
exclude from means, reporting how many were excluded). SSIM and MS-SSIM come
from pytorch-msssim (Gaussian window 11, σ 1.5, data range 255), on RGB.

A third, *detail ratio*, is not a distortion: it asks how much fine-scale energy
a decoded image keeps, so that "blurred" and "sharp" can be stated with a number
next to the visual sheet (see ``detail_ratio``).
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
            "msssim": m, "msssim_db": msssim_db(m), "detail": detail_ratio(ref, test)}


def _laplacian_energy(img: np.ndarray) -> float:
    """Mean |4-neighbour Laplacian| of the luma (BT.601 weights), borders excluded."""
    y = img.astype(np.float64) @ np.array([0.299, 0.587, 0.114])
    lap = 4 * y[1:-1, 1:-1] - y[:-2, 1:-1] - y[2:, 1:-1] - y[1:-1, :-2] - y[1:-1, 2:]
    return float(np.mean(np.abs(lap)))


def detail_ratio(ref: np.ndarray, test: np.ndarray) -> float | None:
    """Fine-scale (Laplacian) energy of ``test`` over that of ``ref``, on luma.

    1 = as much pixel-scale detail as the original; below 1 = blurred (the usual failure
    of MSE-optimised and classical codecs at extreme rates); above 1 = more high-frequency
    energy than the original. It says nothing about whether the detail is *right*: block
    edges, ringing and synthesised texture all raise it, so it is read next to the sheet and
    the distortion metrics, never alone. None for a flat original (no detail to keep)."""
    if min(ref.shape[:2]) < 3:
        return None
    base = _laplacian_energy(ref)
    return None if base == 0 else _laplacian_energy(test) / base
