"""The codec core: image ⇄ .gzc bytes, for any backend and either entropy coder.

This is the only place that knows all three layers: it asks a backend for the
integer latent, entropy-codes it, and wraps it in the container (and back).
Everything that can be wrong with a file is checked here before any large
allocation: the container fields, the pixel limit, the model, the bits, and
that the latent shape is the one the model would produce for that image size.
What the picture carries besides its colour (alpha, ICC profile, EXIF, XMP)
goes into ancillary chunks here too, so every backend keeps it.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from .. import formats
from ..formats import LimitExceededError, TargetUnreachableError  # noqa: F401 (re-exported: old import path)
from ..formats import (CHUNK_ALPH, CODER_NAMES, CODER_OWN, CODER_RANGE, CODER_RANGE_CONTEXT, COLOR_GRAY, COLOR_RGB,
                       GzcFile, Metadata)
from ..weights import WEIGHTS_DIR
from .alpha import decode_alpha, encode_alpha, fill_transparent
from .backend import Backend, CorruptPayloadError, UnsupportedSettingError
from .entropy import context_coder, elias_gamma, range_coder
from .imageio import DEFAULT_MAX_PIXELS  # the one limit for encoder and decoder
from .registry import find_by_id, find_model, load_backend

CODERS = {name: code for code, name in CODER_NAMES.items()}


@dataclass(frozen=True)
class Decoded:
    pixels: np.ndarray   # (H, W, 3) uint8, or (H, W) for grayscale files: the colour
    header: GzcFile
    alpha: np.ndarray | None = None      # (H, W) uint8 from an aLPH chunk, else None (opaque)
    metadata: Metadata = Metadata()      # ICC profile, EXIF, XMP from their chunks

    @property
    def mode(self) -> str:
        return ("L" if self.pixels.ndim == 2 else "RGB") + ("A" if self.alpha is not None else "")

    def image(self):
        """A PIL image (RGB, L, RGBA or LA) with the metadata in ``info``."""
        from .imageio import to_image
        return to_image(self.pixels, self.alpha, self.metadata)


def encode_pixels(rgb: np.ndarray, *, color: int = COLOR_RGB, model: str | None = None,
                  bits: int | None = None, coder: str = "range", backend: str | None = None,
                  options: Mapping[str, Any] | None = None, weights_dir: Path = WEIGHTS_DIR,
                  alpha: np.ndarray | None = None, metadata: Metadata | None = None, exact: bool = False) -> bytes:
    """(H, W, 3) uint8 → .gzc bytes.

    ``model`` names the weights (default: the default model of ``backend``, or
    the default model overall); ``options`` are backend-specific settings such
    as the latent search's ``loss``, ``effort`` and ``ratio``; ``weights_dir``
    is where models are looked up (default: the installed ``weights/``).
    ``alpha`` ((H, W) uint8) is coded losslessly unless every value is 255, and the
    colour under fully transparent pixels is replaced by a cheap smooth fill unless
    ``exact`` (codec/alpha.py); ``metadata`` (ICC profile, EXIF, XMP) is stored as given."""
    return encode_with(load_backend(find_model(model, weights_dir, backend=backend)), rgb, color=color, bits=bits,
                       coder=coder, options=options, alpha=alpha, metadata=metadata, exact=exact)


def encode_with(backend: Backend, rgb: np.ndarray, *, color: int = COLOR_RGB, bits: int | None = None,
                coder: str = "range", options: Mapping[str, Any] | None = None,
                alpha: np.ndarray | None = None, metadata: Metadata | None = None, exact: bool = False) -> bytes:
    """Like :func:`encode_pixels`, with an already loaded backend."""
    rgb = np.asarray(rgb)
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ValueError(f"expected an (H, W, 3) uint8 array, got {rgb.shape} {rgb.dtype}")
    if alpha is not None and np.shape(alpha) != rgb.shape[:2]:
        raise ValueError(f"alpha plane {np.shape(alpha)} does not match the image {rgb.shape[:2]}")
    extra = ancillary_chunks(alpha, metadata)      # before the network runs: cheap, and checks the sizes
    if alpha is not None and not exact:
        rgb = fill_transparent(rgb, alpha)
    if coder not in CODERS:
        raise UnsupportedSettingError(f"unknown entropy coder {coder!r} (choose {', '.join(CODERS)})")
    backend, chunks = backend.configure(options or {})
    bits = backend.default_bits if bits is None else bits
    backend.check_bits(bits)
    height, width = rgb.shape[:2]
    if backend.owns_payload:         # the overfitted backend: the payload carries its own decoder
        shape, coder_id, payload = backend.encode_image(rgb, bits)
        return formats.write(GzcFile(width=width, height=height, color=color, backend=backend.kind,
                                     model_id=backend.model_id, bits=bits, coder=coder_id, latent_shape=shape,
                                     payload=payload, chunks=chunks + extra))
    coder = resolve_coder(backend, bits, coder)
    if CODERS[coder] == CODER_OWN:
        raise UnsupportedSettingError(f"model {backend.name} has no payload of its own: choose another --coder")
    symbols = backend.analyse(rgb, bits)
    return formats.write(GzcFile(width=width, height=height, color=color, backend=backend.kind,
                                 model_id=backend.model_id, bits=bits, coder=CODERS[coder],
                                 latent_shape=tuple(int(d) for d in symbols.shape),
                                 payload=encode_payload(symbols, backend, bits, coder), chunks=chunks + extra))


def ancillary_chunks(alpha: np.ndarray | None, metadata: Metadata | None) -> tuple:
    """The aLPH chunk (none for an all-opaque plane) and the metadata chunks, in that order."""
    chunk = encode_alpha(alpha)
    return ((chunk,) if chunk else ()) + (metadata.to_chunks() if metadata else ())


def resolve_coder(backend: Backend, bits: int, coder: str) -> str:
    """``range`` means the model's range coder: coder 3 (context tables) for a model that
    has a context prior, coder 1 (per-channel tables) otherwise."""
    if coder == "range" and backend.context_tables(bits) is not None:
        return CODER_NAMES[CODER_RANGE_CONTEXT]
    return coder


def encode_payload(symbols: np.ndarray, backend: Backend, bits: int, coder: str) -> bytes:
    """Entropy-code a latent with the named coder (the range coder uses the backend's tables).
    Only the elements the backend marks as coded are written (all, unless a region-of-interest map says otherwise)."""
    coded = backend.coded_elements(symbols.shape)
    if coded is not None and np.any(symbols[~coded]):
        raise ValueError("the backend left non-zero values outside its coded elements")
    if CODERS[coder] == CODER_RANGE:
        tables = backend.entropy_tables(bits)
        if tables is None:
            raise UnsupportedSettingError(f"model {backend.name} has no per-channel tables: use --coder "
                                          f"{'range' if backend.context_tables(bits) else 'elias-gamma'}")
        return range_coder.encode(symbols, tables.tables, tables.offset, coded)
    if CODERS[coder] == CODER_RANGE_CONTEXT:
        context = backend.context_tables(bits)
        if context is None:
            raise UnsupportedSettingError(f"model {backend.name} has no context prior: use --coder range")
        return context_coder.encode(symbols, context.tables, context.offset, coded)
    return elias_gamma.encode(symbols if coded is None else symbols[coded])


def encode_to_size(rgb: np.ndarray, max_bytes: int, *, color: int = COLOR_RGB, model: str | None = None,
                   coder: str = "range", backend: str | None = None,
                   options: Mapping[str, Any] | None = None, alpha: np.ndarray | None = None,
                   metadata: Metadata | None = None, exact: bool = False) -> bytes:
    """Rate control (like ``cwebp -size``): the largest file ≤ ``max_bytes`` over every setting
    the model offers, every ``--bits`` at every ``--channels`` rate point of a generative model
    (only the given one if ``options`` names it).

    At one channel count the size grows with bits, so bits are tried from the most down and
    the first that fits ends that channel count; the largest fitting file over the channel
    counts (the most information kept) is returned. Sizes are those of the complete files
    (alpha and metadata included). A backend whose encodes are expensive
    (:attr:`Backend.cheap_rate_control` false: the overfitted one, minutes per encode)
    is refused with an :class:`UnsupportedSettingError` instead of a search of hours.
    """
    chosen = load_backend(find_model(model, backend=backend))
    if not chosen.cheap_rate_control:
        raise UnsupportedSettingError(f"--target-size/--target-bpp would encode once per setting of model "
                                      f"{chosen.name} ({len(chosen.supported_bits)} settings), and each encode of "
                                      f"this backend takes minutes: choose --bits yourself")
    if alpha is not None and not exact:
        rgb = fill_transparent(rgb, alpha)            # once, not once per setting
    options = {k: v for k, v in (options or {}).items() if v is not None}
    channel_choices = [options["channels"]] if "channels" in options else list(chosen.channel_counts) or [None]
    best, smallest = None, None
    for channels in channel_choices:
        setting = options if channels is None else {**options, "channels": channels}
        for bits in sorted(chosen.supported_bits, reverse=True):
            data = encode_with(chosen, rgb, color=color, bits=bits, coder=coder, options=setting, alpha=alpha,
                               metadata=metadata, exact=True)
            if len(data) <= max_bytes:
                best = data if best is None or len(data) > len(best) else best
                break
            if smallest is None or len(data) < smallest[0]:
                smallest = (len(data), bits, channels)
    if best is not None:
        return best
    size, bits, channels = smallest
    raise TargetUnreachableError(f"cannot reach {max_bytes} bytes: the smallest file is {size} bytes (--bits {bits}"
                                 + (f" --channels {channels}" if channels is not None else "")
                                 + f" of model {chosen.name})")


def decode_bytes(data: bytes, *, max_pixels: int = DEFAULT_MAX_PIXELS, weights_dir: Path = WEIGHTS_DIR) -> Decoded:
    """.gzc bytes → pixels. Raises a :class:`~gzc.formats.GzcError` (GzcFormatError, UnknownModelError,
    LimitExceededError or CorruptPayloadError) for any bad file, never anything generic."""
    header = _read_within(data, max_pixels)
    return _decode(header, load_backend(find_by_id(header.model_id, weights_dir, header.backend)))


def decode_with(backend: Backend, data: bytes, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> Decoded:
    """Like :func:`decode_bytes`, with an already loaded backend (it must be the file's model)."""
    header = _read_within(data, max_pixels)
    if header.model_id != backend.model_id:
        raise CorruptPayloadError(f"file needs model {header.model_id.hex()}, not {backend.model_id.hex()}")
    return _decode(header, backend)


def _read_within(data: bytes, max_pixels: int) -> GzcFile:
    header = formats.read(data)
    if header.width * header.height > max_pixels:
        raise LimitExceededError(f"image is {header.width}x{header.height} = {header.width * header.height} pixels, "
                                 f"above the limit of {max_pixels} (raise it with --max-pixels)")
    return header


def decode_latent(data: bytes, *, max_pixels: int = DEFAULT_MAX_PIXELS, weights_dir: Path = WEIGHTS_DIR
                  ) -> np.ndarray:
    """.gzc bytes → the entropy-decoded integer latent (exact on every machine: no float
    arithmetic), after the same checks as :func:`decode_bytes`; no synthesis."""
    header = _read_within(data, max_pixels)
    return _latent(header, load_backend(find_by_id(header.model_id, weights_dir, header.backend)))[1]


def _checked(header: GzcFile, backend: Backend) -> Backend:
    """The backend as the file configures it, after the header checks that apply to it (a
    backend that owns its payload checks its latent shape and coder itself)."""
    backend = backend.for_file(header)
    (_check_backend if backend.owns_payload else _check_header_against)(backend, header)
    return backend


def _latent(header: GzcFile, backend: Backend) -> tuple[Backend, np.ndarray]:
    """The backend as the file configures it, and the file's checked, decoded latent (for a
    backend that owns its payload, what :meth:`Backend.decode_latent` says its latent is)."""
    backend = _checked(header, backend)
    return backend, (backend.decode_latent(header) if backend.owns_payload else decode_payload(header, backend))


def _decode(header: GzcFile, backend: Backend) -> Decoded:
    metadata = Metadata.from_chunks(header.chunks)          # format checks first: they cost nothing
    alpha_chunk = header.chunk(CHUNK_ALPH)
    alpha = None if alpha_chunk is None else decode_alpha(alpha_chunk, header.width, header.height)
    backend = _checked(header, backend)
    if backend.owns_payload:
        rgb = backend.decode_image(header)
    else:
        rgb = backend.synthesise(decode_payload(header, backend), header.bits, header.width, header.height)
    return Decoded(_luma(rgb) if header.color == COLOR_GRAY else rgb, header, alpha, metadata)


def _check_backend(backend: Backend, header: GzcFile) -> None:
    if header.backend != backend.kind:
        raise CorruptPayloadError(f"header says backend {header.backend} but model {backend.name} "
                                  f"is backend {backend.kind}")
    try:
        backend.check_bits(header.bits)
    except UnsupportedSettingError:      # a setting the file's model lacks: spec §3 says corrupt payload
        raise CorruptPayloadError(f"the file declares --bits {header.bits}, which its model {backend.name} "
                                  f"does not have ({', '.join(map(str, backend.supported_bits))})") from None


def _check_header_against(backend: Backend, header: GzcFile) -> None:
    _check_backend(backend, header)
    expected = backend.latent_shape(header.width, header.height)
    if tuple(header.latent_shape) != tuple(expected):
        raise CorruptPayloadError(f"latent shape {header.latent_shape} does not match a "
                                  f"{header.width}x{header.height} image under model {backend.name} {expected}")
    if header.coder not in CODER_NAMES or header.coder == CODER_OWN:
        raise CorruptPayloadError(f"entropy coder {header.coder} does not apply to model {backend.name}")


def decode_payload(header: GzcFile, backend: Backend) -> np.ndarray:
    """The file's entropy-decoded latent under ``backend`` (as the file configures it: see
    :meth:`Backend.for_file`), its values checked against the ``bits`` range; the twin of
    :func:`encode_payload`. Raises :class:`CorruptPayloadError` for an undecodable payload."""
    shape = tuple(header.latent_shape)
    coded = backend.coded_elements(shape)
    try:
        if header.coder == CODER_RANGE:
            tables = backend.entropy_tables(header.bits)
            if tables is None:
                raise CorruptPayloadError(f"model {backend.name} has no learned prior for a range-coded payload")
            symbols = range_coder.decode(header.payload, shape, tables.tables, tables.offset, coded)
        elif header.coder == CODER_RANGE_CONTEXT:
            context = backend.context_tables(header.bits)
            if context is None:
                raise CorruptPayloadError(f"model {backend.name} has no context prior for a coder-3 payload")
            symbols = context_coder.decode(header.payload, shape, context.tables, context.offset, coded)
        elif coded is None:
            symbols = elias_gamma.decode(header.payload, int(np.prod(shape))).reshape(shape)
        else:
            symbols = np.zeros(shape, dtype=np.int64)
            symbols[coded] = elias_gamma.decode(header.payload, int(coded.sum()))
    except (range_coder.RangeCoderError, elias_gamma.EliasGammaError) as exc:
        raise CorruptPayloadError(str(exc)) from None
    lo, hi = -(1 << (header.bits - 1)), (1 << (header.bits - 1)) - 1
    if symbols.size and (symbols.min() < lo or symbols.max() > hi):
        raise CorruptPayloadError(f"latent values outside the {header.bits}-bit range")
    return symbols


def _luma(rgb: np.ndarray) -> np.ndarray:
    """ITU-R 601 luma with integer weights (Pillow's 'L' conversion), exactly reproducible."""
    r, g, b = (rgb[..., i].astype(np.uint32) for i in range(3))
    return ((r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16).astype(np.uint8)
