"""Decoder benchmark (issue 18): the numpy decoder against the torch one, JPEG and AVIF, same run.

    python bench/decoder.py [--repeats 7]   # writes bench/results/decoder/decoder.json and .md

* **warm decode** of kodim01 (768×512, Kodak: evaluation only) coded with the default model
  at ``--bits 6``: entropy decoding + synthesis, model loaded, on the numpy decoder and on the
  torch decoder, each with 1 and 2 threads; median of ``--repeats`` runs, in MP/s;
* the same image as JPEG (quality 90) and AVIF (Pillow's default quality) decoded by Pillow in
  the same process, for the ratios;
* a **cold** ``gzc-dec`` process (Python start, imports, model load, decode, PNG write), and a
  cold Pillow process decoding the AVIF, median of ``--repeats``;
* **peak memory** (ru_maxrss) of a ``gzc-dec`` process decoding a 24 MP (6000×4000) file: kodim01
  upscaled (Lanczos), encoded by ``gzc-enc`` (tiling keeps both bounded);
* the synthesis' **MACs per pixel**, counted from the model's layer shapes, and the MAC rate the
  numpy decoder reached, hence the MACs per pixel that 5 MP/s would allow.

The machine's load average is recorded before and after: these figures come from a shared
2-core machine and scale with whatever else runs.
"""
from __future__ import annotations

import argparse
import io
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from big_image import run as process   # (wall s, peak RSS MB) of `python -m ARGS` in its own process

ROOT = Path(__file__).resolve().parent.parent
KODIM01 = ROOT.parent / "shared" / "data" / "kodak" / "kodim01.png"
OUT = ROOT / "bench" / "results" / "decoder"
TARGET_MPS = 5.0



