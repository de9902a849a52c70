"""gzc-bench-faces: the latent-search backend on held-out faces, against JPEG and WebP.

    gzc-bench-faces --n 100 --ablation-n 32 --out bench/results/faces

Every figure comes from a complete file written to disk (``len(file) × 8 /
pixels``, header included) and decoded back by the normal decoder. The faces
are CelebA ``009001``… (the held-out set, never seen in training), 64×64 as
the training faces. What is measured:

* main table (``--n`` faces): --bits 8/6/4 in plain mode and several GANZ
  ratios, with the default loss and effort; JPEG at quality 1 and 10; JPEG
  and WebP quality sweeps for comparisons at equal bpp;
* ablations (``--ablation-n`` faces, --bits 6): the search loss, the effort,
  the quantizer (uniform vs quantile, both with tables built the same way
  from the model's stored latent statistics) and the entropy coder (range vs
  Elias-gamma, the same latent coded both ways);
* encode and decode time per image (model loaded, torch threads stated).

Writes ``records.jsonl``, ``summary.json``, ``report.md``, ``ssim_vs_bpp.png``,
``sheet.png`` (originals above decodes) and ``generator_samples.png`` (G(z)
for random z: what the generator makes on its own).
"""
from __future__ import annotations

import dataclasses
import json
import platform
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Optional

import numpy as np
import typer

from ..cli_common import new_app, run_app


app = new_app()

MAIN_GZC = [("b8", 8, {}), ("b6", 6, {}), ("b4", 4, {}),
            ("ganz-R24-b6", 6, {"ratio": 24}), ("ganz-R48-b6", 6, {"ratio": 48}), ("ganz-R96-b6", 6, {"ratio": 96}),
            ("ganz-R48-b4", 4, {"ratio": 48})]
LOSS_ABLATION = ["l2", "l1", "ssim", "ms-ssim", "mix"]
EFFORT_ABLATION = [0, 1, 2, 3]
JPEG_SWEEP = [1, 5, 10, 20, 30, 50, 75]
WEBP_SWEEP = [0, 5, 10, 20, 40, 60, 80]
SHEET_FACES = 8


def _metrics(ref: np.ndarray, out: np.ndarray) -> dict:
    from .metrics import psnr, ssim_rgb
    return {"psnr": psnr(ref, out), "ssim": ssim_rgb(ref, out)}


def _write(folder: Path, name: str, data: bytes) -> int:
    path = folder / name
    path.write_bytes(data)
    return path.stat().st_size


def quantile_variant(backend):
    """The same model with the quantile quantizer, its tables rebuilt from the stored statistics
    exactly as export builds the shipped ones (for the ablation only: its files carry the
    shipped model ID but need this variant to decode, so they are decoded in-process)."""
    from ...codec.latent_search.backend import BITS
    from ...codec.training.latent_search.export import gaussian_table
    s = backend.table_stats
    tables = {"z": {b: [gaussian_table(m, sd, b, "quantile", backend.clip) for m, sd in zip(s["z_mean"], s["z_std"])]
                    for b in BITS},
              "ganz": {b: [gaussian_table(0.0, float(s["ganz_std"][0]), b, "quantile", backend.clip)] for b in BITS}}
    return type(backend)(backend.generator, backend.encoder, tables, "quantile", backend.clip,
                         backend.name + " (quantile variant)", backend.model_id, table_stats=s)


def recode(data: bytes, backend, coder: str) -> bytes:
    """The same latent in a file with the other entropy coder."""
    from ... import formats
    from ...codec.codec import CODERS, decode_payload, encode_payload
    h = formats.read(data)
    configured = backend.from_chunks(h.chunks)
    symbols = decode_payload(h, configured)
    return formats.write(dataclasses.replace(h, coder=CODERS[coder],
                                             payload=encode_payload(symbols, configured, h.bits, coder)))


def run_gzc(backend, faces, label, bits, options, coder, folder, decoder=None, sheet=None) -> list[dict]:
    """Encode and decode each face; ``decoder`` is a backend to decode with instead of the
    installed model the file names (the quantile ablation's variant)."""
    import torch

    from ...codec.codec import decode_bytes, decode_with, encode_with
    rows = []
    for i, face in enumerate(faces):
        t0 = time.perf_counter()
        data = encode_with(backend, face, bits=bits, coder=coder, options=options)
        t_enc = time.perf_counter() - t0
        size = _write(folder, f"{label}-{i:04d}.gzc", data)
        stored = (folder / f"{label}-{i:04d}.gzc").read_bytes()
        t0 = time.perf_counter()
        out = (decode_bytes(stored) if decoder is None else decode_with(decoder, stored)).pixels
        t_dec = time.perf_counter() - t0
        rows.append({"codec": "gzc", "config": label, "image": i, "bits": bits, "coder": coder,
                     "options": options, "bytes": size, "encode_s": t_enc, "decode_s": t_dec,
                     "threads": torch.get_num_threads(), **_metrics(face, out)})
        if i < SHEET_FACES and sheet is not None:
            sheet.setdefault(label, []).append(out)
        if coder == "range":
            other = recode(stored, decoder or backend, "elias-gamma")
            osize = _write(folder, f"{label}-eg-{i:04d}.gzc", other)
            rows.append({**rows[-1], "config": label + "-elias", "coder": "elias-gamma", "bytes": osize,
                         "encode_s": None, "decode_s": None})
    return rows


