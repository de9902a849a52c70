"""The face generator G on numpy (no torch): stem features → 64×64 image.

This is :meth:`gzc.codec.latent_search.networks.Generator.render` layer for layer
(batch norm from stored statistics, ReLU, four times 2× nearest upsampling +
3×3 convolution + batch norm + ReLU, a last 3×3 convolution, sigmoid), reading
the ``generator.*`` tensors of the same hash-verified weights file (spec §8).
The stem (the linear layer z → 4×4 features, or GANZ's seeded projection in its
place) is one matrix product, done by the backend. The torch module stays the
definition that training and the encoder's search use; tests/test_numpy_decoder.py
checks that both give the same pixels within the spec's ±1.
"""
from __future__ import annotations

from typing import Mapping

import numpy as np

from ..numpy_ops import batch_norm, conv2d, sigmoid, upsample_nearest

UP_BLOCKS = (2, 3, 4, 5)    # indices of the upsampling blocks in Generator.body
LAST_CONV = 6


class NumpyGenerator:
    def __init__(self, tensors: Mapping[str, np.ndarray]):
        """``tensors``: the generator's state, names without the ``generator.`` prefix.
        Raises KeyError if one is missing."""
        self.w = {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in tensors.items()
                  if not k.endswith("num_batches_tracked")}
        self.stem_weight, self.stem_bias = self.w["stem.weight"], self.w["stem.bias"]
        for name in ["body.0"] + [f"body.{i}.2" for i in UP_BLOCKS]:
            self._bn_args(name)
        for name in [f"body.{i}.1.weight" for i in UP_BLOCKS] + [f"body.{LAST_CONV}.weight"]:
            self.w[name]

    def _bn_args(self, name: str) -> tuple[np.ndarray, ...]:
        w = self.w
        return w[f"{name}.running_mean"], w[f"{name}.running_var"], w[f"{name}.weight"], w[f"{name}.bias"]

    def render(self, features: np.ndarray) -> np.ndarray:
        """(C, 4, 4) stem features → (3, 64, 64) float32 image in [0, 1]."""
        x = np.maximum(batch_norm(features, *self._bn_args("body.0")), 0)
        for i in UP_BLOCKS:
            x = conv2d(upsample_nearest(x, 2), self.w[f"body.{i}.1.weight"])
            x = np.maximum(batch_norm(x, *self._bn_args(f"body.{i}.2")), 0)
        return sigmoid(conv2d(x, self.w[f"body.{LAST_CONV}.weight"], self.w[f"body.{LAST_CONV}.bias"]))
