"""The autoencoder's decoding network on numpy (no torch): symbols → image.

This is :meth:`gzc.codec.autoencoder.model.AutoencoderModel.synthesise` layer for
layer — the generative head (:attr:`~.model.ModelConfig.c` > 0: a 3×3
expansion C → M and ``head_blocks`` residual blocks), then the
:class:`~.transforms.SynthesisTransform` (residual block, four sub-pixel
upsamplings with inverse simplified GDN, a residual block after the first),
plus 0.5 — reading the same tensors of the same hash-verified weights file
(spec §7 names them). The torch module stays the definition that training
and the encoder's refinement use; tests/test_numpy_decoder.py checks that
both give the same pixels within the spec's ±1.
"""
from __future__ import annotations

from typing import Mapping

import numpy as np

from ..numpy_ops import conv2d, leaky_relu, pixel_shuffle, simplified_gdn
from .config import ModelConfig


class NumpySynthesis:
    """The coding-time decoder of one weights file, as float32 numpy arrays."""

    def __init__(self, config: ModelConfig, tensors: Mapping[str, np.ndarray]):
        """Raises ValueError if the decoder's tensors are missing, extra or of the wrong shape."""
        self.config = config
        expected = self.expected_shapes(config)
        given = {k for k in tensors if k.startswith(("synthesis.", "expand.")) or k == "log_gain"}
        wrong = sorted(k for k in expected if k in given and tuple(tensors[k].shape) != expected[k])
        if given != set(expected) or wrong:
            raise ValueError(f"missing {sorted(set(expected) - given)[:3]}, unexpected {sorted(given - set(expected))[:3]}, "
                             f"wrong shape {wrong[:3]}")
        self.w = {k: np.ascontiguousarray(tensors[k], dtype=np.float32) for k in expected}

    @staticmethod
    def expected_shapes(c: ModelConfig) -> dict[str, tuple[int, ...]]:
        """Every tensor the decoder reads, by its name in the weights file (spec §7), with its shape."""
        n, m = c.n, c.m
        shapes: dict[str, tuple[int, ...]] = {"log_gain": (len(c.bits), c.latent_channels)}

        def conv(name: str, cin: int, cout: int, k: int = 3) -> None:
            shapes[f"{name}.weight"], shapes[f"{name}.bias"] = (cout, cin, k, k), (cout,)
        for name, width in [("synthesis.0", m), ("synthesis.3", n)] + \
                [(f"expand.{i + 1}", m) for i in range(c.head_blocks if c.c else 0)]:
            conv(f"{name}.conv1", width, width)
            conv(f"{name}.conv2", width, width)
        for i, cin, cout in ((1, m, n), (4, n, n), (6, n, n // 2), (8, n // 2, 3)):
            conv(f"synthesis.{i}.conv", cin, 4 * cout)
        for i, width in ((2, n), (5, n), (7, n // 2)):
            shapes[f"synthesis.{i}.beta_sqrt"], shapes[f"synthesis.{i}.gamma_sqrt"] = (width,), (width, width)
        if c.c:
            conv("expand.0", c.c, m)
        return shapes

    def step(self, bits: int) -> np.ndarray:
        """Quantization step per channel, float32 as :meth:`AutoencoderModel.step` computes it."""
        gain = self.w["log_gain"][self.config.bits.index(bits)]
        return np.float32(2.0 ** (6 - bits)) * np.exp(-gain)

    def _conv(self, x: np.ndarray, name: str) -> np.ndarray:
        return conv2d(x, self.w[f"{name}.weight"], self.w[f"{name}.bias"])

    def _residual(self, x: np.ndarray, name: str) -> np.ndarray:
        h = leaky_relu(self._conv(x, f"{name}.conv1"), 0.2)
        return x + self._conv(h, f"{name}.conv2")

    def _up(self, x: np.ndarray, name: str) -> np.ndarray:
        return pixel_shuffle(self._conv(x, f"{name}.conv"), 2)

    def _igdn(self, x: np.ndarray, name: str) -> np.ndarray:
        return simplified_gdn(x, self.w[f"{name}.beta_sqrt"], self.w[f"{name}.gamma_sqrt"], inverse=True)

    def __call__(self, symbols: np.ndarray, bits: int) -> np.ndarray:
        """(C', h, w) integer symbols → (3, 16h, 16w) float32 image, not yet clipped or rounded.
        Fewer channels than the model's (a generative file's C') are the first ones; the rest are zero."""
        step = self.step(bits)
        y = np.zeros((step.size,) + symbols.shape[1:], dtype=np.float32)
        y[:symbols.shape[0]] = symbols.astype(np.float32) * step[:symbols.shape[0], None, None]
        if self.config.c:
            y = self._conv(y, "expand.0")
            for i in range(self.config.head_blocks):
                y = self._residual(y, f"expand.{i + 1}")
        x = self._residual(y, "synthesis.0")
        x = self._igdn(self._up(x, "synthesis.1"), "synthesis.2")
        x = self._residual(x, "synthesis.3")
        x = self._igdn(self._up(x, "synthesis.4"), "synthesis.5")
        x = self._igdn(self._up(x, "synthesis.6"), "synthesis.7")
        x = self._up(x, "synthesis.8")
        x += np.float32(0.5)
        return x
