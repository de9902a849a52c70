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
__all__ = ["encode", "decode", "read_header", "__version__"]


def _register_pillow_plugin() -> None:
    """Make Image.open / Image.save understand .gzc (Pillow is light; torch is not imported)."""
    from .codec.pillow_plugin import register
    register()


_register_pillow_plugin()


def encode(image, bits: int | None = None, model: str | None = None, coder: str = "range",
           backend: str | None = None, **options) -> bytes:
    """Compress ``image`` (a PIL image, a path, or encoded image bytes) to .gzc bytes.

    ``options`` are the model's own settings, as on the command line: for a
    generative model ``channels=4``, ``roi=mask`` (a 2-D bool array, or a mask
    image or its path: white = keep detail) and ``roi_background=0``; for every
    autoencoder model ``effort=0…4`` (latent refinement: smaller, better files for
    more encoding time); for the latent search ``loss=``, ``effort=``, ``ratio=``."""
    from .codec.codec import encode_pixels
    from .codec.imageio import load_image, load_mask
    rgb, color = load_image(image)
    if options.get("roi") is not None and not hasattr(options["roi"], "ndim"):
        options["roi"] = load_mask(options["roi"])
    return encode_pixels(rgb, color=color, model=model, bits=bits, coder=coder, backend=backend, options=options)


def decode(data: bytes, max_pixels: int | None = None):
    """Decompress .gzc bytes to a ``PIL.Image`` (mode ``RGB``, or ``L`` for grayscale files)."""
    from PIL import Image

    from .codec.codec import DEFAULT_MAX_PIXELS, decode_bytes
    decoded = decode_bytes(bytes(data), max_pixels=max_pixels or DEFAULT_MAX_PIXELS)
    return Image.fromarray(decoded.pixels)  # (H, W) → "L", (H, W, 3) → "RGB"


def read_header(data: bytes):
    """Parse and verify the container (CRC included) without decoding pixels; no torch needed."""
    from .formats import read_header as _read_header
    return _read_header(data)
