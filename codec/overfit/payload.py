"""Byte layout of an overfitted file's payload (spec §12.2): the decoder, then the latents.

    header   4 bytes: grids, context-model width, synthesis width, refinement layers
             4 bytes per layer: weight fraction bits, bias shift, weight table k, bias table k
    stream   one range-coded stream (coder 1's words, spec §6.2) holding
             every layer's weights then biases (C order), each value with the
             zero-mean Laplace table of its layer's k; then the latent grids,
             coarsest first, each in two passes (anchors, then the others),
             each pass's elements ordered by (table index, raster position)

Ordering a pass by table lets the decoder decode each table's elements in one
vectorised call (all tables of a pass are known before it starts: they depend
only on the coarser grid, and for the second pass on the anchors), so no
Python loop runs per element.
"""
from __future__ import annotations

from dataclasses import dataclass

import constriction
import numpy as np

from ...formats import CorruptPayloadError
from .architecture import (LATENT_BOUND, MAX_BIAS_SHIFT, MAX_WEIGHT_FRACTION_BITS, SCALE_LEVELS,
                           SYMBOL_BOUND, Architecture, grid_shapes)
from .integer_net import Layer, check_exact, context_predictions, residual_offset, table_index
from .laplace import tables

HEADER_BYTES = 4
LAYER_BYTES = 4


class PayloadError(CorruptPayloadError):
    """The payload is not a valid overfitted decoder + latents for this image."""


_models: dict[int, object] = {}


def _model(t: int):
    """constriction model of table ``t`` (exact: the table reaches it as ``f − 1``, spec §6.2)."""
    if t not in _models:
        _models[t] = constriction.stream.model.Categorical(tables()[t].astype(np.float64) - 1.0, perfect=False)
    return _models[t]


@dataclass
class Decoder:
    """Everything an overfitted file carries: sizes, quantized layers and the integer latent grids."""
    arch: Architecture
    layers: dict[str, Layer]
    grids: list[np.ndarray]      # grid g: (H >> g, W >> g) int64, g = 0 is full resolution


def pass_elements(grid_full: np.ndarray | None, parent: np.ndarray | None, shape: tuple[int, int], anchors: bool
                  ) -> tuple[np.ndarray, np.ndarray]:
    """(positions as a flat index array, context inputs) of one pass of a grid. The second pass
    reads the grid's anchors from ``grid_full`` (its other elements are not looked at).

    Built on the pass's own lattice: row ``i`` of a pass holds columns ``c(i) + 2m``
    (``c(i) = i mod 2`` for the anchors, the other parity for the rest), so every element's
    parent column is ``m`` and its four neighbours are anchors at ``(i ± 1, m)`` and
    ``(i, m)``/``(i, m ∓ 1)``: plain slices, no per-element gather. The rows come out in raster
    order, as the stream wants."""
    h, w = shape
    half = w // 2
    features = np.zeros((h, half, 11), dtype=np.float32)
    if parent is not None:
        padded = np.pad(parent.astype(np.float32), 1)
        ph, pw = parent.shape
        for k, (di, dj) in enumerate((di, dj) for di in (-1, 0, 1) for dj in (-1, 0, 1)):
            features[:, :, k].reshape(ph, 2, pw)[...] = padded[1 + di:1 + di + ph, 1 + dj:1 + dj + pw][:, None, :]
    rows = np.arange(h)
    first_column = (rows + (0 if anchors else 1)) % 2      # c(i), which is also the column parity
    features[:, :, 9] = (rows & 1)[:, None]
    features[:, :, 10] = first_column[:, None]
    flat = (rows[:, None] * w + first_column[:, None] + 2 * np.arange(half)[None, :]).ravel()
    if not anchors:
        a = np.zeros((h + 2, half + 2), dtype=np.float32)      # the anchors on their lattice, zero-padded
        a[1:-1, 1:-1] = np.asarray(grid_full, dtype=np.float32)[np.arange(h)[:, None],
                                                                  (rows % 2)[:, None] + 2 * np.arange(half)[None, :]]
        even = (rows % 2 == 0)[:, None]
        north, south = a[:-2, 1:-1], a[2:, 1:-1]
        west = np.where(even, a[1:-1, 1:-1], a[1:-1, :-2])      # i even: column 2m; i odd: 2m − 1
        east = np.where(even, a[1:-1, 2:], a[1:-1, 1:-1])       # i even: column 2m + 2; i odd: 2m + 1
        features = np.concatenate([np.stack([north, west, east, south], axis=-1), features], axis=2)
    return flat, features.reshape(h * half, -1)


