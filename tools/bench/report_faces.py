"""Report of gzc-bench-faces: paper-style tables (markdown), an SSIM–bpp plot and a visual sheet."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from .faces import interpolate

PAPERS = """Published figures, for orientation only (other data, other image sizes, and
the papers do not say how they counted file sizes):
"Generative Compression" (Santurkar et al. 2017), CelebA 64×64: GAN 0.79 SSIM / 26.48 dB
at ratio 176; "GAN Reversal" poster: 0.215 bpp, 21.2 dB, SSIM 0.707 vs JPEG 1 %
0.218 bpp, 20.5 dB, 0.528."""


def _row(name: str, v: dict, extra: str = "") -> str:
    enc = f"{v['encode_s_mean']:.2f}" if v.get("encode_s_mean") is not None else "–"
    return (f"| {name} | {v['bytes']:.1f} | {v['bpp']:.3f} | {v['ratio']:.0f} | {v['psnr']:.2f} | {v['ssim']:.3f} | "
            f"{enc} |{extra}")


def _jpeg_at(summary: dict, bpp: float) -> str:
    parts = []
    for codec in ("jpeg", "webp"):
        s = interpolate(summary, codec, bpp, "ssim")
        parts.append(f"{s:.3f}" if s is not None else "below its range")
    return " " + " | ".join(parts) + " |"


def write_report(out: Path, meta: dict, summary: dict, originals, sheet: dict) -> None:
    head = "| setting | bytes | bpp | ratio | PSNR dB | SSIM | encode s |"
    sep = "|---|---|---|---|---|---|---|"
    lines = [f"# gzc latent search on held-out faces ({meta['model']}, {meta['model_id']})", "",
             f"{meta['n_main']} held-out CelebA faces ({meta['faces']}, 64×64; never used in training) for the main "
             f"table, the first {meta['n_ablation']} of them for the ablations. Sizes are whole files on disk "
             f"(header included), bpp = bytes × 8 / 4096, ratio = 24 / bpp. SSIM: Gaussian window 11, on RGB. "
             f"Encode time: per image, model loaded, {meta['threads']} torch threads, {meta['machine']}. "
             f"Made by `{meta['command']}` on {meta['date']} ({meta['minutes']} min).", "",
             "## Main table (default loss and effort, range coder)", "",
             head + " JPEG SSIM at this bpp | WebP SSIM at this bpp |", sep + "---|---|"]
    for config, v in summary.items():
        if v["codec"] == "gzc" and not config.startswith("abl-") and not config.endswith("-elias"):
            lines.append(_row(config, v, _jpeg_at(summary, v["bpp"])))
    for config in ("jpeg-q1", "jpeg-q10"):
        if config in summary:
            lines.append(_row(config.replace("-q", " quality "), summary[config], " | |"))
    lines += ["", "JPEG and WebP sweeps (the curves the “at this bpp” columns interpolate):", "", head, sep]
    for config, v in summary.items():
        if v["codec"] in ("jpeg", "webp"):
            lines.append(_row(config, v))
    lines += ["", "## Ablations (--bits 6 unless stated)", "", head, sep]
    for config, v in summary.items():
        if config.startswith("abl-") and not config.endswith("-elias"):
            lines.append(_row(config[4:], v))
    lines += ["", "## Entropy coder: the same latents, range coder vs Elias-gamma", "",
              "| setting | range bytes | Elias-gamma bytes |", "|---|---|---|"]
    for config, v in summary.items():
        if v["codec"] == "gzc" and config + "-elias" in summary and not config.startswith("abl-quant-quantile"):
            lines.append(f"| {config} | {v['bytes']:.1f} | {summary[config + '-elias']['bytes']:.1f} |")
    lines += ["", PAPERS, ""]
    (out / "report.md").write_text("\n".join(lines))
    _plot(out, summary)
    _sheet(out, originals, sheet)


def _plot(out: Path, summary: dict) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    for codec, style in (("jpeg", "o-"), ("webp", "s-")):
        pts = sorted((v["bpp"], v["ssim"]) for v in summary.values() if v["codec"] == codec)
        ax.plot(*zip(*pts), style, label=codec.upper(), ms=4)
    for prefix, marker, label in (("b", "D", "gzc latent search (plain)"), ("ganz", "^", "gzc GANZ")):
        pts = sorted((v["bpp"], v["ssim"]) for k, v in summary.items()
                     if v["codec"] == "gzc" and k.startswith(prefix) and not k.endswith("-elias"))
        if pts:
            ax.plot(*zip(*pts), marker, label=label, ms=7)
    ax.set_xlabel("bits per pixel (whole files)")
    ax.set_ylabel("SSIM")
    ax.set_xscale("log")
    ax.grid(alpha=0.3)
    ax.legend()
    ax.set_title("Held-out 64×64 faces")
    fig.tight_layout()
    fig.savefig(out / "ssim_vs_bpp.png", dpi=120)
    plt.close(fig)


def _sheet(out: Path, originals, sheet: dict) -> None:
    """Rows: original, then each setting; columns: faces. Upscaled 2× (nearest) for viewing."""
    from PIL import ImageDraw
    rows = [("original", list(originals))] + [(k, v) for k, v in sheet.items()]
    cell, label_w = 128, 120
    canvas = Image.new("RGB", (label_w + cell * len(originals), cell * len(rows)), "white")
    draw = ImageDraw.Draw(canvas)
    for r, (name, images) in enumerate(rows):
        draw.text((4, r * cell + cell // 2 - 6), name, fill="black")
        for c, img in enumerate(images):
            tile = Image.fromarray(np.ascontiguousarray(img)).resize((cell, cell), Image.NEAREST)
            canvas.paste(tile, (label_w + c * cell, r * cell))
    canvas.save(out / "sheet.png", optimize=True)


def samples_sheet(backend, out: Path, count: int = 16, seed: int = 0) -> None:
    """G(z) for z drawn from the prior N(0, I): what the generator makes on its own."""
    import torch
    z = torch.randn(count, backend.dims, generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        x = backend.render(z)
    images = (x.clamp(0, 1) * 255).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()
    cols = 8
    canvas = Image.new("RGB", (64 * cols, 64 * (-(-count // cols))), "white")
    for i, img in enumerate(images):
        canvas.paste(Image.fromarray(img), (64 * (i % cols), 64 * (i // cols)))
    canvas.resize((canvas.width * 2, canvas.height * 2), Image.NEAREST).save(out / "generator_samples.png", optimize=True)
