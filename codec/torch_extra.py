"""Torch is an optional extra (``pip install gzc[torch]``): decoding never needs it, the
encoder's networks, refinement, the latent search and training do. Code that needs it
imports it through :func:`require_torch`, so that a reader-only install gets a one-line
error naming the extra instead of a traceback."""
from __future__ import annotations

from ..formats import UnsupportedSettingError


def require_torch(what: str):
    """The ``torch`` module, or :class:`UnsupportedSettingError` saying how to install it."""
    try:
        import torch
    except ImportError:
        raise UnsupportedSettingError(f"{what} needs torch, which is not installed: "
                                      f"pip install 'gzc[torch]' (decoding does not need it)") from None
    return torch
