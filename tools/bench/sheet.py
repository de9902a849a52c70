"""gzc-bench-sheet: a visual comparison sheet at extreme rates on Kodak crops.

    gzc-bench-sheet --model gen-... --bits 3 --channels 8 --out bench/results/extreme
    gzc-bench-sheet --model ae-factorized-v1 --bits 4 --out /tmp/sheet
    gzc-bench-sheet --model gen-a --bits 3 --channels 8 --also gen-b   # two generators side by side
    gzc-bench-sheet --model gen-a --bits 4 --channels 16 --effort 2    # files from the refining encoder

For each image in ``CROPS`` the *whole* image is encoded with gzc (one column
per entry; the first entry is the main one) and its complete file size gives
``bpp = bytes × 8 / (W × H)``. Each classical codec (JPEG, WebP, AVIF, JPEG XL
when available, JPEG 2000) is then set to the smallest file it can make that
is **at least as large as the main gzc file**: its usual sweep is walked from
low rate upwards until a file reaches that size, and the setting is refined
between the last two points (integer qualities for JPEG/WebP/AVIF, a
bisection on the distance for JPEG XL and on the compression ratio for
JPEG 2000). Where even the codec's smallest file is larger, that smallest
file is used and marked "(smallest possible)". Every file is decoded by its
normal decoder; PSNR and MS-SSIM are measured on the whole image, and the
sheet shows one crop per image at 1:1 (no resampling).

Writes ``sheet.png`` (rows = images; columns = original, gzc entries, then the
classical codecs) and ``sheet.json`` (per image and codec: the setting, bytes,
bpp, PSNR, MS-SSIM, the detail ratio of ``metrics.detail_ratio`` on the whole
image and on the crop, the smallest-possible flag, the crop box and where its
tile sits on the sheet).
"""
from __future__ import annotations

import json
import math
import platform
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Callable, List, Optional

import numpy as np
import typer
from PIL import Image, ImageDraw, ImageFont

from ..cli_common import new_app, run_app

app = new_app()

# (Kodak image, top-left corner of the crop). Chosen for texture that extreme-rate codecs
# struggle with: fine structure and text (kodim05: spokes, tyre tread, "SUZUKI"/"CR 250"),
# foliage, pebbles and white water (kodim13), small faces, water and lettering (kodim14),
# feathers and an eye (kodim23). Corners are clamped so that the crop stays inside the image.
CROPS = [("kodim05", (128, 192)), ("kodim13", (360, 180)), ("kodim14", (384, 200)), ("kodim23", (400, 120))]

# Column order of the classical codecs, their short names on the sheet, and how far their
# settings can be pushed beyond the usual sweep: (lowest-rate setting, highest-rate setting,
# integer?). For JPEG XL (distance) and JPEG 2000 (compression ratio) a larger value is a
# smaller file; for the qualities a smaller one.
CLASSICAL = ["jpeg", "webp", "avif", "jpegxl", "jpeg2000"]
SHORT = {"jpeg": "JPEG", "webp": "WebP", "avif": "AVIF", "jpegxl": "JPEG XL", "jpeg2000": "JPEG 2000"}
PARAM_SHORT = {"jpeg": "q", "webp": "q", "avif": "q", "jpegxl": "d", "jpeg2000": "ratio "}
RANGE = {"jpeg": (1, 100, True), "webp": (0, 100, True), "avif": (0, 100, True),
         "jpegxl": (25.0, 0.1, False), "jpeg2000": (20000.0, 2.0, False)}
FLOAT_STEPS = 14          # bisection steps for the continuous settings
FLOAT_TOLERANCE = 0.003   # stop once the file is within 0.3 % above the target

# Sheet layout (pixels)
MARGIN = 10
GAP = 8
MIN_COLUMN = 200          # columns are at least this wide so that captions fit; crops are centred
CAPTION_LINES = 5
FONT_SIZE = 13


@dataclass
class Encoded:
    param: object
    data: bytes


def _classical_codecs() -> list:
    from . import codecs
    out = []
    for name in CLASSICAL:
        c = getattr(codecs, name)()
        if c is not None:
            out.append(c)
    return out


def _finite(x: Optional[float]) -> Optional[float]:
    return None if x is None or not math.isfinite(x) else float(x)


def _font(size: int = FONT_SIZE, bold: bool = False):
    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    for folder in (Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/dejavu"),
                   Path("/usr/share/fonts/TTF")):
        if (folder / name).exists():
            return ImageFont.truetype(str(folder / name), size)
    try:
        return ImageFont.load_default(size)
    except TypeError:      # Pillow < 10.1
        return ImageFont.load_default()


