"""What alpha costs: gzc's aLPH chunk against WebP and AVIF with alpha, on generated RGBA images.

    python bench/alpha_overhead.py            # writes bench/results/alpha/alpha_overhead.{json,md}

The test set is made here, deterministically (seeded numpy, Pillow drawing):
flat logos, a text badge, a small icon, photo cut-outs with hard,
anti-aliased and feathered edges, soft blobs, a sticker with a drop shadow,
a photo faded out at the edges, smoke (alpha that is noise, the worst case)
and an RGBA image whose alpha is all 255. The photos are BSDS500 *test*
images from ../shared/data (a smooth synthetic texture where that folder is
absent); colour under fully transparent pixels is 0, as image editors export
it by default.

Two measurements, sizes always of real encoded bytes:

1. **How to code the plane** (the choice behind spec §5.3). The candidates
   the spec could name with a well-kept library: deflate (zlib level 9) of
   the raw rows; of the rows under each PNG filter; under libpng's per-row
   filter rule; and the best of those six, which is what gzc writes. For
   reference only, not candidates: LZMA of the raw plane (xz; slower, and a
   second library a reader would need) and the plane as a lossless WebP
   file (libwebp's VP8L, what WebP itself uses for alpha).
2. **Alpha overhead per codec**: size with alpha minus size of the same
   colour without it, at one setting each. gzc: the default model at
   ``--bits 6`` and ``ae-generative-context-v2`` at 8 channels / 3 bits (the
   extreme-rate use); as it encodes by default (the colour under fully
   transparent pixels replaced by a smooth fill, codec/alpha.py), and with
   ``--exact`` (colour unchanged: the colour payload is checked to be
   identical to the file without alpha, so that overhead is the aLPH chunk
   alone). For both, the PSNR of the visible colour (squared errors weighted
   by alpha), to show the fill costs no visible quality. WebP: quality 75 (cwebp's default), alpha lossless
   (Pillow's default ``alpha_quality=100``); libwebp also simplifies the
   colour under transparent pixels, so its net overhead can be below its alpha
   bytes. AVIF: Pillow/libavif quality 60, speed 6; libavif codes alpha at the
   colour's quality, so AVIF's alpha is *lossy*: its largest error is reported.
"""
from __future__ import annotations

import io
import json
import lzma
import zlib
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from gzc.codec.alpha import _candidates, encode_alpha
from gzc.codec.codec import decode_bytes, encode_pixels
from gzc.formats import CHUNK_ALPH, read

ROOT = Path(__file__).resolve().parent.parent
PHOTOS = ROOT.parent / "shared" / "data" / "bsds500" / "test"
OUT = ROOT / "bench" / "results" / "alpha"
SIZE = (256, 256)
GZC_SETTINGS = [("ae-factorized-v1", 6, {}), ("ae-generative-context-v2", 3, {"channels": 8})]
WEBP_QUALITY, AVIF_QUALITY = 75, 60
PLANE_CODINGS = ["none", "sub", "up", "average", "paeth", "libpng-rule"]


# ---------------------------------------------------------------- the test set

def _photo(index: int, size=SIZE) -> np.ndarray:
    files = sorted(PHOTOS.glob("*.jpg"))
    if files:
        with Image.open(files[index * 7 % len(files)]) as im:
            im = im.convert("RGB")
            left, top = (im.width - size[0]) // 2, (im.height - size[1]) // 2
            return np.asarray(im.crop((left, top, left + size[0], top + size[1])))
    y, x = np.mgrid[0:size[1], 0:size[0]]
    rng = np.random.default_rng(index)
    img = np.stack([120 + 80 * np.sin(x / 13 + index), 120 + 70 * np.cos(y / 9), (x + y) / 2 % 255], 2)
    return np.clip(img + rng.normal(0, 6, img.shape), 0, 255).astype(np.uint8)


def _mask(draw, size=SIZE, supersample: int = 4) -> np.ndarray:
    """A shape drawn at ``supersample``× and box-filtered down: anti-aliased edges (1 = hard)."""
    big = Image.new("L", (size[0] * supersample, size[1] * supersample), 0)
    draw(ImageDraw.Draw(big), supersample)
    return np.asarray(big.resize(size, Image.Resampling.BOX))


