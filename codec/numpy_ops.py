"""The few network layers the decoders need, on numpy's float32 BLAS (no torch).

Decoding must not need torch (issue 18): the autoencoder's synthesis and the
face generator are chains of 3×3 and 1×1 convolutions, pixel shuffles,
nearest-neighbour upsampling, divisive normalisation and pointwise
activations, and every one of them is a few lines of numpy. Each function takes
one image as a (C, H, W) float32 array, the layout torch's modules use, and does
exactly what the torch module of the same name does (docs/decoder.md).

A k×k convolution runs as **one** matrix product per band of rows and no
im2col matrix: all k² taps' weights stacked, (k²·Cout, Cin), times the
zero-padded input flattened to (Cin, rows·(W+2p)), gives every tap's
contribution at every position; the output is then the sum of k² *shifted
views* of that product (tap (dy, dx) read from offset ``dy·(W+2p) + dx``, on
a (rows, W+2p) grid whose last 2p columns are discarded). Rows are taken in
bands so that the product stays under :data:`BAND_BYTES` (memory is bounded by
the band, not the tile). Measured on this 2-core machine against im2col + one
GEMM and against nine GEMMs on shifted views, it was the fastest for the
decoder's layers (docs/decoder.md).

Pixels do not depend on the thread count. A multi-threaded OpenBLAS product
does *not* round the same as a single-threaded one (measured: 4 values of a
768×512 image ±1 between 1 and 2 BLAS threads), but a single-threaded product
gives every output the same value whatever the matrix's other columns. So the
BLAS runs single-threaded (:func:`decoding_threads`, by threadpoolctl) and we
parallelise ourselves: the bands of rows, fixed by the layer's shape alone,
are shared among :func:`threads` workers (numpy releases the GIL in products
and element-wise loops). tests/test_numpy_decoder.py checks 1 against 2
threads, and tiles against the whole image.
"""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from functools import lru_cache

import numpy as np


#: largest stacked-taps product of one band of rows (bounds a convolution's working memory
#: to about this much per worker); the bands depend on the layer's shape only
BAND_BYTES = 8 << 20
#: columns per chunk of a 1×1 convolution (divisive normalisation), also shape-fixed
CHUNK_COLUMNS = 16384

_threads = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def threads() -> int:
    """Workers the decoder uses (default: the CPUs this process may run on)."""
    return _threads


def set_threads(count: int) -> None:
    """Decode with ``count`` workers; the pixels are the same for every count."""
    global _threads
    if count < 1:
        raise ValueError("the thread count must be at least 1")
    _threads = int(count)


@lru_cache(maxsize=8)
def _pool(count: int) -> ThreadPoolExecutor:
    return ThreadPoolExecutor(count, thread_name_prefix="gzc-decode")


def _run(tasks: list) -> None:
    """Call every task (a function of no arguments), on the workers when there are several."""
    if _threads == 1 or len(tasks) == 1:
        for task in tasks:
            task()
        return
    for future in [_pool(_threads).submit(task) for task in tasks]:
        future.result()


@contextmanager
def decoding_threads():
    """BLAS single-threaded for the duration (our own workers do the parallel part), so that no
    product's rounding depends on how many threads the BLAS would have used."""
    from threadpoolctl import threadpool_limits
    with threadpool_limits(limits=1, user_api="blas"):
        yield


