"""One compute path for decoders, whatever the caller's torch settings.

oneDNN's convolutions round differently with the thread count (measured on a
768×512 image: 1 vs 2 threads, and oneDNN vs not, differ by ±1 in ~20 of
1.2 M values). Torch's plain im2col + GEMM path on contiguous (NCHW) tensors
gives the same pixels for every thread count and memory format, at about
twice the decode time. Both backends' decoders run inside this context.
Those GEMMs are then MKL's, which on some CPUs (an AVX-512 Xeon) also round
differently with the thread count unless MKL runs in its strict reproducible
mode: importing ``gzc`` sets ``MKL_CBWR=AVX2,STRICT`` before torch first calls
MKL (see the package's ``__init__``).
"""
from __future__ import annotations

from contextlib import contextmanager

import torch


@contextmanager
def fixed_compute_path(module: torch.nn.Module):
    """oneDNN off and ``module`` in the contiguous memory format for the duration."""
    if not next(module.parameters()).is_contiguous():   # someone made it channels-last
        module.to(memory_format=torch.contiguous_format)
    previous = torch.backends.mkldnn.enabled
    torch.backends.mkldnn.enabled = False
    try:
        yield
    finally:
        torch.backends.mkldnn.enabled = previous
