"""gzc-bench: sweep codecs over a folder of images and report rate–distortion.

    gzc-bench                                  # full run on ../shared/data/kodak
    gzc-bench --quick --out /tmp/b             # 2 images (256² crops), 2 points per codec
    gzc-bench --codecs jpeg,webp --no-speed    # a subset; results merge with earlier runs

Each codec's per-image records go to ``OUT/records/<codec>.json`` (with the
command and date that produced them); every run then rebuilds the report from
all records in OUT: ``summary.json``, ``matched.json``, ``bdrate.json``,
``speed.json``, ``report.md``, ``paper_tables.md`` and the plots. Every
encoding is written to a file and its size read back from the file system.
"""
from __future__ import annotations

import datetime
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Optional

import numpy as np
import typer
from PIL import Image

from ..cli_common import new_app, run_app

app = new_app()
DEFAULT_IMAGES = Path("../shared/data/kodak")


def _clean(obj):
    """JSON cannot hold inf/nan: write them as null."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    if isinstance(obj, np.generic):
        return _clean(obj.item())
    return obj


def load_images(folder: Path, quick: bool) -> list[tuple[str, np.ndarray]]:
    paths = sorted(p for p in folder.iterdir() if p.suffix.lower() in {".png", ".ppm", ".bmp", ".tif", ".tiff"})
    if not paths:
        raise typer.BadParameter(f"no PNG/PPM/BMP/TIFF images in {folder}")
    if quick:
        paths = paths[:2]
    out = []
    for p in paths:
        img = np.asarray(Image.open(p).convert("RGB"))
        if quick:  # centre 256×256: big enough for MS-SSIM's 5 scales
            h, w = img.shape[:2]
            top, left = max(0, (h - 256) // 2), max(0, (w - 256) // 2)
            img = np.ascontiguousarray(img[top:top + 256, left:left + 256])
        out.append((p.name, img))
    return out


def measure(codec, images, params, workdir: Path) -> list[dict]:
    from .metrics import all_metrics
    records = []
    for name, img in images:
        pixels = img.shape[0] * img.shape[1]
        for p in params:
            t = time.perf_counter()
            data = codec.encode(img, p)
            enc_s = time.perf_counter() - t
            path = workdir / f"{Path(name).stem}.{codec.name.replace(':', '_')}.{p}"
            path.write_bytes(data)
            size = path.stat().st_size                    # the real file size
            t = time.perf_counter()
            dec = codec.decode(path.read_bytes())
            dec_s = time.perf_counter() - t
            path.unlink()
            if dec.shape != img.shape:
                raise RuntimeError(f"{codec.name} returned {dec.shape} for {img.shape}")
            records.append({"codec": codec.name, "param": p, "image": name, "width": img.shape[1],
                            "height": img.shape[0], "bytes": size, "bpp": size * 8 / pixels,
                            "ratio": pixels * 3 / size, "encode_s": enc_s, "decode_s": dec_s,
                            **all_metrics(img, dec)})
        print(f"  {codec.name:24} {name}: " + " ".join(f"{r['bpp']:.3f}" for r in records[-len(params):]) + " bpp",
              file=sys.stderr, flush=True)
    return records


def _earlier_records(records_dir: Path, name: str, replaced: list) -> list[dict]:
    """The records of ``name`` already in ``records_dir`` for settings other than ``replaced``."""
    path = records_dir / f"{name.replace(':', '_')}.json"
    if not path.exists():
        return []
    return [r for r in json.loads(path.read_text())["records"] if r["param"] not in replaced]


def _load_speed(out: Path) -> list:
    path = out / "speed.json"
    return json.loads(path.read_text()) if path.exists() else []


def probe(codec, param, image_path: Path, repeats: int, threads: int) -> dict:
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    setup = "import torch; torch.set_num_threads(%d); " % threads if codec.name.startswith("gzc:") else ""
    code = setup + "import sys; sys.argv=['probe']+sys.argv[1:]; from gzc.tools.bench.probe import main; main()"
    proc = subprocess.run([sys.executable, "-c", code, codec.name, str(param), str(image_path), str(repeats)],
                          capture_output=True, text=True, env=env, timeout=900)
    if proc.returncode:
        raise RuntimeError(f"probe of {codec.name} failed: {proc.stderr.strip().splitlines()[-1:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


@app.command(help="Benchmark gzc models against classical codecs (see module docstring).")
def bench(
    images: Path = typer.Option(DEFAULT_IMAGES, help="folder of test images"),
    codecs: Optional[str] = typer.Option(None, help="comma-separated codec names (default: all available)"),
    out: Path = typer.Option(Path("bench/results/kodak"), help="output folder"),
    quick: bool = typer.Option(False, help="2 images cropped to 256², 2 points per codec (for tests/CI)"),
    speed: bool = typer.Option(True, help="measure speed and peak memory in one process per codec"),
    repeats: int = typer.Option(3, help="timing repeats (median) for the speed probe"),
    threads: int = typer.Option(2, help="torch threads for gzc (stated in the report)"),
    fresh: bool = typer.Option(False, help="delete earlier records in OUT first"),
    readme: Optional[Path] = typer.Option(None, help="rewrite the generated results blocks of this README "
                                          "(<!-- bench-summary:start --> … end) and of docs/results.md and "
                                          "docs/extreme-rates.md beside it (bench, extreme)"),
    report_only: bool = typer.Option(False, "--report-only", help="only rebuild the report from OUT's records"),
    speed_only: bool = typer.Option(False, "--speed-only", help="only (re)measure speed and memory, then report"),
    manifests: bool = typer.Option(False, "--manifests", help="record each shipped model's mean results "
                                   "in its weights/ manifest (not part of the hashed weights file)"),
    params: Optional[str] = typer.Option(None, "--params", help="comma-separated subset of each chosen "
                                         "codec's sweep (e.g. c16b3,c16b4), instead of all of it"),
) -> None:
    import torch

    from .codecs import all_codecs, find_codec

    if report_only:
        build_report(out, _load_speed(out), readme, manifests)
        return
    torch.set_num_threads(threads)
    available = all_codecs()
    chosen = list(available) if not codecs else [c.strip() for c in codecs.split(",") if c.strip()]
    found = {name: find_codec(name, available) for name in chosen}
    unknown = [name for name, codec in found.items() if codec is None]
    if unknown:
        raise typer.BadParameter(f"unknown codec(s) {', '.join(unknown)}; available: {', '.join(available)} "
                                 f"(and gzc:MODEL@eN, a model encoded with --effort N)")
    subset = [p.strip() for p in params.split(",") if p.strip()] if params else None
    if not images.is_dir():
        raise typer.BadParameter(f"image folder {images} not found")
    imgs = load_images(images, quick)
    records_dir = out / "records"
    records_dir.mkdir(parents=True, exist_ok=True)
    if fresh:
        for f in records_dir.glob("*.json"):
            f.unlink()
    command = "gzc-bench " + " ".join(sys.argv[1:])
    stamp = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    speed_rows = [] if fresh else _load_speed(out)
    with tempfile.TemporaryDirectory() as tmp:
        for name in chosen:
            codec = found[name]
            sweep = codec.quick_params if quick else codec.params
            if subset is not None:
                sweep = [p for p in codec.params if str(p) in subset]
                if not sweep:
                    raise typer.BadParameter(f"--params {params}: none is a setting of {name} "
                                             f"({', '.join(map(str, codec.params))})")
            print(f"{name}: {codec.param_name} {sweep}", file=sys.stderr, flush=True)
            if not speed_only:
                recs = measure(codec, imgs, sweep, Path(tmp))
                if subset is not None:   # a partial sweep keeps the codec's other settings' records
                    recs = _earlier_records(records_dir, name, sweep) + recs
                (records_dir / f"{name.replace(':', '_')}.json").write_text(json.dumps(_clean({
                    "codec": name, "label": codec.label, "settings": codec.settings, "command": command,
                    "date": stamp, "images": str(images), "quick": quick, "records": recs}), indent=1))
            if speed or speed_only:
                mid = sweep[len(sweep) // 2]
                first = sorted(p for p in images.iterdir() if p.suffix.lower() == ".png")[0]
                row = probe(codec, mid, first, 1 if quick else repeats, threads)
                speed_rows = [r for r in speed_rows if r["codec"] != name] + [row]
    (out / "speed.json").write_text(json.dumps(_clean(speed_rows), indent=1))
    build_report(out, speed_rows, readme, manifests)


def build_report(out: Path, speed_rows: list, readme: Path | None = None, manifests: bool = False) -> None:
    from . import report
    records, labels, meta = [], {}, []
    for f in sorted((out / "records").glob("*.json")):
        d = json.loads(f.read_text())
        records += d["records"]
        labels[d["codec"]] = d["label"]
        meta.append({k: d[k] for k in ("codec", "settings", "command", "date", "images", "quick")})
    summary = report.summarise(records)
    matched = report.matched_rate(records)
    bd = report.bd_rates(summary)
    (out / "summary.json").write_text(json.dumps(_clean({"runs": meta, "machine": platform.platform(),
                                                          "cpu_count": os.cpu_count(), "codecs": summary}), indent=1))
    (out / "matched.json").write_text(json.dumps(_clean(matched), indent=1))
    report.write_csv(records, out / "records.csv")
    (out / "bdrate.json").write_text(json.dumps(_clean(bd), indent=1))
    md = report.markdown(summary, matched, bd, labels, speed_rows)
    (out / "report.md").write_text("<!-- generated by gzc-bench; do not edit -->\n" + md)
    (out / "paper_tables.md").write_text("<!-- generated by gzc-bench; do not edit -->\n" +
                                         report.paper_tables(summary, labels))
    report.plot(summary, labels, out)
    extreme_md = None
    if any(report.is_generative(points) for points in summary.values()):
        from . import extreme
        comparison = extreme.compare(summary)
        (out / "extreme.json").write_text(json.dumps(_clean(comparison), indent=1))
        extreme_md = extreme.markdown(comparison, labels)
        (out / "extreme.md").write_text(extreme_md)
        extreme.plot(summary, labels, out)
    if manifests:
        _record_in_manifests(summary, meta, out)
    refined = report.refinement(records)
    if refined:
        (out / "refinement.json").write_text(json.dumps(_clean(refined), indent=1))
    if readme is not None:
        docs = readme.parent / "docs"

        def blocks(page: Path) -> dict:
            """Generated blocks by marker name, their links relative to ``page``."""
            link = os.path.relpath(out.resolve(), page.parent.resolve())
            made = {"bench-summary": lambda: report.summary_block(
                        summary, matched, labels, meta, link,
                        os.path.relpath((docs / "results.md").resolve(), page.parent.resolve())),
                    "bench": lambda: report.readme_block(summary, matched, bd, labels, speed_rows, meta, link,
                                                         refined)}
            if extreme_md is not None:
                made["extreme"] = lambda: extreme.readme_block(comparison, labels, link)
            return made

        _refresh_page(readme, blocks(readme), required="bench-summary")
        for page in (docs / "results.md", docs / "extreme-rates.md"):
            if page.exists():
                _refresh_page(page, blocks(page))
    print(f"wrote {out}/report.md, summary.json, matched.json, bdrate.json, speed.json, records.csv and plots",
          file=sys.stderr)


def _refresh_page(page: Path, blocks: dict, required: str | None = None) -> None:
    """Rewrite every ``<!-- NAME:start -->`` … ``<!-- NAME:end -->`` block of ``page`` whose
    NAME is in ``blocks`` (a function making its text); ``required`` must be present."""
    text = page.read_text()
    if required and f"<!-- {required}:start -->" not in text:
        raise typer.BadParameter(f"{page} has no <!-- {required}:start --> … <!-- {required}:end --> block")
    for name, make in blocks.items():
        start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
        if start in text and end in text:
            text = _replace_block(text, start, end, make())
    page.write_text(text)


def _replace_block(text: str, start: str, end: str, block: str) -> str:
    """``text`` with everything between the ``start`` and ``end`` markers replaced by ``block``."""
    head, rest = text.split(start, 1)
    return head + start + "\n" + block + end + rest.split(end, 1)[1]


def _record_in_manifests(summary: dict, meta: list, out: Path) -> None:
    from ...codec.registry import available_models
    for info in available_models():
        points = summary.get(f"gzc:{info.name}")
        if not points:
            continue
        run = next(m for m in meta if m["codec"] == f"gzc:{info.name}")
        manifest_path = info.weights_path.with_suffix(".json")
        manifest = json.loads(manifest_path.read_text())
        key = "per_setting" if info.manifest.get("channels") else "per_bits"
        manifest["results"] = {"source": f"{out}/summary.json", "images": run["images"], "date": run["date"],
                               key: {str(p["param"]): {k: _clean(p[k]) for k in ("bpp", "psnr", "msssim", "ssim")}
                                            for p in points}}
        manifest_path.write_text(json.dumps(manifest, indent=2) + "\n")


def main() -> None:
    run_app(app, "gzc-bench")


if __name__ == "__main__":
    main()
