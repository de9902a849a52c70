"""The Pillow plugin follows Pillow's conventions (issue 19): Pillow 10.0 (no ImageFile._Tile),
OSError from load() for corrupt data, Image.MAX_IMAGE_PIXELS as the limit."""
from __future__ import annotations

import io
import warnings
from pathlib import Path

import pytest
from PIL import Image, ImageFile

import gzc  # noqa: F401 (registers the plugin)

VECTORS = Path(__file__).resolve().parent.parent / "spec" / "vectors"
GOOD = VECTORS / "rgb_48x32_b6_range.gzc"          # 48 x 32 = 1536 pixels


def test_opens_and_loads_without_imagefile_tile(monkeypatch):
    """Pillow 10.0 has no ImageFile._Tile (it came with 11): tiles are plain tuples there."""
    monkeypatch.delattr(ImageFile, "_Tile", raising=False)
    with Image.open(GOOD) as im:
        im.load()
        assert im.size == (48, 32) and im.mode == "RGB"


@pytest.mark.parametrize("name", ["latent_shape_mismatch.gzc", "unknown_model.gzc",
                                  "coder3_without_context_tables.gzc", "overfit_inexact_layer.gzc"])
def test_load_raises_oserror_for_a_valid_container_with_a_bad_payload(name):
    with Image.open(VECTORS / "bad" / name) as im:    # the container is valid: open succeeds
        with pytest.raises(OSError, match="cannot decode .gzc data"):
            im.load()


def test_open_raises_unidentified_image_error_for_a_bad_container():
    with pytest.raises(Image.UnidentifiedImageError):
        Image.open(VECTORS / "bad" / "crc_mismatch.gzc")


def test_max_image_pixels_warns_and_refuses_as_pillow_does(monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)          # 1536 > 1000: a warning
    with pytest.warns(Image.DecompressionBombWarning):
        Image.open(GOOD).close()
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 700)           # 1536 > 2 x 700: an error
    with pytest.raises(Image.DecompressionBombError):
        Image.open(GOOD)


def test_the_decoder_uses_pillows_limit_instead_of_its_own(monkeypatch):
    """A host that raises MAX_IMAGE_PIXELS (or sets None) gets images above gzc's default
    limit; the plugin passed no limit to the decoder before, so gzc's 67 MP applied."""
    from gzc.codec import pillow_plugin
    seen = []
    real = pillow_plugin.pixel_limit
    monkeypatch.setattr(pillow_plugin, "pixel_limit", lambda: seen.append(real()) or real())
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 200_000_000)
    with Image.open(GOOD) as im:
        im.load()
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", None)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with Image.open(io.BytesIO(GOOD.read_bytes())) as im:
            im.load()
    assert seen == [400_000_000, None]


def test_a_small_file_declaring_a_huge_image_is_refused_at_open(monkeypatch):
    """The worst case of bench/worst_case.py through the plugin: a host's MAX_IMAGE_PIXELS stops a
    file that declares 8192x8192 over a 16-byte payload when it is opened, before any decoding."""
    import tracemalloc

    from gzc import formats
    from gzc.codec import registry
    huge = formats.write(formats.GzcFile(width=8192, height=8192, color=formats.COLOR_RGB, backend=1,
                                         model_id=registry.find_model(None).model_id, bits=4,
                                         coder=formats.CODER_RANGE, latent_shape=(160, 512, 512),
                                         payload=bytes(16)))
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 10_000_000)        # 67 MP > 2 x 10 MP: an error
    tracemalloc.start()
    try:
        with pytest.raises(Image.DecompressionBombError):
            Image.open(io.BytesIO(huge))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1 << 20, peak


def test_the_format_registers_its_mime_type_and_extension():
    image = Image.open(GOOD)
    assert image.format == "GZC" and image.get_format_mimetype() == "image/x-gzc"
    assert Image.registered_extensions().get(".gzc") == "GZC"
