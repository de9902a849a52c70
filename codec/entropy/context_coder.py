"""Coder 3: range coding with context-selected integer tables (spec §6.3).

The stream is the one of coder 1 (:mod:`.range_coder`: constriction's queue
range coder, 32-bit words, 24-bit probabilities); only the order of the
elements and the table each one uses differ. Per channel ``c`` there are
``CONTEXTS`` tables ``tables[c, k]``, and :mod:`.context` says which ``k``
codes each element. Channel ``c`` is two passes, anchors then non-anchors,
and each pass is one vectorised constriction call with a per-symbol table: the
anchors' contexts need only the channels already decoded, the non-anchors'
only the anchors of the same channel.

Exactness is as for coder 1: each table reaches constriction as ``table − 1``
(floats that are small integers), for which its fixed-point conversion
reproduces the table exactly (``spec/reference/range_decoder.py`` checks it).
"""
from __future__ import annotations

import constriction
import numpy as np

from .context import CONTEXTS, anchor_mask, channel_bucket, table_indices
from .range_coder import RangeCoderError
from .tables import TABLE_PRECISION

_FAMILY = constriction.stream.model.Categorical(perfect=False)   # the table is given per symbol


def check_context_tables(tables: np.ndarray, channels: int | None = None) -> np.ndarray:
    """Validate a stored (C, CONTEXTS, n) table array (each row ≥ 1, summing to 2^24); int64."""
    tables = np.asarray(tables)
    if tables.ndim != 3 or tables.shape[1] != CONTEXTS or not np.issubdtype(tables.dtype, np.integer):
        raise ValueError(f"context tables must be an integer array (C, {CONTEXTS}, n), not {tables.shape}")
    tables = tables.astype(np.int64)
    if tables.min() < 1 or np.any(tables.sum(axis=2) != 1 << TABLE_PRECISION):
        raise ValueError(f"every context table must be positive and sum to 2^{TABLE_PRECISION}")
    if channels is not None and tables.shape[0] < channels:
        raise ValueError(f"latent has {channels} channels but the model has context tables for {tables.shape[0]}")
    return tables


def _passes(h: int, w: int, coded_channel: np.ndarray | None):
    """The two passes of a channel as boolean (H, W) masks of the elements they code."""
    anchor = anchor_mask(h, w)
    if coded_channel is None:
        return anchor, ~anchor
    return anchor & coded_channel, ~anchor & coded_channel


def _probabilities(tables_c: np.ndarray, index: np.ndarray) -> np.ndarray:
    """Per-symbol constriction input: row ``k`` of ``tables_c`` minus 1, as float64."""
    return tables_c[index].astype(np.float64) - 1.0


def encode(symbols: np.ndarray, tables: np.ndarray, offset: int, coded: np.ndarray | None = None) -> bytes:
    """(C, H, W) ints → payload bytes; ``coded`` as in :func:`.range_coder.encode`."""
    symbols = np.asarray(symbols, dtype=np.int64)
    if symbols.ndim != 3:
        raise ValueError(f"latent of shape {symbols.shape} is not (C, H, W)")
    tables = check_context_tables(tables, symbols.shape[0])
    if coded is not None and coded.shape != symbols.shape:
        raise ValueError(f"coded-element mask {coded.shape} does not match the latent {symbols.shape}")
    n = tables.shape[2]
    encoder = constriction.stream.queue.RangeEncoder()
    lower = np.zeros(symbols.shape[1:], dtype=np.int64)           # Σ_{k<c} |s[k]|
    for c in range(symbols.shape[0]):
        a = np.abs(symbols[c])
        index = table_indices(lower, a, c)
        for where in _passes(*a.shape, None if coded is None else coded[c]):
            idx = symbols[c][where] - offset
            if idx.size == 0:
                continue
            if idx.min() < 0 or idx.max() >= n:
                raise ValueError(f"channel {c}: symbol outside the table's alphabet")
            encoder.encode(idx.astype(np.int32), _FAMILY, _probabilities(tables[c], index[where]))
        lower += a
    return encoder.get_compressed().astype("<u4").tobytes()


def decode(payload: bytes, shape: tuple[int, int, int], tables: np.ndarray, offset: int,
           coded: np.ndarray | None = None) -> np.ndarray:
    """Inverse of :func:`encode`; reads at most the payload's words."""
    if len(payload) % 4:
        raise RangeCoderError("range-coded payload length is not a multiple of 4 bytes")
    channels, h, w = shape
    try:
        tables = check_context_tables(tables, channels)
    except ValueError as exc:
        raise RangeCoderError(str(exc)) from None
    decoder = constriction.stream.queue.RangeDecoder(np.frombuffer(payload, dtype="<u4").astype(np.uint32))
    out = np.zeros((channels, h, w), dtype=np.int64)
    lower = np.zeros((h, w), dtype=np.int64)
    try:
        for c in range(channels):
            u = channel_bucket(lower, c)
            anchors, others = _passes(h, w, None if coded is None else coded[c])
            if anchors.any():
                out[c][anchors] = decoder.decode(_FAMILY, _probabilities(tables[c], u[anchors])) + offset
            if others.any():                                # the anchors of c are decoded, its others still 0
                index = table_indices(lower, np.abs(out[c]), c)[others]
                out[c][others] = decoder.decode(_FAMILY, _probabilities(tables[c], index)) + offset
            lower += np.abs(out[c])
    except Exception as exc:  # constriction raises plain exceptions on invalid streams
        raise RangeCoderError(f"invalid range-coded payload: {exc}") from None
    return out


__all__ = ["CONTEXTS", "check_context_tables", "decode", "encode"]
