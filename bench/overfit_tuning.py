"""Short encoder-setting studies of the overfitted backend on validation crops of the photo corpus.

    python bench/overfit_tuning.py > bench/results/overfit/tuning.txt
    python bench/overfit_tuning.py --capacity >> bench/results/overfit/tuning.txt
    python bench/overfit_tuning.py --soft | --hard-phase STEPS | --avif >> bench/results/overfit/tuning.txt

Two 256×256 centre crops of photos in the corpus's *validation* split (never
Kodak, which is the evaluation set): a textured one (a branch with leaves) and
a smooth one (a beach). Each line fits the float model (before quantization)
with one setting changed, 300 steps at λ = 0.0025 (``--bits 4``), and prints
per crop the PSNR of the hard-rounded latents' reconstruction and the latents'
rate (the context model's bits; network parameters excluded), then the mean
objective MSE + λ·bpp (lower is better) and the CPU time. One seed per line
unless it says otherwise: crops are noisy, so these pick orders of magnitude
and fix failures, nothing finer. For scale, WebP (Pillow, quality 20) on the
same crops: 28.9 dB at 0.43 bpp and 34.2 dB at 0.09 bpp.

The "clamp" lines swap how the gradient crosses the decoder's clamps (pixels,
activations): ``straight-through`` (identity) and ``hard`` (none outside the
range) against the default ``restoring`` one (only gradients pointing back in).

``--capacity`` isolates the synthesis: a 128×128 crop of the textured photo,
integer (rounded, straight-through) latents, no rate term, 500 steps on the
full image, one line per clamp: what the fit can reach when nothing but the
gradient through the clamps differs.
"""
from __future__ import annotations

import math
import sys
import time

import numpy as np
import torch
from PIL import Image

import gzc.codec.overfit.encoder as encoder
from gzc.codec.overfit.architecture import Architecture
from gzc.tools.bench.metrics import psnr

PHOTOS = "../shared/data/photos/"
CROPS = ("budgie_backgrounds/budgie-branch_e983a3.jpg", "deepin_wallpapers/Beach_by_Samuel_Scrimshaw_4d5790.jpg")
LAM = 0.0025


def centre_crop(path: str, size: int = 256) -> np.ndarray:
    image = np.asarray(Image.open(PHOTOS + path).convert("RGB"))
    top, left = (image.shape[0] - size) // 2, (image.shape[1] - size) // 2
    return image[top:top + size, left:left + size].copy()


def straight_through(y: torch.Tensor, low: float, high: float) -> torch.Tensor:
    return y + (y.clamp(low, high) - y).detach()


def hard(y: torch.Tensor, low: float, high: float) -> torch.Tensor:
    return y.clamp(low, high)


def hard_metrics(model: encoder.OverfitModel, image: np.ndarray) -> tuple[float, float]:
    """(MSE, latents' bpp) of the model as the decoder sees it: hard-rounded latents, full size."""
    with torch.no_grad():
        q = model.quantized_latents(True)
        height, width = image.shape[:2]
        x = model.image(q, 0)[:height, :width].clamp(0, 1)
        mse = torch.mean((x - torch.from_numpy(image / 255.0).float()) ** 2).item()
        return mse, model.rate_bits(q, 0).item() / (height * width)


def run(tag: str, clamp=None, noise: float | None = None, soft: tuple[float, float] | None = None,
        hard_lr: float | None = None, hard_final_only: bool | None = None, hard_rate_continuous: bool = False,
        steps: int = 300, **settings) -> None:
    saved = (encoder.pixel_clamp, encoder.act, encoder.NOISE_SHARE, encoder.SOFT_ROUND, encoder.HARD_LATENT_LR,
             encoder.HARD_FINAL_ONLY, encoder.HARD_RATE_CONTINUOUS)
    encoder.SOFT_ROUND = soft
    encoder.HARD_RATE_CONTINUOUS = hard_rate_continuous
    if hard_lr is not None:
        encoder.HARD_LATENT_LR = hard_lr
    if hard_final_only is not None:
        encoder.HARD_FINAL_ONLY = hard_final_only
    if clamp is not None:
        encoder.pixel_clamp = lambda y: clamp(y, 0.0, encoder.PIXEL_REAL_MAX)
        encoder.act = lambda x: clamp(torch.relu(x), 0.0, encoder.ACT_REAL_MAX)
    if noise is not None:
        encoder.NOISE_SHARE = noise
    results, started = [], time.process_time()
    try:
        for path in CROPS:
            image = centre_crop(path)
            model = encoder.fit(image, encoder.EncodeSettings(lam=LAM, steps=steps, arch=Architecture(grids=6),
                                                              **settings))
            results.append(hard_metrics(model, image))
    finally:
        (encoder.pixel_clamp, encoder.act, encoder.NOISE_SHARE, encoder.SOFT_ROUND, encoder.HARD_LATENT_LR,
         encoder.HARD_FINAL_ONLY, encoder.HARD_RATE_CONTINUOUS) = saved
    cells = "  ".join(f"{10 * math.log10(1 / m):5.2f} dB {b:.3f} bpp" for m, b in results)
    objective = np.mean([m + LAM * b for m, b in results])
    print(f"{tag:34s} {cells}  objective {objective:.6f}  cpu {time.process_time() - started:.0f} s", flush=True)


