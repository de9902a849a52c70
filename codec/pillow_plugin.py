"""Pillow plugin: after ``import gzc``, ``Image.open("x.gzc")`` and ``img.save("x.gzc")`` work.

Registered the way Pillow's own format plugins are: an :class:`ImageFile`
subclass recognised by the file's signature, a decoder that pulls the whole
file (the CRC covers all of it, so a .gzc cannot be decoded incrementally),
and a save handler. Opening a file reads and verifies only the container;
the network runs when pixels are first accessed (``load()``).

Save options: ``img.save("x.gzc", bits=6, model="name", coder="range")``.
"""
from __future__ import annotations

from PIL import Image, ImageFile

from ..formats import COLOR_GRAY, MAGIC, GzcFormatError, read_header

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
        except GzcFormatError as exc:
            raise SyntaxError(f"not a valid .gzc file: {exc}") from None
        self._size = (header.width, header.height)
        self._mode = "L" if header.color == COLOR_GRAY else "RGB"
        self.info["gzc_bits"] = header.bits
        self.info["gzc_model_id"] = header.model_id.hex()
        self.tile = [ImageFile._Tile("gzc", (0, 0) + self.size, 0, None)]


class GzcDecoder(ImageFile.PyDecoder):
    _pulls_fd = True

    def decode(self, buffer):
        from .codec import decode_bytes
        assert self.fd is not None
        decoded = decode_bytes(self.fd.read())
        self.set_as_raw(decoded.pixels.tobytes())
        return -1, 0


#: ``Image.save(..., NAME=value)`` keywords passed to the model as its options (as gzc.encode takes them)
MODEL_OPTIONS = ("channels", "effort", "roi", "roi_background", "loss", "ratio")


def _save(im: Image.Image, fp, filename) -> None:
    from .codec import encode_pixels
    from .imageio import to_rgb_array
    opts = im.encoderinfo
    rgb, color = to_rgb_array(im)
    options = {k: opts[k] for k in MODEL_OPTIONS if opts.get(k) is not None}
    fp.write(encode_pixels(rgb, color=color, bits=opts.get("bits"), model=opts.get("model"),
                           coder=opts.get("coder", "range"), options=options))


def register() -> None:
    Image.register_open(FORMAT, GzcImageFile, _accept)
    Image.register_decoder("gzc", GzcDecoder)
    Image.register_save(FORMAT, _save)
    Image.register_extension(FORMAT, ".gzc")
    Image.register_mime(FORMAT, "image/x-gzc")
