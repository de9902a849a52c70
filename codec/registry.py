"""Finding, verifying and loading models, across every installed backend plugin.

The lookups (:func:`available_models`, :func:`find_model`, :func:`find_by_id`,
:func:`load_backend`) ask each plugin (:mod:`.plugins`) for its models.

Most models are **weights files**, the mechanism of the autoencoder and latent
search plugins (:class:`WeightsFilePlugin`): a pair in ``weights/``,
``NAME.safetensors`` (tensors only, no pickle) and ``NAME.json`` (a manifest
with the backend, the file's SHA-256, the training record and measured results).
Their *model ID*, written into every .gzc file, is the first 8 bytes of that
SHA-256, so a decoder can tell which weights a file needs and refuse any others.
Before a weights file is used its hash is recomputed and compared: a tampered or
truncated file is refused.
"""
from __future__ import annotations

import hashlib
import importlib
import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from ..formats import MODEL_ID_BYTES
from ..weights import WEIGHTS_DIR
from .plugins import BackendPlugin, installed_plugins, plugin_named


from ..formats import ModelError, UnknownModelError  # noqa: F401 (re-exported: the old import path)

if TYPE_CHECKING:   # numpy: listing models (gzc-info) must not need it, only loading one does
    from .backend import Backend


@dataclass(frozen=True)
class ModelInfo:
    """One model a plugin offers. ``manifest`` describes it (a weights file's JSON manifest, or
    what a plugin chooses to say: "bits", "channels", "default", "description" are shown by
    ``gzc-info --models``); ``weights_path`` and ``sha256`` are set for weights-file models."""
    name: str
    backend: str
    model_id: bytes
    manifest: dict = field(default_factory=dict, compare=False)
    weights_path: Path | None = None
    sha256: str | None = None


# ---- the weights-file mechanism ---------------------------------------------------------------

def manifest_models(weights_dir: Path, backend: str) -> list[ModelInfo]:
    """The weights-file models of ``backend`` in ``weights_dir`` (its ``*.json`` manifests)."""
    models = []
    for manifest_path in sorted(Path(weights_dir).glob("*.json")):
        try:
            manifest = json.loads(manifest_path.read_text())
            if manifest["backend"] != backend:
                continue
            sha = manifest["sha256"]
            models.append(ModelInfo(name=manifest["name"], backend=backend,
                                    model_id=bytes.fromhex(sha)[:MODEL_ID_BYTES], manifest=manifest,
                                    weights_path=manifest_path.with_name(manifest["file"]), sha256=sha))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ModelError(f"unreadable model manifest {manifest_path.name}: {exc}") from None
    return models


def read_verified(info: ModelInfo) -> bytes:
    """The weights file's bytes, after checking them against the manifest's SHA-256."""
    if info.weights_path is None:
        raise ModelError(f"model {info.name} has no weights file")
    try:
        data = info.weights_path.read_bytes()
    except OSError as exc:
        raise ModelError(f"cannot read weights of model {info.name}: {exc.strerror}") from None
    digest = hashlib.sha256(data).hexdigest()
    if digest != info.sha256:
        raise ModelError(f"weights file {info.weights_path.name} does not match its hash "
                         f"(expected {info.sha256[:16]}…, found {digest[:16]}…): refusing to use it")
    return data


def write_model(out_dir: Path, name: str, backend: str, data: bytes, fields: dict) -> dict:
    """Write ``NAME.safetensors`` and its manifest ``NAME.json`` (hash, model ID, then ``fields``)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / f"{name}.safetensors").write_bytes(data)
    sha = hashlib.sha256(data).hexdigest()
    manifest = {"name": name, "backend": backend, "file": f"{name}.safetensors", "sha256": sha,
                "model_id": sha[:2 * MODEL_ID_BYTES], **fields}
    (out_dir / f"{name}.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def safetensors_metadata(data: bytes) -> dict:
    """The safetensors header's ``__metadata__`` (string → string), where models keep their config."""
    n = int.from_bytes(data[:8], "little")
    return json.loads(data[8:8 + n]).get("__metadata__", {})


