"""The default autoencoder on a flat picture: why smooth content costs it so much.

    python bench/flat_autoencoder.py > bench/results/flat_autoencoder.txt

A flat 768×512 RGB image (120, 140, 160) through the public API at ``--bits 6``,
with and without latent refinement (``--effort 2``), and AVIF for scale; bytes
are the encoded files' sizes, PSNR on the decoded 8-bit pixels, CPU seconds of
this process for the encode. The line to read is bits per latent: the
per-channel tables charge every latent about the same, whatever the picture.
"""
from __future__ import annotations

import io
import time

import numpy as np
from PIL import Image

import gzc
from gzc.tools.bench.metrics import psnr


def main() -> None:
    rgb = np.empty((512, 768, 3), dtype=np.uint8)
    rgb[...] = (120, 140, 160)
    image = Image.fromarray(rgb)
    for effort in (0, 2):
        started = time.process_time()
        data = gzc.encode(image, bits=6, effort=effort)
        seconds = time.process_time() - started
        header = gzc.read_header(data)
        latents = int(np.prod(header.latent_shape))
        print(f"flat 768x512, {gzc.read_header(data).model_id.hex()} (default model) --bits 6 --effort {effort}: "
              f"{len(data)} bytes, {psnr(np.asarray(gzc.decode(data)), rgb):.2f} dB, "
              f"{len(data) * 8 / latents:.3f} bits per latent ({latents} latents), encode {seconds:.0f} s CPU",
              flush=True)
    for quality in (30, 60):
        buffer = io.BytesIO()
        image.save(buffer, "AVIF", quality=quality, speed=6)
        decoded = np.asarray(Image.open(io.BytesIO(buffer.getvalue())).convert("RGB"))
        print(f"flat 768x512, AVIF quality {quality}: {buffer.tell()} bytes, {psnr(decoded, rgb):.2f} dB", flush=True)


if __name__ == "__main__":
    main()
