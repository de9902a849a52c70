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
"""
from __future__ import annotations

from PIL import Image, ImageFile

from ..formats import CHUNK_ALPH, COLOR_GRAY, MAGIC, GzcFormatError, Metadata, read_header

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
        self._mode = ("L" if header.color == COLOR_GRAY else "RGB") + ("A" if header.chunk(CHUNK_ALPH) else "")
        self.info.update(to_info(metadata))
        self.info["gzc_bits"] = header.bits
        self.info["gzc_model_id"] = header.model_id.hex()
        self.tile = [ImageFile._Tile("gzc", (0, 0) + self.size, 0, None)]


class GzcDecoder(ImageFile.PyDecoder):
    _pulls_fd = True

    def decode(self, buffer):
        from .codec import decode_bytes
        assert self.fd is not None
        decoded = decode_bytes(self.fd.read())
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
