"""Every kind of input image either works as documented or fails clearly."""
from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from gzc.codec.imageio import ImageReadError, load_image
from gzc.formats import COLOR_GRAY, COLOR_RGB


def _png(im: Image.Image, **kw) -> bytes:
    buf = io.BytesIO()
    im.save(buf, format="PNG", **kw)
    return buf.getvalue()


def test_rgb_passes_through(photo):
    rgb, color = load_image(_png(Image.fromarray(photo)))
    assert color == COLOR_RGB and np.array_equal(rgb, photo)


def test_load_image_gives_the_colour_of_rgba(photo):
    """load_image is the colour only; load_picture adds the alpha plane (tests/test_metadata.py)."""
    rgba = Image.fromarray(photo).convert("RGBA")
    rgba.putalpha(7)
    rgb, color = load_image(_png(rgba))
    assert color == COLOR_RGB and np.array_equal(rgb, photo)


def test_grayscale_and_la_are_flagged_gray(photo):
    gray = Image.fromarray(photo).convert("L")
    for im in (gray, gray.convert("LA")):
        rgb, color = load_image(_png(im))
        assert color == COLOR_GRAY and np.array_equal(rgb[:, :, 0], np.asarray(gray))
        assert np.array_equal(rgb[:, :, 0], rgb[:, :, 2])


def test_16bit_grayscale_is_reduced_to_8_bits():
    values = np.array([[0, 257, 65535, 32896]], dtype=np.uint16)
    im = Image.fromarray(values)  # uint16 → mode I;16
    rgb, color = load_image(_png(im))
    assert color == COLOR_GRAY and rgb[0, :, 0].tolist() == [0, 1, 255, 128]


def test_palette_image(photo):
    pal = Image.fromarray(photo).convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    rgb, color = load_image(_png(pal))
    assert color == COLOR_RGB and np.array_equal(rgb, np.asarray(pal.convert("RGB")))


def test_exif_orientation_is_applied(photo):
    im = Image.fromarray(photo)
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to display
    buf = io.BytesIO()
    im.save(buf, format="JPEG", exif=exif.tobytes(), quality=95)
    rgb, _ = load_image(buf.getvalue())
    assert rgb.shape[:2] == (photo.shape[1], photo.shape[0])


def test_cmyk_jpeg(photo):
    buf = io.BytesIO()
    Image.fromarray(photo).convert("CMYK").save(buf, format="JPEG", quality=95)
    rgb, color = load_image(buf.getvalue())
    assert color == COLOR_RGB and rgb.shape == photo.shape


@pytest.mark.parametrize("blob", [b"", b"not an image", _png(Image.new("RGB", (8, 8)))[:40]])
def test_unreadable_inputs_fail_clearly(blob):
    with pytest.raises(ImageReadError, match="cannot (read|identify) image"):
        load_image(blob)


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_huge_image_refused_before_decoding():
    from gzc.codec.imageio import ImageTooLargeError
    for side, message in ((10000, "above the limit"), (20000, "too large")):  # ours; Pillow's bomb guard
        buf = io.BytesIO()
        Image.new("L", (side, side)).save(buf, format="PNG", compress_level=1)
        with pytest.raises(ImageTooLargeError, match=message):
            load_image(buf.getvalue())
    rgb, _ = load_image(_png(Image.new("RGB", (30, 20))), max_pixels=600)
    assert rgb.shape == (20, 30, 3)
