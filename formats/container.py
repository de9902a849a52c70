"""Reader and writer for the .gzc container (spec/gzc.md is the contract).

Pure Python: importing this module never imports torch, so tools such as
``gzc-info`` and other programs can inspect a file cheaply. The reader checks
every length against the bytes actually present *before* using it, so a
hostile file cannot make it allocate or loop beyond the file's own size.
"""
from __future__ import annotations

import zlib
from dataclasses import dataclass, field

from .errors import (BadMagicError, CrcMismatchError, MalformedFieldError, TruncatedError,
                     UnknownCriticalChunkError, UnsupportedVersionError)
from .varint import decode_varint, encode_varint

MAGIC = b"\x89GZC"
VERSION_MAJOR = 1
VERSION_MINOR = 5
MAX_SIDE = 1 << 24          # widths/heights above 16,777,216 are malformed
MAX_LATENT_RANK = 4
MAX_CHUNKS = 64

COLOR_GRAY = 0   # decoded as 8-bit grayscale (coded as three equal channels)
COLOR_RGB = 1    # decoded as 8-bit RGB
COLOR_NAMES = {COLOR_GRAY: "grayscale", COLOR_RGB: "RGB"}

CODER_RANGE = 1         # range coder with per-channel integer frequency tables
CODER_ELIAS_GAMMA = 2   # signed (zig-zag) Elias-gamma code, no model
CODER_RANGE_CONTEXT = 3 # range coder, tables chosen per element by a checkerboard + channel context
CODER_OWN = 4           # the backend's own payload layout (the overfitted backend, spec §12.2)
CODER_NAMES = {CODER_RANGE: "range", CODER_ELIAS_GAMMA: "elias-gamma", CODER_RANGE_CONTEXT: "range-context",
               CODER_OWN: "backend"}

MODEL_ID_BYTES = 8

CHUNK_GANZ = b"GANZ"    # latent search, GANZ variable ratio: projection seed and size (chunks.py)
CHUNK_ROIM = b"ROIM"    # region-of-interest map: which latent cells are coded at full precision (chunks.py)
KNOWN_CRITICAL_CHUNKS = frozenset({CHUNK_GANZ, CHUNK_ROIM})

# Ancillary chunks (1.4): what the picture carries besides its colour (metadata.py)
CHUNK_ICCP = b"iCCP"    # ICC colour profile
CHUNK_EXIF = b"eXIf"    # EXIF (a TIFF structure, as in PNG)
CHUNK_XMPP = b"xMPP"    # XMP packet
CHUNK_ALPH = b"aLPH"    # alpha plane, lossless
#: Largest chunk data a reader accepts per type, checked before the data is read: the
#: limit on the decoded bytes plus the one method byte (spec §5.2).
MAX_CHUNK_DATA = {CHUNK_ICCP: (4 << 20) + 1, CHUNK_EXIF: (1 << 20) + 1, CHUNK_XMPP: (1 << 20) + 1}


@dataclass(frozen=True)
class Chunk:
    """A typed extension block. Upper-case first letter = critical, lower-case = may be skipped."""
    type: bytes
    data: bytes

    @property
    def critical(self) -> bool:
        return 65 <= self.type[0] <= 90

    def __repr__(self) -> str:
        # sizes, not contents: an ICC profile or EXIF block would flood a print() or a log line
        return f"Chunk(type={self.type!r}, data=<{len(self.data)} bytes>)"


