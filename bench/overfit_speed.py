"""CPU time of one encoder step of the overfitted backend, per coarse-to-fine stage (768×512).

    python bench/overfit_speed.py > bench/results/overfit/speed.txt
    python bench/overfit_speed.py --profile > bench/results/overfit/step_profile.txt

``time.process_time`` (CPU seconds of this process, one torch thread), so the
numbers hold when other jobs share the machine, as they did when these were
taken; wall time there was 2–5× longer. Each stage is measured with glibc's
default allocation and inside :func:`encoder.heap_allocations` (what encoding
uses), after one warm-up step, as the mean of 3 steps; the last lines run the
plain autograd model (``encoder.FUSED = False``) that :mod:`gzc.codec.overfit.fused_ops`
replaces. ``--profile`` prints
PyTorch's operator table for 3 full-size steps instead (where a step's time
goes; the profiler's own overhead inflates the totals).
"""
from __future__ import annotations

import contextlib
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from gzc.codec.overfit import encoder
from gzc.codec.overfit.architecture import Architecture

KODIM23 = "../shared/data/kodak/kodim23.png"


def profile() -> None:
    torch.set_num_threads(1)
    torch.manual_seed(0)
    img = np.asarray(Image.open(KODIM23).convert("RGB"))
    target = torch.from_numpy(img.astype(np.float32) / 255)
    model = encoder.OverfitModel(Architecture(), *img.shape[:2])
    opt = encoder.make_optimizer(model, encoder.EncodeSettings(lam=0.0025, steps=1))

    def step():
        loss = encoder._loss(model, target, 0.0025, True, 0)[0]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    with encoder.heap_allocations():
        step()
        from torch.profiler import ProfilerActivity, profile as torch_profile
        with torch_profile(activities=[ProfilerActivity.CPU]) as prof:
            for _ in range(3):
                step()
    print("3 full-size steps of kodim23 (768x512), one thread, torch profiler")
    print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=20))


def main() -> None:
    if sys.argv[1:] == ["--profile"]:
        return profile()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    img = np.asarray(Image.open(KODIM23).convert("RGB"))
    full = torch.from_numpy(img.astype(np.float32) / 255)
    arch = Architecture()
    print(f"architecture {arch}, {arch.macs_per_pixel():.0f} MAC/pixel to decode")
    for label, heap, fused in (("glibc default", False, True), ("heap", True, True),
                               ("heap, autograd", True, False)):
        encoder.FUSED = fused
        model = encoder.OverfitModel(arch, *img.shape[:2])
        opt = torch.optim.Adam(model.parameters(), 1e-2)
        with encoder.heap_allocations() if heap else contextlib.nullcontext():
            for first in (2, 1, 0):
                f = 1 << first
                target = F.avg_pool2d(full.permute(2, 0, 1)[None], f)[0].permute(1, 2, 0).contiguous() \
                    if first else full

                def step():
                    loss = encoder._loss(model, target, 0.002, True, first)[0]
                    opt.zero_grad()
                    loss.backward()
                    opt.step()
                step()
                started = time.process_time()
                for _ in range(3):
                    step()
                print(f"{label:14s} stage 1/{f} size: "
                      f"{(time.process_time() - started) / 3 * 1000:.0f} ms CPU per step", flush=True)


if __name__ == "__main__":
    main()
