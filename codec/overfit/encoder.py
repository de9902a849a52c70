"""The overfitted encoder: gradient descent on one image's latents, context model and synthesis.

Loss = MSE (images in [0, 1]) + λ · bits per pixel, the rate being what the
context model's Laplace distributions charge for the (relaxed) latents.
Three phases, as in Cool-chic (Ladune et al. 2023) and C3 (Kim et al. 2024):

1. **Noise** (``NOISE_SHARE`` of the steps): latents in the synthesis and the
   rate are ``y + U(−½, ½)``, the usual differentiable proxy of rounding.
2. **Hard** latents: rounded with a straight-through gradient, so the networks
   adapt to the integers they will really see.
3. **Quantization** (:func:`quantize`): each layer's weights are rounded to
   integers with the fraction bits that give the smallest total cost (bits of
   the layer + λ-weighted distortion, measured with the exact integer decoder),
   and the file is written with :mod:`.payload`; the pixels the encoder reports
   are those the decoder will produce.

**Speed** (the crux on 2 CPU cores; ``bench/overfit_speed.py`` measures it).
The float networks are written so that no per-element feature tensor is ever
materialised: the context model's first layer is a 3×3 convolution on the
*parent* grid (a quarter of the positions), nearest-upsampled, plus a
4-neighbour convolution for the second pass; the synthesis is 1×1
convolutions on the upsampled grids. The steps run **coarse to fine**
(:func:`stages`): 50 % of them fit a quarter-resolution copy of the image
with grids 2… only (1/16 of the cost per step), 30 % a half-resolution copy
with grids 1…, and only the last 20 % the full image; each stage's grids
carry over, the newly added finest grid starting at zero.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import math
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .architecture import (ACT_FRACTION_BITS, LATENT_BOUND, MAX_WEIGHT_FRACTION_BITS, PIXEL_FRACTION_BITS,
                           PIXEL_MAX, SCALE_LEVELS, UPSAMPLED_FRACTION_BITS, SCALE_MIN, SCALE_STEPS_PER_OCTAVE,
                           SYMBOL_BOUND, Architecture, grid_shapes, padded_size)
from .integer_net import (Affine, Layer, check_exact, input_bound, refine, rounding_offsets, synthesise,
                          upsampled_latents)
from . import payload as payload_io
from .fused_ops import ACT_REAL_MAX, context_bits, pixel_mlp, relu_backward, restoring_keep
from ..numpy_ops import decoding_threads

PIXEL_REAL_MAX = PIXEL_MAX / (255 << PIXEL_FRACTION_BITS)   # the decoder's pixel clamp, in [0, 1] units
#: The context model's outputs (mean, scale index) are its last layer's values times these
#: gains: with Adam, each step moves a parameter by about the learning rate, and at 0.01 the
#: per-grid scale index (in sixths of an octave, starting at 30) needed thousands of steps to
#: reach a near-constant grid's small scales; a flat image's all-zero grids still cost
#: 1.5 kB after 200 steps. The gains are folded into the exported integer layer.
ARM_OUTPUT_GAIN = torch.tensor([4.0, 16.0])
SYN_BIAS_INIT = 0.1     # the synthesis' hidden biases start positive (see Synthesis)
SOFT_ROUND: tuple[float, float] | None = None   # (start, end) temperature of the noisy phase, or plain noise
#: The latents' learning rate in the hard phase, relative to the schedule, is
#: min(1, HARD_PHASE_STEPS / steps) unless HARD_LATENT_LR overrides it. With straight-through
#: rounding the rate's gradient vanishes while a latent rounds to its predicted mean, so the
#: distortion's gradient walks latents across rounding boundaries and the rate climbs: at the full
#: rate, a fit of 3000 steps ended 25 % above its own objective at the end of the noise phase,
#: and 10000 steps ended worse than 3000 (``bench/overfit_trajectory.py``). Keeping the latents'
#: travel in that phase constant: on the validation crops the objective at 1000 steps fell 12 %
#: (x0.3) and 17 % (x0.1), while at 300 steps x1 stayed best (``tuning.txt``, "hard phase").
HARD_PHASE_STEPS = 300
#: Return the state of the last stage's hard phase with the lowest objective, not the last one:
#: even with the slowed latents the rate creeps up there (a 3000-step fit's best state was 6 %
#: below its last, ``trajectory.txt``); in that phase each step's loss is already that objective,
#: so keeping the best costs one copy of the parameters when it improves.
KEEP_BEST = True
HARD_LATENT_LR: float | None = None
HARD_RATE_CONTINUOUS = False   # in the hard phase, the rate sees the unrounded latents
HARD_FINAL_ONLY = False  # hard latents only in the last (full-size) stage
#: The fit's hot paths run sliced and differentiated by hand (:mod:`.fused_ops`); False runs the
#: plain autograd versions they are tested against
FUSED = True
NOISE_SHARE = 0.5       # share of each stage with noisy latents (0.3–0.7 tried on crops: 0.5 best)


def laplace_bits(x: torch.Tensor, mu: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    """−log2 P(x) for a Laplace(mu, SCALE_MIN·2^(k/6)) discretised to unit bins (x, mu real)."""
    b = SCALE_MIN * torch.exp2(restoring_clamp(k, 0, SCALE_LEVELS - 1) / SCALE_STEPS_PER_OCTAVE)
    r = (x - mu).abs()
    lo = torch.exp(-(r - 0.5).clamp_min(0) / b)
    hi = torch.exp(-(r + 0.5) / b)
    centre = 1 - 0.5 * (torch.exp(-(0.5 - r).clamp_min(0) / b) + hi)
    p = torch.where(r < 0.5, centre, 0.5 * (lo - hi))
    return -torch.log2(p.clamp_min(2.0 ** -24))


def soft_round(x: torch.Tensor, temperature: float) -> torch.Tensor:
    """A differentiable rounding that tends to ``round`` as the temperature tends to 0 (C3, eq. 4)."""
    f = torch.floor(x).detach()
    r = x - f - 0.5
    return f + 0.5 * torch.tanh(r / temperature) / math.tanh(0.5 / temperature) + 0.5


def ste_round(x: torch.Tensor) -> torch.Tensor:
    return x + (torch.round(x) - x).detach()


class _RestoringClamp(torch.autograd.Function):
    """Clamp in the forward pass; in the backward pass, a value outside the range gets only the
    gradients that move it back towards the range.

    The integer decoder clamps (pixels to 0…255, activations to their 12 bits, means and scales to
    their tables), so the float model must clamp too or it leans on values the decoder clips
    (22 → 16 dB on a crop). How the gradient crosses the clamp decides whether the fit works:

    * a plain clamp has no gradient outside the range, so a value pushed out stays out for good
      (units died one by one, pixels stuck at black or white);
    * a straight-through clamp (identity gradient) keeps pushing values further out, where
      nothing changes in the forward pass; with integer latents the fit then stalled near
      23.6 dB on a 128² crop that the restoring clamp fits to 36.3 dB (``bench/overfit_tuning.py``).
    """

    @staticmethod
    def forward(ctx, x: torch.Tensor, low: float, high: float) -> torch.Tensor:
        ctx.save_for_backward(x)
        ctx.low, ctx.high = low, high
        return x.clamp(low, high)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        (x,) = ctx.saved_tensors
        # descent moves x by −grad: below the range keep grad < 0, above it keep grad > 0
        return restoring_keep(x, grad, ctx.low, ctx.high), None, None


def restoring_clamp(x: torch.Tensor, low: float, high: float) -> torch.Tensor:
    return _RestoringClamp.apply(x, low, high)


class _ClampedRelu(torch.autograd.Function):
    """ReLU with the restoring clamp at the top, in one pass each way."""

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        y = x.clamp(0.0, ACT_REAL_MAX)
        ctx.save_for_backward(y)           # y = 0 below, y = max above: enough to tell, no copy of x
        return y

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        (y,) = ctx.saved_tensors
        # inside (0, max): grad; at 0: none (ReLU's own fused kernel); at max: only grad > 0
        # (descent lowers it), a rare case, so it is patched only where it occurs
        return relu_backward(grad, y)


def pixel_clamp(y: torch.Tensor) -> torch.Tensor:
    """The decoder's pixel clamp (spec §12.5), before and after every refinement layer."""
    return restoring_clamp(y, 0.0, PIXEL_REAL_MAX)


