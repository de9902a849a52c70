"""The generative trainer's settings, with no torch import.

``gzc-train generative`` builds its command-line options from these defaults
at import time, and the CLI must start without loading torch; the trainer
itself is :mod:`.generative`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ...autoencoder.model import ModelConfig


@dataclass
class GenerativeConfig:
    data: list[str] = field(default_factory=lambda: ["../shared/data/bsds500/train", "../shared/data/bsds500/test"])
    val: str = "../shared/data/bsds500/val"
    init: str = "weights/ae-factorized-v1.safetensors"
    steps: int = 12000
    gan_start: int = 2500
    batch: int = 8
    crop: int = 128
    lr: float = 2e-4
    lr_final: float = 2e-5
    pretrained_lr_factor: float = 0.5  # the warm-started transforms move more slowly
    prior_lr_factor: float = 10.0
    d_lr: float = 2e-4
    warmup: int = 100
    clip_grad: float = 1.0
    n: int = 96
    m: int = 160
    c: int = 16
    head_blocks: int = 2
    bits: tuple = (2, 3)
    channels: tuple = (2, 4, 8, 16)
    mse_weight: float = 130.0      # ≈ λ·255² with λ = 0.002
    msssim_weight: float = 2.0
    msssim_scales: int = 3         # 3: the 7×7-window proxy (crops ≥ 64); 5: the benchmark's MS-SSIM (crops ≥ 176)
    rate_weight: float = 1.0
    bits_rate_weights: tuple = ()  # a rate weight per ``bits`` setting (empty: ``rate_weight`` for all): a
                                   # setting priced lower learns a finer step, so it spends more bits
    gan_weight: float = 0.08
    d_width: int = 32
    d_scales: int = 3
    conditional: bool = True
    roi_probability: float = 0.25
    bits_weights: tuple = ()       # relative frequencies of the ``bits`` settings in training (empty: equal)
    channel_weights: tuple = ()    # likewise for the channel counts C' (empty: equal)
    seed: int = 1
    threads: int = 2
    device: str = "cpu"         # "cuda" on a lent GPU machine; files decode the same (export runs on the CPU)
    minutes: float = 0.0        # > 0: a time budget; after a short measurement the run fixes ``steps`` so that
                                # its schedule ends within it (a lent machine's command has a hard limit)
    log_every: int = 50
    checkpoint_every: int = 250
    validate_every: int = 1000
    start_from: str = ""        # a finished run's checkpoint.pt (model and, same variant, discriminator) or a
                                # shipped model's .safetensors (model only) to start from
    decoder_only: bool = False  # train only the decoder (expansion + synthesis): codes stay as they are
    context: int = 0            # 1: a context prior (coder 3); a factorized start's densities seed every context

    def model_config(self) -> "ModelConfig":
        from ...autoencoder.model import ModelConfig   # torch: only when a model is built
        return ModelConfig(n=self.n, m=self.m, c=self.c, head_blocks=self.head_blocks, bits=tuple(self.bits),
                           channels=tuple(self.channels), context=self.context)
