"""The overfitted decoder's networks in exact integer arithmetic (numpy only).

Every layer computes ``acc = W·a + (b << bias_shift)`` with integer weights
``W``, integer activations ``a`` and an integer bias, then rescales to the
next layer's fixed-point units with a rounding shift, ``(acc + 2^(s−1)) >> s``
(floor, i.e. arithmetic shift). The products and sums are done by float32
GEMM for speed: :func:`check_exact` proves, per file and before decoding, that
``Σ|W|·max|a| + |b << bias_shift| < 2^24`` for every output, so every partial
sum is an integer float32 represents exactly, whatever order BLAS adds in and
however many threads it uses. The shift is done on int64. Nothing else is
float: the result is the same on every CPU (spec §12.4–12.6).

The torch encoder (:mod:`.encoder`) trains float twins of these networks and
finally calls these very functions, so the file's probabilities and pixels
are the ones computed here.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .architecture import (ACT_FRACTION_BITS, ACT_MAX, EXACT_LIMIT, LATENT_BOUND, MU_FRACTION_BITS,
                           UPSAMPLED_FRACTION_BITS,
                           PIXEL_FRACTION_BITS, PIXEL_MAX, SCALE_LEVELS, Architecture)


@dataclass
class Layer:
    """One quantized layer: int weights (out, in) or (out, in, 3, 3), biases (rows, out)."""
    weight: np.ndarray
    bias: np.ndarray
    weight_bits: int      # fractional bits of the weights: real weight = W / 2^weight_bits
    bias_shift: int       # the bias enters the accumulator as b << bias_shift


class ExactnessError(ValueError):
    """A layer whose partial sums could reach 2^24: float32 would not compute it exactly."""


# Largest magnitude of each layer's input, by layer name (spec §12.4).
def input_bound(name: str) -> int:
    if name.endswith("_1") and name.startswith("arm"):
        return LATENT_BOUND
    if name == "syn_1":
        return LATENT_BOUND << UPSAMPLED_FRACTION_BITS
    if name.startswith("syn_refine"):
        return PIXEL_MAX
    return ACT_MAX


def input_bits(name: str) -> int:
    """Fraction bits of a layer's input: latents are integers, the upsampled latents and the
    pixels are in 1/16, hidden activations in 1/256."""
    if name.startswith("arm") and name.endswith("_1"):
        return 0
    if name == "syn_1":
        return UPSAMPLED_FRACTION_BITS
    return PIXEL_FRACTION_BITS if name.startswith("syn_refine") else ACT_FRACTION_BITS


def output_bits(name: str) -> np.ndarray:
    """Fraction bits of each output row: the context model's mean in quarters and its scale
    index in units; pixels in 1/16; hidden activations in 1/256."""
    if name.startswith("arm") and name.endswith("_out"):
        return np.array([MU_FRACTION_BITS, 0])
    return np.array([PIXEL_FRACTION_BITS if name == "syn_out" or name.startswith("syn_refine")
                     else ACT_FRACTION_BITS])


def rounding_offsets(layer: Layer, name: str) -> np.ndarray:
    """What the rounding shift adds before it divides, per output row: 2^(q−1), or 0 for q ≤ 0."""
    q = layer.weight_bits + input_bits(name) - output_bits(name)
    return np.where(q > 0, 2.0 ** (q - 1), 0.0)


def check_exact(layers: dict[str, Layer]) -> None:
    """Refuse a decoder whose sums could leave float32's exact integer range: every partial
    sum of ``W·a``, plus the bias, plus the rounding offset, must stay below 2^24."""
    for name, layer in layers.items():
        w = np.abs(layer.weight.astype(np.int64)).reshape(layer.weight.shape[0], -1).sum(axis=1)
        worst = (w * input_bound(name) + np.abs(layer.bias.astype(np.int64) << layer.bias_shift).max(axis=0)
                 + rounding_offsets(layer, name))
        if worst.max() >= EXACT_LIMIT:
            raise ExactnessError(f"layer {name}: a sum could reach {int(worst.max())} ≥ 2^24")


def dense(a: np.ndarray, layer: Layer, name: str, bias_row: np.ndarray | int = 0) -> np.ndarray:
    """(N, in) integer activations → (N, out) integer outputs, all held in float32.

    ``acc = a·Wᵀ + (b << s)``, then ``floor((acc + 2^(q−1)) · 2^−q)`` per output row
    (:func:`output_bits`): every intermediate is an integer below 2^24 (:func:`check_exact`)
    or that times a power of two, so each float32 operation is exact. ``bias_row``
    picks a bias row per sample (the context model's per-grid output biases) or for all."""
    bias = (layer.bias.astype(np.int64) << layer.bias_shift).astype(np.float32)
    acc = np.asarray(a, dtype=np.float32) @ layer.weight.astype(np.float32).T
    acc += bias[bias_row]
    q = layer.weight_bits + input_bits(name) - output_bits(name)
    acc += rounding_offsets(layer, name).astype(np.float32)
    acc *= (2.0 ** -q).astype(np.float32)
    return np.floor(acc, out=acc)


def hidden(a: np.ndarray, layer: Layer, name: str) -> np.ndarray:
    """A hidden layer: dense, then ReLU clamped to the 12-bit activation range."""
    return np.clip(dense(a, layer, name), 0, ACT_MAX)


# -- the context model (entropy model of the latents) -----------------------------------------

def parent_features(parent: np.ndarray | None, height: int, width: int) -> np.ndarray:
    """(height, width, 11): each element's parent 3×3 neighbourhood in the next coarser grid
    (zero outside it, and everywhere for the coarsest grid) and its parity (row, column) in
    that parent."""
    out = np.zeros((height, width, 11), dtype=np.int64)
    rows, cols = np.arange(height), np.arange(width)
    if parent is not None:
        padded = np.pad(parent.astype(np.int64), 1)
        pr, pc = rows >> 1, cols >> 1
        for k, (di, dj) in enumerate((di, dj) for di in (-1, 0, 1) for dj in (-1, 0, 1)):
            out[:, :, k] = padded[(pr + 1 + di)[:, None], (pc + 1 + dj)[None, :]]
    out[:, :, 9] = (rows & 1)[:, None]
    out[:, :, 10] = (cols & 1)[None, :]
    return out


def neighbour_features(grid: np.ndarray) -> np.ndarray:
    """(height, width, 4): the same-grid neighbours N, W, E, S (zero outside the grid). For a
    non-anchor element these are all anchors, decoded in the first pass."""
    p = np.pad(grid.astype(np.int64), 1)
    return np.stack([p[:-2, 1:-1], p[1:-1, :-2], p[1:-1, 2:], p[2:, 1:-1]], axis=-1)


def anchor_mask(height: int, width: int) -> np.ndarray:
    """Anchors ((i + j) even) are decoded first, from the coarser grid only."""
    return (np.arange(height)[:, None] + np.arange(width)[None, :]) % 2 == 0


def context_predictions(layers: dict[str, Layer], net: str, inputs: np.ndarray, grid_index: int
                        ) -> tuple[np.ndarray, np.ndarray]:
    """(N, inputs) context features → (mu_q, k): the mean in quarters, clamped to
    ±4·LATENT_BOUND, and the scale index in 0…SCALE_LEVELS−1."""
    h = hidden(inputs, layers[f"arm_{net}_1"], f"arm_{net}_1")
    h = hidden(h, layers[f"arm_{net}_2"], f"arm_{net}_2")
    out = dense(h, layers[f"arm_{net}_out"], f"arm_{net}_out", bias_row=grid_index)
    bound = LATENT_BOUND << MU_FRACTION_BITS
    return (np.clip(out[:, 0], -bound, bound).astype(np.int64),
            np.clip(out[:, 1], 0, SCALE_LEVELS - 1).astype(np.int64))


def table_index(mu_q: np.ndarray, k: np.ndarray) -> np.ndarray:
    """The Laplace table (spec §12.3) of each element: fraction of the mean × scale levels + k."""
    return (mu_q & ((1 << MU_FRACTION_BITS) - 1)) * SCALE_LEVELS + k


def residual_offset(mu_q: np.ndarray) -> np.ndarray:
    """What is subtracted from a latent value before coding: the floor of the predicted mean."""
    return mu_q >> MU_FRACTION_BITS


# -- the synthesis -----------------------------------------------------------------------------

def upsample2(v: np.ndarray) -> np.ndarray:
    """2× upsampling of a fixed-point grid with the bilinear phases (3/4, 1/4), edges clamped:
    exactly ``(Σ taps·v + 8) >> 4`` over the 2×2 taps (9, 3, 3, 1)/16."""
    v = v.astype(np.int64)
    up, down = np.concatenate([v[:1], v[:-1]]), np.concatenate([v[1:], v[-1:]])
    rows = np.empty((2 * v.shape[0], v.shape[1]), dtype=np.int64)
    rows[0::2], rows[1::2] = 3 * v + up, 3 * v + down
    left, right = np.concatenate([rows[:, :1], rows[:, :-1]], 1), np.concatenate([rows[:, 1:], rows[:, -1:]], 1)
    out = np.empty((rows.shape[0], 2 * v.shape[1]), dtype=np.int64)
    out[:, 0::2], out[:, 1::2] = 3 * rows + left, 3 * rows + right
    return (out + 8) >> 4


def upsampled_latents(grids: list[np.ndarray]) -> np.ndarray:
    """Every grid brought to full resolution in units of 1/16: (H, W, grids), integers in float32."""
    planes = []
    for g, grid in enumerate(grids):
        v = grid.astype(np.int64) << UPSAMPLED_FRACTION_BITS
        for _ in range(g):
            v = upsample2(v)
        planes.append(v)
    out = np.empty(planes[0].shape + (len(planes),), dtype=np.float32)
    for g, plane in enumerate(planes):
        out[..., g] = plane
    return out


def refine(y: np.ndarray, layer: Layer, name: str) -> np.ndarray:
    """A residual 3×3 layer on the (H, W, 3) image in 1/16 pixel levels (edges replicated)."""
    h, w, _ = y.shape
    p = np.pad(y, ((1, 1), (1, 1), (0, 0)), mode="edge")
    cols = np.empty((h, w, 9, 3), dtype=np.float32)
    for tap, (i, j) in enumerate((i, j) for i in range(3) for j in range(3)):
        cols[:, :, tap] = p[i:i + h, j:j + w]
    # weight (out, in, kh, kw) → (out, kh·kw·in) to match cols' (tap, channel) order
    flat_weight = layer.weight.transpose(0, 2, 3, 1).reshape(3, 27)
    delta = dense(cols.reshape(h * w, 27), Layer(flat_weight, layer.bias, layer.weight_bits, layer.bias_shift), name)
    return np.clip(y + delta.reshape(h, w, 3), 0, PIXEL_MAX)


def synthesise(layers: dict[str, Layer], arch: Architecture, grids: list[np.ndarray], height: int, width: int
               ) -> np.ndarray:
    """Decoded latent grids → (height, width, 3) uint8 (the padded image, cropped)."""
    x = upsampled_latents(grids)
    ph, pw = x.shape[:2]
    h = hidden(x.reshape(ph * pw, arch.grids), layers["syn_1"], "syn_1")
    h = hidden(h, layers["syn_2"], "syn_2")
    y = np.clip(dense(h, layers["syn_out"], "syn_out"), 0, PIXEL_MAX).reshape(ph, pw, 3)
    for i in range(arch.syn_refine):
        y = refine(y, layers[f"syn_refine_{i + 1}"], f"syn_refine_{i + 1}")
    y = y[:height, :width]
    pixels = np.floor((y + (1 << (PIXEL_FRACTION_BITS - 1))) * (1.0 / (1 << PIXEL_FRACTION_BITS)))
    return np.clip(pixels, 0, 255).astype(np.uint8)
