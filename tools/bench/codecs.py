"""Codec adapters for the benchmark: each turns an RGB uint8 image into bytes and back.

Every adapter returns the *complete* file its codec writes (container and
header included), so bpp is always ``len(file) * 8 / pixels``.
"""
from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
from PIL import Image


@dataclass
class Codec:
    name: str                      # e.g. "jpeg", "gzc:ae-vr-n96"
    label: str                     # for plots and tables
    param_name: str                # what is swept ("quality", "bits", …)
    params: list                   # the sweep, low rate → high rate
    encode: Callable[[np.ndarray, object], bytes]
    decode: Callable[[bytes], np.ndarray]
    settings: str = ""             # fixed settings, stated in reports
    quick_params: list = field(default_factory=list)
    classical: bool = True


def _pillow(fmt: str, kwargs_for: Callable) -> tuple[Callable, Callable]:
    def encode(img: np.ndarray, p) -> bytes:
        buf = io.BytesIO()
        Image.fromarray(img).save(buf, format=fmt, **kwargs_for(p))
        return buf.getvalue()

    def decode(data: bytes) -> np.ndarray:
        with Image.open(io.BytesIO(data)) as im:
            return np.asarray(im.convert("RGB"))
    return encode, decode


def jpeg() -> Codec:
    enc, dec = _pillow("JPEG", lambda q: {"quality": q, "optimize": True, "subsampling": 2})
    return Codec("jpeg", "JPEG 4:2:0 (libjpeg-turbo, optimized)", "quality",
                 [1, 3, 5, 8, 10, 15, 20, 30, 40, 50, 60, 75, 85, 95], enc, dec,
                 "Pillow, 4:2:0, optimize=True", quick_params=[5, 30, 75])


def webp() -> Codec:
    enc, dec = _pillow("WEBP", lambda q: {"quality": q, "method": 6})
    return Codec("webp", "WebP (method 6)", "quality", [0, 2, 5, 10, 20, 30, 45, 60, 75, 90], enc, dec,
                 "Pillow/libwebp, method=6", quick_params=[5, 45])


def avif() -> Codec:
    enc, dec = _pillow("AVIF", lambda q: {"quality": q, "speed": 6, "subsampling": "4:2:0"})
    return Codec("avif", "AVIF 4:2:0 (speed 6)", "quality", [0, 1, 3, 5, 8, 10, 15, 20, 30, 40, 50, 60, 75, 90],
                 enc, dec,
                 "Pillow/libavif (aom), speed=6, 4:2:0", quick_params=[10, 50])


def jpeg2000() -> Codec:
    # quality_layers in "rates" mode is the compression ratio relative to raw 24-bit RGB
    # mct=1: code in YCbCr (the ICT) — Pillow's default is no colour transform, which costs ~2 dB
    enc, dec = _pillow("JPEG2000", lambda r: {"quality_mode": "rates", "quality_layers": [r],
                                              "irreversible": True, "mct": 1})
    return Codec("jpeg2000", "JPEG 2000 (9/7)", "ratio", [1600, 1000, 700, 400, 240, 160, 120, 80, 60, 40, 25, 15],
                 enc, dec,
                 "Pillow/OpenJPEG, irreversible 9/7 + ICT (mct=1), rate-controlled", quick_params=[160, 40])


def jpegxl() -> Codec | None:
    try:
        import imagecodecs
        if not imagecodecs.JPEGXL.available:
            return None
    except ImportError:
        return None

    def encode(img: np.ndarray, d) -> bytes:
        return bytes(imagecodecs.jpegxl_encode(img, distance=float(d), effort=7))

    def decode(data: bytes) -> np.ndarray:
        return np.asarray(imagecodecs.jpegxl_decode(data))[..., :3]
    return Codec("jpegxl", "JPEG XL (effort 7)", "distance", [25.0, 15.0, 10.0, 7.0, 5.0, 3.5, 2.5, 1.5, 1.0],
                 encode, decode, "imagecodecs/libjxl, effort=7", quick_params=[10.0, 2.5])