def capacity(tag: str, clamp) -> None:
    saved = encoder.pixel_clamp, encoder.act
    encoder.pixel_clamp = lambda y: clamp(y, 0.0, encoder.PIXEL_REAL_MAX)
    encoder.act = lambda x: clamp(torch.relu(x), 0.0, encoder.ACT_REAL_MAX)
    try:
        torch.manual_seed(0)
        image = centre_crop(CROPS[0], 128)
        target = torch.from_numpy(image / 255.0).float()
        model = encoder.OverfitModel(Architecture(grids=6), 128, 128)
        settings = encoder.EncodeSettings(lam=0.0, steps=500)
        optimizer = encoder.make_optimizer(model, settings)
        for _ in range(settings.steps):
            mse = torch.mean((model.image(model.quantized_latents(True), 0) - target) ** 2)
            optimizer.zero_grad()
            mse.backward()
            optimizer.step()
    finally:
        encoder.pixel_clamp, encoder.act = saved
    print(f"capacity, clamp {tag:16s} {10 * math.log10(1 / mse.item()):5.2f} dB after 500 steps", flush=True)


def main() -> None:
    torch.set_num_threads(1)
    if sys.argv[1:] == ["--capacity"]:
        for tag, clamp in (("restoring", encoder.restoring_clamp), ("straight-through", straight_through),
                           ("hard", hard)):
            capacity(tag, clamp)
        return
    if sys.argv[1:2] == ["--hard-phase"]:
        steps = int(sys.argv[2]) if len(sys.argv) > 2 else 300
        for tag, options in (("hard-phase latent lr x1 (before)", {"hard_lr": 1.0}),
                             ("hard-phase latent lr x0.3", {"hard_lr": 0.3}),
                             ("hard-phase latent lr x0.1", {"hard_lr": 0.1}),
                             ("hard-phase latent lr x0.01", {"hard_lr": 0.01}),
                             ("hard only in the last stage", {"hard_lr": 1.0, "hard_final_only": True}),
                             ("both (x0.1, last stage)", {"hard_lr": 0.1, "hard_final_only": True}),
                             ("rate on unrounded latents", {"hard_lr": 1.0, "hard_rate_continuous": True})):
            run(f"{steps} steps, {tag}", steps=steps, **options)
        return
    if sys.argv[1:] == ["--avif"]:
        import io
        for path in CROPS:
            image = centre_crop(path)
            for quality in (20, 30, 40, 50, 60):
                buffer = io.BytesIO()
                Image.fromarray(image).save(buffer, "AVIF", quality=quality, speed=6, subsampling="4:2:0")
                decoded = np.asarray(Image.open(io.BytesIO(buffer.getvalue())).convert("RGB"))
                print(f"AVIF q{quality} (speed 6, 4:2:0) {path[:24]:24s} {psnr(image, decoded):5.2f} dB "
                      f"{buffer.tell() * 8 / 256 ** 2:.3f} bpp (file bytes)", flush=True)
        return
    if sys.argv[1:] == ["--soft"]:
        for seed in (0, 1):
            run(f"uniform noise, seed {seed}", seed=seed, soft=None)
        for soft in ((0.3, 0.1), (0.5, 0.2)):
            for seed in (0, 1):
                run(f"soft round {soft[0]}->{soft[1]}, seed {seed}", seed=seed, soft=soft)
        return
    for seed in (0, 1):
        run(f"defaults, seed {seed}", seed=seed)
    for latent_lr in (0.05, 0.2):
        run(f"latent lr {latent_lr}", latent_lr=latent_lr)
    run("networks' lr 2e-2", lr=2e-2)
    run("noise share 0.25", noise=0.25)
    run("noise share 0.75", noise=0.75)
    run("clamp straight-through", clamp=straight_through)
    run("clamp hard", clamp=hard)


if __name__ == "__main__":
    main()
