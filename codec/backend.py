"""The interface every generator backend implements, and nothing more.

The codec core (``codec/codec.py``) owns the container and entropy coding; a
backend only turns pixels into an integer latent and back:

    analyse(rgb, bits)  -> symbols          (encoder side)
    synthesise(symbols, bits, w, h) -> rgb  (decoder side)

plus the integer frequency tables its range coder uses, if it has a learned
prior. A backend with coding options of its own (the latent search's loss,
effort and GANZ ratio) applies them in :meth:`Backend.configure`, which also
returns the chunks a decoder needs; :meth:`Backend.from_chunks` is the
decoder's side of the same. A new backend plugs in by subclassing :class:`Backend`
and offering its models through a plugin in the ``gzc.backends`` entry-point group
(:mod:`gzc.codec.plugins`, docs/backends.md); neither the container, the core nor
the CLI changes.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

from ..formats import Chunk, CorruptPayloadError, GzcFile, UnsupportedSettingError  # noqa: F401 (re-exported)


@dataclass(frozen=True)
class EntropyTables:
    """Per-channel integer frequency tables over the alphabet ``offset … offset+len-1``."""
    tables: list[np.ndarray]
    offset: int


@dataclass(frozen=True)
class ContextTables:
    """Coder 3's tables: (C, CONTEXTS, n) integers, over the alphabet ``offset … offset+n-1``."""
    tables: np.ndarray
    offset: int


class Backend(ABC):
    #: container backend field: the plugin's backend ID (spec §2.1)
    kind: int
    #: True for a backend that writes its own payload (the overfitted backend, whose files
    #: carry their decoder): the core then calls :meth:`encode_image` / :meth:`decode_image`
    #: instead of analysing, entropy-coding and synthesising a latent itself
    owns_payload: bool = False
    #: human-readable model name from the manifest
    name: str
    #: the model ID files name (for weights-file models, the first 8 bytes of the file's SHA-256)
    model_id: bytes
    #: the --bits values this model supports, and the one used by default
    supported_bits: tuple[int, ...]
    default_bits: int
    #: the rate points a model offers through its ``channels`` option (a generative
    #: autoencoder's nested bottleneck channels, spec §7.1); empty: no such option
    channel_counts: tuple[int, ...] = ()

    @property
    def cheap_rate_control(self) -> bool:
        """Whether rate control (``--target-size``) may encode once per setting. Not for a
        backend that owns its payload: the overfitted one fits a decoder per encode (minutes)."""
        return not self.owns_payload

    @abstractmethod
    def latent_shape(self, width: int, height: int) -> tuple[int, ...]:
        """Shape of the integer latent for an image of this size."""

    @abstractmethod
    def analyse(self, rgb: np.ndarray, bits: int) -> np.ndarray:
        """(H, W, 3) uint8 image → integer symbols of :meth:`latent_shape`."""

    @abstractmethod
    def synthesise(self, symbols: np.ndarray, bits: int, width: int, height: int) -> np.ndarray:
        """Integer symbols → (height, width, 3) uint8 image."""

    def entropy_tables(self, bits: int) -> EntropyTables | None:
        """Tables for the range coder, or None if the backend has no learned prior."""
        return None

    def context_tables(self, bits: int) -> ContextTables | None:
        """Tables for coder 3 (context-selected), or None if the model has no context prior."""
        return None

    def configure(self, options: Mapping[str, Any]) -> tuple["Backend", tuple[Chunk, ...]]:
        """Encoder side: apply backend-specific options (None values mean "default").

        Returns the backend to encode with and the chunks that let a decoder
        rebuild it. The base class has no options."""
        given = sorted(k for k, v in options.items() if v is not None)
        if given:
            raise UnsupportedSettingError(f"model {self.name} has no option {', '.join(given)}")
        return self, ()

    def for_file(self, header: "GzcFile") -> "Backend":
        """Decoder side: the backend as this file configures it (by default, by its chunks;
        the generative autoencoder also takes its channel count from the latent shape)."""
        return self.from_chunks(header.chunks)

    def coded_elements(self, shape: tuple[int, ...]) -> np.ndarray | None:
        """Boolean mask of the latent elements the payload holds, or None for all of them.
        Elements outside it are zero (a region-of-interest file's coarse background)."""
        return None

    def from_chunks(self, chunks: tuple[Chunk, ...]) -> "Backend":
        """Decoder side: the backend as the file's chunks configure it. A critical chunk
        that this backend does not use makes the file inconsistent."""
        for chunk in chunks:
            if chunk.critical:
                raise CorruptPayloadError(f"chunk {chunk.type.decode()} does not apply to model {self.name}")
        return self

    def encode_image(self, rgb: np.ndarray, bits: int) -> tuple[tuple[int, ...], int, bytes]:
        """A backend that :attr:`owns_payload`: (H, W, 3) uint8 → (latent shape, coder, payload)."""
        raise NotImplementedError(f"backend {self.name} does not write its own payload")

    def decode_image(self, header: "GzcFile") -> np.ndarray:
        """A backend that :attr:`owns_payload`: the checked header → (height, width, 3) uint8."""
        raise NotImplementedError(f"backend {self.name} does not decode its own payload")

    def decode_latent(self, header: "GzcFile") -> np.ndarray:
        """A backend that :attr:`owns_payload`: its exactly decoded integers, as one array (what the
        conformance vectors hash)."""
        raise NotImplementedError(f"backend {self.name} does not decode its own payload")

    def check_bits(self, bits: int) -> None:
        if bits not in self.supported_bits:
            raise UnsupportedSettingError(
                f"model {self.name} supports --bits {', '.join(map(str, self.supported_bits))}, not {bits}")


