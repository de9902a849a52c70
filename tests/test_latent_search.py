"""Latent-search backend: quantizers, the GANZ projection, the search, and the codec round trip.

The end-to-end tests use a tiny, randomly initialised generator packed exactly
as shipped models are (so they run in seconds); the shipped face model has
its own tests in test_latent_search_model.py.
"""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from gzc import formats
from gzc.codec.backend import CorruptPayloadError, UnsupportedSettingError
from gzc.codec.codec import decode_bytes, encode_pixels
from gzc.codec.latent_search.plugin import PLUGIN as LATENT_SEARCH
from gzc.codec.latent_search import projection
from gzc.codec.latent_search.backend import BITS, LatentSearchBackend
from gzc.codec.training.latent_search.export import gaussian_table, pack
from gzc.codec.losses import LOSSES, distortion, ms_ssim, ms_ssim5, ssim
from gzc.codec.latent_search.networks import Encoder, Generator, GeneratorConfig
from gzc.codec.latent_search.quantize import QUANTIZERS, dequantize, levels, quantize, symbol_bounds
from gzc.codec.latent_search.search import TorchQuantizer, search_latent
from gzc.codec.registry import find_model, load_backend, write_model

TINY = GeneratorConfig(z_dim=12, width=4)


# ---- quantizers -------------------------------------------------------------------------------

@pytest.mark.parametrize("quantizer", QUANTIZERS)
@pytest.mark.parametrize("bits", [2, 4, 6, 8])
def test_quantize_dequantize(quantizer, bits):
    lo, hi = symbol_bounds(bits, quantizer)
    lv = levels(bits, quantizer, 3.0)
    assert len(lv) == hi - lo + 1 and np.all(np.diff(lv) > 0)
    # every level is a fixed point, and every symbol round-trips
    symbols = np.arange(lo, hi + 1)
    assert np.array_equal(quantize(dequantize(symbols, bits, quantizer, 3.0), bits, quantizer, 3.0), symbols)
    # quantize picks the nearest level, and clips far values to the end levels
    z = np.random.default_rng(bits).normal(0, 2, 2000)
    q = quantize(z, bits, quantizer, 3.0)
    assert q.min() >= lo and q.max() <= hi
    nearest = np.argmin(np.abs(z[:, None] - lv[None, :].astype(np.float64)), axis=1) + lo
    assert np.mean(q == nearest) > 0.999          # ties at exact midpoints may go either way
    # more bits, less error
    if bits > 2:
        coarser = dequantize(quantize(z, bits - 2, quantizer, 3.0), bits - 2, quantizer, 3.0)
        finer = dequantize(q, bits, quantizer, 3.0)
        assert np.mean((finer - z) ** 2) < np.mean((coarser - z) ** 2)


def test_dequantize_refuses_out_of_range_symbols():
    with pytest.raises(ValueError):
        dequantize(np.array([8]), 4, "uniform", 3.0)
    assert levels(4, "uniform", 3.0)[0] == np.float32(-3.0)


def test_torch_quantizer_matches_numpy():
    for quantizer in QUANTIZERS:
        tq = TorchQuantizer(levels(5, quantizer, 2.5), symbol_bounds(5, quantizer)[0])
        z = torch.linspace(-4, 4, 997)
        assert np.array_equal(tq.index(z).numpy() + tq.lowest, quantize(z.numpy(), 5, quantizer, 2.5))
        zq = tq(z.clone().requires_grad_(True))
        assert torch.equal(zq.detach(), torch.from_numpy(dequantize(quantize(z.numpy(), 5, quantizer, 2.5), 5,
                                                                    quantizer, 2.5)))


def test_gaussian_table_follows_the_distribution():
    t = gaussian_table(0.0, 1.0, 4, "uniform", 3.0)
    assert t.sum() == 1 << 24 and t.min() >= 1 and np.argmax(t) == len(t) // 2
    shifted = gaussian_table(1.0, 0.3, 4, "uniform", 3.0)
    assert np.argmax(shifted) == len(t) // 2 + 2       # level 2·(3/7) ≈ 0.86 is nearest to 1.0


# ---- GANZ random projection -------------------------------------------------------------------

def test_splitmix64_reference_vector():
    # SplitMix64 published outputs for seed 1234567 (Vigna's splitmix64.c)
    assert [int(x) for x in projection.splitmix64(1234567, 5)] == [
        6457827717110365317, 3203168211198807973, 9817491932198370423, 4593380528125082431,
        16408922859458223821]


