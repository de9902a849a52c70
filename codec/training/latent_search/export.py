"""Checkpoint → shipped model: ``weights/NAME.safetensors`` + ``weights/NAME.json``.

What ships: the generator (the decoder needs nothing else), the encoder
network (the search's amortized first guess), and the integer frequency
tables of the range coder, computed here once, in float64, and stored:

* plain mode, one table per latent dimension i: a Gaussian N(m_i, s_i²)
  discretized over the quantizer's cells, where m_i and s_i are the mean and
  spread of dimension i over the training faces' *searched* latents
  (estimated as the encoder's outputs on all training faces plus the
  measured drift of the search away from them);
* GANZ mode, one table shared by every dimension: N(0, s²) with s measured
  on searched GANZ latents of training faces.

The held-out test faces are never used here.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import save as save_safetensors

from ...entropy.tables import TABLE_PRECISION, quantize_pmf
from ...latent_search.backend import BITS, LatentSearchBackend, table_key
from ...latent_search.networks import Encoder, Generator, GeneratorConfig
from ...latent_search.quantize import dequantize, levels
from ...registry import write_model
from ..common import load_checkpoint
from .faces import TRAIN

MIN_STD = 0.02


def gaussian_table(mean: float, std: float, bits: int, quantizer: str, clip: float) -> np.ndarray:
    """Integer table of N(mean, std²) over the cells of the b-bit quantizer (nearest-level cells)."""
    lv = levels(bits, quantizer, clip).astype(np.float64)
    edges = (lv[1:] + lv[:-1]) / 2
    std = max(std, MIN_STD)
    cdf = np.array([0.5 * (1 + math.erf((e - mean) / (std * math.sqrt(2)))) for e in edges])
    pmf = np.diff(np.concatenate([[0.0], cdf, [1.0]])).clip(min=0)
    return quantize_pmf(pmf, TABLE_PRECISION)


def pack(generator: Generator, encoder: Encoder, quantizer: str, clip: float, dim_mean: np.ndarray,
         dim_std: np.ndarray, ganz_std: float) -> bytes:
    """The safetensors bytes of a model: networks, integer tables, and the metadata the loader reads."""
    tensors = {f"generator.{k}": v.contiguous() for k, v in generator.state_dict().items()}
    tensors |= {f"encoder.{k}": v.contiguous() for k, v in encoder.state_dict().items()}
    for b in BITS:
        tensors[table_key("z", b)] = torch.from_numpy(np.stack(
            [gaussian_table(m, s, b, quantizer, clip) for m, s in zip(dim_mean, dim_std)]).astype(np.int32))
        tensors[table_key("ganz", b)] = torch.from_numpy(gaussian_table(0.0, ganz_std, b, quantizer, clip).astype(np.int32))
    # the statistics the tables came from (informational: lets tables for other quantizers be rebuilt)
    tensors["stats.z_mean"] = torch.tensor(np.asarray(dim_mean, dtype=np.float32))
    tensors["stats.z_std"] = torch.tensor(np.asarray(dim_std, dtype=np.float32))
    tensors["stats.ganz_std"] = torch.tensor([float(ganz_std)], dtype=torch.float32)
    metadata = {"format": "gzc-latent-search", "generator_config": json.dumps(generator.config.to_dict()),
                "quantizer": quantizer, "clip": repr(float(clip)), "bits": json.dumps(list(BITS)),
                "table_precision": str(TABLE_PRECISION)}
    return save_safetensors(tensors, metadata=metadata)


def _search_stats(backend: LatentSearchBackend, faces: np.ndarray, bits: int) -> tuple[np.ndarray, np.ndarray]:
    """Searched latents (dequantized) and amortized guesses for some training faces."""
    searched, guesses = [], []
    for face in faces:
        target = torch.from_numpy(face).permute(2, 0, 1)[None].float() / 255
        guesses.append(backend.guess(target).numpy())
        searched.append(dequantize(backend.analyse(face, bits).ravel(), bits, backend.quantizer, backend.clip))
    return np.stack(searched), np.stack(guesses)


def export(checkpoint: Path, faces_cache: Path, name: str, out_dir: Path, training_record: dict,
           quantizer: str = "uniform", clip: float = 3.0, probe_faces: int = 48, ganz_probe_dims: int = 256) -> dict:
    state = load_checkpoint(checkpoint)
    config = GeneratorConfig(**state["generator_config"])
    generator, encoder = Generator(config), Encoder(config)
    generator.load_state_dict(state["G"])
    encoder.load_state_dict(state["E"])
    generator.eval().requires_grad_(False)
    encoder.eval().requires_grad_(False)
    train = np.load(faces_cache)["train"]
    assert len(train) == len(TRAIN), "the faces cache must hold exactly the training faces"
    with torch.no_grad():
        means = torch.cat([encoder(torch.from_numpy(train[i:i + 500]).permute(0, 3, 1, 2).float() / 255)[0]
                           for i in range(0, len(train), 500)]).numpy().astype(np.float64)
    # Probe the search on a fixed subset of training faces (every len/probe-th face).
    probe = train[:: max(1, len(train) // probe_faces)][:probe_faces]
    dummy = {"z": {b: [np.array([1 << TABLE_PRECISION])] for b in BITS}, "ganz": {b: [] for b in BITS}}
    plain = LatentSearchBackend(generator, encoder, dummy, quantizer, clip, name, b"\0" * 8)
    searched, guessed = _search_stats(plain, probe, 8)
    drift = float(np.sqrt(np.mean((searched - guessed) ** 2)))
    ganz_backend, _ = plain.configure({"ratio": 64 * 64 * 3 / ganz_probe_dims})
    ganz_searched, _ = _search_stats(ganz_backend, probe, 8)
    ganz_std = float(ganz_searched.std())
    dim_mean, dim_std = means.mean(axis=0), np.sqrt(means.var(axis=0) + drift ** 2)

    data = pack(generator, encoder, quantizer, clip, dim_mean, dim_std, ganz_std)
    return write_model(out_dir, name, "latent-search", data, {
        "default": False,
        "bits": list(BITS),
        "license": "Trained on CelebA (aligned faces): CelebA's terms allow non-commercial research use only; "
                   "these weights inherit that restriction.",
        "architecture": {"image": "64x64 RGB", "z_dim": config.z_dim, "width": config.width,
                         "generator_parameters": sum(p.numel() for p in generator.parameters()),
                         "encoder_parameters": sum(p.numel() for p in encoder.parameters())},
        "quantizer": {"kind": quantizer, "clip": clip},
        "entropy_model": {"plain": "per-dimension discretized Gaussian (encoder statistics on the training faces "
                                   "plus search drift)",
                          "search_drift_rms": round(drift, 4), "ganz_latent_std": round(ganz_std, 4),
                          "probe_faces": int(len(probe)), "ganz_probe_dims": ganz_probe_dims},
        "training": training_record,
    })