def conv2d(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None = None) -> np.ndarray:
    """``torch.nn.functional.conv2d(x, weight, bias, padding=k // 2)`` for odd k×k kernels, stride 1.

    ``x`` (Cin, H, W) float32, ``weight`` (Cout, Cin, k, k) → (Cout, H, W) float32."""
    cout, cin, k, _ = weight.shape
    _, h, w = x.shape
    if k == 1:
        return _conv1x1(x.reshape(cin, h * w), weight.reshape(cout, cin), bias).reshape(cout, h, w)
    p = k // 2
    wp = w + 2 * p
    # one row of slack at the bottom: the last tap's view runs 2p values past a band's last row
    padded = np.zeros((cin, h + 2 * p + 1, wp), dtype=np.float32)
    padded[:, p:p + h, p:p + w] = x
    flat = padded.reshape(cin, -1)
    stacked = np.ascontiguousarray(weight.transpose(2, 3, 0, 1)).reshape(k * k * cout, cin)
    out = np.empty((cout, h, wp), dtype=np.float32)
    rows = max(1, BAND_BYTES // (k * k * cout * wp * 4) - 2 * p - 1)

    def band(r0: int, r1: int) -> None:
        n = (r1 - r0) * wp
        taps = (stacked @ flat[:, r0 * wp:(r1 + 2 * p + 1) * wp]).reshape(k, k, cout, -1)
        dest = out[:, r0:r1].reshape(cout, n)
        if bias is not None:
            np.add(taps[0, 0, :, :n], bias[:, None], out=dest)
        else:
            dest[:] = taps[0, 0, :, :n]
        for dy in range(k):             # a fixed order of additions: the same pixels on every run
            for dx in range(k):
                if dy or dx:
                    offset = dy * wp + dx
                    dest += taps[dy, dx, :, offset:offset + n]
    _run([lambda r0=r0: band(r0, min(h, r0 + rows)) for r0 in range(0, h, rows)])
    return out[:, :, :w]


def _conv1x1(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None,
             then=None) -> np.ndarray:
    """(Cin, N) → (Cout, N) = weight @ x (+ bias), chunk by chunk of columns; ``then(columns, out)``
    finishes each chunk in place while it is in cache (the normalisation's divide or multiply)."""
    out = np.empty((weight.shape[0], x.shape[1]), dtype=np.float32)

    def chunk(c0: int, c1: int) -> None:
        dest = out[:, c0:c1]
        np.matmul(weight, x[:, c0:c1], out=dest)
        if bias is not None:
            dest += bias[:, None]
        if then is not None:
            then(slice(c0, c1), dest)
    n = x.shape[1]
    _run([lambda c0=c0: chunk(c0, min(n, c0 + CHUNK_COLUMNS)) for c0 in range(0, n, CHUNK_COLUMNS)])
    return out


def pixel_shuffle(x: np.ndarray, r: int = 2) -> np.ndarray:
    """``torch.nn.PixelShuffle(r)``: (C·r², H, W) → (C, H·r, W·r)."""
    c, h, w = x.shape
    out_c = c // (r * r)
    return np.ascontiguousarray(x.reshape(out_c, r, r, h, w).transpose(0, 3, 1, 4, 2)).reshape(out_c, h * r, w * r)


def upsample_nearest(x: np.ndarray, r: int = 2) -> np.ndarray:
    """``torch.nn.Upsample(scale_factor=r, mode="nearest")``."""
    return np.repeat(np.repeat(x, r, axis=1), r, axis=2)


def leaky_relu(x: np.ndarray, slope: float) -> np.ndarray:
    """``torch.nn.functional.leaky_relu`` (in place: the caller's array is a temporary)."""
    return np.maximum(x, x * np.float32(slope), out=x)


def simplified_gdn(x: np.ndarray, beta_sqrt: np.ndarray, gamma_sqrt: np.ndarray, inverse: bool,
                   beta_min: float = 1e-4) -> np.ndarray:
    """:class:`gzc.codec.autoencoder.layers.SimplifiedGDN`: ``x · (β + γ|x|)`` (inverse) or ``x / (…)``,
    with β = beta_sqrt² + beta_min and γ = gamma_sqrt², computed in float32 as torch does."""
    beta = beta_sqrt * beta_sqrt + np.float32(beta_min)
    gamma = gamma_sqrt * gamma_sqrt
    c, h, w = x.shape
    flat = np.ascontiguousarray(x).reshape(c, h * w)
    magnitude = np.abs(flat)

    def finish(columns: slice, norm: np.ndarray) -> None:
        (np.multiply if inverse else np.divide)(flat[:, columns], norm, out=norm)
    return _conv1x1(magnitude, gamma, beta, finish).reshape(c, h, w)


def batch_norm(x: np.ndarray, mean: np.ndarray, var: np.ndarray, weight: np.ndarray, bias: np.ndarray,
               eps: float = 1e-5) -> np.ndarray:
    """``torch.nn.BatchNorm2d`` in eval mode, folded as torch's CPU kernel folds it:
    ``x · α + (bias − mean · α)`` with ``α = weight / sqrt(var + eps)``."""
    alpha = weight / np.sqrt(var + np.float32(eps))
    shift = bias - mean * alpha
    return x * alpha[:, None, None] + shift[:, None, None]


def sigmoid(x: np.ndarray) -> np.ndarray:
    return np.float32(1) / (np.float32(1) + np.exp(-x))


def to_uint8(x: np.ndarray) -> np.ndarray:
    """(3, H, W) float image in [0, 1] → (H, W, 3) uint8: clamp, ×255, round half to even (spec §7)."""
    return np.rint(np.clip(x, 0, 1) * np.float32(255)).astype(np.uint8).transpose(1, 2, 0)
