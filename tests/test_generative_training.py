"""The generative trainer, a few steps on tiny images: it warm-starts, trains with the GAN
loss, checkpoints, and a decoder-only run of the other discriminator variant starts from
that checkpoint with a fresh discriminator while the codes stay exactly as they were."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from gzc.codec.training.autoencoder.generative import GenerativeConfig, train

from conftest import ROOT


def _images(folder, count, size, seed):
    folder.mkdir()
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:size, 0:size]
    for i in range(count):
        base = np.stack([128 + 80 * np.sin(x / (4 + i)), 128 + 70 * np.cos(y / (6 + i)), (x + y) % 200], 2)
        img = np.clip(base + rng.normal(0, 12, base.shape), 0, 255).astype(np.uint8)
        Image.fromarray(img).save(folder / f"im{i}.png")
    return folder


def _config(tmp_path, **kw):
    return GenerativeConfig(data=[str(tmp_path / "train")], val=str(tmp_path / "val"),
                            init=str(ROOT / "weights" / "ae-factorized-v1.safetensors"),
                            batch=2, crop=64, threads=1, log_every=1, checkpoint_every=2, validate_every=3,
                            roi_probability=0.5, **kw)


def test_train_then_decoder_only_with_the_other_discriminator(tmp_path, capsys):
    _images(tmp_path / "train", 3, 160, 1)
    _images(tmp_path / "val", 2, 336, 2)       # validation takes 160² centre crops at half scale
    first = tmp_path / "conditional"
    train(first, _config(tmp_path, steps=3, gan_start=1))
    state = torch.load(first / "checkpoint.pt", weights_only=False)
    assert state["step"] == 3 and state["config"]["conditional"]
    log = [line for line in (first / "log.jsonl").read_text().splitlines() if line]
    assert len(log) == 3 and "val" in json.loads(log[-1])

    second = tmp_path / "unconditional"
    train(second, _config(tmp_path, steps=2, gan_start=0, start_from=str(first / "checkpoint.pt"),
                          decoder_only=True, conditional=False))
    assert "fresh discriminator" in capsys.readouterr().out
    after = torch.load(second / "checkpoint.pt", weights_only=False)
    d_in = {k: v.shape for k, v in state["discriminator"].items()}
    d_out = {k: v.shape for k, v in after["discriminator"].items()}
    assert d_in != d_out                         # the conditional one also takes the 16 code channels
    changed = [k for k in state["model"] if not torch.equal(state["model"][k], after["model"][k])]
    assert changed and all(k.startswith(("expand.", "synthesis.")) for k in changed), changed


def test_start_from_a_shipped_model_with_the_five_scale_loss(tmp_path, capsys):
    """A run can start from a shipped .safetensors (its networks and float prior; a fresh
    discriminator) and train against the benchmark's five-scale MS-SSIM on 176-pixel crops."""
    from safetensors.torch import load_file

    _images(tmp_path / "train", 2, 336, 3)     # ≥ 176 after resizing by 0.6 and 0.7
    _images(tmp_path / "val", 2, 336, 4)
    shipped = ROOT / "weights" / "ae-generative-v1.safetensors"
    cfg = _config(tmp_path, steps=1, gan_start=0, start_from=str(shipped), msssim_scales=5)
    cfg.crop = 176
    run = tmp_path / "from-shipped"
    train(run, cfg)
    assert "started from shipped model" in capsys.readouterr().out
    tensors = load_file(str(shipped))
    model = torch.load(run / "checkpoint.pt", weights_only=False)["model"]
    assert set(model) == {k for k in tensors if not k.startswith("entropy_table_")}
    assert not torch.equal(model["analysis.0.weight"], tensors["analysis.0.weight"])   # it trained a step
    assert (model["analysis.0.weight"] - tensors["analysis.0.weight"]).abs().max() < 1e-3  # from there

    cfg.crop = 128
    with pytest.raises(ValueError, match="176"):
        train(tmp_path / "too-small", cfg)


def test_crops_larger_than_every_image_are_a_clear_error():
    from gzc.codec.training.autoencoder.dataset import CropSampler
    with pytest.raises(ValueError, match="at least 192"):
        CropSampler([torch.zeros(3, 160, 240, dtype=torch.uint8)], 192, 0)


