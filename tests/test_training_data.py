"""The fidelity trainer's data sources and model config (training itself never runs in CI)."""
from pathlib import Path

import pytest
import torch
from PIL import Image

from gzc.codec.training.autoencoder.dataset import list_images, load_sources, manifest_images, validation_set
from gzc.codec.autoencoder.model import ModelConfig
from gzc.codec.training.autoencoder.model import TrainableAutoencoder


def _corpus(tmp_path: Path) -> Path:
    rows = ["file\tsplit\tsource"]
    for i, split in enumerate(["train", "val", "train", "test", "val"]):
        (tmp_path / "src").mkdir(exist_ok=True)
        Image.new("RGB", (40 + i, 36), (i * 40, 10, 200)).save(tmp_path / "src" / f"p{i}.png")
        rows.append(f"src/p{i}.png\t{split}\tsrc")
    (tmp_path / "MANIFEST.tsv").write_text("\n".join(rows) + "\n")
    return tmp_path / "MANIFEST.tsv"


def test_manifest_split_lists_only_that_split(tmp_path):
    manifest = _corpus(tmp_path)
    assert [p.name for p in manifest_images(f"{manifest}#train")] == ["p0.png", "p2.png"]
    assert [p.name for p in manifest_images(f"{manifest}#val")] == ["p1.png", "p4.png"]
    assert [p.name for p in list_images([Path(f"{manifest}#test")])] == ["p3.png"]
    with pytest.raises(ValueError, match="split"):
        manifest_images(f"{manifest}#kodak")


def test_corpus_images_load_at_full_size_and_validation_spreads(tmp_path):
    manifest = _corpus(tmp_path)
    images = load_sources([f"{manifest}#train"])
    assert [tuple(im.shape) for im in images] == [(3, 36, 40), (3, 25, 28), (3, 36, 42), (3, 25, 29)]
    val = validation_set(f"{manifest}#val", count=2, size=32)
    assert val.shape == (2, 3, 32, 32)
    assert val[1, 0].mean().item() == pytest.approx(160 / 255, abs=0.01)   # p4 (red 160), not p1 twice


def test_a_fidelity_context_model_keeps_its_context_in_its_config():
    # bug: as_dict dropped `context` for a model without a generative bottleneck, so an
    # exported fidelity context model would have loaded as a factorized one
    config = ModelConfig(n=8, m=12, context=1)
    assert ModelConfig(**config.as_dict()) == config
    assert ModelConfig(n=8, m=12).as_dict() == {"n": 8, "m": 12}     # version-1.0 weights unchanged
    model = TrainableAutoencoder(config)
    x = torch.rand(1, 3, 32, 32)
    _, bits = model(x, 6)
    assert bits.shape == (1,) and bits.item() > 0


def test_snapshot_keeps_the_weights_and_trajectory_but_no_optimiser(tmp_path):
    import json as _json

    from safetensors.torch import load_file

    from gzc.codec.training.common import save_checkpoint, snapshot
    from gzc.codec.training.autoencoder.fidelity import load_init
    from gzc.codec.training.autoencoder.model import TrainableAutoencoder

    config = ModelConfig(n=8, m=12, context=1)
    model = TrainableAutoencoder(config)
    save_checkpoint({"model": model.state_dict(), "optimizer": {"huge": torch.zeros(10)}, "step": 7,
                     "elapsed": 36.0, "config": {"n": 8}}, tmp_path / "checkpoint.pt")
    (tmp_path / "log.jsonl").write_text(_json.dumps({"step": 5, "minutes": 0.5, "val": {"6": {"psnr": 20}}}) + "\n"
                                        + _json.dumps({"step": 7, "minutes": 0.6}) + "\n")
    record = snapshot(tmp_path, tmp_path / "out" / "snap")
    tensors = load_file(str(tmp_path / "out" / "snap.safetensors"))
    assert set(tensors) == set(model.state_dict()) and all(t.dtype == torch.float16 for t in tensors.values())
    assert record["step"] == 7 and record["last_validation"]["step"] == 5 and record["hours"] == 0.01
    resumed = TrainableAutoencoder(config)
    load_init(resumed, str(tmp_path / "out" / "snap.safetensors"))      # the campaign resumes from it
    for k, v in model.state_dict().items():
        assert torch.allclose(resumed.state_dict()[k], v.half().float())
