"""Signed Elias-gamma code: a model-free entropy coder, packed with bitarray.

Each signed integer ``v`` is zig-zag mapped to ``u = 2v`` (v ≥ 0) or
``u = -2v - 1`` (v < 0), then ``n = u + 1 ≥ 1`` is written as its Elias-gamma
code: ``L-1`` zero bits followed by the ``L`` binary digits of ``n`` (most
significant first), where ``L`` is the bit length of ``n``. That is exactly
``n`` written as a ``2L-1``-bit big-endian number, which the encoder exploits
to build all codes at once with numpy. The bit string is padded with zero bits
to a whole byte. Small magnitudes get short codes (0 → 1 bit, ±1 → 3 bits), so
it suits latents concentrated around zero without needing any prior.
"""
from __future__ import annotations

import numpy as np
from bitarray import bitarray

from ...formats import CorruptPayloadError

MAX_MAGNITUDE = (1 << 30) - 1  # keeps n below 2^31, so codes fit in 61 bits


class EliasGammaError(CorruptPayloadError):
    """The payload does not contain the expected number of valid Elias-gamma codes."""


def zigzag(values: np.ndarray) -> np.ndarray:
    v = values.astype(np.int64)
    return np.where(v >= 0, 2 * v, -2 * v - 1)


def unzigzag(u: np.ndarray) -> np.ndarray:
    u = u.astype(np.int64)
    return np.where(u % 2 == 0, u // 2, -(u + 1) // 2)


def encode(symbols: np.ndarray) -> bytes:
    values = np.asarray(symbols).ravel()
    if values.size and np.abs(values.astype(np.int64)).max() > MAX_MAGNITUDE:
        raise ValueError(f"Elias-gamma symbols must lie within ±{MAX_MAGNITUDE}")
    n = (zigzag(values) + 1).astype(np.uint64)
    if n.size == 0:
        return b""
    lengths = 2 * np.floor(np.log2(n.astype(np.float64))).astype(np.int64) + 1
    # np.log2 can round up just below a power of two: correct it exactly.
    lengths = np.where((n >> ((lengths + 1) // 2 - 1).astype(np.uint64)) == 0, lengths - 2, lengths)
    lengths = np.where((n >> ((lengths + 1) // 2).astype(np.uint64)) > 0, lengths + 2, lengths)
    big_endian = n.astype(">u8").view(np.uint8).reshape(-1, 8)
    bits = np.unpackbits(big_endian, axis=1)                      # (count, 64)
    keep = np.arange(64)[None, :] >= (64 - lengths)[:, None]     # last `length` bits of each
    out = bitarray(endian="big")
    out.pack(bits[keep].astype(bool).tobytes())
    out.fill()
    return out.tobytes()


def decode(payload: bytes, count: int) -> np.ndarray:
    """Decode exactly ``count`` symbols; remaining bits must be zero padding (< 8 bits)."""
    bits = bitarray(endian="big")
    bits.frombytes(payload)
    out = np.empty(count, dtype=np.int64)
    pos, end = 0, len(bits)
    for i in range(count):
        try:
            first_one = bits.index(1, pos)
        except ValueError:
            raise EliasGammaError(f"payload ends before symbol {i} of {count}") from None
        zeros = first_one - pos
        if zeros > 30:
            raise EliasGammaError(f"Elias-gamma code {i} is longer than allowed")
        stop = first_one + zeros + 1
        if stop > end:
            raise EliasGammaError(f"payload ends inside symbol {i} of {count}")
        n = int(bits[first_one:stop].to01(), 2)
        out[i] = n - 1
        pos = stop
    if end - pos >= 8 or bits[pos:].any():
        raise EliasGammaError("unexpected data after the last Elias-gamma code")
    return unzigzag(out)
