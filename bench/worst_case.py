"""Worst case for a decoder: a small file that declares the largest image the pixel limit allows.

    python bench/worst_case.py                 # 8192x8192 = the default limit (67,108,864 pixels)
    python bench/worst_case.py --side 4096     # a smaller square, where the full size takes too long

A .gzc header may declare any size up to the decoder's pixel limit (``--max-pixels``,
``gzc.decode(max_pixels=)``, default 8192² = 2^26), and the synthesis runs over every
declared pixel whatever the payload says. So the cheapest attack on a service that decodes
untrusted files is a file whose latent is all zeros: the range coder spends a small fraction
of a bit on each of the model's most probable symbols, and the decoder still synthesises the
full image. This script builds that file for the default autoencoder model (at the ``--bits``
whose payload is smallest), then decodes it with ``gzc.decode`` in a fresh process and reports
the file size (and that of the file at the full limit, built but not decoded), the decode
time, and the process's peak memory (ru_maxrss), next to the same
process's peak after decoding a 16×16 file of the same model (Python, numpy and the model
loaded) so the image's own share is visible. Output: bench/results/worst_case/SIDE.json.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from gzc import formats
from gzc.codec.codec import CODERS, encode_payload, resolve_coder
from gzc.codec.imageio import DEFAULT_MAX_PIXELS
from gzc.codec.registry import find_model, load_backend

ROOT = Path(__file__).resolve().parent.parent
OUT_DIR = ROOT / "bench" / "results" / "worst_case"

# The decode runs in a child of its own, so its peak RSS is the decode's alone: warm up on a
# 16x16 file (imports, weights), note the peak, then decode the big file and note it again.
CHILD = """
import json, resource, sys, time
import gzc
small, big = open(sys.argv[1], "rb").read(), open(sys.argv[2], "rb").read()
gzc.decode(small)
warm_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
t = time.perf_counter()
image = gzc.decode(big)
seconds = time.perf_counter() - t
print(json.dumps({"decode_s": round(seconds, 2), "peak_rss_mb": round(resource.getrusage(
    resource.RUSAGE_SELF).ru_maxrss / 1024, 1), "peak_rss_after_16x16_mb": round(warm_mb, 1),
    "decoded_size": list(image.size), "decoded_mode": image.mode}))
"""


def zero_latent_file(backend, width: int, height: int, bits: int) -> bytes:
    """A valid .gzc file of ``width``×``height`` whose latent is all zeros."""
    coder = resolve_coder(backend, bits, "range")
    symbols = np.zeros(backend.latent_shape(width, height), dtype=np.int64)
    return formats.write(formats.GzcFile(
        width=width, height=height, color=formats.COLOR_RGB, backend=backend.kind, model_id=backend.model_id,
        bits=bits, coder=CODERS[coder],
        latent_shape=tuple(symbols.shape), payload=encode_payload(symbols, backend, bits, coder)))


def smallest_bits(backend) -> int:
    """The --bits whose all-zero payload is smallest (what an attacker would pick), on 256x256."""
    return min(backend.supported_bits, key=lambda b: len(zero_latent_file(backend, 256, 256, b)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    side_max = int(DEFAULT_MAX_PIXELS ** 0.5)
    parser.add_argument("--side", type=int, default=side_max,
                        help=f"square side in pixels (default {side_max}: the default pixel limit)")
    args = parser.parse_args()
    if args.side * args.side > DEFAULT_MAX_PIXELS:
        parser.error(f"--side {args.side} is above the default limit of {DEFAULT_MAX_PIXELS} pixels")
    model = find_model(None)
    backend = load_backend(model)
    bits = smallest_bits(backend)
    data = zero_latent_file(backend, args.side, args.side, bits)
    limit_bytes = len(zero_latent_file(backend, side_max, side_max, bits))   # built (not decoded) for its size
    with tempfile.TemporaryDirectory() as tmp:
        small, big = Path(tmp) / "small.gzc", Path(tmp) / "big.gzc"
        small.write_bytes(zero_latent_file(backend, 16, 16, bits))
        big.write_bytes(data)
        child = subprocess.run([sys.executable, "-c", CHILD, str(small), str(big)], check=True,
                               capture_output=True, text=True, cwd=ROOT)
    measured = json.loads(child.stdout.strip().splitlines()[-1])
    pixels = args.side * args.side
    result = {
        "model": model.name, "bits": bits, "width": args.side, "height": args.side, "pixels": pixels,
        "share_of_default_limit": round(pixels / DEFAULT_MAX_PIXELS, 4),
        "file_bytes": len(data), "bytes_per_megapixel": round(len(data) / (pixels / 1e6), 1),
        f"file_bytes_at_{side_max}x{side_max}": limit_bytes,
        **measured,
        "decoded_rgb_mb": round(pixels * 3 / 2 ** 20, 1),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores (shared with a training job), "
                   f"Python {platform.python_version()}",
        "how": "gzc.decode in a fresh process after a 16x16 warm-up (numpy synthesis engine, default threads)",
    }
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    (OUT_DIR / f"{args.side}.json").write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
