"""gzc-train: train and export models (never run in CI).

    gzc-train autoencoder --run runs/ae-vr --steps 20000     # trains, resumable
    gzc-train export-autoencoder --run runs/ae-vr --name ae-vr-n96 --default
    gzc-train generative --run runs/gen-c16 --steps 12000   # adversarial extreme-rate model
    gzc-train export-autoencoder --run runs/gen-c16 --name gen-c16-v1
    gzc-train latent-search --run runs/faces --steps 6000          # face generator
    gzc-train export-latent-search --run runs/faces --name faces-vaegan-v1

Every training command also runs data-parallel under torchrun, e.g. on 4 GPUs
(``--batch`` stays the global batch; multi-node commands in docs/training.md)::

    torchrun --standalone --nproc-per-node 4 -m gzc.tools.train -- generative --run runs/gen --device cuda

Training resumes automatically from ``<run>/checkpoint.pt``; progress is printed
and logged to ``<run>/log.jsonl``. Export writes ``weights/NAME.safetensors`` and
``weights/NAME.json`` (manifest with data, steps, wall time, validation metrics).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import List, Optional

import typer

from ..codec.training.autoencoder.generative_config import GenerativeConfig
from .cli_common import new_app, run_app

GENERATIVE = GenerativeConfig()   # the defaults of `gzc-train generative` (torch-free)
app = new_app(no_args_is_help=True)


def read_log(run: Path) -> dict:
    """``<run>/log.jsonl`` by step; a resumed run may repeat steps: the latest record wins."""
    log = {}
    for line in (run / "log.jsonl").read_text().splitlines():
        rec = json.loads(line)
        log[rec["step"]] = rec
    return log


@app.command("autoencoder")
def train_autoencoder(
    run: Path = typer.Option(..., help="run folder (checkpoint, log, config); resumed if it exists"),
    steps: int = typer.Option(20000, help="total optimisation steps"),
    batch: int = typer.Option(8, help="crops per batch"),
    crop: int = typer.Option(128, help="crop side in pixels"),
    lr: float = typer.Option(3e-4, help="peak learning rate (cosine decay)"),
    threads: int = typer.Option(2, help="torch threads"),
    data: Optional[List[Path]] = typer.Option(None, help="training image folders, or the photo corpus's "
                                              "manifest with a split, e.g. ../shared/data/photos/MANIFEST.tsv#train "
                                              "(default: ../shared/data/bsds500/train and test)"),
    val: Path = typer.Option(Path("../shared/data/bsds500/val"), help="validation folder or corpus split"),
    val_count: int = typer.Option(12, help="validation images (centre crops)"),
    val_size: int = typer.Option(160, help="validation crop side in pixels"),
    n: int = typer.Option(96, help="transform width"),
    m: int = typer.Option(160, help="latent channels"),
    context: bool = typer.Option(False, help="learn a context prior for coder 3 (spec §6.3) "
                                 "instead of a factorized one"),
    init: Optional[Path] = typer.Option(None, help="start from a shipped model's .safetensors"),
    lambdas: str = typer.Option("", help="the rate–distortion ladder, BITS=λ pairs, comma-separated "
                                "(default: 4=0.00045,5=0.0011,6=0.0027,7=0.0058,8=0.0125)"),
    lr_final: float = typer.Option(1e-5, help="final learning rate of the cosine decay"),
    warmup: int = typer.Option(200, help="learning-rate warm-up steps"),
    device: str = typer.Option("cpu", help="torch device: cpu, or cuda (under torchrun: the local rank's GPU)"),
) -> None:
    """Train the variable-rate autoencoder (all --bits settings at once)."""
    from ..codec.training.autoencoder.fidelity import TrainConfig, train
    cfg = TrainConfig(steps=steps, batch=batch, crop=crop, lr=lr, lr_final=lr_final, warmup=warmup,
                      threads=threads, val=str(val), val_count=val_count, val_size=val_size, n=n, m=m,
                      context=int(context), init=str(init) if init else "", device=device)
    if lambdas:
        pairs = [item.split("=") for item in lambdas.split(",")]
        cfg.lambdas = {int(b): float(v) for b, v in pairs}
        if sorted(cfg.lambdas) != sorted(TrainConfig().lambdas):
            raise typer.BadParameter(f"give a λ for each of --bits {sorted(TrainConfig().lambdas)}")
    if data:
        cfg.data = [str(d) for d in data]
    train(run, cfg)


@app.command("generative")
def train_generative(
    run: Path = typer.Option(..., help="run folder (checkpoint, log, config); resumed if it exists"),
    steps: int = typer.Option(GENERATIVE.steps, help="total optimisation steps"),
    gan_start: int = typer.Option(GENERATIVE.gan_start,
                                  help="steps of distortion + rate training before the GAN loss starts"),
    gan_weight: float = typer.Option(GENERATIVE.gan_weight, help="weight of the least-squares GAN loss"),
    init: Path = typer.Option(Path(GENERATIVE.init),
                              help="MSE-trained autoencoder whose transforms start the run"),
    c: int = typer.Option(GENERATIVE.c, help="bottleneck channels (the largest rate point)"),
    lr: float = typer.Option(GENERATIVE.lr, help="peak learning rate (cosine decay to a tenth of --lr)"),
    start_from: Optional[Path] = typer.Option(None, help="start from this finished run's checkpoint.pt "
                                              "(model and discriminator) or a shipped model's .safetensors "
                                              "(model; fresh discriminator) instead of --init"),
    decoder_only: bool = typer.Option(False, help="train only the decoder (the codes stay as they are)"),
    conditional: bool = typer.Option(GENERATIVE.conditional,
                                     help="the discriminator also sees the code (VAE-GAN/HiFiC); "
                                     "--no-conditional: it sees only the image (Agustsson et al. 2018)"),
    mse_weight: float = typer.Option(GENERATIVE.mse_weight, help="distortion: weight of MSE (images in [0, 1])"),
    msssim_weight: float = typer.Option(GENERATIVE.msssim_weight, help="distortion: weight of 1 − MS-SSIM"),
    msssim_scales: int = typer.Option(GENERATIVE.msssim_scales,
                                      help="MS-SSIM in the loss: 3 = three-scale proxy (any crop), "
                                      "5 = the benchmark's five-scale MS-SSIM (--crop ≥ 176)"),
    crop: int = typer.Option(GENERATIVE.crop, help="crop side in pixels"),
    batch: int = typer.Option(GENERATIVE.batch, help="crops per batch"),
    rate_weight: float = typer.Option(GENERATIVE.rate_weight, help="weight of the rate (bits per pixel)"),
    warmup: int = typer.Option(GENERATIVE.warmup, help="learning-rate warm-up steps"),
    bits: str = typer.Option(",".join(map(str, GENERATIVE.bits)),
                             help="the --bits settings the model offers (comma-separated); settings "
                             "the start model lacks begin with the gains of its nearest one"),
    context: bool = typer.Option(False, help="learn a context prior for coder 3 (checkerboard + channel "
                                 "context, spec §6.3) instead of a factorized one"),
    bits_weights: str = typer.Option("", help="relative training frequencies of the --bits settings, "
                                     "comma-separated (default: equal)"),
    channel_weights: str = typer.Option("", help="relative training frequencies of the channel counts "
                                        "(2, 4, 8, 16, …), comma-separated (default: equal)"),
    bits_rate_weights: str = typer.Option("", help="a rate weight per --bits setting, comma-separated "
                                          "(default: --rate-weight for all)"),
    threads: int = typer.Option(GENERATIVE.threads, help="torch threads"),
    device: str = typer.Option(GENERATIVE.device, help="torch device: cpu, or cuda on a GPU machine"),
    minutes: float = typer.Option(GENERATIVE.minutes, help="time budget: after a short measurement, --steps "
                                  "shrinks so that the run (and its learning-rate schedule) ends within it"),
) -> None:
    """Train a generative extreme-rate autoencoder (nested channel rate points, ROI-aware)."""
    from ..codec.training.autoencoder.generative import train
    channels = tuple(k for k in (2, 4, 8, 16, 32) if k <= c)
    train(run, GenerativeConfig(steps=steps, gan_start=gan_start, gan_weight=gan_weight, init=str(init), c=c,
                                channels=channels, lr=lr, lr_final=lr / 10, threads=threads,
                                start_from=str(start_from or ""), decoder_only=decoder_only,
                                conditional=conditional, mse_weight=mse_weight, msssim_weight=msssim_weight,
                                msssim_scales=msssim_scales, crop=crop, batch=batch,
                                rate_weight=rate_weight, warmup=warmup, context=int(context),
                                device=device, minutes=minutes, bits_weights=_floats(bits_weights),
                                channel_weights=_floats(channel_weights),
                                bits_rate_weights=_floats(bits_rate_weights),
                                bits=tuple(int(b) for b in bits.split(","))))


def _floats(text: str) -> tuple[float, ...]:
    return tuple(float(v) for v in text.split(",")) if text else ()


@app.command("snapshot")
def snapshot_run(
    run: Path = typer.Option(..., help="run folder with checkpoint.pt and log.jsonl"),
    out: Path = typer.Option(..., help="output stem, e.g. weights/campaign/fid-ctx (writes .safetensors, .json)"),
    note: str = typer.Option("", help="free text recorded in the JSON (e.g. where the run stands)"),
) -> None:
    """Save a run's weights (float16, no optimiser state) and its trajectory, to resume a long
    campaign elsewhere with --init; not a shipped model (export-autoencoder makes those)."""
    from ..codec.training.common import snapshot
    record = snapshot(run, out, note)
    typer.echo(f"{out}.safetensors: step {record['step']}, {record['hours']} h of training")


@app.command("export-autoencoder")
def export_autoencoder(
    run: Path = typer.Option(..., help="run folder with checkpoint.pt and log.jsonl"),
    name: str = typer.Option(..., help="model name (file stem in weights/)"),
    out: Path = typer.Option(None, help="weights folder (default: the installed gzc weights folder)"),
    default: bool = typer.Option(False, help="mark as the default model"),
    note: Optional[str] = typer.Option(None, help="free-text history of the run, recorded in the manifest"),
    count_tables: bool = typer.Option(True, help="context models: count the tables on the run's training "
                                      "images (--no-count-tables: use the trained prior's densities)"),
) -> None:
    """Export an autoencoder checkpoint (MSE-trained or generative) as safetensors + integer
    entropy tables + manifest."""
    import torch

    from ..codec.training.autoencoder.export import export
    from ..weights import WEIGHTS_DIR
    state = torch.load(run / "checkpoint.pt", weights_only=False, map_location="cpu")
    log = read_log(run)
    last_val = next((log[s]["val"] for s in sorted(log, reverse=True) if "val" in log[s]), None)
    record = {
        "data": state["config"]["data"],
        "validation": state["config"]["val"],
        "crops": f"{state['config']['crop']}x{state['config']['crop']}, batch {state['config']['batch']}, "
                 "BSDS500 resized by 0.5/0.6/0.7 (Lanczos; the sizes at least as large as the crop), random flips",
        "steps": state["step"],
        "wall_time_hours": round(state["elapsed"] / 3600, 2),
        "hardware": state.get("hardware", "2 CPU cores (no GPU)"),
        "config": state["config"],
        "final_validation_estimate": last_val,
        "command": (_generative_command(run, state["config"]) if "gan_start" in state["config"]
                    else f"gzc-train autoencoder --run {run} --steps {state['config']['steps']}"),
    }
    if note:
        record["note"] = note
    count_images = None
    if count_tables and state["config"].get("context"):
        from ..codec.training.autoencoder.dataset import list_images
        count_images = list_images([Path(d) for d in state["config"]["data"]])
    manifest = export(run / "checkpoint.pt", name, out or WEIGHTS_DIR, record, default=default,
                      count_images=count_images)
    print(f"exported {name}: model ID {manifest['model_id']}")


def _generative_command(run: Path, cfg: dict) -> str:
    default = GENERATIVE
    command = (f"gzc-train generative --run {run} --steps {cfg['steps']} --gan-start {cfg['gan_start']} "
               f"--gan-weight {cfg['gan_weight']} --lr {cfg['lr']}")
    if cfg.get("start_from"):
        command += f" --start-from {cfg['start_from']}"
    for key in ("mse_weight", "msssim_weight", "msssim_scales", "crop", "batch", "rate_weight", "warmup",
                "device", "minutes"):
        # only where the run differs
        if key in cfg and cfg[key] != getattr(default, key):
            command += f" --{key.replace('_', '-')} {cfg[key]}"
    if not cfg.get("conditional", True):
        command += " --no-conditional"
    if cfg.get("context"):
        command += " --context"
    if tuple(cfg.get("bits", default.bits)) != tuple(default.bits):
        command += f" --bits {','.join(map(str, cfg['bits']))}"
    for key in ("bits_weights", "channel_weights", "bits_rate_weights"):
        if cfg.get(key):
            command += f" --{key.replace('_', '-')} {','.join(f'{w:g}' for w in cfg[key])}"
    return command + (" --decoder-only" if cfg.get("decoder_only") else "")


@app.command("latent-search")
def train_latent_search(
    run: Path = typer.Option(..., help="run folder (checkpoint, log, config); resumed if it exists"),
    steps: int = typer.Option(6000, help="total optimisation steps"),
    batch: int = typer.Option(32, help="faces per batch"),
    z_dim: int = typer.Option(128, help="latent dimensions"),
    width: int = typer.Option(32, help="generator width (channels of its 64x64 feature map)"),
    kl_weight: float = typer.Option(1.0, help="weight of the KL term (nats per pixel value); lower = more "
                                    "information in z, sharper reconstructions"),
    threads: int = typer.Option(2, help="torch threads"),
    faces: Path = typer.Option(Path("../shared/data/faces/celeba"), help="CelebA aligned faces folder"),
    device: str = typer.Option("cpu", help="torch device: cpu, or cuda (under torchrun: the local rank's GPU)"),
) -> None:
    """Train the 64x64 face generator (VAE-GAN) used by the latent-search backend."""
    from ..codec.training.latent_search.trainer import TrainConfig, train
    train(run, TrainConfig(steps=steps, batch=batch, z_dim=z_dim, width=width, threads=threads, faces=str(faces),
                           kl_weight=kl_weight, device=device))


@app.command("export-latent-search")
def export_latent_search(
    run: Path = typer.Option(..., help="run folder with checkpoint.pt, log.jsonl and faces64.npz"),
    name: str = typer.Option(..., help="model name (file stem in weights/)"),
    out: Path = typer.Option(None, help="weights folder (default: the installed gzc weights folder)"),
    quantizer: str = typer.Option("uniform", help="uniform or quantile (see bench/results/faces)"),
    clip: float = typer.Option(3.0, help="uniform quantizer range: latents are clipped to ±CLIP"),
    probe_faces: int = typer.Option(32, help="training faces searched to measure the latent statistics"),
    note: Optional[str] = typer.Option(None, help="free-text history of the run, recorded in the manifest"),
) -> None:
    """Export the face generator + encoder + integer entropy tables + manifest."""
    import torch

    from ..codec.training.latent_search.export import export
    from ..weights import WEIGHTS_DIR
    state = torch.load(run / "checkpoint.pt", weights_only=False)
    log = read_log(run)
    cfg = state["config"]
    record = {
        "data": f"{cfg['faces']} 000001-008800 (CelebA aligned, centre crop (10,20,80,90) -> 64x64 Lanczos, "
                "random horizontal flips); 008801-009000 validation; 009001-010000 held out for results",
        "method": "VAE-GAN: L1 reconstruction + KL + least-squares GAN loss against a two-scale spectrally "
                  "normalised discriminator (codec/training/latent_search/trainer.py)",
        "steps": state["step"],
        "batch": cfg["batch"],
        "wall_time_hours": round(state["elapsed"] / 3600, 2),
        "hardware": "2 CPU cores (no GPU)",
        "config": cfg,
        "final_validation": next((log[s]["val"] for s in sorted(log, reverse=True) if "val" in log[s]), None),
        "final_train_losses": log[max(log)]["train"] if log else None,
        "command": f"gzc-train latent-search --run {run} --steps {cfg['steps']}",
    }
    if note:
        record["note"] = note
    manifest = export(run / "checkpoint.pt", run / "faces64.npz", name, out or WEIGHTS_DIR, record,
                      quantizer=quantizer, clip=clip, probe_faces=probe_faces)
    print(f"exported {name}: model ID {manifest['model_id']}")


def main() -> None:
    run_app(app, "gzc-train")


if __name__ == "__main__":
    main()
