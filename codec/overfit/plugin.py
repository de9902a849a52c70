"""The overfitted backend's entry in the ``gzc.backends`` plugin group (see :mod:`gzc.codec.plugins`).

It has no weights file: its models are the decoder *architecture*'s versions,
whose model IDs are the ASCII names ``overfit1`` and ``overfit2`` (spec §12.1);
each file carries the decoder's parameters itself. Version 2 is the default
(what ``--backend overfit`` writes); version 1 files still decode, and can still
be written with ``--model overfit-v1``. Importing this module imports neither
torch nor the encoder."""
from __future__ import annotations

from pathlib import Path

from ..plugins import BackendPlugin
from ..registry import ModelInfo
from .architecture import DEFAULT_BITS, LAMBDAS, MODEL_IDS, MODEL_NAMES, VERSION


class OverfitPlugin(BackendPlugin):
    name = "overfit"
    backend_id = 3          # spec §2.1, §12

    def models(self, weights_dir: Path) -> list[ModelInfo]:
        models = []
        for version in sorted(MODEL_IDS, key=lambda v: v != VERSION):     # the encoder's version first
            # no "default" key: that marks the global default model; a backend's first model is its default
            manifest = {"bits": list(LAMBDAS), "default_bits": DEFAULT_BITS,
                        "description": f"per-image overfitted latents + tiny decoder carried in the file "
                                       f"(Cool-chic/C3 style), decoder version {version}; no training data, "
                                       f"no weights file"}
            models.append(ModelInfo(name=MODEL_NAMES[version], backend=self.name, model_id=MODEL_IDS[version],
                                    manifest=manifest))
        return models

    def load(self, model: ModelInfo):
        from .backend import OverfitBackend
        version = next(v for v, model_id in MODEL_IDS.items() if model_id == model.model_id)
        return OverfitBackend(version=version)


PLUGIN = OverfitPlugin()
