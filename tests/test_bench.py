"""gzc-bench in --quick mode gives sane, honest numbers."""
from __future__ import annotations

import io
import json
import math
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
    for codec, points in summary.items():
        bpps = [p["bpp"] for p in points]
        assert bpps == sorted(bpps) and all(b > 0 for b in bpps)
        for p in points:
            assert 10 < p["psnr"] < 60 and 0 < p["ssim"] <= 1 and 0 < p["msssim"] <= 1
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
