"""CPU time of decoding an overfitted file, by part (768×512 Kodak image, one BLAS thread).

    gzc-enc --backend overfit --bits 4 ../shared/data/kodak/kodim23.png kodim23_bits4.gzc
    python bench/overfit_decode_speed.py kodim23_bits4.gzc > bench/results/overfit/decode_speed.txt

``time.process_time`` of this process, best of 5 after one warm-up, so the
figures hold when other jobs share the machine (wall time there is longer).
Parts: the entropy decoding with the integer context model (``payload.decode``),
the upsampling of the grids, the per-pixel MLP and the 3×3 refinements
(``integer_net.synthesise``, which includes the upsampling), and the whole
``gzc.decode`` call.
"""
from __future__ import annotations

import sys
import time

import numpy as np
from threadpoolctl import threadpool_limits

import gzc
from gzc.codec.overfit import integer_net, payload
from gzc.codec.overfit.architecture import padded_size


def best_ms(fn, repeats: int = 5) -> float:
    fn()
    times = []
    for _ in range(repeats):
        t = time.process_time()
        fn()
        times.append(time.process_time() - t)
    return 1000 * min(times)


def main() -> None:
    data = open(sys.argv[1], "rb").read()
    header = gzc.read_header(data)
    arch = payload.read_architecture(header.payload)
    ph, pw = padded_size(arch, header.height, header.width)
    with threadpool_limits(limits=1, user_api="blas"):
        dec = payload.decode(header.payload, ph, pw)
        parts = {
            "entropy decoding + context model": lambda: payload.decode(header.payload, ph, pw),
            "upsampling": lambda: integer_net.upsampled_latents(dec.grids),
            "synthesis (upsampling, MLP, refinements)":
                lambda: integer_net.synthesise(dec.layers, arch, dec.grids, header.height, header.width),
            "gzc.decode (all)": lambda: np.asarray(gzc.decode(data)),
        }
        megapixels = header.width * header.height / 1e6
        print(f"{sys.argv[1].split('/')[-1]}: {header.width}x{header.height}, {arch}")
        for name, fn in parts.items():
            ms = best_ms(fn)
            print(f"{name:42s} {ms:7.1f} ms CPU" + (f"  ({megapixels / ms * 1000:.2f} MP/s)" if "all" in name else ""))


if __name__ == "__main__":
    main()
