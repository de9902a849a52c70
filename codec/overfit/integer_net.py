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


#: rows per block of the per-element networks (synthesis MLP, context model, refinements): one
#: block's activations (24 × 4 bytes each) stay in cache; blocks never change the result
SYNTHESIS_ROWS = 1 << 14


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
    if name.startswith("arm") and name.endswith("_out"):      # version 1: (mean, scale) rows
        return np.array([MU_FRACTION_BITS, 0])
    if name.startswith("arm") and name.endswith("_mu"):
        return np.array([MU_FRACTION_BITS])
    if name.startswith("arm") and name.endswith("_scale"):
        return np.array([0])
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


@dataclass(frozen=True)
class Affine:
    """A layer ready to run: ``floor((a·Wᵀ + add) · scale)`` in float32, where ``add`` folds the
    shifted bias and the rounding offset ``2^(q−1)`` into one integer per output (their sum is
    within the bound :func:`check_exact` enforces, so it is exact) and ``scale = 2^−q``."""
    weight_t: np.ndarray      # (in, out) float32
    add: np.ndarray           # (bias rows, out) float32
    scale: np.ndarray         # (out,) float32

    @staticmethod
    def of(layer: Layer, name: str) -> "Affine":
        bias = (layer.bias.astype(np.int64) << layer.bias_shift).astype(np.float64)
        q = layer.weight_bits + input_bits(name) - output_bits(name)
        add = (bias + rounding_offsets(layer, name)).astype(np.float32)
        weight = layer.weight.reshape(layer.weight.shape[0], -1)
        return Affine(np.ascontiguousarray(weight.T, dtype=np.float32), add, (2.0 ** -q).astype(np.float32))

    def __call__(self, a: np.ndarray, bias_row: np.ndarray | int = 0) -> np.ndarray:
        acc = np.asarray(a, dtype=np.float32) @ self.weight_t
        acc += self.add[bias_row]
        acc *= self.scale
        return np.floor(acc, out=acc)

    def hidden(self, a: np.ndarray) -> np.ndarray:
        """A hidden layer: the affine map, then ReLU clamped to the 12-bit activation range."""
        acc = self(a)
        return np.clip(acc, 0, ACT_MAX, out=acc)


def dense(a: np.ndarray, layer: Layer, name: str, bias_row: np.ndarray | int = 0) -> np.ndarray:
    """(N, in) integer activations → (N, out) integer outputs, all held in float32.

    ``acc = a·Wᵀ + (b << s)``, then ``floor((acc + 2^(q−1)) · 2^−q)`` per output row
    (:func:`output_bits`): every intermediate is an integer below 2^24 (:func:`check_exact`)
    or that times a power of two, so each float32 operation is exact, in any summation
    order. ``bias_row`` picks a bias row per sample (the context model's per-grid output
    biases) or for all."""
    return Affine.of(layer, name)(a, bias_row)


def hidden(a: np.ndarray, layer: Layer, name: str) -> np.ndarray:
    """A hidden layer: dense, then ReLU clamped to the 12-bit activation range."""
    return Affine.of(layer, name).hidden(a)


# -- the context model (entropy model of the latents) -----------------------------------------

def context_head(layers: dict[str, Layer], net: str):
    """The context net's output layer(s) as one function (hidden, grid) → (N, 2) integers, the
    mean in quarters and the scale index: version 1's two-row ``arm_*_out`` layer, or version 2's
    ``arm_*_mu`` and ``arm_*_scale`` layers, each with its own precision."""
    if f"arm_{net}_out" in layers:
        last = Affine.of(layers[f"arm_{net}_out"], f"arm_{net}_out")
        return lambda h, g: last(h, bias_row=g)
    mean, scale = (Affine.of(layers[f"arm_{net}_{n}"], f"arm_{net}_{n}") for n in ("mu", "scale"))
    return lambda h, g: np.concatenate([mean(h, bias_row=g), scale(h, bias_row=g)], axis=1)


def context_predictions(layers: dict[str, Layer], net: str, inputs: np.ndarray, grid_index: int
                        ) -> tuple[np.ndarray, np.ndarray]:
    """(N, inputs) context features → (mu_q, k): the mean in quarters, clamped to
    ±4·LATENT_BOUND, and the scale index in 0…SCALE_LEVELS−1."""
    first, second = (Affine.of(layers[f"arm_{net}_{n}"], f"arm_{net}_{n}") for n in ("1", "2"))
    last = context_head(layers, net)
    out = np.empty((inputs.shape[0], 2), dtype=np.float32)
    for start in range(0, inputs.shape[0], SYNTHESIS_ROWS):     # blocks that stay in cache, as the synthesis
        out[start:start + SYNTHESIS_ROWS] = last(second.hidden(first.hidden(inputs[start:start + SYNTHESIS_ROWS])),
                                                 grid_index)
    return clamped_predictions(out)


