"""Integer frequency tables: the only form in which probabilities reach the coder.

A table for an alphabet of ``n`` symbols is ``n`` positive integers summing to
``2^precision``. Tables are computed once, when weights are exported, from the
float prior; they are then stored in the weights file and used verbatim by
encoder and decoder. No float arithmetic ever decides a probability at coding
time, so a file decodes identically on every machine and thread count.
"""
from __future__ import annotations

import numpy as np

TABLE_PRECISION = 24  # the range coder's probability precision (bits)


def quantize_pmf(pmf: np.ndarray, precision: int = TABLE_PRECISION) -> np.ndarray:
    """Float pmf (any non-negative vector) → int64 frequencies, each ≥ 1, summing to 2^precision.

    Every symbol keeps at least frequency 1 (so any symbol can be coded, at a
    cost of ≤ precision bits); the remaining mass is distributed in proportion
    to ``pmf`` by flooring, and the rounding remainder goes to the most probable
    symbols (lowest index first among equals), which is the allocation that
    loses the least compression.
    """
    pmf = np.asarray(pmf, dtype=np.float64)
    n = pmf.size
    total = 1 << precision
    if n < 1 or n > total // 2:
        raise ValueError(f"alphabet of {n} symbols does not fit precision {precision}")
    if not np.all(np.isfinite(pmf)) or np.any(pmf < 0) or pmf.sum() <= 0:
        raise ValueError("pmf must be finite, non-negative and not all zero")
    pmf = pmf / pmf.sum()
    spare = total - n
    freq = 1 + np.floor(pmf * spare).astype(np.int64)
    remainder = total - int(freq.sum())
    order = np.argsort(-pmf, kind="stable")
    freq[order[:remainder]] += 1
    assert int(freq.sum()) == total and freq.min() >= 1
    return freq


def check_table(freq: np.ndarray, precision: int = TABLE_PRECISION) -> np.ndarray:
    """Validate a stored table (from a weights file) and return it as int64."""
    freq = np.asarray(freq)
    if freq.ndim != 1 or freq.size < 1 or not np.issubdtype(freq.dtype, np.integer):
        raise ValueError("frequency table must be a 1-D integer array")
    freq = freq.astype(np.int64)
    if freq.min() < 1 or int(freq.sum()) != 1 << precision:
        raise ValueError(f"frequency table must be positive and sum to 2^{precision}")
    return freq


def ideal_bits(symbols: np.ndarray, freq: np.ndarray, offset: int, precision: int = TABLE_PRECISION) -> float:
    """Information content of ``symbols`` under a table (for diagnostics, never for reported sizes)."""
    idx = np.asarray(symbols).ravel() - offset
    return float(np.sum(precision - np.log2(freq[idx].astype(np.float64))))