def test_sign_matrix_is_reproducible_from_its_seed():
    a = projection.sign_matrix(42, 37, 19)
    assert a.shape == (37, 19) and set(np.unique(a)) == {-1, 1}
    assert np.array_equal(a, projection.sign_matrix(42, 37, 19))
    assert not np.array_equal(a, projection.sign_matrix(43, 37, 19))
    # the definition: entry k = i*cols + j is bit k%64 of output k//64, bit 1 → −1
    words = [int(w) for w in projection.splitmix64(42, -(-37 * 19 // 64))]
    for i, j in [(0, 0), (0, 18), (3, 7), (36, 18)]:
        k = i * 19 + j
        assert a[i, j] == (-1 if (words[k // 64] >> (k % 64)) & 1 else 1)
    # pinned: the first 16 signs of seed 0 (spec/gzc.md test vector)
    assert "".join("+" if s > 0 else "-" for s in projection.sign_matrix(0, 1, 16)[0]) == SEED0_SIGNS


SEED0_SIGNS = "".join("-" if (0xE220A8397B1DCDAF >> k) & 1 else "+" for k in range(16))


def test_projection_rows_have_the_trained_norms():
    norms = np.array([0.5, 2.0, 1.25], dtype=np.float32)
    w = projection.projection_weight(7, 100, norms)
    assert w.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(w, axis=1), norms, rtol=1e-6)
    with pytest.raises(ValueError):
        projection.projection_weight(7, projection.MAX_DIMS + 1, norms)
    assert projection.dims_for_ratio(48, 64 * 64) == 256


def test_ganz_chunk_round_trip_and_errors():
    g = formats.GanzParameters(seed=0x0123456789ABCDEF, dims=300)
    chunk = g.to_chunk()
    assert chunk.type == b"GANZ" and chunk.critical
    assert chunk.data == bytes.fromhex("0123456789abcdef") + b"\xac\x02"
    assert formats.GanzParameters.from_chunk(chunk) == g
    with pytest.raises(formats.TruncatedError):
        formats.GanzParameters.from_chunk(formats.Chunk(b"GANZ", b"\x00" * 8))
    with pytest.raises(formats.MalformedFieldError):
        formats.GanzParameters.from_chunk(formats.Chunk(b"GANZ", chunk.data + b"\x00"))
    with pytest.raises(formats.MalformedFieldError):
        formats.GanzParameters.from_chunk(formats.Chunk(b"GANZ", b"\x00" * 8 + b"\x00"))


# ---- losses -----------------------------------------------------------------------------------

def test_ssim_matches_pytorch_msssim():
    pytorch_msssim = pytest.importorskip("pytorch_msssim")
    x = torch.rand(2, 3, 64, 64)
    y = (x + 0.1 * torch.randn_like(x)).clamp(0, 1)
    torch.testing.assert_close(ssim(x, y), pytorch_msssim.ssim(x, y, data_range=1, size_average=False))


def test_five_scale_ms_ssim_is_the_benchmark_metric():
    """ms_ssim5 (what a generative model can be trained on) equals pytorch-msssim's MS-SSIM,
    odd sizes included, and keeps gradients."""
    pytorch_msssim = pytest.importorskip("pytorch_msssim")
    torch.manual_seed(3)
    for shape in ((2, 3, 192, 192), (1, 3, 177, 243)):
        x = torch.rand(shape)
        y = (x + 0.08 * torch.randn_like(x)).clamp(0, 1).requires_grad_(True)
        value = ms_ssim5(y, x)
        torch.testing.assert_close(value, pytorch_msssim.ms_ssim(y, x, data_range=1, size_average=False))
        value.sum().backward()
        assert torch.isfinite(y.grad).all() and y.grad.abs().sum() > 0
    with pytest.raises(ValueError, match="161"):
        ms_ssim5(torch.rand(1, 3, 128, 256), torch.rand(1, 3, 128, 256))


@pytest.mark.parametrize("loss", LOSSES)
def test_losses_are_zero_on_identity_and_grow_with_noise(loss):
    x = torch.rand(1, 3, 64, 64)
    small = (x + 0.05 * torch.randn_like(x)).clamp(0, 1)
    big = (x + 0.3 * torch.randn_like(x)).clamp(0, 1)
    d = [float(distortion(loss, v, x)) for v in (x, small, big)]
    assert d[0] < 1e-5 and d[0] < d[1] < d[2]
    assert float(ms_ssim(x, x)) == pytest.approx(1.0, abs=1e-5)


# ---- the search on a tiny generator ------------------------------------------------------------

def _tiny_networks(seed=0):
    torch.manual_seed(seed)
    g, e = Generator(TINY), Encoder(TINY)
    with torch.no_grad():       # give batch norm non-trivial statistics
        g.train()
        for _ in range(3):
            g(torch.randn(16, TINY.z_dim))
    return g.eval().requires_grad_(False), e.eval().requires_grad_(False)


def test_search_recovers_a_reachable_target():
    g, _ = _tiny_networks()
    z_true = torch.randn(1, TINY.z_dim).clamp(-2.5, 2.5)
    with torch.no_grad():
        target = g(z_true)
    tq = TorchQuantizer(levels(8, "uniform", 3.0), symbol_bounds(8, "uniform")[0])
    start = torch.zeros(TINY.z_dim)
    with torch.no_grad():
        start_loss = float(distortion("l2", g(start[None]), target))
    result = search_latent(g, target, start, tq, "l2", effort=3, seed=1)
    assert result.symbols.shape == (TINY.z_dim,)
    assert result.loss < 0.25 * start_loss
    # the reported loss is the real loss of the returned (quantized) latent
    z = torch.from_numpy(dequantize(result.symbols, 8, "uniform", 3.0))[None]
    with torch.no_grad():
        assert float(distortion("l2", g(z), target)) == pytest.approx(result.loss, rel=1e-4)
    # never worse than quantizing the starting point, and seeded: the same result twice
    again = search_latent(g, target, start, tq, "l2", effort=3, seed=1)
    assert np.array_equal(again.symbols, result.symbols)


# ---- the codec round trip through a packed tiny model -----------------------------------------

@pytest.fixture(scope="module")
def tiny_weights(tmp_path_factory):
    folder = tmp_path_factory.mktemp("weights")
    g, e = _tiny_networks()
    data = pack(g, e, "uniform", 3.0, np.zeros(TINY.z_dim), np.ones(TINY.z_dim), 1.0)
    write_model(folder, "tiny", "latent-search", data, {"bits": list(BITS)})
    return folder


@pytest.fixture(scope="module")
def face64(photo):
    return np.ascontiguousarray(photo[:64, :64])


def test_round_trip_plain_mode(tiny_weights, face64):
    for coder in ("range", "elias-gamma"):
        data = encode_pixels(face64, backend="latent-search", bits=6, coder=coder,
                             options={"effort": 1, "loss": "ssim"}, weights_dir=tiny_weights)
        h = formats.read(data)
        assert h.backend == LATENT_SEARCH.backend_id and h.bits == 6 and h.latent_shape == (TINY.z_dim, 1, 1)
        assert h.chunks == ()
        out = decode_bytes(data, weights_dir=tiny_weights).pixels
        assert out.shape == (64, 64, 3) and out.dtype == np.uint8
        # decoding is a pure function of the file: same pixels under another thread count
        threads = torch.get_num_threads()
        try:
            torch.set_num_threads(1)
            assert np.array_equal(decode_bytes(data, weights_dir=tiny_weights).pixels, out)
        finally:
            torch.set_num_threads(threads)


def test_encoding_is_deterministic_and_effort_zero_is_the_guess(tiny_weights, face64):
    a = encode_pixels(face64, backend="latent-search", options={"effort": 0}, weights_dir=tiny_weights)
    b = encode_pixels(face64, backend="latent-search", options={"effort": 0}, weights_dir=tiny_weights)
    assert a == b


def test_ganz_mode_records_seed_and_dims(tiny_weights, face64):
    data = encode_pixels(face64, backend="latent-search", bits=4, options={"effort": 1, "ratio": 512},
                         weights_dir=tiny_weights)
    h = formats.read(data)
    ganz = formats.GanzParameters.from_chunk(h.chunk(b"GANZ"))
    assert ganz == formats.GanzParameters(projection.DEFAULT_SEED, 24) and h.latent_shape == (24, 1, 1)
    out = decode_bytes(data, weights_dir=tiny_weights).pixels
    assert out.shape == (64, 64, 3)
    # the decoder rebuilds the projection from the chunk: another seed gives another image
    other = formats.write(formats.GzcFile(**{**h.__dict__, "chunks": (formats.GanzParameters(5, 24).to_chunk(),)}))
    assert not np.array_equal(decode_bytes(other, weights_dir=tiny_weights).pixels, out)
    # a GANZ chunk whose size disagrees with the latent shape is refused
    bad = formats.write(formats.GzcFile(**{**h.__dict__, "chunks": (formats.GanzParameters(5, 25).to_chunk(),)}))
    with pytest.raises(CorruptPayloadError):
        decode_bytes(bad, weights_dir=tiny_weights)
    huge = formats.write(formats.GzcFile(**{**h.__dict__, "chunks": (formats.GanzParameters(5, 10 ** 8).to_chunk(),)}))
    with pytest.raises(CorruptPayloadError, match="exceeds"):
        decode_bytes(huge, weights_dir=tiny_weights)


def test_other_sizes_are_resized(tiny_weights, photo):
    data = encode_pixels(photo, backend="latent-search", options={"effort": 0}, weights_dir=tiny_weights)
    h = formats.read(data)
    assert (h.width, h.height) == (photo.shape[1], photo.shape[0]) and h.latent_shape == (TINY.z_dim, 1, 1)
    assert decode_bytes(data, weights_dir=tiny_weights).pixels.shape == photo.shape


def test_bad_options_are_refused(tiny_weights, face64):
    for options in ({"loss": "l3"}, {"effort": 9}, {"ratio": 0}, {"ratio": 1}, {"seed": 3}, {"colour": 1}):
        with pytest.raises(UnsupportedSettingError):
            encode_pixels(face64, backend="latent-search", options=options, weights_dir=tiny_weights)
    with pytest.raises(UnsupportedSettingError):
        encode_pixels(face64, backend="latent-search", bits=1, weights_dir=tiny_weights)


def test_ganz_chunk_on_an_autoencoder_file_is_refused(photo):
    data = encode_pixels(photo, bits=4)
    h = formats.read(data)
    bad = formats.write(formats.GzcFile(**{**h.__dict__, "chunks": (formats.GanzParameters(1, 8).to_chunk(),)}))
    with pytest.raises(CorruptPayloadError, match="GANZ"):
        decode_bytes(bad)


def test_latent_search_options_are_refused_by_the_autoencoder(photo):
    with pytest.raises(UnsupportedSettingError, match="ratio"):
        encode_pixels(photo, bits=4, options={"ratio": 48})


def test_tiny_model_loads_through_the_registry(tiny_weights):
    backend = load_backend(find_model(None, tiny_weights, backend="latent-search"))
    assert isinstance(backend, LatentSearchBackend) and backend.dims == TINY.z_dim
    assert len(backend.entropy_tables(6).tables) == TINY.z_dim


# ---- command line ------------------------------------------------------------------------------

def test_cli_latent_search_round_trip(tmp_path, tiny_weights, face64):
    from PIL import Image

    from conftest import run_tool
    env = {"GZC_WEIGHTS_DIR": str(tiny_weights)}
    src, gzc, out = tmp_path / "face.png", tmp_path / "face.gzc", tmp_path / "back.png"
    Image.fromarray(face64).save(src)
    r = run_tool("gzc-enc", src, gzc, "--backend", "latent-search", "--bits", "4", "--ratio", "512",
                 "--effort", "1", "--loss", "l1", "-v", env=env)
    assert r.returncode == 0, r.stderr
    assert b"bpp" in r.stderr
    info = json.loads(run_tool("gzc-info", gzc, "--json", env=env).stdout)
    assert info["backend"] == "latent-search" and info["model"] == "tiny" and info["bits"] == 4
    assert info["chunks"] == [{"type": "GANZ", "bytes": 9, "seed": f"0x{projection.DEFAULT_SEED:016x}", "dims": 24}]
    r = run_tool("gzc-dec", gzc, out, env=env)
    assert r.returncode == 0, r.stderr
    with Image.open(out) as im:
        assert im.size == (64, 64)
    # bad settings: one line, exit 2 (usage) or 5 (unsupported), no output file
    for args, code in (((src, tmp_path / "x.gzc", "--backend", "gan"), 2),
                       ((src, tmp_path / "x.gzc", "--backend", "latent-search", "--ratio", "0"), 5),
                       ((src, tmp_path / "x.gzc", "--backend", "latent-search", "--loss", "l7"), 5),
                       ((src, tmp_path / "x.gzc", "--backend", "autoencoder"), 5)):
        r = run_tool("gzc-enc", *args, env=env)
        assert r.returncode == code, (args, r.stderr)
        assert len(r.stderr.decode().strip().splitlines()) == 1
        assert not (tmp_path / "x.gzc").exists()
