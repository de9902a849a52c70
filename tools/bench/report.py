"""Summaries, matched-rate tables, BD-rates, paper-style tables and plots.

Means over images are arithmetic means of per-image values (bpp, PSNR,
MS-SSIM …), the convention of CompressAI and most learned-compression papers.
Images decoded losslessly (infinite PSNR) are left out of PSNR means and
counted in ``psnr_inf``.
"""
from __future__ import annotations

import math
from collections import defaultdict

import numpy as np

from .bdrate import bd_rate

TARGETS = (0.05, 0.1, 0.2, 0.4)


def _mean(values):
    vals = [v for v in values if v is not None and math.isfinite(v)]
    return float(np.mean(vals)) if vals else None


def summarise(records: list[dict]) -> dict:
    """codec → list of points (one per parameter) with mean metrics over images."""
    by = defaultdict(lambda: defaultdict(list))
    for r in records:
        by[r["codec"]][r["param"]].append(r)
    out = {}
    for codec, params in by.items():
        points = []
        for p, rs in params.items():
            points.append({
                "param": p, "images": len(rs),
                "bpp": _mean(r["bpp"] for r in rs), "bytes": _mean(r["bytes"] for r in rs),
                "ratio": _mean(r["ratio"] for r in rs),
                "psnr": _mean(r["psnr"] for r in rs),
                "psnr_inf": sum(1 for r in rs if r["psnr"] is None or not math.isfinite(r["psnr"])),
                "mse": _mean(r["mse"] for r in rs), "ssim": _mean(r["ssim"] for r in rs),
                "msssim": _mean(r["msssim"] for r in rs), "msssim_db": _mean(r["msssim_db"] for r in rs),
                "detail": _mean(r.get("detail") for r in rs),     # absent in records older than the metric
                "encode_s": _mean(r["encode_s"] for r in rs), "decode_s": _mean(r["decode_s"] for r in rs),
            })
        out[codec] = sorted(points, key=lambda q: q["bpp"])
    return out


def matched_rate(records: list[dict], targets=TARGETS) -> dict:
    """Per codec and target: per image, the encoding closest in bpp; means of those."""
    by = defaultdict(lambda: defaultdict(list))
    for r in records:
        by[r["codec"]][r["image"]].append(r)
    out = {}
    for codec, images in by.items():
        out[codec] = {}
        for t in targets:
            picks = [min(rs, key=lambda r: abs(r["bpp"] - t)) for rs in images.values()]
            out[codec][str(t)] = {"bpp": _mean(p["bpp"] for p in picks), "psnr": _mean(p["psnr"] for p in picks),
                                  "msssim": _mean(p["msssim"] for p in picks),
                                  "ssim": _mean(p["ssim"] for p in picks), "images": len(picks),
                                  "max_abs_gap": max(abs(p["bpp"] - t) for p in picks)}
    return out


def upper_envelope(points: list[dict], key: str) -> list[dict]:
    """The points no cheaper point beats on ``key``: a generative model's settings (channels ×
    bits) are not one curve (16 channels at 2 bits is both larger and worse than 8 at 3 bits),
    and a BD-rate needs one; for a one-knob codec this keeps every point."""
    out, best = [], -math.inf
    for p in sorted(points, key=lambda q: q["bpp"]):
        value = p[key] if p[key] is not None else math.nan
        if value > best:
            out.append(p)
            best = value
    return out


def bd_rates(summary: dict) -> dict:
    """BD-rate (%) of each gzc codec against each classical codec, on PSNR and on MS-SSIM (dB),
    each gzc model taken on its upper envelope (see :func:`upper_envelope`)."""
    out = {}
    for test, points in summary.items():
        if not test.startswith("gzc:"):
            continue
        out[test] = {}
        for ref, rp in summary.items():
            if ref.startswith("gzc:"):
                continue
            row = {}
            for key in ("psnr", "msssim_db"):
                tp = upper_envelope(points, key)
                row[key] = bd_rate([p["bpp"] for p in rp], [p[key] or math.nan for p in rp],
                                   [p["bpp"] for p in tp], [p[key] or math.nan for p in tp])
            out[test][ref] = row
    return out


CSV_FIELDS = ("codec", "param", "image", "width", "height", "bytes", "bpp", "ratio", "psnr", "mse", "ssim",
              "msssim", "msssim_db", "detail", "encode_s", "decode_s")


def is_generative(points: list[dict]) -> bool:
    """Generative models are swept over named settings (``c8b3``), the others over numbers."""
    return bool(points) and isinstance(points[0]["param"], str)


