"""gzc — a generative image codec.

The package is laid out by layer (each folder is a sub-package):

* ``gzc.formats`` — the .gzc container (pure Python; no torch import),
* ``gzc.codec``   — entropy coding, the backend interface and the backends,
* ``gzc.tools``   — the command-line programs (gzc-enc, gzc-dec, gzc-info, gzc-train, gzc-bench),
* ``gzc.weights`` — the shipped, hash-verified models.

The three functions below are the embedding API. Importing ``gzc`` and
reading headers never loads torch; it is imported on the first encode/decode.
"""
from __future__ import annotations

import os

# Decoders must give the same pixels under any thread count. With oneDNN off (see
# codec/fixed_path.py) convolutions are MKL GEMMs, whose default code path splits sums
# by thread on some CPUs (seen on an AVX-512 Xeon: 10 of 1.2 M values ±1 between 1 and 2
# threads). MKL's strict conditional-numerical-reproducibility mode fixes the order for any
# thread count; MKL reads this variable at its first call, which is after this import
# unless the embedding application already ran MKL code (then it should set it itself).
os.environ.setdefault("MKL_CBWR", "AVX2,STRICT")

__version__ = "0.1.0"
__all__ = ["encode", "decode", "read_header", "__version__", "GzcError", "GzcFormatError", "CorruptPayloadError",
           "UnsupportedError", "UnknownModelError", "UnsupportedSettingError", "LimitExceededError",
           "ImageReadError"]

# One error hierarchy (formats/errors.py): every error for bad input derives from GzcError.
from .formats.errors import (CorruptPayloadError, GzcError, GzcFormatError, ImageReadError,  # noqa: E402
                             LimitExceededError, UnknownModelError, UnsupportedError, UnsupportedSettingError)


def _register_pillow_plugin() -> None:
    """Make Image.open / Image.save understand .gzc (Pillow is light; torch is not imported)."""
    # By its installed name, not relatively: pytest 8 also imports this folder's __init__.py as
    # package "main" (the repository root), and a second copy of the plugin registered under that
    # name would raise its own copy of the error classes, which gzc's decoder does not raise.
    from gzc.codec.pillow_plugin import register
    register()


_register_pillow_plugin()


def encode(image, bits: int | None = None, model: str | None = None, coder: str = "range",
           backend: str | None = None, metadata="all", exact: bool = False, **options) -> bytes:
    """Compress ``image`` (a PIL image, a path, or encoded image bytes) to .gzc bytes.

    Alpha is kept (losslessly), and so are the ICC profile, EXIF and XMP that
    ``metadata`` names: ``"all"`` (default), ``"none"``, or ``"icc,exif"`` and the
    like (as ``gzc-enc --metadata``); EXIF orientation is applied to the pixels and
    reset to 1 in the EXIF kept. The colour under fully transparent pixels is
    replaced by a smooth fill that costs fewer bits, unless ``exact``. ``options`` are the model's own settings, as on
    the command line: for a generative model ``channels=4``, ``roi=mask`` (a 2-D
    bool array, or a mask image or its path: white = keep detail) and
    ``roi_background=0``; for every autoencoder model ``effort=0…4`` (latent
    refinement: smaller, better files for more encoding time); for the latent
    search ``loss=``, ``effort=``, ``ratio=``."""
    import warnings

    from .codec.codec import encode_pixels
    from .codec.imageio import load_mask, load_picture
    from .codec.metadata import parse_selection
    keep = parse_selection(metadata)
    picture = load_picture(image)
    for message in picture.warnings:
        warnings.warn(message, stacklevel=2)
    if options.get("roi") is not None and not hasattr(options["roi"], "ndim"):
        options["roi"] = load_mask(options["roi"])
    return encode_pixels(picture.rgb, color=picture.color, model=model, bits=bits, coder=coder, backend=backend,
                         options=options, alpha=picture.alpha, metadata=picture.metadata.only(keep), exact=exact)


def decode(data: bytes, max_pixels: int | None = None):
    """Decompress .gzc bytes to a ``PIL.Image``: mode ``RGB`` or ``L`` (grayscale files),
    ``RGBA`` or ``LA`` with alpha; ``info`` holds ``icc_profile``, ``exif`` and ``xmp``
    when the file has them (pass them on to ``Image.save`` to keep them).

    ``max_pixels`` is the largest width × height the caller accepts; None means gzc's default,
    67,108,864 (8192², as ``gzc-dec --max-pixels``). A file declaring more raises
    :class:`LimitExceededError` once its header is read, before anything is decoded or
    allocated. Pass your application's own limit when decoding untrusted files: the header,
    not the payload, sets the work, and a 380 kB file of the default model makes the decoder
    synthesise the full 67 MP (docs/cli.md, "Limits"; bench/worst_case.py)."""
    from .codec.codec import DEFAULT_MAX_PIXELS, decode_bytes
    limit = DEFAULT_MAX_PIXELS if max_pixels is None else max_pixels   # 0 refuses everything, not "default"
    return decode_bytes(bytes(data), max_pixels=limit).image()


def read_header(data: bytes):
    """Parse and verify the container (CRC included) without decoding pixels; no torch needed."""
    from .formats import read_header as _read_header
    return _read_header(data)
