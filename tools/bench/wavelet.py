"""The wavelet baseline of the GANZ paper, with every bit counted.

Per channel: a 4-level Daubechies-4 transform (periodization), keep the
``keep`` fraction of coefficients with the largest magnitude, quantize them
with a uniform step, and write a real file: a small header, then per channel
the *positions* of kept coefficients as Elias-gamma-coded gaps and their
*values* as signed Elias-gamma codes. The benchmark's bpp is this file's
length, not a count of coefficients.
"""
from __future__ import annotations

import struct

import numpy as np
import pywt

from ...codec.entropy import elias_gamma

WAVELET, LEVELS = "db4", 4


def _layout(h: int, w: int):
    coeffs = pywt.wavedec2(np.zeros((h, w)), WAVELET, mode="periodization", level=LEVELS)
    arr, slices = pywt.coeffs_to_array(coeffs)
    return arr.shape, slices


def encode(img: np.ndarray, keep: float) -> bytes:
    h, w, _ = img.shape
    out = [struct.pack("<HHf", h, w, keep)]
    for c in range(3):
        coeffs = pywt.wavedec2(img[:, :, c].astype(np.float64) - 128, WAVELET, mode="periodization", level=LEVELS)
        arr, _ = pywt.coeffs_to_array(coeffs)
        flat = arr.ravel()
        k = max(1, int(round(keep * flat.size)))
        threshold = np.partition(np.abs(flat), flat.size - k)[flat.size - k]
        idx = np.flatnonzero(np.abs(flat) >= threshold)[:k]
        # step: a fraction of the threshold, so kept values keep ~5 bits of precision
        step = max(threshold / 8.0, 0.5)
        values = np.round(flat[idx] / step).astype(np.int64)
        gaps = np.diff(np.concatenate([[-1], idx])) - 1
        pos = elias_gamma.encode(gaps)
        val = elias_gamma.encode(values)
        out.append(struct.pack("<fIII", step, idx.size, len(pos), len(val)) + pos + val)
    return b"".join(out)


def decode(data: bytes) -> np.ndarray:
    h, w, _keep = struct.unpack_from("<HHf", data, 0)
    off = 8
    shape, slices = _layout(h, w)
    channels = []
    for _ in range(3):
        step, count, npos, nval = struct.unpack_from("<fIII", data, off)
        off += 16
        gaps = elias_gamma.decode(data[off:off + npos], count)
        off += npos
        values = elias_gamma.decode(data[off:off + nval], count)
        off += nval
        flat = np.zeros(int(np.prod(shape)))
        flat[np.cumsum(gaps + 1) - 1] = values * step
        coeffs = pywt.array_to_coeffs(flat.reshape(shape), slices, output_format="wavedec2")
        rec = pywt.waverec2(coeffs, WAVELET, mode="periodization")[:h, :w]
        channels.append(rec + 128)
    return np.clip(np.round(np.stack(channels, axis=2)), 0, 255).astype(np.uint8)