def median_time(fn, repeats: int) -> float:
    fn()                                   # warm: caches, pools, first-call allocations
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def synthesis_macs_per_pixel(config) -> float:
    """Multiply-accumulates per output pixel of the autoencoder's synthesis (convolutions and
    the normalisations' 1×1 products; element-wise work not counted)."""
    from gzc.codec.autoencoder.numpy_synthesis import NumpySynthesis
    shapes = NumpySynthesis.expected_shapes(config)
    # the resolution of each layer's input relative to the output image (stride 16 at the latent)
    scale = {"expand": 16, "synthesis.0": 16, "synthesis.1": 16, "synthesis.2": 8, "synthesis.3": 8,
             "synthesis.4": 8, "synthesis.5": 4, "synthesis.6": 4, "synthesis.7": 2, "synthesis.8": 2}
    total = 0.0
    for name, shape in shapes.items():
        if not (name.endswith(".weight") or name.endswith("gamma_sqrt")):
            continue
        stage = name.split(".")[0] if name.startswith("expand") else ".".join(name.split(".")[:2])
        per_position = int(np.prod(shape))              # Cout·Cin·k·k (γ: C·C)
        total += per_position / scale[stage] ** 2
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    import torch
    from gzc import formats
    from gzc.codec import numpy_ops, registry
    from gzc.codec.codec import decode_latent, encode_pixels
    from gzc.codec.imageio import load_image

    load_before = os.getloadavg()
    rgb, _ = load_image(KODIM01)
    height, width = rgb.shape[:2]
    megapixels = width * height / 1e6
    data = encode_pixels(rgb, bits=6)
    header = formats.read(data)
    backend = registry.load_backend(registry.find_by_id(header.model_id))
    results: dict = {"image": f"kodim01 {width}x{height}", "model": backend.name, "bits": 6, "bytes": len(data),
                     "repeats": args.repeats, "cpu": platform.processor() or platform.machine(),
                     "cpus": os.cpu_count(), "numpy": np.__version__, "torch": torch.__version__, "warm": {}}

    def decode(engine: str) -> None:
        b = backend.with_engine(engine).for_file(header)
        b.synthesise(decode_latent(data), header.bits, width, height)

    for threads in (1, 2):
        numpy_ops.set_threads(threads)
        torch.set_num_threads(threads)
        for engine in ("numpy", "torch"):
            seconds = median_time(lambda: decode(engine), args.repeats)
            results["warm"][f"{engine}, {threads} thread{'s' if threads > 1 else ''}"] = {
                "seconds": round(seconds, 4), "mp_per_s": round(megapixels / seconds, 3)}

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        jpeg, avif = io.BytesIO(), io.BytesIO()
        Image.fromarray(rgb).save(jpeg, "JPEG", quality=90)
        Image.fromarray(rgb).save(avif, "AVIF")
        for name, buf in (("jpeg", jpeg), ("avif", avif)):
            raw = buf.getvalue()
            (tmp / f"k.{name}").write_bytes(raw)
            seconds = median_time(lambda: Image.open(io.BytesIO(raw)).load(), args.repeats)
            results["warm"][f"Pillow {name.upper()}"] = {"seconds": round(seconds, 5), "bytes": len(raw),
                                                        "mp_per_s": round(megapixels / seconds, 1)}
        (tmp / "k.gzc").write_bytes(data)
        gzc_dec = ["gzc.tools.dec", str(tmp / "k.gzc"), str(tmp / "k.png")]
        # a process that only decodes the AVIF (timeit: one run, Pillow imported in its set-up)
        pil_avif = ["timeit", "-n1", "-r1", "-s", "from PIL import Image", f"Image.open({str(tmp / 'k.avif')!r}).load()"]
        results["cold"] = {}
        for name, cmd in (("gzc-dec", gzc_dec), ("Pillow AVIF", pil_avif)):
            runs = [process(cmd) for _ in range(args.repeats)]
            results["cold"][name] = {"seconds": round(statistics.median(r[0] for r in runs), 3),
                                     "peak_mb": round(statistics.median(r[1] for r in runs), 1)}

        big = tmp / "big.png"
        Image.open(KODIM01).convert("RGB").resize((6000, 4000), Image.LANCZOS).save(big)
        subprocess.run([sys.executable, "-m", "gzc.tools.enc", str(big), str(tmp / "big.gzc"), "--bits", "6"],
                       check=True, capture_output=True)
        seconds, peak = process(["gzc.tools.dec", str(tmp / "big.gzc"), str(tmp / "big-out.png")])
        results["big_24mp"] = {"size": "6000x4000", "gzc_dec_seconds": round(seconds, 2), "peak_mb": round(peak, 1)}

    macs = synthesis_macs_per_pixel(backend.config)
    best = max(v["mp_per_s"] for k, v in results["warm"].items() if k.startswith("numpy"))
    results["macs_per_pixel"] = round(macs)
    results["numpy_gmac_per_s"] = round(best * macs / 1e3, 2)   # MP/s · MAC/pixel = 1e6·MAC/s
    results["macs_per_pixel_for_5_mps"] = round(best * macs / TARGET_MPS)
    results["load_average"] = {"before": [round(x, 2) for x in load_before],
                               "after": [round(x, 2) for x in os.getloadavg()]}
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "decoder.json").write_text(json.dumps(results, indent=2) + "\n")
    (OUT / "decoder.md").write_text(table(results))
    print(table(results))


def table(r: dict) -> str:
    avif = r["warm"]["Pillow AVIF"]["seconds"]
    jpeg = r["warm"]["Pillow JPEG"]["seconds"]
    lines = [f"# Decoder speed ({r['image']}, {r['model']} --bits {r['bits']}, median of {r['repeats']})", "",
             f"Load average (1, 5, 15 min) before {r['load_average']['before']}, after "
             f"{r['load_average']['after']}, on {r['cpus']} cores: the machine was shared.", "",
             "| decoder | warm seconds | MP/s | × JPEG time | × AVIF time |", "|---|---|---|---|---|"]
    for name, v in r["warm"].items():
        lines.append(f"| {name} | {v['seconds']} | {v['mp_per_s']} | {v['seconds'] / jpeg:.1f} | "
                     f"{v['seconds'] / avif:.1f} |")
    lines += ["", "| cold process | seconds | peak MB |", "|---|---|---|"]
    lines += [f"| {k} | {v['seconds']} | {v['peak_mb']} |" for k, v in r["cold"].items()]
    lines += ["", f"24 MP ({r['big_24mp']['size']}) gzc-dec: {r['big_24mp']['gzc_dec_seconds']} s, "
              f"peak {r['big_24mp']['peak_mb']} MB.", "",
              f"Synthesis: {r['macs_per_pixel']} MAC/pixel; the numpy decoder reached "
              f"{r['numpy_gmac_per_s']} GMAC/s, so 5 MP/s would allow about "
              f"{r['macs_per_pixel_for_5_mps']} MAC/pixel (entropy decoding included in the times).", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
