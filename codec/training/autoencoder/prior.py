"""Learned factorized prior: one non-parametric density per latent channel.

This is the density model of Ballé et al. ("Variational image compression with a
scale hyperprior", appendix 6.1): a small monotone network per channel gives a
cumulative distribution ``F_c``; the probability of a quantization bin of width
``q`` centred on ``y`` is ``F_c(y + q/2) - F_c(y - q/2)``.

It is only used as a *float* model during training and when the weights are
exported. Coding never evaluates it: the exporter turns it into integer
frequency tables (see :mod:`gzc.codec.entropy.tables`), which is what makes
decoding bit-exact on every machine.
"""
from __future__ import annotations

import math

import torch
from torch import nn
import torch.nn.functional as F


class FactorizedPrior(nn.Module):
    def __init__(self, channels: int, filters: tuple[int, ...] = (3, 3, 3), init_scale: float = 10.0):
        super().__init__()
        self.channels = channels
        widths = (1,) + tuple(filters) + (1,)
        scale = init_scale ** (1.0 / (len(widths) - 1))
        self.matrices = nn.ParameterList()
        self.biases = nn.ParameterList()
        self.factors = nn.ParameterList()
        for i in range(len(widths) - 1):
            init = math.log(math.expm1(1.0 / scale / widths[i + 1]))
            self.matrices.append(nn.Parameter(torch.full((channels, widths[i + 1], widths[i]), init)))
            self.biases.append(nn.Parameter(torch.rand(channels, widths[i + 1], 1) - 0.5))
            if i < len(widths) - 2:
                self.factors.append(nn.Parameter(torch.zeros(channels, widths[i + 1], 1)))

    def logits_cumulative(self, values: torch.Tensor) -> torch.Tensor:
        """``values``: (C, 1, N) → logit of F_c at each value, same shape."""
        logits = values
        for i, (matrix, bias) in enumerate(zip(self.matrices, self.biases)):
            logits = torch.matmul(F.softplus(matrix), logits) + bias
            if i < len(self.factors):
                logits = logits + torch.tanh(self.factors[i]) * torch.tanh(logits)
        return logits

    def bin_probability(self, y: torch.Tensor, bin_width: torch.Tensor) -> torch.Tensor:
        """Probability mass of the bin of width ``bin_width`` (per channel) centred on ``y``.

        ``y`` is (B, C, H, W); ``bin_width`` is (C,). Uses the sign trick of Ballé
        et al. so that the difference of sigmoids is taken where it is accurate.
        """
        b, c, h, w = y.shape
        values = y.permute(1, 0, 2, 3).reshape(c, 1, -1)
        half = (bin_width / 2).view(c, 1, 1)
        lower = self.logits_cumulative(values - half)
        upper = self.logits_cumulative(values + half)
        sign = -torch.sign(lower + upper).detach()
        prob = torch.abs(torch.sigmoid(sign * upper) - torch.sigmoid(sign * lower))
        return prob.reshape(c, b, h, w).permute(1, 0, 2, 3)

    @torch.no_grad()
    def cdf_at(self, points: torch.Tensor) -> torch.Tensor:
        """F_c evaluated at ``points`` (C, N) → (C, N); used by the table exporter."""
        return torch.sigmoid(self.logits_cumulative(points.unsqueeze(1))).squeeze(1)


def expand_to_contexts(state: dict, contexts: int) -> dict:
    """A factorized prior's tensors (C, …) → a context prior's (C·contexts, …), each
    channel's density copied to all its contexts: the warm start of a context model."""
    return {k: (v.repeat_interleave(contexts, dim=0) if k.startswith("prior.") else v) for k, v in state.items()}
