"""Rate–distortion (fidelity) training of the variable-rate autoencoder, resumable.

Every ``checkpoint_every`` steps the full state (model, optimiser, sampler RNG,
step) is written atomically to ``<run>/checkpoint.pt`` (:mod:`..common`); starting
again with the same run folder resumes from it. Progress goes to stdout and to
``<run>/log.jsonl`` (one JSON object per logged step), which the manifest
quotes. Training never runs in CI: it is started by ``gzc-train``.
"""
from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from safetensors.torch import load_file

from ...autoencoder.model import BITS, LAMBDAS, ModelConfig
from ...entropy.context import CONTEXTS
from .. import distributed
from ..common import (checkpoint_path, learning_rate, load_checkpoint, pack_rng, restore, save_checkpoint,
                      unpack_rng, write_config)
from .dataset import CropSampler, load_sources, validation_set
from .model import TrainableAutoencoder
from .prior import expand_to_contexts


@dataclass
class TrainConfig:
    data: list[str] = field(default_factory=lambda: ["../shared/data/bsds500/train", "../shared/data/bsds500/test"])
    val: str = "../shared/data/bsds500/val"
    steps: int = 14000
    batch: int = 8
    crop: int = 128
    lr: float = 3e-4
    lr_final: float = 1e-5
    prior_lr_factor: float = 10.0  # the density model must track the latents fast
    warmup: int = 200
    clip_grad: float = 1.0
    seed: int = 1
    threads: int = 2
    log_every: int = 50
    checkpoint_every: int = 250
    validate_every: int = 1000
    n: int = 96
    m: int = 160
    lambdas: dict = field(default_factory=lambda: dict(LAMBDAS))  # bits → λ
    context: int = 0            # 1: a context prior (coder 3, spec §6.3) instead of a factorized one
    init: str = ""              # a shipped model's .safetensors to start from (a factorized prior
                                # seeds every context of a context model)
    val_count: int = 12         # validation crops
    val_size: int = 160         # their side in pixels
    device: str = "cpu"         # "cuda": under torchrun, each process takes the GPU of its local rank


def load_init(model: TrainableAutoencoder, path: str) -> None:
    """Warm start from a shipped weights file: transforms, gains and prior (its integer
    tables are not model parameters and are skipped)."""
    state = {k: v for k, v in load_file(path).items() if not k.startswith("entropy_")}
    prior_rows = state["prior.biases.0"].shape[0]
    if model.config.context and prior_rows == model.config.latent_channels:
        state = expand_to_contexts(state, CONTEXTS)
    model.load_state_dict(state)


@torch.no_grad()
def validate(model: TrainableAutoencoder, images: torch.Tensor) -> dict:
    """PSNR and estimated bpp per setting, with hard rounding (monitoring only)."""
    model.eval()
    out = {}
    pixels = images.shape[2] * images.shape[3]
    for b in BITS:
        symbols = model.analyse(images, b)
        x_hat = model.synthesise(symbols, b).clamp(0, 1)
        mse = ((torch.round(x_hat * 255) - images * 255) ** 2).mean(dim=(1, 2, 3))
        psnr = (10 * torch.log10(255.0 ** 2 / mse)).mean().item()
        y_hat = symbols.float() * model.step(b).view(1, -1, 1, 1)
        p = model.likelihood(y_hat, b, symbols)
        bpp = (-torch.log2(p.clamp_min(1e-9)).sum(dim=(1, 2, 3)) / pixels).mean().item()
        out[b] = {"psnr": round(psnr, 3), "bpp_estimate": round(bpp, 4)}
    model.train()
    return out


def _log(log, cfg: TrainConfig, step: int, t0: float, summary: dict, model: TrainableAutoencoder,
         val_images: torch.Tensor) -> None:
    """One ``log.jsonl`` record and printed line (validation every ``validate_every`` steps)."""
    record = {"step": step, "minutes": round((time.time() - t0) / 60, 2),
              "lr": learning_rate(cfg, step), "train": summary}
    if step % cfg.validate_every == 0 or step == cfg.steps:
        record["val"] = validate(model, val_images)
    log.write(json.dumps(record) + "\n")
    log.flush()
    eta = (time.time() - t0) / step * (cfg.steps - step) / 60
    print(f"step {step}/{cfg.steps}  {record['minutes']:.1f} min  eta {eta:.0f} min  "
          + "  ".join(f"b{b}:{v['psnr']:.2f}dB/{v['bpp']:.3f}" for b, v in summary.items())
          + ("  val " + " ".join(f"b{b}:{v['psnr']:.2f}/{v['bpp_estimate']:.3f}" for b, v in record["val"].items())
             if "val" in record else ""), flush=True)


