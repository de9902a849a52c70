"""The learned-autoencoder backend: loads shipped weights and runs the transforms.

A *generative* model (a narrow, nested bottleneck: see :mod:`.model`) has
two more settings: ``channels`` (the rate point C': how many bottleneck
channels the file codes; the header's latent shape carries it) and ``roi``
(a region-of-interest mask: cells outside it are coded with fewer channels,
``roi_background``, and the generator fills them in; the map travels in a
``ROIM`` chunk).

Every autoencoder model also takes ``effort`` (0–4): encoder-side refinement of
the latent against the frozen decoder (:mod:`.refine`), a smaller and better
file for more encoding time; decoding is unchanged.

Images of any size are padded by edge replication to multiples of 16 before
analysis and cropped after synthesis.

Decoding needs no torch (issue 18): the synthesis runs in float32 on numpy's
BLAS (:mod:`.numpy_synthesis`, docs/decoder.md), from the same hash-verified
weights. The torch network (:mod:`.model`) is built from those weights only
when something needs it: the encoder's analysis and refinement, or a caller
that asks for the torch decoder (``engine="torch"``, for comparison). The
integer symbols and the frequency tables are what guarantee the entropy
decoding is exact; the two synthesis engines agree within the spec's ±1.

Both transforms run on fixed, latent-aligned tiles of ``TILE`` latent pixels
(768 image pixels) with a margin that covers the network's receptive field
(analysis ≈ 4 latent pixels, synthesis ≈ 5), so tiles join without seams and
memory stays bounded by the tile, not the image (a 6000×4000 photo codes in
well under 2 GB). The tiling is a fixed function of the image size, so a file
always decodes to the same pixels; images up to 768×768 are a single tile.
"""
from __future__ import annotations

import copy
import json
from typing import Any, Mapping

import numpy as np
from safetensors.numpy import load as load_safetensors

from ...formats import CHUNK_ROIM, Chunk, GzcFile, RoiMap
from ..backend import Backend, ContextTables, CorruptPayloadError, EntropyTables, UnsupportedSettingError
from ..entropy.context_coder import check_context_tables
from ..entropy.tables import check_table
from ..numpy_ops import decoding_threads, to_uint8
from ..registry import ModelError, ModelInfo, safetensors_metadata
from ..torch_extra import require_torch
from .config import STRIDE, ModelConfig, symbol_range
from .numpy_synthesis import NumpySynthesis
from .plugin import PLUGIN

#: gradient steps of latent refinement per --effort level (0 = the analysis transform's guess
#: alone); stated here, not in :mod:`.refine`, which only the encoder imports, and only for effort ≥ 1
EFFORT_STEPS = {0: 0, 1: 30, 2: 60, 3: 120, 4: 250}


TILE = 48              # latent pixels per tile side
ANALYSIS_MARGIN = 8    # latent pixels of context around a tile (receptive field ≈ 4)
SYNTHESIS_MARGIN = 6   # (receptive field ≈ 5)


def tiles(length: int, margin: int):
    """(start, stop, context_start, context_stop) along one latent axis."""
    for start in range(0, length, TILE):
        stop = min(length, start + TILE)
        yield start, stop, max(0, start - margin), min(length, stop + margin)


def table_key(bits: int) -> str:
    return f"entropy_table_b{bits}"


def context_table_key(bits: int) -> str:
    return f"entropy_context_table_b{bits}"


