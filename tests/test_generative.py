"""Generative autoencoder: nested channel rate points, the ROIM region-of-interest chunk,
coded-element payloads, and the CLI options (--channels, --roi, --roi-background).

The end-to-end tests use a tiny, randomly initialised generative model exported
exactly like shipped ones (so they run in seconds); the shipped generative
model has its own tests in test_generative_model.py.
"""
from __future__ import annotations

import time

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import run_tool

from gzc import formats
from gzc.codec.autoencoder.backend import roi_grid
from gzc.codec.training.autoencoder.export import export
from gzc.codec.training.autoencoder.generative import coded_mask
from gzc.codec.autoencoder.model import ModelConfig
from gzc.codec.training.autoencoder.model import TrainableAutoencoder
from gzc.codec.backend import CorruptPayloadError, UnsupportedSettingError
from gzc.codec.codec import decode_bytes, encode_pixels
from gzc.codec.entropy import elias_gamma, range_coder
from gzc.codec.registry import find_model, load_backend
from gzc.formats import Chunk, RoiMap
from gzc.formats.errors import GzcFormatError, MalformedFieldError, TruncatedError

TINY = ModelConfig(n=8, m=16, c=4, head_blocks=1, bits=(2, 3), channels=(2, 4))


# ---- the ROIM chunk (pure format code) ----------------------------------------------------------

def test_roim_spec_example():
    # spec §5.2: background 2, 2×3 grid 0 0 1 / 1 1 0 → runs 2, 3, 1 → gamma(3) gamma(4) gamma(2)
    roi = RoiMap(2, 2, 3, bytes([0, 0, 1, 1, 1, 0]))
    assert roi.runs() == [2, 3, 1]
    assert roi.to_chunk() == Chunk(b"ROIM", bytes([0x02, 0x64, 0x40]))
    assert RoiMap.from_chunk(roi.to_chunk(), 2, 3) == roi


def test_roim_round_trip_random_maps():
    rng = np.random.default_rng(5)
    for _ in range(200):
        h, w = rng.integers(1, 12, size=2)
        cells = (rng.random(h * w) < rng.random()).astype(np.uint8).tobytes()
        roi = RoiMap(int(rng.integers(0, 9)), int(h), int(w), cells)
        assert RoiMap.from_chunk(roi.to_chunk(), int(h), int(w)) == roi


def test_roim_first_run_may_be_empty():
    roi = RoiMap(0, 1, 3, bytes([1, 1, 1]))
    assert roi.runs() == [0, 3]
    assert RoiMap.from_chunk(roi.to_chunk(), 1, 3) == roi


@pytest.mark.parametrize("data, error", [
    (b"", TruncatedError),                          # no background varint
    (b"\x00", TruncatedError),                      # no runs at all
    (bytes([0, 0b01100000]), TruncatedError),       # run 2, then the chunk ends inside the next code
    (bytes([0, 0b00111000]), MalformedFieldError),  # run 6 > 2×2 grid
    (bytes([0, 0b01110000]), MalformedFieldError),  # runs 2, 0: empty run after the first
    (bytes([0, 0b01101110]), MalformedFieldError),  # runs 2, 2 cover the grid, then a stray 1 bit
    (bytes([0, 0b01101100, 0]), MalformedFieldError),   # runs 2, 2, then a whole extra byte
])
def test_roim_errors(data, error):
    with pytest.raises(error):
        RoiMap.from_chunk(Chunk(b"ROIM", data), 2, 2)


def test_roim_hostile_chunk_is_refused_quickly():
    # 200 kB of zero bits: one "code" far longer than allowed; must fail fast, not scan quadratically
    t = time.perf_counter()
    with pytest.raises(GzcFormatError):
        RoiMap.from_chunk(Chunk(b"ROIM", b"\x00" + bytes(200_000)), 512, 512)
    # 200 kB of 1-bits: 1.6 M runs of length 0 after the first → refused at the second run
    with pytest.raises(GzcFormatError):
        RoiMap.from_chunk(Chunk(b"ROIM", b"\x00" + b"\xff" * 200_000), 512, 512)
    assert time.perf_counter() - t < 2.0


