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
from .architecture import (ACT_MAX, LATENT_BOUND, MAX_BIAS_SHIFT, MAX_WEIGHT_FRACTION_BITS,
                           SCALE_LEVELS, SYMBOL_BOUND, VERSION, Architecture, grid_shapes)
from .integer_net import (SYNTHESIS_ROWS, Affine, Layer, check_exact, clamped_predictions, context_head,
                          residual_offset, table_index)
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
    if parent is not None:                  # row pairs share their parent row
        features[:, :, :9].reshape(h // 2, 2, half, 9)[...] = parent_features(parent)[:, None]
    flat, first_column = pass_positions(shape, anchors)
    features[:, :, 9] = (np.arange(h) & 1)[:, None]
    features[:, :, 10] = first_column[:, None]
    features = features.reshape(h * half, 11)
    if not anchors:
        features = np.concatenate([pass_neighbours(grid_full, shape), features], axis=1)
    return flat, features


def pass_positions(shape: tuple[int, int], anchors: bool) -> tuple[np.ndarray, np.ndarray]:
    """(flat positions in raster order, c(i) per row) of one pass's lattice (see :func:`pass_elements`)."""
    h, w = shape
    rows = np.arange(h)
    first_column = (rows + (0 if anchors else 1)) % 2      # c(i), which is also the column parity
    return (rows[:, None] * w + first_column[:, None] + 2 * np.arange(w // 2)[None, :]).ravel(), first_column


def parent_features(parent: np.ndarray) -> np.ndarray:
    """(ph, pw, 9): each parent position's 3×3 neighbourhood, raster order, zeros outside."""
    ph, pw = parent.shape
    padded = np.pad(parent.astype(np.float32), 1)
    features = np.empty((ph, pw, 9), dtype=np.float32)
    for k, (di, dj) in enumerate((di, dj) for di in (-1, 0, 1) for dj in (-1, 0, 1)):
        features[:, :, k] = padded[1 + di:1 + di + ph, 1 + dj:1 + dj + pw]
    return features


def parent_terms(layers: list[Layer], names: list[str], parent: np.ndarray) -> list[np.ndarray]:
    """The first context layer's parent part, once per *parent* position, for each given layer:
    (ph, pw, hidden) integer sums Σ W[:, k]·parent(di, dj) over the 3×3 neighbourhood (features
    0…8 of :func:`pass_elements`, zeros outside). A parent's four children share it and both
    passes read it, so it is computed once per parent instead of once per element, for both nets
    in one product; the sums are integers below 2^24, so adding the first layer's parts in
    another order changes nothing."""
    parts = []
    for layer, name in zip(layers, names):
        weight_t = Affine.of(layer, name).weight_t
        first = weight_t.shape[0] - 11                  # the other net's 4 neighbour inputs come first
        parts.append(weight_t[first:first + 9])
    ph, pw = parent.shape
    sums = parent_features(parent).reshape(-1, 9) @ np.concatenate(parts, axis=1)
    bounds = np.cumsum([0] + [p.shape[1] for p in parts])
    return [sums[:, lo:hi].reshape(ph, pw, -1) for lo, hi in zip(bounds[:-1], bounds[1:])]


def pass_neighbours(grid_full: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """The second pass's four anchor neighbours (N, W, E, S) on its lattice: (h·w/2, 4)."""
    h, w = shape
    half = w // 2
    rows = np.arange(h)
    a = np.zeros((h + 2, half + 2), dtype=np.float32)      # the anchors on their lattice, zero-padded
    a[1:-1, 1:-1] = np.asarray(grid_full, dtype=np.float32)[rows[:, None], (rows % 2)[:, None] + 2 * np.arange(half)[None, :]]
    even = (rows % 2 == 0)[:, None]
    north, south = a[:-2, 1:-1], a[2:, 1:-1]
    west = np.where(even, a[1:-1, 1:-1], a[1:-1, :-2])      # i even: column 2m; i odd: 2m − 1
    east = np.where(even, a[1:-1, 2:], a[1:-1, 1:-1])       # i even: column 2m + 2; i odd: 2m + 1
    return np.stack([north, west, east, south], axis=-1).reshape(h * half, 4)


def pass_predictions(layers, grid_full: np.ndarray, parents: np.ndarray | None, shape: tuple[int, int],
                     anchors: bool, g: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(flat positions, mu_q, k) of one pass: :func:`~.integer_net.context_predictions` on the
    features of :func:`pass_elements`, computed without building them. ``parents`` is
    :func:`parent_terms` of this pass's net (None for the coarsest grid); the parity inputs are
    one vector per row parity; the layers run in cache-sized blocks of whole row pairs."""
    net = "anchor" if anchors else "other"
    first, second = (Affine.of(layers[f"arm_{net}_{n}"], f"arm_{net}_{n}") for n in ("1", "2"))
    last = context_head(layers, net)
    h, w = shape
    half = w // 2
    flat = pass_positions(shape, anchors)[0]
    w_t = first.weight_t
    row_parity, column_parity = w_t[-2], w_t[-1]
    # row i: feature 9 = i mod 2, feature 10 = c(i); the bias and rounding offset (add) as well
    by_parity = [first.add[0] + (row_parity if p else 0) + (column_parity if (p + (0 if anchors else 1)) % 2 else 0)
                 for p in (0, 1)]
    neighbours = None if anchors else pass_neighbours(grid_full, shape)
    out = np.empty((h * half, 2), dtype=np.float32)
    block = max(2, (SYNTHESIS_ROWS // max(half, 1)) & ~1)       # whole row pairs: one parent row each
    for top in range(0, h, block):
        bottom = min(h, top + block)
        acc = np.empty((bottom - top, half, w_t.shape[1]), dtype=np.float32)
        if parents is None:
            acc[...] = 0
        else:
            acc[0::2] = parents[top // 2:(bottom + 1) // 2]
            acc[1::2] = parents[top // 2:bottom // 2]
        acc[0::2] += by_parity[top % 2]
        acc[1::2] += by_parity[(top + 1) % 2]
        acc = acc.reshape(-1, w_t.shape[1])
        if neighbours is not None:
            acc += neighbours[top * half:bottom * half] @ w_t[:4]
        acc *= first.scale
        np.floor(acc, out=acc)
        np.clip(acc, 0, ACT_MAX, out=acc)
        out[top * half:bottom * half] = last(second.hidden(acc), g)
    return (flat, *clamped_predictions(out))


def _coded_passes(arch: Architecture, layers, grids: list[np.ndarray]):
    """The passes in stream order, coarsest grid first and anchors before the others: (g, the
    pass's flat positions, their stream order, their tables in that order, their offsets).
    Encoder and decoder share it; the decoder fills ``grids[g]`` before asking for the next
    pass, whose contexts read it."""
    for g in reversed(range(arch.grids)):
        parent = grids[g + 1] if g + 1 < arch.grids else None
        both_parents = None if parent is None else parent_terms(
            [layers["arm_anchor_1"], layers["arm_other_1"]], ["arm_anchor_1", "arm_other_1"], parent)
        for anchors in (True, False):
            if not grids[g].size:
                continue
            parents = None if parent is None else both_parents[0 if anchors else 1]
            flat, mu_q, k = pass_predictions(layers, grids[g], parents, grids[g].shape, anchors, g)
            table, offset = table_index(mu_q, k), residual_offset(mu_q)
            # tables are below 2^16: numpy's stable sort of 16-bit keys is a radix sort (6× faster)
            order = np.argsort(table.astype(np.uint16), kind="stable")
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


def read_architecture(payload: bytes, version: int = VERSION) -> Architecture:
    """The sizes in the payload's header; the version comes from the file's model ID."""
    if len(payload) < HEADER_BYTES:
        raise PayloadError("overfit payload shorter than its header")
    arch = Architecture(*payload[:HEADER_BYTES], version=version)
    try:
        arch.check()
    except ValueError as exc:
        raise PayloadError(str(exc)) from None
    return arch


def decode(payload: bytes, padded_height: int, padded_width: int, version: int = VERSION) -> Decoder:
    """Parse and entropy-decode; every size is checked before it is allocated."""
    arch = read_architecture(payload, version)
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

