"""Region-of-interest example: kodim23 with the two parrots' heads as the region of interest.

    python bench/roi_example.py [--model ae-generative-v1]   # writes bench/results/extreme/roi/

Runs the real command-line tools, so what it shows is what a user gets:

* the mask (two ellipses, white = keep detail) is written as ``mask.png``;
* ``gzc-enc --channels 16 --roi mask.png`` (background: the model's smallest
  rate point, 2 channels) and ``--roi-background 0`` (background not coded at
  all), against ``--channels 16`` and ``--channels 2`` everywhere;
* every file is decoded with ``gzc-dec``; sizes are the files' bytes, PSNR is
  measured separately inside and outside the region.

Writes ``roi.json`` (all figures), ``kodim23_roi.gzc`` (the ROI file itself),
its decoded ``kodim23_roi.png``, and ``roi_example.png``: each variant
downscaled to half size above a 1:1 crop that straddles the region's edge.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from gzc.tools.bench.metrics import psnr

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "tests" / "data" / "kodim23.png"
OUT = ROOT / "bench" / "results" / "extreme" / "roi"
HEADS = [(60, 160, 290, 330), (395, 100, 600, 300)]    # ellipse boxes (x0, y0, x1, y1) around the heads
CROP = (150, 120, 406, 376)                            # 1:1 detail: the blue parrot's eye and the background


def make_mask(size: tuple[int, int]) -> Image.Image:
    mask = Image.new("L", size, 0)
    draw = ImageDraw.Draw(mask)
    for box in HEADS:
        draw.ellipse(box, fill=255)
    return mask


def _run(*args) -> None:
    subprocess.run([sys.executable, "-m", *map(str, args)], check=True, capture_output=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="ae-generative-v1")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    original = np.asarray(Image.open(SOURCE).convert("RGB"))
    h, w = original.shape[:2]
    mask = make_mask((w, h))
    mask.save(OUT / "mask.png")
    inside = np.asarray(mask) >= 128
    variants = [("C'=2 everywhere", ["--channels", "2"]),
                ("ROI: C'=16 in, 2 out", ["--channels", "16", "--roi", OUT / "mask.png"]),
                ("ROI: C'=16 in, 0 out", ["--channels", "16", "--roi", OUT / "mask.png", "--roi-background", "0"]),
                ("C'=16 everywhere", ["--channels", "16"])]
    results, decoded = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for i, (label, options) in enumerate(variants):
            gzc, png = Path(tmp) / f"{i}.gzc", Path(tmp) / f"{i}.png"
            _run("gzc.tools.enc", SOURCE, gzc, "--model", args.model, "--bits", "3", *options)
            _run("gzc.tools.dec", gzc, png)
            pixels = np.asarray(Image.open(png).convert("RGB"))
            size = gzc.stat().st_size
            results.append({"variant": label, "options": " ".join(map(str, options)).replace(str(OUT) + "/", ""),
                            "bytes": size, "bpp": round(size * 8 / (w * h), 4),
                            "psnr_inside_roi": round(psnr(original[inside], pixels[inside]), 2),
                            "psnr_outside_roi": round(psnr(original[~inside], pixels[~inside]), 2)})
            decoded.append(pixels)
            if label.startswith("ROI: C'=16 in, 2 out"):
                (OUT / "kodim23_roi.gzc").write_bytes(gzc.read_bytes())
                Image.fromarray(pixels).save(OUT / "kodim23_roi.png")
    (OUT / "roi.json").write_text(json.dumps({
        "image": "kodim23 (Kodak; evaluation only)", "model": args.model, "bits": 3,
        "roi_fraction_of_pixels": round(float(inside.mean()), 3), "variants": results}, indent=2) + "\n")
    _sheet(original, mask, decoded, results)
    for r in results:
        print(f"{r['variant']:24} {r['bytes']:6d} B  {r['bpp']:.4f} bpp  PSNR in {r['psnr_inside_roi']:.2f} dB  "
              f"out {r['psnr_outside_roi']:.2f} dB")


def _sheet(original: np.ndarray, mask: Image.Image, decoded: list, results: list) -> None:
    h, w = original.shape[:2]
    half = (w // 2, h // 2)
    cw = CROP[2] - CROP[0]
    col = max(half[0], cw)
    caption = 34
    panels = [("original (mask outlined)", original)] + [(r["variant"], d) for r, d in zip(results, decoded)]
    sheet = Image.new("RGB", (col * len(panels), caption + half[1] + cw), "white")
    draw = ImageDraw.Draw(sheet)
    for i, (label, pixels) in enumerate(panels):
        im = Image.fromarray(pixels)
        if i == 0:
            outline = ImageDraw.Draw(im)
            for box in HEADS:
                outline.ellipse(box, outline=(255, 255, 255), width=3)
        x = i * col
        text = label if i == 0 else f"{label}: {results[i - 1]['bytes']} B, {results[i - 1]['bpp']:.3f} bpp"
        draw.text((x + 4, 4), text, fill="black")
        if i:
            r = results[i - 1]
            draw.text((x + 4, 18), f"PSNR in ROI {r['psnr_inside_roi']:.1f} dB, outside {r['psnr_outside_roi']:.1f} dB",
                      fill="black")
        sheet.paste(im.resize(half, Image.LANCZOS), (x, caption))
        sheet.paste(im.crop(CROP), (x, caption + half[1]))
    sheet.save(OUT / "roi_example.png", optimize=True)


if __name__ == "__main__":
    main()
