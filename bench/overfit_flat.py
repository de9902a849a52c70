"""A flat 768×512 image through the overfitted backend: the smooth-content case.

    python bench/overfit_flat.py > bench/results/overfit/flat.txt

One uniform colour, ``--bits 4`` at efforts 0 and 1, one torch thread; prints the
file size (bytes × 8 / pixels), the largest pixel error of the decoded file and
the encoder's CPU time. The issue's target for this image is ≤ 0.01 bpp (AVIF
needs about 400 bytes).
"""
from __future__ import annotations

import time

import numpy as np
import torch
from PIL import Image

import gzc


def main() -> None:
    torch.set_num_threads(1)
    image = Image.new("RGB", (768, 512), (120, 140, 160))
    for effort in (0, 1):
        started = time.process_time()
        data = gzc.encode(image, backend="overfit", bits=4, effort=effort)
        seconds = time.process_time() - started
        error = np.abs(np.asarray(gzc.decode(data), dtype=int) - np.asarray(image, dtype=int)).max()
        print(f"flat 768x512, --bits 4 --effort {effort}: {len(data)} bytes = {len(data) * 8 / (768 * 512):.4f} bpp, "
              f"max error {error}, encode {seconds:.0f} s CPU", flush=True)


if __name__ == "__main__":
    main()
