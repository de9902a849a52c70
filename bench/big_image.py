"""Big-image benchmark: a 6000×4000 photo through gzc-enc and gzc-dec, peak memory per process.

    python bench/big_image.py            # writes bench/results/big_image.json

The test image is kodim01 upscaled (Lanczos) to 6000×4000. Each step runs the
real CLI in its own process and reads that process's peak RSS (ru_maxrss of the
child), so the figure includes Python, torch and the model.
"""
from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
KODAK = ROOT.parent / "shared" / "data" / "kodak" / "kodim01.png"


def run(args: list[str]) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", *args], check=True, capture_output=True)
    elapsed = time.perf_counter() - t
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if peak < before:
        raise RuntimeError("peak RSS could not be attributed")
    return elapsed, peak / 1024.0


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        src, gz, out = Path(tmp) / "big.png", Path(tmp) / "big.gzc", Path(tmp) / "big-decoded.png"
        Image.open(KODAK).convert("RGB").resize((6000, 4000), Image.LANCZOS).save(src, compress_level=1)
        enc_s, enc_mb = run(["gzc.tools.enc", str(src), str(gz), "--bits", "6"])
        # children's ru_maxrss is a maximum over all children: decode runs second, so report
        # it from a fresh interpreter that only decodes
        code = ("import resource,subprocess,sys,time; t=time.perf_counter(); "
                "subprocess.run([sys.executable,'-m','gzc.tools.dec',sys.argv[1],sys.argv[2]],check=True); "
                "print(time.perf_counter()-t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss/1024)")
        dec = subprocess.run([sys.executable, "-c", code, str(gz), str(out)], check=True, capture_output=True,
                             text=True).stdout.split()
        result = {"image": "kodim01 upscaled to 6000x4000 (24 MP)", "bits": 6, "bytes": gz.stat().st_size,
                  "bpp": gz.stat().st_size * 8 / 24e6, "encode_s": enc_s, "encode_peak_rss_mb": enc_mb,
                  "decode_s": float(dec[0]), "decode_peak_rss_mb": float(dec[1]),
                  "note": "whole CLI processes (Python + torch + model + PNG I/O), 2 torch threads, tiles of 768 px"}
    (ROOT / "bench" / "results" / "big_image.json").write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