def test_roim_second_zero_length_run_is_refused_at_once():
    """A chunk of 1-bits is a first run of 0 followed by more runs of 0. The check tested
    ``cells`` (still empty after a first run of 0) instead of "not the first run", so 200 kB
    of 1-bits were read as 1.6 M empty runs (3.7 s under load) before a TruncatedError."""
    from gzc.formats import MalformedFieldError
    with pytest.raises(MalformedFieldError, match="length 0 after the first run"):
        RoiMap.from_chunk(Chunk(b"ROIM", b"\x00" + b"\xff" * 200_000), 512, 512)
    with pytest.raises(MalformedFieldError, match="length 0 after the first run"):
        RoiMap.from_chunk(Chunk(b"ROIM", b"\x00\xc0"), 4, 4)        # bits 1, 1: runs 0, 0


def test_roi_grid_keeps_any_touched_cell():
    mask = np.zeros((40, 50), bool)
    mask[17, 33] = True                                 # one pixel → cell (1, 2)
    grid = roi_grid(mask)
    assert grid.shape == (3, 4) and grid.sum() == 1 and grid[1, 2]


# ---- payloads with coded elements ---------------------------------------------------------------

def test_coders_with_coded_elements_round_trip():
    rng = np.random.default_rng(0)
    symbols = rng.integers(-4, 4, size=(4, 5, 6))
    counts = rng.integers(0, 5, size=(5, 6))
    coded = np.arange(4)[:, None, None] < counts[None]
    symbols[~coded] = 0
    tables = [np.full(8, 1 << 21, dtype=np.int64) for _ in range(4)]
    payload = range_coder.encode(symbols, tables, -4, coded)
    assert np.array_equal(range_coder.decode(payload, symbols.shape, tables, -4, coded), symbols)
    # fewer coded elements, smaller stream: 3 bits each under flat tables
    assert len(payload) * 8 <= coded.sum() * 3 + 64
    assert len(payload) < len(range_coder.encode(symbols, tables, -4))
    flat = elias_gamma.decode(elias_gamma.encode(symbols[coded]), int(coded.sum()))
    assert np.array_equal(flat, symbols[coded])


def test_training_mask_matches_backend_coded_elements(tiny_backend):
    counts = torch.tensor([[[4, 2], [0, 4]]])
    mask = coded_mask(counts, 4)[0].bool().numpy()
    variant, _ = tiny_backend.configure({"channels": 4, "roi": np.array([[1, 0], [0, 1]], bool).repeat(16, 0)
                                         .repeat(16, 1), "roi_background": 2})
    coded = variant.coded_elements((4, 2, 2))
    expected = np.arange(4)[:, None, None] < np.array([[4, 2], [2, 4]])[None]
    assert np.array_equal(coded, expected)
    assert np.array_equal(mask[:, 0, :], expected[:, 0, :])


# ---- the tiny generative model, exported like a shipped one ------------------------------------

@pytest.fixture(scope="module")
def tiny_weights(tmp_path_factory):
    folder = tmp_path_factory.mktemp("weights")
    torch.manual_seed(0)
    model = TrainableAutoencoder(TINY)
    with torch.no_grad():
        model.squeeze.weight.mul_(20)   # a random bottleneck's outputs are tiny: make the symbols vary
    ckpt = folder / "ckpt.pt"
    torch.save({"config": TINY.as_dict(), "model": model.state_dict()}, ckpt)
    export(ckpt, "tiny-gen", folder, {"note": "random weights, for tests"})
    ckpt.unlink()
    return folder


@pytest.fixture(scope="module")
def tiny_backend(tiny_weights):
    return load_backend(find_model("tiny-gen", tiny_weights))


def test_model_config_round_trips_through_metadata(tiny_backend):
    assert tiny_backend.model.config == TINY
    assert tiny_backend.supported_bits == (2, 3) and tiny_backend.channel_counts == (2, 4)
    assert tiny_backend.channels == 4       # default: the middle rate point
    plain = ModelConfig()
    assert plain.as_dict() == {"n": 96, "m": 160} and plain.channels == ()


