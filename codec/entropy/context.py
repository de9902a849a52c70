"""The checkerboard + channel context of coder 3: which table codes each latent element.

A factorized prior pays the same price for a latent value wherever it sits, so
a smooth sky costs as much as foliage. Coder 3 (spec §6.3) picks one of
``CONTEXTS`` = 24 tables per channel from what the decoder already knows,
using integers only, so encoder and decoder always agree:

* channel ``c`` is coded in two passes: first its **anchors**, the positions
  with ``(i + j)`` even, then the **non-anchors**, each pass in raster order
  (the checkerboard of He et al. 2021);
* ``u = min(3, ⌊2·Σ_{k<c} |s[k,i,j]| / c⌋)`` (``u = 0`` for channel 0): how
  busy the lower channels, all decoded already, are at that position (the
  channel context of Minnen & Singh 2020);
* an anchor uses table ``u``; a non-anchor uses table ``4 + 5·u + v`` with
  ``v = min(4, |s[c,i−1,j]| + |s[c,i+1,j]| + |s[c,i,j−1]| + |s[c,i,j+1]|)``, its
  four neighbours in the same channel, which are all anchors (outside the
  latent they count 0).

Elements a region-of-interest map leaves uncoded are 0 and count as such. This
module is numpy only (no torch): the reader imports it.
"""
from __future__ import annotations

import numpy as np

U_BUCKETS = 4                                 # u = 0 … 3
V_BUCKETS = 5                                 # v = 0 … 4
CONTEXTS = U_BUCKETS + U_BUCKETS * V_BUCKETS  # 4 anchor tables + 20 non-anchor tables


def anchor_mask(height: int, width: int) -> np.ndarray:
    """(H, W) bool: True where (i + j) is even (coded in the first pass)."""
    return (np.add.outer(np.arange(height), np.arange(width)) % 2) == 0


def channel_bucket(lower_abs_sum: np.ndarray, c: int) -> np.ndarray:
    """u per position from Σ_{k<c} |s[k]| (int array, any shape)."""
    if c == 0:
        return np.zeros(np.shape(lower_abs_sum), dtype=np.int64)
    return np.minimum(np.asarray(lower_abs_sum, dtype=np.int64) * 2 // c, U_BUCKETS - 1)


def neighbour_bucket(channel_abs: np.ndarray) -> np.ndarray:
    """v per position from |s[c]| (H, W): the clipped sum of the 4 neighbours, zero outside."""
    p = np.pad(np.asarray(channel_abs, dtype=np.int64), 1)
    return np.minimum(p[:-2, 1:-1] + p[2:, 1:-1] + p[1:-1, :-2] + p[1:-1, 2:], V_BUCKETS - 1)


def table_indices(lower_abs_sum: np.ndarray, channel_abs: np.ndarray, c: int) -> np.ndarray:
    """(H, W) table index of every element of channel ``c``, from Σ_{k<c} |s[k]| and |s[c]|.

    The one statement of the rule. Only the anchors of ``channel_abs`` matter (they
    are the non-anchors' neighbours), so the decoder may pass the channel with its
    non-anchors still 0."""
    u = channel_bucket(lower_abs_sum, c)
    return np.where(anchor_mask(*np.shape(channel_abs)), u, U_BUCKETS + V_BUCKETS * u + neighbour_bucket(channel_abs))


def context_indices(symbols: np.ndarray, c: int) -> np.ndarray:
    """(H, W) table index of every element of channel ``c`` of a complete latent (C, H, W)."""
    a = np.abs(np.asarray(symbols, dtype=np.int64))
    return table_indices(a[:c].sum(axis=0), a[c], c)
