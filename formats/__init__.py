"""The .gzc container: reading and writing the bytes, nothing else (no torch here)."""
from .container import (CODER_ELIAS_GAMMA, CODER_NAMES, CODER_OWN, CODER_RANGE, CODER_RANGE_CONTEXT, COLOR_GRAY,
                        COLOR_NAMES, COLOR_RGB, MAGIC, CHUNK_ALPH, CHUNK_EXIF, CHUNK_GANZ, CHUNK_ICCP, CHUNK_ROIM,
                        CHUNK_XMPP, KNOWN_CRITICAL_CHUNKS,
                        MODEL_ID_BYTES, Chunk, GzcFile, read, read_header, write)
from .chunks import GanzParameters, RoiMap
from .metadata import Metadata
from .errors import (BadMagicError, CrcMismatchError, GzcFormatError, MalformedFieldError, TruncatedError,
                     UnknownCriticalChunkError, UnsupportedVersionError)

__all__ = [
    "CODER_ELIAS_GAMMA",
    "CODER_NAMES",
    "CODER_RANGE",
    "CODER_OWN",
    "CODER_RANGE_CONTEXT",
    "COLOR_GRAY",
    "COLOR_NAMES",
    "COLOR_RGB",
    "MAGIC",
    "CHUNK_ALPH",
    "CHUNK_EXIF",
    "CHUNK_GANZ",
    "CHUNK_ICCP",
    "CHUNK_ROIM",
    "CHUNK_XMPP",
    "KNOWN_CRITICAL_CHUNKS",
    "MODEL_ID_BYTES",
    "GanzParameters",
    "RoiMap",
    "Metadata",
    "Chunk",
    "GzcFile",
    "read",
    "read_header",
    "write",
    "BadMagicError",
    "CrcMismatchError",
    "GzcFormatError",
    "MalformedFieldError",
    "TruncatedError",
    "UnknownCriticalChunkError",
    "UnsupportedVersionError",
]
