"""Encoder-side latent refinement (``--effort``): spend encoding time on a smaller, better file.

The analysis transform is *amortised*: one network guesses every image's latent
in a single pass, and a small network trained on two CPU cores guesses
imperfectly (the "amortisation gap" of Cremer et al. 2018). Refinement closes
part of that gap for one image at a time, as in Campos et al. 2019 ("Content
adaptive optimization for neural image compression") and Yang et al. 2020
("Improving inference for neural image compression"): starting from the
analysis output, gradient descent runs on the latent itself, against the frozen
decoder and the model's own integer tables, on the objective the model was
trained for (its adversarial term aside)

    loss = mse_weight · MSE + msssim_weight · (1 − MS-SSIM) + rate_weight · bpp.

Nothing changes for the decoder or the format: the result is an ordinary latent
of integers in the setting's range, coded as usual. Only the encoder is slower.

Two relaxations make the objective differentiable:

* **rounding**: stochastic Gumbel annealing (SGA, Yang et al. 2020): the decoder
  sees a relaxed random choice between ``⌊z⌋`` and ``⌊z⌋ + 1``, weighted by the
  distance to each, whose temperature falls to near-hard rounding over the run.
  (Straight-through rounding was tried first: at the 2–4-bit settings a latent
  value that changes bin moves the picture far more than its gradient predicts,
  and the loss rose instead of falling.)
* **rate**: the cost of a value between the integers ``k`` and ``k + 1`` is the
  linear interpolation of their table costs (−log2 of the integer frequency /
  2^24), with the table chosen by the element's coder-3 context computed from
  the current rounded latent (held fixed within a step). At an integer this is
  exactly what the range coder pays, so the estimate tracks the file.

The best latent seen by the *exact* objective (the decoded pixels of the rounded
latent, the table costs of its integers) is kept, so refinement never returns a
latent worse than the analysis guess by the model's own measure.

Large images are refined tile by tile on the backend's 48-latent-pixel tiles,
in raster order, each with its decoded surroundings (the synthesis' receptive
field) as fixed context, so memory stays bounded by a tile, as it is for coding.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..entropy.context import CONTEXTS
from ..entropy.tables import TABLE_PRECISION
from ..losses import ms_ssim, ms_ssim5
from .context import batch_table_indices
from .model import LAMBDAS, STRIDE, symbol_range
LEARNING_RATE = 0.05        # Adam, in quantization steps
TAU_START, TAU_END = 0.5, 0.05   # SGA temperature, annealed geometrically over the run
EXACT_EVERY = 5             # steps between evaluations of the exact objective (each costs a decode)
LOSS_MARGIN = 2             # latent pixels around a tile whose decoded pixels count in its loss
SEED = 0                    # the Gumbel noise is seeded: the same input gives the same file


@dataclass(frozen=True)
class RefineWeights:
    """The objective's weights: those the model was trained with."""
    mse_weight: float
    msssim_weight: float
    rate_weight: float

    @classmethod
    def for_model(cls, manifest: dict, bits: int) -> "RefineWeights":
        """A generative model's manifest records its ``loss_weights``; the MSE-trained models were
        trained on ``LAMBDAS[bits]·255²·MSE + bpp`` (see :mod:`.model`)."""
        given = manifest.get("loss_weights")
        if given:
            return cls(float(given["mse_weight"]), float(given["msssim_weight"]), float(given["rate_weight"]))
        lambdas = manifest.get("lambdas") or {}
        return cls(float(lambdas.get(str(bits), LAMBDAS[bits])) * 255.0 ** 2, 0.0, 1.0)


def cost_tables(tables: np.ndarray) -> torch.Tensor:
    """Integer frequencies (…, n), summing to 2^24 → bits per symbol (…, n), float32."""
    return torch.from_numpy(TABLE_PRECISION - np.log2(np.asarray(tables, dtype=np.float64))).to(torch.float32)


def distortion(x_hat: torch.Tensor, x: torch.Tensor, weights: RefineWeights) -> torch.Tensor:
    """mse_weight·MSE + msssim_weight·(1 − MS-SSIM) of one image; MS-SSIM is the benchmark's
    five-scale one where the image allows (≥ 161 px a side), the three-scale proxy down to 64 px,
    and left out below that."""
    loss = weights.mse_weight * torch.mean((x_hat - x) ** 2)
    side = min(x.shape[-2:])
    if weights.msssim_weight and side >= 64:
        value = ms_ssim5(x_hat, x) if side >= 161 else ms_ssim(x_hat, x)
        loss = loss + weights.msssim_weight * (1 - value.mean())
    return loss