def test_context_model_trains_exports_and_codes_with_coder_3(tmp_path, photo):
    """A context run starts from a factorized model (its densities seed every context),
    exports (C, 24, n) tables, and files made with it use coder 3 and decode exactly."""
    import dataclasses

    from safetensors.torch import load_file

    from gzc import formats
    from gzc.codec import codec as core
    from gzc.codec.training.autoencoder.export import export
    from gzc.codec.training.autoencoder.generative import load_networks
    from gzc.codec.training.autoencoder.model import TrainableAutoencoder
    from gzc.codec.backend import CorruptPayloadError, UnsupportedSettingError
    from gzc.codec.registry import find_model, load_backend
    from conftest import load_reference_decoder

    shipped = ROOT / "weights" / "ae-generative-v1.safetensors"
    cfg = _config(tmp_path, steps=1, gan_start=0, start_from=str(shipped), context=1)
    factorized = TrainableAutoencoder(dataclasses.replace(cfg, context=0).model_config())
    contextual = TrainableAutoencoder(cfg.model_config())
    tensors = {k: v for k, v in load_file(str(shipped)).items() if not k.startswith("entropy_")}
    factorized.load_state_dict(tensors)
    load_networks(contextual, tensors)
    y = torch.randn(2, 16, 5, 6)
    symbols = torch.randint(-4, 4, (2, 16, 5, 6))
    assert torch.allclose(contextual.likelihood(y, 3, symbols), factorized.likelihood(y, 3, symbols))

    _images(tmp_path / "train", 2, 160, 5)
    _images(tmp_path / "val", 2, 336, 6)
    run = tmp_path / "context"
    train(run, cfg)
    weights = tmp_path / "weights"
    for f in (ROOT / "weights").glob("ae-generative-v1.*"):
        (weights / f.name).parent.mkdir(exist_ok=True)
        (weights / f.name).write_bytes(f.read_bytes())
    prior_tables = export(run / "checkpoint.pt", "ctx-prior", weights, {"note": "test"})
    counted = export(run / "checkpoint.pt", "ctx-test", weights, {"note": "test"},
                     count_images=sorted((tmp_path / "train").glob("*.png")))
    assert "counted on the hard-rounded latents of 2 training images" in counted["entropy_tables"]
    assert "trained context prior" in prior_tables["entropy_tables"]
    backend = load_backend(find_model("ctx-test", weights))
    assert backend.entropy_tables(3) is None and backend.context_tables(3).tables.shape == (16, 24, 8)
    assert not np.array_equal(backend.context_tables(3).tables,
                              load_backend(find_model("ctx-prior", weights)).context_tables(3).tables)

    data = core.encode_pixels(photo, model="ctx-test", bits=3, options={"channels": 8}, weights_dir=weights)
    header = formats.read(data)
    assert header.coder == formats.CODER_RANGE_CONTEXT and header.version >= (1, 3)   # coder 3 came in 1.3
    symbols = core.decode_payload(header, backend.for_file(header))
    assert np.array_equal(symbols, backend.for_file(header).analyse(photo, 3))
    tables = backend.context_tables(3)
    assert load_reference_decoder().decode_latent_context(header.payload, header.latent_shape,
                                                          tables.tables.tolist(), tables.offset) \
        == symbols.ravel().tolist()
    assert core.decode_bytes(data, weights_dir=weights).pixels.shape == photo.shape

    with pytest.raises(UnsupportedSettingError, match="no per-channel tables"):
        core.encode_payload(symbols, backend.for_file(header), 3, "range")      # coder 1 by name
    with pytest.raises(UnsupportedSettingError, match="no context prior"):
        core.encode_pixels(photo, model="ae-generative-v1", bits=3, coder="range-context", weights_dir=weights)
    # a coder-3 payload under a model without context tables is corrupt, not a crash
    other = load_backend(find_model("ae-generative-v1", weights))
    forged = formats.write(dataclasses.replace(header, model_id=other.model_id))
    with pytest.raises(CorruptPayloadError, match="no context prior"):
        core.decode_bytes(forged, weights_dir=weights)


