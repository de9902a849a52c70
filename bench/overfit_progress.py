"""Where a default-effort fit stands when it stops: the loss every 25 steps of one encode.

    python bench/overfit_progress.py > bench/results/overfit/progress.txt

kodim23 at ``--bits 4 --effort 1`` (the backend's settings), one torch thread.
Each line is the step's own loss terms, as the progress bar prints them: PSNR
and bits per pixel *of that stage's resolution* (1/4, 1/2, then full size),
with noisy latents in the first half of each stage and rounded ones in the
second, so the lines are the optimiser's view, not the file's. The question
it answers: is the fit still climbing when the step budget ends (then steps,
that is speed, are what limit quality at this effort)?
"""
from __future__ import annotations

import contextlib
import io
import sys
import time

import numpy as np
import torch
from PIL import Image

from gzc.codec.overfit import encoder
from gzc.codec.overfit.architecture import LAMBDAS
from gzc.codec.overfit.backend import ARCHITECTURES, EFFORT_STEPS

KODIM23 = "../shared/data/kodak/kodim23.png"


def main() -> None:
    torch.set_num_threads(1)
    rgb = np.asarray(Image.open(KODIM23).convert("RGB"))
    settings = encoder.EncodeSettings(lam=LAMBDAS[4], steps=EFFORT_STEPS[1], arch=ARCHITECTURES[4], progress=True)
    captured = io.StringIO()
    started = time.process_time()
    with encoder.heap_allocations(), contextlib.redirect_stderr(captured):
        encoder.fit(rgb, settings)
    print(f"kodim23, --bits 4 --effort 1 ({settings.steps} steps), fit {time.process_time() - started:.0f} s CPU")
    for line in captured.getvalue().replace("\r", "\n").splitlines():
        if "size" in line:
            step, rest = line.split("] ", 1)[1].split(" ", 1)
            print(f"step {step:>9s}  {rest.rsplit(' ', 2)[0]}")


if __name__ == "__main__":
    sys.exit(main())
