"""Backends are plugins: a backend installed from outside gzc round-trips a file through
gzc-enc / gzc-dec without any change to gzc's code (docs/backends.md).

The toy backend lives in a temporary folder as a package plus a ``.dist-info``
with an ``entry_points.txt``, which is what ``pip install`` of a package declaring
``[project.entry-points."gzc.backends"]`` leaves behind; the tools find it through
``importlib.metadata`` once the folder is on the path."""
from __future__ import annotations

import json
import os
import textwrap

import numpy as np
import pytest
from PIL import Image

from conftest import run_tool

TOY = '''
"""A toy backend: 8x8 block means, quantized to --bits, one uniform table per channel."""
import hashlib

import numpy as np

from gzc.codec.backend import Backend, EntropyTables
from gzc.codec.plugins import BackendPlugin
from gzc.codec.registry import ModelError, ModelInfo

BLOCK = 8


class ToyBackend(Backend):
    kind = 200                       # the experimental range of spec section 2.1
    supported_bits = (4, 5, 6)
    default_bits = 5

    def __init__(self, info):
        self.name, self.model_id = info.name, info.model_id

    def latent_shape(self, width, height):
        return (3, -(-height // BLOCK), -(-width // BLOCK))

    def analyse(self, rgb, bits):
        c, h, w = self.latent_shape(rgb.shape[1], rgb.shape[0])
        padded = np.pad(rgb.astype(np.float64), ((0, h * BLOCK - rgb.shape[0]), (0, w * BLOCK - rgb.shape[1]), (0, 0)),
                        mode="edge")
        means = padded.reshape(h, BLOCK, w, BLOCK, 3).mean(axis=(1, 3)).transpose(2, 0, 1)
        levels = (1 << bits) - 1
        return (np.round(means / 255 * levels) - (1 << (bits - 1))).astype(np.int32)

    def synthesise(self, symbols, bits, width, height):
        values = (symbols + (1 << (bits - 1))) * 255.0 / ((1 << bits) - 1)
        rgb = np.repeat(np.repeat(values.transpose(1, 2, 0), BLOCK, 0), BLOCK, 1)[:height, :width]
        return np.clip(np.round(rgb), 0, 255).astype(np.uint8)

    def entropy_tables(self, bits):
        n = 1 << bits
        return EntropyTables([np.full(n, (1 << 24) // n, dtype=np.int64)] * 3, -(n >> 1))


class ToyPlugin(BackendPlugin):
    name = "toy"
    backend_id = 200

    def models(self, weights_dir):
        # no weights file: the model ID names the algorithm and its version
        return [ModelInfo("toy-blocks-v1", self.name, hashlib.sha256(b"toy-blocks-v1").digest()[:8],
                          {"bits": list(ToyBackend.supported_bits), "description": "8x8 block means"})]

    def load(self, model):
        if model.name != "toy-blocks-v1":
            raise ModelError(f"toy has no model {model.name}")
        return ToyBackend(model)


PLUGIN = ToyPlugin()
'''


@pytest.fixture(scope="module")
def toy_path(tmp_path_factory):
    root = tmp_path_factory.mktemp("site")
    (root / "gzc_toy").mkdir()
    (root / "gzc_toy" / "__init__.py").write_text(TOY)
    info = root / "gzc_toy-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: gzc-toy\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(textwrap.dedent("""\
        [gzc.backends]
        toy = gzc_toy:PLUGIN
        """))
    return {"PYTHONPATH": os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")])}


def test_a_backend_installed_from_outside_round_trips_through_the_tools(tmp_path, toy_path):
    y, x = np.mgrid[0:40, 0:56]
    img = np.stack([x * 4, y * 5, (x + y) * 2], axis=2).astype(np.uint8)
    Image.fromarray(img).save(tmp_path / "in.png")
    listed = run_tool("gzc-info", "--models", "--json", env=toy_path)
    assert listed.returncode == 0, listed.stderr
    rows = {r["name"]: r for r in json.loads(listed.stdout)}
    assert rows["toy-blocks-v1"]["backend"] == "toy" and "ae-factorized-v1" in rows   # built-ins still there
    enc = run_tool("gzc-enc", tmp_path / "in.png", tmp_path / "t.gzc", "--backend", "toy", "--bits", "6",
                   env=toy_path)
    assert enc.returncode == 0, enc.stderr
    info = json.loads(run_tool("gzc-info", "--json", tmp_path / "t.gzc", env=toy_path).stdout)
    assert (info["backend"], info["model"], info["latent_shape"]) == ("toy", "toy-blocks-v1", [3, 5, 7])
    dec = run_tool("gzc-dec", tmp_path / "t.gzc", tmp_path / "out.png", env=toy_path)
    assert dec.returncode == 0, dec.stderr
    out = np.asarray(Image.open(tmp_path / "out.png"))
    block = img[:8, :8].reshape(-1, 3).mean(axis=0)
    assert out.shape == img.shape and np.abs(out[3, 3].astype(float) - block).max() <= 255 / 63 / 2 + 0.5
    # without the plugin the same file names a backend and model this install lacks: exit 5
    missing = run_tool("gzc-dec", tmp_path / "t.gzc", tmp_path / "none.png")
    assert missing.returncode == 5 and "not installed" in missing.stderr.decode()
    assert "200 (not installed)" in run_tool("gzc-info", tmp_path / "t.gzc").stdout.decode()


def test_a_broken_plugin_is_skipped_with_a_warning(tmp_path, toy_path):
    broken = tmp_path / "broken"
    (broken / "gzc_broken-0.1.dist-info").mkdir(parents=True)
    (broken / "gzc_broken-0.1.dist-info" / "METADATA").write_text("Metadata-Version: 2.1\nName: gzc-broken\nVersion: 0.1\n")
    (broken / "gzc_broken-0.1.dist-info" / "entry_points.txt").write_text("[gzc.backends]\nbroken = no_such_module:PLUGIN\n")
    env = {"PYTHONPATH": os.pathsep.join([str(broken), toy_path["PYTHONPATH"]])}
    listed = run_tool("gzc-info", "--models", env=env)
    assert listed.returncode == 0 and "toy-blocks-v1" in listed.stdout.decode()
    assert "backend plugin 'broken'" in listed.stderr.decode() and "ignored" in listed.stderr.decode()
