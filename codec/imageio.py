"""Reading any image Pillow understands into the codec's (H, W, 3) uint8 form, and back.

What happens to each kind of input (documented in the README):
* EXIF orientation is applied first, so the coded image looks upright; the
  EXIF and XMP kept then say orientation 1 (codec/metadata.py).
* Grayscale (L, I, I;16, F, 1) is coded as three equal channels and the file is
  flagged grayscale: the decoder returns a single-channel image.
* 16-bit samples are reduced to 8 bits (the codec is 8-bit); float images are
  clipped to 0–255.
* Alpha (RGBA, LA, PA, premultiplied RGBa/La, transparency in palettes and
  tRNS colours) is split off as an 8-bit plane that :func:`load_picture` returns
  beside the colour (None when every pixel is opaque); :func:`load_image`
  returns the colour only. Palette, CMYK, YCbCr and other modes are converted to RGB.
* The ICC profile, EXIF and XMP travel in :class:`Picture` ``metadata``.
"""
from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from ..formats import COLOR_GRAY, COLOR_RGB, Metadata
from . import metadata as meta

GRAY_MODES = {"1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "I;16N", "F"}


#: Default limit on width × height for encoding and decoding (a decompression-bomb
#: guard, like Pillow's MAX_IMAGE_PIXELS): 67 MP, e.g. 8192 × 8192. Callers may
#: raise it; memory stays bounded because the transforms run in tiles.
DEFAULT_MAX_PIXELS = 1 << 26


from ..formats import ImageReadError, ImageTooLargeError  # noqa: F401 (re-exported: the old import path)


@dataclass(frozen=True)
class Picture:
    """An input image as the encoder takes it."""
    rgb: np.ndarray                 # (H, W, 3) uint8 (three equal channels for grayscale)
    color: int                      # COLOR_RGB or COLOR_GRAY
    alpha: np.ndarray | None = None  # (H, W) uint8, None if every pixel is opaque
    metadata: Metadata = Metadata()
    warnings: list[str] = field(default_factory=list)   # what had to be left out, for the user


def load_image(source, max_pixels: int = DEFAULT_MAX_PIXELS) -> tuple[np.ndarray, int]:
    """Path, bytes or PIL image → ((H, W, 3) uint8, colour type): the colour only."""
    picture = load_picture(source, max_pixels)
    return picture.rgb, picture.color


def load_picture(source, max_pixels: int = DEFAULT_MAX_PIXELS, name: str | None = None) -> Picture:
    """Path, bytes or PIL image → :class:`Picture` (colour, alpha, ICC/EXIF/XMP), upright.

    The size is checked from the image header *before* the pixels are decoded,
    so an absurdly large input is refused without a large allocation. Errors name
    the input as ``name`` (bytes have no name of their own: Pillow would print
    ``<_io.BytesIO object at 0x…>``), or the path.
    """
    if name is None and isinstance(source, (str, Path)):
        name = str(source)
    try:
        if isinstance(source, Image.Image):
            im = source
        elif isinstance(source, (bytes, bytearray)):
            im = Image.open(io.BytesIO(source))
        else:
            im = Image.open(source)
        if im.width * im.height > max_pixels:
            raise ImageTooLargeError(f"image is {im.width}x{im.height} = {im.width * im.height} pixels, above the "
                                     f"limit of {max_pixels} (raise it with --max-pixels)")
        im.load()
        metadata, warnings = meta.from_image(im.info)      # before exif_transpose rewrites the EXIF
        if im.getexif().get(meta.ORIENTATION_TAG, 1) in range(2, 9):   # exif_transpose turns these upright
            metadata = meta.reset_orientation(metadata)
        upright = ImageOps.exif_transpose(im)
        colour, alpha = split_alpha(upright)
        rgb, color = to_rgb_array(colour)
    except Image.DecompressionBombError as exc:
        raise ImageTooLargeError(f"image too large: {exc}") from None
    except ImageTooLargeError:
        raise
    except UnidentifiedImageError:
        raise ImageReadError(f"cannot identify image file{' ' + name if name else ''} "
                             f"(not an image format Pillow reads)") from None
    except (OSError, SyntaxError, ValueError) as exc:
        detail = re.sub(r"<_io\.BytesIO object at 0x[0-9a-fA-F]+>", "the input", str(exc))
        raise ImageReadError(f"cannot read image{' ' + name if name else ''}: {detail}") from None
    return Picture(rgb, color, alpha, metadata, warnings)


ALPHA_MODES = {"RGBA": "RGBA", "RGBa": "RGBA", "PA": "RGBA", "LA": "LA", "La": "LA"}


def split_alpha(im: Image.Image) -> tuple[Image.Image, np.ndarray | None]:
    """(the colour image, its (H, W) uint8 alpha or None when every pixel is opaque).
    Premultiplied modes are un-premultiplied first: the file holds straight alpha."""
    if im.mode in ALPHA_MODES:
        target = ALPHA_MODES[im.mode]
    elif "transparency" in im.info and im.mode in ("P", "L", "RGB", "1"):
        target = "RGBA" if im.mode in ("P", "RGB") else "LA"
    else:
        return im, None
    with_alpha = im.convert(target)
    alpha = np.asarray(with_alpha.getchannel("A"))
    colour = with_alpha.convert(target[:-1])
    return colour, (None if alpha.min() == 255 else alpha)


def to_image(pixels: np.ndarray, alpha: np.ndarray | None = None, metadata: Metadata | None = None) -> Image.Image:
    """Decoded colour ((H, W, 3) or (H, W)), optional alpha and metadata → a PIL image:
    mode RGB, L, RGBA or LA, with ``icc_profile``, ``exif`` and ``xmp`` in ``info``."""
    if alpha is None:
        image = Image.fromarray(pixels)
    else:
        image = Image.fromarray(np.dstack([pixels, alpha]))     # (H, W, 2) → LA, (H, W, 4) → RGBA
    if metadata:
        image.info.update(meta.to_info(metadata))
    return image


def load_mask(source, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """A region-of-interest mask file → (H, W) bool: True where the luma is ≥ 128 (white = keep detail).
    An alpha channel, if present, is ignored; any readable image format works."""
    rgb, _ = load_image(source, max_pixels)
    gray = (rgb[..., 0].astype(np.uint32) * 19595 + rgb[..., 1].astype(np.uint32) * 38470
            + rgb[..., 2].astype(np.uint32) * 7471 + 0x8000) >> 16
    return gray >= 128


def to_rgb_array(im: Image.Image) -> tuple[np.ndarray, int]:
    if im.width < 1 or im.height < 1:
        raise ImageReadError("image has no pixels")
    if im.mode in GRAY_MODES:
        if im.mode in ("I", "F") or im.mode.startswith("I;16"):
            arr = np.asarray(im, dtype=np.float64) if im.mode == "F" else np.asarray(im).astype(np.int64)
            if im.mode.startswith("I;16") or (im.mode == "I" and arr.max(initial=0) > 255):
                arr = arr / 257.0  # 16-bit → 8-bit (65535 → 255)
            gray = np.clip(np.round(arr), 0, 255).astype(np.uint8)
        else:
            gray = np.asarray(im.convert("L"))
        return np.repeat(gray[:, :, None], 3, axis=2), COLOR_GRAY
    if im.mode.startswith("RGB") and im.mode not in ("RGB", "RGBA", "RGBX", "RGBa"):
        # 16-bit RGB modes: Pillow cannot convert them directly
        raise ImageReadError(f"unsupported image mode {im.mode}")
    return np.asarray(im.convert("RGB")), COLOR_RGB