def act(x: torch.Tensor) -> torch.Tensor:
    """The hidden activation: ReLU clamped to the integer activations' range.

    The top clamp restores (see :class:`_RestoringClamp`); a ``hardtanh`` there left every unit
    pushed past the range without gradient, and on full-size images the fit lost its units one
    by one while the optimiser made the latents larger to compensate."""
    return _ClampedRelu.apply(x)


def shifted(x: torch.Tensor, di: int, dj: int) -> torch.Tensor:
    """``x[i + di, j + dj]`` with zeros outside, for an (h, w) map."""
    p = F.pad(x, (1, 1, 1, 1))
    return p[1 + di: 1 + di + x.shape[0], 1 + dj: 1 + dj + x.shape[1]]


def _uniform(*shape: int, fan_in: int) -> nn.Parameter:
    bound = 1 / math.sqrt(fan_in)
    return nn.Parameter(torch.empty(*shape).uniform_(-bound, bound))


class ContextNet(nn.Module):
    """Float twin of one context-model net (spec §12.4), its first layer split by input group.

    Positions are handled as the four 2×2 sub-lattices of a grid, ``(h/2, w/2)`` maps each:
    (0, 0) and (1, 1) are the anchors, (0, 1) and (1, 0) the others. The parent term is
    computed once per parent position and shared by the four children, and each net runs
    only on its own half of the positions: everything is a GEMM on (positions, units)."""

    def __init__(self, hidden: int, grids: int, neighbours: bool):
        super().__init__()
        self.w_parent = nn.Parameter(torch.randn(hidden, 9) * 0.05)
        self.w_parity = nn.Parameter(torch.zeros(hidden, 2))
        self.w_neighbours = nn.Parameter(torch.randn(hidden, 4) * 0.05) if neighbours else None
        self.b1 = nn.Parameter(torch.full((hidden,), 0.5))
        self.w2 = _uniform(hidden, hidden, fan_in=hidden)
        self.b2 = nn.Parameter(torch.zeros(hidden))
        self.w3 = nn.Parameter(torch.zeros(2, hidden))
        # the output in units of ARM_OUTPUT_GAIN (mean, scale index): see ARM_OUTPUT_GAIN
        self.b3 = nn.Parameter((torch.tensor([[0.0, 30.0]]) / ARM_OUTPUT_GAIN).repeat(grids, 1))

    def first_layer(self, parent: torch.Tensor | None, half: tuple[int, int]) -> torch.Tensor:
        """The parent term plus bias, (h/2, w/2, hidden)."""
        if parent is None:
            return self.b1.expand(*half, -1)
        feats = torch.stack([shifted(parent, di, dj) for di in (-1, 0, 1) for dj in (-1, 0, 1)], dim=-1)
        return F.linear(feats, self.w_parent, self.b1)

    def bits(self, acc: torch.Tensor, x: torch.Tensor, g: int) -> torch.Tensor:
        """Σ −log2 P(x) under the (mean, scale) the head gives for the first layer's sums ``acc``."""
        if FUSED:
            return context_bits(acc, x, self.w2, self.b2, self.w3, self.b3[g], ARM_OUTPUT_GAIN)
        mu, k = self.head(acc, g)
        return laplace_bits(x, mu, k).sum()

    def head(self, acc: torch.Tensor, g: int) -> tuple[torch.Tensor, torch.Tensor]:
        h = act(F.linear(act(acc), self.w2, self.b2))
        out = (F.linear(h, self.w3) + self.b3[g]) * ARM_OUTPUT_GAIN
        return restoring_clamp(out[..., 0], -LATENT_BOUND, LATENT_BOUND), out[..., 1]


