"""gzc-info: print a .gzc file's header fields (no pixels are decoded, torch is not loaded)."""
from __future__ import annotations

import json
from typing import Optional

import typer

from .cli_common import new_app, read_input, reported_errors, run_app

PROG = "gzc-info"
app = new_app()


@app.command(help="Describe INFILE ('-' or omitted = stdin), or list the installed models with --models.")
def info(
    infile: Optional[str] = typer.Argument(None, help="input .gzc; '-' or omitted reads stdin"),
    as_json: bool = typer.Option(False, "--json", help="print JSON instead of text"),
    models: bool = typer.Option(False, "--models", help="list installed models and exit"),
) -> None:
    with reported_errors(PROG):
        from .. import formats
        from ..codec.metadata import describe
        from ..codec.plugins import backend_names
        from ..codec.registry import ModelError, available_models, find_by_id

        if models:
            rows = [{"name": m.name, "model_id": m.model_id.hex(), "backend": m.backend,
                     "bits": m.manifest.get("bits"), "channels": m.manifest.get("channels"),
                     "default": bool(m.manifest.get("default"))}
                    for m in available_models()]    # every installed backend plugin's models
            if as_json:
                print(json.dumps(rows, indent=2))
            else:
                width = max((len(r["name"]) for r in rows), default=0)   # names line up, however long
                for r in rows:
                    print(f"{r['name']:{width}} {r['model_id']}  {r['backend']:14} bits {r['bits']}"
                          + (f"  channels {r['channels']} (generative)" if r["channels"] else "")
                          + ("  (default)" if r["default"] else ""))
            return
        data = read_input(infile, "input file")
        h = formats.read_header(data)
        try:
            model_name = find_by_id(h.model_id, backend_id=h.backend).name
        except ModelError:
            model_name = "(not installed)"
        pixels = h.width * h.height
        fields = {
            "file": infile or "-",
            "bytes": len(data),
            "version": f"{h.version[0]}.{h.version[1]}",
            "width": h.width,
            "height": h.height,
            "colour": formats.COLOR_NAMES.get(h.color, str(h.color)),
            "backend": backend_names().get(h.backend, f"{h.backend} (not installed)"),
            "model_id": h.model_id.hex(),
            "model": model_name,
            "bits": h.bits,
            "coder": formats.CODER_NAMES.get(h.coder, str(h.coder)),
            "latent_shape": list(h.latent_shape),
            "chunks": [_describe_chunk(c, h) for c in h.chunks],
            "alpha": h.chunk(formats.CHUNK_ALPH) is not None,
            **describe(formats.Metadata.from_chunks(h.chunks)),
            "payload_bytes": len(h.payload),
            "header_bytes": len(data) - len(h.payload) - 4,
            "bpp": round(len(data) * 8 / pixels, 5),
            "ratio": round(pixels * 3 / len(data), 2),
            "crc": "ok",
        }
        if as_json:
            print(json.dumps(fields, indent=2))
        else:
            for k, v in fields.items():
                if isinstance(v, dict):          # icc_profile, exif, xmp: "3144 bytes, description sRGB"
                    v = ", ".join(f"{n} {x}" if n != "bytes" else f"{x} bytes" for n, x in v.items())
                print(f"{k:13} {v}")


def _describe_chunk(chunk, header) -> dict:
    from .. import formats
    out = {"type": chunk.type.decode(), "bytes": len(chunk.data)}
    if chunk.type == formats.CHUNK_GANZ:
        ganz = formats.GanzParameters.from_chunk(chunk)
        out |= {"seed": f"0x{ganz.seed:016x}", "dims": ganz.dims}
    elif chunk.type in (formats.CHUNK_ICCP, formats.CHUNK_EXIF, formats.CHUNK_XMPP) and chunk.data:
        out["method"] = {0: "stored", 1: "zlib"}.get(chunk.data[0], str(chunk.data[0]))
    elif chunk.type == formats.CHUNK_ROIM and len(header.latent_shape) == 3:
        roi = formats.RoiMap.from_chunk(chunk, header.latent_shape[1], header.latent_shape[2])
        out |= {"background_channels": roi.background_channels,
                "roi_cells": f"{sum(roi.cells)} of {len(roi.cells)}"}
    return out


def main() -> None:
    run_app(app, PROG)


if __name__ == "__main__":
    main()
