"""Alpha, ICC profiles, EXIF and XMP (issue 21): the chunks (spec §5.2, §5.3), the alpha coder, the
input side (orientation, transparency in every mode), and that the API, the Pillow plugin and the
command-line tools keep them byte for byte."""
from __future__ import annotations

import io
import json
import struct
import zlib

import numpy as np
import pytest
from PIL import Image, ImageCms
from typer.testing import CliRunner

import gzc
from conftest import run_tool
from gzc import formats
from gzc.codec import metadata as meta
from gzc.codec.alpha import decode_alpha, encode_alpha, fill_transparent
from gzc.codec.imageio import load_picture
from gzc.formats import Chunk, Metadata
from gzc.formats.metadata import LIMITS
from gzc.tools import dec, enc, info

XMP = (b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
       b'<rdf:Description xmlns:tiff="http://ns.adobe.com/tiff/1.0/" tiff:Orientation="1" '
       b'xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:creator>gzc</dc:creator></rdf:Description>'
       b'</rdf:RDF></x:xmpmeta>')


def _s15(value: float) -> bytes:
    return struct.pack(">i", round(value * 65536))


def display_p3_profile(description: str = "Display P3 (gzc test)") -> bytes:
    """A v2 matrix/TRC ICC profile with Display P3's primaries (D50-adapted) and gamma 2.2."""
    def xyz(*v):
        return b"XYZ " + bytes(4) + b"".join(map(_s15, v))
    text = description.encode("ascii") + b"\x00"
    tags = {b"desc": b"desc" + bytes(4) + struct.pack(">I", len(text)) + text + bytes(78),
            b"wtpt": xyz(0.9642, 1.0, 0.8249), b"rXYZ": xyz(0.5151, 0.2412, -0.0011),
            b"gXYZ": xyz(0.2920, 0.6922, 0.0419), b"bXYZ": xyz(0.1571, 0.0666, 0.7841),
            b"rTRC": b"curv" + bytes(4) + struct.pack(">IH", 1, 0x0233) + bytes(2), b"cprt": b"text" + bytes(4) + b"CC0\0"}
    tags[b"gTRC"] = tags[b"bTRC"] = tags[b"rTRC"]
    table, data, offset = b"", b"", 128 + 4 + 12 * len(tags)
    for signature, body in tags.items():
        body += bytes(-len(body) % 4)
        table += signature + struct.pack(">II", offset + len(data), len(body))
        data += body
    header = (struct.pack(">I", offset + len(data)) + b"lcms" + bytes([2, 0x10, 0, 0]) + b"mntrRGB XYZ " + bytes(12)
              + b"acsp" + bytes(28) + _s15(0.9642) + _s15(1.0) + _s15(0.8249) + bytes(48))
    return header + struct.pack(">I", len(tags)) + table + data


def exif_bytes(orientation: int = 1) -> bytes:
    """EXIF as Pillow writes it for JPEG (with the Exif\\0\\0 prefix): camera, date, orientation."""
    exif = Image.Exif()
    exif[0x010F], exif[0x0110], exif[0x0132], exif[0x0112] = "Canon", "Canon EOS R5", "2024:05:06 07:08:09", orientation
    exif.get_ifd(0x8769)[0x9003] = "2024:05:06 07:08:00"
    return exif.tobytes()


@pytest.fixture(scope="module")
def small(photo) -> np.ndarray:
    return np.ascontiguousarray(photo[:32, :48])


@pytest.fixture(scope="module")
def p3_jpeg(small) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(small).save(buf, "JPEG", quality=95, icc_profile=display_p3_profile(), exif=exif_bytes(), xmp=XMP)
    return buf.getvalue()


@pytest.fixture(scope="module")
def alpha_plane() -> np.ndarray:
    y, x = np.mgrid[0:32, 0:48]
    return np.clip((14 - np.hypot(x - 24, y - 16)) * 40 + 128, 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def rgba_png(small, alpha_plane) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.dstack([small, alpha_plane])).save(buf, "PNG")
    return buf.getvalue()