def _shapes(d, s):
    d.ellipse((30 * s, 40 * s, 170 * s, 180 * s), fill=255)
    d.polygon([(150 * s, 20 * s), (240 * s, 120 * s), (120 * s, 236 * s)], fill=255)
    d.rounded_rectangle((16 * s, 196 * s, 110 * s, 246 * s), radius=12 * s, fill=255)


def _silhouette(d, s):
    d.ellipse((88 * s, 24 * s, 168 * s, 112 * s), fill=255)                      # head
    d.rounded_rectangle((56 * s, 104 * s, 200 * s, 256 * s), radius=40 * s, fill=255)   # shoulders


def _rgba(colour: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    colour = colour.copy()
    colour[alpha == 0] = 0
    return np.dstack([colour, alpha]).astype(np.uint8)


def _flat(colours, labels: np.ndarray) -> np.ndarray:
    return np.asarray(colours, dtype=np.uint8)[labels]


def test_set() -> dict[str, np.ndarray]:
    """name → (H, W, 4) uint8 RGBA."""
    images = {}
    y, x = np.mgrid[0:SIZE[1], 0:SIZE[0]]
    logo = _mask(_shapes)
    halves = (x > y).astype(int) + 1
    images["logo_flat"] = _rgba(_flat([(0, 0, 0), (230, 60, 40), (40, 90, 200)], halves), logo)

    badge = Image.new("L", (SIZE[0] * 4, SIZE[1] * 4), 0)
    draw = ImageDraw.Draw(badge)
    draw.ellipse((8, 8, SIZE[0] * 4 - 8, SIZE[1] * 4 - 8), fill=255)
    draw.text((SIZE[0] * 2, SIZE[1] * 2), "gzc", fill=0, anchor="mm", font=ImageFont.load_default(size=420))
    text_alpha = np.asarray(badge.resize(SIZE, Image.Resampling.BOX))
    images["logo_text"] = _rgba(_flat([(250, 190, 20)] * 2, np.zeros(SIZE[::-1], int)), text_alpha)

    icon = _mask(lambda d, s: (d.rounded_rectangle((4 * s, 4 * s, 60 * s, 60 * s), radius=14 * s, fill=255),
                               d.ellipse((18 * s, 18 * s, 46 * s, 46 * s), fill=0)), size=(64, 64))
    images["icon_64"] = _rgba(_flat([(30, 160, 90)], np.zeros((64, 64), int)), icon)

    photo = _photo(0)
    hard = _mask(_silhouette, supersample=1)
    images["cutout_hard"] = _rgba(photo, hard)
    images["cutout_antialiased"] = _rgba(photo, _mask(_silhouette))
    feathered = np.asarray(Image.fromarray(hard).filter(ImageFilter.GaussianBlur(6)))
    images["cutout_feathered"] = _rgba(photo, feathered)

    rng = np.random.default_rng(7)
    soft = np.zeros(SIZE[::-1])
    for _ in range(6):
        cx, cy, r, a = rng.uniform(30, 226), rng.uniform(30, 226), rng.uniform(15, 50), rng.uniform(0.4, 1)
        soft = np.maximum(soft, a * np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * r * r)))
    gradient = np.stack([x, 255 - y, np.full_like(x, 160)], 2)
    images["soft_blobs"] = _rgba(gradient, np.round(soft * 255).astype(np.uint8))

    sticker = _mask(lambda d, s: d.regular_polygon((118 * s, 118 * s, 90 * s), 6, fill=255))
    shadow = np.roll(np.asarray(Image.fromarray(sticker).filter(ImageFilter.GaussianBlur(8))), (10, 10), (0, 1))
    alpha = np.maximum(sticker, (shadow * 0.5).astype(np.uint8))
    colour = np.where(sticker[..., None] > 0, np.array([220, 40, 120]), 0)
    images["sticker_shadow"] = _rgba(colour, alpha)

    radius = np.hypot(x - 127.5, y - 127.5)
    fade = np.clip((128 - radius) / 48, 0, 1)
    images["photo_fade"] = _rgba(_photo(1), np.round(fade * 255).astype(np.uint8))

    noise = np.zeros(SIZE[::-1])
    for octave in range(1, 6):
        cells = 2 ** (octave + 1)
        layer = rng.random((cells, cells))
        noise += np.asarray(Image.fromarray((layer * 255).astype(np.uint8)).resize(SIZE, Image.Resampling.BICUBIC),
                            dtype=np.float64) / 2 ** octave
    smoke = np.clip((noise / noise.max()) ** 2 * 255, 0, 255).astype(np.uint8)
    images["smoke"] = _rgba(_flat([(200, 200, 210)], np.zeros(SIZE[::-1], int)), smoke)

    images["opaque_photo"] = np.dstack([_photo(2), np.full(SIZE[::-1], 255, np.uint8)])
    return images


