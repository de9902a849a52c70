"""A flat and a smoothly graded 768×512 image through the overfitted backend: smooth content.

    python bench/overfit_flat.py > bench/results/overfit/flat.txt

One uniform colour, ``--bits 4`` at efforts 0 and 1, one torch thread; prints the
file size (bytes × 8 / pixels), the largest pixel error of the decoded file and
the encoder's CPU time. The issue's target for this image is ≤ 0.01 bpp (AVIF
needs about 400 bytes).

Then a smooth gradient (each channel a linear ramp across the image, as a
sky or a lit wall) at ``--bits 4 --effort 0``, with AVIF (speed 6, Pillow)
at three qualities for scale: the bytes and the PSNR of each file.
"""
from __future__ import annotations

import io
import time

import numpy as np
import torch
from PIL import Image

import gzc
from gzc.tools.bench.metrics import psnr


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
    gradient()


def gradient() -> None:
    y, x = np.mgrid[0:512, 0:768]
    rgb = np.round(np.stack([60 + 120 * x / 767, 90 + 100 * y / 511, 200 - 80 * (x + y) / 1278], -1))
    rgb = rgb.astype(np.uint8)
    image = Image.fromarray(rgb)
    for quality in (30, 50, 70):
        buffer = io.BytesIO()
        image.save(buffer, "AVIF", quality=quality, speed=6)
        decoded = np.asarray(Image.open(io.BytesIO(buffer.getvalue())).convert("RGB"))
        print(f"gradient 768x512, AVIF quality {quality}: {buffer.tell()} bytes, {psnr(decoded, rgb):.2f} dB",
              flush=True)
    started = time.process_time()
    data = gzc.encode(image, backend="overfit", bits=4, effort=0)
    seconds = time.process_time() - started
    print(f"gradient 768x512, overfit --bits 4 --effort 0: {len(data)} bytes, "
          f"{psnr(np.asarray(gzc.decode(data)), rgb):.2f} dB, encode {seconds:.0f} s CPU", flush=True)


if __name__ == "__main__":
    main()
