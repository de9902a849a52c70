"""Reference decoder for the range-coded payload of spec/gzc.md, integers only.

This file is part of the specification: it is deliberately slow and simple,
depends on nothing, and exists so that a third party can check their own
decoder (or port this one). The codec itself uses constriction, and the test
suite checks that this decoder reproduces its symbols exactly.

    symbols = decode_latent(payload, (C, H, W), tables, offset)
"""
from __future__ import annotations

PRECISION = 24
WORD_MASK = (1 << 32) - 1
STATE_MASK = (1 << 64) - 1


class RangeDecoder:
    """Tracks ``d = point - lower`` and ``range`` (see spec/gzc.md §6.2)."""

    def __init__(self, words: list[int]):
        self.words = words
        self.pos = 0
        self.range = STATE_MASK          # 2^64 - 1
        self.d = (self._next() << 32) | self._next()

    def _next(self) -> int:
        """Next 32-bit word; past the end of the payload, zeros."""
        if self.pos < len(self.words):
            self.pos += 1
            return self.words[self.pos - 1]
        return 0

    def decode(self, cdf: list[int]) -> int:
        """One symbol index under a model given by its cumulative table (cdf[-1] == 2^24)."""
        scale = self.range >> PRECISION
        quantile = self.d // scale
        if quantile >= 1 << PRECISION:
            raise ValueError("invalid range-coded data")
        lo, hi = 0, len(cdf) - 1          # find s with cdf[s] <= quantile < cdf[s+1]
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if cdf[mid] <= quantile:
                lo = mid
            else:
                hi = mid
        s = lo
        self.d -= scale * cdf[s]
        self.range = scale * (cdf[s + 1] - cdf[s])
        if self.range < 1 << 32:
            self.range <<= 32
            self.d = ((self.d << 32) & STATE_MASK) | self._next()
        return s


def cumulative(table: list[int]) -> list[int]:
    """Frequency table (each ≥ 1, summing to 2^24) → cumulative table of len(table)+1 entries."""
    if min(table) < 1 or sum(table) != 1 << PRECISION:
        raise ValueError("table entries must be ≥ 1 and sum to 2^24")
    cdf = [0]
    for f in table:
        cdf.append(cdf[-1] + int(f))
    return cdf


def decode_latent(payload: bytes, shape: tuple[int, int, int], tables: list[list[int]], offset: int,
                  coded=None) -> list[int]:
    """Decode a whole latent: channel by channel, raster order within a channel.

    ``coded(c, i, j)``, if given, says which elements the payload holds (a ROIM
    chunk, spec §5.1); the others are 0. Channel c uses table c."""
    if len(payload) % 4:
        raise ValueError("payload length must be a multiple of 4")
    words = [int.from_bytes(payload[i:i + 4], "little") for i in range(0, len(payload), 4)]
    decoder = RangeDecoder(words)
    channels, height, width = shape
    out = []
    for c in range(channels):
        cdf = cumulative(list(tables[c]))
        out += [decoder.decode(cdf) + offset if coded is None or coded(c, i, j) else 0
                for i in range(height) for j in range(width)]
    return out


def context_table_index(latent: list[int], shape: tuple[int, int, int], c: int, i: int, j: int) -> int:
    """Coder 3 (spec §6.3): which of channel c's 24 tables codes element (c, i, j).

    ``latent`` is the flat C-order latent decoded so far (elements not yet decoded
    are 0; the coding order guarantees the ones read here are final)."""
    _, height, width = shape

    def mag(k: int, y: int, x: int) -> int:
        if 0 <= y < height and 0 <= x < width:
            return abs(latent[(k * height + y) * width + x])
        return 0

    u = 0 if c == 0 else min(3, 2 * sum(mag(k, i, j) for k in range(c)) // c)
    if (i + j) % 2 == 0:
        return u
    v = min(4, mag(c, i - 1, j) + mag(c, i + 1, j) + mag(c, i, j - 1) + mag(c, i, j + 1))
    return 4 + 5 * u + v


def decode_latent_context(payload: bytes, shape: tuple[int, int, int], tables: list[list[list[int]]],
                          offset: int, coded=None) -> list[int]:
    """Decode a coder-3 latent: per channel, the anchors ((i + j) even) in raster order,
    then the other positions in raster order; ``tables[c][k]`` is channel c's table k."""
    if len(payload) % 4:
        raise ValueError("payload length must be a multiple of 4")
    words = [int.from_bytes(payload[i:i + 4], "little") for i in range(0, len(payload), 4)]
    decoder = RangeDecoder(words)
    channels, height, width = shape
    out = [0] * (channels * height * width)
    for c in range(channels):
        cdfs = [cumulative(list(t)) for t in tables[c]]
        for parity in (0, 1):
            for i in range(height):
                for j in range(width):
                    if (i + j) % 2 != parity or (coded is not None and not coded(c, i, j)):
                        continue
                    k = context_table_index(out, shape, c, i, j)
                    out[(c * height + i) * width + j] = decoder.decode(cdfs[k]) + offset
    return out
