"""Data-parallel training (docs/training.md): two CPU processes under torchrun (gloo) give the
single process's result for the same global batch and seed, up to float rounding."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import ROOT

LR = 1e-3
STEPS = 3


def _images(folder, count=3, side=96):
    folder.mkdir()
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:side, 0:side]
    for i in range(count):
        img = np.stack([128 + 90 * np.sin(x / (5 + i)), 128 + 80 * np.cos(y / (7 + i)),
                        rng.integers(0, 255, x.shape)], axis=2)
        Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(folder / f"{i}.png")


def _train(run, data, processes: int):
    args = ["autoencoder", "--run", str(run), "--steps", str(STEPS), "--batch", "4", "--crop", "32",
            "--lr", str(LR), "--warmup", "1", "--threads", "1", "--n", "8", "--m", "8",
            "--data", str(data), "--val", str(data), "--val-count", "1", "--val-size", "32"]
    if processes == 1:
        command = [sys.executable, "-m", "gzc.tools.train", *args]
    else:
        command = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", str(processes),
                   "--standalone", "-m", "gzc.tools.train", "--", *args]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    out = subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=ROOT, env=env)
    assert out.returncode == 0, out.stderr[-3000:]
    return torch.load(run / "checkpoint.pt", weights_only=False), out


@pytest.mark.skipif(not torch.distributed.is_available(), reason="torch built without torch.distributed")
def test_two_cpu_processes_train_as_one(tmp_path):
    data = tmp_path / "images"
    _images(data)
    one, _ = _train(tmp_path / "one", data, 1)
    two, out = _train(tmp_path / "two", data, 2)
    assert two["step"] == one["step"] == STEPS
    # rank 0 alone logs: one record per logged step, one printed line per step logged
    records = [json.loads(line) for line in (tmp_path / "two" / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [STEPS]
    assert out.stdout.count(f"step {STEPS}/{STEPS}") == 1
    # same crops, same noise, gradients averaged: the weights differ by float rounding only. Adam
    # moves each weight by at most about LR per step whatever its gradient, so a sign flipped by
    # rounding in a near-zero gradient moves a weight by at most STEPS·LR; all others agree closely.
    diffs = torch.cat([(one["model"][k] - two["model"][k]).abs().flatten() for k in one["model"]])
    moved = torch.cat([(one["model"][k] - _start(tmp_path, k)).abs().flatten() for k in one["model"]])
    assert diffs.max() <= STEPS * LR * 1.01
    assert diffs.median() < 1e-3 * moved.median()


def _start(tmp_path, key):
    """The seeded initial weights (the same in both runs), rebuilt for comparison."""
    from gzc.codec.autoencoder.model import ModelConfig
    from gzc.codec.training.autoencoder.model import TrainableAutoencoder
    torch.manual_seed(1)
    return TrainableAutoencoder(ModelConfig(n=8, m=8)).state_dict()[key]


def test_each_process_cuts_its_own_share_of_the_single_process_batch():
    from gzc.codec.training.autoencoder.dataset import CropSampler
    from gzc.codec.training.distributed import World
    images = [torch.randint(0, 255, (3, 40, 50), dtype=torch.uint8) for _ in range(4)]
    whole = CropSampler(images, 16, seed=3).batch(6)
    parts = [CropSampler(images, 16, seed=3).batch(6, World(rank, 3).shard(6)) for rank in range(3)]
    assert torch.equal(torch.cat(parts), whole)
    with pytest.raises(ValueError, match="multiple"):
        World(1, 4).shard(6)