class Synthesis(nn.Module):
    def __init__(self, arch: Architecture):
        super().__init__()
        s = arch.syn_hidden
        # Positive biases: with zero latents and zero biases every unit sits on the ReLU's kink,
        # where the gradient is 0, and neither the latents nor the weights ever move (a fit
        # without noise stayed at the mean colour; with noise it crawled).
        self.w1, self.b1 = _uniform(s, arch.grids, fan_in=arch.grids), nn.Parameter(torch.full((s,), SYN_BIAS_INIT))
        self.w2, self.b2 = _uniform(s, s, fan_in=s), nn.Parameter(torch.full((s,), SYN_BIAS_INIT))
        self.w3, self.b3 = _uniform(3, s, fan_in=s), nn.Parameter(torch.full((3,), 0.5))
        self.refine_w = nn.ParameterList(nn.Parameter(torch.zeros(3, 3, 3, 3)) for _ in range(arch.syn_refine))
        self.refine_b = nn.ParameterList(nn.Parameter(torch.zeros(3)) for _ in range(arch.syn_refine))

    def forward(self, upsampled: torch.Tensor) -> torch.Tensor:
        """(H, W, grids) → (H, W, 3) in [0, 1] (not yet clamped)."""
        if FUSED:
            y = pixel_mlp(upsampled.reshape(-1, upsampled.shape[-1]), self.w1, self.b1, self.w2, self.b2,
                          self.w3, self.b3, PIXEL_REAL_MAX).view(*upsampled.shape[:-1], 3)
        else:
            h = act(F.linear(upsampled, self.w1, self.b1))
            h = act(F.linear(h, self.w2, self.b2))
            y = pixel_clamp(F.linear(h, self.w3, self.b3))     # the decoder clamps here and after
        if not len(self.refine_w):                          # every refinement
            return y
        y = y.permute(2, 0, 1)[None]           # the 3×3 layers as convolutions, channels first
        for w, b in zip(self.refine_w, self.refine_b):
            y = pixel_clamp(y + F.conv2d(F.pad(y, (1, 1, 1, 1), mode="replicate"), w, b))
        return y[0].permute(1, 2, 0)


