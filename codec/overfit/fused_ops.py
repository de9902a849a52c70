"""Cache-sized, hand-differentiated versions of the encoder's two hot paths (torch).

Why: a full-size step of the fit (768×512) spent most of its time streaming
(393k × 24) float tensors through memory, not multiplying. Measured with one
thread here, a ReLU on such a tensor took 32 ms, the same ReLU on 16k-row
slices 4 ms per 393k rows; a (393k × 24)·(24 × 24) product 42 ms, in 16k-row
slices 16 ms. Autograd keeps every intermediate of the whole image alive and
walks each of them once per operation, so the per-pixel MLP's backward pass
cost 4× its forward (``bench/overfit_speed.py``).

Both functions below walk their rows in slices of :data:`ROWS` rows, so each
slice's intermediates stay in cache, and compute their gradients by hand
(matrix products and masks, no autograd graph per slice):

* :func:`pixel_mlp` is the synthesis' per-pixel MLP up to the pixel clamp. Its
  output feeds the 3×3 refinement layers, so its backward pass recomputes each
  slice's activations instead of storing them.
* :func:`context_bits` is a context net's head plus the Laplace code length,
  summed. Its output is a scalar, so the forward pass computes the gradients
  at once and the backward pass only scales them.

The clamps keep the encoder's gradient rules exactly (the clamped ReLU of
:class:`~.encoder._ClampedRelu`, the restoring clamp of
:class:`~.encoder._RestoringClamp`); ``tests/test_overfit_fused.py`` holds
both functions to the autograd reference in float64.
"""
from __future__ import annotations

import math

import torch
from torch.nn import functional as F

from .architecture import ACT_FRACTION_BITS, ACT_MAX, LATENT_BOUND, SCALE_LEVELS, SCALE_MIN, SCALE_STEPS_PER_OCTAVE

ROWS = 16384                     # rows per slice: 16k × 24 floats = 1.5 MB, in L2 with its neighbours
ACT_REAL_MAX = ACT_MAX / (1 << ACT_FRACTION_BITS)
LOG2 = math.log(2.0)
P_FLOOR = 2.0 ** -24             # the code length's probability floor (as encoder.laplace_bits)