def match_size(encode: Callable[[object], bytes], sweep: list, target: int, lowest, highest,
               integer: bool) -> tuple[Encoded, bool]:
    """The setting whose file is the smallest one of at least ``target`` bytes.

    ``sweep`` runs from low rate to high rate; ``lowest``/``highest`` are the extreme
    settings (lowest and highest rate). Returns the chosen file and whether it is only the
    codec's smallest possible file (larger than ``target``). If even the highest-rate
    setting stays below ``target``, that largest file is returned (flag False)."""
    sizes: dict = {}

    def size(p) -> int:
        if p not in sizes:
            sizes[p] = encode(p)
        return len(sizes[p])

    points = [lowest] + [p for p in sweep if p != lowest and p != highest] + [highest]
    below = above = None
    for p in points:
        if size(p) >= target:
            above = p
            break
        below = p
    if above is None:                           # even the largest file is smaller than ours
        return Encoded(highest, sizes[highest]), False
    if below is None:                           # even the smallest file is at least as large
        return Encoded(lowest, sizes[lowest]), size(lowest) > target
    if integer:
        while abs(above - below) > 1:
            mid = (below + above) // 2
            if size(mid) >= target:
                above = mid
            else:
                below = mid
    else:
        for _ in range(FLOAT_STEPS):
            if size(above) <= target * (1 + FLOAT_TOLERANCE):
                break
            mid = round(math.sqrt(below * above), 3)
            if mid in (below, above):
                break
            if size(mid) >= target:
                above = mid
            else:
                below = mid
    # the sizes need not be exactly monotonic in the setting: take the smallest file ≥ target tried
    best = min((p for p in sizes if len(sizes[p]) >= target), key=lambda p: (len(sizes[p]), p != above))
    return Encoded(best, sizes[best]), False


def _crop_box(shape: tuple, corner: tuple, crop: int) -> tuple[int, int, int, int]:
    h, w = shape[:2]
    if crop > min(h, w):
        raise ValueError(f"crop {crop} is larger than the image ({w}×{h})")
    x, y = min(max(0, corner[0]), w - crop), min(max(0, corner[1]), h - crop)
    return x, y, x + crop, y + crop


def _measure(ref: np.ndarray, out: np.ndarray, box: tuple) -> dict:
    """PSNR and MS-SSIM on the whole image; the detail ratio on the whole image and on the crop shown."""
    from .metrics import detail_ratio, msssim_rgb, psnr
    if out.shape != ref.shape:
        raise ValueError(f"decoded shape {out.shape} differs from the original {ref.shape}")
    x0, y0, x1, y1 = box
    return {"psnr": _finite(psnr(ref, out)), "msssim": msssim_rgb(ref, out),
            "detail": detail_ratio(ref, out), "detail_crop": detail_ratio(ref[y0:y1, x0:x1], out[y0:y1, x0:x1])}


def _fmt_param(name: str, param) -> str:
    if isinstance(param, float):
        param = f"{param:g}"
    return f"{PARAM_SHORT.get(name, '')}{param}"