def _pass_tables(layers, inputs: np.ndarray, g: int, anchors: bool) -> tuple[np.ndarray, np.ndarray]:
    mu_q, k = context_predictions(layers, "anchor" if anchors else "other", inputs, g)
    return table_index(mu_q, k), residual_offset(mu_q)


def _coded_passes(arch: Architecture, layers, grids: list[np.ndarray]):
    """The passes in stream order, coarsest grid first and anchors before the others: (g, the
    pass's flat positions, their stream order, their tables in that order, their offsets).
    Encoder and decoder share it; the decoder fills ``grids[g]`` before asking for the next
    pass, whose contexts read it."""
    for g in reversed(range(arch.grids)):
        parent = grids[g + 1] if g + 1 < arch.grids else None
        for anchors in (True, False):
            flat, inputs = pass_elements(grids[g], parent, grids[g].shape, anchors)
            if flat.size:
                table, offset = _pass_tables(layers, inputs, g, anchors)
                order = np.argsort(table, kind="stable")
                yield g, flat, order, table[order], offset


def _table_runs(sorted_table: np.ndarray):
    """(table, start, stop) of each run of equal tables in a pass's stream order."""
    starts = np.flatnonzero(np.diff(sorted_table, prepend=-1))
    for start, stop in zip(starts, list(starts[1:]) + [sorted_table.size]):
        yield int(sorted_table[start]), int(start), int(stop)


def _latent_runs(arch: Architecture, layers, grids: list[np.ndarray]):
    """(table, coded symbols) of each run of the latents' stream, in stream order."""
    for g, flat, order, table, offset in _coded_passes(arch, layers, grids):
        symbols = grids[g].ravel()[flat][order] - offset[order]
        for t, start, stop in _table_runs(table):
            yield t, (symbols[start:stop] + SYMBOL_BOUND).astype(np.int32)


def _ideal_bits(t: int, symbols: np.ndarray) -> float:
    return float(-np.log2(tables()[t][symbols] / float(1 << 24)).sum())


def latent_bits(arch: Architecture, layers, grids: list[np.ndarray]) -> float:
    """The latents' ideal code length in bits under the integer context model (the range coder's
    stream is within a few bytes of it): what the encoder's search compares, without coding."""
    return sum(_ideal_bits(t, symbols) for t, symbols in _latent_runs(arch, layers, grids))


def parameter_bits(layer: Layer) -> float:
    """A layer's parameters' ideal code length in bits, each with its best table."""
    return sum(float(_parameter_costs(v).min()) for v in (layer.weight, layer.bias))


def encode(dec: Decoder, check: bool = True) -> bytes:
    """The payload of a decoder. ``check=False`` writes one that breaks the exactness bound (§12.4):
    only the conformance vectors' deliberately invalid file needs that."""
    arch = dec.arch
    if check:
        check_exact(dec.layers)
    head = bytes([arch.grids, arch.arm_hidden, arch.syn_hidden, arch.syn_refine])
    encoder = constriction.stream.queue.RangeEncoder()
    for name, _, _ in arch.layer_shapes():
        layer = dec.layers[name]
        k_w, k_b = parameter_table(layer.weight), parameter_table(layer.bias)
        head += bytes([layer.weight_bits, layer.bias_shift, k_w, k_b])
        for values, k in ((layer.weight, k_w), (layer.bias, k_b)):
            encoder.encode((values.ravel() + SYMBOL_BOUND).astype(np.int32), _model(k))
    for t, symbols in _latent_runs(arch, dec.layers, dec.grids):
        encoder.encode(symbols, _model(t))
    return head + encoder.get_compressed().astype("<u4").tobytes()


