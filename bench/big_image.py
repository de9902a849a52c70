"""Big-image benchmark: a 6000×4000 photo through gzc-enc and gzc-dec, peak memory per process.

    python bench/big_image.py            # writes bench/results/big_image.json

The test image is kodim01 upscaled (Lanczos) to 6000×4000. Each step runs the
real CLI under its own fresh wrapper interpreter, which reports the CLI's wall
time and peak RSS (ru_maxrss of its only child), so each figure is that step's
alone and includes Python, torch and the model.
"""
from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
KODAK = ROOT.parent / "shared" / "data" / "kodak" / "kodim01.png"


# ru_maxrss over RUSAGE_CHILDREN is a maximum over *all* children of a process, so
# each step gets a wrapper interpreter of its own whose one child is the CLI.
WRAPPER = ("import resource, subprocess, sys, time; t = time.perf_counter(); "
           "subprocess.run([sys.executable, '-m', *sys.argv[1:]], check=True, capture_output=True); "
           "print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)")


def run(args: list[str]) -> tuple[float, float]:
    """(wall seconds, peak RSS MB) of ``python -m ARGS`` in a process of its own."""
    out = subprocess.run([sys.executable, "-c", WRAPPER, *args], check=True, capture_output=True, text=True)
    seconds, peak_mb = out.stdout.split()
    return float(seconds), float(peak_mb)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        src, gz, out = Path(tmp) / "big.png", Path(tmp) / "big.gzc", Path(tmp) / "big-decoded.png"
        Image.open(KODAK).convert("RGB").resize((6000, 4000), Image.LANCZOS).save(src, compress_level=1)
        enc_s, enc_mb = run(["gzc.tools.enc", str(src), str(gz), "--bits", "6"])
        dec_s, dec_mb = run(["gzc.tools.dec", str(gz), str(out)])
        result = {"image": "kodim01 upscaled to 6000x4000 (24 MP)", "bits": 6, "bytes": gz.stat().st_size,
                  "bpp": gz.stat().st_size * 8 / 24e6, "encode_s": enc_s, "encode_peak_rss_mb": enc_mb,
                  "decode_s": dec_s, "decode_peak_rss_mb": dec_mb,
                  "note": "whole CLI processes (Python + torch + model + PNG I/O), 2 torch threads, tiles of 768 px"}
    (ROOT / "bench" / "results" / "big_image.json").write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