def wavelet() -> Codec:
    from .wavelet import decode as wdec, encode as wenc
    return Codec("wavelet", "Wavelet db4, largest coefficients (GANZ baseline)", "keep",
                 [0.001, 0.002, 0.004, 0.008, 0.015, 0.03, 0.06], wenc, wdec,
                 "PyWavelets db4, 4 levels, per-channel top fraction kept, Elias-gamma coded",
                 quick_params=[0.008, 0.03])


EFFORT_MARK = "@e"   # gzc:MODEL@e2 = that model encoded with --effort 2 (latent refinement)


def gzc_models() -> list[Codec]:
    """One codec per shipped general-purpose model, sweeping its --bits settings. (The
    latent-search face model is benchmarked on faces by ``gzc-bench-faces``, not here.)
    Encoder-refined variants (``gzc:MODEL@eN``) are benchmarked only when named: see
    :func:`find_codec`."""
    from ...codec.registry import available_models
    return [_gzc_model(info, 0) for info in available_models() if info.backend == "autoencoder"]


def _gzc_model(info, effort: int) -> Codec:
    from ...codec.codec import decode_bytes, encode_pixels
    bits = list(info.manifest.get("bits", []))
    if info.manifest.get("channels"):
        return _generative(info, bits, list(info.manifest["channels"]), effort)
    options = {"effort": effort} if effort else None
    return Codec(_name(info, effort), f"gzc {info.name}{_effort_label(effort)}", "bits", bits,
                 (lambda img, b, name=info.name: encode_pixels(img, model=name, bits=int(b), options=options)),
                 (lambda data: decode_bytes(data).pixels),
                 f"gzc backend {info.backend}, range coder{_effort_label(effort)}, torch threads as configured",
                 quick_params=[bits[0], bits[-1]] if len(bits) > 1 else bits, classical=False)


def _name(info, effort: int) -> str:
    return f"gzc:{info.name}" + (f"{EFFORT_MARK}{effort}" if effort else "")


def _effort_label(effort: int) -> str:
    return f", --effort {effort}" if effort else ""


def find_codec(name: str, available: dict[str, Codec] | None = None) -> Codec | None:
    """A codec by name: one of :func:`all_codecs`, or ``gzc:MODEL@eN``, a shipped autoencoder
    model encoded with ``--effort N`` (slow, so never part of the default sweep)."""
    available = all_codecs() if available is None else available
    if name in available or EFFORT_MARK not in name:
        return available.get(name)
    base, _, effort = name.rpartition(EFFORT_MARK)
    from ...codec.autoencoder.backend import EFFORT_STEPS
    from ...codec.registry import available_models
    info = next((m for m in available_models() if f"gzc:{m.name}" == base and m.backend == "autoencoder"), None)
    if info is None or not effort.isdigit() or int(effort) not in EFFORT_STEPS or int(effort) == 0:
        return None
    return _gzc_model(info, int(effort))


def generative_setting(param: str) -> tuple[int, int]:
    """A generative model's bench setting ``c8b3`` → (channels 8, bits 3)."""
    channels, bits = param[1:].split("b")
    return int(channels), int(bits)


def _generative(info, bits: list[int], channels: list[int], effort: int = 0) -> Codec:
    """A generative model sweeps its rate points (channels C′) × --bits, low rate → high rate."""
    from ...codec.codec import decode_bytes, encode_pixels

    def encode(img: np.ndarray, p: str) -> bytes:
        c, b = generative_setting(p)
        return encode_pixels(img, model=info.name, bits=b, options={"channels": c, "effort": effort or None})
    params = [f"c{c}b{b}" for c in channels for b in bits]
    return Codec(_name(info, effort), f"gzc {info.name}{_effort_label(effort)} (generative)", "setting", params,
                 encode, (lambda data: decode_bytes(data).pixels),
                 f"gzc backend {info.backend}, generative: setting cCbB = --channels C --bits B, range coder"
                 f"{_effort_label(effort)}", quick_params=[params[0], params[-1]], classical=False)


def all_codecs() -> dict[str, Codec]:
    codecs = {c.name: c for c in gzc_models()}
    for factory in (jpeg, webp, avif, jpegxl, jpeg2000, wavelet):
        c = factory()
        if c is not None:
            codecs[c.name] = c
    return codecs
