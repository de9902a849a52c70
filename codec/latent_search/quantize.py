"""Scalar quantizers for the latent z (prior N(0, 1) per dimension).

Two are implemented and measured (bench/results/faces/, spec/gzc.md §8.2):

* ``uniform``: mid-tread, step Δ = clip / L with L = 2^(bits−1) − 1,
  symbols q ∈ [−L, L], reconstruction q·Δ. Symbols near 0 are frequent, so
  the range coder (per-dimension learned tables) or the Elias-gamma code
  shortens them.
* ``quantile``: 2^bits cells of equal probability under N(0, 1), symbols
  q ∈ [−2^(bits−1), 2^(bits−1) − 1], reconstruction Φ⁻¹((q + 2^(bits−1) + ½) / 2^bits).
  Every symbol is equally likely under the prior, so entropy coding gains
  little; the rate is about bits per dimension.

Dequantization is a lookup table computed in float64 and rounded to float32,
so encoder and decoder agree exactly.
"""
from __future__ import annotations

from functools import lru_cache
from statistics import NormalDist

import numpy as np

QUANTIZERS = ("uniform", "quantile")


def symbol_bounds(bits: int, quantizer: str) -> tuple[int, int]:
    half = 1 << (bits - 1)
    return (-(half - 1), half - 1) if quantizer == "uniform" else (-half, half - 1)


@lru_cache(maxsize=64)
def levels(bits: int, quantizer: str, clip: float) -> np.ndarray:
    """float32 reconstruction value of each symbol, index = symbol − lowest symbol."""
    lo, hi = symbol_bounds(bits, quantizer)
    q = np.arange(lo, hi + 1, dtype=np.float64)
    if quantizer == "uniform":
        values = q * (clip / hi)
    elif quantizer == "quantile":
        n = NormalDist()
        values = np.array([n.inv_cdf((k - lo + 0.5) / (hi - lo + 1)) for k in q])
    else:
        raise ValueError(f"unknown quantizer {quantizer!r}")
    values = values.astype(np.float32)
    values.flags.writeable = False
    return values


def quantize(z: np.ndarray, bits: int, quantizer: str, clip: float) -> np.ndarray:
    """float latent → int64 symbols (nearest reconstruction level)."""
    lv = levels(bits, quantizer, clip).astype(np.float64)
    lo, hi = symbol_bounds(bits, quantizer)
    z = np.asarray(z, dtype=np.float64)
    if quantizer == "uniform":
        idx = np.clip(np.rint(z * (hi / clip)), lo, hi) - lo
    else:
        mid = (lv[1:] + lv[:-1]) / 2           # decision thresholds between levels
        idx = np.searchsorted(mid, z)
    return idx.astype(np.int64) + lo


def dequantize(symbols: np.ndarray, bits: int, quantizer: str, clip: float) -> np.ndarray:
    lo, hi = symbol_bounds(bits, quantizer)
    symbols = np.asarray(symbols)
    if symbols.size and (symbols.min() < lo or symbols.max() > hi):
        raise ValueError(f"symbol outside {lo}..{hi} for {bits}-bit {quantizer} quantization")
    return levels(bits, quantizer, clip)[symbols - lo]
