"""Pillow plugin: after ``import gzc``, ``Image.open("x.gzc")`` and ``img.save("x.gzc")`` work.

Registered the way Pillow's own format plugins are: an :class:`ImageFile`
subclass recognised by the file's signature, a decoder that pulls the whole
file (the CRC covers all of it, so a .gzc cannot be decoded incrementally),
and a save handler. Opening a file reads and verifies only the container;
the network runs when pixels are first accessed (``load()``).

Save options: ``img.save("x.gzc", bits=6, model="name", coder="range")``.
Alpha (RGBA, LA, transparency) is kept; so are the image's ``icc_profile``,
``exif`` and ``xmp`` (from the save keywords, else from ``img.info``) unless
``metadata="none"`` (or ``"icc,exif"``, …) says otherwise; ``exact=True`` keeps the
colour under fully transparent pixels (replaced by a cheap fill by default). Opened files have
mode RGBA or LA when they hold alpha, and their metadata in ``info``.

Pillow's conventions, which applications rely on: ``Image.open`` raises
``UnidentifiedImageError`` for a file that is not valid .gzc; ``load()`` raises
``OSError`` for a corrupt payload (as a truncated PNG does), never ``ValueError``;
``Image.MAX_IMAGE_PIXELS`` is the size limit (``Image.open`` warns above it and
raises ``DecompressionBombError`` above twice it; the decoder honours the same
limit instead of gzc's own, and none when the application sets it to None).
Works on every Pillow from 10.0 (the declared floor; tiles are plain tuples there).
"""
from __future__ import annotations

from PIL import Image, ImageFile

from ..formats import CHUNK_ALPH, COLOR_GRAY, MAGIC, GzcError, GzcFormatError, Metadata, read_header

FORMAT = "GZC"


def _accept(prefix: bytes) -> bool:
    return prefix[:4] == MAGIC


class GzcImageFile(ImageFile.ImageFile):
    format = FORMAT
    format_description = "gzc generative image codec"

    def _open(self) -> None:
        data = self.fp.read()
        try:
            header = read_header(data)
            metadata = Metadata.from_chunks(header.chunks)
        except GzcFormatError as exc:
            raise SyntaxError(f"not a valid .gzc file: {exc}") from None
        from .metadata import to_info
        self._size = (header.width, header.height)
        mode = ("L" if header.color == COLOR_GRAY else "RGB") + ("A" if header.chunk(CHUNK_ALPH) else "")
        if isinstance(getattr(type(self), "mode", None), property):
            self._mode = mode              # Pillow ≥ 10.1: mode is a read-only property over _mode
        else:
            self.mode = mode               # Pillow 10.0: a plain attribute
        self.info.update(to_info(metadata))
        self.info["gzc_bits"] = header.bits
        self.info["gzc_model_id"] = header.model_id.hex()
        # ImageFile._Tile (a named tuple) is Pillow ≥ 11; a plain tuple works on every version
        tile = getattr(ImageFile, "_Tile", None)
        self.tile = [(tile or _plain_tile)("gzc", (0, 0) + self.size, 0, None)]


def _plain_tile(*fields):
    return tuple(fields)


def pixel_limit() -> int | None:
    """The decoder's limit under Pillow's: twice MAX_IMAGE_PIXELS (where Pillow raises
    DecompressionBombError; Image.open has already warned above it), None for no limit."""
    limit = Image.MAX_IMAGE_PIXELS
    return None if limit is None else 2 * int(limit)


class GzcDecoder(ImageFile.PyDecoder):
    _pulls_fd = True

    def decode(self, buffer):
        from ..formats.container import MAX_SIDE
        from .codec import decode_bytes
        assert self.fd is not None
        limit = pixel_limit()
        try:
            decoded = decode_bytes(self.fd.read(), max_pixels=MAX_SIDE ** 2 if limit is None else limit)
        except GzcError as exc:           # Pillow plugins report undecodable data as OSError
            raise OSError(f"cannot decode .gzc data: {exc}") from exc
        self.set_as_raw(decoded.image().tobytes())
        return -1, 0


#: ``Image.save(..., NAME=value)`` keywords passed to the model as its options (as gzc.encode takes them)
MODEL_OPTIONS = ("channels", "effort", "roi", "roi_background", "loss", "ratio")


METADATA_KEYS = ("icc_profile", "exif", "xmp")


def _save(im: Image.Image, fp, filename) -> None:
    from .codec import encode_pixels
    from .imageio import load_picture
    from .metadata import parse_selection
    opts = im.encoderinfo
    keep = parse_selection(opts.get("metadata", "all"))
    source = im.copy()                     # the save keywords' metadata replaces the image's own
    source.info.update({k: opts[k] for k in METADATA_KEYS if k in opts})
    picture = load_picture(source, max_pixels=max(im.width * im.height, 1))
    options = {k: opts[k] for k in MODEL_OPTIONS if opts.get(k) is not None}
    fp.write(encode_pixels(picture.rgb, color=picture.color, bits=opts.get("bits"), model=opts.get("model"),
                           coder=opts.get("coder", "range"), options=options, alpha=picture.alpha,
                           metadata=picture.metadata.only(keep), exact=bool(opts.get("exact", False))))


def register() -> None:
    Image.register_open(FORMAT, GzcImageFile, _accept)
    Image.register_decoder("gzc", GzcDecoder)
    Image.register_save(FORMAT, _save)
    Image.register_extension(FORMAT, ".gzc")
    Image.register_mime(FORMAT, "image/x-gzc")
