"""The layout's promise: decoding a file imports nothing of training or of the encoder's search.

Each check runs in a fresh interpreter, so modules that other tests imported do
not hide an import the decoder makes."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from conftest import ROOT

#: modules a decoder must never load: training (trainers, datasets, export, discriminators,
#: the float prior) and the encoder side (latent refinement, the latent search, their losses)
ENCODER_OR_TRAINING = ("gzc.codec.training", "gzc.codec.autoencoder.refine", "gzc.codec.latent_search.search",
                       "gzc.codec.losses")

PROBE = """
import json, sys
import gzc
for path in sys.argv[1:]:
    gzc.decode(open(path, "rb").read()).load()
print(json.dumps(sorted(m for m in sys.modules if m.startswith("gzc."))))
"""


def loaded_after(*args: str) -> list[str]:
    out = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True, timeout=120,
                         cwd=ROOT)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


@pytest.mark.parametrize("vector", ["ctx_80x48_c16_b3_context.gzc", "search_64x64_b4_ganz_elias.gzc"])
def test_decoding_imports_no_training_or_encoder_module(vector):
    loaded = loaded_after(str(ROOT / "spec" / "vectors" / vector))
    assert any(m.startswith("gzc.codec.autoencoder" if vector.startswith("ctx") else "gzc.codec.latent_search")
               for m in loaded), loaded      # the probe did decode with that backend
    bad = [m for m in loaded if m.startswith(ENCODER_OR_TRAINING)]
    assert not bad, f"decoding imported {bad}"


def test_the_probe_sees_an_encoder_import():
    """The check above can fail: encoding (here a face, by the latent search) imports the encoder side."""
    script = PROBE.replace("for path in sys.argv[1:]:\n    gzc.decode(open(path, \"rb\").read()).load()",
                           "import numpy as np\ngzc.encode(__import__('PIL.Image').Image.fromarray("
                           "np.zeros((64, 64, 3), np.uint8)), backend='latent-search', effort=0)")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert {"gzc.codec.latent_search.search", "gzc.codec.losses"} <= set(json.loads(out.stdout))
