"""gzc-enc: compress an image into a .gzc file (like cjpeg/cwebp)."""
from __future__ import annotations

import sys
import time
from functools import partial
from typing import List, Optional

import typer

from .cli_common import (CliError, EXIT_INPUT, EXIT_USAGE, atomic_output, check_batch_paths, new_app, read_input,
                         reported_errors, run_app, single_file_paths)

PROG = "gzc-enc"
app = new_app(no_args_is_help=False)


def encode_image_bytes(data: bytes, bits=None, model=None, coder="range", target_size=None, target_bpp=None,
                       max_pixels=None, backend=None, options=None, roi=None, metadata="all", exact=False,
                       name=None) -> bytes:
    """Image file bytes → .gzc bytes, with the command's options (also the batch workers' job).
    Alpha is always kept; ``metadata`` says which of ICC, EXIF and XMP (--metadata)."""
    from ..codec.codec import encode_pixels, encode_to_size
    from ..codec.imageio import DEFAULT_MAX_PIXELS, ImageReadError, load_mask, load_picture
    from ..codec.metadata import parse_selection
    picture = load_picture(data, max_pixels=max_pixels or DEFAULT_MAX_PIXELS, name=name)
    for message in picture.warnings:
        print(f"{PROG}: warning: {message}", file=sys.stderr)
    rgb, color = picture.rgb, picture.color
    kept = {"alpha": picture.alpha, "metadata": picture.metadata.only(parse_selection(metadata)), "exact": exact}
    if roi is not None:  # the mask file's bytes
        try:
            mask = load_mask(roi, max_pixels=max_pixels or DEFAULT_MAX_PIXELS)
        except ImageReadError as exc:
            raise CliError(f"region-of-interest mask: {exc}", EXIT_INPUT) from None
        if mask.shape != rgb.shape[:2]:
            raise CliError(f"region-of-interest mask is {mask.shape[1]}x{mask.shape[0]}, the image "
                           f"{rgb.shape[1]}x{rgb.shape[0]}: they must be the same size", EXIT_USAGE)
        options = {**(options or {}), "roi": mask}
    if target_size is not None or target_bpp is not None:
        limit = target_size if target_size is not None else int(target_bpp * rgb.shape[0] * rgb.shape[1] / 8)
        return encode_to_size(rgb, limit, color=color, model=model, coder=coder, backend=backend, options=options,
                              **kept)
    return encode_pixels(rgb, color=color, model=model, bits=bits, coder=coder, backend=backend, options=options,
                         **kept)


@app.command(help="Compress INFILE (PNG, JPEG, PPM, … ; '-' or omitted = stdin) into OUTFILE "
                  "('-' or omitted = stdout). With --out-dir: compress every given file and folder.")
