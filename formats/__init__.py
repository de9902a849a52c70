"""The .gzc container: reading and writing the bytes, nothing else (no torch here)."""
from .container import (BACKEND_AUTOENCODER, BACKEND_LATENT_SEARCH, BACKEND_NAMES, CODER_ELIAS_GAMMA,
                        CODER_NAMES, CODER_RANGE, CODER_RANGE_CONTEXT, COLOR_GRAY, COLOR_NAMES, COLOR_RGB, MAGIC,
                        CHUNK_GANZ, CHUNK_ROIM, KNOWN_CRITICAL_CHUNKS, MODEL_ID_BYTES, Chunk, GzcFile, read, read_header, write)
from .chunks import GanzParameters, RoiMap
from .errors import (BadMagicError, CrcMismatchError, GzcFormatError, MalformedFieldError, TruncatedError,
                     UnknownCriticalChunkError, UnsupportedVersionError)

__all__ = [
    "BACKEND_AUTOENCODER",
    "BACKEND_LATENT_SEARCH",
    "BACKEND_NAMES",
    "CODER_ELIAS_GAMMA",
    "CODER_NAMES",
    "CODER_RANGE",
    "CODER_RANGE_CONTEXT",
    "COLOR_GRAY",
    "COLOR_NAMES",
    "COLOR_RGB",
    "MAGIC",
    "CHUNK_GANZ",
    "CHUNK_ROIM",
    "KNOWN_CRITICAL_CHUNKS",
    "MODEL_ID_BYTES",
    "GanzParameters",
    "RoiMap",
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
