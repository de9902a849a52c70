"""Coder 3's table rule on a batch of torch latents (encoder side and training).

:func:`gzc.codec.entropy.context.context_indices` states the rule of spec
§6.3 for one channel of one numpy latent, as the decoder applies it pass by
pass. Refinement (:mod:`.refine`) and training price whole batches on tensors
instead, with this twin (a test checks that the two agree).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from ..entropy.context import U_BUCKETS, V_BUCKETS


def batch_table_indices(symbols: torch.Tensor) -> torch.Tensor:
    """(B, C, H, W) integer latent → the coder-3 table index of every element (spec §6.3):
    u from the lower channels' magnitudes at the same position, v from the four
    neighbours in the channel; anchors ((i + j) even) use u, the others 4 + 5u + v."""
    a = symbols.abs()
    c = torch.arange(a.shape[1], device=a.device).view(1, -1, 1, 1)
    lower = a.cumsum(dim=1) - a
    u = torch.where(c == 0, torch.zeros_like(lower), torch.clamp(lower * 2 // c.clamp_min(1), max=U_BUCKETS - 1))
    p = F.pad(a, (1, 1, 1, 1))
    v = torch.clamp(p[..., :-2, 1:-1] + p[..., 2:, 1:-1] + p[..., 1:-1, :-2] + p[..., 1:-1, 2:], max=V_BUCKETS - 1)
    h, w = a.shape[2:]
    rows, cols = torch.arange(h, device=a.device), torch.arange(w, device=a.device)
    anchor = (rows.view(-1, 1) + cols.view(1, -1)) % 2 == 0
    return torch.where(anchor, u, U_BUCKETS + V_BUCKETS * u + v)