# ---------------------------------------------------------------- the chunks (formats/metadata.py)

def test_metadata_chunks_round_trip_stored_or_deflated_whichever_is_smaller():
    noise = np.random.default_rng(0).integers(0, 256, 300, dtype=np.uint8).tobytes()
    original = Metadata(icc_profile=display_p3_profile(), exif=b"MM\x00*" + noise, xmp=XMP)
    chunks = original.to_chunks()
    assert [c.type for c in chunks] == [formats.CHUNK_ICCP, formats.CHUNK_EXIF, formats.CHUNK_XMPP]
    assert [c.data[0] for c in chunks] == [1, 0, 1]       # the profile and XMP deflate, noise does not
    assert Metadata.from_chunks(chunks) == original
    assert Metadata().to_chunks() == () and not Metadata() and Metadata(xmp=b"x")
    assert original.only({"exif"}) == Metadata(exif=original.exif)


@pytest.mark.parametrize("chunk,error,match", [
    (Chunk(formats.CHUNK_EXIF, b""), formats.TruncatedError, "method byte"),
    (Chunk(formats.CHUNK_EXIF, b"\x00Exif\x00\x00MM\x00*"), formats.MalformedFieldError, "TIFF"),
    (Chunk(formats.CHUNK_XMPP, b"\x02" + XMP), formats.MalformedFieldError, "method"),
    (Chunk(formats.CHUNK_XMPP, b"\x00"), formats.MalformedFieldError, "empty"),
    (Chunk(formats.CHUNK_XMPP, b"\x01" + zlib.compress(XMP)[:-3]), formats.TruncatedError, "ends early"),
    (Chunk(formats.CHUNK_XMPP, b"\x01" + zlib.compress(XMP) + b"\x00"), formats.MalformedFieldError, "after"),
    (Chunk(formats.CHUNK_XMPP, b"\x01not zlib"), formats.MalformedFieldError, "zlib"),
    (Chunk(formats.CHUNK_ICCP, b"\x01" + zlib.compress(bytes(LIMITS[formats.CHUNK_ICCP] + 1))),
     formats.MalformedFieldError, "more than"),
])
def test_malformed_metadata_chunks_are_refused(chunk, error, match):
    with pytest.raises(error, match=match):
        Metadata.from_chunks((chunk,))


def test_a_deflate_bomb_is_stopped_at_the_limit():
    """1 GiB of zeros is a 1 MB zlib stream: refused after inflating the limit + 1, not 1 GiB."""
    import tracemalloc
    bomb = zlib.compressobj(9)
    stream = b"".join(bomb.compress(bytes(1 << 24)) for _ in range(64)) + bomb.flush()
    tracemalloc.start()
    with pytest.raises(formats.MalformedFieldError):
        Metadata.from_chunks((Chunk(formats.CHUNK_XMPP, b"\x01" + stream),))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 8 * LIMITS[formats.CHUNK_XMPP]


# ---------------------------------------------------------------- alpha (codec/alpha.py)

@pytest.mark.parametrize("shape", [(1, 1), (1, 9), (7, 1), (31, 45)])
def test_alpha_plane_round_trips_exactly(shape, alpha_plane):
    rng = np.random.default_rng(sum(shape))
    for plane in (rng.integers(0, 256, shape, dtype=np.uint8), np.where(rng.random(shape) < 0.5, 0, 255),
                  np.resize(alpha_plane, shape)):
        plane = plane.astype(np.uint8)
        chunk = encode_alpha(plane)
        if plane.min() == 255:
            assert chunk is None
            continue
        assert chunk.type == formats.CHUNK_ALPH and chunk.data[0] == 0
        assert np.array_equal(decode_alpha(chunk, shape[1], shape[0]), plane)