def clamped_predictions(out: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The output layers' (N, 2) integers → (mu_q, k), clamped to ±4·LATENT_BOUND and 0…SCALE_LEVELS−1."""
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
    """2× upsampling of a fixed-point grid, (h, w) or (h, w, channels), with the bilinear phases
    (3/4, 1/4), edges clamped: exactly ``(Σ taps·v + 8) >> 4`` over the 2×2 taps (9, 3, 3, 1)/16.

    Integer input is computed in int64; float32 input must hold integers (the decoder's own
    path), and is computed exactly in float32: every sum is an integer below 16 · 2^20, and
    ``>> 4`` is ``floor(· / 16)``, a power-of-two scaling."""
    up, down = np.concatenate([v[:1], v[:-1]]), np.concatenate([v[1:], v[-1:]])
    rows = np.empty((2 * v.shape[0],) + v.shape[1:], dtype=np.float32 if v.dtype == np.float32 else np.int64)
    rows[0::2], rows[1::2] = 3 * v + up, 3 * v + down
    left, right = np.concatenate([rows[:, :1], rows[:, :-1]], 1), np.concatenate([rows[:, 1:], rows[:, -1:]], 1)
    out = np.empty((rows.shape[0], 2 * v.shape[1]) + v.shape[2:], dtype=rows.dtype)
    out[:, 0::2], out[:, 1::2] = 3 * rows + left, 3 * rows + right
    if out.dtype == np.float32:
        out += 8
        out *= np.float32(1 / 16)
        return np.floor(out, out=out)
    return (out + 8) >> 4


def upsampled_latents(grids: list[np.ndarray]) -> np.ndarray:
    """Every grid brought to full resolution in units of 1/16: (H, W, grids), integers in float32.

    Coarse to fine, all the planes upsampled so far go up together as the channels of one
    (h, w, channels) array, with each finer grid joining at its own level: one pass per level
    instead of one per grid and level (the same numbers: the filter is per channel)."""
    scale = np.float32(1 << UPSAMPLED_FRACTION_BITS)
    v = (grids[-1].astype(np.float32) * scale)[..., None]
    for grid in reversed(grids[:-1]):
        v = upsample2(v)
        v = np.concatenate([(grid.astype(np.float32) * scale)[..., None], v], axis=-1)
    return v


def refine(y: np.ndarray, layer: Layer, name: str) -> np.ndarray:
    """A residual 3×3 layer on the (H, W, 3) image in 1/16 pixel levels (edges replicated).

    The padded image is held as three flat planes of rows ``W + 2`` wide, so that the input of
    tap (i, j) for a run of positions is one contiguous slice of each plane, starting
    ``i·(W + 2) + j`` further on (the two positions per row that fall in the padding are
    computed and dropped). A band's 27 tap rows are copied into one (27, positions) matrix that
    stays in cache, and the layer is one product (3 × 27)·(27 × positions): 3.5× faster than
    gathering (positions, 27) rows, whose 3-float pieces copied slowly. Positions are
    independent, so the band size does not change the result."""
    h, w, _ = y.shape
    wp = w + 2
    planes = np.pad(y, ((1, 1), (1, 1), (0, 0)), mode="edge").transpose(2, 0, 1).reshape(3, -1)
    planes = np.concatenate([planes, np.zeros((3, 2), np.float32)], 1)   # the last band's last taps run 2 over
    # weight (out, in, kh, kw) → (out, kh·kw·in): column 3·tap + channel, as the tap rows below
    f = Affine.of(Layer(layer.weight.transpose(0, 2, 3, 1).reshape(3, 27), layer.bias, layer.weight_bits,
                        layer.bias_shift), name)
    weight, add, scale = np.ascontiguousarray(f.weight_t.T), f.add[0][:, None], f.scale[:, None]
    offsets = [i * wp + j for i in range(3) for j in range(3)]
    out = np.empty((3, h * wp), dtype=np.float32)
    band = max(1, SYNTHESIS_ROWS // wp)
    for top in range(0, h, band):
        start, count = top * wp, min(band, h - top) * wp
        taps = np.empty((27, count), dtype=np.float32)
        for t, offset in enumerate(offsets):
            taps[3 * t:3 * t + 3] = planes[:, start + offset:start + offset + count]
        acc = weight @ taps
        acc += add
        acc *= scale
        out[:, start:start + count] = np.floor(acc, out=acc)
    delta = out.reshape(3, h, wp)[:, :, :w].transpose(1, 2, 0) + y
    return np.clip(delta, 0, PIXEL_MAX, out=delta)


def synthesise(layers: dict[str, Layer], arch: Architecture, grids: list[np.ndarray], height: int, width: int
               ) -> np.ndarray:
    """Decoded latent grids → (height, width, 3) uint8 (the padded image, cropped).

    The per-pixel MLP runs block by block, so each block's hidden activations are produced and
    consumed while they are in cache instead of streaming (H·W, 24) arrays through memory
    three times; blocks are independent, so the result is the same for any block size."""
    x = upsampled_latents(grids)
    ph, pw = x.shape[:2]
    flat = x.reshape(ph * pw, arch.grids)
    first, second, out = (Affine.of(layers[n], n) for n in ("syn_1", "syn_2", "syn_out"))
    y = np.empty((ph * pw, 3), dtype=np.float32)
    for start in range(0, ph * pw, SYNTHESIS_ROWS):
        block = flat[start:start + SYNTHESIS_ROWS]
        y[start:start + block.shape[0]] = np.clip(out(second.hidden(first.hidden(block))), 0, PIXEL_MAX)
    y = y.reshape(ph, pw, 3)
    for i in range(arch.syn_refine):
        y = refine(y, layers[f"syn_refine_{i + 1}"], f"syn_refine_{i + 1}")
    y = y[:height, :width]
    pixels = np.floor((y + (1 << (PIXEL_FRACTION_BITS - 1))) * (1.0 / (1 << PIXEL_FRACTION_BITS)))
    return np.clip(pixels, 0, 255).astype(np.uint8)
