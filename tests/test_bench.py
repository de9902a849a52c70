"""gzc-bench in --quick mode gives sane, honest numbers."""
from __future__ import annotations

import io
import json
import math
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from gzc.codec.registry import find_model
from gzc.tools.bench.bdrate import bd_rate
from gzc.tools.bench.metrics import msssim_db, psnr


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("bench")
    images = root / "images"
    images.mkdir()
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:300, 0:320]
    for i in range(2):
        base = np.stack([128 + 90 * np.sin(x / (7 + i)), 128 + 80 * np.cos(y / 11), (x * y // 50) % 256], 2)
        img = np.clip(base + rng.normal(0, 6, base.shape), 0, 255).astype(np.uint8)
        Image.fromarray(img).save(images / f"img{i}.png")
    out = root / "out"
    model = find_model().name
    proc = subprocess.run([sys.executable, "-m", "gzc.tools.bench.cli", "--quick", "--images", str(images),
                           "--out", str(out), "--codecs", f"jpeg,gzc:{model}", "--repeats", "1"],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return images, out, model


def test_jpeg_bpp_is_file_size(quick_run):
    images, out, _ = quick_run
    recs = json.loads((out / "records" / "jpeg.json").read_text())["records"]
    assert recs and all(r["width"] == 256 and r["height"] == 256 for r in recs)
    img = np.asarray(Image.open(images / "img0.png").convert("RGB"))[22:278, 32:288]
    for r in (r for r in recs if r["image"] == "img0.png"):
        buf = io.BytesIO()
        Image.fromarray(img).save(buf, format="JPEG", quality=r["param"], optimize=True, subsampling=2)
        assert r["bytes"] == len(buf.getvalue())
        assert r["bpp"] == pytest.approx(len(buf.getvalue()) * 8 / (256 * 256))


def test_summary_and_report_are_consistent(quick_run):
    _, out, model = quick_run
    summary = json.loads((out / "summary.json").read_text())["codecs"]
    report = (out / "report.md").read_text()
    for codec, points in summary.items():
        by_setting = [p["bpp"] for p in sorted(points, key=lambda p: p["param"])]
        assert by_setting == sorted(by_setting) and by_setting[0] > 0     # a higher setting, a larger file
        for p in points:
            assert 10 < p["psnr"] < 60 and 0 < p["ssim"] <= 1 and 0 < p["msssim"] <= 1
            assert f"| {p['param']} | {p['bpp']:.3f} | {p['psnr']:.2f} |" in report   # the report shows it
    gzc = summary[f"gzc:{model}"]
    assert gzc[0]["psnr"] < gzc[-1]["psnr"]          # more bits, better quality
    speed = json.loads((out / "speed.json").read_text())
    assert {s["codec"] for s in speed} == {"jpeg", f"gzc:{model}"}
    assert all(s["decode_s"] > 0 and s["peak_rss_mb"] > 0 for s in speed)
    assert "Matched rate" in (out / "report.md").read_text()
    assert (out / "rd_psnr.png").stat().st_size > 1000 and (out / "rd_msssim.png").exists()
    assert (out / "rd_msssim_raw.png").exists()
    csv_lines = (out / "records.csv").read_text().splitlines()
    assert csv_lines[0].startswith("codec,param,image") and len(csv_lines) == 1 + 2 * (3 + 2)  # jpeg 3, gzc 2 points


def test_identical_image_metrics_are_handled():
    a = np.zeros((200, 200, 3), np.uint8)
    assert psnr(a, a) == math.inf
    assert msssim_db(1.0) == math.inf


def test_bd_rate_basic_properties():
    rate = np.array([0.1, 0.2, 0.4, 0.8])
    quality = np.array([25.0, 28.0, 31.0, 34.0])
    assert bd_rate(rate, quality, rate, quality) == pytest.approx(0, abs=1e-9)
    assert bd_rate(rate, quality, rate / 2, quality) == pytest.approx(-50, abs=1e-6)
    assert bd_rate(rate, quality, rate[:3], quality[:3]) is None     # too few points
    assert bd_rate(rate, quality, rate, quality + 100) is None        # no overlap


def test_extreme_rate_sheet(tmp_path, monkeypatch):
    """gzc-bench-sheet: classical files are ≥ the gzc file (or flagged), bpp is the whole file, tiles are 1:1."""
    from gzc.tools.bench import sheet

    images = tmp_path / "images"
    images.mkdir()
    rng = np.random.default_rng(1)
    y, x = np.mgrid[0:96, 0:128]
    smooth = np.stack([128 + 90 * np.sin(x / 5), 128 + 80 * np.cos(y / 9), (x * y // 40) % 256], 2)
    smooth = np.clip(smooth + rng.normal(0, 8, smooth.shape), 0, 255).astype(np.uint8)
    blocks = rng.integers(0, 256, (12, 16, 3)).repeat(8, 0).repeat(8, 1).astype(np.uint8)  # costly for gzc
    for i, img in enumerate((smooth, blocks)):
        Image.fromarray(img).save(images / f"img{i}.png")
    monkeypatch.setattr(sheet, "CROPS", [("img0", (10, 20)), ("img1", (100, 50))])   # the second is clamped
    entries = [{"label": "gzc ae b4", "model": "ae-factorized-v1", "bits": 4, "options": None}]
    out = tmp_path / "out"
    result = sheet.build_sheet(entries, images, out, crop=64)

    saved = json.loads((out / "sheet.json").read_text())
    assert saved == json.loads(json.dumps(result))
    classical = [c for c in sheet.CLASSICAL if c in saved["meta"]["classical"]]
    assert {"jpeg", "webp", "avif", "jpeg2000"} <= set(classical)
    layout = saved["meta"]["layout"]
    col_w, gap, margin = layout["column_width"], layout["gap"], layout["margin"]
    n_cols = 2 + len(classical)
    assert layout["columns"] == ["original", "gzc ae b4"] + [sheet.SHORT[c] for c in classical]
    png = Image.open(out / "sheet.png")
    assert png.size == tuple(layout["size"])
    assert png.width == 2 * margin + n_cols * col_w + (n_cols - 1) * gap
    assert png.height > layout["top"] + 2 * layout["row_height"] + gap
    pixels = np.asarray(png.convert("RGB"))
    assert [im["image"] for im in saved["images"]] == ["img0", "img1"]
    for r, im in enumerate(saved["images"]):
        cells = im["codecs"]
        assert [c["codec"] for c in cells] == ["original", "gzc"] + classical
        x0, y0, x1, y1 = cells[0]["crop"]
        assert (x1 - x0, y1 - y0) == (64, 64) and 0 <= x0 and x1 <= 128 and 0 <= y0 and y1 <= 96
        for c, cell in enumerate(cells):                  # a regular grid of 64×64 tiles
            assert cell["crop"] == [x0, y0, x1, y1]
            assert cell["tile_xy"] == [margin + c * (col_w + gap) + (col_w - 64) // 2,
                                       layout["top"] + r * (layout["row_height"] + gap)]
        tx, ty = cells[0]["tile_xy"]                      # the original crop, pasted at 1:1
        ref = np.asarray(Image.open(images / f"{im['image']}.png").convert("RGB"))
        assert np.array_equal(pixels[ty:ty + 64, tx:tx + 64], ref[y0:y1, x0:x1])
        gzc = cells[1]
        assert gzc["bpp"] == pytest.approx(gzc["bytes"] * 8 / (128 * 96)) and gzc["bytes"] > 0
        assert gzc["bits"] == 4 and gzc["model"] == "ae-factorized-v1" and 10 < gzc["psnr"] < 60
        for cell in cells[2:]:
            assert cell["bpp"] == pytest.approx(cell["bytes"] * 8 / (128 * 96))
            assert cell["bytes"] >= gzc["bytes"] or cell["smallest_possible"], cell
            if cell["smallest_possible"]:
                assert cell["bytes"] > gzc["bytes"]
            assert cell["param"] is not None and cell["psnr"] is not None and cell["msssim"] is None  # < 160 px
        for cell in cells[1:]:                            # the detail ratio of the crop shown
            from gzc.tools.bench.metrics import detail_ratio
            tx, ty = cell["tile_xy"]
            assert cell["detail_crop"] == pytest.approx(detail_ratio(ref[y0:y1, x0:x1], pixels[ty:ty + 64, tx:tx + 64]))
            assert cell["detail"] > 0
    assert any(c["smallest_possible"] for c in saved["images"][0]["codecs"][2:])      # tiny gzc file
    # on the blocks the JPEG setting is searched: its file reproduces, one quality lower is below gzc
    from gzc.tools.bench.codecs import jpeg as jpeg_codec
    cells = saved["images"][1]["codecs"]
    jpeg = next(c for c in cells if c["codec"] == "jpeg")
    assert not jpeg["smallest_possible"] and jpeg["param"] > 1
    ref = np.asarray(Image.open(images / "img1.png").convert("RGB"))
    assert len(jpeg_codec().encode(ref, jpeg["param"])) == jpeg["bytes"]
    assert len(jpeg_codec().encode(ref, jpeg["param"] - 1)) < cells[1]["bytes"]


def test_detail_ratio():
    """1 for the original, < 1 for a blurred copy, > 1 with added noise, None where nothing is to keep."""
    from PIL import ImageFilter
    from gzc.tools.bench.metrics import detail_ratio
    rng = np.random.default_rng(3)
    img = np.clip(128 + rng.normal(0, 40, (64, 80, 3)), 0, 255).astype(np.uint8)
    assert detail_ratio(img, img) == pytest.approx(1.0)
    blurred = np.asarray(Image.fromarray(img).filter(ImageFilter.GaussianBlur(1.5)))
    assert detail_ratio(img, blurred) < 0.5
    noisy = np.clip(img.astype(int) + rng.normal(0, 30, img.shape), 0, 255).astype(np.uint8)
    assert detail_ratio(img, noisy) > 1.2
    flat = np.full((16, 16, 3), 77, np.uint8)
    assert detail_ratio(flat, img[:16, :16]) is None and detail_ratio(img[:2, :2], img[:2, :2]) is None


def test_sheet_size_matching():
    from gzc.tools.bench.sheet import match_size

    def ints(q):                          # a quality: file grows with q, with a plateau
        return b"x" * (100 + 10 * (q // 2) * 2)
    enc, flag = match_size(ints, [0, 20, 50, 100], 345, 0, 100, True)
    assert (len(enc.data), flag) == (360, False) and enc.param == 26
    enc, flag = match_size(ints, [0, 20, 50, 100], 50, 0, 100, True)
    assert (enc.param, flag) == (0, True)                        # even the smallest file is larger
    enc, flag = match_size(lambda d: b"x" * int(10000 / d), [25.0, 5.0, 1.0], 1234, 25.0, 0.1, False)
    assert 1234 <= len(enc.data) <= 1234 * 1.01 and not flag     # a distance: larger = smaller file


def test_sheet_cli_columns(monkeypatch, tmp_path):
    """--channels adds columns of the same model, --also the same setting of other models."""
    from typer.testing import CliRunner
    from gzc.tools.bench import sheet
    seen = {}

    def fake_build(entries, images, out, crop):
        seen["entries"] = entries
        return {"meta": {"seconds": 0}}
    monkeypatch.setattr(sheet, "build_sheet", fake_build)
    result = CliRunner().invoke(sheet.app, ["--model", "gen-a", "--bits", "3", "--channels", "8", "--channels", "4",
                                            "--also", "gen-b", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert [(e["label"], e["model"], e["options"]) for e in seen["entries"]] == [
        ("gzc gen-a b3 C8", "gen-a", {"channels": 8}), ("gzc gen-a b3 C4", "gen-a", {"channels": 4}),
        ("gzc gen-b b3 C8", "gen-b", {"channels": 8})]
    result = CliRunner().invoke(sheet.app, ["--model", "gen-a", "--bits", "4", "--channels", "16", "--effort", "2",
                                            "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert [(e["label"], e["options"]) for e in seen["entries"]] == [("gzc gen-a b4 C16 e2",
                                                                      {"channels": 16, "effort": 2})]


def test_sheet_captions_stay_in_their_column():
    """A long model name (drawn in bold) wraps instead of running into the next column (a bug)."""
    from gzc.tools.bench import sheet
    tile = np.full((64, 64, 3), 128, np.uint8)
    long = "gzc ae-generative-agustsson-v1 b3 C8 with a long-winded-name-that-must-wrap"
    cells = [{"codec": "original", "label": "original", "crop": [0, 0, 64, 64], "tile": tile}] + [
        {"codec": "gzc", "label": long, "bpp": 0.07, "bytes": 3000, "psnr": 22.0, "msssim": 0.8,
         "detail_crop": 0.5, "crop": [0, 0, 64, 64], "tile": tile} for _ in range(2)]
    rows = [{"image": "img", "width": 64, "height": 64, "cells": cells}]
    img, layout = sheet._draw(rows, [{"label": long, "model": "m", "bits": 3}], [], 64)
    px = np.asarray(img.convert("L"))
    for c in (1, 2):                                  # the gaps right of the two gzc columns
        x = layout["margin"] + c * layout["column_width"] + (c - 1) * layout["gap"]
        gap = px[layout["top"]:layout["top"] + layout["row_height"], x + 1:x + layout["gap"] - 1]
        assert gap.min() == 255, f"text runs into the gap after column {c}"


def test_refined_variants_are_found_by_name(photo):
    """gzc:MODEL@eN is that model encoded with --effort N; it is never in the default sweep."""
    from gzc.codec.codec import encode_pixels
    from gzc.tools.bench.codecs import all_codecs, find_codec
    model = find_model().name
    available = all_codecs()
    assert not any("@e" in name for name in available)
    refined = find_codec(f"gzc:{model}@e1", available)
    assert refined is not None and refined.name == f"gzc:{model}@e1" and "--effort 1" in refined.label
    small = np.ascontiguousarray(photo[:48, :64])
    assert refined.encode(small, 6) == encode_pixels(small, bits=6, options={"effort": 1})
    for bad in (f"gzc:{model}@e0", f"gzc:{model}@e9", f"gzc:{model}@ex", "gzc:no-such-model@e1", "jpeg@e1"):
        assert find_codec(bad, available) is None
    assert find_codec("jpeg", available) is available["jpeg"]


def test_partial_sweep_keeps_other_settings(quick_run, tmp_path):
    """--params re-measures some settings of a codec and keeps its other records."""
    import shutil
    images, quick_out, _ = quick_run
    out = tmp_path / "out"
    shutil.copytree(quick_out, out)
    for params in ("5", "30"):
        proc = subprocess.run([sys.executable, "-m", "gzc.tools.bench.cli", "--images", str(images), "--out",
                               str(out), "--codecs", "jpeg", "--params", params, "--no-speed"],
                              capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr[-2000:]
    records = json.loads((out / "records" / "jpeg.json").read_text())["records"]
    assert sorted({r["param"] for r in records}) == [5, 30, 75]
    assert {r["width"] for r in records if r["param"] in (5, 30)} == {320}    # full images, not quick crops
    proc = subprocess.run([sys.executable, "-m", "gzc.tools.bench.cli", "--images", str(images), "--out", str(out),
                           "--codecs", "jpeg", "--params", "7", "--no-speed"], capture_output=True, text=True)
    assert proc.returncode != 0 and "none is a setting of jpeg" in proc.stderr


def test_report_writes_the_readme_summary_and_the_docs_pages(quick_run, tmp_path):
    """gzc-bench --readme regenerates the README's short block and the results page beside it,
    each with links relative to its own folder; text outside the markers is kept."""
    from gzc.tools.bench.cli import build_report
    _, out, model = quick_run
    (tmp_path / "docs").mkdir()
    readme, page = tmp_path / "README.md", tmp_path / "docs" / "results.md"
    readme.write_text("intro\n<!-- bench-summary:start -->\nSTALE-TEXT\n<!-- bench-summary:end -->\noutro\n")
    page.write_text("# Results\n<!-- bench:start -->\nSTALE-TEXT\n<!-- bench:end -->\n")
    build_report(out, [], readme)
    text, full = readme.read_text(), page.read_text()
    assert text.startswith("intro\n") and text.endswith("outro\n") and "STALE-TEXT" not in text + full
    link = os.path.relpath(out, tmp_path)
    assert f"![PSNR vs bpp]({link}/rd_psnr.png)" in text and "(docs/results.md)" in text
    assert f"![PSNR vs bpp]({os.path.relpath(out, tmp_path / 'docs')}/rd_psnr.png)" in full
    assert f"gzc {model}" in text and f"gzc {model}" in full    # the same codecs on both pages