def train(run_dir: Path, cfg: TrainConfig) -> Path:
    """Train (or resume) the run in ``run_dir``; under ``torchrun`` as one of several processes
    that share each batch of ``cfg.batch`` crops (:mod:`..distributed`)."""
    world, device = distributed.start(cfg.device)
    run_dir.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)       # every rank: the noise is drawn for the global batch (see model.py)
    cfg.lambdas = {int(b): float(v) for b, v in cfg.lambdas.items()}   # JSON round trips make keys strings
    shard = world.shard(cfg.batch)
    model = TrainableAutoencoder(ModelConfig(n=cfg.n, m=cfg.m, context=cfg.context))
    if cfg.init:
        load_init(model, cfg.init)
    model.to(device)
    prior_params = list(model.prior.parameters())
    prior_ids = {id(p) for p in prior_params}
    optimizer = torch.optim.Adam([
        {"params": [p for p in model.parameters() if id(p) not in prior_ids], "lr_factor": 1.0},
        {"params": prior_params, "lr_factor": cfg.prior_lr_factor},
    ], lr=cfg.lr)
    sampler = CropSampler(load_sources(cfg.data), cfg.crop, cfg.seed)
    val_images = validation_set(cfg.val, cfg.val_count, cfg.val_size).to(device) if world.main else None
    bits_rng = np.random.default_rng(cfg.seed + 1)
    step, elapsed = 0, 0.0
    ckpt_path = checkpoint_path(run_dir)
    state = load_checkpoint(ckpt_path)
    if state is not None:
        restore(state, model=model, optimizer=optimizer)
        sampler.rng = unpack_rng(state["sampler_rng"])
        bits_rng = unpack_rng(state["bits_rng"])
        torch.set_rng_state(state["torch_rng"])
        step, elapsed = state["step"], state["elapsed"]
        if world.main:
            print(f"resumed from step {step} ({elapsed / 60:.1f} min trained)", flush=True)
    world.broadcast_module(model)
    if world.main:
        write_config(run_dir, cfg)
    log = open(run_dir / "log.jsonl", "a") if world.main else None
    window: dict[int, list] = {b: [] for b in BITS}
    t0 = time.time() - elapsed
    while step < cfg.steps:
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(cfg, step) * group["lr_factor"]
        bits = int(bits_rng.choice(BITS))
        x = sampler.batch(cfg.batch, shard).to(device)
        x_hat, total_bits = model(x, bits, share=(cfg.batch, shard))
        mse = torch.mean((x_hat - x) ** 2)
        bpp = total_bits.mean() / (x.shape[2] * x.shape[3])
        loss = cfg.lambdas[bits] * 255 ** 2 * mse + bpp
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        world.average_gradients(model.parameters())
        torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.clip_grad)
        optimizer.step()
        step += 1
        window[bits].append((mse.item(), bpp.item()))
        if step % cfg.log_every == 0 or step == cfg.steps:
            means = world.mean({f"{k}{b}": float(np.mean([v[i] for v in vals]))
                                for b, vals in window.items() if vals for i, k in enumerate(("mse", "bpp"))})
            summary = {b: {"psnr": round(10 * math.log10(1 / max(means[f"mse{b}"], 1e-10)), 2),
                           "bpp": round(means[f"bpp{b}"], 4)} for b in BITS if window[b]}
            window = {b: [] for b in BITS}
            if world.main:
                _log(log, cfg, step, t0, summary, model, val_images)
        if step % cfg.checkpoint_every == 0 or step == cfg.steps:
            if world.main:
                save_checkpoint({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                                 "sampler_rng": pack_rng(sampler.rng), "bits_rng": pack_rng(bits_rng),
                                 "torch_rng": torch.get_rng_state(), "step": step,
                                 "elapsed": time.time() - t0, "config": asdict(cfg)}, ckpt_path)
    if log is not None:
        log.close()
    distributed.stop(world)
    return ckpt_path