class OverfitModel(nn.Module):
    def __init__(self, arch: Architecture, padded_height: int, padded_width: int):
        super().__init__()
        self.arch = arch
        self.latents = nn.ParameterList(nn.Parameter(torch.zeros(h, w))
                                        for h, w in grid_shapes(arch, padded_height, padded_width))
        self.anchor_net = ContextNet(arch.arm_hidden, arch.grids, neighbours=False)
        self.other_net = ContextNet(arch.arm_hidden, arch.grids, neighbours=True)
        self.synthesis = Synthesis(arch)

    def quantized_latents(self, hard: bool) -> list[torch.Tensor]:
        out = []
        for y in self.latents:
            y = restoring_clamp(y, -LATENT_BOUND, LATENT_BOUND)
            out.append(ste_round(y) if hard else y + torch.empty_like(y).uniform_(-0.5, 0.5))
        return out

    def soft_latents(self, temperature: float) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        """C3's relaxation (Kim et al. 2024): (what the synthesis sees, what the rate charges).

        The rate sees soft-rounded latents plus uniform noise; the synthesis sees that soft-rounded
        once more, so as the temperature falls both approach the integers the decoder uses and
        the switch to hard rounding is a small step instead of a jump."""
        syn, rate = [], []
        for y in self.latents:
            noisy = soft_round(restoring_clamp(y, -LATENT_BOUND, LATENT_BOUND), temperature)
            noisy = noisy + torch.empty_like(y).uniform_(-0.5, 0.5)
            rate.append(noisy)
            syn.append(soft_round(noisy, temperature))
        return syn, rate

    def grid_bits(self, q: list[torch.Tensor], g: int) -> torch.Tensor:
        parent = q[g + 1] if g + 1 < self.arch.grids else None
        grid = q[g]
        h, w = grid.shape
        sub = grid.view(h // 2, 2, w // 2, 2)
        x00, x01, x10, x11 = sub[:, 0, :, 0], sub[:, 0, :, 1], sub[:, 1, :, 0], sub[:, 1, :, 1]
        a, o = self.anchor_net, self.other_net
        base_a = a.first_layer(parent, (h // 2, w // 2))
        bits = a.bits(torch.stack([base_a, base_a + a.w_parity.sum(1)]), torch.stack([x00, x11]), g)
        base_o = o.first_layer(parent, (h // 2, w // 2))
        n01 = torch.stack([shifted(x11, -1, 0), x00, shifted(x00, 0, 1), x11], dim=-1)     # N, W, E, S
        n10 = torch.stack([x00, shifted(x11, 0, -1), x11, shifted(x00, 1, 0)], dim=-1)
        acc01 = base_o + o.w_parity[:, 1] + F.linear(n01, o.w_neighbours)
        acc10 = base_o + o.w_parity[:, 0] + F.linear(n10, o.w_neighbours)
        return bits + o.bits(torch.stack([acc01, acc10]), torch.stack([x01, x10]), g)

    def rate_bits(self, q: list[torch.Tensor], first: int = 0) -> torch.Tensor:
        """Bits the context model charges for grids ``first`` … (the coarser ones are its parents)."""
        return sum(self.grid_bits(q, g) for g in range(first, self.arch.grids))

    def image(self, q: list[torch.Tensor], first: int = 0) -> torch.Tensor:
        """(H, W, 3) synthesis from grids ``first`` … at the resolution of grid ``first``; the
        finer grids are zero (the coarse-to-fine stage)."""
        size = q[first].shape
        planes = [q[first].new_zeros(size)] * first
        for g in range(first, self.arch.grids):
            v = q[g][None, None]
            for _ in range(g - first):
                v = F.interpolate(v, scale_factor=2, mode="bilinear", align_corners=False)
            planes.append(v[0, 0])
        return self.synthesis(torch.stack(planes, dim=-1))


@dataclass
class EncodeSettings:
    lam: float                   # rate weight: loss = MSE + lam · bpp
    steps: int
    lr: float = 1e-2            # the networks' peak rate (bench/overfit_tuning.py)
    latent_lr: float | None = 1e-1   # the latents' own peak rate (None: lr): they must travel
                                     # several units, the networks' weights a fraction of one
    arch: Architecture = Architecture()
    seed: int = 0
    progress: bool = False


def stages(grids: int) -> list[tuple[int, float]]:
    """Coarse to fine: (first grid, share of the steps). Stage ``f`` fits the image downscaled by
    2^f with grids f… only, at 1/4^f of the full cost per step."""
    if grids >= 3:
        return [(2, 0.5), (1, 0.3), (0, 0.2)]
    return [(1, 0.5), (0, 0.5)] if grids == 2 else [(0, 1.0)]


def _loss(model: OverfitModel, target: torch.Tensor, lam: float, hard: bool, first: int,
          temperature: float | None = None):
    if temperature is not None and not hard:
        q, q_rate = model.soft_latents(temperature)
    else:
        q = q_rate = model.quantized_latents(hard)
        if hard and HARD_RATE_CONTINUOUS:
            q_rate = [restoring_clamp(y, -LATENT_BOUND, LATENT_BOUND) for y in model.latents]
    x_hat = model.image(q, first)[:target.shape[0], :target.shape[1]]
    mse = torch.mean((x_hat - target) ** 2)
    bpp = model.rate_bits(q_rate, first) / (target.shape[0] * target.shape[1])
    return mse + lam * bpp, mse, bpp


def make_optimizer(model: OverfitModel, settings: EncodeSettings) -> torch.optim.Adam:
    """Adam with two groups, the latents and the networks, each at its peak rate (kept as
    ``"peak"`` for the schedule to scale)."""
    latents = list(model.latents)
    networks = [p for n, p in model.named_parameters() if not n.startswith("latents")]
    latent_lr = settings.latent_lr or settings.lr
    return torch.optim.Adam([{"params": latents, "lr": latent_lr, "peak": latent_lr},
                             {"params": networks, "lr": settings.lr, "peak": settings.lr}])


def fit(rgb: np.ndarray, settings: EncodeSettings) -> OverfitModel:
    """Gradient descent on ``rgb`` (H, W, 3) uint8: the float model, before quantization."""
    torch.manual_seed(settings.seed)
    arch = settings.arch
    height, width = rgb.shape[:2]
    ph, pw = padded_size(arch, height, width)
    image = torch.from_numpy(rgb.astype(np.float32) / 255.0).permute(2, 0, 1)[None]
    padded = F.pad(image, (0, pw - width, 0, ph - height), mode="replicate")
    model = OverfitModel(arch, ph, pw)
    optimizer = make_optimizer(model, settings)
    started, done = time.time(), 0
    plan = stages(arch.grids)
    best: tuple[float, list[torch.Tensor] | None] = (math.inf, None)
    hard_factor = HARD_LATENT_LR if HARD_LATENT_LR is not None else min(1.0, HARD_PHASE_STEPS / settings.steps)
    for index, (first, share) in enumerate(plan):
        final = index == len(plan) - 1
        span = settings.steps - done if final else max(1, round(settings.steps * share))
        f = 1 << first
        target = (F.avg_pool2d(padded, f) if first else padded)[0].permute(1, 2, 0)
        target = target[:-(-height // f), :-(-width // f)].contiguous()
        for local in range(span):
            hard = local >= NOISE_SHARE * span and (final or not HARD_FINAL_ONLY)
            decay = 0.5 * (1 + math.cos(math.pi * local / span)) * 0.95 + 0.05
            for group in optimizer.param_groups:
                group["lr"] = group["peak"] * decay
            if hard:
                optimizer.param_groups[0]["lr"] *= hard_factor
            temperature = None
            if SOFT_ROUND is not None:
                t0, t1 = SOFT_ROUND
                temperature = t0 + (t1 - t0) * local / max(1.0, NOISE_SHARE * span)
            loss, mse, bpp = _loss(model, target, settings.lam, hard, first, temperature)
            if KEEP_BEST and final and hard and loss.item() < best[0]:
                # in the last stage's hard phase the loss *is* the objective the decoder's latents
                # give, so the state it was measured on is worth keeping (see KEEP_BEST)
                best = (loss.item(), [p.detach().clone() for p in model.parameters()])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            done += 1
            if settings.progress and (done % 25 == 0 or done == settings.steps):
                psnr = -10 * math.log10(max(mse.item(), 1e-12))
                bar = "#" * int(30 * done / settings.steps)
                print(f"\rgzc-enc: overfit [{bar:<30}] {done}/{settings.steps} 1/{f} size {psnr:5.2f} dB "
                      f"{bpp.item():.4f} bpp {time.time() - started:6.1f} s", end="", file=sys.stderr, flush=True)
    if settings.progress:
        print(file=sys.stderr)
    if best[1] is not None:
        with torch.no_grad():
            for p, kept in zip(model.parameters(), best[1]):
                p.copy_(kept)
    return model


# -- quantization to the integer decoder -------------------------------------------------------

def _int_layer(weight: np.ndarray, bias: np.ndarray, weight_bits: int, in_bits: int, name: str) -> Layer:
    """Round a float layer (weight real, bias real in output units) to the integer form."""
    w = np.clip(np.round(weight * 2.0 ** weight_bits), -SYMBOL_BOUND, SYMBOL_BOUND).astype(np.int64)
    acc_scale = 2.0 ** (weight_bits + in_bits)            # accumulator units per real unit
    b_acc = bias * acc_scale
    peak = float(np.abs(b_acc).max()) if b_acc.size else 0.0
    shift = max(0, math.ceil(math.log2(peak / SYMBOL_BOUND))) if peak > SYMBOL_BOUND else 0
    b = np.clip(np.round(b_acc / 2.0 ** shift), -SYMBOL_BOUND, SYMBOL_BOUND).astype(np.int64)
    layer = Layer(w, b, weight_bits, shift)
    # keep the exactness bound (spec §12.4) by construction: shrink the bias if needed
    limit = ((1 << 24) - 1 - np.abs(w).reshape(w.shape[0], -1).sum(1) * input_bound(name)
             - rounding_offsets(layer, name)).astype(np.int64)
    if np.any(np.abs(b.astype(np.int64) << shift) > limit):
        b = np.clip(b, -(limit >> shift), limit >> shift)
        layer = Layer(w, b, weight_bits, shift)
    return layer


def float_layers(model: OverfitModel) -> dict[str, tuple[np.ndarray, np.ndarray, int]]:
    """Each layer as (real weight in the integer layout, real bias rows, input fraction bits)."""
    def np_(t):
        return t.detach().numpy().astype(np.float64)
    out = {}
    gain = ARM_OUTPUT_GAIN.numpy().astype(np.float64)[:, None]      # (mean, scale index) rows
    for name, net in (("anchor", model.anchor_net), ("other", model.other_net)):
        first = [np_(net.w_parent), np_(net.w_parity)]
        if net.w_neighbours is not None:
            first = [np_(net.w_neighbours)] + first
        out[f"arm_{name}_1"] = (np.concatenate(first, axis=1), np_(net.b1)[None], 0)
        out[f"arm_{name}_2"] = (np_(net.w2), np_(net.b2)[None], ACT_FRACTION_BITS)
        w3, b3 = np_(net.w3) * gain, np_(net.b3) * gain.T
        if model.arch.version == 1:
            out[f"arm_{name}_out"] = (w3, b3, ACT_FRACTION_BITS)
        else:       # the mean and the scale index as layers of their own, each with its own precision
            out[f"arm_{name}_mu"] = (w3[:1], b3[:, :1], ACT_FRACTION_BITS)
            out[f"arm_{name}_scale"] = (w3[1:], b3[:, 1:], ACT_FRACTION_BITS)
    s = model.synthesis
    out["syn_1"] = (np_(s.w1), np_(s.b1)[None], UPSAMPLED_FRACTION_BITS)
    out["syn_2"] = (np_(s.w2), np_(s.b2)[None], ACT_FRACTION_BITS)
    # the output layer and the refinements work in pixel levels (the float model in [0, 1])
    out["syn_out"] = (255 * np_(s.w3), 255 * np_(s.b3)[None], ACT_FRACTION_BITS)
    for i, (w, b) in enumerate(zip(s.refine_w, s.refine_b)):
        out[f"syn_refine_{i + 1}"] = (np_(w), 255 * np_(b)[None], PIXEL_FRACTION_BITS)
    return out


def integer_latents(model: OverfitModel) -> list[np.ndarray]:
    return [np.clip(np.round(y.detach().numpy()), -LATENT_BOUND, LATENT_BOUND).astype(np.int64)
            for y in model.latents]


def input_means(layers: dict[str, Layer], arch: Architecture, grids: list[np.ndarray]) -> dict[str, np.ndarray]:
    """Each layer's mean input over the image, in the real units of :func:`float_layers`, as
    (bias rows, inputs): one row, or one per grid for the context model's output layers.

    Computed with the integer decoder itself (the activations the file will really produce),
    so that a layer whose weights are dropped can fold their average effect into its bias."""
    means: dict[str, np.ndarray] = {}
    for net in ("anchor", "other"):
        sums = {1: 0.0, 2: 0.0}
        count, out_rows = 0, []
        first, second = (Affine.of(layers[f"arm_{net}_{i}"], f"arm_{net}_{i}") for i in (1, 2))
        for g in range(arch.grids):
            parent = grids[g + 1] if g + 1 < arch.grids else None
            flat, inputs = payload_io.pass_elements(grids[g], parent, grids[g].shape, anchors=net == "anchor")
            h1 = first.hidden(inputs)
            h2 = second.hidden(h1)
            sums[1] = sums[1] + inputs.astype(np.float64).sum(0)
            sums[2] = sums[2] + h1.astype(np.float64).sum(0) / (1 << ACT_FRACTION_BITS)
            count += len(flat)
            out_rows.append(h2.astype(np.float64).mean(0) / (1 << ACT_FRACTION_BITS))
        means[f"arm_{net}_1"] = (sums[1] / count)[None]
        means[f"arm_{net}_2"] = (sums[2] / count)[None]
        for name in layers:                         # version 1's output layer, or version 2's two
            if name.startswith(f"arm_{net}_") and name not in (f"arm_{net}_1", f"arm_{net}_2"):
                means[name] = np.stack(out_rows)
    x = upsampled_latents(grids).reshape(-1, arch.grids)
    first, second, out = (Affine.of(layers[n], n) for n in ("syn_1", "syn_2", "syn_out"))
    h1 = first.hidden(x)
    h2 = second.hidden(h1)
    means["syn_1"] = x.astype(np.float64).mean(0)[None] / (1 << UPSAMPLED_FRACTION_BITS)
    means["syn_2"] = h1.astype(np.float64).mean(0)[None] / (1 << ACT_FRACTION_BITS)
    means["syn_out"] = h2.astype(np.float64).mean(0)[None] / (1 << ACT_FRACTION_BITS)
    y = np.clip(out(h2), 0, PIXEL_MAX).reshape(grids[0].shape + (3,))
    for i in range(arch.syn_refine):
        name = f"syn_refine_{i + 1}"
        means[name] = y.reshape(-1, 3).astype(np.float64).mean(0)[None] / (1 << PIXEL_FRACTION_BITS)
        y = refine(y, layers[name], name)
    return means


def without_weights(weight: np.ndarray, bias: np.ndarray, mean_input: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A float layer with all weights zero, their average effect folded into the bias: exact when
    the input is constant (a flat image, a grid the rate has emptied), otherwise only a candidate
    that the quantization search keeps if it lowers the total cost."""
    w = weight.reshape(weight.shape[0], weight.shape[1], -1).sum(-1) if weight.ndim == 4 else weight
    return np.zeros_like(weight), bias + mean_input @ w.T


def quantize(model: OverfitModel, rgb: np.ndarray, lam: float, reach: int = 3
             ) -> tuple[payload_io.Decoder, bytes]:
    """Pick each layer's weight fraction bits by the total cost; return the decoder and payload.

    Layers are visited in payload order. Each starts at the largest precision
    that keeps its weights within ±126 and gives up one fraction bit at a time,
    up to ``reach`` bits, while that lowers ``MSE + λ·bpp`` of the fully
    integer decoder (more bits would clip the largest weights). Then, in the
    same order, each layer's weights are dropped altogether (their mean
    effect folded into the bias, :func:`without_weights`) where that lowers
    the cost: on a flat image every weight goes and the networks cost a
    few bytes instead of 1.5 kB; the refinement layers go on smooth content.
    A context-model layer changes only the latents' code length and a
    synthesis layer only the pixels, so each trial recomputes one of the two
    (the other is cached), and lengths are ideal code lengths (the range
    coder's stream is within a few bytes of them). The file itself is written
    once, at the end.
    """
    arch = model.arch
    height, width = rgb.shape[:2]
    pixels_count = height * width
    target = rgb.astype(np.float64) / 255.0
    floats = float_layers(model)
    grids = integer_latents(model)
    names = [name for name, _, _ in arch.layer_shapes()]
    context_names = [n for n in names if n.startswith("arm_")]
    synthesis_names = [n for n in names if not n.startswith("arm_")]
    means: dict[str, np.ndarray] = {}

    layer_cache: dict[tuple[str, int, bool], tuple[Layer, float]] = {}

    def layer_at(name: str, setting: tuple[int, bool]) -> tuple[Layer, float]:
        """The integer layer at (fraction bits, weights dropped) and its parameters' bits."""
        if (name, *setting) not in layer_cache:
            bits, dropped = setting
            weight, bias, in_bits = floats[name]
            if dropped:
                weight, bias = without_weights(weight, bias, means[name])
            layer = _int_layer(weight, bias, bits, in_bits, name)
            layer_cache[name, *setting] = layer, payload_io.parameter_bits(layer)
        return layer_cache[name, *setting]

    half_cache: dict[tuple, float] = {}

    def half_cost(part: list[str], chosen: dict[str, tuple[int, bool]], measure) -> float:
        key = tuple((n, chosen[n]) for n in part)
        if key not in half_cache:
            half_cache[key] = measure({n: layer_at(n, chosen[n])[0] for n in part})
        return half_cache[key]

    def latents_bits(layers: dict[str, Layer]) -> float:
        return payload_io.latent_bits(arch, layers, grids)

    def mse(layers: dict[str, Layer]) -> float:
        pixels = synthesise(layers, arch, grids, height, width).astype(np.float64) / 255.0
        return float(np.mean((pixels - target) ** 2))

    def cost(chosen: dict[str, tuple[int, bool]]) -> float:
        bits = sum(layer_at(n, s)[1] for n, s in chosen.items()) + half_cost(context_names, chosen, latents_bits)
        return half_cost(synthesis_names, chosen, mse) + lam * bits / pixels_count

    def default_bits(name: str) -> int:
        peak = float(np.abs(floats[name][0]).max()) or 1.0
        return int(np.clip(math.floor(math.log2(SYMBOL_BOUND / peak)), 0, MAX_WEIGHT_FRACTION_BITS))

    chosen = {name: (default_bits(name), False) for name in names}
    best = cost(chosen)
    for name in names:
        for bits in range(chosen[name][0] - 1, max(chosen[name][0] - reach, 0) - 1, -1):
            trial = dict(chosen, **{name: (bits, False)})
            c = cost(trial)
            if c >= best:
                break
            best, chosen = c, trial
    # first layer first: once a layer's weights are gone its output is constant, and every layer
    # after it then folds its own (now constant) input exactly; means are re-measured after each
    # drop, so that each fold sees the activations the decoder now produces
    measured_for = None
    for name in names:
        if chosen != measured_for:
            means.update(input_means({n: layer_at(n, s)[0] for n, s in chosen.items()}, arch, grids))
            measured_for = chosen
        trial = dict(chosen, **{name: (chosen[name][0], True)})
        c = cost(trial)
        if c < best:
            best, chosen = c, trial
    # the last layer's bias takes the mean colour error of the integer decoder (on a flat image
    # the whole picture is that bias, and a short fit can leave it a level off)
    last = synthesis_names[-1]
    pixels = synthesise({n: layer_at(n, s)[0] for n, s in chosen.items()}, arch, grids, height, width)
    error = (rgb.astype(np.float64) - pixels).reshape(-1, 3).mean(0)
    if np.abs(error).max() >= 0.25:
        saved = floats[last]
        floats[last] = (saved[0], saved[1] + error, saved[2])
        for cache in (layer_cache, half_cache):
            cache.clear()
        if cost(chosen) >= best:
            floats[last] = saved
            for cache in (layer_cache, half_cache):
                cache.clear()
    layers = {n: layer_at(n, s)[0] for n, s in chosen.items()}
    dec = payload_io.Decoder(arch, layers, grids)
    check_exact(dec.layers)
    return dec, payload_io.encode(dec)


SMALL_IMAGE = 1 << 18     # pixels below which one thread is faster than two (per-op overhead dominates)
M_TRIM_THRESHOLD, M_MMAP_MAX = -1, -4      # glibc mallopt parameters
GLIBC_MMAP_MAX = 65536                     # glibc's default M_MMAP_MAX


@contextmanager
def heap_allocations():
    """Serve large allocations from the heap and keep freed memory, for the length of an encode.

    Every step frees and re-allocates tensors of tens of MB; glibc serves those with
    fresh mmaps, so each step pays page faults and the kernel zeroing those pages
    again: a full-size step of a 768×512 image took 908 ms of CPU that way and 623 ms
    without (``bench/overfit_speed.py``). glibc only; restored afterwards (the memory
    stays with the process until freed at the top of the heap)."""
    libc = None
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
            libc.mallopt(M_TRIM_THRESHOLD, 1 << 30)
            libc.mallopt(M_MMAP_MAX, 0)
        except (OSError, AttributeError):
            libc = None
    try:
        yield
    finally:
        if libc is not None:
            libc.mallopt(M_MMAP_MAX, GLIBC_MMAP_MAX)
            libc.mallopt(M_TRIM_THRESHOLD, 128 * 1024)


def encode(rgb: np.ndarray, settings: EncodeSettings) -> bytes:
    """(H, W, 3) uint8 → the overfitted payload (spec §12.2)."""
    threads = torch.get_num_threads()
    if rgb.shape[0] * rgb.shape[1] < SMALL_IMAGE:
        torch.set_num_threads(1)
    try:
        with torch.enable_grad(), heap_allocations():
            model = fit(rgb, settings)
        with decoding_threads():
            return quantize(model, rgb, settings.lam)[1]
    finally:
        torch.set_num_threads(threads)
