"""The learned autoencoder: analysis → variable-precision quantizer → synthesis.

``--bits b`` is a real quality knob here: every latent value is quantized to a
*b-bit signed integer*, ``s = clip(round(y / q_b,c), -2^(b-1), 2^(b-1)-1)``
with step ``q_b,c = 2^(6-b) · exp(-gain_b,c)``. Each added bit halves the
nominal step (so the clipped range ``±32·exp(-gain)`` stays the same); the
learned per-channel gains let every setting move bits between channels, as in
the "gain units" of Cui et al. (2021). One network serves all of ``BITS``:
training draws a setting per batch together with its rate–distortion
trade-off ``LAMBDAS[b]``.

A *generative* model (``ModelConfig.c > 0``, issue 5) adds a narrow bottleneck
for extreme rates: a 3×3 convolution squeezes the M analysis channels to C
(e.g. 16), and the decoder expands them back (3×3 convolution C→M and a few
residual blocks at 1/16 scale) before the usual synthesis. Its C channels are
*nested*: a file may code only the first C' of them (``channels``), the rest
being zero, so one network serves the rate points C' = 2, 4, 8, 16, and a
region-of-interest file may use a different C' per latent position.

This is the coding-time network only. The float density model that training
fits and the export turns into integer tables (the ``prior``), and the
training relaxation of rounding, are in
:class:`gzc.codec.training.autoencoder.model.TrainableAutoencoder`: a decoder
never needs them.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from .config import BITS, LAMBDAS, STRIDE, ModelConfig, symbol_range
from .layers import ResidualBlock
from .transforms import AnalysisTransform, SynthesisTransform


class AutoencoderModel(nn.Module):
    def __init__(self, config: ModelConfig = ModelConfig()):
        super().__init__()
        self.config = config
        self.analysis = AnalysisTransform(config.n, config.m)
        self.synthesis = SynthesisTransform(config.n, config.m)
        if config.c:
            self.squeeze = nn.Conv2d(config.m, config.c, 3, padding=1)
            self.expand = nn.Sequential(nn.Conv2d(config.c, config.m, 3, padding=1),
                                        *[ResidualBlock(config.m) for _ in range(config.head_blocks)])
        # A generative bottleneck starts with a quantization step of 2^(3-b) (±4 at every
        # setting): the nominal 2^(6-b) would round a fresh bottleneck's outputs all to zero.
        initial_gain = math.log(8.0) if config.c else 0.0
        self.log_gain = nn.Parameter(torch.full((len(config.bits), config.latent_channels), initial_gain))

    def step(self, bits: int) -> torch.Tensor:
        """Quantization step per channel for a setting, shape (latent channels,)."""
        return (2.0 ** (6 - bits)) * torch.exp(-self.log_gain[self.config.bits.index(bits)])

    def encode_latent(self, x: torch.Tensor) -> torch.Tensor:
        """Image batch in [0, 1] → continuous latent (B, latent channels, H/16, W/16)."""
        y = self.analysis(x - 0.5)
        return self.squeeze(y) if self.config.c else y

    def reconstruct(self, y_hat: torch.Tensor) -> torch.Tensor:
        """Dequantized latent → image batch in [0, 1] (not yet clipped or rounded)."""
        if self.config.c:
            y_hat = self.expand(y_hat)
        return self.synthesis(y_hat) + 0.5

    # -- coding-time path (no gradients, exact integer symbols) ------------------
    def scaled_latent(self, x: torch.Tensor, bits: int) -> torch.Tensor:
        """Image batch in [0, 1] → the latent in quantization steps, before rounding
        (where encoder-side refinement starts: :mod:`.refine`)."""
        return self.encode_latent(x) / self.step(bits).view(1, -1, 1, 1)

    def analyse(self, x: torch.Tensor, bits: int) -> torch.Tensor:
        """Image batch in [0, 1], sides multiple of 16 → int32 symbols (B, C, H/16, W/16)."""
        lo, hi = symbol_range(bits)
        return torch.clamp(torch.round(self.scaled_latent(x, bits)), lo, hi).to(torch.int32)

    def synthesise(self, symbols: torch.Tensor, bits: int) -> torch.Tensor:
        """Integer symbols → image batch in [0, 1] (not yet clipped or rounded). Fewer
        channels than the model's (a generative file's C') are the first ones; the rest are zero."""
        step = self.step(bits)
        if symbols.shape[1] < step.numel():
            symbols = nn.functional.pad(symbols, (0, 0, 0, 0, 0, step.numel() - symbols.shape[1]))
        return self.reconstruct(symbols.to(torch.float32) * step.view(1, -1, 1, 1))


__all__ = ["AutoencoderModel", "ModelConfig", "BITS", "LAMBDAS", "STRIDE", "symbol_range"]
