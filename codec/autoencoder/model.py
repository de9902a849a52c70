"""The learned autoencoder: analysis → variable-precision quantizer → synthesis.

``--bits b`` is a real quality knob here: every latent value is quantized to a
*b-bit signed integer*, ``s = clip(round(y / q_b,c), -2^(b-1), 2^(b-1)-1)``
with step ``q_b,c = 2^(6-b) · exp(-gain_b,c)``. Each added bit halves the
nominal step (so the clipped range ``±32·exp(-gain)`` stays the same); the
learned per-channel gains let every setting move bits between channels, as in
the "gain units" of Cui et al. (2021). One network serves all of ``BITS``:
training draws a setting per batch together with its rate–distortion
trade-off ``LAMBDAS[b]``.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .prior import FactorizedPrior
from .transforms import STRIDE, AnalysisTransform, SynthesisTransform

BITS = (4, 5, 6, 7, 8)
# Distortion weight per setting (loss = λ·255²·MSE + bpp), ≈×2.3 per bit, placed
# so that the five settings of the shipped model span ≈0.1–0.6 bpp on Kodak.
# (The ladder of well-trained reference models, 0.0018…0.025, put this smaller,
# CPU-trained model at 0.27–0.82 bpp: see the manifest's training note.)
LAMBDAS = {4: 0.00045, 5: 0.0011, 6: 0.0027, 7: 0.0058, 8: 0.0125}


@dataclass(frozen=True)
class ModelConfig:
    n: int = 96   # feature width of the transforms
    m: int = 160  # latent channels

    def as_dict(self) -> dict:
        return {"n": self.n, "m": self.m}


def symbol_range(bits: int) -> tuple[int, int]:
    """Inclusive range of a b-bit signed symbol."""
    return -(1 << (bits - 1)), (1 << (bits - 1)) - 1


class AutoencoderModel(nn.Module):
    def __init__(self, config: ModelConfig = ModelConfig()):
        super().__init__()
        self.config = config
        self.analysis = AnalysisTransform(config.n, config.m)
        self.synthesis = SynthesisTransform(config.n, config.m)
        self.prior = FactorizedPrior(config.m)
        self.log_gain = nn.Parameter(torch.zeros(len(BITS), config.m))

    def step(self, bits: int) -> torch.Tensor:
        """Quantization step per channel for a setting, shape (M,)."""
        return (2.0 ** (6 - bits)) * torch.exp(-self.log_gain[BITS.index(bits)])

    # -- coding-time path (no gradients, exact integer symbols) ------------------
    def analyse(self, x: torch.Tensor, bits: int) -> torch.Tensor:
        """Image batch in [0, 1], sides multiple of 16 → int32 symbols (B, M, H/16, W/16)."""
        lo, hi = symbol_range(bits)
        y = self.analysis(x - 0.5)
        scaled = y / self.step(bits).view(1, -1, 1, 1)
        return torch.clamp(torch.round(scaled), lo, hi).to(torch.int32)

    def synthesise(self, symbols: torch.Tensor, bits: int) -> torch.Tensor:
        """Integer symbols → image batch in [0, 1] (not yet clipped or rounded)."""
        y_hat = symbols.to(torch.float32) * self.step(bits).view(1, -1, 1, 1)
        return self.synthesis(y_hat) + 0.5

    # -- training path ------------------------------------------------------------
    def forward(self, x: torch.Tensor, bits: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Returns (reconstruction, bits spent per image) under the training relaxation.

        Rate uses additive uniform noise (a differentiable proxy of rounding);
        the synthesis sees straight-through rounded values, so the decoder is
        trained on exactly what it will receive (Minnen & Singh, 2020).
        """
        lo, hi = symbol_range(bits)
        step = self.step(bits)
        y = self.analysis(x - 0.5)
        scaled = y / step.view(1, -1, 1, 1)
        scaled = scaled.clamp(lo, hi)
        noisy = scaled + torch.empty_like(scaled).uniform_(-0.5, 0.5)
        likelihood = self.prior.bin_probability(noisy * step.view(1, -1, 1, 1), step)
        total_bits = -torch.log2(likelihood.clamp_min(1e-9)).sum(dim=(1, 2, 3))
        rounded = scaled + (torch.round(scaled) - scaled).detach()
        x_hat = self.synthesis(rounded * step.view(1, -1, 1, 1)) + 0.5
        return x_hat, total_bits


__all__ = ["AutoencoderModel", "ModelConfig", "BITS", "LAMBDAS", "STRIDE", "symbol_range"]
