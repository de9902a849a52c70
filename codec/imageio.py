"""Reading any image Pillow understands into the codec's (H, W, 3) uint8 form.

What happens to each kind of input (documented in the README):
* EXIF orientation is applied first, so the coded image looks upright.
* Grayscale (L, I, I;16, F, 1) is coded as three equal channels and the file is
  flagged grayscale: the decoder returns a single-channel image.
* 16-bit samples are reduced to 8 bits (the codec is 8-bit); float images are
  clipped to 0–255.
* Alpha (RGBA, LA, PA, transparency in palettes) is dropped: gzc codes colour
  only. Palette, CMYK, YCbCr and other modes are converted to RGB.
"""
from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from ..formats import COLOR_GRAY, COLOR_RGB

GRAY_MODES = {"1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "I;16N", "F"}


#: Default limit on width × height for encoding and decoding (a decompression-bomb
#: guard, like Pillow's MAX_IMAGE_PIXELS): 67 MP, e.g. 8192 × 8192. Callers may
#: raise it; memory stays bounded because the transforms run in tiles.
DEFAULT_MAX_PIXELS = 1 << 26


class ImageReadError(ValueError):
    """The input is not an image Pillow can decode."""


class ImageTooLargeError(ValueError):
    """The input declares more pixels than the encoder is allowed to process."""


def load_image(source, max_pixels: int = DEFAULT_MAX_PIXELS) -> tuple[np.ndarray, int]:
    """Path, bytes or PIL image → ((H, W, 3) uint8, colour type).

    The size is checked from the image header *before* the pixels are decoded,
    so an absurdly large input is refused without a large allocation.
    """
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
        im = ImageOps.exif_transpose(im)
    except Image.DecompressionBombError as exc:
        raise ImageTooLargeError(f"image too large: {exc}") from None
    except ImageTooLargeError:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise ImageReadError(f"cannot read image: {exc}") from None
    return to_rgb_array(im)


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


def save_image(pixels: np.ndarray, fp, format: str | None = None) -> None:
    Image.fromarray(pixels).save(fp, format=format)