class LatentRate:
    """Bits of a (1, C, H, W) latent under a setting's tables, exact at integers.

    ``costs`` is (C, n) for per-channel tables (coder 1) or (C, CONTEXTS, n) for coder 3;
    ``counted`` (1, C, H, W, 0/1) marks the elements whose bits count."""

    def __init__(self, costs: torch.Tensor, low: int, counted: torch.Tensor):
        self.costs, self.low, self.counted = costs, low, counted
        self.n = costs.shape[-1]

    def _rows(self, hard: torch.Tensor) -> torch.Tensor:
        """(1, C, H, W, n): the cost row each element is coded with."""
        _, c, h, w = hard.shape
        if self.costs.dim() == 2:
            return self.costs[:c].view(1, c, 1, 1, self.n).expand(1, c, h, w, self.n)
        index = batch_table_indices(hard.to(torch.int64))[0].clamp(max=CONTEXTS - 1)      # (C, H, W)
        rows = self.costs[:c].gather(1, index.reshape(c, -1, 1).expand(c, h * w, self.n))
        return rows.view(1, c, h, w, self.n)

    def __call__(self, z: torch.Tensor, hard: torch.Tensor) -> torch.Tensor:
        """Total bits: ``z`` the (relaxed) latent, ``hard`` the rounded one (it picks the contexts)."""
        rows = self._rows(hard.detach())
        position = (z - self.low).clamp(0, self.n - 1)
        below = position.detach().floor().clamp(max=self.n - 2)
        frac = position - below
        i = below.to(torch.int64).unsqueeze(-1)
        cost = (1 - frac) * rows.gather(-1, i).squeeze(-1) + frac * rows.gather(-1, i + 1).squeeze(-1)
        return (cost * self.counted).sum()


def stochastic_round(z: torch.Tensor, tau: float, generator: torch.Generator) -> torch.Tensor:
    """SGA: a relaxed sample of ⌊z⌋ or ⌊z⌋ + 1, the nearer one likelier, harder as ``tau`` falls."""
    below = torch.floor(z.detach())
    r = z - below
    eps = 1e-5
    logits = torch.stack([-torch.atanh(r.clamp(-1 + eps, 1 - eps)),
                          -torch.atanh((1 - r).clamp(-1 + eps, 1 - eps))], dim=-1) / tau
    uniform = torch.rand(logits.shape, generator=generator).clamp(1e-10, 1 - 1e-10)
    gumbel = -torch.log(-torch.log(uniform))
    return below + torch.softmax((logits + gumbel) / tau, dim=-1)[..., 1]


def refine_region(model, x: torch.Tensor, z0: torch.Tensor, bits: int, rate: LatentRate, weights: RefineWeights,
                  steps: int, trainable: torch.Tensor, box: tuple[slice, slice], generator: torch.Generator
                  ) -> torch.Tensor:
    """Refine one region's latent; returns the best rounded latent (float tensor of integers).

    ``x`` (1, 3, h, w) is the image the latent ``z0`` (1, C', h/16, w/16) decodes to;
    ``trainable`` (same shape, 0/1) marks the elements that may change (the others must
    be integers already); ``box`` (rows, cols) the pixels whose distortion counts. The rate
    is divided by the box's pixel count, so both terms are per pixel as in training."""
    lo, hi = symbol_range(bits)
    channels, full = z0.shape[1], model.config.latent_channels
    scale = model.step(bits).detach()[:channels].view(1, -1, 1, 1)
    pixels = (box[0].stop - box[0].start) * (box[1].stop - box[1].start)
    target = x[..., box[0], box[1]]
    fixed = trainable == 0

    def decoded_loss(latent: torch.Tensor) -> torch.Tensor:
        y = latent * scale
        if channels < full:   # a generative file's uncoded channels are zero
            y = torch.nn.functional.pad(y, (0, 0, 0, 0, 0, full - channels))
        return distortion(model.reconstruct(y)[..., box[0], box[1]], target, weights)

    def exact(hard: torch.Tensor) -> float:
        with torch.no_grad():
            return float(decoded_loss(hard)) + weights.rate_weight * float(rate(hard, hard)) / pixels

    z = z0.clone().requires_grad_(True)
    optimiser = torch.optim.Adam([z], lr=LEARNING_RATE)
    best = torch.round(z0).clamp(lo, hi)
    best_loss = exact(best)
    for i in range(steps):
        hard = torch.round(z.detach()).clamp(lo, hi)
        tau = TAU_START * (TAU_END / TAU_START) ** (i / max(1, steps - 1))
        relaxed = torch.where(fixed, hard, stochastic_round(z, tau, generator).clamp(lo, hi))
        loss = decoded_loss(relaxed) + weights.rate_weight * rate(relaxed, hard) / pixels
        (grad,) = torch.autograd.grad(loss, [z])     # the frozen model's parameters get none
        z.grad = grad * trainable
        optimiser.step()
        with torch.no_grad():
            z.clamp_(lo - 0.49, hi + 0.49)
        if (i + 1) % EXACT_EVERY == 0 or i + 1 == steps:
            hard = torch.round(z.detach()).clamp(lo, hi)
            value = exact(hard)
            if value < best_loss:
                best, best_loss = hard, value
    return best


