"""Adversarial training of a generative extreme-rate autoencoder (issue 5), resumable.

Recipe (Agustsson et al. 2018, "Generative Adversarial Networks for Extreme
Learned Image Compression", with HiFiC's conditional discriminator):

* **Warm start.** The analysis and synthesis transforms start from a shipped
  MSE-trained model (``init``); the new bottleneck (squeeze to C channels,
  expand back) and its prior start from scratch. This is what makes a CPU run
  of a few hours enough.
* **Stage 1, steps < gan_start: distortion + rate.**
  ``mse_weight·MSE + msssim_weight·(1 − MS-SSIM) + rate_weight·bpp``.
* **Stage 2: + gan_weight · LSGAN** from a three-scale patch discriminator that
  also sees the decoder's latent (the pair (image, code)).
* **Optional decoder stage** (``start_from`` a finished run, ``decoder_only``):
  only the expansion and synthesis train, against a stronger GAN weight, so
  the codes (and the files' payloads) stay exactly those of the start model
  while the decoder learns to synthesise more texture (HiFiC and Agustsson
  et al. also fine-tune the decoder alone).
* **Which MS-SSIM.** ``msssim_scales=3`` is a three-scale proxy that works on
  any crop; ``5`` is the benchmark's own five-scale MS-SSIM (crops ≥ 176),
  whose two coarse scales carry 37 % of the exponents the proxy leaves out.
* **Paying for bits.** ``rate_weight`` sets the price of a bit against
  ``msssim_weight``: 2.5 against 24 (msssim-v1) made every latent value cost
  almost its full width; 25–30 (msssim-v2) taught the encoder to put values
  on zero where the picture does not need them.
* **Nested rate points.** Every batch draws a setting ``bits`` and a channel
  count C' from ``channels``; latent channels ≥ C' are zeroed and cost no
  rate, so channel 0 learns to carry the most important information and one
  network decodes every C'. With probability ``roi_probability`` the count
  varies in space instead (a random box at C', the rest at a smaller count or
  0), which is exactly what a region-of-interest file codes.

State (models, optimisers, RNGs, step) is checkpointed atomically every
``checkpoint_every`` steps; the same run folder resumes (on any device: states
load to the CPU first). Changed loss weights on a resume are recorded in
``history.jsonl``.

**On a lent GPU** (``device="cuda"``) a command has a hard time limit, so
``minutes`` gives the run a budget instead of a step count: it measures its
speed and fixes ``steps`` (and with it the cosine schedule) to end inside the
budget, re-measuring as it goes (:class:`TimeBudget`).
"""
from __future__ import annotations

import json
import math
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file

from ...entropy.context import CONTEXTS
from ...losses import ms_ssim, ms_ssim5
from ...registry import safetensors_metadata
from .. import distributed
from ..adversarial import MultiScaleDiscriminator, ls_fake, ls_real
from ..common import (checkpoint_path, learning_rate, load_checkpoint, log_progress, pack_rng, record_changes,
                      restore, save_checkpoint, unpack_rng, write_config)
from .dataset import CropSampler, list_images, load_scaled, validation_set
from .generative_config import GenerativeConfig
from .model import TrainableAutoencoder
from .prior import expand_to_contexts

# Settings a resume may change (recorded in history.jsonl); everything else is fixed by the run.
ADJUSTABLE = ("steps", "gan_start", "lr", "lr_final", "d_lr", "mse_weight", "msssim_weight", "rate_weight",
              "gan_weight", "roi_probability", "device", "minutes")
BUDGET_PROBE = 40     # steps timed (after BUDGET_SKIP warm-up steps) before a time budget fixes ``steps``
BUDGET_SKIP = 10
BUDGET_EVERY = 50     # steps between later re-estimates
BUDGET_MARGIN = 0.94  # the share of the remaining budget that steps may fill (validation, checkpoints, exit)


def steps_for_budget(steps: int, step: int, seconds_per_step: float, seconds_left: float) -> int:
    """The total step count (at most ``steps``) that ends a run within ``seconds_left`` at the measured speed."""
    return min(steps, step + max(0, int(BUDGET_MARGIN * seconds_left / seconds_per_step)))


