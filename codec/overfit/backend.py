"""The overfitted backend's glue to the codec core: settings in, payload out, and back.

Unlike the trained backends, this one writes its own payload (spec §12): the
core hands it the image and gets back the latent shape and the bytes
(:meth:`OverfitBackend.encode_image`), and on decoding hands it the header
(:meth:`OverfitBackend.decode_image`). Decoding imports no torch; encoding
imports :mod:`.encoder` (torch) when it is first asked to encode.

``--bits`` is the quality ladder: setting *b* optimises ``MSE + λ_b · bpp``
with the λ of :data:`LAMBDAS` (each step down the ladder halves λ: more bits,
higher quality). ``--effort`` sets the number of optimisation steps
(:data:`EFFORT_STEPS`).
"""
from __future__ import annotations

import sys
from dataclasses import replace
from typing import Any, Mapping

import numpy as np

from ...formats import CODER_OWN
from ..backend import Backend, CorruptPayloadError, UnsupportedSettingError
from .architecture import DEFAULT_BITS, LAMBDAS, MODEL_IDS, MODEL_NAMES, VERSION, Architecture, padded_size
from . import payload as payload_io
from ..numpy_ops import decoding_threads
from .integer_net import synthesise

BACKEND_OVERFIT = 3                 # container field 6 (spec §2.1)

#: --effort → optimisation steps
EFFORT_STEPS = {0: 200, 1: 500, 2: 1000, 3: 2000, 4: 4000}
DEFAULT_EFFORT = 1
#: decoder sizes by --bits: smaller networks where their own bits would weigh most
ARCHITECTURES = {b: Architecture(grids=7, arm_hidden=16 if b >= 3 else 8, syn_hidden=24 if b >= 4 else 16,
                                 syn_refine=2) for b in LAMBDAS}


def grids_for(height: int, width: int) -> int:
    """Fewer grids for small images: the image is padded to a multiple of 2^grids, and a
    coarsest grid below about 2×2 elements has nothing left to describe."""
    return max(1, min(7, min(height, width).bit_length() - 2))


class OverfitBackend(Backend):
    """One decoder version (:data:`MODEL_IDS`): it writes that version and reads that version."""
    kind = BACKEND_OVERFIT
    owns_payload = True
    supported_bits = tuple(LAMBDAS)
    default_bits = DEFAULT_BITS

    def __init__(self, effort: int = DEFAULT_EFFORT, progress: bool = False, steps: int | None = None,
                 version: int = VERSION):
        self.effort = effort
        self.progress = progress
        self.steps = steps
        self.version = version
        self.name = MODEL_NAMES[version]
        self.model_id = MODEL_IDS[version]

    def configure(self, options: Mapping[str, Any]) -> tuple["OverfitBackend", tuple]:
        options = {k: v for k, v in options.items() if v is not None}
        effort = options.pop("effort", DEFAULT_EFFORT)
        progress = bool(options.pop("progress", sys.stderr.isatty()))   # a bar on a terminal, as cjxl does
        steps = options.pop("steps", None)
        if options:
            raise UnsupportedSettingError(f"model {self.name} has no option {', '.join(sorted(options))}")
        if effort not in EFFORT_STEPS:
            raise UnsupportedSettingError(f"--effort for model {self.name} is 0…{max(EFFORT_STEPS)}, not {effort}")
        if steps is not None and not (isinstance(steps, int) and steps >= 1):
            raise UnsupportedSettingError(f"steps must be a positive integer, not {steps!r}")
        return OverfitBackend(effort, progress, steps, self.version), ()

    # The header's latent shape of an overfitted file: (grids, padded height, padded width).
    def latent_shape(self, width: int, height: int, grids: int = 7) -> tuple[int, ...]:
        ph, pw = padded_size(Architecture(grids=grids), height, width)
        return (grids, ph, pw)

    def analyse(self, rgb: np.ndarray, bits: int) -> np.ndarray:   # pragma: no cover - owns its payload
        raise NotImplementedError("the overfitted backend writes its own payload: use encode_image")

    def synthesise(self, symbols, bits, width, height):             # pragma: no cover - owns its payload
        raise NotImplementedError("the overfitted backend decodes its own payload: use decode_image")

    def encode_image(self, rgb: np.ndarray, bits: int) -> tuple[tuple[int, ...], int, bytes]:
        """(H, W, 3) uint8 → (latent shape, coder, payload)."""
        from .encoder import EncodeSettings, encode   # torch: only to encode
        arch = replace(ARCHITECTURES[bits], grids=grids_for(*rgb.shape[:2]), version=self.version)
        steps = self.steps or EFFORT_STEPS[self.effort]
        settings = EncodeSettings(lam=LAMBDAS[bits], steps=steps, arch=arch, progress=self.progress)
        data = encode(rgb, settings)
        return self.latent_shape(rgb.shape[1], rgb.shape[0], arch.grids), CODER_OWN, data

    def decode_image(self, header) -> np.ndarray:
        """The header (with its payload) → (height, width, 3) uint8."""
        with decoding_threads():     # small products: a threaded BLAS only adds overhead (19× on a busy machine)
            decoder = self._decoder(header)
            return synthesise(decoder.layers, decoder.arch, decoder.grids, header.height, header.width)

    def decode_latent(self, header) -> np.ndarray:
        """The latent grids g = 0 … G−1, each in C order, concatenated (spec §11)."""
        with decoding_threads():
            return np.concatenate([g.ravel() for g in self._decoder(header).grids])

    def _decoder(self, header) -> payload_io.Decoder:
        if header.coder != CODER_OWN:
            raise CorruptPayloadError(f"an overfitted file's coder is {CODER_OWN}, not {header.coder}")
        try:
            arch = payload_io.read_architecture(header.payload, self.version)
            expected = self.latent_shape(header.width, header.height, arch.grids)
            if tuple(header.latent_shape) != expected:
                raise CorruptPayloadError(f"latent shape {tuple(header.latent_shape)} does not match "
                                          f"{header.width}x{header.height} with {arch.grids} grids {expected}")
            return payload_io.decode(header.payload, expected[1], expected[2], self.version)
        except payload_io.PayloadError as exc:
            raise CorruptPayloadError(str(exc)) from None