def refine_latent(model, padded: np.ndarray, scaled: np.ndarray, coded: np.ndarray | None, costs: torch.Tensor,
                  bits: int, weights: RefineWeights, steps: int, height: int, width: int,
                  tiles, margin: int) -> np.ndarray:
    """Refine a whole image's latent, tile by tile; returns int32 symbols (C', H/16, W/16).

    ``padded`` is the (H, W, 3) uint8 image padded to whole latent cells, ``scaled`` the
    analysis output divided by the quantization step (C', H/16, W/16, not yet rounded),
    ``coded`` the elements a region-of-interest file codes (None: all), ``tiles(length,
    margin)`` the backend's tiling and ``margin`` the synthesis' receptive field in latent
    pixels; ``height`` × ``width`` is the image without padding."""
    lo, hi = symbol_range(bits)
    generator = torch.Generator().manual_seed(SEED)
    coded_t = torch.ones(scaled.shape) if coded is None else torch.from_numpy(coded.astype(np.float32))
    current = torch.from_numpy(scaled.astype(np.float32)).clamp(lo - 0.49, hi + 0.49) * coded_t
    symbols = torch.round(current).clamp(lo, hi)
    _, lh, lw = scaled.shape
    for y0, y1, cy0, cy1 in tiles(lh, margin):
        for x0, x1, cx0, cx1 in tiles(lw, margin):
            core = torch.zeros(1, 1, cy1 - cy0, cx1 - cx0)
            core[..., y0 - cy0:y1 - cy0, x0 - cx0:x1 - cx0] = 1

            def window(t: torch.Tensor) -> torch.Tensor:     # (C', H, W) → the tile's window, (1, C', h, w)
                return t[None, :, cy0:cy1, cx0:cx1]
            mask = core * window(coded_t)
            if not mask.any():
                continue
            start = torch.where(mask.bool(), window(current), window(symbols))
            image = padded[cy0 * STRIDE:cy1 * STRIDE, cx0 * STRIDE:cx1 * STRIDE]
            x = torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1)[None].float() / 255.0
            # the loss covers the tile's pixels and a little around them, never the padding
            rows = slice(max(y0 - LOSS_MARGIN, cy0) * STRIDE - cy0 * STRIDE,
                         min(min(y1 + LOSS_MARGIN, cy1) * STRIDE, height) - cy0 * STRIDE)
            cols = slice(max(x0 - LOSS_MARGIN, cx0) * STRIDE - cx0 * STRIDE,
                         min(min(x1 + LOSS_MARGIN, cx1) * STRIDE, width) - cx0 * STRIDE)
            rate = LatentRate(costs, lo, mask)
            best = refine_region(model, x, start, bits, rate, weights, steps, mask, (rows, cols), generator)
            symbols[:, y0:y1, x0:x1] = best[0, :, y0 - cy0:y1 - cy0, x0 - cx0:x1 - cx0]
    return symbols.to(torch.int32).numpy()
