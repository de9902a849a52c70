"""The chunk types this version of the format defines (spec/gzc.md §5), as plain data.

``GANZ`` (critical): the latent-search backend's GANZ variable-ratio mode.
The generator's first layer is replaced by a random projection rebuilt from
a 64-bit seed, fed by a latent of ``dims`` values. Data: seed as 8 bytes
big-endian, then dims as a varint; nothing may follow.
"""
from __future__ import annotations

from dataclasses import dataclass

from .container import CHUNK_GANZ, Chunk
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