@dataclass(frozen=True)
class GzcFile:
    width: int
    height: int
    color: int
    backend: int
    model_id: bytes
    bits: int
    coder: int
    latent_shape: tuple[int, ...]
    payload: bytes
    chunks: tuple[Chunk, ...] = field(default=())
    version: tuple[int, int] = (VERSION_MAJOR, VERSION_MINOR)

    def chunk(self, type_: bytes) -> Chunk | None:
        return next((c for c in self.chunks if c.type == type_), None)

    def __repr__(self) -> str:
        """One short line: ``print(gzc.read_header(data))`` shows the fields, and the payload and
        chunks by size (their bytes, kilobytes of them, say nothing to a reader)."""
        chunks = ", ".join(f"{c.type.decode()} {len(c.data)} bytes" for c in self.chunks)
        return (f"GzcFile(version={self.version[0]}.{self.version[1]}, width={self.width}, height={self.height}, "
                f"color={COLOR_NAMES.get(self.color, self.color)}, backend={self.backend}, "
                f"model_id={self.model_id.hex()}, bits={self.bits}, coder={CODER_NAMES.get(self.coder, self.coder)}, "
                f"latent_shape={self.latent_shape}, payload=<{len(self.payload)} bytes>, "
                f"chunks=[{chunks}])")


def _check_chunk_type(t: bytes) -> None:
    if len(t) != 4 or not all(65 <= b <= 90 or 97 <= b <= 122 for b in t):
        raise MalformedFieldError(f"chunk type must be 4 ASCII letters, got {t!r}")


def write(f: GzcFile) -> bytes:
    """Serialise ``f``; validates every field with the same rules as the reader."""
    _validate(f)
    out = bytearray(MAGIC)
    out.append((VERSION_MAJOR << 4) | VERSION_MINOR)
    out.append(f.color)
    out += encode_varint(f.width) + encode_varint(f.height)
    out.append(f.backend)
    out += f.model_id
    out.append(f.bits)
    out.append(f.coder)
    out.append(len(f.latent_shape))
    for d in f.latent_shape:
        out += encode_varint(d)
    out += encode_varint(len(f.chunks))
    for c in f.chunks:
        out += c.type + encode_varint(len(c.data)) + c.data
    out += encode_varint(len(f.payload)) + f.payload
    out += zlib.crc32(out).to_bytes(4, "big")
    return bytes(out)


def _validate(f: GzcFile) -> None:
    if not (1 <= f.width <= MAX_SIDE and 1 <= f.height <= MAX_SIDE):
        raise MalformedFieldError(f"image size {f.width}x{f.height} outside 1..{MAX_SIDE}")
    if f.color not in COLOR_NAMES:
        raise MalformedFieldError(f"unknown colour type {f.color}")
    if len(f.model_id) != MODEL_ID_BYTES:
        raise MalformedFieldError(f"model ID must be {MODEL_ID_BYTES} bytes")
    if not 1 <= f.bits <= 16:
        raise MalformedFieldError(f"bits {f.bits} outside 1..16")
    if not 1 <= len(f.latent_shape) <= MAX_LATENT_RANK or any(d < 1 for d in f.latent_shape):
        raise MalformedFieldError(f"latent shape {f.latent_shape} invalid")
    if len(f.chunks) > MAX_CHUNKS:
        raise MalformedFieldError(f"more than {MAX_CHUNKS} chunks")
    seen = set()
    for c in f.chunks:
        _check_chunk_type(c.type)
        _check_chunk_length(c.type, len(c.data))
        if c.type in seen:
            raise MalformedFieldError(f"chunk {c.type.decode()} appears twice (chunk types are unique)")
        seen.add(c.type)


def _check_chunk_length(t: bytes, length: int) -> None:
    if length > MAX_CHUNK_DATA.get(t, length):
        raise MalformedFieldError(f"chunk {t.decode()} declares {length} bytes, above its limit of "
                                  f"{MAX_CHUNK_DATA[t]}")


class _Cursor:
    """Bounds-checked sequential reader over the file's bytes."""

    def __init__(self, data: bytes):
        self.data = data
        self.pos = 0

    def byte(self, name: str) -> int:
        if self.pos >= len(self.data):
            raise TruncatedError(f"file ends before the {name} field (offset {self.pos})")
        self.pos += 1
        return self.data[self.pos - 1]

    def take(self, n: int, name: str) -> bytes:
        if n > len(self.data) - self.pos:
            raise TruncatedError(f"{name} declares {n} bytes but only {len(self.data) - self.pos} remain")
        self.pos += n
        return self.data[self.pos - n:self.pos]

    def varint(self, name: str) -> int:
        value, self.pos = decode_varint(self.data, self.pos, name)
        return value


