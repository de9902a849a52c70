"""Every error gzc raises for bad input: one hierarchy with one root, :class:`GzcError`.

It lives here, beside the container reader, because the reader must import
without torch and every other layer (codec, backends, tools) can import it;
``gzc.GzcError`` and friends re-export it. Catch :class:`GzcError` to catch any
bad input (a hostile file, an unreadable image, an unknown model or setting,
a limit): anything else that escapes gzc is a bug. The root derives from
``ValueError`` so code written against the older, separate ``ValueError``
roots keeps working. The tree, with the CLI exit code each branch maps to
(tools/cli_common.py) and the spec §3 row it names::

    GzcError (ValueError)
    ├── GzcFormatError              4  the container is invalid (§3 rows)
    │   ├── BadMagicError              "bad signature"
    │   ├── TruncatedError             "truncated" (header, chunk or payload)
    │   ├── CrcMismatchError           "CRC mismatch"
    │   ├── MalformedFieldError        "malformed field"
    │   ├── UnsupportedVersionError 5  "unsupported version"   (also an UnsupportedError)
    │   └── UnknownCriticalChunkError 5 "unknown critical chunk" (also an UnsupportedError)
    ├── CorruptPayloadError         4  "corrupt payload": valid container, but the payload or a
    │                                  setting it declares does not decode under its model
    ├── UnsupportedError            5  a valid request this installation cannot serve
    │   ├── UnknownModelError          "unknown model" (not installed, or fails its hash check)
    │   └── UnsupportedSettingError    an encoder option the chosen model lacks
    ├── LimitExceededError          5  above the pixel limit (decoder: §3 "pixel limit")
    │   └── ImageTooLargeError         an input image above the encoder's limit
    ├── TargetUnreachableError      5  --target-size/--target-bpp below the smallest setting
    └── ImageReadError              3  the input is not an image Pillow can read

Decoding never raises :class:`UnsupportedSettingError`: a file declaring ``bits`` its
model does not have could not come from a conforming encoder (the model ID fixes
the model, and with it the bits), so it is a corrupt payload, as §3 says.
"""


class GzcError(ValueError):
    """Root of every error gzc raises for bad input (files, images, models, settings, limits)."""


class GzcFormatError(GzcError):
    """The bytes are not a valid .gzc container."""


class UnsupportedError(GzcError):
    """Valid input that this installation cannot serve (newer version, model or chunk it lacks)."""


class BadMagicError(GzcFormatError):
    """The file does not start with the .gzc signature."""


class TruncatedError(GzcFormatError):
    """The file ends before a field, a chunk's contents or the payload it declares."""


class CrcMismatchError(GzcFormatError):
    """The CRC-32 stored at the end does not match the bytes: the file is corrupt."""


class UnsupportedVersionError(GzcFormatError, UnsupportedError):
    """The file was written for a newer major version of the format."""


class MalformedFieldError(GzcFormatError):
    """A header field holds a value the spec does not allow (zero size, bad varint, …)."""


class UnknownCriticalChunkError(GzcFormatError, UnsupportedError):
    """A chunk marked critical (upper-case first letter) that this reader does not know."""


class CorruptPayloadError(GzcError):
    """The container is valid but its payload (or a setting it declares) does not decode under its model."""


class UnknownModelError(UnsupportedError):
    """A model that is not installed, or whose weights fail verification."""


class UnsupportedSettingError(UnsupportedError):
    """A coding parameter that the chosen model does not offer (encoder side)."""


class LimitExceededError(GzcError):
    """The file declares an image larger than the decoder is allowed to produce."""


class ImageTooLargeError(LimitExceededError):
    """The input declares more pixels than the encoder is allowed to process."""


class TargetUnreachableError(GzcError):
    """Even the smallest setting of the model produces a file above the requested size."""


class ImageReadError(GzcError):
    """The input is not an image Pillow can decode."""


#: the name used before the hierarchy (tests, vectors.json and plugins import it)
ModelError = UnknownModelError
