"""Encoding by latent search: find the quantized z whose G(z) is closest to the image.

The search runs a batch of candidates at once (one generator call per step):

1. **Start.** Candidate 0 is the amortized guess (the encoder network's
   output, mapped into the searched space); with more effort, jittered copies
   of it and plain random draws from the prior N(0, I) are added (restarts).
2. **Float phase.** Adam on z, minimising the chosen distortion, with z kept
   inside the quantizer's range.
3. **Quantization-aware phase.** Adam continues on the float z, but the
   generator sees the *quantized* z (straight-through estimator: forward with
   Q(z), gradient as if Q were the identity), so the search corrects the
   damage quantization does instead of ignoring it.
4. **Pick.** Every quantized point the last phase evaluated (and the plainly
   quantized starts) is a real candidate file; the one with the lowest
   distortion is kept.

Everything is seeded, so encoding the same image twice gives the same file.
``effort`` trades time for quality (bench/results/faces/ has the measurements).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

from ..losses import distortion
from .backend import DEFAULT_EFFORT

# effort → (candidates: jittered copies of the guess, random draws), float steps, quantized steps
EFFORTS = {
    0: (0, 0, 0, 0),
    1: (0, 0, 30, 20),
    2: (1, 0, 50, 30),
    3: (3, 2, 120, 60),
    4: (5, 10, 250, 120),
}
JITTER = 0.3


@dataclass(frozen=True)
class SearchResult:
    symbols: np.ndarray     # int64, the chosen quantized latent
    loss: float             # its distortion
    steps: int              # generator evaluations (batched) used


class TorchQuantizer:
    """Straight-through quantizer with exactly the reconstruction levels of :mod:`.quantize`."""

    def __init__(self, levels: np.ndarray, lowest_symbol: int):
        self.levels = torch.from_numpy(np.array(levels, dtype=np.float32))
        self.thresholds = (self.levels[1:] + self.levels[:-1]) / 2
        self.lowest = lowest_symbol

    def index(self, z: torch.Tensor) -> torch.Tensor:
        return torch.searchsorted(self.thresholds, z.detach().contiguous())

    def __call__(self, z: torch.Tensor) -> torch.Tensor:
        return z + (self.levels[self.index(z)] - z).detach()

    def clamp(self, z: torch.Tensor) -> None:
        z.data.clamp_(float(self.levels[0]), float(self.levels[-1]))


def _lr(step: int, total: int, peak: float) -> float:
    return peak * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * step / max(1, total))))


def search_latent(render: Callable[[torch.Tensor], torch.Tensor], target: torch.Tensor, guess: torch.Tensor,
                  quantizer: TorchQuantizer, loss: str, effort: int = DEFAULT_EFFORT, seed: int = 0) -> SearchResult:
    """``render``: (K, d) latents → (K, 3, 64, 64) images; ``target``: (1, 3, 64, 64) in [0, 1];
    ``guess``: (d,) amortized first guess."""
    if effort not in EFFORTS:
        raise ValueError(f"effort must be one of {sorted(EFFORTS)}")
    jittered, randoms, float_steps, quant_steps = EFFORTS[effort]
    gen = torch.Generator().manual_seed(seed)
    d = guess.numel()
    starts = [guess.view(1, d)]
    if jittered:
        starts.append(guess.view(1, d) + JITTER * torch.randn(jittered, d, generator=gen))
    if randoms:
        starts.append(torch.randn(randoms, d, generator=gen))
    z = torch.cat(starts).clone()
    quantizer.clamp(z)
    k = z.shape[0]
    target = target.expand(k, -1, -1, -1)
    best_loss = torch.full((k,), float("inf"))
    best_idx = quantizer.index(z)
    steps = 0

    def consider(zq_idx: torch.Tensor, losses: torch.Tensor) -> None:
        better = losses < best_loss
        best_loss[better] = losses[better]
        best_idx[better] = zq_idx[better]

    with torch.no_grad():
        idx = quantizer.index(z)
        consider(idx, distortion(loss, render(quantizer.levels[idx]), target))
    steps += 1
    z.requires_grad_(True)
    opt = torch.optim.Adam([z], lr=0.05)
    for step in range(float_steps + quant_steps):
        quantized = step >= float_steps
        if quantized:
            for g in opt.param_groups:
                g["lr"] = _lr(step - float_steps, quant_steps, 0.02)
        else:
            for g in opt.param_groups:
                g["lr"] = _lr(step, float_steps, 0.08)
        zin = quantizer(z) if quantized else z
        losses = distortion(loss, render(zin), target)
        if quantized:
            consider(quantizer.index(z), losses.detach())
        opt.zero_grad(set_to_none=True)
        losses.sum().backward()
        opt.step()
        with torch.no_grad():
            quantizer.clamp(z)
        steps += 1
    if quant_steps:   # the point the last update reached has not been scored yet
        with torch.no_grad():
            idx = quantizer.index(z)
            consider(idx, distortion(loss, render(quantizer.levels[idx]), target))
        steps += 1
    winner = int(torch.argmin(best_loss))
    return SearchResult(symbols=best_idx[winner].numpy().astype(np.int64) + quantizer.lowest,
                        loss=float(best_loss[winner]), steps=steps)
