"""The extreme-rate comparison interpolates measured curves and never extrapolates."""
from __future__ import annotations

import math

import pytest

from gzc.tools.bench import extreme
from gzc.tools.bench.codecs import generative_setting


def _pt(param, bpp, msssim, psnr):
    return {"param": param, "bpp": bpp, "msssim": msssim, "psnr": psnr}


REF = [_pt(1, 0.05, 0.80, 24.0), _pt(5, 0.10, 0.90, 26.0), _pt(10, 0.20, 0.95, 28.0)]


def test_value_at_bpp_is_log_linear_and_bounded():
    assert extreme.value_at_bpp(REF, "psnr", 0.10) == pytest.approx(26.0)
    mid = math.sqrt(0.05 * 0.10)                       # halfway in log-bpp
    assert extreme.value_at_bpp(REF, "msssim", mid) == pytest.approx(0.85)
    assert extreme.value_at_bpp(REF, "msssim", 0.04) is None    # below its smallest file
    assert extreme.value_at_bpp(REF, "msssim", 0.30) is None


def test_bpp_for_value_cases():
    bpp, how = extreme.bpp_for_value(REF, "msssim", 0.925)
    assert how == "interpolated" and bpp == pytest.approx(math.sqrt(0.10 * 0.20))
    assert extreme.bpp_for_value(REF, "msssim", 0.70) == (0.05, "at most")
    assert extreme.bpp_for_value(REF, "msssim", 0.99) == (None, "unreachable")


def test_compare_reports_each_generative_point_below_the_limit():
    summary = {"avif": REF, "gzc:gen": [_pt("c2b3", 0.03, 0.75, 22.0), _pt("c8b3", 0.07, 0.88, 24.5),
                                         _pt("c16b3", 0.3, 0.95, 27.0)]}
    out = extreme.compare(summary, max_bpp=0.2)
    rows = out["gzc:gen"]
    assert [r["param"] for r in rows] == ["c2b3", "c8b3"]   # 0.3 bpp is not extreme
    ref = rows[1]["refs"]["avif"]
    assert ref["how_msssim"] == "interpolated" and 0.05 < ref["bpp_for_equal_msssim"] < 0.10
    assert ref["psnr_at_our_bpp"] is not None and rows[0]["refs"]["avif"]["psnr_at_our_bpp"] is None
    md = extreme.markdown(out, {"avif": "AVIF"})
    assert "c8b3" in md and "AVIF" in md and "c16b3" not in md


def test_detail_table_only_with_detail_and_interpolated_at_our_bpp():
    ref = [dict(p, detail=d) for p, d in zip(REF, (0.40, 0.60, 0.80))]
    summary = {"avif": ref, "gzc:gen": [dict(_pt("c8b3", math.sqrt(0.05 * 0.10), 0.88, 24.5), detail=0.93)]}
    rows = extreme.compare(summary)["gzc:gen"]
    assert rows[0]["detail"] == 0.93 and rows[0]["refs"]["avif"]["detail_at_our_bpp"] == pytest.approx(0.50)
    md = extreme.markdown(extreme.compare(summary), {"avif": "AVIF"})
    assert "| c8b3 | 0.071 | 0.93 | 0.50 |" in md
    old = {"avif": REF, "gzc:gen": [_pt("c8b3", 0.07, 0.88, 24.5)]}   # records from before the metric
    assert "Detail ratio" not in extreme.markdown(extreme.compare(old), {})


def test_generative_models_only_and_side_by_side():
    """Without references no empty columns; two generative models get a side-by-side table."""
    a = [dict(_pt("c4b3", 0.04, 0.78, 22.5), detail=0.12), dict(_pt("c8b3", 0.07, 0.84, 23.6), detail=0.15)]
    b = [dict(_pt("c8b3", 0.07, 0.83, 23.1), detail=0.53)]
    md = extreme.markdown(extreme.compare({"gzc:a": a, "gzc:b": b}), {"gzc:a": "A", "gzc:b": "B"})
    assert "|  |" not in md and "| setting | bpp | PSNR dB | MS-SSIM |\n|---|---|---|---|\n" in md
    assert "| c8b3 | 0.070 · 23.60 · 0.8400 · 0.15 | 0.070 · 23.10 · 0.8300 · 0.53 |" in md
    assert "| c4b3 | 0.040 · 22.50 · 0.7800 · 0.12 | – |" in md
    assert "side by side" not in extreme.markdown(extreme.compare({"gzc:a": a}), {})


def test_readme_block_is_short_with_several_models():
    a = [dict(_pt("c8b3", 0.07, 0.84, 23.6), detail=0.15)]
    summary = {"avif": REF, "gzc:a": a, "gzc:b": [dict(_pt("c8b3", 0.07, 0.83, 23.1), detail=0.53)]}
    block = extreme.readme_block(extreme.compare(summary), {}, "bench/x")
    assert "side by side" in block and "bench/x/extreme.md" in block and "bench/x/rd_extreme_psnr.png" in block
    assert "bpp for equal MS-SSIM · at our bpp |" not in block          # the wide tables stay in extreme.md
    single = extreme.readme_block(extreme.compare({"avif": REF, "gzc:a": a}), {}, "bench/x")
    assert "bpp for equal MS-SSIM · at our bpp |" in single


def test_generative_setting_names():
    assert generative_setting("c16b2") == (16, 2)


def test_bd_rate_uses_the_upper_envelope_of_a_generative_model():
    from gzc.tools.bench.report import upper_envelope
    points = [_pt("c8b3", 0.07, 0.84, 23.6), _pt("c16b2", 0.09, 0.83, 22.8), _pt("c16b3", 0.13, 0.88, 24.5),
              _pt("c4b3", 0.04, 0.78, 22.5), _pt("c8b2", 0.05, 0.79, 22.2)]
    assert [p["param"] for p in upper_envelope(points, "msssim")] == ["c4b3", "c8b2", "c8b3", "c16b3"]
    assert [p["param"] for p in upper_envelope(points, "psnr")] == ["c4b3", "c8b3", "c16b3"]
    assert len(upper_envelope(REF, "psnr")) == len(REF)      # a one-knob codec keeps every point
