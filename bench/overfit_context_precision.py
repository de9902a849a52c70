"""What quantizing the context model costs, decoder version 1 against version 2 (same fit).

    python bench/overfit_context_precision.py > bench/results/overfit/context_precision.txt
    python bench/overfit_context_precision.py kodim01 > bench/results/overfit/context_precision_kodim01.txt

One fit of a Kodak image (kodim23 unless named) at ``--bits 4 --effort 1`` (one torch thread), then its
latents' code length four ways, in bits per pixel:

* the float context model on the rounded latents (what the fit optimised);
* the float networks with their outputs rounded as the integer decoder rounds
  them (the mean to quarters, the scale index to an integer): the cost of the
  probability tables themselves;
* the integer decoder of version 1, whose context output layer holds the mean
  and the scale index as two rows with one weight precision and one bias shift;
* version 2, where they are two layers with a precision each.

Both versions go through the encoder's own quantization search
(``encoder.quantize``), so the file sizes are real; the synthesis is the same
in both, so the pixels differ only where the search picked another precision.
"""
from __future__ import annotations

import dataclasses
import sys
import time

import numpy as np
import torch
from PIL import Image

from gzc.codec.overfit import encoder, payload as payload_io
from gzc.codec.overfit.architecture import LAMBDAS, LATENT_BOUND, MU_FRACTION_BITS, SCALE_LEVELS, SYMBOL_BOUND
from gzc.codec.overfit.backend import ARCHITECTURES, EFFORT_STEPS
from gzc.codec.overfit.integer_net import residual_offset, synthesise, table_index
from gzc.codec.overfit.laplace import tables
from gzc.tools.bench.metrics import psnr

KODAK = "../shared/data/kodak"


def rounded_float_bits(model: encoder.OverfitModel, grids: list[np.ndarray]) -> float:
    """Code length with the float networks and the integer decoder's output rounding."""
    floats = encoder.float_layers(_as_version(model, 1))      # version 1's layout: one (mean, scale) layer
    probabilities = tables().astype(np.float64) / (1 << 24)
    act_max = encoder.ACT_REAL_MAX
    total = 0.0
    for g in reversed(range(model.arch.grids)):
        parent = grids[g + 1] if g + 1 < model.arch.grids else None
        for anchors in (True, False):
            net = "anchor" if anchors else "other"
            flat, x = payload_io.pass_elements(grids[g], parent, grids[g].shape, anchors)
            (w1, b1, _), (w2, b2, _), (w3, b3, _) = (floats[f"arm_{net}_{n}"] for n in ("1", "2", "out"))
            h = np.clip(np.clip(x @ w1.T + b1[0], 0, act_max) @ w2.T + b2[0], 0, act_max)
            out = h @ w3.T + b3[g]
            bound = LATENT_BOUND << MU_FRACTION_BITS
            mu_q = np.clip(np.floor(out[:, 0] * (1 << MU_FRACTION_BITS) + 0.5), -bound, bound).astype(np.int64)
            k = np.clip(np.floor(out[:, 1] + 0.5), 0, SCALE_LEVELS - 1).astype(np.int64)
            symbols = grids[g].ravel()[flat] - residual_offset(mu_q) + SYMBOL_BOUND
            total += -np.log2(probabilities[table_index(mu_q, k), symbols]).sum()
    return total


def _as_version(model: encoder.OverfitModel, version: int) -> encoder.OverfitModel:
    """The same fitted model, exported as decoder ``version`` (only the layer layout differs)."""
    model.arch = dataclasses.replace(model.arch, version=version)
    return model


def main() -> None:
    torch.set_num_threads(1)
    name = sys.argv[1] if len(sys.argv) > 1 else "kodim23"
    rgb = np.asarray(Image.open(f"{KODAK}/{name}.png").convert("RGB"))
    pixels = rgb.shape[0] * rgb.shape[1]
    settings = encoder.EncodeSettings(lam=LAMBDAS[4], steps=EFFORT_STEPS[1], arch=ARCHITECTURES[4])
    started = time.process_time()
    with encoder.heap_allocations():
        model = encoder.fit(rgb, settings)
    print(f"{name}, --bits 4 --effort 1 ({settings.steps} steps), fit {time.process_time() - started:.0f} s CPU")
    grids = encoder.integer_latents(model)
    with torch.no_grad():
        float_bits = model.rate_bits(model.quantized_latents(True)).item()
    print(f"float context model, rounded latents          latents {float_bits / pixels:.4f} bpp")
    print(f"float networks, outputs rounded as decoded    latents {rounded_float_bits(model, grids) / pixels:.4f} bpp")
    for version in (1, 2):
        _as_version(model, version)
        with encoder.heap_allocations():
            dec, data = encoder.quantize(model, rgb, settings.lam)
        latent_bits = payload_io.latent_bits(dec.arch, dec.layers, dec.grids)
        decoded = synthesise(dec.layers, dec.arch, dec.grids, *rgb.shape[:2])
        precisions = {n: layer.weight_bits for n, layer in dec.layers.items() if n.startswith("arm") and
                      not n.endswith(("_1", "_2"))}
        print(f"integer decoder, version {version}                    latents {latent_bits / pixels:.4f} bpp, "
              f"file {len(data) * 8 / pixels:.4f} bpp, {psnr(decoded, rgb):.2f} dB; output precisions {precisions}")


if __name__ == "__main__":
    sys.exit(main())