def run_classical(faces, name, sweep, folder) -> list[dict]:
    from .codecs import jpeg, webp
    codec = {"jpeg": jpeg, "webp": webp}[name]()
    rows = []
    for q in sweep:
        for i, face in enumerate(faces):
            data = codec.encode(face, q)
            size = _write(folder, f"{name}-q{q}-{i:04d}", data)
            out = codec.decode((folder / f"{name}-q{q}-{i:04d}").read_bytes())
            rows.append({"codec": name, "config": f"{name}-q{q}", "quality": q, "image": i, "bytes": size,
                         **_metrics(face, out)})
    return rows


def summarise(rows: list[dict], pixels: int) -> dict:
    out = {}
    for r in rows:
        out.setdefault(r["config"], []).append(r)
    summary = {}
    for config, rs in out.items():
        bpp = [r["bytes"] * 8 / pixels for r in rs]
        enc = [r["encode_s"] for r in rs if r.get("encode_s") is not None]
        dec = [r["decode_s"] for r in rs if r.get("decode_s") is not None]
        summary[config] = {
            "images": len(rs), "bytes": float(np.mean([r["bytes"] for r in rs])), "bpp": float(np.mean(bpp)),
            "ratio": float(24 / np.mean(bpp)), "psnr": float(np.mean([r["psnr"] for r in rs])),
            "ssim": float(np.mean([r["ssim"] for r in rs])),
            "encode_s_mean": float(np.mean(enc)) if enc else None,
            "encode_s_median": float(np.median(enc)) if enc else None,
            "encode_s_max": float(np.max(enc)) if enc else None,
            "decode_s_mean": float(np.mean(dec)) if dec else None,
            **{k: rs[0][k] for k in ("codec", "bits", "coder", "options", "quality") if k in rs[0]}}
    return summary


def interpolate(summary: dict, codec: str, bpp: float, key: str) -> Optional[float]:
    """The classical codec's mean ``key`` at this mean bpp (linear between sweep points), or None
    if ``bpp`` lies outside its range."""
    pts = sorted((v["bpp"], v[key]) for v in summary.values() if v["codec"] == codec)
    xs, ys = [p[0] for p in pts], [p[1] for p in pts]
    if not xs or bpp < xs[0] or bpp > xs[-1]:
        return None
    return float(np.interp(bpp, xs, ys))


@app.command()
def main_command(
    n: int = typer.Option(100, help="held-out faces for the main table"),
    ablation_n: int = typer.Option(32, help="held-out faces for the ablations"),
    out: Path = typer.Option(Path("bench/results/faces"), help="output folder"),
    model: Optional[str] = typer.Option(None, help="latent-search model (default: the installed one)"),
    threads: int = typer.Option(2, help="torch threads"),
    faces_dir: Path = typer.Option(Path("../shared/data/faces/celeba"), help="CelebA aligned faces"),
    skip_ablations: bool = typer.Option(False, help="only the main table"),
) -> None:
    import torch

    from ...codec.training.latent_search.faces import TEST, load_faces
    from ...codec.registry import find_model, load_backend
    from .report_faces import samples_sheet, write_report
    torch.set_num_threads(threads)
    info = find_model(model, backend="latent-search")
    backend = load_backend(info)
    faces = load_faces(list(TEST)[:max(n, ablation_n)], faces_dir)
    out.mkdir(parents=True, exist_ok=True)
    rows: list[dict] = []
    sheet: dict[str, list] = {}
    started = time.time()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        main_faces, abl_faces = faces[:n], faces[:ablation_n]
        rows += run_classical(main_faces, "jpeg", JPEG_SWEEP, folder)
        rows += run_classical(main_faces, "webp", WEBP_SWEEP, folder)
        for label, bits, options in MAIN_GZC:
            print(f"{label} ({len(main_faces)} faces)…", flush=True)
            rows += run_gzc(backend, main_faces, label, bits, dict(options), "range", folder, sheet=sheet)
        if not skip_ablations:
            for loss in LOSS_ABLATION:
                print(f"loss {loss}…", flush=True)
                rows += run_gzc(backend, abl_faces, f"abl-loss-{loss}", 6, {"loss": loss}, "range", folder)
            for effort in EFFORT_ABLATION:
                print(f"effort {effort}…", flush=True)
                rows += run_gzc(backend, abl_faces, f"abl-effort-{effort}", 6, {"effort": effort}, "range", folder)
            variant = quantile_variant(backend)
            for bits in (8, 6, 4):
                print(f"quantizer ablation b{bits}…", flush=True)
                rows += run_gzc(backend, abl_faces, f"abl-quant-uniform-b{bits}", bits, {}, "range", folder)
                rows += run_gzc(variant, abl_faces, f"abl-quant-quantile-b{bits}", bits, {}, "range", folder,
                                decoder=variant)
        from .codecs import jpeg
        codec = jpeg()
        for q in (1, 10):   # JPEG rows of the sheet
            sheet[f"jpeg-q{q}"] = [codec.decode(codec.encode(f, q)) for f in faces[:SHEET_FACES]]
    (out / "records.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    summary = summarise(rows, 64 * 64)
    meta = {"model": info.name, "model_id": info.model_id.hex(), "faces": f"CelebA {list(TEST)[0]:06d}…",
            "n_main": n, "n_ablation": ablation_n, "threads": threads, "machine": platform.processor() or platform.machine(),
            "date": date.today().isoformat(), "minutes": round((time.time() - started) / 60, 1),
            "command": f"gzc-bench-faces --n {n} --ablation-n {ablation_n}"}
    (out / "summary.json").write_text(json.dumps({"meta": meta, "configs": summary}, indent=2) + "\n")
    write_report(out, meta, summary, faces[:SHEET_FACES], sheet)
    samples_sheet(backend, out)
    print(f"wrote {out}")


def main() -> None:
    run_app(app, "gzc-bench-faces")


if __name__ == "__main__":
    main()
