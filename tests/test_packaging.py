"""Packaging: a regular (non-editable) install must contain every sub-package.

The README's first set-up command runs ``pip install .``; setuptools installs
only the packages listed in pyproject.toml, so a sub-package missing from that
list works in the editable test install but is absent for users (this
happened to ``gzc.codec.latent_search``).
"""
from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_every_subpackage_is_listed_in_pyproject():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(config["packages"])
    for name, folder in config["package-dir"].items():
        root = ROOT / folder
        for init in root.rglob("__init__.py"):
            rel = init.parent.relative_to(root)
            if any(part.startswith(".") or part in {"tests", "build"} for part in rel.parts):
                continue
            if name == "gzc" and rel.parts and rel.parts[0] in {"codec", "formats", "tools", "weights", "spec",
                                                                "bench", "runs"}:
                continue  # mapped separately (or not a package)
            package = ".".join((name, *rel.parts))
            assert package in listed, f"{package} ({init.parent}) is missing from [tool.setuptools] packages"
