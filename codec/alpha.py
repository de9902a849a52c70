"""The alpha plane, coded losslessly in the ancillary ``aLPH`` chunk (spec/gzc.md §5.3).

The chunk is one method byte (0) and a zlib stream of the plane's rows, each
row a PNG filter-type byte (0 None, 1 Sub, 2 Up, 3 Average, 4 Paeth, with one
byte per pixel) and the filtered row: exactly the IDAT stream of an 8-bit
grayscale PNG. So a reader needs only zlib and PNG's five filters, and ours
lets Pillow's PNG row decoder (C) undo them.

Why deflate with PNG filters, not our own coder or WebP's lossless coder:
measured in ``bench/alpha_overhead.py`` (results in ``bench/results/alpha/``).
No single filter wins: hard-edged logos are smallest unfiltered, soft edges and
gradients with Sub/Up/Paeth, so the encoder tries the five filters on every
row, and the libpng rule (per row, the filter with the least sum of
absolute values), and keeps the smallest stream; the decoder does not care
which it was. An all-opaque plane is not coded at all.

The colour under fully transparent pixels is invisible, so by default the
encoder replaces it (:func:`fill_transparent`) with a smooth continuation of
the visible colours, as libwebp does unless ``-exact``: the networks then
spend no bits on edges nobody sees, and visible pixels at the edge are not
pulled towards an invisible black (measured in bench/results/alpha/).
"""
from __future__ import annotations

import zlib

import numpy as np

from ..formats import CHUNK_ALPH, Chunk, MalformedFieldError, TruncatedError
from ..formats.metadata import inflate

METHOD_PNG_ROWS = 0
FILTERS = 5


def encode_alpha(alpha: np.ndarray | None) -> Chunk | None:
    """(H, W) uint8 alpha → the ``aLPH`` chunk, or None when there is nothing to code (all 255)."""
    if alpha is None:
        return None
    alpha = np.asarray(alpha)
    if alpha.ndim != 2 or alpha.dtype != np.uint8:
        raise ValueError(f"expected an (H, W) uint8 alpha plane, got {alpha.shape} {alpha.dtype}")
    if alpha.size == 0 or alpha.min() == 255:
        return None
    return Chunk(CHUNK_ALPH, bytes([METHOD_PNG_ROWS]) + min(_candidates(alpha), key=len))


def decode_alpha(chunk: Chunk, width: int, height: int) -> np.ndarray:
    """The ``aLPH`` chunk of a width × height file → (H, W) uint8. Nothing larger than the
    plane is ever allocated: the stream is inflated at most one byte past H·(W+1)."""
    from PIL import Image
    if not chunk.data:
        raise TruncatedError("aLPH chunk has no method byte")
    if chunk.data[0] != METHOD_PNG_ROWS:
        raise MalformedFieldError(f"aLPH chunk: unknown method {chunk.data[0]}")
    stream = chunk.data[1:]
    expected = height * (width + 1)
    rows = inflate(stream, expected, "aLPH chunk")
    if len(rows) < expected:
        raise TruncatedError(f"aLPH chunk holds {len(rows)} bytes of rows, {expected} needed for {width}x{height}")
    if max(rows[::width + 1]) >= FILTERS:
        raise MalformedFieldError("aLPH chunk: a row has a filter type above 4")
    return np.asarray(Image.frombytes("L", (width, height), stream, "zip", "L"))


def fill_transparent(rgb: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 with every fully transparent pixel's colour replaced by a smooth fill
    from the visible ones ("push-pull": alpha-weighted means on a pyramid of 2×2 halvings,
    then, from the coarsest level down, the holes of each level take the bilinearly
    enlarged level above). Pixels with alpha > 0 keep their colour exactly."""
    hole = np.asarray(alpha) == 0
    if not hole.any():
        return rgb
    if hole.all():
        return np.zeros_like(rgb)
    weight = (~hole).astype(np.float32)
    pyramid = [(rgb.astype(np.float32) * weight[..., None], weight)]
    while max(pyramid[-1][1].shape) > 1:
        pyramid.append(_halve(*pyramid[-1]))
    sums, weights = pyramid[-1]
    colour = sums / np.maximum(weights, 1e-6)[..., None]
    for sums, weights in reversed(pyramid[:-1]):
        known = np.minimum(weights, 1)[..., None]
        colour = known * sums / np.maximum(weights, 1e-6)[..., None] + (1 - known) * _enlarge(colour, weights.shape)
    out = rgb.copy()
    out[hole] = np.clip(np.round(colour[hole]), 0, 255).astype(np.uint8)
    return out


def _halve(sums: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """2×2 block sums (odd sides padded with empty pixels)."""
    pad = ((0, weights.shape[0] % 2), (0, weights.shape[1] % 2))
    sums, weights = np.pad(sums, pad + ((0, 0),)), np.pad(weights, pad)
    h, w = weights.shape[0] // 2, weights.shape[1] // 2
    return sums.reshape(h, 2, w, 2, 3).sum((1, 3)), weights.reshape(h, 2, w, 2).sum((1, 3))


def _enlarge(colour: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Bilinear resize of a float (h, w, 3) array to ``shape``, channel by channel (Pillow)."""
    from PIL import Image
    return np.stack([np.asarray(Image.fromarray(np.ascontiguousarray(colour[..., c]), "F")
                                .resize(shape[::-1], Image.Resampling.BILINEAR)) for c in range(3)], axis=2)


def _candidates(alpha: np.ndarray) -> list[bytes]:
    """zlib streams of the plane under each uniform filter and under libpng's per-row choice."""
    filtered = _filter_all(alpha)                                   # (5, H, W) uint8
    height = alpha.shape[0]
    streams = [_rows(filtered[t], np.full(height, t)) for t in range(FILTERS)]
    signed = filtered.view(np.int8).astype(np.int64)
    cost = np.abs(signed).sum(axis=2)                               # (5, H): libpng's heuristic
    cost[0] = filtered[0].astype(np.int64).sum(axis=1)              # None counts bytes as unsigned
    choice = cost.argmin(axis=0)
    streams.append(_rows(filtered[choice, np.arange(height)], choice))
    return [zlib.compress(s, 9) for s in streams]


def _rows(filtered: np.ndarray, types: np.ndarray) -> bytes:
    return np.concatenate([types.astype(np.uint8)[:, None], filtered], axis=1).tobytes()


def _filter_all(alpha: np.ndarray) -> np.ndarray:
    """PNG's five filters (one byte per pixel) applied to every row; neighbours outside are 0."""
    x = alpha.astype(np.int16)
    left = np.zeros_like(x)
    left[:, 1:] = x[:, :-1]
    up = np.zeros_like(x)
    up[1:] = x[:-1]
    up_left = np.zeros_like(x)
    up_left[1:, 1:] = x[:-1, :-1]
    p = left + up - up_left
    pa, pb, pc = np.abs(p - left), np.abs(p - up), np.abs(p - up_left)
    paeth = np.where((pa <= pb) & (pa <= pc), left, np.where(pb <= pc, up, up_left))
    predictions = np.stack([np.zeros_like(x), left, up, (left + up) >> 1, paeth])
    return ((x[None] - predictions) & 0xFF).astype(np.uint8)