def test_every_png_filter_decodes(alpha_plane):
    """The decoder undoes all five PNG filters, whichever the writer chose per row."""
    from gzc.codec.alpha import _filter_all
    filtered = _filter_all(alpha_plane)
    for kinds in (np.arange(32) % 5, np.full(32, 4), np.full(32, 3)):
        rows = np.concatenate([kinds.astype(np.uint8)[:, None], filtered[kinds, np.arange(32)]], 1).tobytes()
        chunk = Chunk(formats.CHUNK_ALPH, b"\x00" + zlib.compress(rows))
        assert np.array_equal(decode_alpha(chunk, 48, 32), alpha_plane)


def test_opaque_alpha_costs_nothing(small):
    assert encode_alpha(np.full((32, 48), 255, np.uint8)) is None
    rgba = io.BytesIO()
    Image.fromarray(small).convert("RGBA").save(rgba, "PNG")
    assert load_picture(rgba.getvalue()).alpha is None


@pytest.mark.parametrize("rows,error", [(b"\x00" * 31 * 49, formats.TruncatedError),
                                        (b"\x00" * 33 * 49, formats.MalformedFieldError),
                                        (b"\x05" + b"\x00" * (32 * 49 - 1), formats.MalformedFieldError)])
def test_malformed_alpha_is_refused(rows, error):
    with pytest.raises(error):
        decode_alpha(Chunk(formats.CHUNK_ALPH, b"\x00" + zlib.compress(rows)), 48, 32)
    with pytest.raises(formats.MalformedFieldError, match="method"):
        decode_alpha(Chunk(formats.CHUNK_ALPH, b"\x01" + zlib.compress(b"\x00" * 32 * 49)), 48, 32)


def test_fill_under_transparent_pixels_keeps_every_visible_colour(small, alpha_plane):
    filled = fill_transparent(small, alpha_plane)
    visible = alpha_plane > 0
    assert np.array_equal(filled[visible], small[visible]) and not np.array_equal(filled, small)
    flat = np.full_like(small, 77)
    assert np.array_equal(fill_transparent(flat, alpha_plane), flat)       # a flat colour continues flat
    gray = np.repeat(small[..., :1], 3, axis=2)
    out = fill_transparent(gray, alpha_plane)
    assert np.array_equal(out[..., 0], out[..., 1]) and np.array_equal(out[..., 0], out[..., 2])


# ---------------------------------------------------------------- the input side (imageio, metadata)

def _png(im: Image.Image, **kw) -> bytes:
    buf = io.BytesIO()
    im.save(buf, "PNG", **kw)
    return buf.getvalue()


def test_transparency_in_every_mode_becomes_an_alpha_plane(small, alpha_plane):
    rgba = Image.fromarray(np.dstack([small, alpha_plane]))
    la = Image.fromarray(np.dstack([small[..., 0], alpha_plane]))
    palette = Image.fromarray(small).convert("P", palette=Image.Palette.ADAPTIVE, colors=8)
    cases = [(rgba, formats.COLOR_RGB, alpha_plane), (la, formats.COLOR_GRAY, alpha_plane),
             (rgba.convert("RGBa"), formats.COLOR_RGB, alpha_plane)]
    for im, color, alpha in cases:
        picture = load_picture(im)
        assert picture.color == color and np.array_equal(picture.alpha, alpha), im.mode
    picture = load_picture(_png(palette, transparency=3))
    assert np.array_equal(picture.alpha, np.where(np.asarray(palette) == 3, 0, 255))
    gray = Image.fromarray(small[..., 0])
    picture = load_picture(_png(gray, transparency=int(small[0, 0, 0])))
    assert picture.color == formats.COLOR_GRAY and picture.alpha[0, 0] == 0
    assert np.array_equal(load_picture(_png(la)).rgb[..., 0], small[..., 0])