@pytest.mark.parametrize("coder", ["range", "elias-gamma"])
def test_round_trip_every_rate_point(tiny_weights, tiny_backend, photo, coder):
    img = np.ascontiguousarray(photo[:40, :50])
    sizes = []
    for channels in (2, 4):
        for bits in (2, 3):
            data = encode_pixels(img, model="tiny-gen", bits=bits, coder=coder, options={"channels": channels},
                                 weights_dir=tiny_weights)
            h = formats.read(data)
            assert h.latent_shape == (channels, 3, 4) and h.bits == bits and not h.chunks
            out = decode_bytes(data, weights_dir=tiny_weights).pixels
            # the decoder's output is the model's synthesis of the coded symbols, zero-padded
            variant, _ = tiny_backend.configure({"channels": channels})
            symbols = variant.analyse(img, bits)
            assert symbols.shape == (channels, 3, 4)
            assert np.array_equal(out, variant.synthesise(symbols, bits, 50, 40))
            sizes.append(len(data))
    assert sizes[2] > sizes[0] or sizes[3] > sizes[1]   # more channels, more bytes


def test_fewer_channels_is_zero_padding(tiny_backend, photo):
    img = np.ascontiguousarray(photo[:32, :32])
    full, _ = tiny_backend.configure({"channels": 4})
    two, _ = tiny_backend.configure({"channels": 2})
    s4 = full.analyse(img, 3)
    assert np.array_equal(two.analyse(img, 3), s4[:2])
    padded = s4.copy()
    padded[2:] = 0
    assert np.array_equal(two.synthesise(s4[:2], 3, 32, 32), full.synthesise(padded, 3, 32, 32))


def test_roi_round_trip(tiny_weights, tiny_backend, photo):
    img = np.ascontiguousarray(photo[:48, :64])
    mask = np.zeros((48, 64), bool)
    mask[10:30, 20:40] = True                      # touches cells rows 0–1, columns 1–2
    data = encode_pixels(img, model="tiny-gen", options={"channels": 4, "roi": mask, "roi_background": 1},
                         weights_dir=tiny_weights)
    h = formats.read(data)
    roi = RoiMap.from_chunk(h.chunk(b"ROIM"), 3, 4)
    assert roi.background_channels == 1
    assert np.array_equal(np.frombuffer(roi.cells, np.uint8).reshape(3, 4).astype(bool), roi_grid(mask))
    variant, _ = tiny_backend.configure({"channels": 4, "roi": mask, "roi_background": 1})
    symbols = variant.analyse(img, 3)
    coded = variant.coded_elements(symbols.shape)
    assert coded.sum() == 4 * 4 + 8 * 1 and not symbols[~coded].any()
    full = tiny_backend.configure({"channels": 4})[0].analyse(img, 3)
    assert np.array_equal(symbols[coded], full[coded])           # inside: exactly the full-precision code
    out = decode_bytes(data, weights_dir=tiny_weights).pixels
    assert np.array_equal(out, variant.synthesise(symbols, 3, 64, 48))
    # the default background is the smallest rate point; elias-gamma works too
    data = encode_pixels(img, model="tiny-gen", coder="elias-gamma", options={"channels": 4, "roi": mask},
                         weights_dir=tiny_weights)
    assert RoiMap.from_chunk(formats.read(data).chunk(b"ROIM"), 3, 4).background_channels == 2
    assert decode_bytes(data, weights_dir=tiny_weights).pixels.shape == (48, 64, 3)


@pytest.mark.parametrize("options, message", [
    ({"channels": 3}, "codes 2, 4 channels"),
    ({"roi_background": 1}, "needs a region-of-interest mask"),
    ({"roi": np.ones((32, 32), bool), "roi_background": 2, "channels": 2}, "below --channels 2"),
    ({"roi": np.ones((32, 32), bool), "roi_background": -1}, "background channel count"),
    ({"roi": np.ones((16, 32), bool)}, "same size"),
    ({"loss": "l1"}, "has no option loss"),
])
def test_bad_generative_options(tiny_weights, photo, options, message):
    with pytest.raises(UnsupportedSettingError, match=message):
        encode_pixels(np.ascontiguousarray(photo[:32, :32]), model="tiny-gen", options=options,
                      weights_dir=tiny_weights)


def test_plain_autoencoder_refuses_generative_options(photo):
    with pytest.raises(UnsupportedSettingError, match="has no option"):
        encode_pixels(np.ascontiguousarray(photo[:32, :32]), options={"channels": 8})


