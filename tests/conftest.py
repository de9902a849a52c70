"""Shared fixtures: small real images (crops of BSDS500 val / generated) and CLI runners."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "data"


def _natural_image(size=(96, 80)) -> np.ndarray:
    """A crop of a real photo if the shared data is there, else a smooth synthetic scene."""
    val = SHARED / "bsds500" / "val"
    if val.is_dir():
        path = sorted(val.glob("*.jpg"))[0]
        with Image.open(path) as im:
            im = im.convert("RGB").resize((im.width // 2, im.height // 2), Image.LANCZOS)
            return np.asarray(im)[: size[1], : size[0]].copy()
    y, x = np.mgrid[0: size[1], 0: size[0]]
    img = np.stack([128 + 100 * np.sin(x / 9.0), 128 + 90 * np.cos(y / 7.0), (x + y) % 256], axis=2)
    return np.clip(img, 0, 255).astype(np.uint8)


@pytest.fixture(scope="session")
def photo() -> np.ndarray:
    return _natural_image()


@pytest.fixture
def photo_png(tmp_path, photo) -> Path:
    path = tmp_path / "photo.png"
    Image.fromarray(photo).save(path)
    return path


def load_reference_decoder():
    """spec/reference/range_decoder.py, loaded by path (the spec folder is not a package)."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("gzc_reference_range_decoder",
                                                  ROOT / "spec" / "reference" / "range_decoder.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else 10 * np.log10(255.0 ** 2 / mse)


def run_tool(tool: str, *args, stdin: bytes | None = None, cwd=None, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run a console tool as a user would (module form, so no PATH assumptions); ``env`` adds variables."""
    module = {"gzc-enc": "gzc.tools.enc", "gzc-dec": "gzc.tools.dec", "gzc-info": "gzc.tools.info"}[tool]
    env = {**{k: v for k, v in os.environ.items() if k != "GZC_DEBUG"}, **(env or {})}
    return subprocess.run([sys.executable, "-m", module, *map(str, args)], input=stdin,
                          capture_output=True, cwd=cwd, env=env, timeout=120)
