"""The objective along one fit of the overfitted encoder: where the steps go.

    PYTHONPATH=bench python bench/overfit_trajectory.py --steps 3000 [--hard-lr 1] >> bench/results/overfit/trajectory.txt

One 256×256 centre crop of a photo in the corpus's *validation* split (the
textured crop of ``overfit_tuning.py``; never Kodak), λ = 0.0025
(``--bits 4``), one thread. Every ``steps / 40`` optimiser steps it prints
the latents' learning rate, then the PSNR, the latents' rate (context-model
bits; network parameters excluded) and the objective MSE + λ·bpp of the
model *as the decoder would see it*: hard-rounded latents, full size. In the
coarse stages the finer grids are still zero, so only the last stage's
values compare with the end result.

This is the study that found the hard phase's flaw: with straight-through
rounding, the rate's gradient vanishes while a latent rounds to its predicted
mean, so at the latents' learning rate the distortion's gradient walks them
across rounding boundaries and the rate climbs (``--hard-lr`` scales the
latents' rate in that phase; the encoder's default is
``min(1, encoder.HARD_PHASE_STEPS / steps)``).
"""
from __future__ import annotations

import argparse
import math

import torch

import gzc.codec.overfit.encoder as encoder
from gzc.codec.overfit.architecture import Architecture
from overfit_tuning import CROPS, LAM, centre_crop, hard_metrics


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--hard-lr", type=float, default=None, help="the hard phase's latent rate factor")
    args = parser.parse_args()
    torch.set_num_threads(1)
    if args.hard_lr is not None:
        encoder.HARD_LATENT_LR = args.hard_lr
    image = centre_crop(CROPS[0])
    every = max(1, args.steps // 40)
    factor = args.hard_lr if args.hard_lr is not None else min(1.0, encoder.HARD_PHASE_STEPS / args.steps)
    print(f"# {args.steps} steps, hard-phase latent lr x{factor:g}, crop {CROPS[0]}", flush=True)
    models: list[encoder.OverfitModel] = []
    adam_step = torch.optim.Adam.step
    model_init = encoder.OverfitModel.__init__

    def init(self, *a, **k):
        model_init(self, *a, **k)
        models.append(self)

    def step(self, *a, **k):
        result = adam_step(self, *a, **k)
        self.count = getattr(self, "count", 0) + 1
        if self.count % every == 0:
            mse, bpp = hard_metrics(models[-1], image)
            print(f"{self.count:6d}  latent lr {self.param_groups[0]['lr']:.4f}  {10 * math.log10(1 / mse):5.2f} dB "
                  f"{bpp:.3f} bpp  objective {mse + LAM * bpp:.6f}", flush=True)
        return result

    encoder.OverfitModel.__init__, torch.optim.Adam.step = init, step
    try:
        encoder.fit(image, encoder.EncodeSettings(lam=LAM, steps=args.steps, arch=Architecture(grids=6)))
    finally:
        encoder.OverfitModel.__init__, torch.optim.Adam.step = model_init, adam_step


if __name__ == "__main__":
    main()
