"""The autoencoder as training sees it: the coding network plus its float prior.

:class:`TrainableAutoencoder` adds to :class:`~gzc.codec.autoencoder.model.AutoencoderModel`
what only training and export need: the learned density model (``prior``,
:mod:`.prior`) and the training relaxation of rounding (:meth:`forward`). Its
tensors have the same names as before the split (``prior.*`` beside the
transforms), so checkpoints and shipped weights load either way; the decoder
builds the plain model and skips the ``prior.*`` tensors a weights file carries.
"""
from __future__ import annotations

import torch

from ...autoencoder.context import batch_table_indices
from ...autoencoder.model import AutoencoderModel, ModelConfig, symbol_range
from ...entropy.context import CONTEXTS
from .prior import FactorizedPrior


def training_noise(like: torch.Tensor, share: tuple[int, slice] | None = None) -> torch.Tensor:
    """Uniform noise in [-½, ½) shaped like ``like``; with ``share`` = (global batch, slice), the
    slice of the noise drawn for the global batch (the same numbers as in one process)."""
    if share is None:
        return torch.empty_like(like).uniform_(-0.5, 0.5)
    batch, keep = share
    return torch.empty((batch, *like.shape[1:]), dtype=like.dtype, device=like.device).uniform_(-0.5, 0.5)[keep]


class TrainableAutoencoder(AutoencoderModel):
    def __init__(self, config: ModelConfig = ModelConfig()):
        super().__init__(config)
        # with a context, one density per (channel, context): prior channel c·CONTEXTS + k
        self.prior = FactorizedPrior(config.latent_channels * (CONTEXTS if config.context else 1))

    def forward(self, x: torch.Tensor, bits: int, coded: torch.Tensor | None = None,
                share: tuple[int, slice] | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Returns (reconstruction, bits spent per image) under the training relaxation.

        Rate uses additive uniform noise (a differentiable proxy of rounding);
        the synthesis sees straight-through rounded values, so the decoder is
        trained on exactly what it will receive (Minnen & Singh, 2020).
        ``coded`` (broadcastable to the latent, 0/1) marks the latent elements a
        file would code; the others are zero and cost nothing. ``share`` = (global batch,
        this process's slice of it), in a distributed run: the noise is drawn for the whole
        global batch and sliced, so every crop gets the noise a single process would give it.
        """
        x_hat, total_bits, _ = self.forward_with_latent(x, bits, coded, share)
        return x_hat, total_bits

    def forward_with_latent(self, x: torch.Tensor, bits: int, coded: torch.Tensor | None = None,
                            share: tuple[int, slice] | None = None):
        """:meth:`forward`, also returning the dequantized latent (what a conditional
        discriminator sees next to the image)."""
        lo, hi = symbol_range(bits)
        step = self.step(bits).view(1, -1, 1, 1)
        scaled = (self.encode_latent(x) / step).clamp(lo, hi)
        noisy = scaled + training_noise(scaled, share)
        hard = torch.round(scaled).detach()
        rounded = scaled + (hard - scaled).detach()
        if coded is not None:
            hard = hard * coded      # what a decoder knows: uncoded elements are 0
            rounded = rounded * coded
        element_bits = -torch.log2(self.likelihood(noisy * step, bits, hard).clamp_min(1e-9))
        if coded is not None:
            element_bits = element_bits * coded
        y_hat = rounded * step
        return self.reconstruct(y_hat), element_bits.sum(dim=(1, 2, 3)), y_hat

    def likelihood(self, y: torch.Tensor, bits: int, symbols: torch.Tensor) -> torch.Tensor:
        """Probability of the quantization bin around each (dequantized) latent value ``y``.

        ``symbols`` (the integer latent, float or int) picks each element's context
        when the model has one (the context depends only on integers, so training
        prices exactly the table a file will use); a factorized model ignores it."""
        step = self.step(bits)
        if not self.config.context:
            return self.prior.bin_probability(y, step)
        b, c, h, w = y.shape
        every = self.prior.bin_probability(y.repeat_interleave(CONTEXTS, dim=1), step.repeat_interleave(CONTEXTS))
        index = batch_table_indices(symbols.to(torch.int64))
        return every.view(b, c, CONTEXTS, h, w).gather(2, index.unsqueeze(2)).squeeze(2)