class WeightsFilePlugin(BackendPlugin):
    """A backend whose models are hash-verified weights files with manifests (see the module
    doc). ``builder`` ("package.module:function") turns a model's verified weights bytes into
    its backend: ``function(model, data)``; it is imported only when a model is loaded, so
    listing models stays free of torch. A subclass may override :meth:`build` instead."""

    def __init__(self, name: str, backend_id: int, builder: str = ""):
        self.name, self.backend_id, self.builder = name, backend_id, builder

    def models(self, weights_dir: Path) -> list[ModelInfo]:
        return manifest_models(weights_dir, self.name)

    def load(self, model: ModelInfo) -> Backend:
        return _load_weights(self, model.weights_path, model.sha256, model)

    def build(self, model: ModelInfo, data: bytes) -> Backend:
        """The backend from the verified bytes of the model's weights file."""
        module, _, function = self.builder.partition(":")
        return getattr(importlib.import_module(module), function)(model, data)


@lru_cache(maxsize=8)
def _load_weights(plugin: WeightsFilePlugin, weights_path: Path, sha256: str, model: ModelInfo) -> Backend:
    """Verified and built once per process and weights file (keyed by path and hash)."""
    return plugin.build(model, read_verified(model))


# ---- lookups over every plugin ----------------------------------------------------------------

def available_models(weights_dir: Path = WEIGHTS_DIR) -> list[ModelInfo]:
    """Every installed plugin's models, by backend ID, each plugin's in its own order."""
    return [m for plugin in installed_plugins() for m in plugin.models(Path(weights_dir))]


def find_model(spec: str | None = None, weights_dir: Path = WEIGHTS_DIR, backend: str | None = None) -> ModelInfo:
    """By name, or by model ID (hex, at least 4 digits); None → the default model.

    With ``backend`` (e.g. "latent-search"), only that backend's models are
    candidates, and None picks that backend's default model."""
    if backend is not None:
        plugin = plugin_named(backend)
        if plugin is None:
            names = ", ".join(p.name for p in installed_plugins())
            raise ModelError(f"unknown backend {backend!r} (installed backends: {names or 'none'})")
        models = plugin.models(Path(weights_dir))
        if not models:
            raise ModelError(f"no model for backend {backend!r} is installed")
    else:
        models = available_models(weights_dir)
    if not models:
        raise ModelError(f"no models installed in {weights_dir}")
    if spec is None:
        defaults = [m for m in models if m.manifest.get("default")]
        return (defaults or models)[0]
    for m in models:
        if spec == m.name:
            return m
    spec_l = spec.lower()
    hits = [m for m in models if len(spec_l) >= 4 and m.model_id.hex().startswith(spec_l)]
    if len(hits) == 1:
        return hits[0]
    names = ", ".join(m.name for m in models)
    raise ModelError(f"unknown model {spec!r} (installed: {names})")


def find_by_id(model_id: bytes, weights_dir: Path = WEIGHTS_DIR, backend_id: int | None = None) -> ModelInfo:
    """The model a file names, by model ID: the plugin for ``backend_id`` (the file's backend
    field) is asked first, then the others (so that a file whose backend field contradicts
    its model is reported as such by the decoder, not as a missing model)."""
    for plugin in sorted(installed_plugins(), key=lambda p: p.backend_id != backend_id):
        for m in plugin.models(Path(weights_dir)):
            if m.model_id == model_id:
                return m
    raise ModelError(f"file needs model {model_id.hex()}, which is not installed")


def load_backend(info: ModelInfo) -> Backend:
    plugin = plugin_named(info.backend)
    if plugin is None:
        raise ModelError(f"model {info.name} needs backend {info.backend!r}, which this install lacks")
    return plugin.load(info)