def build_sheet(entries: list[dict], images_dir: Path, out_dir: Path, crop: int = 256) -> dict:
    """Encode, match, measure and draw; writes ``sheet.png`` and ``sheet.json`` in ``out_dir``
    and returns what was written to the JSON. ``entries``: gzc settings, each
    ``{"label", "model", "bits", "options"}``; the classical codecs match the first."""
    from ...codec.codec import decode_bytes, encode_pixels
    if not entries:
        raise ValueError("at least one gzc entry is needed")
    images_dir, out_dir = Path(images_dir), Path(out_dir)
    classical = _classical_codecs()
    started = time.time()
    rows = []
    for name, corner in CROPS:
        path = images_dir / f"{name}.png"
        with Image.open(path) as im:
            img = np.asarray(im.convert("RGB"))
        h, w = img.shape[:2]
        box = _crop_box(img.shape, corner, crop)
        x0, y0, x1, y1 = box
        cells = [{"codec": "original", "label": "original", "crop": list(box), "tile": img[y0:y1, x0:x1]}]
        for e in entries:
            t0 = time.perf_counter()
            data = encode_pixels(img, model=e["model"], bits=int(e["bits"]), options=e.get("options"))
            t_enc = time.perf_counter() - t0
            out = decode_bytes(data).pixels
            cells.append({"codec": "gzc", "label": e["label"], "model": e["model"], "bits": int(e["bits"]),
                          "options": e.get("options"), "bytes": len(data), "bpp": len(data) * 8 / (w * h),
                          "encode_s": round(t_enc, 3), "crop": list(box), **_measure(img, out, box),
                          "tile": out[y0:y1, x0:x1]})
        target = cells[1]["bytes"]
        for codec in classical:
            lowest, highest, integer = RANGE[codec.name]
            enc, flag = match_size(lambda p, c=codec: c.encode(img, p), list(codec.params), target,
                                   lowest, highest, integer)
            out = codec.decode(enc.data)
            cells.append({"codec": codec.name, "label": SHORT[codec.name], "param_name": codec.param_name,
                          "param": enc.param, "bytes": len(enc.data), "bpp": len(enc.data) * 8 / (w * h),
                          "smallest_possible": flag, "below_target": len(enc.data) < target,
                          "crop": list(box), **_measure(img, out, box), "tile": out[y0:y1, x0:x1]})
        rows.append({"image": name, "width": w, "height": h, "cells": cells})
        print(f"{name}: gzc {target} B; " + ", ".join(f"{c['codec']} {c['bytes']} B" for c in cells[1 + len(entries):]),
              flush=True)

    sheet, layout = _draw(rows, entries, classical, crop)
    out_dir.mkdir(parents=True, exist_ok=True)
    sheet.save(out_dir / "sheet.png", optimize=True)
    result = {
        "meta": {"date": date.today().isoformat(), "machine": platform.processor() or platform.machine(),
                 "seconds": round(time.time() - started, 1), "crop": crop, "images_dir": str(images_dir),
                 "bpp": "whole-file bytes × 8 / pixels of the whole image",
                 "matching": "classical codecs: smallest file ≥ the first gzc entry's file (per image)",
                 "gzc": entries,
                 "classical": {c.name: {"label": c.label, "param": c.param_name, "settings": c.settings}
                               for c in classical},
                 "detail": "detail ratio = mean |Laplacian| of the decoded luma / that of the original "
                           "(1 = as much pixel-scale detail; < 1 blurred; block edges and ringing raise it "
                           "too); 'detail' on the whole image, 'detail_crop' on the crop shown",
                 "layout": layout},
        "images": [{"image": r["image"], "width": r["width"], "height": r["height"],
                    "codecs": [{k: v for k, v in c.items() if k != "tile"} for c in r["cells"]]}
                   for r in rows],
    }
    (out_dir / "sheet.json").write_text(json.dumps(result, indent=2) + "\n")
    return result


def _split_long(draw: ImageDraw.ImageDraw, word: str, font, width: int) -> list[str]:
    """A word wider than the column, cut into pieces that fit (model names can be long)."""
    pieces, piece = [], ""
    for ch in word:
        if piece and draw.textlength(piece + ch, font=font) > width:
            pieces.append(piece)
            piece = ""
        piece += ch
    return pieces + [piece]


def _wrap(draw: ImageDraw.ImageDraw, text: str, font, width: int) -> list[str]:
    lines, line = [], ""
    words = [p for w in text.split(" ") for p in _split_long(draw, w, font, width)]
    for word in words:
        trial = f"{line} {word}".strip()
        if line and draw.textlength(trial, font=font) > width:
            lines.append(line)
            line = word
        else:
            line = trial
    return lines + [line] if line else lines


def _caption(cell: dict, row: dict) -> list[str]:
    if cell["codec"] == "original":
        x0, y0, x1, y1 = cell["crop"]
        return [f"{row['image']} original", f"{row['width']}×{row['height']}, crop at ({x0}, {y0})",
                f"{x1 - x0}×{y1 - y0} px, 1:1"]
    ms = "n/a" if cell["msssim"] is None else f"{cell['msssim']:.3f}"
    ps = "inf" if cell["psnr"] is None else f"{cell['psnr']:.2f}"
    name = cell["label"] if cell["codec"] == "gzc" else f"{cell['label']} {_fmt_param(cell['codec'], cell['param'])}"
    detail = "n/a" if cell.get("detail_crop") is None else f"{cell['detail_crop']:.2f}"
    lines = [name, f"{cell['bpp']:.4f} bpp ({cell['bytes']:,} B)", f"PSNR {ps} dB, MS-SSIM {ms}",
             f"detail ratio (crop) {detail}"]
    if cell.get("smallest_possible"):
        lines.append("(smallest possible)")
    elif cell.get("below_target"):
        lines.append("(largest possible, smaller)")
    return lines