def relu_backward(grad: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The clamped ReLU's gradient given its output ``y``: none at 0, only grad > 0 at the top."""
    out = torch.ops.aten.threshold_backward(grad, y, 0.0)
    if float(y.max()) >= ACT_REAL_MAX:
        out = torch.where(y >= ACT_REAL_MAX, grad.clamp_min(0), out)
    return out


def restoring_keep(x: torch.Tensor, grad: torch.Tensor, low: float, high: float) -> torch.Tensor:
    """The restoring clamp's gradient: outside [low, high] only what moves ``x`` back in."""
    keep = ((x >= low) | (grad < 0)) & ((x <= high) | (grad > 0))
    return grad * keep


class _PixelMLP(torch.autograd.Function):
    @staticmethod
    def forward(ctx, u, w1, b1, w2, b2, w3, b3, pixel_max):
        ctx.save_for_backward(u, w1, b1, w2, b2, w3, b3)
        ctx.pixel_max = pixel_max
        out = u.new_empty(u.shape[0], w3.shape[0])
        for i in range(0, u.shape[0], ROWS):
            h = torch.addmm(b1, u[i:i + ROWS], w1.t()).clamp_(0.0, ACT_REAL_MAX)
            h = torch.addmm(b2, h, w2.t()).clamp_(0.0, ACT_REAL_MAX)
            torch.clamp(torch.addmm(b3, h, w3.t()), 0.0, pixel_max, out=out[i:i + ROWS])
        return out

    @staticmethod
    def backward(ctx, grad):
        u, w1, b1, w2, b2, w3, b3 = ctx.saved_tensors
        grads = [torch.zeros_like(p) for p in (w1, b1, w2, b2, w3, b3)]
        gw1, gb1, gw2, gb2, gw3, gb3 = grads
        gu = torch.empty_like(u) if ctx.needs_input_grad[0] else None
        for i in range(0, u.shape[0], ROWS):
            uc, g = u[i:i + ROWS], grad[i:i + ROWS]
            h1 = torch.addmm(b1, uc, w1.t()).clamp_(0.0, ACT_REAL_MAX)
            h2 = torch.addmm(b2, h1, w2.t()).clamp_(0.0, ACT_REAL_MAX)
            g3 = restoring_keep(torch.addmm(b3, h2, w3.t()), g, 0.0, ctx.pixel_max)
            gw3.addmm_(g3.t(), h2)
            gb3 += g3.sum(0)
            g2 = relu_backward(g3 @ w3, h2)
            gw2.addmm_(g2.t(), h1)
            gb2 += g2.sum(0)
            g1 = relu_backward(g2 @ w2, h1)
            gw1.addmm_(g1.t(), uc)
            gb1 += g1.sum(0)
            if gu is not None:
                torch.mm(g1, w1, out=gu[i:i + ROWS])
        return (gu, *grads, None)


def pixel_mlp(u: torch.Tensor, w1, b1, w2, b2, w3, b3, pixel_max: float) -> torch.Tensor:
    """(N, grids) upsampled latents → (N, 3) clamped to [0, pixel_max]: two clamped-ReLU layers
    and a linear one, as :class:`~.encoder.Synthesis` before its refinements."""
    return _PixelMLP.apply(u.contiguous(), w1, b1, w2, b2, w3, b3, pixel_max)


def laplace_bits_and_grads(x, mu_raw, k_raw):
    """Code length −log2 P(x) of each element, and its gradients with respect to x, the
    unclamped mean and the unclamped scale index (restoring clamps applied), as in
    :func:`~.encoder.laplace_bits` with the mean clamped to the latents' range."""
    mu = mu_raw.clamp(-LATENT_BOUND, LATENT_BOUND)
    k = k_raw.clamp(0, SCALE_LEVELS - 1)
    b = SCALE_MIN * torch.exp2(k / SCALE_STEPS_PER_OCTAVE)
    d = x - mu
    r = d.abs()
    inside = r < 0.5
    hi = torch.exp(-(r + 0.5) / b)
    lo = torch.exp(-(r - 0.5).clamp_min(0) / b)          # used where r ≥ 0.5
    mid = torch.exp(-(0.5 - r).clamp_min(0) / b)         # used where r < 0.5
    p = torch.where(inside, 1 - 0.5 * (mid + hi), 0.5 * (lo - hi))
    bits = -torch.log2(p.clamp_min(P_FLOOR))
    # d p / d r and d p / d b on each branch
    dp_dr = torch.where(inside, -0.5 * (mid - hi) / b, 0.5 * (hi - lo) / b)
    dp_db = torch.where(inside, -0.5 * (mid * (0.5 - r) + hi * (r + 0.5)),
                        0.5 * (lo * (r - 0.5) - hi * (r + 0.5))) / (b * b)
    dbits_dp = torch.where(p >= P_FLOOR, -1.0 / (p * LOG2), torch.zeros_like(p))
    dbits_dr = dbits_dp * dp_dr
    g_x = dbits_dr * torch.sign(d)
    g_mu = restoring_keep(mu_raw, -g_x, -LATENT_BOUND, LATENT_BOUND)
    g_k = restoring_keep(k_raw, dbits_dp * dp_db * b * (LOG2 / SCALE_STEPS_PER_OCTAVE), 0, SCALE_LEVELS - 1)
    return bits, g_x, g_mu, g_k


class _ContextBits(torch.autograd.Function):
    @staticmethod
    def forward(ctx, acc, x, w2, b2, w3, b3, gain):
        hidden = acc.shape[-1]
        acc2, x1 = acc.reshape(-1, hidden), x.reshape(-1)
        g_acc, g_x = torch.empty_like(acc2), torch.empty_like(x1)
        gw2, gb2, gw3, gb3 = (torch.zeros_like(p) for p in (w2, b2, w3, b3))
        total = acc.new_zeros(())
        for i in range(0, acc2.shape[0], ROWS):
            a1 = acc2[i:i + ROWS].clamp(0.0, ACT_REAL_MAX)
            a2 = torch.addmm(b2, a1, w2.t()).clamp_(0.0, ACT_REAL_MAX)
            out = torch.addmm(b3, a2, w3.t()) * gain
            bits, gx, gmu, gk = laplace_bits_and_grads(x1[i:i + ROWS], out[:, 0], out[:, 1])
            total += bits.sum()
            g_x[i:i + ROWS] = gx
            g_out = torch.stack([gmu, gk], dim=1) * gain
            gw3.addmm_(g_out.t(), a2)
            gb3 += g_out.sum(0)
            g2 = relu_backward(g_out @ w3, a2)
            gw2.addmm_(g2.t(), a1)
            gb2 += g2.sum(0)
            g_acc[i:i + ROWS] = relu_backward(g2 @ w2, a1)
        ctx.save_for_backward(g_acc.view_as(acc), g_x.view_as(x), gw2, gb2, gw3, gb3)
        return total

    @staticmethod
    def backward(ctx, grad):
        return (*(g * grad for g in ctx.saved_tensors), None)


def context_bits(acc: torch.Tensor, x: torch.Tensor, w2, b2, w3, b3, gain: torch.Tensor) -> torch.Tensor:
    """Σ −log2 P(x) where a context net's head turns the first layer's sums ``acc`` (…, hidden)
    into (mean, scale index) = (W3·act(W2·act(acc) + b2) + b3) · gain for each element of ``x`` (…)."""
    return _ContextBits.apply(acc.contiguous(), x.contiguous(), w2, b2, w3, b3, gain.to(acc.dtype))
