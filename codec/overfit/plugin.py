"""The overfitted backend's entry in the ``gzc.backends`` plugin group (see :mod:`gzc.codec.plugins`).

It has no weights file: its one model is the decoder *architecture* (version 1),
whose model ID is the ASCII name ``overfit1`` (spec §12.1); each file carries
the decoder's parameters itself. Importing this module imports neither torch
nor the encoder."""
from __future__ import annotations

from pathlib import Path

from ..plugins import BackendPlugin
from ..registry import ModelInfo
from .architecture import DEFAULT_BITS, LAMBDAS, MODEL_ID, MODEL_NAME


class OverfitPlugin(BackendPlugin):
    name = "overfit"
    backend_id = 3          # spec §2.1, §12

    def models(self, weights_dir: Path) -> list[ModelInfo]:
        manifest = {"bits": list(LAMBDAS), "default_bits": DEFAULT_BITS,
                    "description": "per-image overfitted latents + tiny decoder carried in the file "
                                   "(Cool-chic/C3 style); no training data, no weights file"}
        return [ModelInfo(name=MODEL_NAME, backend=self.name, model_id=MODEL_ID, manifest=manifest)]

    def load(self, model: ModelInfo):
        from .backend import OverfitBackend
        return OverfitBackend()


PLUGIN = OverfitPlugin()
