"""The overfitted decoder's architecture: constants, sizes and limits (no torch, no numpy).

One file = one image's own decoder. What is fixed (and named by the model ID)
is the *shape* of that decoder; the sizes that vary per file (grid count,
layer widths) are in the payload header and are checked against the limits
below before anything is allocated (spec §12).

Numbers are integers everywhere in decoding. Activations are fixed-point
values with ``ACT_FRACTION_BITS`` fractional bits; every dot product is sized
so that all its partial sums stay below 2^24 in magnitude, so float32 GEMM
computes it exactly in any summation order, on any CPU and thread count
(checked per file by :func:`gzc.codec.overfit.integer_net.check_exact`).
"""
from __future__ import annotations

from dataclasses import dataclass

#: The decoder's versions, each an 8-byte ASCII model ID (spec §12.1). Version 2 splits the
#: context model's output layer into a mean layer and a scale layer, each with its own weight
#: precision and bias shift: sharing them, the mean (weights below 1, biases below 1) was
#: quantized with the steps the scale index (weights up to 12, biases up to 41) needed, and
#: that alone cost 25 % of the latents' bits (kodim23, ``bench/overfit_context_precision.py``).
#: Version 1 files still decode; the encoder writes version 2.
MODEL_IDS = {1: b"overfit1", 2: b"overfit2"}
MODEL_NAMES = {1: "overfit-v1", 2: "overfit-v2"}
VERSION = 2                     # what the encoder writes
MODEL_ID, MODEL_NAME = MODEL_IDS[VERSION], MODEL_NAMES[VERSION]

#: --bits → λ of the encoder's objective MSE + λ·bpp (images in [0, 1]). Kept here, with no numpy,
#: because listing models (``gzc-info --models``, the plugin's ``models()``) shows the bits
DEFAULT_BITS = 4
LAMBDAS = {1: 0.02, 2: 0.01, 3: 0.005, 4: 0.0025, 5: 0.00125, 6: 0.0006, 7: 0.0003, 8: 0.00015}

LATENT_BOUND = 63               # latent values lie in [-63, 63]
SYMBOL_BOUND = 2 * LATENT_BOUND # coded residuals and network parameters lie in [-126, 126]
SCALE_LEVELS = 64               # Laplace scales b_k = SCALE_MIN · 2^(k / SCALE_STEPS_PER_OCTAVE)
SCALE_MIN = 0.04
SCALE_STEPS_PER_OCTAVE = 6
MU_FRACTION_BITS = 2            # the context model predicts means in quarters
ACT_FRACTION_BITS = 8           # hidden activations: integers in [0, ACT_MAX], value / 256 (12 bits: 8-bit
ACT_MAX = 4095                  # activations at 1/16 cost 6.5 dB on a 256×384 crop: the float model's are small)
UPSAMPLED_FRACTION_BITS = 4     # the upsampled latents, the synthesis input: value / 16
PIXEL_FRACTION_BITS = 4         # the synthesis output: pixel levels / 16
PIXEL_MAX = 255 << PIXEL_FRACTION_BITS | (1 << PIXEL_FRACTION_BITS) - 1   # 4095: clamp before a refine layer
EXACT_LIMIT = 1 << 24           # every |partial sum| must stay below this

MAX_GRIDS = 8
MAX_ARM_HIDDEN = 32
MAX_SYN_HIDDEN = 32            # 32 inputs · 126 · 4095 stays below 2^24
MAX_SYN_REFINE = 4
MAX_WEIGHT_FRACTION_BITS = 15
MAX_BIAS_SHIFT = 24

ANCHOR_INPUTS = 11              # parent 3×3 neighbourhood (9) + the element's parity in its parent (2)
OTHER_INPUTS = 15               # the same + the four same-grid anchors N, W, E, S


@dataclass(frozen=True)
class Architecture:
    """The per-file sizes of the decoder (payload header, spec §12.2)."""
    grids: int = 7
    arm_hidden: int = 16
    syn_hidden: int = 24
    syn_refine: int = 2
    version: int = VERSION          # from the file's model ID, not from the payload header

    def check(self) -> None:
        if not 1 <= self.grids <= MAX_GRIDS:
            raise ValueError(f"grid count {self.grids} outside 1…{MAX_GRIDS}")
        if not 1 <= self.arm_hidden <= MAX_ARM_HIDDEN:
            raise ValueError(f"context-model width {self.arm_hidden} outside 1…{MAX_ARM_HIDDEN}")
        if not 1 <= self.syn_hidden <= MAX_SYN_HIDDEN:
            raise ValueError(f"synthesis width {self.syn_hidden} outside 1…{MAX_SYN_HIDDEN}")
        if not 0 <= self.syn_refine <= MAX_SYN_REFINE:
            raise ValueError(f"refinement layer count {self.syn_refine} outside 0…{MAX_SYN_REFINE}")

    @property
    def stride(self) -> int:
        """The padded image's sides are multiples of this, 2^grids, so that every grid, the
        coarsest (1/2^(grids−1)) included, has even sides."""
        return 1 << self.grids

    def layer_shapes(self) -> list[tuple[str, tuple[int, ...], int]]:
        """(name, weight shape, bias rows) of every layer, in payload order.

        The context model's output layers (version 1: one layer of two rows, mean and scale
        index; version 2: a mean layer and a scale layer) have one bias per output and grid (a grid's
        statistics differ from its neighbours'); every other layer has one bias
        per output."""
        a, s = self.arm_hidden, self.syn_hidden
        layers = []
        for net, inputs in (("anchor", ANCHOR_INPUTS), ("other", OTHER_INPUTS)):
            layers += [(f"arm_{net}_1", (a, inputs), 1), (f"arm_{net}_2", (a, a), 1)]
            if self.version == 1:
                layers += [(f"arm_{net}_out", (2, a), self.grids)]
            else:
                layers += [(f"arm_{net}_mu", (1, a), self.grids), (f"arm_{net}_scale", (1, a), self.grids)]
        layers += [("syn_1", (s, self.grids), 1), ("syn_2", (s, s), 1), ("syn_out", (3, s), 1)]
        layers += [(f"syn_refine_{i + 1}", (3, 3, 3, 3), 1) for i in range(self.syn_refine)]
        return layers

    def macs_per_pixel(self) -> float:
        """Multiply–accumulates per image pixel (context model on 4/3 latents per pixel, synthesis)."""
        a, s = self.arm_hidden, self.syn_hidden
        arm = (ANCHOR_INPUTS + OTHER_INPUTS) / 2 * a + a * a + 2 * a
        latents = sum(4.0 ** -g for g in range(self.grids))
        upsample = sum(4 * min(g, 1) for g in range(self.grids))      # 2×2 taps per level, amortised
        synthesis = self.grids * s + s * s + 3 * s + 81 * self.syn_refine
        return arm * latents + upsample + synthesis


def grid_shapes(arch: Architecture, padded_height: int, padded_width: int) -> list[tuple[int, int]]:
    """(height, width) of grid g = 0 (full resolution) … grids−1 (coarsest)."""
    return [(padded_height >> g, padded_width >> g) for g in range(arch.grids)]


def padded_size(arch: Architecture, height: int, width: int) -> tuple[int, int]:
    """The image is padded (edge replication at the encoder, cropped at the decoder) to multiples of the stride."""
    s = arch.stride
    return -(-height // s) * s, -(-width // s) * s
