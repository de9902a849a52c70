"""Short encoder-setting studies of the overfitted backend on a 128×128 crop of kodim23.

    python bench/overfit_tuning.py > bench/results/overfit/tuning.txt

Each line fits the float model (before quantization) with one setting changed
and prints the latents' rate (the context model's bits, parameters excluded)
and the PSNR of the hard-rounded latents' reconstruction, with the CPU time.
Crops this small make every number noisy (one seed each): they are for
choosing the order of magnitude of the learning rate, the noisy-latent share
and the coarse-to-fine split, nothing finer. (Kodak is only the picture here,
not a selection set: these choices were not tuned on the benchmark's numbers.)
"""
from __future__ import annotations

import math
import time

import numpy as np
import torch
from PIL import Image

import gzc.codec.overfit.encoder as encoder
from gzc.codec.overfit.architecture import Architecture

KODIM23 = "../shared/data/kodak/kodim23.png"


def run(tag: str, image: np.ndarray, steps: int = 300, lam: float = 0.0025, lr: float = 1e-2, noise: float = 0.7,
        split: tuple | None = (0.4, 0.3, 0.3)) -> None:
    encoder.NOISE_SHARE = noise
    original = encoder.stages
    encoder.stages = (lambda g: [(0, 1.0)]) if split is None else (lambda g: list(zip((2, 1, 0), split)))
    try:
        t = time.process_time()
        model = encoder.fit(image, encoder.EncodeSettings(lam=lam, steps=steps, lr=lr, arch=Architecture(grids=6)))
        q = model.quantized_latents(True)
        with torch.no_grad():
            h, w = image.shape[:2]
            x = model.image(q, 0)[:h, :w].clamp(0, 1)
            mse = torch.mean((x - torch.from_numpy(image / 255.0).float()) ** 2).item()
            bpp = model.rate_bits(q, 0).item() / (h * w)
    finally:
        encoder.stages = original
    print(f"{tag:32s} {bpp:.3f} bpp (latents) {10 * math.log10(1 / mse):.2f} dB  cpu {time.process_time() - t:.0f} s",
          flush=True)


def main() -> None:
    torch.set_num_threads(1)
    crop = np.asarray(Image.open(KODIM23).convert("RGB"))[128:256, 256:384].copy()
    run("lr 1e-2, noise 0.7 (first)", crop)
    run("noise 0.3", crop, noise=0.3)
    run("no stages", crop, split=None)
    run("lr 2e-2", crop, lr=2e-2)
    run("lr 5e-3", crop, lr=5e-3)
    run("lr 2e-2, noise 0.3", crop, lr=2e-2, noise=0.3)
    run("lr 3e-2, noise 0.3", crop, lr=3e-2, noise=0.3)
    for split in ((0.4, 0.3, 0.3), (0.5, 0.3, 0.2), (0.3, 0.3, 0.4)):
        run(f"600 steps, noise 0.5, split {split}", crop, steps=600, lr=2e-2, noise=0.5, split=split)
    run("600 steps, noise 0.5, no stages", crop, steps=600, lr=2e-2, noise=0.5, split=None)
    run("300 steps, chosen", crop, lr=2e-2, noise=0.5, split=(0.5, 0.3, 0.2))
    run("1000 steps, chosen", crop, steps=1000, lr=2e-2, noise=0.5, split=(0.5, 0.3, 0.2))


if __name__ == "__main__":
    main()