def test_metadata_is_read_from_jpeg_png_and_webp(small):
    profile, exif = display_p3_profile(), exif_bytes()
    expected = Metadata(profile, exif[6:], XMP)
    png_text = meta.save_options(expected, "PNG")[0]
    for fmt, options in (("JPEG", {"icc_profile": profile, "exif": exif, "xmp": XMP}),
                         ("WEBP", {"icc_profile": profile, "exif": exif, "xmp": XMP}), ("PNG", png_text)):
        buf = io.BytesIO()
        Image.fromarray(small).save(buf, fmt, **options)
        assert load_picture(buf.getvalue()).metadata == expected, fmt


@pytest.mark.parametrize("order", ["little", "big"])
def test_orientation_is_applied_and_reset_to_1_in_place(small, order):
    """Spec §5.2: upright pixels; the EXIF and XMP kept say 1; no other byte changes."""
    exif = Image.Exif()
    exif[0x0112], exif[0x010F] = 6, "Canon"
    raw = exif.tobytes()[6:]
    if order == "little":                       # Pillow writes big-endian; build the Intel form by hand
        raw = b"II*\x00" + struct.pack("<IH", 8, 1) + struct.pack("<HHIHH", 0x0112, 3, 1, 6, 0) + bytes(4)
    xmp = XMP.replace(b'tiff:Orientation="1"', b'tiff:Orientation="6"') + b"<tiff:Orientation>6</tiff:Orientation>"
    buf = io.BytesIO()
    Image.fromarray(small).save(buf, "JPEG", quality=95, exif=b"Exif\x00\x00" + raw, xmp=xmp)
    picture = load_picture(buf.getvalue())
    assert picture.rgb.shape[:2] == (48, 32)                                  # turned upright
    kept = picture.metadata
    assert len(kept.exif) == len(raw) and sum(a != b for a, b in zip(kept.exif, raw)) == 1
    assert Image.Exif().load(kept.exif) is None or meta.exif_summary(kept.exif)["orientation"] == 1
    assert kept.xmp == xmp.replace(b'"6"', b'"1"').replace(b">6<", b">1<")
    upright = io.BytesIO()
    Image.fromarray(small).save(upright, "JPEG", exif=exif_bytes(1))
    assert load_picture(upright.getvalue()).metadata.exif == exif_bytes(1)[6:]   # orientation 1: untouched


def test_selection_words():
    assert meta.parse_selection("all") == {"icc_profile", "exif", "xmp"}
    assert meta.parse_selection("none") == frozenset()
    assert meta.parse_selection("icc, EXIF") == {"icc_profile", "exif"}
    for bad in ("", "gps", "all,icc", "none,xmp"):
        with pytest.raises(meta.MetadataSelectionError):
            meta.parse_selection(bad)


def test_description_camera_and_date():
    assert meta.icc_description(display_p3_profile()) == "Display P3 (gzc test)"
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    assert meta.icc_description(srgb) == ImageCms.getProfileDescription(ImageCms.ImageCmsProfile(io.BytesIO(srgb))
                                                                        ).strip()
    assert meta.icc_description(b"not a profile") is None
    summary = meta.exif_summary(exif_bytes()[6:])
    assert summary == {"camera": "Canon EOS R5", "date": "2024:05:06 07:08:00", "orientation": 1}


# ---------------------------------------------------------------- API, Pillow plugin, CLI