class TimeBudget:
    """Fixes a run's step count from its measured speed so that it ends within ``minutes``.

    The speed is first measured over ``BUDGET_PROBE`` steps (after ``BUDGET_SKIP``
    warm-up steps), then re-measured every ``BUDGET_EVERY`` steps as the mean since the
    probe began: a probe taken while another process held the cores would otherwise
    fix a run far too short (the learning-rate schedule, which follows ``steps``,
    shifts a little at each re-estimate). ``cap`` (the requested ``steps``) is never
    exceeded."""

    def __init__(self, minutes: float, step: int, cap: int, started: float):
        self.seconds, self.cap, self.started = minutes * 60, cap, started
        self.mark_step, self.mark_time = step + BUDGET_SKIP, None
        self.first = self.mark_step + BUDGET_PROBE

    def measures(self, step: int) -> bool:
        """Whether ``step`` is one at which the clock is read."""
        return step == self.mark_step or (step >= self.first and (step - self.first) % BUDGET_EVERY == 0)

    def update(self, step: int) -> tuple[int, float] | None:
        """At a step where :meth:`measures`: (the total step count that fits, seconds per step),
        or None while the probe is still running."""
        now = time.time()
        if step == self.mark_step:
            self.mark_time = now
            return None
        if self.mark_time is None:
            return None
        per_step = (now - self.mark_time) / (step - self.mark_step)
        return steps_for_budget(self.cap, step, per_step, self.seconds - (now - self.started)), per_step


def coded_mask(counts: torch.Tensor, channels: int) -> torch.Tensor:
    """(B, H, W) coded-channel counts → (B, C, H, W) 0/1 mask of coded latent elements."""
    return (torch.arange(channels).view(1, -1, 1, 1) < counts.unsqueeze(1)).float()


def draw_probabilities(weights: tuple, count: int) -> np.ndarray | None:
    """Relative weights → the probabilities of a training draw (None, i.e. equal, when no weights).

    Weighting the settings lets a run spend its steps where a comparison is decided
    (e.g. the top settings, which meet AVIF) while the nested model keeps the others."""
    if not weights:
        return None
    if len(weights) != count or min(weights) < 0 or sum(weights) <= 0:
        raise ValueError(f"need {count} non-negative weights, not a sum of zero, got {list(weights)}")
    return np.asarray(weights, dtype=np.float64) / float(sum(weights))


def rate_weight(cfg: GenerativeConfig, bits: int) -> float:
    """The price of a bit for a batch drawn at ``bits``: its own, if the run sets one per setting."""
    if not cfg.bits_rate_weights:
        return cfg.rate_weight
    if len(cfg.bits_rate_weights) != len(cfg.bits):
        raise ValueError(f"need one rate weight per --bits setting {list(cfg.bits)}, got {list(cfg.bits_rate_weights)}")
    return float(cfg.bits_rate_weights[list(cfg.bits).index(bits)])


def draw_counts(rng: np.random.Generator, cfg: GenerativeConfig, batch: int, h: int, w: int) -> tuple[torch.Tensor, int]:
    """A channel count map per batch: uniform C', or (for ROI practice) a box at C' in a smaller count."""
    top = int(rng.choice(cfg.channels, p=draw_probabilities(cfg.channel_weights, len(cfg.channels))))
    counts = np.full((batch, h, w), top, dtype=np.int64)
    if rng.random() < cfg.roi_probability:
        lower = [0] + [c for c in cfg.channels if c < top]
        for b in range(batch):
            counts[b] = int(rng.choice(lower))
            bh, bw = rng.integers(1, h + 1), rng.integers(1, w + 1)
            y, x = rng.integers(0, h - bh + 1), rng.integers(0, w - bw + 1)
            counts[b, y:y + bh, x:x + bw] = top
    return torch.from_numpy(counts), top


