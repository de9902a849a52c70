"""The spec's conformance vectors decode exactly; the invalid ones fail as documented."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from conftest import load_reference_decoder
from gzc import formats
from gzc.codec import codec as core
from gzc.codec import registry

VECTORS = Path(__file__).resolve().parent.parent / "spec" / "vectors"
INDEX = json.loads((VECTORS / "vectors.json").read_text())
ERRORS = {name: getattr(formats, name, None) or getattr(core, name, None) or getattr(registry, name)
          for name in {v["error"] for v in INDEX["invalid"]}}


@pytest.mark.parametrize("vector", INDEX["valid"], ids=lambda v: v["file"])
def test_valid_vector_decodes_bit_exactly(vector):
    data = (VECTORS / vector["file"]).read_bytes()
    assert len(data) == vector["bytes"]
    decoded = core.decode_bytes(data)
    assert decoded.pixels.shape[:2] == (vector["height"], vector["width"])
    assert hashlib.sha256(np.ascontiguousarray(decoded.pixels).tobytes()).hexdigest() == vector["decoded_sha256"]


@pytest.mark.parametrize("vector", [v for v in INDEX["valid"] if v["coder"] == "range"], ids=lambda v: v["file"])
def test_reference_range_decoder_agrees(vector):
    header = formats.read((VECTORS / vector["file"]).read_bytes())
    backend = registry.load_backend(registry.find_by_id(header.model_id))
    tables = backend.entropy_tables(header.bits)
    ours = core._decode_payload(header, backend)
    ref = load_reference_decoder().decode_latent(header.payload, header.latent_shape,
                                                 [t.tolist() for t in tables.tables], tables.offset)
    assert ours.ravel().tolist() == ref


@pytest.mark.parametrize("vector", INDEX["invalid"], ids=lambda v: v["file"])
def test_invalid_vector_raises_documented_error(vector):
    with pytest.raises(ERRORS[vector["error"]]):
        core.decode_bytes((VECTORS / vector["file"]).read_bytes())
