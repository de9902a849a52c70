"""Regenerate the conformance vectors in spec/vectors/ (run after changing a shipped model).

    python spec/vectors/make_vectors.py                  # re-encode everything
    python spec/vectors/make_vectors.py --expectations   # keep the .gzc files, redo what they decode to
    python spec/vectors/make_vectors.py --ancillary      # only the 1.4 vectors (alpha, ICC, EXIF, XMP)

Valid files: small images coded with the default model at several settings,
with the latent-search face model (plain and GANZ mode), and with the
generative autoencoder (rate points, region-of-interest maps);
vectors.json records, for each, the SHA-256 of the decoded *latent* (exact on
every machine), the reference decoder's pixels as ``decoded/NAME.png`` with
their SHA-256 (row-major, interleaved, uint8; another CPU may differ by ±1 in
a few values, spec §7), and what it exercises. Invalid files in bad/ each
carry the exception class a conformant reader must raise.

The 1.4 vectors (ancillary chunks) are made from two existing vectors by
adding chunks, so ``--ancillary`` redoes them without re-encoding (or
touching) any other vector; they also record the SHA-256 of the decoded
alpha plane and metadata bytes.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import sys
import zlib
from pathlib import Path

import numpy as np

from PIL import Image

from gzc import formats
from gzc.codec.codec import decode_bytes, decode_latent, encode_pixels
from gzc.codec.registry import find_model
from gzc.formats.container import MAX_CHUNK_DATA
from gzc.formats.varint import encode_varint

HERE = Path(__file__).resolve().parent
GENERATIVE_MODEL = "ae-generative-v1"
CONTEXT_MODEL = "ae-generative-context-v1"     # coder 3 (§6.3)


def scene(h: int, w: int, seed: int) -> np.ndarray:
    """A deterministic synthetic picture: smooth gradients, an edge and mild texture."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    rng = np.random.default_rng(seed)
    img = np.stack([40 + 180 * x / max(w - 1, 1), 200 - 150 * y / max(h - 1, 1), 90 + 60 * np.sin((x + y) / 5)], 2)
    img[(x - w / 2) ** 2 + (y - h / 2) ** 2 < (min(h, w) / 3) ** 2] *= 0.5
    return np.clip(img + rng.normal(0, 4, img.shape), 0, 255).astype(np.uint8)


def latent_sha256(symbols: np.ndarray) -> str:
    """SHA-256 of a decoded latent as signed 32-bit little-endian integers in C order."""
    return hashlib.sha256(np.ascontiguousarray(symbols, dtype="<i4").tobytes()).hexdigest()


def expectations(file: str, data: bytes) -> dict:
    """What a file decodes to: its latent's hash, and the pixels, written to ``decoded/`` as PNG."""
    pixels = np.ascontiguousarray(decode_bytes(data).pixels)
    png = f"decoded/{Path(file).stem}.png"
    (HERE / "decoded").mkdir(exist_ok=True)
    Image.fromarray(pixels).save(HERE / png, optimize=True)
    return {"latent_sha256": latent_sha256(decode_latent(data)), "decoded_png": png,
            "decoded_sha256": hashlib.sha256(pixels.tobytes()).hexdigest()}


def write_vector(name: str, img: np.ndarray, model, bits: int, coder: str, what: str,
                 color: int = formats.COLOR_RGB, **encode_options) -> dict:
    """Encode ``img`` into ``NAME.gzc`` and describe it (with what it decodes to)."""
    data = encode_pixels(img, color=color, model=model.name, bits=bits, coder=coder, **encode_options)
    (HERE / f"{name}.gzc").write_bytes(data)
    coder = formats.CODER_NAMES[formats.read(data).coder]      # "range" is coder 3 for a context model
    return {"file": f"{name}.gzc", "model": model.name, "model_id": model.model_id.hex(),
            "width": img.shape[1], "height": img.shape[0], "bits": bits, "coder": coder,
            "colour": formats.COLOR_NAMES[color], "bytes": len(data),
            **expectations(f"{name}.gzc", data), "exercises": what}