def warm_start(model: TrainableAutoencoder, path: Path, crops: torch.Tensor) -> list[str]:
    """Copy the analysis/synthesis transforms of a shipped model, and start the bottleneck
    as a PCA of their latent, so training begins from a working (if blurry) codec.

    The squeeze's centre taps project the M-channel latent of ``crops`` onto its C
    principal directions, scaled to a standard deviation of 1.5 quantization steps
    (the ±4-step alphabet then holds nearly all values); the expansion's centre taps
    invert that, the residual blocks start as identities. Returns the tensors copied.
    """
    tensors = load_file(str(path))
    own = model.state_dict()
    take = {k: v for k, v in tensors.items()
            if k.startswith(("analysis.", "synthesis.")) and k in own and own[k].shape == v.shape}
    model.load_state_dict(take, strict=False)
    c = model.config.c
    with torch.no_grad():
        y = model.analysis(crops - 0.5).permute(1, 0, 2, 3).reshape(model.config.m, -1).double()
        mean = y.mean(dim=1)
        _, s, vh = torch.linalg.svd((y - mean[:, None]).T, full_matrices=False)
        std = s[:c] / math.sqrt(y.shape[1] - 1)
        basis = vh[:c]                                                     # (C, M)
        step = model.step(model.config.bits[-1]).double()                  # (C,)
        down = basis * (1.5 / std)[:, None]
        for conv, weight, bias in (
                (model.squeeze, down, -(down @ mean)),
                (model.expand[0], (basis * (std / 1.5)[:, None]).T, mean)):
            conv.weight.zero_()
            conv.weight[:, :, 1, 1] = weight.float()
            conv.bias.copy_(bias.float())
        # the squeeze's output is in units of the finest setting's step: scale it in
        model.squeeze.weight.mul_(step.float().view(-1, 1, 1, 1))
        model.squeeze.bias.mul_(step.float())
        model.expand[0].weight.div_(step.float().view(1, -1, 1, 1))
        for block in model.expand[1:]:
            block.conv2.weight.zero_()
            block.conv2.bias.zero_()
    return sorted(take)


def load_networks(model: TrainableAutoencoder, state: dict, start_bits: tuple[int, ...] | None = None) -> None:
    """Load a start model's tensors into ``model``, which may have more than the start model:

    * a context prior: the start's factorized densities seed every context;
    * more ``bits`` settings (``start_bits`` are the start model's): a new setting's
      gains start as those of the nearest old one (a step 2× smaller per added bit)."""
    prior_rows = state["prior.biases.0"].shape[0]
    if model.config.context and prior_rows == model.config.c:
        state = expand_to_contexts(state, CONTEXTS)
    bits = model.config.bits
    if start_bits is not None and tuple(start_bits) != bits:
        old = state["log_gain"]
        nearest = [min(range(len(start_bits)), key=lambda i: abs(start_bits[i] - b)) for b in bits]
        state = {**state, "log_gain": old[nearest].clone()}
    model.load_state_dict(state)


@torch.no_grad()
def validate(model: TrainableAutoencoder, images: torch.Tensor, cfg: GenerativeConfig) -> dict:
    """PSNR, MS-SSIM (3-scale training proxy) and estimated bpp per (bits, C'), hard rounding."""
    model.eval()
    out = {}
    pixels = images.shape[2] * images.shape[3]
    for b in cfg.bits:
        symbols = model.analyse(images, b)
        step = model.step(b).view(1, -1, 1, 1)
        element_bits = -torch.log2(model.likelihood(symbols.float() * step, b, symbols).clamp_min(1e-9))
        for c in cfg.channels:
            x_hat = model.synthesise(symbols[:, :c], b).clamp(0, 1)   # channels ≥ c decode as zero
            mse = ((torch.round(x_hat * 255) - images * 255) ** 2).mean(dim=(1, 2, 3))
            out[f"b{b}c{c}"] = {
                "psnr": round((10 * torch.log10(255.0 ** 2 / mse)).mean().item(), 3),
                "msssim": round(ms_ssim(x_hat, images).mean().item(), 4),
                "bpp_estimate": round((element_bits[:, :c].sum(dim=(1, 2, 3)) / pixels).mean().item(), 4)}
    model.train()
    return out


