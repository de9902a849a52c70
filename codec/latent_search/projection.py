"""GANZ variable ratio: the generator's first linear layer, rebuilt from a seed.

GANZ codes an image at compression ratio R by searching a latent of
``d_c = pixels·3 / R`` dimensions that feeds a *fixed random projection* in
place of the generator's trained first layer (the "stem", z → 4×4 feature
map). The rest of the generator is unchanged, so one trained model serves
every ratio without retraining.

The projection must be rebuilt bit-exactly by any decoder from the seed and
d_c in the file's ``GANZ`` chunk, so it is defined by integer operations only
(spec/gzc.md §8.3):

* signs: entry (i, j) of the F × d_c sign matrix S is bit ``k = i·d_c + j``
  of the SplitMix64 stream started at ``seed`` — bit ``k mod 64`` (least
  significant first) of output number ``k div 64`` — with bit 0 → +1 and
  bit 1 → −1;
* scale: row i is multiplied by ``r_i / sqrt(d_c)``, where ``r_i`` is the
  Euclidean norm of row i of the trained stem's weight, and the trained
  stem's bias is kept. For z ~ N(0, I) every feature then has the same mean
  and variance as under the trained stem, which is what the generator's
  following batch norm expects.

Only the last step is floating point (one float32 multiply per entry, the
same in every IEEE-754 implementation).
"""
from __future__ import annotations

import numpy as np

GOLDEN_GAMMA = np.uint64(0x9E3779B97F4A7C15)
MIX1 = np.uint64(0xBF58476D1CE4E5B9)
MIX2 = np.uint64(0x94D049BB133111EB)
MAX_DIMS = 4096     # largest d_c a file may declare (bounds the projection's memory)
DEFAULT_SEED = 0x67A7C0DE


def splitmix64(seed: int, count: int) -> np.ndarray:
    """The first ``count`` outputs of SplitMix64 (Steele, Lea & Flood 2014) started at ``seed``."""
    with np.errstate(over="ignore"):
        state = np.uint64(seed) + GOLDEN_GAMMA * np.arange(1, count + 1, dtype=np.uint64)
        z = (state ^ (state >> np.uint64(30))) * MIX1
        z = (z ^ (z >> np.uint64(27))) * MIX2
        return z ^ (z >> np.uint64(31))


def sign_matrix(seed: int, rows: int, cols: int) -> np.ndarray:
    """(rows, cols) int8 matrix of ±1 from the SplitMix64 bit stream (see module docstring)."""
    n = rows * cols
    words = splitmix64(seed, -(-n // 64))
    # bytes of each word least significant first, bits of each byte least significant first
    bits = np.unpackbits(words.astype("<u8").view(np.uint8), bitorder="little")[:n]
    return (1 - 2 * bits.astype(np.int8)).reshape(rows, cols)


def projection_weight(seed: int, dims: int, row_norms: np.ndarray) -> np.ndarray:
    """float32 (F, dims) weight replacing the stem's: ``S · r_i / sqrt(dims)``."""
    if not 1 <= dims <= MAX_DIMS:
        raise ValueError(f"GANZ latent size {dims} outside 1..{MAX_DIMS}")
    if not 0 <= seed < 1 << 64:
        raise ValueError("GANZ seed must fit in 64 bits")
    row_norms = np.asarray(row_norms, dtype=np.float32)
    scale = row_norms / np.float32(np.sqrt(np.float32(dims)))
    return sign_matrix(seed, row_norms.size, dims).astype(np.float32) * scale[:, None]


def dims_for_ratio(ratio: float, pixels: int) -> int:
    """d_c = pixels·3 / R, rounded; R counts pixel values per latent value."""
    if not ratio > 0:
        raise ValueError("the GANZ ratio must be positive")
    return max(1, int(round(pixels * 3 / ratio)))
