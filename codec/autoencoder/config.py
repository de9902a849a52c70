"""The autoencoder's settings and configuration, free of torch.

:class:`ModelConfig` (what a weights file's metadata describes), the ``--bits``
settings and the symbol range are all a decoder needs besides the weights; the
torch modules (:mod:`.model`) import them from here, so decoding without torch
(:mod:`.numpy_synthesis`) and the torch encoder share one definition.
"""
from __future__ import annotations

from dataclasses import dataclass

STRIDE = 16   # total stride of the transforms: the latent is (C, H/16, W/16)

BITS = (4, 5, 6, 7, 8)
# Distortion weight per setting (loss = λ·255²·MSE + bpp), ≈×2.3 per bit, placed
# so that the five settings of the shipped model span ≈0.1–0.6 bpp on Kodak.
# (The ladder of well-trained reference models, 0.0018…0.025, put this smaller,
# CPU-trained model at 0.27–0.82 bpp: see the manifest's training note.)
LAMBDAS = {4: 0.00045, 5: 0.0011, 6: 0.0027, 7: 0.0058, 8: 0.0125}


@dataclass(frozen=True)
class ModelConfig:
    n: int = 96   # feature width of the transforms
    m: int = 160  # analysis/synthesis channels at 1/16 scale (the coded latent unless c > 0)
    c: int = 0    # generative bottleneck channels (0 = none: the latent has m channels)
    head_blocks: int = 2                  # residual blocks after the bottleneck expansion
    bits: tuple[int, ...] = BITS          # the --bits settings, one gain vector each
    channels: tuple[int, ...] = ()        # generative: allowed coded channel counts C'
    context: int = 0                      # 1: the prior is conditioned on the checkerboard + channel
                                          # context of coder 3 (spec §6.3), one density per table

    def __post_init__(self):
        object.__setattr__(self, "bits", tuple(self.bits))
        object.__setattr__(self, "channels", tuple(self.channels) or ((self.c,) if self.c else ()))

    @property
    def latent_channels(self) -> int:
        return self.c or self.m

    def as_dict(self) -> dict:
        if not self.c:
            plain = {"n": self.n, "m": self.m}   # what version-1.0 weights carry
            return {**plain, "context": self.context} if self.context else plain
        out = {"n": self.n, "m": self.m, "c": self.c, "head_blocks": self.head_blocks,
               "bits": list(self.bits), "channels": list(self.channels)}
        return {**out, "context": self.context} if self.context else out   # older weights carry no key


def symbol_range(bits: int) -> tuple[int, int]:
    """Inclusive range of a b-bit signed symbol."""
    return -(1 << (bits - 1)), (1 << (bits - 1)) - 1
