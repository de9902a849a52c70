"""Backends are plugins: how gzc finds the backends installed beside it.

A backend is found through the ``gzc.backends`` entry-point group of the Python
packaging metadata (:mod:`importlib.metadata`): each entry point names a
:class:`BackendPlugin` object (or a class, instantiated without arguments). The
built-in backends register the same way, in gzc's own ``pyproject.toml``; so a
backend from another distribution plugs in by being installed, and neither the
container nor the CLI nor the codec core changes (docs/backends.md).

A plugin says which **backend ID** (container field 6, spec §2.1) its files
carry, which **models** it offers, each with the **model ID** a file names
(field 7), and how to **load** one into a :class:`~gzc.codec.backend.Backend`.
How a model ID is made is the backend's business: the autoencoder and the latent
search hash a weights file (:class:`gzc.codec.registry.WeightsFilePlugin`); a
backend whose files carry their own decoder names its decoder's architecture.

Entry points are read once per process, and a plugin module should import
nothing heavy (no torch) at import time: ``gzc-info --models`` lists every model
without loading any network.
"""
from __future__ import annotations

import sys
from abc import ABC, abstractmethod
from functools import lru_cache
from importlib.metadata import entry_points
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .backend import Backend
    from .registry import ModelInfo

ENTRY_POINT_GROUP = "gzc.backends"
#: backend IDs the spec assigns (spec §2.1): a new one comes with a minor version of the format
SPEC_IDS = range(1, 128)
#: experimental and private backends: never assigned by the spec, free for anyone to use
EXPERIMENTAL_IDS = range(128, 255)


class BackendPlugin(ABC):
    """One backend: its name, its backend ID, its models, and how to load one."""

    #: short name, as in ``gzc-enc --backend NAME`` and in a model manifest's "backend" field
    name: str
    #: the container's backend field (spec §2.1: 1–127 assigned by the spec, 128–254 experimental)
    backend_id: int

    @abstractmethod
    def models(self, weights_dir: Path) -> list["ModelInfo"]:
        """The models this backend offers, each with its model ID. ``weights_dir`` is the folder
        where weights-file models are looked up (gzc's own ``weights/`` unless a caller names
        another); a backend without weights files may ignore it."""

    @abstractmethod
    def load(self, model: "ModelInfo") -> "Backend":
        """The backend object for one of :meth:`models` (verified: a model whose weights or
        definition do not check out raises :class:`gzc.codec.registry.ModelError`)."""


@lru_cache(maxsize=1)
def installed_plugins() -> tuple[BackendPlugin, ...]:
    """Every installed backend plugin, by backend ID. A plugin that fails to import, or
    that claims a name or a backend ID another plugin already has, is left out with a
    warning on stderr, so one broken plugin cannot stop the others from decoding."""
    plugins: dict[int, BackendPlugin] = {}
    for entry in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: (e.name, e.value)):
        try:
            plugin = entry.load()
            plugin = plugin() if isinstance(plugin, type) else plugin
            problem = _check(plugin, entry.name, plugins)
        except Exception as exc:   # a third party's import error must not break gzc
            problem = f"cannot be loaded ({type(exc).__name__}: {exc})"
        if problem:
            print(f"gzc: warning: backend plugin {entry.name!r} ({entry.value}) {problem}; ignored",
                  file=sys.stderr)
            continue
        plugins[plugin.backend_id] = plugin
    return tuple(plugins[k] for k in sorted(plugins))


def _check(plugin, entry_name: str, seen: dict[int, BackendPlugin]) -> str | None:
    # checked by its parts, not isinstance: the same plugin class imported under two module
    # names (an embedding application's path set-up) must still count
    if not all(hasattr(plugin, part) for part in ("name", "backend_id", "models", "load")):
        return "lacks name, backend_id, models() or load() (see gzc.codec.plugins.BackendPlugin)"
    if plugin.name != entry_name:
        return f"is named {plugin.name!r}, not as its entry point"
    if not isinstance(plugin.backend_id, int) or not (plugin.backend_id in SPEC_IDS
                                                      or plugin.backend_id in EXPERIMENTAL_IDS):
        return f"has backend ID {plugin.backend_id!r}, outside 1…254"
    if plugin.backend_id in seen:
        return f"claims backend ID {plugin.backend_id}, which {seen[plugin.backend_id].name!r} has"
    if any(p.name == plugin.name for p in seen.values()):
        return "has the name of another plugin"
    return None


def plugin_named(name: str) -> BackendPlugin | None:
    return next((p for p in installed_plugins() if p.name == name), None)


def plugin_for_id(backend_id: int) -> BackendPlugin | None:
    return next((p for p in installed_plugins() if p.backend_id == backend_id), None)


def backend_names() -> dict[int, str]:
    """Backend ID → name, for every installed plugin (what ``gzc-info`` prints)."""
    return {p.backend_id: p.name for p in installed_plugins()}