def write_csv(records: list[dict], path) -> None:
    """Per-image records as CSV (infinite PSNR written as 'inf')."""
    import csv
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=CSV_FIELDS, extrasaction="ignore")
        w.writeheader()
        for r in records:
            w.writerow({k: ("inf" if r.get(k) is None and k in ("psnr", "msssim_db") else r.get(k))
                        for k in CSV_FIELDS})


def fmt(v, spec=".2f"):
    return "–" if v is None else format(v, spec)


def markdown(summary: dict, matched: dict, bd: dict, labels: dict, speed: list | None = None) -> str:
    lines = ["### Rate–distortion (mean over images)", "",
             "| codec | setting | bpp | PSNR dB | MS-SSIM | SSIM | ratio |", "|---|---|---|---|---|---|---|"]
    for codec, points in summary.items():
        for p in points:
            lines.append(f"| {labels.get(codec, codec)} | {p['param']} | {p['bpp']:.3f} | {fmt(p['psnr'])} | "
                         f"{fmt(p['msssim'], '.4f')} | {fmt(p['ssim'], '.4f')} | {p['ratio']:.0f}:1 |")
    lines += ["", "### Matched rate (per image, the encoding closest to the target)", "",
              "| codec | " + " | ".join(f"≈{t} bpp: bpp / PSNR / MS-SSIM" for t in TARGETS) + " |",
              "|---|" + "---|" * len(TARGETS)]
    for codec, row in matched.items():
        cells = [f"{fmt(row[str(t)]['bpp'], '.3f')} / {fmt(row[str(t)]['psnr'])} / "
                 f"{fmt(row[str(t)]['msssim'], '.3f')}" for t in TARGETS]
        lines.append(f"| {labels.get(codec, codec)} | " + " | ".join(cells) + " |")
    if bd:
        lines += ["", "### BD-rate of gzc vs each codec (negative = gzc needs fewer bits)", "",
                  "| gzc model | vs | BD-rate (PSNR) | BD-rate (MS-SSIM dB) |", "|---|---|---|---|"]
        for test, refs in bd.items():
            for ref, v in refs.items():
                lines.append(f"| {labels.get(test, test)} | {labels.get(ref, ref)} | "
                             f"{fmt(v['psnr'], '+.1f')}% | {fmt(v['msssim_db'], '+.1f')}% |")
    if speed:
        lines += ["", "### Speed and memory (one process per codec, median of repeats)", "",
                  "| codec | setting | image | encode s | decode s | decode MPix/s | peak RSS MB (whole process) "
                  "| of which codec MB | torch threads |",
                  "|---|---|---|---|---|---|---|---|---|"]
        for s in speed:
            lines.append(f"| {labels.get(s['codec'], s['codec'])} | {s['param']} | {s['width']}×{s['height']} | "
                         f"{s['encode_s']:.3f} | {s['decode_s']:.3f} | {s['decode_mpix_s']:.2f} | "
                         f"{s['peak_rss_mb']:.0f} | {s['peak_rss_mb'] - s['rss_before_codec_mb']:.0f} | "
                         f"{s['torch_threads'] or '–'} |")
    return "\n".join(lines) + "\n"


def paper_tables(summary: dict, labels: dict) -> str:
    """The seed papers' layouts: 'Generative Compression' Table 1 and 'GAN Reversal'."""
    lines = ["### Layout of \"Generative Compression\" (Santurkar et al.), Table 1", "",
             "| method | SSIM | PSNR dB | compression ratio |", "|---|---|---|---|"]
    for codec, points in summary.items():
        if codec.startswith("gzc:") and not is_generative(points):
            for p in sorted(points, key=lambda q: -q["param"]):
                if p["param"] in (8, 6, 4):
                    lines.append(f"| {labels.get(codec, codec)}, {p['param']} bits | {fmt(p['ssim'], '.3f')} | "
                                 f"{fmt(p['psnr'])} | {p['ratio']:.0f}× |")
    for p in summary.get("jpeg", []):
        if p["param"] == 1:
            lines.append(f"| JPEG quality 1 | {fmt(p['ssim'], '.3f')} | {fmt(p['psnr'])} | {p['ratio']:.0f}× |")
    lines += ["", "### Layout of \"GAN Reversal\" (BPP, PSNR, MSE, SSIM)", "",
              "| method | BPP | PSNR dB | MSE | SSIM |", "|---|---|---|---|---|"]
    for p in summary.get("jpeg", []):
        if p["param"] in (10, 1):
            lines.append(f"| JPEG {p['param']}% | {p['bpp']:.3f} | {fmt(p['psnr'])} | {fmt(p['mse'], '.1f')} | "
                         f"{fmt(p['ssim'], '.3f')} |")
    for codec, points in summary.items():
        if codec.startswith("gzc:"):
            unit = "" if is_generative(points) else " bits"
            for p in points:
                lines.append(f"| {labels.get(codec, codec)}, {p['param']}{unit} | {p['bpp']:.3f} | {fmt(p['psnr'])} | "
                             f"{fmt(p['mse'], '.1f')} | {fmt(p['ssim'], '.3f')} |")
    return "\n".join(lines) + "\n"


