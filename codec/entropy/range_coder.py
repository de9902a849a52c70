"""Range coding of a factorized latent with constriction and integer tables.

A latent of shape ``(C, H, W)`` is coded channel by channel (c = 0 … C-1),
each channel's symbols in raster order, all into *one* range-coder stream.
Channel ``c`` uses its own frequency table ``tables[c]`` over the alphabet
``offset … offset + len(table) - 1``. The stream is constriction's default
queue range coder (32-bit words, 64-bit state, 24-bit probabilities); its
words are stored little-endian. See spec/gzc.md, "Range-coded payload".

The fixed-point probability of symbol ``i`` is exactly ``table[i]`` (tables sum
to 2^24). constriction builds its fixed-point model from floats, with
``perfect=False`` as ``cdf[i] = trunc(C_i · (2^24 - n) / S) + i`` (``C_i`` the
running sum, ``S`` the total); we pass ``table - 1``, for which ``S = 2^24 - n``,
the scale is exactly 1 and every step is exact integer arithmetic in float64,
so ``cdf[i] = sum(table[:i])`` on every machine. (Passing ``table`` itself would
*not* reproduce it.) ``spec/reference/range_decoder.py`` decodes our payloads
with integers only and is tested against this module.
"""
from __future__ import annotations

import constriction
import numpy as np

from ...formats import CorruptPayloadError
from .tables import TABLE_PRECISION, check_table


class RangeCoderError(CorruptPayloadError):
    """The payload cannot be a range-coded stream for this latent shape."""


def _model(freq: np.ndarray):
    return constriction.stream.model.Categorical(freq.astype(np.float64) - 1.0, perfect=False)


def encode(symbols: np.ndarray, tables: list[np.ndarray], offset: int, coded: np.ndarray | None = None) -> bytes:
    """``symbols`` (C, H, W) ints within each table's alphabet → payload bytes.

    ``coded`` (bool, same shape) limits the stream to the marked elements, taken
    in the same order (a region-of-interest file codes fewer channels in its
    background); the others must be zero and are not written."""
    symbols = np.asarray(symbols)
    if symbols.ndim != 3 or symbols.shape[0] > len(tables):
        raise ValueError(f"latent of shape {symbols.shape} does not match {len(tables)} tables")
    if coded is not None and coded.shape != symbols.shape:
        raise ValueError(f"coded-element mask {coded.shape} does not match the latent {symbols.shape}")
    encoder = constriction.stream.queue.RangeEncoder()
    for c in range(symbols.shape[0]):
        freq = check_table(tables[c], TABLE_PRECISION)
        idx = (symbols[c].ravel() if coded is None else symbols[c][coded[c]]).astype(np.int64) - offset
        if idx.size and (idx.min() < 0 or idx.max() >= freq.size):
            raise ValueError(f"channel {c}: symbol outside the table's alphabet")
        if idx.size:
            encoder.encode(idx.astype(np.int32), _model(freq))
    return encoder.get_compressed().astype("<u4").tobytes()


def decode(payload: bytes, shape: tuple[int, int, int], tables: list[np.ndarray], offset: int,
           coded: np.ndarray | None = None) -> np.ndarray:
    """Inverse of :func:`encode`. The decoder reads at most the payload's words.

    A latent may have fewer channels than the model has tables (a generative
    file's C' rate point): channel c always uses table c."""
    if len(payload) % 4:
        raise RangeCoderError("range-coded payload length is not a multiple of 4 bytes")
    c_count, h, w = shape
    if c_count > len(tables):
        raise RangeCoderError(f"latent has {c_count} channels but the model has {len(tables)} tables")
    words = np.frombuffer(payload, dtype="<u4").astype(np.uint32)
    decoder = constriction.stream.queue.RangeDecoder(words)
    out = np.zeros((c_count, h, w), dtype=np.int64)
    try:
        for c in range(c_count):
            if coded is None:
                out[c] = decoder.decode(_model(tables[c]), h * w).reshape(h, w).astype(np.int64) + offset
            else:
                count = int(coded[c].sum())
                if count:
                    out[c][coded[c]] = decoder.decode(_model(tables[c]), count).astype(np.int64) + offset
    except Exception as exc:  # constriction raises plain exceptions on invalid streams
        raise RangeCoderError(f"invalid range-coded payload: {exc}") from None
    return out