def test_api_round_trip_keeps_bytes_and_exact_alpha(p3_jpeg, rgba_png, alpha_plane, tmp_path):
    decoded = gzc.decode(gzc.encode(p3_jpeg))
    source = Image.open(io.BytesIO(p3_jpeg))
    assert decoded.mode == "RGB" and decoded.info["icc_profile"] == source.info["icc_profile"]
    assert decoded.info["exif"] == source.info["exif"] and decoded.info["xmp"] == source.info["xmp"]
    rgba = gzc.decode(gzc.encode(rgba_png))
    assert rgba.mode == "RGBA" and np.array_equal(np.asarray(rgba)[..., 3], alpha_plane)
    la = gzc.decode(gzc.encode(Image.open(io.BytesIO(rgba_png)).convert("LA")))
    assert la.mode == "LA" and np.array_equal(np.asarray(la)[..., 1], alpha_plane)
    stripped = gzc.encode(p3_jpeg, metadata="none")
    assert formats.read(stripped).chunks == () and "icc_profile" not in gzc.decode(stripped).info
    arbitrary = np.random.default_rng(5).integers(0, 256, 3000, dtype=np.uint8).tobytes()
    tagged = gzc.encode(_png(Image.open(io.BytesIO(p3_jpeg)), icc_profile=arbitrary), metadata="icc")
    assert gzc.decode(tagged).info == {"icc_profile": arbitrary}


def test_exact_keeps_the_colour_under_transparent_pixels(small, rgba_png):
    """By default the invisible colour is replaced by a cheaper fill; --exact codes it as given,
    so the colour payload is then the one of the picture without alpha."""
    colour_only = formats.read(gzc.encode(Image.fromarray(small))).payload
    assert formats.read(gzc.encode(rgba_png, exact=True)).payload == colour_only
    assert formats.read(gzc.encode(rgba_png)).payload != colour_only
    result = CliRunner().invoke(enc.app, ["-", "--exact"], input=rgba_png)
    assert result.exit_code == 0 and formats.read(result.stdout_bytes).payload == colour_only


def test_pillow_open_and_save_keep_everything(p3_jpeg, rgba_png, alpha_plane, tmp_path):
    source = Image.open(io.BytesIO(p3_jpeg))
    source.save(tmp_path / "p3.gzc")
    with Image.open(tmp_path / "p3.gzc") as im:
        assert {k: im.info[k] for k in ("icc_profile", "exif", "xmp")} == \
            {k: source.info[k] for k in ("icc_profile", "exif", "xmp")}
        im.save(tmp_path / "p3.jpg", icc_profile=im.info["icc_profile"], exif=im.info["exif"], xmp=im.info["xmp"])
    with Image.open(tmp_path / "p3.jpg") as back:
        assert all(back.info[k] == source.info[k] for k in ("icc_profile", "exif", "xmp"))
    Image.open(io.BytesIO(rgba_png)).save(tmp_path / "a.gzc", metadata="none")
    with Image.open(tmp_path / "a.gzc") as im:
        assert im.mode == "RGBA" and np.array_equal(np.asarray(im)[..., 3], alpha_plane)
        im.save(tmp_path / "a.png")
    with Image.open(tmp_path / "a.png") as back:
        assert back.mode == "RGBA" and np.array_equal(np.asarray(back)[..., 3], alpha_plane)
    source.save(tmp_path / "bare.gzc", metadata="none")
    with Image.open(tmp_path / "bare.gzc") as im:
        assert not {"icc_profile", "exif", "xmp"} & set(im.info)


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP", "TIFF"])
def test_gzc_dec_writes_metadata_where_the_format_holds_it(p3_jpeg, fmt):
    data = enc.encode_image_bytes(p3_jpeg)
    image_bytes, _, dropped = dec.decode_and_render(data, fmt)
    source, back = Image.open(io.BytesIO(p3_jpeg)), Image.open(io.BytesIO(image_bytes))
    assert back.info["icc_profile"] == source.info["icc_profile"] and back.info["xmp"] == source.info["xmp"]
    if fmt == "TIFF":                                   # EXIF becomes TIFF tags: the values, not the bytes
        assert back.getexif()[0x0110] == "Canon EOS R5" and back.getexif().get_ifd(0x8769)[0x9003] == \
            "2024:05:06 07:08:00" and dropped == []
    else:
        assert back.info["exif"].removeprefix(b"Exif\x00\x00") == source.info["exif"][6:] and dropped == []