def plot(summary: dict, labels: dict, path_prefix, max_bpp: float = 1.0) -> list[str]:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paths = []
    for key, ylabel, name in (("psnr", "PSNR (dB, RGB)", "rd_psnr.png"),
                              ("msssim", "MS-SSIM", "rd_msssim_raw.png"),
                              ("msssim_db", "MS-SSIM (dB) = −10·log10(1 − MS-SSIM)", "rd_msssim.png")):
        fig, ax = plt.subplots(figsize=(7.5, 5.2), dpi=110)
        for codec, points in summary.items():
            pts = [(p["bpp"], p[key]) for p in points if p[key] is not None and p["bpp"] <= max_bpp]
            if not pts:
                continue
            xs, ys = zip(*pts)
            style = dict(lw=2.4, marker="o") if codec.startswith("gzc:") else dict(lw=1.3, marker=".", alpha=0.9)
            ax.plot(xs, ys, label=labels.get(codec, codec), **style)
        ax.set_xlabel("bits per pixel (file size × 8 / pixels)")
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
        ax.set_xlim(0, max_bpp)
        fig.tight_layout()
        out = f"{path_prefix}/{name}"
        fig.savefig(out)
        plt.close(fig)
        paths.append(out)
    return paths


def matched_table(matched: dict, labels: dict, codecs: list[str]) -> list[str]:
    """Markdown lines: per codec and target bpp, PSNR / MS-SSIM (mean bpp reached)."""
    lines = ["| codec | " + " | ".join(f"≈{t} bpp" for t in TARGETS) + " |", "|---|" + "---|" * len(TARGETS)]
    for c in codecs:
        row = matched[c]
        lines.append(f"| {labels.get(c, c)} | " + " | ".join(
            f"{fmt(row[str(t)]['psnr'])} / {fmt(row[str(t)]['msssim'], '.3f')} ({row[str(t)]['bpp']:.3f})"
            for t in TARGETS) + " |")
    return lines


def refinement(records: list[dict]) -> dict:
    """For each refining codec ``gzc:MODEL@eN`` and setting: its files against the same images'
    files of ``gzc:MODEL`` (size ratio, and MS-SSIM and PSNR differences, per image)."""
    by = {(r["codec"], r["param"], r["image"]): r for r in records}
    out = defaultdict(dict)
    for (codec, param, image), r in sorted(by.items(), key=lambda kv: str(kv[0])):
        base = by.get((codec.split("@")[0], param, image)) if "@" in codec else None
        if base is not None:
            out[codec].setdefault(str(param), []).append(
                (r["bytes"] / base["bytes"], r["msssim"] - base["msssim"], r["psnr"] - base["psnr"]))
    return {codec: {param: {"images": len(v), "size_ratio_mean": float(np.mean([x[0] for x in v])),
                            "size_ratio_min": min(x[0] for x in v), "size_ratio_max": max(x[0] for x in v),
                            "larger_files": sum(x[0] > 1 for x in v),
                            "msssim_gain_mean": float(np.mean([x[1] for x in v])), "msssim_gain_min": min(x[1] for x in v),
                            "psnr_gain_mean": float(np.mean([x[2] for x in v])), "psnr_gain_min": min(x[2] for x in v)}
                    for param, v in params.items()} for codec, params in out.items()}


def refinement_lines(refined: dict, labels: dict) -> list[str]:
    if not refined:
        return []
    lines = ["", "### Latent refinement", "",
             "Each `--effort` file against the same image's file without refinement, same model and setting "
             "(size: refined bytes / unrefined bytes; gains: refined minus unrefined):", "",
             "| codec | setting | images | size ratio mean (min–max) | files larger | MS-SSIM gain mean (min) "
             "| PSNR gain dB mean (min) |", "|---|---|---|---|---|---|---|"]
    for codec, params in refined.items():
        for param, v in params.items():
            lines.append(f"| {labels.get(codec, codec)} | {param} | {v['images']} | {v['size_ratio_mean']:.3f} "
                         f"({v['size_ratio_min']:.3f}–{v['size_ratio_max']:.3f}) | {v['larger_files']} | "
                         f"{v['msssim_gain_mean']:+.4f} ({v['msssim_gain_min']:+.4f}) | "
                         f"{v['psnr_gain_mean']:+.2f} ({v['psnr_gain_min']:+.2f}) |")
    return lines