# ---------------------------------------------------------------- measurements

def plane_codings(alpha: np.ndarray) -> dict[str, int]:
    """Bytes of the plane under each candidate coding, and the references."""
    sizes = dict(zip(PLANE_CODINGS, map(len, _candidates(alpha))))
    sizes["best (gzc aLPH)"] = min(sizes.values())
    sizes["zlib raw == none"] = len(zlib.compress(alpha.tobytes(), 9))
    sizes["ref: lzma raw"] = len(lzma.compress(alpha.tobytes(), format=lzma.FORMAT_RAW,
                                               filters=[{"id": lzma.FILTER_LZMA2, "preset": 9}]))
    sizes["ref: webp lossless file"] = len(_save(Image.fromarray(alpha), "WEBP", lossless=True, quality=100,
                                                 method=6))
    return sizes


def _save(image: Image.Image, fmt: str, **options) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format=fmt, **options)
    return buf.getvalue()


def codec_overheads(rgba: np.ndarray) -> dict:
    rgb, alpha = np.ascontiguousarray(rgba[..., :3]), np.ascontiguousarray(rgba[..., 3])
    out = {}
    for model, bits, options in GZC_SETTINGS:
        plain = encode_pixels(rgb, model=model, bits=bits, options=options)
        exact = encode_pixels(rgb, model=model, bits=bits, options=options, alpha=alpha, exact=True)
        filled = encode_pixels(rgb, model=model, bits=bits, options=options, alpha=alpha)
        assert read(plain).payload == read(exact).payload, "with --exact the colour must not change"
        chunk = read(filled).chunk(CHUNK_ALPH)
        decoded = {name: decode_bytes(data) for name, data in (("exact", exact), ("filled", filled))}
        assert all(np.array_equal(d.alpha if d.alpha is not None else np.full_like(alpha, 255), alpha)
                   for d in decoded.values()), "alpha must be lossless"
        out[f"gzc {model} b{bits}" + (f" c{options['channels']}" if options else "")] = {
            "rgb_bytes": len(plain), "rgba_bytes": len(filled), "overhead": len(filled) - len(plain),
            "rgba_bytes_exact": len(exact), "overhead_exact": len(exact) - len(plain),
            "alpha_chunk_data": 0 if chunk is None else len(chunk.data), "alpha_max_error": 0,
            "visible_psnr": round(visible_psnr(rgb, decoded["filled"].pixels, alpha), 2),
            "visible_psnr_exact": round(visible_psnr(rgb, decoded["exact"].pixels, alpha), 2)}
    for name, fmt, options in (("webp q75", "WEBP", {"quality": WEBP_QUALITY}),
                               ("avif q60", "AVIF", {"quality": AVIF_QUALITY, "speed": 6})):
        plain = _save(Image.fromarray(rgb), fmt, **options)
        with_alpha = _save(Image.fromarray(rgba), fmt, **options)
        with Image.open(io.BytesIO(with_alpha)) as im:
            decoded = np.asarray(im.convert("RGBA"))[..., 3].astype(int)
        out[name] = {"rgb_bytes": len(plain), "rgba_bytes": len(with_alpha),
                     "overhead": len(with_alpha) - len(plain),
                     "alpha_max_error": int(np.abs(decoded - alpha).max())}
    return out