def read(data: bytes, *, check_crc: bool = True,
         known_critical: frozenset[bytes] = KNOWN_CRITICAL_CHUNKS) -> GzcFile:
    """Parse and validate a .gzc file. Raises a :class:`GzcFormatError` subclass on any defect.

    ``known_critical`` lists the critical chunk types the caller understands
    (by default, those this version of the spec defines); any other critical
    chunk makes the file undecodable for it, while unknown ancillary
    (lower-case) chunks are kept and may be ignored.
    """
    data = bytes(data)
    if not data:
        raise BadMagicError("empty input, not a .gzc file")
    if len(data) < len(MAGIC) or data[:len(MAGIC)] != MAGIC:
        if MAGIC.startswith(data[:len(MAGIC)]) and len(data) < len(MAGIC):
            raise TruncatedError("file ends inside the signature")
        raise BadMagicError("not a .gzc file (bad signature)")
    cur = _Cursor(data)
    cur.pos = len(MAGIC)
    version = cur.byte("version")
    major, minor = version >> 4, version & 0x0F
    if major != VERSION_MAJOR:
        raise UnsupportedVersionError(f"format version {major}.{minor} is not supported (this reader: {VERSION_MAJOR}.x)")
    color = cur.byte("colour type")
    width = cur.varint("width")
    height = cur.varint("height")
    backend = cur.byte("backend")
    model_id = cur.take(MODEL_ID_BYTES, "model ID")
    bits = cur.byte("bits")
    coder = cur.byte("entropy coder")
    rank = cur.byte("latent rank")
    if not 1 <= rank <= MAX_LATENT_RANK:
        raise MalformedFieldError(f"latent rank {rank} outside 1..{MAX_LATENT_RANK}")
    shape = tuple(cur.varint("latent dimension") for _ in range(rank))
    n_chunks = cur.varint("chunk count")
    if n_chunks > MAX_CHUNKS:
        raise MalformedFieldError(f"chunk count {n_chunks} exceeds {MAX_CHUNKS}")
    chunks = []
    for _ in range(n_chunks):
        ctype = cur.take(4, "chunk type")
        _check_chunk_type(ctype)
        clen = cur.varint("chunk length")
        _check_chunk_length(ctype, clen)         # before the data is read: a limit, not the file size
        chunks.append(Chunk(ctype, cur.take(clen, f"chunk {ctype.decode()}")))
    payload_len = cur.varint("payload length")
    payload = cur.take(payload_len, "payload")
    stored_crc = cur.take(4, "CRC-32")
    if cur.pos != len(data):
        raise MalformedFieldError(f"{len(data) - cur.pos} unexpected bytes after the CRC-32")
    if check_crc:
        actual = zlib.crc32(data[:-4])
        if actual != int.from_bytes(stored_crc, "big"):
            raise CrcMismatchError(f"CRC-32 mismatch (stored {stored_crc.hex()}, computed {actual:08x}): file is corrupt")
    f = GzcFile(width=width, height=height, color=color, backend=backend, model_id=model_id,
                bits=bits, coder=coder, latent_shape=shape, payload=payload, chunks=tuple(chunks),
                version=(major, minor))
    _validate(f)
    for c in f.chunks:
        if c.critical and c.type not in known_critical:
            raise UnknownCriticalChunkError(f"unknown critical chunk {c.type.decode()}: cannot decode this file")
    return f


def read_header(data: bytes) -> GzcFile:
    """Like :func:`read` (the CRC is verified too): cheap, since no pixels are decoded."""
    return read(data)
