"""The ancillary chunks that carry what a picture holds besides its colour (spec/gzc.md §5.2).

``iCCP`` (ICC colour profile, at most 4 MiB), ``eXIf`` (EXIF as a TIFF
structure, as in PNG's eXIf: no JPEG ``Exif\\0\\0`` prefix; at most 1 MiB) and
``xMPP`` (an XMP packet, at most 1 MiB) all have the same data: one method
byte, 0 = the bytes as they are, 1 = their zlib stream, then the bytes. The
writer deflates only when that is smaller: a few hundred bytes of profile
matter in a file of a few hundred bytes. The limits apply to the decoded
bytes; the container refuses longer chunk data before reading it, and
:func:`inflate` stops one byte past the limit, so no chunk can make a reader
allocate more than its limit.

The alpha chunk (``aLPH``) is coded and decoded in ``codec/alpha.py``;
it shares :func:`inflate`.
"""
from __future__ import annotations

import zlib
from dataclasses import dataclass

from .container import CHUNK_EXIF, CHUNK_ICCP, CHUNK_XMPP, MAX_CHUNK_DATA, Chunk
from .errors import MalformedFieldError, TruncatedError

METHOD_STORED = 0
METHOD_ZLIB = 1
#: Largest decoded size per chunk type (the chunk data may hold one method byte more).
LIMITS = {t: n - 1 for t, n in MAX_CHUNK_DATA.items()}
TIFF_HEADERS = (b"II*\x00", b"MM\x00*")
EXIF_PREFIX = b"Exif\x00\x00"      # JPEG's APP1 marker text, which Pillow keeps in Image.info["exif"]

#: field name → chunk type, in the order the writer emits them
FIELDS = {"icc_profile": CHUNK_ICCP, "exif": CHUNK_EXIF, "xmp": CHUNK_XMPP}
NAMES = {"icc_profile": "ICC profile", "exif": "EXIF", "xmp": "XMP"}


def inflate(stream: bytes, limit: int, what: str) -> bytes:
    """A complete zlib stream → its bytes, never producing more than ``limit + 1`` of them.

    Raises MalformedFieldError for bad data, more than ``limit`` bytes or data after the
    stream's end, TruncatedError for a stream that ends early."""
    inflater = zlib.decompressobj()
    try:
        out = inflater.decompress(stream, limit + 1)
    except zlib.error as exc:
        raise MalformedFieldError(f"{what}: bad zlib data ({exc})") from None
    if len(out) > limit:
        raise MalformedFieldError(f"{what} inflates to more than {limit} bytes")
    if not inflater.eof:
        raise TruncatedError(f"{what}: zlib stream ends early")
    if inflater.unused_data:
        raise MalformedFieldError(f"{what}: {len(inflater.unused_data)} bytes after the zlib stream")
    return out


@dataclass(frozen=True)
class Metadata:
    """ICC profile, EXIF (TIFF structure, no ``Exif\\0\\0`` prefix) and XMP packet; None = absent."""
    icc_profile: bytes | None = None
    exif: bytes | None = None
    xmp: bytes | None = None

    def __bool__(self) -> bool:
        return any(getattr(self, name) for name in FIELDS)

    def only(self, kinds) -> "Metadata":
        """The fields named in ``kinds`` (a subset of ``FIELDS``); the others dropped."""
        return Metadata(**{name: getattr(self, name) if name in kinds else None for name in FIELDS})

    def to_chunks(self) -> tuple[Chunk, ...]:
        chunks = []
        for name, ctype in FIELDS.items():
            value = getattr(self, name)
            if not value:
                continue
            value = bytes(value)
            if len(value) > LIMITS[ctype]:
                raise MalformedFieldError(f"{NAMES[name]} is {len(value)} bytes, above the limit of {LIMITS[ctype]}")
            if ctype == CHUNK_EXIF and not value.startswith(TIFF_HEADERS):
                raise MalformedFieldError("EXIF must be a TIFF structure (starting II*\\0 or MM\\0*)")
            packed = zlib.compress(value, 9)
            data = (bytes([METHOD_ZLIB]) + packed) if len(packed) < len(value) else (bytes([METHOD_STORED]) + value)
            chunks.append(Chunk(ctype, data))
        return tuple(chunks)

    @classmethod
    def from_chunks(cls, chunks) -> "Metadata":
        """The metadata in a file's chunks (others ignored); raises on a malformed metadata chunk."""
        by_type = {c.type: c for c in chunks}
        values = {}
        for name, ctype in FIELDS.items():
            if ctype in by_type:
                values[name] = _unpack(by_type[ctype], LIMITS[ctype])
        if values.get("exif") is not None and not values["exif"].startswith(TIFF_HEADERS):
            raise MalformedFieldError("eXIf chunk does not hold a TIFF structure (II*\\0 or MM\\0*)")
        return cls(**values)


def _unpack(chunk: Chunk, limit: int) -> bytes:
    what = f"{chunk.type.decode()} chunk"
    if not chunk.data:
        raise TruncatedError(f"{what} has no method byte")
    method, body = chunk.data[0], chunk.data[1:]
    if method == METHOD_STORED:
        value = body
    elif method == METHOD_ZLIB:
        value = inflate(body, limit, what)
    else:
        raise MalformedFieldError(f"{what}: unknown method {method}")
    if not value:
        raise MalformedFieldError(f"{what} is empty")
    if len(value) > limit:      # only a stored value can get here: the container limits the data
        raise MalformedFieldError(f"{what} holds {len(value)} bytes, above the limit of {limit}")
    return bytes(value)