def visible_psnr(original: np.ndarray, decoded: np.ndarray, alpha: np.ndarray) -> float:
    """PSNR of the colour where it shows: squared errors weighted by alpha / 255."""
    weight = alpha.astype(np.float64)[..., None] / 255
    mse = float((weight * (original.astype(np.float64) - decoded) ** 2).sum() / (3 * weight.sum()))
    return float("inf") if mse == 0 else 10 * np.log10(255 ** 2 / mse)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    records = []
    for name, rgba in test_set().items():
        alpha = rgba[..., 3]
        record = {"image": name, "width": rgba.shape[1], "height": rgba.shape[0],
                  "opaque": bool(alpha.min() == 255), "codecs": codec_overheads(rgba)}
        if not record["opaque"]:
            record["plane_codings"] = plane_codings(alpha)
            assert len(encode_alpha(alpha).data) == 1 + record["plane_codings"]["best (gzc aLPH)"]
        records.append(record)
        print(name, {k: v["overhead"] for k, v in record["codecs"].items()}, flush=True)
    summary = summarise(records)
    (OUT / "alpha_overhead.json").write_text(json.dumps({"settings": {
        "gzc": [f"{m} bits {b} {o}" for m, b, o in GZC_SETTINGS], "webp_quality": WEBP_QUALITY,
        "avif_quality": AVIF_QUALITY, "pillow": Image.__version__}, "summary": summary, "records": records},
        indent=2) + "\n")
    (OUT / "alpha_overhead.md").write_text(markdown(records, summary))


def summarise(records: list[dict]) -> dict:
    transparent = [r for r in records if not r["opaque"]]
    codings = {k: sum(r["plane_codings"][k] for r in transparent) for k in transparent[0]["plane_codings"]}
    codecs = {}
    for name in records[0]["codecs"]:
        rows = [r["codecs"][name] for r in transparent]
        codecs[name] = {"overhead_total": sum(r["overhead"] for r in rows),
                        "rgb_total": sum(r["rgb_bytes"] for r in rows),
                        "overhead_pct_of_rgb": round(100 * sum(r["overhead"] for r in rows)
                                                     / sum(r["rgb_bytes"] for r in rows), 1),
                        "opaque_image_overhead": [r["codecs"][name]["overhead"] for r in records if r["opaque"]],
                        "alpha_max_error": max(r["alpha_max_error"] for r in rows)}
        if "overhead_exact" in rows[0]:
            codecs[name] |= {"overhead_exact_total": sum(r["overhead_exact"] for r in rows),
                             "mean_visible_psnr": round(float(np.mean([r["visible_psnr"] for r in rows])), 2),
                             "mean_visible_psnr_exact": round(float(np.mean([r["visible_psnr_exact"] for r in rows])),
                                                              2)}
    return {"plane_codings_total_bytes": codings, "codecs": codecs, "images": len(records)}


def markdown(records: list[dict], summary: dict) -> str:
    codec_names = list(records[0]["codecs"])
    lines = ["# Alpha overhead (`bench/alpha_overhead.py`)", "",
             "Bytes that alpha adds to a file: the file with alpha minus the same colour without it. "
             f"{len(records)} generated RGBA images, 256×256 (icon 64×64); WebP quality {WEBP_QUALITY} with "
             f"lossless alpha, AVIF quality {AVIF_QUALITY} (libavif codes alpha at that quality: lossy). "
             "gzc's alpha is lossless.", "",
             "| image | " + " | ".join(codec_names) + " |", "|---|" + "---|" * len(codec_names)]
    for r in records:
        cells = [f"{r['codecs'][n]['overhead']:+d} ({100 * r['codecs'][n]['overhead'] / r['codecs'][n]['rgb_bytes']:.0f} %)"
                 for n in codec_names]
        lines.append(f"| {r['image']} | " + " | ".join(cells) + " |")
    totals = summary["codecs"]
    lines.append("| **all transparent images** | " + " | ".join(
        f"**{totals[n]['overhead_total']:+d} ({totals[n]['overhead_pct_of_rgb']} %)**" for n in codec_names) + " |")
    lines.append("| alpha's largest error | " + " | ".join(str(totals[n]["alpha_max_error"]) for n in codec_names)
                 + " |")
    lines += ["", "(%: of that codec's file without alpha.)", "",
              "## gzc: the fill under transparent pixels (default) against `--exact`", "",
              "| setting | overhead, default | overhead, `--exact` (the aLPH chunk) | visible PSNR, default | "
              "visible PSNR, `--exact` |", "|---|---|---|---|---|"]
    lines += [f"| {n} | {t['overhead_total']:+d} | {t['overhead_exact_total']:+d} | {t['mean_visible_psnr']} dB | "
              f"{t['mean_visible_psnr_exact']} dB |" for n, t in totals.items() if "overhead_exact_total" in t]
    lines += ["", "(Totals over the transparent images; PSNR: mean over them, squared errors weighted by alpha.)", "",
              "## Coding the plane: total bytes over the transparent images", "",
              "| coding | bytes |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in summary["plane_codings_total_bytes"].items()]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
