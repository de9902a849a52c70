"""Shipped model weights: ``<name>.safetensors`` plus ``<name>.json`` manifests.

This package holds data only; :mod:`gzc.codec.registry` finds and verifies it.
"""
from pathlib import Path

WEIGHTS_DIR = Path(__file__).resolve().parent
