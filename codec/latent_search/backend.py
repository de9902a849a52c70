"""The latent-search backend: a frozen face generator, inverted by search at encode time.

File layout (spec/gzc.md §8): the latent is ``d`` quantized values, shape
(d, 1, 1), one range-coder table per dimension (or the Elias-gamma code). In
plain mode d is the generator's z size; in GANZ mode (``--ratio R``) the
first layer is the seeded random projection of :mod:`.projection`, d = d_c,
and a ``GANZ`` chunk records seed and d_c.

The generator makes 64×64 images. Other sizes are **resized**, not tiled:
the encoder resizes the image to 64×64 (Lanczos) before the search and the
decoder resizes G(z) back to the file's size (Lanczos, Pillow's fixed-point
implementation). A face generator has no model of "a 64×64 piece of a
larger picture", so tiles would not resemble their content; the resize keeps
the whole face coherent. Aspect ratio is not preserved inside the code, only
restored at the end, so faces should be roughly square crops.

Decoding is deterministic and needs no torch: batch norm runs from stored
statistics, and the generator runs on numpy (:mod:`.numpy_generator`, as the
autoencoder's synthesis does, docs/decoder.md). The torch networks (the
generator, which the search differentiates, and the encoder's first guess)
are built from the same weights only when the encoder needs them.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np
from PIL import Image
from safetensors.numpy import load as load_safetensors

from ...formats import CHUNK_GANZ, Chunk, GanzParameters
from ..backend import Backend, CorruptPayloadError, EntropyTables, UnsupportedSettingError
from ..entropy.tables import check_table
from ..numpy_ops import decoding_threads, to_uint8
from ..registry import ModelError, ModelInfo, safetensors_metadata
from ..torch_extra import require_torch
from . import projection
from .config import SIZE, GeneratorConfig
from .numpy_generator import NumpyGenerator
from .quantize import QUANTIZERS, dequantize, levels, symbol_bounds
from .plugin import PLUGIN

BITS = (2, 3, 4, 5, 6, 7, 8)
DEFAULT_LOSS = "ssim"
DEFAULT_EFFORT = 2      # the search's default (its levels are in :data:`.search.EFFORTS`)


def table_key(mode: str, bits: int) -> str:
    return f"entropy_table_{mode}_b{bits}"


@dataclass(frozen=True)
class Settings:
    """Encoder-only options (they change which latent is chosen, not how it is decoded)."""
    loss: str = DEFAULT_LOSS
    effort: int = DEFAULT_EFFORT


class LatentSearchBackend(Backend):
    kind = PLUGIN.backend_id
    supported_bits = BITS
    default_bits = 6

    def __init__(self, generator, encoder, tables: dict[str, dict[int, list[np.ndarray]]],
                 quantizer: str, clip: float, name: str, model_id: bytes,
                 ganz: GanzParameters | None = None, settings: Settings = Settings(),
                 table_stats: dict[str, np.ndarray] | None = None, weights: "Weights | None" = None):
        """``generator`` and ``encoder`` are the torch networks (training's export passes them), or
        None when ``weights`` (from :func:`load`) holds them as numpy arrays: then they are built on
        first use, by the encoder only, and decoding never imports torch."""
        self.weights = weights if weights is not None else Weights.of_torch(generator, encoder)
        self._generator, self._encoder = generator, encoder
        self._tables = tables
        self.quantizer, self.clip = quantizer, clip
        self.name, self.model_id = name, model_id
        self.ganz, self.settings = ganz, settings
        self.table_stats = table_stats or {}    # what the tables were computed from (informational)
        self._torch_stem = None

    # ---- configuration -------------------------------------------------------------------
    def _variant(self, ganz: GanzParameters | None, settings: Settings) -> "LatentSearchBackend":
        return LatentSearchBackend(self._generator, self._encoder, self._tables, self.quantizer, self.clip,
                                   self.name, self.model_id, ganz, settings, self.table_stats, self.weights)

    # ---- the torch networks: the encoder side only -----------------------------------------
    @property
    def generator(self):
        """The torch :class:`.networks.Generator` (the search differentiates it), built on first use."""
        if self._generator is None:
            self._generator, self._encoder = self.weights.torch_networks(self.name)
        return self._generator

    @property
    def encoder(self):
        if self._generator is None:
            self.generator
        return self._encoder

    def configure(self, options: Mapping[str, Any]) -> tuple["LatentSearchBackend", tuple[Chunk, ...]]:
        require_torch("encoding with the latent search")
        from ..losses import LOSSES          # encoder side only: a decoder never imports the search
        from .search import EFFORTS
        options = {k: v for k, v in options.items() if v is not None}
        unknown = sorted(set(options) - {"loss", "effort", "ratio", "seed"})
        if unknown:
            raise UnsupportedSettingError(f"model {self.name} has no option {', '.join(unknown)}")
        settings = Settings(loss=options.get("loss", DEFAULT_LOSS), effort=options.get("effort", DEFAULT_EFFORT))
        if settings.loss not in LOSSES:
            raise UnsupportedSettingError(f"unknown loss {settings.loss!r} (choose {', '.join(LOSSES)})")
        if settings.effort not in EFFORTS:
            raise UnsupportedSettingError(f"effort must be one of {', '.join(map(str, sorted(EFFORTS)))}")
        ganz = None
        if "ratio" in options:
            try:
                dims = projection.dims_for_ratio(float(options["ratio"]), SIZE * SIZE)
            except (TypeError, ValueError):
                raise UnsupportedSettingError("--ratio must be a positive number") from None
            if not 1 <= dims <= projection.MAX_DIMS:
                raise UnsupportedSettingError(
                    f"--ratio {options['ratio']} gives a {dims}-value latent; the range is 1..{projection.MAX_DIMS} "
                    f"(ratios {SIZE * SIZE * 3 / projection.MAX_DIMS:g}..{SIZE * SIZE * 3})")
            ganz = GanzParameters(seed=int(options.get("seed", projection.DEFAULT_SEED)), dims=dims)
        elif "seed" in options:
            raise UnsupportedSettingError("a projection seed needs --ratio (GANZ mode)")
        backend = self._variant(ganz, settings)
        return backend, ((ganz.to_chunk(),) if ganz else ())

    def from_chunks(self, chunks: tuple[Chunk, ...]) -> "LatentSearchBackend":
        ganz = None
        for chunk in chunks:
            if chunk.type == CHUNK_GANZ:
                ganz = GanzParameters.from_chunk(chunk)  # its format errors as ROIM's: truncated, malformed
                if ganz.dims > projection.MAX_DIMS:
                    raise CorruptPayloadError(f"GANZ latent size {ganz.dims} exceeds {projection.MAX_DIMS}")
            elif chunk.critical:
                raise CorruptPayloadError(f"chunk {chunk.type.decode()} does not apply to model {self.name}")
        return self._variant(ganz, self.settings) if ganz else self

    # ---- the generator with its stem (trained, or the GANZ projection) ---------------------
    def stem_weight(self) -> np.ndarray:
        """float32 (features, dims): the trained stem's weight, or in GANZ mode the projection."""
        trained = self.weights.generator.stem_weight
        if self.ganz is None:
            return trained
        return projection.projection_weight(self.ganz.seed, self.ganz.dims, self.row_norms())

    @property
    def _stem(self):
        """The stem as a torch layer (for the search), built on first use."""
        if self._torch_stem is None:
            if self.ganz is None:
                self._torch_stem = self.generator.stem
            else:
                torch = require_torch("the latent search")
                trained = self.generator.stem
                stem = torch.nn.Linear(self.ganz.dims, trained.out_features)
                with torch.no_grad():
                    stem.weight.copy_(torch.from_numpy(self.stem_weight()))
                    stem.bias.copy_(trained.bias)
                self._torch_stem = stem.eval().requires_grad_(False)
        return self._torch_stem

    def row_norms(self) -> np.ndarray:
        """Norms of the trained stem's rows, in float32 (as the spec computes them)."""
        w = self.weights.generator.stem_weight.astype(np.float64)
        return np.sqrt((w * w).sum(axis=1)).astype(np.float32)

    @property
    def dims(self) -> int:
        return self.ganz.dims if self.ganz else self.weights.config.z_dim

    def render(self, z):
        """(K, dims) torch latents → (K, 3, 64, 64) images in [0, 1] (torch: the search's renderer)."""
        c = self.generator.stem_channels
        return self.generator.render(self._stem(z).view(-1, c, 4, 4))

    # ---- Backend interface ----------------------------------------------------------------
    def latent_shape(self, width: int, height: int) -> tuple[int, ...]:
        return (self.dims, 1, 1)

    def entropy_tables(self, bits: int) -> EntropyTables:
        self.check_bits(bits)
        if self.ganz is None:
            tables = self._tables["z"][bits]
        else:
            tables = self._tables["ganz"][bits] * self.ganz.dims
        return EntropyTables(tables, symbol_bounds(bits, self.quantizer)[0])

    def guess(self, target):
        """The amortized first guess for the searched latent, (dims,) (torch)."""
        torch = require_torch("the latent search")
        if self.encoder is None:
            return torch.zeros(self.dims)
        with torch.no_grad():
            z = self.encoder(target)[0][0]
            if self.ganz is None:
                return z
            # least-squares latent whose projected features match the trained stem's features for z
            wanted = (self.generator.stem.weight @ z).view(-1, 1)
            return torch.linalg.lstsq(self._stem.weight, wanted).solution.view(-1)

    def analyse(self, rgb: np.ndarray, bits: int) -> np.ndarray:
        torch = require_torch("the latent search")
        from .search import TorchQuantizer, search_latent   # encoder side only
        self.check_bits(bits)
        target = torch.from_numpy(np.array(_resize(rgb, SIZE, SIZE), dtype=np.float32)).permute(2, 0, 1)[None] / 255
        quantizer = TorchQuantizer(levels(bits, self.quantizer, self.clip), symbol_bounds(bits, self.quantizer)[0])
        # oneDNN stays on here: which latent the search picks may vary with the machine,
        # but the file it writes decodes to the same pixels everywhere.
        result = search_latent(self.render, target, self.guess(target), quantizer,
                               self.settings.loss, self.settings.effort)
        return result.symbols.reshape(self.dims, 1, 1)

    def synthesise(self, symbols: np.ndarray, bits: int, width: int, height: int) -> np.ndarray:
        self.check_bits(bits)
        z = dequantize(symbols.reshape(-1), bits, self.quantizer, self.clip)
        generator = self.weights.generator
        features = self.stem_weight() @ z + generator.stem_bias
        with decoding_threads():
            rgb = to_uint8(generator.render(features.reshape(-1, 4, 4)))
        return _resize(rgb, width, height)


class Weights:
    """A model's networks as numpy arrays: the generator that decodes, and every tensor the torch
    networks are rebuilt from when the encoder needs them."""

    def __init__(self, config: GeneratorConfig, tensors: Mapping[str, np.ndarray]):
        self.config, self.tensors = config, tensors
        self.generator = NumpyGenerator({k[len("generator."):]: v for k, v in tensors.items()
                                         if k.startswith("generator.")})

    @classmethod
    def of_torch(cls, generator, encoder) -> "Weights":
        """From torch networks (training's export, benchmarks): their state as numpy arrays."""
        tensors = {f"generator.{k}": v.detach().cpu().numpy() for k, v in generator.state_dict().items()}
        if encoder is not None:
            tensors.update({f"encoder.{k}": v.detach().cpu().numpy() for k, v in encoder.state_dict().items()})
        return cls(generator.config, tensors)

    def torch_networks(self, name: str):
        """(generator, encoder) as torch modules, frozen (needs torch: the encoder side)."""
        torch = require_torch("the latent search")
        from .networks import Encoder, Generator
        generator, encoder = Generator(self.config), Encoder(self.config)
        for module, prefix in ((generator, "generator."), (encoder, "encoder.")):
            state = {k[len(prefix):]: torch.from_numpy(np.array(v)) for k, v in self.tensors.items()
                     if k.startswith(prefix)}
            missing, unexpected = module.load_state_dict(state, strict=False)
            if missing or unexpected:
                raise ModelError(f"model {name}: weights do not fit the architecture "
                                 f"(missing {missing[:3]}, unexpected {unexpected[:3]})")
        return (generator.eval().requires_grad_(False).to(memory_format=torch.contiguous_format),
                encoder.eval().requires_grad_(False))


def _resize(rgb: np.ndarray, width: int, height: int) -> np.ndarray:
    if rgb.shape[1] == width and rgb.shape[0] == height:
        return np.ascontiguousarray(rgb)
    return np.array(Image.fromarray(np.ascontiguousarray(rgb)).resize((width, height), Image.LANCZOS))


def load(info: ModelInfo, data: bytes) -> LatentSearchBackend:
    """Build the backend from verified weights bytes (safetensors only: no pickle)."""
    tensors = load_safetensors(data)
    try:
        meta = safetensors_metadata(data)
        config = GeneratorConfig(**json.loads(meta["generator_config"]))
        quantizer, clip = meta["quantizer"], float(meta["clip"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelError(f"model {info.name}: bad metadata in weights ({exc})") from None
    if quantizer not in QUANTIZERS:
        raise ModelError(f"model {info.name}: unknown quantizer {quantizer!r}")
    try:
        weights = Weights(config, tensors)
    except KeyError as exc:
        raise ModelError(f"model {info.name}: weights do not fit the architecture (missing {exc})") from None
    tables: dict[str, dict[int, list[np.ndarray]]] = {"z": {}, "ganz": {}}
    try:
        for b in BITS:
            tables["z"][b] = [check_table(row) for row in tensors[table_key("z", b)]]
            tables["ganz"][b] = [check_table(tensors[table_key("ganz", b)])]
    except (KeyError, ValueError) as exc:
        raise ModelError(f"model {info.name}: bad or missing entropy table ({exc})") from None
    if len(tables["z"][BITS[0]]) != config.z_dim:
        raise ModelError(f"model {info.name}: {len(tables['z'][BITS[0]])} tables for a {config.z_dim}-value latent")
    stats = {k[len("stats."):]: v for k, v in tensors.items() if k.startswith("stats.")}
    return LatentSearchBackend(None, None, tables, quantizer, clip, info.name, info.model_id,
                               table_stats=stats, weights=weights)