def train(run_dir: Path, cfg: GenerativeConfig) -> Path:
    if cfg.msssim_scales not in (3, 5) or (cfg.msssim_scales == 5 and cfg.crop < 176):
        raise ValueError("msssim_scales is 3, or 5 with crops of at least 176 pixels")
    world, device = distributed.start(cfg.device)      # under torchrun: one of several processes
    shard = world.shard(cfg.batch)
    run_dir.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)       # every rank: the noise is drawn for the global batch
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True   # training only: files are coded by the exported CPU model
        torch.backends.cudnn.allow_tf32 = True
        torch.backends.cudnn.benchmark = True          # fixed crop size: let cuDNN pick its fastest kernels
    session_start = time.time()
    hardware = (f"one {torch.cuda.get_device_name(device)} GPU (TF32)" if device.type == "cuda"
                else f"{cfg.threads} CPU threads (no GPU)")
    if world.size > 1:
        hardware = f"{world.size} processes, each {hardware}"
    model = TrainableAutoencoder(cfg.model_config()).to(device)
    D = MultiScaleDiscriminator(cfg.d_scales, cfg.d_width, cfg.c if cfg.conditional else 0).to(device)
    groups = {"pretrained": [], "new": [], "prior": []}
    for name, p in model.named_parameters():
        if cfg.decoder_only and not name.startswith(("expand.", "synthesis.")):
            p.requires_grad_(False)   # the encoder, quantizer gains and prior are fixed: so are the codes
            continue
        key = "prior" if name.startswith("prior.") else \
              "pretrained" if name.startswith(("analysis.", "synthesis.")) else "new"
        groups[key].append(p)
    optimizer = torch.optim.Adam([
        {"params": groups["pretrained"], "lr_factor": cfg.pretrained_lr_factor},
        {"params": groups["new"], "lr_factor": 1.0},
        {"params": groups["prior"], "lr_factor": cfg.prior_lr_factor}], lr=cfg.lr)
    d_optimizer = torch.optim.Adam(D.parameters(), lr=cfg.d_lr, betas=(0.5, 0.999))
    # the per-setting draws and prices, once, so that a bad list fails before the images load
    bits_p = draw_probabilities(cfg.bits_weights, len(cfg.bits))
    rate_weights = {b: rate_weight(cfg, b) for b in cfg.bits}
    draw_probabilities(cfg.channel_weights, len(cfg.channels))   # draw_counts applies it per batch
    sampler = CropSampler(load_scaled(list_images([Path(d) for d in cfg.data])), cfg.crop, cfg.seed)
    val_images = validation_set(Path(cfg.val)).to(device) if world.main else None
    rng = np.random.default_rng(cfg.seed + 1)
    step, elapsed = 0, 0.0
    ckpt_path = checkpoint_path(run_dir)
    state = load_checkpoint(ckpt_path)
    if state is not None:
        restore(state, model=model, discriminator=D, optimizer=optimizer, d_optimizer=d_optimizer)
        sampler.rng = unpack_rng(state["sampler_rng"])
        rng = unpack_rng(state["rng"])
        torch.set_rng_state(state["torch_rng"])
        if device.type == "cuda" and "cuda_rng" in state:
            torch.cuda.set_rng_state(state["cuda_rng"])
        step, elapsed = state["step"], state["elapsed"]
        changed = record_changes(run_dir, step, state["config"], asdict(cfg), ADJUSTABLE) if world.main else {}
        print(f"resumed from step {step} ({elapsed / 60:.1f} min trained); changed {changed}", flush=True)
    elif cfg.start_from.endswith(".safetensors"):
        # a shipped model (the float prior ships with it): its networks, a fresh discriminator
        tensors = load_file(cfg.start_from)
        start_config = json.loads(safetensors_metadata(Path(cfg.start_from).read_bytes())["config"])
        load_networks(model, {k: v for k, v in tensors.items() if not k.startswith("entropy_")},
                      tuple(start_config.get("bits", cfg.bits)))
        print(f"started from shipped model {cfg.start_from}, fresh discriminator", flush=True)
    elif cfg.start_from:
        state = torch.load(cfg.start_from, weights_only=False, map_location="cpu")   # our own, as above
        load_networks(model, state["model"], tuple(state["config"]["bits"]))
        if state["config"].get("conditional", True) == cfg.conditional:
            D.load_state_dict(state["discriminator"])
            print(f"started from {cfg.start_from} (step {state['step']})", flush=True)
        else:   # the other variant's discriminator has a different input: this one starts fresh
            print(f"started from {cfg.start_from} (step {state['step']}), fresh discriminator", flush=True)
    else:
        copied = warm_start(model, Path(cfg.init), sampler.batch(64).to(device))
        print(f"warm start: {len(copied)} tensors from {cfg.init}", flush=True)
    world.broadcast_module(model)
    world.broadcast_module(D)
    if world.main:
        write_config(run_dir, cfg)
    log = open(run_dir / "log.jsonl", "a") if world.main else None
    window: list[dict] = []
    t0 = time.time() - elapsed
    latent_side = cfg.crop // 16
    budget = TimeBudget(cfg.minutes, step, cfg.steps, session_start) if cfg.minutes > 0 else None
    while step < cfg.steps:
        lr = learning_rate(cfg, step)
        for group in optimizer.param_groups:
            group["lr"] = lr * group["lr_factor"]
        adversarial = step >= cfg.gan_start and cfg.gan_weight > 0
        bits = int(rng.choice(cfg.bits, p=bits_p))
        counts, top = draw_counts(rng, cfg, cfg.batch, latent_side, latent_side)
        coded = coded_mask(counts[shard], cfg.c).to(device)
        x = sampler.batch(cfg.batch, shard).to(device)
        x_hat, total_bits, y_hat = model.forward_with_latent(x, bits, coded, share=(cfg.batch, shard))
        mse = torch.mean((x_hat - x) ** 2)
        msssim = (ms_ssim5 if cfg.msssim_scales == 5 else ms_ssim)(x_hat.clamp(0, 1), x).mean()
        bpp = total_bits.mean() / (x.shape[2] * x.shape[3])
        loss = cfg.mse_weight * mse + cfg.msssim_weight * (1 - msssim) + rate_weights[bits] * bpp
        code = y_hat.detach()
        g_adv = torch.zeros((), device=device)
        if adversarial:
            g_adv = ls_real(D(x_hat, code))
            loss = loss + cfg.gan_weight * g_adv
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        world.average_gradients(model.parameters())
        torch.nn.utils.clip_grad_norm_([p for p in model.parameters() if p.requires_grad], cfg.clip_grad)
        optimizer.step()
        d_loss = torch.zeros((), device=device)
        if adversarial:
            d_loss = ls_real(D(x, code)) + ls_fake(D(x_hat.detach(), code))
            d_optimizer.zero_grad(set_to_none=True)
            d_loss.backward()
            world.average_gradients(D.parameters())
            d_optimizer.step()
        step += 1
        if budget is not None and budget.measures(step):
            if device.type == "cuda":
                torch.cuda.synchronize()
            estimate = budget.update(step)
            if estimate is not None:      # rank 0's clock decides for every rank
                estimate = (world.broadcast_int(estimate[0]), estimate[1])
            if estimate is not None and estimate[0] != cfg.steps:
                cfg.steps = estimate[0]
                if world.main:
                    write_config(run_dir, cfg)
            if step == budget.first:   # the first plan is announced; later re-estimates only adjust it
                print(json.dumps({"budget": {"minutes": cfg.minutes, "seconds_per_step": round(estimate[1], 4),
                                             "steps": cfg.steps}}), flush=True)
        window.append({"mse": mse.item(), "msssim": msssim.item(), "bpp": bpp.item(), "top": top,
                       "g_adv": g_adv.item(), "d": d_loss.item()})
        if step % cfg.log_every == 0 or step == cfg.steps:
            mean = world.mean({k: float(np.mean([w[k] for w in window]))
                               for k in ("mse", "msssim", "bpp", "g_adv", "d")})
            window = []
            if not world.main:
                continue
            record = {"step": step, "minutes": round((time.time() - t0) / 60, 2), "lr": lr,
                      "adversarial": adversarial,
                      "train": {"psnr": round(10 * math.log10(1 / max(mean["mse"], 1e-10)), 2),
                                "msssim": round(mean["msssim"], 4), "bpp": round(mean["bpp"], 4),
                                "g_adv": round(mean["g_adv"], 4), "d": round(mean["d"], 4)}}
            if step % cfg.validate_every == 0 or step == cfg.steps:
                record["val"] = validate(model, val_images, cfg)
            log_progress(log, record, t0, cfg.steps)
        if world.main and (step % cfg.checkpoint_every == 0 or step == cfg.steps):
            save_checkpoint({"model": model.state_dict(), "discriminator": D.state_dict(),
                             "optimizer": optimizer.state_dict(), "d_optimizer": d_optimizer.state_dict(),
                             "sampler_rng": pack_rng(sampler.rng), "rng": pack_rng(rng),
                             "torch_rng": torch.get_rng_state(), "step": step,
                             **({"cuda_rng": torch.cuda.get_rng_state()} if device.type == "cuda" else {}),
                             "elapsed": time.time() - t0, "config": asdict(cfg), "hardware": hardware}, ckpt_path)
    if log is not None:
        log.close()
    distributed.stop(world)
    return ckpt_path