def encode(
    paths: Optional[List[str]] = typer.Argument(None, help="INFILE [OUTFILE]; with --out-dir, any number of "
                                                "input files and folders"),
    out_dir: Optional[str] = typer.Option(None, "--out-dir", "-d", help="batch mode: write NAME.gzc files here"),
    jobs: int = typer.Option(1, "--jobs", "-j", help="batch mode: parallel worker processes"),
    output: Optional[str] = typer.Option(None, "-o", "--outfile", help="output file (alternative to OUTFILE)"),
    bits: Optional[int] = typer.Option(None, "--bits", "-b", help="latent precision in bits (quality knob; "
                                       "autoencoder: 4–8, default 6; generative models: 2–3, default 3, "
                                       "context models also 4; "
                                       "latent-search: 2–8, default 6; overfit: 1–8, default 4)"),
    model: Optional[str] = typer.Option(None, "--model", "-m", help="model name or model ID (see gzc-info --models)"),
    backend: Optional[str] = typer.Option(None, "--backend", help="autoencoder (default), latent-search "
                                          "(64x64 faces, GAN inversion) or any installed backend plugin; picks "
                                          "that backend's default model"),
    loss: Optional[str] = typer.Option(None, "--loss", help="latent-search: distortion the search minimises: "
                                       "l2, l1, ssim (default), ms-ssim or mix"),
    effort: Optional[int] = typer.Option(None, "--effort", help="encoding effort, 0 … 4. latent-search: restarts "
                                         "and steps of the search (default 2); autoencoder models: steps of "
                                         "latent refinement against the decoder, a smaller and better file for "
                                         "more time (default 0 = none; 2 ≈ 25 s for 768x512 on 2 cores); overfit: "
                                         "optimisation steps per image (default 1)"),
    ratio: Optional[float] = typer.Option(None, "--ratio", help="latent-search, GANZ mode: code a latent of "
                                          "64*64*3/RATIO values through a seeded random first layer"),
    channels: Optional[int] = typer.Option(None, "--channels", "-c", help="generative models: rate point = "
                                           "bottleneck channels coded (e.g. 2, 4, 8, 16; see gzc-info --models)"),
    roi: Optional[str] = typer.Option(None, "--roi", help="generative models: region-of-interest mask image "
                                      "(white = keep detail; same size as the input)"),
    roi_background: Optional[int] = typer.Option(None, "--roi-background", help="with --roi: channels coded "
                                                 "outside the region (0 = none, the decoder invents it; "
                                                 "default: the model's smallest rate point)"),
    coder: str = typer.Option("range", "--coder", help="entropy coder: range (the model's learned prior: "
                              "per-channel tables, or context tables if it has them), range-context, or elias-gamma"),
    target_size: Optional[int] = typer.Option(None, "--target-size", help="rate control: best quality whose "
                                              "file is at most this many bytes (instead of --bits)"),
    target_bpp: Optional[float] = typer.Option(None, "--target-bpp", help="rate control: best quality at "
                                               "most this many bits per pixel (instead of --bits)"),
    max_pixels: Optional[int] = typer.Option(None, "--max-pixels", help="refuse images larger than this "
                                             "(default 67108864 = 8192²)"),
    metadata: Optional[str] = typer.Option(None, "--metadata", help="what to keep of the input's metadata: "
                                           "all (default), none, or a comma list of icc, exif, xmp "
                                           "(alpha is always kept)"),
    strip: bool = typer.Option(False, "--strip", help="keep no metadata: the same as --metadata none"),
    exact: bool = typer.Option(False, "--exact", help="keep the colour under fully transparent pixels (by "
                               "default it is replaced by a smooth fill that costs fewer bits, as cwebp does)"),
    verbose: bool = typer.Option(False, "-v", "--verbose", help="print size, bpp, ratio and time on stderr"),
) -> None:
    with reported_errors(PROG):
        metadata = _metadata_choice(metadata, strip)
        if sum(x is not None for x in (bits, target_size, target_bpp)) > 1:
            raise CliError("give only one of --bits, --target-size and --target-bpp", EXIT_USAGE)
        if (target_size is not None and target_size < 1) or (target_bpp is not None and not target_bpp > 0):
            raise CliError("--target-size and --target-bpp must be positive", EXIT_USAGE)
        if backend is not None:
            from ..codec.plugins import backend_names
            if backend not in backend_names().values():
                raise CliError(f"unknown backend {backend!r} (installed: {', '.join(backend_names().values())})",
                               EXIT_USAGE)
        options = {"loss": loss, "effort": effort, "ratio": ratio, "channels": channels,
                   "roi_background": roi_background}
        work = partial(encode_image_bytes, bits=bits, model=model, coder=coder, target_size=target_size,
                       target_bpp=target_bpp, max_pixels=max_pixels, backend=backend, options=options,
                       metadata=metadata, exact=exact)
        if out_dir is not None:
            if roi is not None:
                raise CliError("--roi describes one image: it cannot be used with --out-dir", EXIT_USAGE)
            from .batch import IMAGE_EXTENSIONS, run_batch
            paths = check_batch_paths(paths, output)
            raise SystemExit(run_batch(PROG, paths, out_dir, ".gzc", IMAGE_EXTENSIONS, work, jobs))
        infile, target = single_file_paths(paths, output)
        if roi is not None:
            work = partial(work, roi=read_input(roi, "region-of-interest mask"))
        data = read_input(infile, "input image")
        t0 = time.perf_counter()
        encoded = work(data, name=infile if infile not in (None, "-") else "(standard input)")
        elapsed = time.perf_counter() - t0
        with atomic_output(target) as f:
            f.write(encoded)
        if verbose:
            from .. import formats
            h = formats.read_header(encoded)
            pixels = h.width * h.height
            print(f"{infile or '-'} -> {target or '-'}: {h.width}x{h.height}, {len(encoded)} bytes, "
                  f"{len(encoded) * 8 / pixels:.4f} bpp, ratio {pixels * 3 / len(encoded):.1f}:1, "
                  f"bits {h.bits}, coder {formats.CODER_NAMES[h.coder]}, model {h.model_id.hex()}, "
                  f"{elapsed:.2f} s{_ancillary_note(h)}", file=sys.stderr)


def _metadata_choice(metadata: str | None, strip: bool) -> str:
    """--metadata / --strip → a checked --metadata value (a usage error names the bad word)."""
    from ..codec.metadata import MetadataSelectionError, parse_selection
    if strip and metadata not in (None, "none"):
        raise CliError("--strip means --metadata none: give one of them", EXIT_USAGE)
    metadata = "none" if strip else (metadata or "all")
    try:
        parse_selection(metadata)
    except MetadataSelectionError as exc:
        raise CliError(str(exc), EXIT_USAGE) from None
    return metadata


def _ancillary_note(header) -> str:
    """', kept: alpha 412 B, ICC 3144 B' for -v: what the file carries besides the colour."""
    from .. import formats
    names = {formats.CHUNK_ALPH: "alpha", formats.CHUNK_ICCP: "ICC", formats.CHUNK_EXIF: "EXIF",
             formats.CHUNK_XMPP: "XMP"}
    kept = [f"{names[c.type]} {len(c.data)} B" for c in header.chunks if c.type in names]
    return f", kept: {', '.join(kept)}" if kept else ""


def main() -> None:
    run_app(app, PROG)


if __name__ == "__main__":
    main()