def summary_block(summary: dict, matched: dict, labels: dict, meta: list, out, pages: str) -> str:
    """The README's short results: one table (matched rates, every codec) and the plots;
    ``pages`` is the link to the full results page."""
    gzc = [c for c in summary if c.startswith("gzc:")]
    classical = [c for c in summary if not c.startswith("gzc:")]
    images = {m["images"] for m in meta}
    lines = [f"Measured with `gzc-bench` on {', '.join(sorted(images))}: for each image the file closest "
             "to the target bpp, then means of PSNR dB / MS-SSIM (the mean bpp reached in brackets); every "
             "bpp is a real file's size × 8 / pixels, header included. All settings, BD-rates, speed and "
             f"memory: [{pages}]({pages}).", ""]
    lines += matched_table(matched, labels, gzc + classical)
    lines += ["", f"![PSNR vs bpp]({out}/rd_psnr.png)", f"![MS-SSIM vs bpp]({out}/rd_msssim.png)"]
    if any(is_generative(summary[c]) for c in gzc):
        lines.append(f"![MS-SSIM vs bpp at extreme rates]({out}/rd_extreme_msssim.png)")
    return "\n".join(lines) + "\n"


def readme_block(summary: dict, matched: dict, bd: dict, labels: dict, speed: list, meta: list, out,
                 refined: dict | None = None) -> str:
    """The results page's generated section: no figure is ever typed by hand."""
    gzc = [c for c in summary if c.startswith("gzc:")]
    classical = [c for c in summary if not c.startswith("gzc:")]
    images = {m["images"] for m in meta}
    lines = [f"Measured with `gzc-bench` on {', '.join(sorted(images))} (all 24 Kodak images unless the "
             f"folder says otherwise); every bpp is a real file's size × 8 / pixels, the `.gzc` header "
             f"included. Full output: [`{out}/report.md`]({out}/report.md), "
             f"[`paper_tables.md`]({out}/paper_tables.md), JSON and per-image CSV beside them.", ""]
    for c in gzc:
        lines += [f"**{labels.get(c, c)}**, one model, all settings:", "",
                  f"| {'setting (cCbB = --channels C --bits B)' if is_generative(summary[c]) else '--bits'} "
                  "| bpp | PSNR dB | MS-SSIM | ratio |", "|---|---|---|---|---|"]
        for p in summary[c]:
            lines.append(f"| {p['param']} | {p['bpp']:.3f} | {fmt(p['psnr'])} | {fmt(p['msssim'], '.4f')} | "
                         f"{p['ratio']:.0f}:1 |")
        lines.append("")
    lines += ["Matched rate: for each image the encoding closest to the target bpp, then means "
              "(PSNR dB / MS-SSIM; the mean bpp actually reached is in the report):", ""]
    lines += matched_table(matched, labels, gzc + classical)
    if bd:
        lines += ["", "BD-rate of gzc against each codec over the overlapping quality range "
                  "(negative = gzc needs fewer bits for the same quality):", "",
                  "| gzc model | vs | on PSNR | on MS-SSIM (dB) |", "|---|---|---|---|"]
        for test, refs in bd.items():
            for ref, v in refs.items():
                lines.append(f"| {labels.get(test, test)} | {labels.get(ref, ref)} | {fmt(v['psnr'], '+.1f')}% | "
                             f"{fmt(v['msssim_db'], '+.1f')}% |")
    if speed:
        lines += ["", "Speed and memory, one process per codec on this 2-core machine (median of repeats; "
                  "model already loaded; peak RSS of the whole Python process):", "",
                  "| codec | setting | encode s | decode s | peak RSS MB | torch threads |", "|---|---|---|---|---|---|"]
        for s_ in speed:
            lines.append(f"| {labels.get(s_['codec'], s_['codec'])} | {s_['param']} | {s_['encode_s']:.3f} | "
                         f"{s_['decode_s']:.3f} | {s_['peak_rss_mb']:.0f} | {s_['torch_threads'] or '–'} |")
    lines += refinement_lines(refined or {}, labels)
    lines += ["", f"![PSNR vs bpp]({out}/rd_psnr.png)", f"![MS-SSIM vs bpp]({out}/rd_msssim.png)", ""]
    return "\n".join(lines) + "\n"
