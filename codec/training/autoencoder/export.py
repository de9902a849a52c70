"""Checkpoint → shipped model: ``weights/NAME.safetensors`` + ``weights/NAME.json``.

The float prior is evaluated once here, in float64, to build one integer
frequency table per (bits, channel); only those tables ship. The symbol
alphabet of a b-bit setting is ``-2^(b-1) … 2^(b-1)-1``: the two end symbols
absorb the prior's tails, matching the encoder's clipping.
"""
from __future__ import annotations

import copy
import dataclasses
import json
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from safetensors.torch import save as save_safetensors

from ...autoencoder.backend import context_table_key, table_key
from ...autoencoder.model import STRIDE, AutoencoderModel, ModelConfig, symbol_range
from ...entropy.context import CONTEXTS, context_indices
from ...entropy.tables import TABLE_PRECISION, quantize_pmf
from ...registry import write_model
from ..common import load_checkpoint
from .model import TrainableAutoencoder


@torch.no_grad()
def entropy_tables(model: TrainableAutoencoder, bits: int) -> np.ndarray:
    """Integer frequency tables for one setting: (M, 2^bits) for a factorized prior (coder 1),
    (C, CONTEXTS, 2^bits) for a context prior (coder 3: one table per channel and context)."""
    prior = copy.deepcopy(model.prior).double()
    lo, hi = symbol_range(bits)
    step = model.step(bits).double()                                   # (M,)
    if model.config.context:
        step = step.repeat_interleave(CONTEXTS)                        # prior channel c·CONTEXTS + k
    ks = torch.arange(lo, hi, dtype=torch.float64)                     # upper edges of all but the last bin
    edges = (ks + 0.5)[None, :] * step[:, None]                        # (M, 2^b - 1)
    cdf = prior.cdf_at(edges)
    zeros = torch.zeros(cdf.shape[0], 1, dtype=torch.float64)
    ones = torch.ones_like(zeros)
    pmf = torch.diff(torch.cat([zeros, cdf, ones], dim=1), dim=1).clamp_min(0).numpy()
    tables = np.stack([quantize_pmf(row, TABLE_PRECISION) for row in pmf]).astype(np.int32)
    return tables.reshape(-1, CONTEXTS, tables.shape[1]) if model.config.context else tables


@torch.no_grad()
def image_symbols(model: AutoencoderModel, path: Path, bits: int) -> np.ndarray:
    """int64 latent (C, H/16, W/16) of an image file, cropped to multiples of 16 (no padding:
    statistics of real content only)."""
    rgb = np.asarray(Image.open(path).convert("RGB"))
    h, w = rgb.shape[0] // STRIDE * STRIDE, rgb.shape[1] // STRIDE * STRIDE
    x = torch.from_numpy(rgb[:h, :w].copy()).permute(2, 0, 1)[None].float() / 255.0
    return model.analyse(x, bits)[0].numpy().astype(np.int64)


@torch.no_grad()
def counted_context_tables(model: AutoencoderModel, images: list[Path], bits: int) -> np.ndarray:
    """(C, CONTEXTS, 2^bits) int32 tables counted on the hard-rounded latents of ``images``.

    Why count instead of evaluating the trained prior: the prior was fitted to
    noise-relaxed values (y + uniform noise), whose bin probabilities are a smoothed
    version of what the rounded symbols really do; counting the symbols each
    context sees on whole training images (as they are coded, borders included)
    prices Kodak's latents ≈ 1 % lower (bench/results/selection/README.md). Add-½
    smoothing keeps unseen symbols codable; :func:`quantize_pmf` keeps every entry ≥ 1."""
    lo, hi = symbol_range(bits)
    channels = model.config.latent_channels
    counts = np.full((channels, CONTEXTS, hi - lo + 1), 0.5)
    for path in images:
        symbols = image_symbols(model, path, bits)
        for c in range(channels):
            np.add.at(counts[c], (context_indices(symbols, c).ravel(), symbols[c].ravel() - lo), 1)
    return np.stack([[quantize_pmf(row, TABLE_PRECISION) for row in counts[c]]
                     for c in range(channels)]).astype(np.int32)


def export(checkpoint: Path, name: str, out_dir: Path, training_record: dict, default: bool = False,
           count_images: list[Path] | None = None) -> dict:
    """Write the shipped model. A context model's tables are counted on ``count_images``
    (see :func:`counted_context_tables`) when given, else taken from its float prior."""
    state = load_checkpoint(checkpoint)
    cfg = state["config"]
    fields = {f.name for f in dataclasses.fields(ModelConfig)}
    config = ModelConfig(**{k: v for k, v in cfg.items() if k in fields})
    model = TrainableAutoencoder(config)
    model.load_state_dict(state["model"])
    bits = config.bits
    # The float prior ships too (a few kB): decoding never uses it (only the integer
    # tables), but it lets later training warm-start from the shipped file.
    tensors = {k: v.contiguous() for k, v in model.state_dict().items()}
    key = context_table_key if config.context else table_key
    counted = bool(config.context and count_images)
    model.eval()
    for b in bits:
        tables = counted_context_tables(model, count_images, b) if counted else entropy_tables(model, b)
        tensors[key(b)] = torch.from_numpy(tables)
    metadata = {"format": "gzc-autoencoder", "config": json.dumps(model.config.as_dict()),
                "bits": json.dumps(list(bits)), "table_precision": str(TABLE_PRECISION)}
    data = save_safetensors(tensors, metadata=metadata)
    fields = {
        "default": default,
        "bits": list(bits),
        "architecture": {**model.config.as_dict(), "stride": 16,
                         "parameters": sum(t.numel() for k, t in tensors.items() if not k.startswith("entropy_"))},
        "training": training_record,
    }
    if config.context:
        fields["entropy_tables"] = (f"coder 3 (spec §6.3): counted on the hard-rounded latents of {len(count_images)} "
                                    "training images (add-1/2 smoothing)" if counted else
                                    "coder 3 (spec §6.3): the trained context prior's bin probabilities")
    if config.c:
        fields["channels"] = list(config.channels)
        fields["loss_weights"] = {k: cfg[k] for k in ("mse_weight", "msssim_weight", "rate_weight", "gan_weight")
                                  if k in cfg}
    else:
        fields["lambdas"] = cfg.get("lambdas")
    return write_model(out_dir, name, "autoencoder", data, fields)