class AutoencoderBackend(Backend):
    kind = PLUGIN.backend_id

    #: which implementation runs the synthesis: "numpy" (the decoder's, no torch) or "torch"
    engine = "numpy"

    def __init__(self, tensors: Mapping[str, np.ndarray], config: ModelConfig, tables: dict[int, list[np.ndarray]],
                 name: str, model_id: bytes, context_tables: dict[int, np.ndarray] | None = None,
                 manifest: Mapping[str, Any] | None = None):
        self.config = config
        self._tensors = tensors
        self._torch_model = None        # built on first use (:attr:`model`): the encoder side
        self.decoder = NumpySynthesis(config, tensors)   # checked by :func:`load`
        self._tables = tables
        self._context_tables = context_tables or {}
        self.name = name
        self.model_id = model_id
        self.supported_bits = tuple(sorted(set(tables) | set(self._context_tables)))
        self.default_bits = 6 if 6 in tables else self.supported_bits[len(self.supported_bits) // 2]
        self.channel_counts = config.channels                 # () unless generative
        self.channels = config.channels[len(config.channels) // 2] if config.c else config.m
        self.roi: RoiMap | None = None
        self.effort = 0                                        # encoder-side refinement level (EFFORT_STEPS)
        self.manifest = dict(manifest or {})                   # its loss weights are refinement's objective
        self._roi_size: tuple[int, int] | None = None         # (height, width) of the mask in pixels
        # the generative head (3×3 expansion + residual blocks) widens the synthesis' receptive field
        self.synthesis_margin = SYNTHESIS_MARGIN + (1 + 2 * config.head_blocks if config.c else 0)

    @property
    def model(self):
        """The torch network (:class:`.model.AutoencoderModel`) of these weights, built on first use
        and shared by every variant of this backend: the encoder needs it, a decoder never does."""
        if self._torch_model is None:
            self._torch_model = build_torch_model(self.config, self._tensors, self.name)
        return self._torch_model

    def with_engine(self, engine: str) -> "AutoencoderBackend":
        """This backend with its synthesis on ``engine`` ("numpy" or "torch"); for tests and benchmarks."""
        if engine not in ("numpy", "torch"):
            raise ValueError(f"unknown engine {engine!r}")
        variant = copy.copy(self)
        variant.engine = engine
        return variant

    @property
    def generative(self) -> bool:
        return bool(self.config.c)

    def latent_shape(self, width: int, height: int) -> tuple[int, ...]:
        return (self.channels, -(-height // STRIDE), -(-width // STRIDE))

    # -- generative settings: rate point and region of interest -----------------------
    def configure(self, options: Mapping[str, Any]) -> tuple["AutoencoderBackend", tuple[Chunk, ...]]:
        options = {k: v for k, v in options.items() if v is not None}
        variant = copy.copy(self)
        if "effort" in options:
            effort = options.pop("effort")
            if isinstance(effort, bool) or effort not in EFFORT_STEPS:
                raise UnsupportedSettingError(f"effort must be one of {', '.join(map(str, EFFORT_STEPS))}, "
                                              f"not {effort}")
            variant.effort = int(effort)
        if not self.generative:
            return super(AutoencoderBackend, variant).configure(options)
        unknown = sorted(set(options) - {"channels", "roi", "roi_background"})
        if unknown:
            raise UnsupportedSettingError(f"model {self.name} has no option {', '.join(unknown)}")
        if "channels" in options:
            variant.channels = self._check_channels(options["channels"])
        if "roi" not in options:
            if "roi_background" in options:
                raise UnsupportedSettingError("a background channel count needs a region-of-interest mask (--roi)")
            return variant, ()
        mask = np.asarray(options["roi"], dtype=bool)
        if mask.ndim != 2 or 0 in mask.shape:
            raise UnsupportedSettingError(f"the region-of-interest mask must be a 2-D array, not {mask.shape}")
        background = options.get("roi_background", self.channel_counts[0])
        if not isinstance(background, (int, np.integer)) or not 0 <= background < variant.channels:
            raise UnsupportedSettingError(f"the ROI background channel count must be 0..{variant.channels - 1} "
                                          f"(below --channels {variant.channels}), not {background}")
        grid = roi_grid(mask)
        variant.roi = RoiMap(int(background), grid.shape[0], grid.shape[1], grid.astype(np.uint8).tobytes())
        variant._roi_size = mask.shape
        return variant, (variant.roi.to_chunk(),)

    def _check_channels(self, channels: Any) -> int:
        if channels not in self.channel_counts:
            raise UnsupportedSettingError(f"model {self.name} codes {', '.join(map(str, self.channel_counts))} "
                                          f"channels, not {channels}")
        return int(channels)

    def for_file(self, header: GzcFile) -> "AutoencoderBackend":
        if not self.generative:
            return super().for_file(header)
        if len(header.latent_shape) != 3 or header.latent_shape[0] not in self.channel_counts:
            raise CorruptPayloadError(f"latent shape {header.latent_shape} does not fit model {self.name} "
                                      f"(channel counts {', '.join(map(str, self.channel_counts))})")
        variant = copy.copy(self)
        variant.channels = int(header.latent_shape[0])
        roi = header.chunk(CHUNK_ROIM)
        if roi is not None:
            variant.roi = RoiMap.from_chunk(roi, header.latent_shape[1], header.latent_shape[2])
            if variant.roi.background_channels >= variant.channels:
                raise CorruptPayloadError(f"ROIM background of {variant.roi.background_channels} channels is not "
                                          f"below the file's {variant.channels}")
        # any other critical chunk is refused as for every backend
        return variant.from_chunks(tuple(c for c in header.chunks if c.type != CHUNK_ROIM))

    def coded_elements(self, shape: tuple[int, ...]) -> np.ndarray | None:
        if self.roi is None:
            return None
        if tuple(shape) != (self.channels, self.roi.height, self.roi.width):
            raise UnsupportedSettingError(f"the region-of-interest map covers {self.roi.width}x{self.roi.height} "
                                          f"latent cells, the latent is {shape}")
        inside = np.frombuffer(self.roi.cells, dtype=np.uint8).reshape(self.roi.height, self.roi.width).astype(bool)
        counts = np.where(inside, self.channels, self.roi.background_channels)
        return np.arange(self.channels)[:, None, None] < counts[None]

    def entropy_tables(self, bits: int) -> EntropyTables:
        self.check_bits(bits)
        return EntropyTables(self._tables[bits], symbol_range(bits)[0]) if bits in self._tables else None

    def context_tables(self, bits: int) -> ContextTables | None:
        self.check_bits(bits)
        if bits not in self._context_tables:
            return None
        return ContextTables(self._context_tables[bits], symbol_range(bits)[0])

    def analyse(self, rgb: np.ndarray, bits: int) -> np.ndarray:
        self.check_bits(bits)
        h, w = rgb.shape[:2]
        if self._roi_size is not None and self._roi_size != (h, w):
            raise UnsupportedSettingError(f"the region-of-interest mask is {self._roi_size[1]}x{self._roi_size[0]}, "
                                          f"the image {w}x{h}: they must be the same size")
        m, lh, lw = self.latent_shape(w, h)
        padded = np.pad(np.asarray(rgb, dtype=np.uint8), ((0, lh * STRIDE - h), (0, lw * STRIDE - w), (0, 0)),
                        mode="edge")
        scaled = self._scaled_latent(padded, bits, m)
        coded = self.coded_elements(scaled.shape)
        if self.effort:
            return self._refined(padded, scaled, coded, bits, w, h)
        lo, hi = symbol_range(bits)
        out = np.clip(np.round(scaled), lo, hi).astype(np.int32)
        if coded is not None:
            out[~coded] = 0
        return out

    def _scaled_latent(self, padded: np.ndarray, bits: int, channels: int) -> np.ndarray:
        """The analysis output in quantization steps (C', H/16, W/16), not yet rounded, tile by tile."""
        torch = require_torch("encoding")   # the encoder needs torch; decoding does not
        model = self.model
        with torch.inference_mode():
            return self._analysis_tiles(torch, model, padded, bits, channels)

    @staticmethod
    def _analysis_tiles(torch, model, padded: np.ndarray, bits: int, channels: int) -> np.ndarray:
        lh, lw = padded.shape[0] // STRIDE, padded.shape[1] // STRIDE
        out = np.empty((channels, lh, lw), dtype=np.float32)
        for y0, y1, cy0, cy1 in tiles(lh, ANALYSIS_MARGIN):
            for x0, x1, cx0, cx1 in tiles(lw, ANALYSIS_MARGIN):
                region = padded[cy0 * STRIDE:cy1 * STRIDE, cx0 * STRIDE:cx1 * STRIDE]
                x = torch.from_numpy(np.ascontiguousarray(region)).permute(2, 0, 1)[None].float() / 255.0
                scaled = model.scaled_latent(x, bits)[0, :channels].numpy()
                out[:, y0:y1, x0:x1] = scaled[:, y0 - cy0:y1 - cy0, x0 - cx0:x1 - cx0]
        return out

    def _refined(self, padded: np.ndarray, scaled: np.ndarray, coded: np.ndarray | None, bits: int,
                 width: int, height: int) -> np.ndarray:
        """``--effort`` ≥ 1: the latent refined against the decoder and the tables the file will use."""
        from .refine import RefineWeights, cost_tables, refine_latent   # encoder side only
        context = self.context_tables(bits)
        costs = cost_tables(context.tables if context is not None else np.stack(self._tables[bits]))
        return refine_latent(self.model, padded, scaled, coded, costs, bits,
                             RefineWeights.for_model(self.manifest, bits), EFFORT_STEPS[self.effort],
                             height, width, tiles, self.synthesis_margin)

    def synthesise(self, symbols: np.ndarray, bits: int, width: int, height: int) -> np.ndarray:
        """Tile by tile on the chosen :attr:`engine`. Pixels do not depend on the thread count on
        either (numpy: :mod:`..numpy_ops`; torch: one fixed compute path, :mod:`..fixed_path`)."""
        self.check_bits(bits)
        out = np.empty((height, width, 3), dtype=np.uint8)
        if self.engine == "torch":
            self._synthesise_tiles(self._torch_tile(), symbols, bits, out)
        else:
            with decoding_threads():
                self._synthesise_tiles(self._numpy_tile, symbols, bits, out)
        return out

    def _synthesise_tiles(self, run, symbols: np.ndarray, bits: int, out: np.ndarray) -> None:
        _, lh, lw = symbols.shape
        height, width = out.shape[:2]
        for y0, y1, cy0, cy1 in tiles(lh, self.synthesis_margin):
            for x0, x1, cx0, cx1 in tiles(lw, self.synthesis_margin):
                py0, py1 = y0 * STRIDE, min(height, y1 * STRIDE)
                px0, px1 = x0 * STRIDE, min(width, x1 * STRIDE)
                if py0 >= py1 or px0 >= px1:
                    continue
                rgb = run(np.ascontiguousarray(symbols[:, cy0:cy1, cx0:cx1], dtype=np.int32), bits)
                oy, ox = (y0 - cy0) * STRIDE, (x0 - cx0) * STRIDE
                out[py0:py1, px0:px1] = rgb[oy:oy + py1 - py0, ox:ox + px1 - px0]

    def _numpy_tile(self, symbols: np.ndarray, bits: int) -> np.ndarray:
        """The numpy synthesis of one tile, (C', h, w) int32 → (16h, 16w, 3) uint8."""
        return to_uint8(self.decoder(symbols, bits))

    def _torch_tile(self):
        """The torch synthesis of one tile, (C', h, w) int32 → (16h, 16w, 3) uint8."""
        torch = require_torch("the torch decoder")
        from ..fixed_path import fixed_compute_path
        model = self.model

        def run(symbols: np.ndarray, bits: int) -> np.ndarray:
            with torch.inference_mode(), fixed_compute_path(model):
                x = model.synthesise(torch.from_numpy(symbols)[None], bits)[0]
            return torch.round(x.clamp(0, 1) * 255).to(torch.uint8).permute(1, 2, 0).numpy()
        return run


def roi_grid(mask: np.ndarray) -> np.ndarray:
    """Pixel mask (H, W) → latent-cell mask (⌈H/16⌉, ⌈W/16⌉): a cell is in the region of
    interest if any of its 16×16 pixels is (detail is never dropped where it was asked for)."""
    h, w = mask.shape
    lh, lw = -(-h // STRIDE), -(-w // STRIDE)
    padded = np.zeros((lh * STRIDE, lw * STRIDE), dtype=bool)
    padded[:h, :w] = mask
    return padded.reshape(lh, STRIDE, lw, STRIDE).any(axis=(1, 3))


def build_torch_model(config: ModelConfig, tensors: Mapping[str, np.ndarray], name: str):
    """The torch :class:`.model.AutoencoderModel` of verified weights (the encoder side; needs torch)."""
    torch = require_torch(f"the torch network of model {name}")
    from .model import AutoencoderModel
    model = AutoencoderModel(config)
    state = {k: torch.from_numpy(np.array(v)) for k, v in tensors.items() if not k.startswith("entropy_")}
    missing, unexpected = model.load_state_dict(state, strict=False)
    # the float prior (training's, shipped so that training can warm-start from the file) is not
    # part of the coding network: the integer tables replace it
    unexpected = [k for k in unexpected if not k.startswith("prior.")]
    if missing or unexpected:
        raise ModelError(f"model {name}: weights do not fit the architecture "
                         f"(missing {missing[:3]}, unexpected {unexpected[:3]})")
    return model.eval().to(memory_format=torch.contiguous_format)


def load(info: ModelInfo, data: bytes) -> AutoencoderBackend:
    """Build the backend from verified weights bytes (safetensors only: no pickle; no torch)."""
    tensors = load_safetensors(data)
    try:
        config = ModelConfig(**json.loads(safetensors_metadata(data)["config"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelError(f"model {info.name}: bad config in weights metadata ({exc})") from None
    try:
        NumpySynthesis(config, tensors)
    except ValueError as exc:
        raise ModelError(f"model {info.name}: weights do not fit the architecture ({exc})") from None
    tables, context_tables = {}, {}
    try:
        for b in config.bits:
            if table_key(b) in tensors:
                tables[b] = [check_table(row) for row in tensors[table_key(b)]]
            if context_table_key(b) in tensors:
                context_tables[b] = check_context_tables(tensors[context_table_key(b)], config.latent_channels)
    except ValueError as exc:
        raise ModelError(f"model {info.name}: bad entropy table in the weights file ({exc})") from None
    if not tables and not context_tables:
        raise ModelError(f"model {info.name}: no entropy tables in the weights file")
    return AutoencoderBackend(tensors, config, tables, info.name, info.model_id, context_tables, info.manifest)
