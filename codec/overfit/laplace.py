"""The fixed family of integer probability tables of the overfitted backend (spec §12.3).

Table ``t = f · SCALE_LEVELS + k`` is a discretised Laplace distribution with
mean ``f / 4`` and scale ``b_k = SCALE_MIN · 2^(k / 6)`` over the residuals
``−126 … 126`` (the end bins absorb the tails), quantized to integers summing
to 2^24 by :func:`gzc.codec.entropy.tables.quantize_pmf`. The context model
only ever picks a table by its integer index, so no float reaches the coder.

The tables are computed once per process in float64. A libm whose ``exp``
differed in the last place could, in principle, move a rounding boundary:
the SHA-256 of the whole family is therefore part of the spec and checked
here, so such a platform fails loudly instead of decoding wrongly.
"""
from __future__ import annotations

import hashlib
from functools import lru_cache

import numpy as np

from ..entropy.tables import TABLE_PRECISION, quantize_pmf
from .architecture import MU_FRACTION_BITS, SCALE_LEVELS, SCALE_MIN, SCALE_STEPS_PER_OCTAVE, SYMBOL_BOUND

FRACTIONS = 1 << MU_FRACTION_BITS
TABLE_COUNT = FRACTIONS * SCALE_LEVELS
TABLES_SHA256 = "d064f9a210ff441d8883e52bd4a102dfffd332880768a75af7866022b29abede"


class TableMismatchError(RuntimeError):
    """This platform computed a different table family than the spec's (its hash differs)."""


def scale(k: np.ndarray | int) -> np.ndarray:
    return SCALE_MIN * 2.0 ** (np.asarray(k, dtype=np.float64) / SCALE_STEPS_PER_OCTAVE)


def laplace_pmf(mean: float, b: float) -> np.ndarray:
    """Bin masses of a Laplace(mean, b) over the integers −SYMBOL_BOUND … SYMBOL_BOUND (tails in the end bins)."""
    edges = np.arange(-SYMBOL_BOUND, SYMBOL_BOUND) + 0.5 - mean          # the inner bin edges
    cdf = np.where(edges < 0, 0.5 * np.exp(np.minimum(edges, 0) / b), 1 - 0.5 * np.exp(-np.maximum(edges, 0) / b))
    return np.diff(np.concatenate([[0.0], cdf, [1.0]]))


def build_tables() -> np.ndarray:
    """(TABLE_COUNT, 2·SYMBOL_BOUND + 1) int64 frequencies, each row summing to 2^24."""
    rows = [quantize_pmf(laplace_pmf(f / FRACTIONS, float(scale(k))), TABLE_PRECISION)
            for f in range(FRACTIONS) for k in range(SCALE_LEVELS)]
    return np.stack(rows)


def tables_digest(tables: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(tables, dtype="<i4").tobytes()).hexdigest()


@lru_cache(maxsize=1)
def tables() -> np.ndarray:
    """The verified table family (read-only)."""
    family = build_tables()
    digest = tables_digest(family)
    if digest != TABLES_SHA256:
        raise TableMismatchError(f"the overfit backend's probability tables hash to {digest[:16]}…, not the "
                                 f"spec's {TABLES_SHA256[:16]}…: this platform's float64 exp differs")
    family.setflags(write=False)
    return family
