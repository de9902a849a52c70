"""The shipped latent-search face model: it loads, verifies, and beats JPEG on a held-out face."""
from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from gzc import formats
from gzc.codec.codec import decode_bytes, encode_pixels
from gzc.codec.latent_search.plugin import PLUGIN as LATENT_SEARCH
from gzc.codec.training.latent_search.faces import TEST, face_path, load_face
from gzc.codec.registry import available_models, load_backend

MODELS = [m for m in available_models() if m.backend == "latent-search"]


def test_a_face_model_is_shipped_and_loads():
    assert MODELS, "no latent-search model in weights/"
    for info in MODELS:
        backend = load_backend(info)
        assert backend.model_id == info.model_id
        assert "non-commercial" in info.manifest["license"]
        for bits in backend.supported_bits:
            tables = backend.entropy_tables(bits).tables
            assert len(tables) == backend.dims and all(int(t.sum()) == 1 << 24 for t in tables)


@pytest.fixture(scope="module")
def held_out_face():
    path = face_path(TEST[0])
    if not path.exists():
        pytest.skip("../shared/data/faces not available")
    return load_face(path)


def test_held_out_face_beats_jpeg_quality_1(held_out_face):
    """At effort 1 (the fast setting) a 6-bit file is smaller than JPEG's smallest and more similar."""
    from gzc.codec.losses import ssim
    import torch

    def ssim_of(a):
        t = lambda x: torch.from_numpy(np.asarray(x, dtype=np.float32) / 255).permute(2, 0, 1)[None]
        return float(ssim(t(held_out_face), t(a)))

    data = encode_pixels(held_out_face, backend="latent-search", bits=6, options={"effort": 1})
    h = formats.read(data)
    assert h.backend == LATENT_SEARCH.backend_id and h.latent_shape[1:] == (1, 1)
    ours = decode_bytes(data).pixels
    buf = io.BytesIO()
    Image.fromarray(held_out_face).save(buf, format="JPEG", quality=1, optimize=True)
    with Image.open(io.BytesIO(buf.getvalue())) as im:
        jpeg = np.asarray(im.convert("RGB"))
    assert len(data) < len(buf.getvalue()) / 2
    assert ssim_of(ours) > ssim_of(jpeg)
    # decoding is a pure function of the file
    assert np.array_equal(decode_bytes(data).pixels, ours)
