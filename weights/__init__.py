"""Shipped model weights: ``<name>.safetensors`` plus ``<name>.json`` manifests.

This package holds data only; :mod:`gzc.codec.registry` finds and verifies it.
Set ``GZC_WEIGHTS_DIR`` to use models from another folder instead (read when
gzc is imported).
"""
import os
from pathlib import Path

WEIGHTS_DIR = Path(os.environ.get("GZC_WEIGHTS_DIR") or Path(__file__).resolve().parent)
