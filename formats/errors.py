"""Exceptions raised by the .gzc reader.

Every way a file can be wrong has its own class, all derived from
:class:`GzcFormatError`, so callers (and the CLI, which maps them to exit codes)
never see a bare ``IndexError`` or ``struct.error`` from a hostile file.
"""


class GzcFormatError(ValueError):
    """Base class: the bytes are not a valid .gzc file."""


class BadMagicError(GzcFormatError):
    """The file does not start with the .gzc signature."""


class TruncatedError(GzcFormatError):
    """The file ends before a field or the payload it declares."""


class CrcMismatchError(GzcFormatError):
    """The CRC-32 stored at the end does not match the bytes: the file is corrupt."""


class UnsupportedVersionError(GzcFormatError):
    """The file was written for a newer major version of the format."""


class MalformedFieldError(GzcFormatError):
    """A header field holds a value the spec does not allow (zero size, bad varint, …)."""


class UnknownCriticalChunkError(GzcFormatError):
    """A chunk marked critical (upper-case first letter) that this reader does not know."""
