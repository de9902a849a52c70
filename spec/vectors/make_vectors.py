"""Regenerate the conformance vectors in spec/vectors/ (run after changing a shipped model).

    python spec/vectors/make_vectors.py                  # re-encode everything
    python spec/vectors/make_vectors.py --expectations   # keep the .gzc files, redo what they decode to

Valid files: small images coded with the default model at several settings,
with the latent-search face model (plain and GANZ mode), and with the
generative autoencoder (rate points, region-of-interest maps);
vectors.json records, for each, the SHA-256 of the decoded *latent* (exact on
every machine), the reference decoder's pixels as ``decoded/NAME.png`` with
their SHA-256 (row-major, interleaved, uint8; another CPU may differ by ±1 in
a few values, spec §7), and what it exercises. Invalid files in bad/ each
carry the exception class a conformant reader must raise.
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
            ganz, chunks=(formats.Chunk(b"GANZ", b"\x00" * 8),))), "CorruptPayloadError"),
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
    for fname, (blob, _) in bad.items():
        (HERE / "bad" / fname).write_bytes(blob)
    (HERE / "vectors.json").write_text(json.dumps({
        "valid": vectors, "invalid": [{"file": f"bad/{k}", "error": v[1]} for k, v in bad.items()]}, indent=2) + "\n")
    print(f"wrote {len(vectors)} valid and {len(bad)} invalid vectors for model {model.name}")


if __name__ == "__main__":
    refresh_expectations() if sys.argv[1:] == ["--expectations"] else main()
