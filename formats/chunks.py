"""The chunk types this version of the format defines (spec/gzc.md §5), as plain data.

``GANZ`` (critical): the latent-search backend's GANZ variable-ratio mode.
The generator's first layer is replaced by a random projection rebuilt from
a 64-bit seed, fed by a latent of ``dims`` values. Data: seed as 8 bytes
big-endian, then dims as a varint; nothing may follow.

``ROIM`` (critical): a region-of-interest map for the generative autoencoder.
One bit per latent cell (the latent's last two dimensions, raster order):
1 = region of interest, coded with all of the file's channels; 0 = background,
coded with only the first ``background_channels`` (0 = none: the decoder
synthesises it). Data: background_channels as a varint, then the map as
run lengths: alternating runs of 0-cells and 1-cells, starting with 0-cells,
each run length r written as the Elias-gamma code of r + 1 (MSB first, as in
the payload coder), zero-padded to a whole byte. Only the first run may be
empty; the runs must cover the grid exactly; nothing may follow.
"""
from __future__ import annotations

from dataclasses import dataclass

from .container import CHUNK_GANZ, CHUNK_ROIM, Chunk
from .errors import MalformedFieldError, TruncatedError
from .varint import decode_varint, encode_varint


@dataclass(frozen=True)
class GanzParameters:
    seed: int
    dims: int

    def to_chunk(self) -> Chunk:
        if not 0 <= self.seed < 1 << 64 or self.dims < 1:
            raise MalformedFieldError(f"GANZ seed {self.seed} / dims {self.dims} out of range")
        return Chunk(CHUNK_GANZ, self.seed.to_bytes(8, "big") + encode_varint(self.dims))

    @classmethod
    def from_chunk(cls, chunk: Chunk) -> "GanzParameters":
        data = chunk.data
        if len(data) < 9:
            raise TruncatedError("GANZ chunk is shorter than its 8-byte seed and dims")
        dims, end = decode_varint(data, 8, "GANZ dims")
        if end != len(data):
            raise MalformedFieldError(f"GANZ chunk has {len(data) - end} unexpected trailing bytes")
        if dims < 1:
            raise MalformedFieldError("GANZ dims must be at least 1")
        return cls(seed=int.from_bytes(data[:8], "big"), dims=dims)


MAX_GAMMA_BITS = 61  # the longest Elias-gamma code a reader accepts (n < 2^31), as in the payload


@dataclass(frozen=True)
class RoiMap:
    """Background channel count and a row-major 0/1 map of ``height × width`` latent cells."""
    background_channels: int
    height: int
    width: int
    cells: bytes  # one byte per cell, 0 or 1

    def __post_init__(self):
        if len(self.cells) != self.height * self.width or any(c > 1 for c in self.cells):
            raise MalformedFieldError("ROI map must have one 0/1 byte per latent cell")
        if self.background_channels < 0:
            raise MalformedFieldError("ROI background channel count must be ≥ 0")

    def runs(self) -> list[int]:
        """Alternating run lengths, starting with a (possibly empty) run of 0-cells."""
        runs, current, length = [], 0, 0
        for cell in self.cells:
            if cell == current:
                length += 1
            else:
                runs.append(length)
                current, length = cell, 1
        runs.append(length)
        return runs

    def to_chunk(self) -> Chunk:
        bits = "".join(_gamma(r + 1) for r in self.runs())
        bits += "0" * (-len(bits) % 8)
        packed = int(bits, 2).to_bytes(len(bits) // 8, "big") if bits else b""
        return Chunk(CHUNK_ROIM, encode_varint(self.background_channels) + packed)

    @classmethod
    def from_chunk(cls, chunk: Chunk, height: int, width: int) -> "RoiMap":
        """Parse against the latent grid the header declares. Work is bounded by the
        chunk's own length: every run costs at least one bit of it."""
        data = chunk.data
        background, pos = decode_varint(data, 0, "ROIM background channels")
        total = height * width
        cells = bytearray()
        reader = _BitReader(data[pos:])
        value, first = 0, True
        while len(cells) < total:
            run = reader.gamma() - 1
            if run == 0 and not first:    # not `cells`: after a first run of 0 it is still empty
                raise MalformedFieldError("ROIM run of length 0 after the first run")
            first = False
            if len(cells) + run > total:
                raise MalformedFieldError(f"ROIM runs cover more than the {height}x{width} latent grid")
            cells += bytes([value]) * run
            value ^= 1
        reader.check_end()
        return cls(background, height, width, bytes(cells))


def _gamma(n: int) -> str:
    """Elias-gamma code of n ≥ 1 as a bit string."""
    digits = bin(n)[2:]
    return "0" * (len(digits) - 1) + digits


class _BitReader:
    """MSB-first bits of a byte string, for the ROIM run lengths."""

    def __init__(self, data: bytes):
        self.data = data
        self.length = len(data) * 8
        self.pos = 0

    def bit(self) -> int:
        if self.pos >= self.length:
            raise TruncatedError("ROIM chunk ends inside a run length")
        byte, shift = divmod(self.pos, 8)
        self.pos += 1
        return (self.data[byte] >> (7 - shift)) & 1

    def gamma(self) -> int:
        zeros = 0
        while self.bit() == 0:
            zeros += 1
            if 2 * zeros + 1 > MAX_GAMMA_BITS:
                raise MalformedFieldError("ROIM run length code is longer than allowed")
        n = 1
        for _ in range(zeros):
            n = (n << 1) | self.bit()
        return n

    def check_end(self) -> None:
        rest = self.length - self.pos
        if rest >= 8 or (rest and self.data[-1] & ((1 << rest) - 1)):
            raise MalformedFieldError("ROIM chunk has data after the last run")