def _draw(rows: list[dict], entries: list[dict], classical: list, crop: int) -> tuple[Image.Image, dict]:
    font, bold = _font(), _font(bold=True)
    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    line_h = int(math.ceil(sum(font.getmetrics()))) + 2
    n_cols = len(rows[0]["cells"])
    col_w = max(crop, MIN_COLUMN)
    width = 2 * MARGIN + n_cols * col_w + (n_cols - 1) * GAP
    # caption lines per column, wrapped to the column width; every row gets the same height
    # (the first text is drawn in bold, so it is measured in bold: it must not run into the next column)
    wrapped = [[[_wrap(probe, t, bold if i == 0 else font, col_w) for i, t in enumerate(_caption(c, r))]
                for c in r["cells"]] for r in rows]
    captions = [[sum(parts, []) for parts in row] for row in wrapped]
    cap_lines = max(CAPTION_LINES, max(len(c) for row in captions for c in row))
    row_h = crop + 4 + cap_lines * line_h
    first = entries[0]
    title = (f"gzc {first['model']} --bits {first['bits']} on Kodak crops, against classical codecs. "
             "bpp = whole-file size (bytes) × 8 / pixels of the whole image; PSNR and MS-SSIM on the whole "
             "image; detail ratio = |Laplacian| energy of the crop relative to the original (1 = as much "
             "pixel-scale detail, < 1 blurred; block edges and ringing also raise it); crops at 1:1. Classical codecs are at the same or a larger file size than "
             f"'{first['label']}' (their smallest file ≥ it), or at their smallest possible file.")
    footer = "Settings: " + "; ".join(f"{SHORT[c.name]}: {c.settings}" for c in classical) + "."
    title_lines = _wrap(probe, title, bold, width - 2 * MARGIN)
    footer_lines = _wrap(probe, footer, font, width - 2 * MARGIN)
    top = MARGIN + len(title_lines) * line_h + GAP
    height = top + len(rows) * row_h + (len(rows) - 1) * GAP + GAP + len(footer_lines) * line_h + MARGIN
    sheet = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(sheet)
    for i, line in enumerate(title_lines):
        draw.text((MARGIN, MARGIN + i * line_h), line, font=bold, fill="black")
    for r, (row, caps) in enumerate(zip(rows, captions)):
        y = top + r * (row_h + GAP)
        for c, (cell, lines) in enumerate(zip(row["cells"], caps)):
            n_bold = len(wrapped[r][c][0])
            x = MARGIN + c * (col_w + GAP)
            tile = np.ascontiguousarray(cell["tile"])
            tx = x + (col_w - tile.shape[1]) // 2
            sheet.paste(Image.fromarray(tile), (tx, y))
            cell["tile_xy"] = [tx, y]
            colour = (170, 0, 0) if cell.get("smallest_possible") or cell.get("below_target") else "black"
            for k, line in enumerate(lines):
                draw.text((x, y + crop + 4 + k * line_h), line, font=bold if k < n_bold else font,
                          fill=colour if k == len(lines) - 1 and colour != "black" else "black")
    fy = top + len(rows) * row_h + (len(rows) - 1) * GAP + GAP
    for i, line in enumerate(footer_lines):
        draw.text((MARGIN, fy + i * line_h), line, font=font, fill=(60, 60, 60))
    layout = {"columns": [c["label"] for c in rows[0]["cells"]], "column_width": col_w, "gap": GAP,
              "margin": MARGIN, "top": top, "row_height": row_h, "size": [width, height]}
    return sheet, layout


@app.command()
def main_command(
    model: str = typer.Option(..., help="gzc model name (e.g. ae-factorized-v1, gen-…)"),
    bits: int = typer.Option(..., help="gzc --bits"),
    channels: Optional[List[int]] = typer.Option(None, help="latent channels (options {'channels': C}); "
                                                 "repeat for several gzc columns; the first is matched"),
    images: Path = typer.Option(Path("../shared/data/kodak"), help="folder with kodimNN.png"),
    out: Path = typer.Option(Path("bench/results/extreme"), help="output folder"),
    crop: int = typer.Option(256, help="crop side in pixels"),
    also: Optional[List[str]] = typer.Option(None, help="more gzc models, one column each, at the same --bits "
                                             "and first --channels (e.g. the same codes decoded by another "
                                             "generator); repeatable"),
    threads: int = typer.Option(2, help="torch threads"),
    effort: int = typer.Option(0, help="gzc --effort for every gzc column (latent refinement)"),
) -> None:
    import torch
    torch.set_num_threads(threads)
    def entry(name: str, c: Optional[int]) -> dict:
        options = {k: v for k, v in (("channels", c), ("effort", effort)) if v}
        return {"label": f"gzc {name} b{bits}" + (f" C{c}" if c else "") + (f" e{effort}" if effort else ""),
                "model": name, "bits": bits, "options": options or None}
    counts = channels or [None]
    entries = [entry(model, c) for c in counts] + [entry(other, counts[0]) for other in also or []]
    result = build_sheet(entries, images, out, crop=crop)
    print(f"wrote {out / 'sheet.png'} and {out / 'sheet.json'} in {result['meta']['seconds']} s")


def main() -> None:
    run_app(app, "gzc-bench-sheet")


if __name__ == "__main__":
    main()
