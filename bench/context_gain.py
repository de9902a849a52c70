"""How many bits would a spatial + channel context model save over the factorized prior?

A measurement for planning, not a coder: it fits count-based tables on the
latents of BSDS500 training images and prices the latents of other images
(BSDS500 val, Kodak) with them, in ideal bits (−log2 p), for two models of
the same data:

* **factorized** — one table per channel (what the format codes today), fitted
  by counting, so both sides are priced the same way;
* **context** — the checkerboard + channel context of He et al. 2021 and
  Minnen & Singh 2020, reduced to integers so a decoder could reproduce it
  exactly: channel c is coded in two passes, first the "anchor" positions
  ((i + j) even), then the others. An anchor's table is picked by
  u = min(3, ⌊2·mean |s| of channels < c at (i, j)⌋); a non-anchor's by u and
  v = min(4, sum of |s| over its 4 neighbours in channel c, all anchors).
  24 tables per channel.

The tables are fitted on the model's *existing* latents; a model trained
jointly with such a context would do better, which is the point of asking.
(It did: this context became coder 3, spec §6.3, and ae-generative-context-v1,
trained with it, saves ≈ 12 % on Kodak at equal MS-SSIM where this measured 5 %.
The definitions here are those of gzc.codec.entropy.context.)
Run: ``python bench/context_gain.py --model ae-generative-msssim-v2``
(writes ``bench/results/context_gain.json``).
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from gzc.codec.training.autoencoder.export import image_symbols
from gzc.codec.entropy.context import CONTEXTS, context_indices as context_index
from gzc.codec.registry import available_models, load_backend


def latents(backend, paths: list[Path], bits: int) -> list[np.ndarray]:
    """int64 symbols (C, H/16, W/16) of each image, cropped to multiples of 16."""
    return [image_symbols(backend.model, path, bits) for path in paths]


def fit(train: list[np.ndarray], channels: int, levels: int, offset: int):
    """Per channel: factorized pmf (levels,) and context pmfs (CONTEXTS, levels), add-½ smoothed."""
    tables = []
    for c in range(channels):
        counts = np.full((CONTEXTS, levels), 0.5)
        for s in train:
            np.add.at(counts, (context_index(s, c).ravel(), s[c].ravel() + offset), 1)
        marginal = counts.sum(0)
        tables.append((marginal / marginal.sum(), counts / counts.sum(1, keepdims=True)))
    return tables


def price(s: np.ndarray, tables, offset: int) -> np.ndarray:
    """Ideal bits of each channel of one latent, (channels, 2): factorized, context. The
    first C′ rows summed price a file of C′ channels (a channel's context uses only lower ones)."""
    bits = np.zeros((len(tables), 2))
    for c, (marginal, conditional) in enumerate(tables):
        v = s[c].ravel() + offset
        bits[c] = -np.log2(marginal[v]).sum(), -np.log2(conditional[context_index(s, c).ravel(), v]).sum()
    return bits


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="ae-generative-msssim-v2")
    ap.add_argument("--bits", type=int, default=3)
    ap.add_argument("--channels", type=int, nargs="+", default=[8, 16])
    ap.add_argument("--train", type=Path, default=Path("../shared/data/bsds500/train"))
    ap.add_argument("--train-count", type=int, default=100)
    ap.add_argument("--eval", type=Path, nargs="+",
                    default=[Path("../shared/data/bsds500/val"), Path("../shared/data/kodak")])
    ap.add_argument("--out", type=Path, default=Path("bench/results/context_gain.json"))
    args = ap.parse_args()
    torch.set_num_threads(2)
    info = next(m for m in available_models() if m.name == args.model)
    backend = load_backend(info)
    levels, offset = 1 << args.bits, 1 << (args.bits - 1)
    image_types = {".jpg", ".jpeg", ".png"}
    train_paths = sorted(p for p in args.train.iterdir() if p.suffix.lower() in image_types)[:args.train_count]
    train = latents(backend, train_paths, args.bits)
    tables = fit(train, max(args.channels), levels, offset)
    result = {"model": args.model, "model_id": info.model_id.hex(), "bits": args.bits,
              "fitted_on": f"{args.train} (first {len(train)})",
              "unit": "ideal bits (-log2 p) of the latent, no header; bpp over the image's pixels", "sets": {}}
    for folder in args.eval:
        paths = sorted(p for p in folder.iterdir() if p.suffix.lower() in image_types)
        lat = latents(backend, paths, args.bits)
        pixels = np.array([s.shape[1] * s.shape[2] * 256 for s in lat])
        bits = np.stack([price(s, tables, offset) for s in lat])       # (images, channels, 2)
        sets = {}
        for channels in args.channels:
            fact, ctx = (bits[:, :channels].sum(axis=1) / pixels[:, None]).T
            saving = 1 - ctx / fact
            sets[f"c{channels}b{args.bits}"] = {
                "images": len(lat), "factorized_bpp": round(float(fact.mean()), 4),
                "context_bpp": round(float(ctx.mean()), 4),
                "saving_mean": round(float(1 - ctx.sum() / fact.sum()), 4),
                "saving_range": [round(float(saving.min()), 4), round(float(saving.max()), 4)],
                "per_image": {p.name: round(float(x), 4) for p, x in zip(paths, saving)}}
            print(f"{folder} c{channels}b{args.bits}: {fact.mean():.4f} -> {ctx.mean():.4f} bpp "
                  f"({100 * (1 - ctx.sum() / fact.sum()):.1f} % saved, per image "
                  f"{100 * saving.min():.1f}–{100 * saving.max():.1f} %)", flush=True)
        result["sets"][str(folder)] = sets
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