def _rewrite(data: bytes, **changes) -> bytes:
    h = formats.read(data)
    fields = {k: getattr(h, k) for k in ("width", "height", "color", "backend", "model_id", "bits", "coder",
                                         "latent_shape", "payload", "chunks")}
    return formats.write(formats.GzcFile(**{**fields, **changes}))


def test_inconsistent_files_are_refused(tiny_weights, photo):
    img = np.ascontiguousarray(photo[:32, :32])
    mask = np.zeros((32, 32), bool)
    mask[:16] = True
    plain = encode_pixels(img, model="tiny-gen", options={"channels": 2}, weights_dir=tiny_weights)
    roi = encode_pixels(img, model="tiny-gen", options={"channels": 4, "roi": mask}, weights_dir=tiny_weights)
    bad = [
        _rewrite(plain, latent_shape=(3, 2, 2)),                                  # not a rate point
        _rewrite(roi, chunks=(RoiMap(4, 2, 2, bytes([1, 1, 0, 0])).to_chunk(),)),  # background = C'
        _rewrite(plain, chunks=(formats.GanzParameters(1, 8).to_chunk(),)),       # GANZ is latent search's
    ]
    for data in bad:
        with pytest.raises(CorruptPayloadError):
            decode_bytes(data, weights_dir=tiny_weights)
    with pytest.raises(GzcFormatError):                                             # runs cover 2 of 4 cells
        decode_bytes(_rewrite(roi, chunks=(Chunk(b"ROIM", bytes([1, 0b01010000])),)), weights_dir=tiny_weights)


def test_roim_chunk_in_a_plain_autoencoder_file_is_corrupt(photo):
    data = encode_pixels(np.ascontiguousarray(photo[:32, :32]), bits=4)
    with pytest.raises(CorruptPayloadError, match="ROIM"):
        decode_bytes(_rewrite(data, chunks=(RoiMap(0, 2, 2, bytes(4)).to_chunk(),)))


# ---- command line -------------------------------------------------------------------------------

def test_cli_roi_and_channels(tiny_weights, tmp_path, photo):
    env = {"GZC_WEIGHTS_DIR": str(tiny_weights)}
    img = np.ascontiguousarray(photo[:48, :64])
    src, mask_png, gzc, out = (tmp_path / n for n in ("in.png", "mask.png", "out.gzc", "back.png"))
    Image.fromarray(img).save(src)
    mask = np.zeros((48, 64), np.uint8)
    mask[8:24, 16:48] = 255
    Image.fromarray(mask).save(mask_png)
    r = run_tool("gzc-enc", src, gzc, "--model", "tiny-gen", "--channels", "4", "--roi", mask_png,
                 "--roi-background", "0", "-v", env=env)
    assert r.returncode == 0, r.stderr
    r = run_tool("gzc-info", gzc, env=env)
    assert r.returncode == 0 and b"ROIM" in r.stdout and b"'background_channels': 0" in r.stdout, r.stdout
    r = run_tool("gzc-dec", gzc, out, env=env)
    assert r.returncode == 0, r.stderr
    assert Image.open(out).size == (64, 48)
    # a mask of the wrong size, an unreadable mask, --roi in batch mode, a missing mask
    Image.fromarray(mask[:40]).save(mask_png)
    r = run_tool("gzc-enc", src, tmp_path / "x.gzc", "--model", "tiny-gen", "--roi", mask_png, env=env)
    assert r.returncode == 2 and b"same size" in r.stderr and r.stderr.count(b"\n") == 1
    mask_png.write_bytes(b"not an image")
    r = run_tool("gzc-enc", src, tmp_path / "x.gzc", "--model", "tiny-gen", "--roi", mask_png, env=env)
    assert r.returncode == 3 and b"region-of-interest mask" in r.stderr
    r = run_tool("gzc-enc", src, "--out-dir", tmp_path / "batch", "--model", "tiny-gen", "--roi", mask_png, env=env)
    assert r.returncode == 2 and b"--out-dir" in r.stderr
    r = run_tool("gzc-enc", src, tmp_path / "x.gzc", "--model", "tiny-gen", "--roi", tmp_path / "nope.png", env=env)
    assert r.returncode == 3 and b"not found" in r.stderr
    assert not (tmp_path / "x.gzc").exists()