def refresh_expectations() -> None:
    """Keep every .gzc file as it is and recompute what it decodes to (latent hash, pixels)."""
    index = json.loads((HERE / "vectors.json").read_text())
    for vector in index["valid"]:
        what = vector.pop("exercises")
        vector.update(expectations(vector["file"], (HERE / vector["file"]).read_bytes()), exercises=what)
    (HERE / "vectors.json").write_text(json.dumps(index, indent=2) + "\n")
    print(f"updated what {len(index['valid'])} valid vectors decode to")


def main() -> None:
    model = find_model()
    vectors = []
    cases = [
        ("rgb_48x32_b6_range", scene(32, 48, 1), formats.COLOR_RGB, 6, "range", "basic RGB, range coder"),
        ("rgb_33x17_b4_range", scene(17, 33, 2), formats.COLOR_RGB, 4, "range", "odd size (padding/cropping), 4 bits"),
        ("rgb_40x24_b8_elias", scene(24, 40, 3), formats.COLOR_RGB, 8, "elias-gamma", "Elias-gamma payload, 8 bits"),
        ("gray_16x16_b5_range", scene(16, 16, 4), formats.COLOR_GRAY, 5, "range", "grayscale output (BT.601 luma)"),
        ("rgb_1x1_b7_range", scene(1, 1, 5), formats.COLOR_RGB, 7, "range", "smallest image"),
    ]
    for name, img, color, bits, coder, what in cases:
        if color == formats.COLOR_GRAY:
            img = np.repeat(img[:, :, :1], 3, axis=2)
        vectors.append(write_vector(name, img, model, bits, coder, what, color=color))
    search = find_model(backend="latent-search")
    search_cases = [
        ("search_64x64_b6_range", scene(64, 64, 6), 6, "range", {"effort": 0}, "latent search, plain mode"),
        ("search_64x64_b4_ganz_elias", scene(64, 64, 7), 4, "elias-gamma", {"effort": 0, "ratio": 48},
         "latent search, GANZ mode (d_c = 256, default seed), Elias-gamma"),
        ("search_72x90_b5_range", scene(90, 72, 8), 5, "range", {"effort": 0}, "latent search, resized output"),
    ]
    for name, img, bits, coder, options, what in search_cases:
        vectors.append(write_vector(name, img, search, bits, coder, what, backend="latent-search", options=options))
    ganz = formats.read((HERE / "search_64x64_b4_ganz_elias.gzc").read_bytes())

    generative = find_model(GENERATIVE_MODEL)
    roi_mask = np.zeros((48, 64), dtype=bool)
    roi_mask[4:20, 30:60] = True                 # latent cells rows 0-1, columns 1-3
    context = find_model(CONTEXT_MODEL)
    generative_cases = [     # (model, name, image, bits, coder, options, what it exercises)
        (generative, "gen_48x32_c4_b3_range", scene(32, 48, 9), 3, "range", {"channels": 4},
         "generative model, rate point C' = 4 of 16 (nested channels), range coder"),
        (generative, "gen_40x24_c16_b2_elias", scene(24, 40, 10), 2, "elias-gamma", {"channels": 16},
         "generative model, all 16 channels, 2 bits, Elias-gamma"),
        (generative, "gen_64x48_c8_roi_range", scene(48, 64, 11), 3, "range",
         {"channels": 8, "roi": roi_mask, "roi_background": 2},
         "ROIM chunk: region of interest at C' = 8, background k = 2, range coder (coded elements only)"),
        (generative, "gen_64x48_c8_roi0_elias", scene(48, 64, 12), 3, "elias-gamma",
         {"channels": 8, "roi": roi_mask, "roi_background": 0},
         "ROIM chunk with k = 0 (background synthesised), Elias-gamma"),
        (context, "ctx_80x48_c16_b3_context", scene(48, 80, 13), 3, "range", {"channels": 16},
         "coder 3: context-selected tables (checkerboard + channel context), all 16 channels"),
        (context, "ctx_64x48_c8_roi_b2_context", scene(48, 64, 14), 2, "range",
         {"channels": 8, "roi": roi_mask, "roi_background": 4},
         "coder 3 with a ROIM chunk (coded elements only, uncoded ones count 0 in contexts), 2 bits"),
    ]
    for model_, name, img, bits, coder, options, what in generative_cases:
        vectors.append(write_vector(name, img, model_, bits, coder, what, options=options))
    gen = formats.read((HERE / "gen_48x32_c4_b3_range.gzc").read_bytes())
    roi = formats.read((HERE / "gen_64x48_c8_roi_range.gzc").read_bytes())
    roi_chunk = roi.chunk(formats.CHUNK_ROIM)

    # an unknown ancillary chunk must be skipped: same pixels as the first vector
    base = formats.read((HERE / "rgb_48x32_b6_range.gzc").read_bytes())
    with_chunk = formats.write(dataclasses.replace(base, chunks=(formats.Chunk(b"xtra", b"ignore me"),)))
    (HERE / "rgb_48x32_b6_ancillary.gzc").write_bytes(with_chunk)
    vectors.append(dict(vectors[0], file="rgb_48x32_b6_ancillary.gzc", bytes=len(with_chunk),
                        **expectations("rgb_48x32_b6_ancillary.gzc", with_chunk),
                        exercises="unknown ancillary chunk 'xtra' is skipped (same pixels as rgb_48x32_b6_range)"))

    good = (HERE / "rgb_48x32_b6_range.gzc").read_bytes()

    def recrc(body: bytes) -> bytes:
        return body + zlib.crc32(body).to_bytes(4, "big")

    # a file as a version-1.2 writer made it (same pixels): older minors stay readable
    older = bytearray(good[:-4])
    older[4] = 0x12
    (HERE / "rgb_48x32_b6_v12.gzc").write_bytes(recrc(bytes(older)))
    vectors.append(dict(vectors[0], file="rgb_48x32_b6_v12.gzc",
                        **expectations("rgb_48x32_b6_v12.gzc", recrc(bytes(older))),
                        exercises="version byte 0x12 (a 1.2 writer's file): same pixels as rgb_48x32_b6_range"))

    flipped = bytearray(good)
    flipped[len(good) // 2] ^= 0x04
    major2 = bytearray(good[:-4])
    major2[4] = 0x20
    bad = {
        "truncated.gzc": (good[:-7], "TruncatedError"),
        "bad_signature.gzc": (b"\x89GZX" + good[4:], "BadMagicError"),
        "crc_mismatch.gzc": (bytes(flipped), "CrcMismatchError"),
        "trailing_bytes.gzc": (good + b"\x00", "MalformedFieldError"),
        "major_version_2.gzc": (recrc(bytes(major2)), "UnsupportedVersionError"),
        "unknown_critical_chunk.gzc": (formats.write(dataclasses.replace(base, chunks=(formats.Chunk(b"XTRA", b""),))),
                                       "UnknownCriticalChunkError"),
        "unknown_model.gzc": (formats.write(dataclasses.replace(base, model_id=bytes(8))), "ModelError"),
        "latent_shape_mismatch.gzc": (formats.write(dataclasses.replace(base, width=200)), "CorruptPayloadError"),
        "huge_dimensions.gzc": (formats.write(dataclasses.replace(base, width=1 << 24, height=1 << 24)),
                                "LimitExceededError"),
        "ganz_chunk_on_autoencoder.gzc": (formats.write(dataclasses.replace(
            base, chunks=(formats.GanzParameters(1, 8).to_chunk(),))), "CorruptPayloadError"),
        "ganz_dims_mismatch.gzc": (formats.write(dataclasses.replace(
            ganz, chunks=(formats.GanzParameters(1, 255).to_chunk(),))), "CorruptPayloadError"),
        "ganz_chunk_truncated.gzc": (formats.write(dataclasses.replace(
            ganz, chunks=(formats.Chunk(b"GANZ", b"\x00" * 8),))), "TruncatedError"),
        "gen_channels_not_a_rate_point.gzc": (formats.write(dataclasses.replace(
            gen, latent_shape=(3,) + tuple(gen.latent_shape[1:]))), "CorruptPayloadError"),
        "roim_background_not_below_channels.gzc": (formats.write(dataclasses.replace(
            roi, chunks=(formats.Chunk(b"ROIM", b"\x08" + roi_chunk.data[1:]),))), "CorruptPayloadError"),
        "roim_runs_past_grid.gzc": (formats.write(dataclasses.replace(
            roi, chunks=(formats.Chunk(b"ROIM", bytes([2, 0b00000010, 0b00000000])),))), "MalformedFieldError"),
        "roim_chunk_truncated.gzc": (formats.write(dataclasses.replace(
            roi, chunks=(formats.Chunk(b"ROIM", roi_chunk.data[:2]),))), "TruncatedError"),
        "roim_chunk_on_latent_search.gzc": (formats.write(dataclasses.replace(
            ganz, chunks=ganz.chunks + (roi_chunk,))), "CorruptPayloadError"),
        "coder3_without_context_tables.gzc": (formats.write(dataclasses.replace(
            gen, coder=formats.CODER_RANGE_CONTEXT)), "CorruptPayloadError"),
        "unknown_coder.gzc": (formats.write(dataclasses.replace(base, coder=9)), "CorruptPayloadError"),
    }
    ancillary_valid, ancillary_bad = ancillary_vectors({v["file"]: v for v in vectors})
    vectors += ancillary_valid
    bad.update(ancillary_bad)
    for fname, (blob, _) in bad.items():
        (HERE / "bad" / fname).write_bytes(blob)
    (HERE / "vectors.json").write_text(json.dumps({
        "valid": vectors, "invalid": [{"file": f"bad/{k}", "error": v[1]} for k, v in bad.items()]}, indent=2) + "\n")
    print(f"wrote {len(vectors)} valid and {len(bad)} invalid vectors for model {model.name}")


# ------------------------------------------------------- version 1.4: ancillary chunks (spec §5.2, §5.3)

ANCILLARY_BASES = ("rgb_48x32_b6_range.gzc", "gray_16x16_b5_range.gzc")   # colour as in these vectors


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def vector_icc_profile() -> bytes:
    """Little CMS's sRGB profile, its creation date and profile ID zeroed so that it is the same every run."""
    from PIL import ImageCms
    profile = bytearray(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())
    profile[24:36] = bytes(12)
    profile[84:100] = bytes(16)
    return bytes(profile)


def vector_exif() -> bytes:
    exif = Image.Exif()
    exif[0x010F], exif[0x0110], exif[0x0132], exif[0x0112] = "gzc", "vector camera", "2024:05:06 07:08:09", 1
    return exif.tobytes()[len(b"Exif\x00\x00"):]


VECTOR_XMP = (b'<?xpacket begin="\xef\xbb\xbf" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/">'
              b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about="" '
              b'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:tiff="http://ns.adobe.com/tiff/1.0/" '
              b'tiff:Orientation="1"><dc:rights>CC0, a gzc test vector</dc:rights></rdf:Description></rdf:RDF>'
              b'</x:xmpmeta><?xpacket end="w"?>')


def vector_alpha(height: int, width: int) -> np.ndarray:
    """An anti-aliased disc on a transparent ground, with a soft horizontal ramp at the bottom."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    disc = np.clip((min(height, width) / 2.5 - np.hypot(x - width / 2, y - height / 2.5)) * 64 + 128, 0, 255)
    ramp = np.where(y >= height * 3 // 4, 255 * x / max(width - 1, 1), 0)
    return np.round(np.maximum(disc, ramp)).astype(np.uint8)


def alpha_rows(alpha: np.ndarray, filters=None) -> bytes:
    """The aLPH rows (filter byte + filtered row), row r with filter ``filters[r]`` (default r mod 5)."""
    from gzc.codec.alpha import _filter_all
    filtered = _filter_all(alpha)
    kinds = np.arange(alpha.shape[0]) % 5 if filters is None else np.asarray(filters)
    return np.concatenate([kinds.astype(np.uint8)[:, None], filtered[kinds, np.arange(alpha.shape[0])]], 1).tobytes()


def with_crc(body: bytes) -> bytes:
    return body + zlib.crc32(body).to_bytes(4, "big")


def with_chunks(base: formats.GzcFile, *chunks: formats.Chunk) -> bytes:
    return formats.write(dataclasses.replace(base, chunks=tuple(chunks)))


def renamed_chunk(data: bytes, old: bytes, new: bytes) -> bytes:
    """A file with chunk type ``old`` renamed ``new`` (the writer refuses some results, e.g. duplicates)."""
    body = data[:-4]
    assert body.count(old) == 1
    return with_crc(body.replace(old, new))


def declared_oversized(base_data: bytes, ctype: bytes) -> bytes:
    """``base_data`` (no chunks) with one chunk declaring one byte more than its limit and holding none:
    a reader must refuse it when it reads the length, before looking for the data."""
    base = formats.read(base_data)
    header_end = len(base_data) - 4 - len(base.payload) - len(encode_varint(len(base.payload))) - 1
    assert base_data[header_end] == 0 and not base.chunks                       # the chunk count
    body = (base_data[:header_end] + b"\x01" + ctype + encode_varint(MAX_CHUNK_DATA[ctype] + 1)
            + base_data[header_end + 1:-4])
    return with_crc(body)


def ancillary_vectors(index_by_file: dict) -> tuple[list[dict], dict]:
    """Valid 1.4 vectors made from existing ones by adding ancillary chunks, and bad ones.
    Returns (valid index entries, {bad file name: (bytes, error class name)})."""
    from gzc.formats.metadata import LIMITS
    rgb_entry, gray_entry = (index_by_file[name] for name in ANCILLARY_BASES)
    rgb, gray = (formats.read((HERE / name).read_bytes()) for name in ANCILLARY_BASES)
    icc, exif = vector_icc_profile(), vector_exif()
    iccp = formats.Chunk(formats.CHUNK_ICCP, b"\x01" + zlib.compress(icc, 9))
    exif_chunk = formats.Chunk(formats.CHUNK_EXIF, b"\x00" + exif)
    xmpp = formats.Chunk(formats.CHUNK_XMPP, b"\x01" + zlib.compress(VECTOR_XMP, 9))
    alpha = vector_alpha(rgb.height, rgb.width)
    rows = alpha_rows(alpha)
    alph = formats.Chunk(formats.CHUNK_ALPH, b"\x00" + zlib.compress(rows, 9))
    gray_alpha = vector_alpha(gray.height, gray.width)[::-1].copy()
    gray_alph = formats.Chunk(formats.CHUNK_ALPH, b"\x00" + zlib.compress(alpha_rows(gray_alpha, [0] * gray.height), 9))

    valid = []
    for name, base_entry, data, recorded, what in [
        ("rgb_48x32_b6_metadata", rgb_entry, with_chunks(rgb, iccp, exif_chunk, xmpp),
         {"icc_sha256": _sha(icc), "exif_sha256": _sha(exif), "xmp_sha256": _sha(VECTOR_XMP)},
         "iCCP (method 1, zlib; an sRGB profile), eXIf (method 0, stored) and xMPP (method 1): "
         "same pixels as rgb_48x32_b6_range"),
        ("rgb_48x32_b6_alpha", rgb_entry, with_chunks(rgb, alph), {"alpha_sha256": _sha(alpha.tobytes())},
         "aLPH: an RGBA picture, row r with PNG filter r mod 5 (all five filters); colour as rgb_48x32_b6_range"),
        ("gray_16x16_b5_alpha", gray_entry, with_chunks(gray, gray_alph), {"alpha_sha256": _sha(gray_alpha.tobytes())},
         "aLPH on a grayscale file: grayscale + alpha (LA), filter None; colour as gray_16x16_b5_range"),
    ]:
        (HERE / f"{name}.gzc").write_bytes(data)
        entry = {k: v for k, v in base_entry.items() if k != "exercises"}
        entry.update(file=f"{name}.gzc", bytes=len(data), **expectations(f"{name}.gzc", data), **recorded,
                     exercises=what)
        valid.append(entry)

    def bad_alpha(rows_: bytes, method: int = 0, cut: int = 0) -> bytes:
        stream = zlib.compress(rows_, 9)
        return with_chunks(rgb, formats.Chunk(formats.CHUNK_ALPH, bytes([method]) + stream[:len(stream) - cut]))

    def bomb(ctype: bytes, start: bytes = b"") -> bytes:
        item = start + bytes(LIMITS[ctype] + 1 - len(start))
        return with_chunks(rgb, formats.Chunk(ctype, b"\x01" + zlib.compress(item, 9)))

    row = rgb.width + 1
    bad_filter = bytearray(rows)
    bad_filter[3 * row] = 5
    plain = (HERE / ANCILLARY_BASES[0]).read_bytes()
    bad = {
        "duplicate_chunk.gzc": (renamed_chunk(with_chunks(rgb, formats.Chunk(b"xtra", b"1"),
                                                          formats.Chunk(b"xtrb", b"2")), b"xtrb", b"xtra"),
                                "MalformedFieldError"),
        "exif_duplicated.gzc": (renamed_chunk(with_chunks(rgb, exif_chunk, formats.Chunk(b"eXIg", exif_chunk.data)),
                                              b"eXIg", b"eXIf"), "MalformedFieldError"),
        "alpha_duplicated.gzc": (renamed_chunk(with_chunks(rgb, alph, formats.Chunk(b"aLPI", alph.data)),
                                               b"aLPI", b"aLPH"), "MalformedFieldError"),
        "iccp_declared_oversized.gzc": (declared_oversized(plain, formats.CHUNK_ICCP), "MalformedFieldError"),
        "xmp_declared_oversized.gzc": (declared_oversized(plain, formats.CHUNK_XMPP), "MalformedFieldError"),
        "iccp_inflates_past_limit.gzc": (bomb(formats.CHUNK_ICCP), "MalformedFieldError"),
        "exif_inflates_past_limit.gzc": (bomb(formats.CHUNK_EXIF, b"MM\x00*"), "MalformedFieldError"),
        "iccp_truncated.gzc": (with_chunks(rgb, formats.Chunk(formats.CHUNK_ICCP, iccp.data[:-6])), "TruncatedError"),
        "exif_empty.gzc": (with_chunks(rgb, formats.Chunk(formats.CHUNK_EXIF, b"")), "TruncatedError"),
        "exif_not_tiff.gzc": (with_chunks(rgb, formats.Chunk(formats.CHUNK_EXIF, b"\x00Exif\x00\x00" + exif)),
                              "MalformedFieldError"),
        "xmp_unknown_method.gzc": (with_chunks(rgb, formats.Chunk(formats.CHUNK_XMPP, b"\x02" + VECTOR_XMP)),
                                   "MalformedFieldError"),
        "xmp_data_after_stream.gzc": (with_chunks(rgb, formats.Chunk(formats.CHUNK_XMPP, xmpp.data + b"\x00")),
                                      "MalformedFieldError"),
        "alpha_rows_missing.gzc": (bad_alpha(rows[:-row]), "TruncatedError"),
        "alpha_rows_too_many.gzc": (bad_alpha(rows + rows[:row]), "MalformedFieldError"),
        "alpha_stream_truncated.gzc": (bad_alpha(rows, cut=5), "TruncatedError"),
        "alpha_bad_filter.gzc": (bad_alpha(bytes(bad_filter)), "MalformedFieldError"),
        "alpha_unknown_method.gzc": (bad_alpha(rows, method=1), "MalformedFieldError"),
    }
    return valid, bad


def merge_into_index(index: dict, valid: list[dict], bad: dict) -> None:
    """Write ``bad``'s files and put ``valid`` and ``bad`` into vectors.json in place of any
    entries with the same file names, leaving every other vector as it is."""
    for fname, (blob, _) in bad.items():
        (HERE / "bad" / fname).write_bytes(blob)
    new_files = {v["file"] for v in valid}
    index["valid"] = [v for v in index["valid"] if v["file"] not in new_files] + valid
    index["invalid"] = ([v for v in index["invalid"] if v["file"] not in {f"bad/{k}" for k in bad}]
                        + [{"file": f"bad/{k}", "error": v[1]} for k, v in bad.items()])
    (HERE / "vectors.json").write_text(json.dumps(index, indent=2) + "\n")


def write_ancillary_only() -> None:
    """Add (or redo) the 1.4 ancillary vectors in vectors.json, leaving every other vector as it is."""
    index = json.loads((HERE / "vectors.json").read_text())
    valid, bad = ancillary_vectors({v["file"]: v for v in index["valid"]})
    merge_into_index(index, valid, bad)
    print(f"wrote {len(valid)} valid and {len(bad)} invalid ancillary-chunk vectors")


def overfit_vectors(version: int) -> tuple[list[dict], dict]:
    """Backend 3 (spec §12), decoder ``version``: two files the encoder wrote, and invalid variants
    of one of them. The encodes are short (60 steps): the vectors test the decoder, not the
    encoder's quality. Version 1's are named ``overfit_*``, version 2's ``overfit2_*``."""
    from gzc.codec import codec as core
    from gzc.codec.overfit import payload as payload_io
    from gzc.codec.overfit.architecture import MODEL_NAMES
    from gzc.codec.overfit.backend import OverfitBackend
    from gzc.codec.overfit.integer_net import Layer

    backend, _ = OverfitBackend(version=version).configure({"steps": 60, "progress": False})
    prefix = "overfit" if version == 1 else f"overfit{version}"
    cases = [(f"{prefix}_40x24_b4", scene(24, 40, 21), formats.COLOR_RGB, 4,
              "backend 3: overfitted decoder in the payload (coder 4), 4 grids"),
             (f"{prefix}_gray_17x30_b2", scene(17, 30, 22), formats.COLOR_GRAY, 2,
              "backend 3, grayscale, odd size (padding to a multiple of 2^G), smaller networks")]
    valid = []
    for name, img, color, bits, what in cases:
        data = core.encode_with(backend, img, color=color, bits=bits)
        (HERE / f"{name}.gzc").write_bytes(data)
        valid.append({"file": f"{name}.gzc", "model": MODEL_NAMES[version], "model_id": formats.read(data).model_id.hex(),
                      "width": img.shape[1], "height": img.shape[0], "bits": bits, "coder": "backend",
                      "colour": formats.COLOR_NAMES[color], "bytes": len(data),
                      **expectations(f"{name}.gzc", data), "exercises": what})
    base = formats.read((HERE / f"{cases[0][0]}.gzc").read_bytes())
    dec = payload_io.decode(base.payload, *base.latent_shape[1:], version)

    def with_payload(payload: bytes, **fields) -> bytes:
        return formats.write(dataclasses.replace(base, payload=payload, **fields))

    refine = dec.layers["syn_refine_1"]
    inexact = dict(dec.layers, syn_refine_1=Layer(np.full_like(refine.weight, 126), np.full_like(refine.bias, 126),
                                                  refine.weight_bits, 16))
    bad = {
        f"{prefix}_header_only.gzc": (with_payload(base.payload[:4]), "CorruptPayloadError"),
        f"{prefix}_grid_count_mismatch.gzc": (with_payload(base.payload, latent_shape=(5, 32, 64)),
                                            "CorruptPayloadError"),
        f"{prefix}_too_many_grids.gzc": (with_payload(bytes([9]) + base.payload[1:], latent_shape=(9, 512, 512)),
                                       "CorruptPayloadError"),
        f"{prefix}_wrong_coder.gzc": (with_payload(base.payload, coder=formats.CODER_RANGE), "CorruptPayloadError"),
        f"{prefix}_inexact_layer.gzc": (with_payload(payload_io.encode(payload_io.Decoder(dec.arch, inexact, dec.grids),
                                                                     check=False)), "CorruptPayloadError"),
    }
    return valid, bad


def write_overfit_only(version: int = 2) -> None:
    """Add (or redo) one decoder version's backend-3 vectors in vectors.json, leaving every other
    vector as it is (``--overfit``: version 2, ``--overfit1``: version 1)."""
    index = json.loads((HERE / "vectors.json").read_text())
    valid, bad = overfit_vectors(version)
    merge_into_index(index, valid, bad)
    print(f"wrote {len(valid)} valid and {len(bad)} invalid overfitted-backend vectors")


if __name__ == "__main__":
    {"--expectations": refresh_expectations, "--ancillary": write_ancillary_only,
     "--overfit": write_overfit_only, "--overfit1": lambda: write_overfit_only(1)}.get(" ".join(sys.argv[1:]), main)()