def _parameter_costs(values: np.ndarray) -> np.ndarray:
    """The ideal code length of ``values`` under each zero-mean table k = 0 … SCALE_LEVELS − 1."""
    v = values.ravel().astype(np.int64) + SYMBOL_BOUND
    return -np.log2(tables()[:SCALE_LEVELS, v] / float(1 << 24)).sum(axis=1)


def parameter_table(values: np.ndarray) -> int:
    """The zero-mean table (k) that codes a layer's parameters in the fewest bits."""
    return int(np.argmin(_parameter_costs(values)))


def read_architecture(payload: bytes) -> Architecture:
    if len(payload) < HEADER_BYTES:
        raise PayloadError("overfit payload shorter than its header")
    arch = Architecture(*payload[:HEADER_BYTES])
    try:
        arch.check()
    except ValueError as exc:
        raise PayloadError(str(exc)) from None
    return arch


def decode(payload: bytes, padded_height: int, padded_width: int) -> Decoder:
    """Parse and entropy-decode; every size is checked before it is allocated."""
    arch = read_architecture(payload)
    layout = arch.layer_shapes()
    stream_start = HEADER_BYTES + LAYER_BYTES * len(layout)
    if len(payload) < stream_start:
        raise PayloadError("overfit payload ends inside its layer table")
    if (len(payload) - stream_start) % 4:
        raise PayloadError("overfit payload's range-coded stream is not a whole number of 32-bit words")
    words = np.frombuffer(payload[stream_start:], dtype="<u4").astype(np.uint32)
    decoder = constriction.stream.queue.RangeDecoder(words)
    layers = {}
    try:
        for i, (name, shape, bias_rows) in enumerate(layout):
            wb, bs, k_w, k_b = payload[HEADER_BYTES + LAYER_BYTES * i: HEADER_BYTES + LAYER_BYTES * (i + 1)]
            if wb > MAX_WEIGHT_FRACTION_BITS or bs > MAX_BIAS_SHIFT or k_w >= SCALE_LEVELS or k_b >= SCALE_LEVELS:
                raise PayloadError(f"layer {name}: parameter fields out of range")
            weight = _decode_values(decoder, int(np.prod(shape)), k_w).reshape(shape)
            bias = _decode_values(decoder, bias_rows * shape[0], k_b).reshape(bias_rows, shape[0])
            layers[name] = Layer(weight, bias, wb, bs)
        check_exact(layers)
        grids = [np.zeros(s, dtype=np.int64) for s in grid_shapes(arch, padded_height, padded_width)]
        for g, flat, order, table, offset in _coded_passes(arch, layers, grids):
            symbols = np.empty(flat.size, dtype=np.int64)
            for t, start, stop in _table_runs(table):
                symbols[start:stop] = decoder.decode(_model(t), stop - start)
            values = np.empty(flat.size, dtype=np.int64)
            values[order] = symbols - SYMBOL_BOUND + offset[order]
            if values.size and np.abs(values).max() > LATENT_BOUND:
                raise PayloadError(f"grid {g}: a latent value outside ±{LATENT_BOUND}")
            grids[g].ravel()[flat] = values
    except PayloadError:
        raise
    except ValueError as exc:                 # ExactnessError, shape errors
        raise PayloadError(str(exc)) from None
    except Exception as exc:                  # constriction raises plain exceptions on invalid streams
        raise PayloadError(f"invalid range-coded stream: {exc}") from None
    return Decoder(arch, layers, grids)


def _decode_values(decoder, count: int, k: int) -> np.ndarray:
    if not count:
        return np.zeros(0, dtype=np.int64)
    return decoder.decode(_model(k), count).astype(np.int64) - SYMBOL_BOUND