@pytest.mark.parametrize("fmt,mode,dropped", [("PNG", "RGBA", []), ("WEBP", "RGBA", []), ("TIFF", "RGBA", []),
                                              ("TGA", "RGBA", []), ("JPEG", "RGB", ["alpha"]),
                                              ("PPM", "RGB", ["alpha"]), ("BMP", "RGB", ["alpha"])])
def test_gzc_dec_writes_alpha_where_the_format_holds_it(rgba_png, alpha_plane, fmt, mode, dropped):
    data = enc.encode_image_bytes(rgba_png)
    image_bytes, decoded, lost = dec.decode_and_render(data, fmt)
    back = Image.open(io.BytesIO(image_bytes))
    assert back.mode == mode and lost == dropped
    if mode == "RGBA":
        assert np.array_equal(np.asarray(back)[..., 3], alpha_plane)
    if fmt in ("PPM", "BMP"):                  # alpha dropped, the colour as decoded (lossless formats)
        assert np.array_equal(np.asarray(back), decoded.pixels)


def test_metadata_none_adds_no_bytes(small, p3_jpeg):
    """--metadata none (or --strip) gives the very file of the same pixels without metadata."""
    pixels = Image.fromarray(np.asarray(Image.open(io.BytesIO(p3_jpeg))))      # no info to carry over
    with_meta = _png(pixels, icc_profile=display_p3_profile(), exif=exif_bytes())
    without = _png(pixels)
    runner = CliRunner()
    sizes = {}
    for name, source, args in (("none", with_meta, ["--metadata", "none"]), ("strip", with_meta, ["--strip"]),
                               ("bare", without, []), ("all", with_meta, [])):
        result = runner.invoke(enc.app, ["-", *args], input=source)
        assert result.exit_code == 0, result.output
        sizes[name] = result.stdout_bytes
    assert sizes["none"] == sizes["strip"] == sizes["bare"] and len(sizes["all"]) > len(sizes["bare"])


def test_cli_round_trip_and_info(tmp_path, p3_jpeg, rgba_png, alpha_plane):
    """End to end as a user runs it: gzc-enc, gzc-dec, gzc-info (one process each)."""
    (tmp_path / "p3.jpg").write_bytes(p3_jpeg)
    (tmp_path / "a.png").write_bytes(rgba_png)
    proc = run_tool("gzc-enc", tmp_path / "p3.jpg", tmp_path / "p3.gzc", "--metadata", "icc,exif", "-v")
    assert proc.returncode == 0 and "kept: ICC" in proc.stderr.decode(), proc.stderr
    proc = run_tool("gzc-dec", tmp_path / "p3.gzc", tmp_path / "p3.png")
    assert proc.returncode == 0, proc.stderr
    back, source = Image.open(tmp_path / "p3.png"), Image.open(io.BytesIO(p3_jpeg))
    assert back.info["icc_profile"] == source.info["icc_profile"] and "xmp" not in back.info
    assert back.info["exif"].removeprefix(b"Exif\x00\x00") == source.info["exif"][6:]
    fields = json.loads(run_tool("gzc-info", "--json", tmp_path / "p3.gzc").stdout)
    assert fields["icc_profile"]["description"] == "Display P3 (gzc test)" and fields["alpha"] is False
    assert fields["exif"]["camera"] == "Canon EOS R5" and fields["exif"]["date"] == "2024:05:06 07:08:00"
    assert "xmp" not in fields
    text = CliRunner().invoke(info.app, ["-"], input=enc.encode_image_bytes(rgba_png)).stdout
    assert "alpha         True" in text


def test_bad_metadata_option_is_a_usage_error(rgba_png):
    for args in (["--metadata", "gps"], ["--strip", "--metadata", "icc"]):
        result = CliRunner().invoke(enc.app, ["-", *args], input=rgba_png)
        assert result.exit_code == 2 and "--metadata" in result.output or "--strip" in result.output