def test_a_time_budget_fixes_the_step_count(tmp_path, capsys, monkeypatch):
    """``minutes`` (a lent GPU's hard limit): after the timed probe the run shrinks ``steps``
    to what fits, ends there with a checkpoint, and records the decision."""
    from gzc.codec.training.autoencoder import generative as gt

    assert gt.steps_for_budget(1000, 50, 0.5, 100.0) == 50 + int(gt.BUDGET_MARGIN * 200)
    assert gt.steps_for_budget(120, 50, 0.5, 100.0) == 120        # never more than asked for
    assert gt.steps_for_budget(1000, 50, 0.5, -3.0) == 50         # a spent budget stops at once
    monkeypatch.setattr(gt, "BUDGET_SKIP", 1)
    monkeypatch.setattr(gt, "BUDGET_PROBE", 2)
    _images(tmp_path / "train", 3, 160, 5)
    _images(tmp_path / "val", 2, 336, 6)
    run = tmp_path / "budget"
    train(run, _config(tmp_path, steps=500, gan_start=0, minutes=1e-4))
    budget = json.loads(next(line for line in capsys.readouterr().out.splitlines() if '"budget"' in line))
    assert budget["budget"]["steps"] == 3
    state = torch.load(run / "checkpoint.pt", weights_only=False)
    assert state["step"] == 3 and state["config"]["steps"] == 3
    assert json.loads((run / "config.json").read_text())["steps"] == 3
    assert "CPU" in state["hardware"]


def test_weighted_draws_of_the_settings():
    """--bits-weights / --channel-weights: probabilities proportional to the weights; bad lists are refused."""
    from gzc.codec.training.autoencoder.generative import draw_counts, draw_probabilities

    assert draw_probabilities((), 3) is None
    assert np.allclose(draw_probabilities((1, 1, 2), 3), [0.25, 0.25, 0.5])
    for bad in ((1, 2), (1, -1, 1), (0, 0, 0)):
        with pytest.raises(ValueError):
            draw_probabilities(bad, 3)
    cfg = GenerativeConfig(channel_weights=(0, 0, 0, 1), roi_probability=0.0)
    rng = np.random.default_rng(0)
    assert {draw_counts(rng, cfg, 1, 2, 2)[1] for _ in range(20)} == {16}


def test_a_slow_probe_does_not_fix_a_short_run(monkeypatch):
    """Regression: the budget was fixed once, from 40 steps timed while an export held
    the cores (2 s a step instead of 0.3), and a 28-minute run planned 809 steps. The
    speed is now re-measured every BUDGET_EVERY steps, so the plan recovers."""
    from gzc.codec.training.autoencoder import generative as gt

    clock = [0.0]
    monkeypatch.setattr(gt.time, "time", lambda: clock[0])
    budget = gt.TimeBudget(minutes=10, step=0, cap=10_000, started=0.0)
    plans = []
    for step in range(1, 1001):
        clock[0] += 2.0 if step <= gt.BUDGET_SKIP + gt.BUDGET_PROBE else 0.3   # slow at first, then fast
        if budget.measures(step):
            estimate = budget.update(step)
            if estimate:
                plans.append(estimate[0])
    assert plans[0] < 320                                # the probe alone: 2 s a step
    assert plans[-1] > 1.5 * plans[0]                    # re-measured: far more steps fit
    assert all(p <= 10_000 for p in plans)


def test_a_rate_weight_per_bits_setting():
    """--bits-rate-weights prices each setting's bits on its own; absent, --rate-weight holds."""
    from gzc.codec.training.autoencoder.generative import rate_weight

    assert rate_weight(GenerativeConfig(bits=(2, 3, 4), rate_weight=30.0), 4) == 30.0
    cfg = GenerativeConfig(bits=(2, 3, 4), rate_weight=30.0, bits_rate_weights=(30, 30, 18))
    assert rate_weight(cfg, 3) == 30.0 and rate_weight(cfg, 4) == 18.0
    with pytest.raises(ValueError, match="one rate weight per"):
        rate_weight(GenerativeConfig(bits=(2, 3, 4), bits_rate_weights=(30, 18)), 4)
