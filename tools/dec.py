"""gzc-dec: decompress a .gzc file into an image (like djpeg/dwebp).

Alpha goes into the outputs that hold it (PNG, WebP, TIFF, TGA); JPEG, PPM and
BMP get the colour without it, as dwebp and avifdec write such files. The ICC
profile, EXIF and XMP go into PNG, JPEG, WebP and TIFF (codec/metadata.py says
what each can hold). ``-v`` names whatever the output format could not keep.
"""
from __future__ import annotations

import io
import sys
import time
from pathlib import Path
from functools import partial
from typing import List, Optional

import typer

from .cli_common import (CliError, EXIT_USAGE, atomic_output, check_batch_paths, new_app, read_input, reported_errors,
                         run_app, single_file_paths)

PROG = "gzc-dec"
app = new_app()
EXTENSIONS = {".png": "PNG", ".ppm": "PPM", ".pgm": "PPM", ".pnm": "PPM", ".bmp": "BMP", ".tif": "TIFF",
              ".tiff": "TIFF", ".webp": "WEBP", ".jpg": "JPEG", ".jpeg": "JPEG", ".tga": "TGA"}
ALPHA_FORMATS = {"PNG", "WEBP", "TIFF", "TGA"}   # Pillow writes (and reads back) alpha in these


def decode_and_render(data: bytes, pil_format: str = "PNG", max_pixels=None):
    """.gzc bytes → (encoded image bytes, the Decoded result, what the format could not hold)."""
    from ..codec.codec import DEFAULT_MAX_PIXELS, decode_bytes
    from ..codec.metadata import save_options
    decoded = decode_bytes(data, max_pixels=max_pixels or DEFAULT_MAX_PIXELS)
    image, dropped = decoded.image(), []
    if decoded.alpha is not None and pil_format not in ALPHA_FORMATS:
        image, dropped = image.convert(image.mode[:-1]), ["alpha"]      # drop it, as dwebp -ppm does
    elif image.mode == "LA" and pil_format == "WEBP":
        image = image.convert("RGBA")                                    # WebP has no gray + alpha
    options, lost = save_options(decoded.metadata, pil_format)
    buf = io.BytesIO()
    image.save(buf, format=pil_format, **options)
    return buf.getvalue(), decoded, dropped + lost


def decode_to_image_bytes(data: bytes, pil_format: str = "PNG", max_pixels=None) -> bytes:
    """.gzc bytes → encoded image bytes (the batch workers' job)."""
    return decode_and_render(data, pil_format, max_pixels)[0]


@app.command(help="Decompress INFILE (.gzc; '-' or omitted = stdin) into OUTFILE "
                  "(format from its extension; '-' or omitted = stdout, PNG unless --format). "
                  "With --out-dir: decompress every given file and folder.")
def decode(
    paths: Optional[List[str]] = typer.Argument(None, help="INFILE [OUTFILE]; with --out-dir, any number of "
                                                ".gzc files and folders"),
    out_dir: Optional[str] = typer.Option(None, "--out-dir", "-d", help="batch mode: write NAME.png (or "
                                          "--format) files here"),
    jobs: int = typer.Option(1, "--jobs", "-j", help="batch mode: parallel worker processes"),
    output: Optional[str] = typer.Option(None, "-o", "--outfile", help="output file (alternative to OUTFILE)"),
    fmt: Optional[str] = typer.Option(None, "--format", "-f", help="output format: png, ppm, bmp, tiff, …"),
    max_pixels: Optional[int] = typer.Option(None, "--max-pixels", help="refuse images larger than this "
                                             "(default 67108864 = 8192²)"),
    verbose: bool = typer.Option(False, "-v", "--verbose", help="print size and time on stderr"),
) -> None:
    with reported_errors(PROG):
        if out_dir is not None:
            from .batch import run_batch
            paths = check_batch_paths(paths, output)
            pil_format = _output_format(None, fmt)
            suffix = next(ext for ext, name in EXTENSIONS.items() if name == pil_format)
            work = partial(decode_to_image_bytes, pil_format=pil_format, max_pixels=max_pixels)
            raise SystemExit(run_batch(PROG, paths, out_dir, suffix, {".gzc"}, work, jobs))
        infile, target = single_file_paths(paths, output)
        pil_format = _output_format(target, fmt)
        data = read_input(infile, "input file")
        t0 = time.perf_counter()
        image_bytes, decoded, dropped = decode_and_render(data, pil_format, max_pixels)
        elapsed = time.perf_counter() - t0
        with atomic_output(target) as f:
            f.write(image_bytes)
        if verbose:
            h = decoded.header
            print(f"{infile or '-'} -> {target or '-'}: {h.width}x{h.height} {decoded.mode}, "
                  f"{len(data) * 8 / (h.width * h.height):.4f} bpp, decoded in {elapsed:.2f} s"
                  + (f"; {pil_format} cannot hold: {', '.join(dropped)} (left out)" if dropped else ""),
                  file=sys.stderr)


def _output_format(target: str | None, fmt: str | None) -> str:
    if fmt:
        name = fmt.upper().lstrip(".")
        name = {"JPG": "JPEG", "TIF": "TIFF", "PGM": "PPM", "PNM": "PPM"}.get(name, name)
        if name not in set(EXTENSIONS.values()):
            raise CliError(f"unknown output format {fmt!r} (choose png, ppm, bmp, tiff, webp, jpeg, tga)", EXIT_USAGE)
        return name
    if target in (None, "-"):
        return "PNG"
    ext = Path(target).suffix.lower()
    if ext not in EXTENSIONS:
        raise CliError(f"cannot tell the output format from {target!r}: use .png, .ppm, .bmp, .tiff, … "
                       f"or --format", EXIT_USAGE)
    return EXTENSIONS[ext]


def main() -> None:
    run_app(app, PROG)


if __name__ == "__main__":
    main()
