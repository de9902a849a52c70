"""Training the face generator (VAE-GAN), resumable; started by ``gzc-train latent-search``.

The generator G is trained as a GAN (least-squares loss against a two-scale
spectrally normalised discriminator) *and* as the decoder of a VAE whose
encoder E maps faces to z:

    loss_G,E = L1(G(E(x)), x) + kl_weight · KL(E(x) ‖ N(0, I)) / pixels
               + adv_weight · [LS-GAN(G(E(x))) + LS-GAN(G(z ~ N(0, I)))]

Why not a pure GAN: encoding *inverts* G, and a GAN trained for an hour on
two CPU cores covers only part of the face distribution (mode dropping), so
many held-out faces have no close G(z) at all. The reconstruction term makes
G cover every training face, the KL term keeps the latents near N(0, I) (and
its posterior noise makes G tolerant of latent quantization), and E gives the
latent search an amortized first guess. G alone still generates faces from
z ~ N(0, I), as a GAN generator should.

Checkpoints (``<run>/checkpoint.pt``, atomic) hold everything needed to
resume bit-for-bit; progress goes to stdout and ``<run>/log.jsonl``.
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from ...latent_search.networks import Encoder, Generator, GeneratorConfig
from .. import distributed
from ..adversarial import ls_fake, ls_real
from ..common import (checkpoint_path, load_checkpoint, log_progress, record_changes, restore, save_checkpoint,
                      write_config)
from .discriminator import Discriminator
from .faces import FACES_DIR, TRAIN, VALIDATION, load_faces


@dataclass
class TrainConfig:
    faces: str = str(FACES_DIR)
    steps: int = 6000
    batch: int = 32
    lr: float = 2e-4
    z_dim: int = 128
    width: int = 32
    kl_weight: float = 1.0
    adv_weight: float = 0.02
    seed: int = 1
    threads: int = 2
    log_every: int = 50
    checkpoint_every: int = 200
    validate_every: int = 500
    device: str = "cpu"         # "cuda": under torchrun, each process takes the GPU of its local rank


def _to_tensor(faces: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(faces).permute(0, 3, 1, 2).float() / 255.0


@torch.no_grad()
def validate(G: Generator, E: Encoder, faces: torch.Tensor) -> dict:
    """PSNR of G(E(x)) (no search, float latent) on the validation faces: a lower bound
    on what the latent search reaches, cheap enough to log during training."""
    G.eval(), E.eval()
    mu, _ = E(faces)
    x = G(mu)
    mse = ((torch.round(x * 255) - faces * 255) ** 2).mean(dim=(1, 2, 3))
    G.train(), E.train()
    return {"psnr_amortized": round(float((10 * torch.log10(255 ** 2 / mse)).mean()), 3),
            "latent_std": round(float(mu.std()), 3)}


def train(run_dir: Path, cfg: TrainConfig) -> Path:
    """Train (or resume) the run in ``run_dir``; under ``torchrun`` as one of several processes
    that share each batch of ``cfg.batch`` faces (:mod:`..distributed`; batch norm then
    normalises each process's share, not the whole batch)."""
    world, device = distributed.start(cfg.device)
    shard = world.shard(cfg.batch)
    run_dir.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)       # every rank: latent samples are drawn for the global batch
    gcfg = GeneratorConfig(z_dim=cfg.z_dim, width=cfg.width)
    G, E, D = (net.to(device) for net in (Generator(gcfg), Encoder(gcfg), Discriminator(cfg.width)))
    opt_ge = torch.optim.Adam(list(G.parameters()) + list(E.parameters()), lr=cfg.lr, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), lr=cfg.lr, betas=(0.5, 0.999))
    cache = run_dir / "faces64.npz"
    if world.main and not cache.exists():
        np.savez(cache, train=load_faces(TRAIN, Path(cfg.faces)), val=load_faces(VALIDATION, Path(cfg.faces)))
    world.barrier()
    data = np.load(cache)
    train_faces, val_faces = _to_tensor(data["train"]), _to_tensor(data["val"]).to(device)
    rng = np.random.default_rng(cfg.seed)
    step, elapsed = 0, 0.0
    ckpt_path = checkpoint_path(run_dir)
    state = load_checkpoint(ckpt_path)
    if state is not None:
        restore(state, G=G, E=E, D=D, opt_ge=opt_ge, opt_d=opt_d)
        rng.bit_generator.state = state["rng"]
        torch.set_rng_state(state["torch_rng"])
        step, elapsed = state["step"], state["elapsed"]
        print(f"resumed from step {step} ({elapsed / 60:.1f} min trained)", flush=True)
        changed = record_changes(run_dir, step, state["config"], asdict(cfg)) if world.main else {}
        if changed:
            print(f"settings changed on resume (old, new): {changed}", flush=True)
    for net in (G, E, D):
        world.broadcast_module(net)
    if world.main:
        write_config(run_dir, cfg)
    log = open(run_dir / "log.jsonl", "a") if world.main else None
    pixels = 3 * 64 * 64
    window: dict[str, list] = {}
    t0 = time.time() - elapsed
    while step < cfg.steps:
        idx = rng.integers(0, len(train_faces), cfg.batch)[shard]
        x = train_faces[idx]
        flip = torch.from_numpy(rng.random(cfg.batch) < 0.5)[shard]
        x = torch.where(flip.view(-1, 1, 1, 1), x.flip(3), x).to(device)
        # generator + encoder step (the samples drawn for the whole batch, on the CPU: one stream)
        mu, logvar = E(x)
        z = mu + torch.randn(cfg.batch, cfg.z_dim)[shard].to(device) * (0.5 * logvar).exp()
        x_rec = G(z)
        x_gen = G(torch.randn(cfg.batch, cfg.z_dim)[shard].to(device))
        l1 = (x_rec - x).abs().mean()
        kl = 0.5 * (mu ** 2 + logvar.exp() - 1 - logvar).sum(dim=1).mean()
        adv = ls_real(D(x_rec)) + ls_real(D(x_gen))
        loss = l1 + cfg.kl_weight * kl / pixels + cfg.adv_weight * adv
        opt_ge.zero_grad(set_to_none=True)
        loss.backward()
        world.average_gradients(list(G.parameters()) + list(E.parameters()))
        opt_ge.step()
        # discriminator step
        d_loss = ls_real(D(x)) + 0.5 * (ls_fake(D(x_rec.detach())) + ls_fake(D(x_gen.detach())))
        opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        world.average_gradients(D.parameters())
        opt_d.step()
        step += 1
        for k, v in (("l1", l1), ("kl", kl), ("adv", adv), ("d", d_loss)):
            window.setdefault(k, []).append(v.item())
        if step % cfg.log_every == 0 or step == cfg.steps:
            means = world.mean({k: float(np.mean(v)) for k, v in window.items()})
            window = {}
            if not world.main:
                continue
            record = {"step": step, "minutes": round((time.time() - t0) / 60, 2),
                      "train": {k: round(v, 4) for k, v in means.items()}}
            if step % cfg.validate_every == 0 or step == cfg.steps:
                record["val"] = validate(G, E, val_faces)
            log_progress(log, record, t0, cfg.steps)
        if world.main and (step % cfg.checkpoint_every == 0 or step == cfg.steps):
            save_checkpoint({"G": G.state_dict(), "E": E.state_dict(), "D": D.state_dict(),
                             "opt_ge": opt_ge.state_dict(), "opt_d": opt_d.state_dict(),
                             "rng": rng.bit_generator.state, "torch_rng": torch.get_rng_state(),
                             "step": step, "elapsed": time.time() - t0, "config": asdict(cfg),
                             "generator_config": gcfg.to_dict()}, ckpt_path)
            if step % 1000 == 0:
                torch.save({"G": G.state_dict(), "E": E.state_dict(), "step": step},
                           run_dir / f"snapshot-{step:06d}.pt")
    if log is not None:
        log.close()
    distributed.stop(world)
    return ckpt_path
