"""Finding, verifying and loading shipped models.

Each model is a pair in ``weights/``: ``NAME.safetensors`` (tensors only, no
pickle) and ``NAME.json`` (a manifest with the backend, the file's SHA-256,
the training record and measured results). The *model ID* written into every
.gzc file is the first 8 bytes of that SHA-256, so a decoder can tell which
weights a file needs and refuse any others. Before a weights file is used its
hash is recomputed and compared: a tampered or truncated file is refused.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Callable

from ..formats import MODEL_ID_BYTES
from ..weights import WEIGHTS_DIR
from .backend import Backend


class ModelError(ValueError):
    """A model that is not installed, or whose weights fail verification."""


@dataclass(frozen=True)
class ModelInfo:
    name: str
    backend: str
    weights_path: Path
    sha256: str
    manifest: dict

    @property
    def model_id(self) -> bytes:
        return bytes.fromhex(self.sha256)[:MODEL_ID_BYTES]


# backend name (manifest "backend" field) → loader(info, tensors, metadata) -> Backend
_LOADERS: dict[str, Callable] = {}


def register_backend(name: str):
    def wrap(loader):
        _LOADERS[name] = loader
        return loader
    return wrap


def available_models(weights_dir: Path = WEIGHTS_DIR) -> list[ModelInfo]:
    models = []
    for manifest_path in sorted(Path(weights_dir).glob("*.json")):
        try:
            manifest = json.loads(manifest_path.read_text())
            models.append(ModelInfo(name=manifest["name"], backend=manifest["backend"],
                                    weights_path=manifest_path.with_name(manifest["file"]),
                                    sha256=manifest["sha256"], manifest=manifest))
        except (OSError, ValueError, KeyError) as exc:
            raise ModelError(f"unreadable model manifest {manifest_path.name}: {exc}") from None
    return models


def find_model(spec: str | None = None, weights_dir: Path = WEIGHTS_DIR, backend: str | None = None) -> ModelInfo:
    """By name, or by model ID (hex, at least 4 digits); None → the default model.

    With ``backend`` (e.g. "latent-search"), only that backend's models are
    candidates, and None picks that backend's default model."""
    models = available_models(weights_dir)
    if backend is not None:
        models = [m for m in models if m.backend == backend]
        if not models:
            kinds = sorted({m.backend for m in available_models(weights_dir)})
            raise ModelError(f"no model for backend {backend!r} is installed (installed backends: "
                             f"{', '.join(kinds) or 'none'})")
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


def find_by_id(model_id: bytes, weights_dir: Path = WEIGHTS_DIR) -> ModelInfo:
    for m in available_models(weights_dir):
        if m.model_id == model_id:
            return m
    raise ModelError(f"file needs model {model_id.hex()}, which is not installed")


def read_verified(info: ModelInfo) -> bytes:
    """The weights file's bytes, after checking them against the manifest's SHA-256."""
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


@lru_cache(maxsize=8)
def _load_cached(weights_path: Path, sha256: str, name: str, backend: str) -> Backend:
    info = next(m for m in available_models(weights_path.parent) if m.weights_path == weights_path)
    data = read_verified(info)
    if backend not in _LOADERS:
        _import_backends()
    if backend not in _LOADERS:
        raise ModelError(f"model {name} needs backend {backend!r}, which this install lacks")
    return _LOADERS[backend](info, data)


def _import_backends() -> None:
    import importlib
    importlib.import_module(".autoencoder.backend", __package__)     # each registers itself
    importlib.import_module(".latent_search.backend", __package__)


def load_backend(info: ModelInfo) -> Backend:
    return _load_cached(info.weights_path, info.sha256, info.name, info.backend)
