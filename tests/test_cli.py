"""gzc-enc / gzc-dec / gzc-info as a user runs them: files, pipes, errors, exit codes."""
from __future__ import annotations

import dataclasses
import json

import numpy as np
from PIL import Image

from conftest import psnr, run_tool
from gzc import formats
from gzc.tools.cli_common import EXIT_CORRUPT, EXIT_INPUT, EXIT_UNSUPPORTED, EXIT_USAGE, EXIT_WRITE


def _one_error_line(proc, prog):
    lines = proc.stderr.decode().strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"{prog}: error: "), proc.stderr.decode()
    assert "Traceback" not in proc.stderr.decode()


def test_encode_decode_files_and_verbose_bpp(tmp_path, photo_png, photo):
    out = tmp_path / "x.gzc"
    enc = run_tool("gzc-enc", photo_png, out, "--bits", "6", "-v")
    assert enc.returncode == 0, enc.stderr
    size = out.stat().st_size
    pixels = photo.shape[0] * photo.shape[1]
    assert f"{size} bytes" in enc.stderr.decode()
    assert f"{size * 8 / pixels:.4f} bpp" in enc.stderr.decode()
    dec = run_tool("gzc-dec", out, "-o", tmp_path / "x.png")
    assert dec.returncode == 0, dec.stderr
    decoded = np.asarray(Image.open(tmp_path / "x.png"))
    assert decoded.shape == photo.shape and psnr(photo, decoded) > 24  # measured 25.2 at --bits 6
    ppm = run_tool("gzc-dec", out, tmp_path / "x.ppm")
    assert ppm.returncode == 0 and (tmp_path / "x.ppm").read_bytes()[:2] == b"P6"


def test_stdin_to_stdout_pipeline(photo_png):
    enc = run_tool("gzc-enc", "--bits", "5", stdin=photo_png.read_bytes())
    assert enc.returncode == 0 and enc.stdout[:4] == b"\x89GZC"
    dec = run_tool("gzc-dec", "-", stdin=enc.stdout)
    assert dec.returncode == 0 and dec.stdout[:8] == b"\x89PNG\r\n\x1a\n"
    info = run_tool("gzc-info", "--json", stdin=enc.stdout)
    fields = json.loads(info.stdout)
    assert fields["bits"] == 5 and fields["bytes"] == len(enc.stdout) and fields["crc"] == "ok"


def test_info_lists_models():
    proc = run_tool("gzc-info", "--models", "--json")
    assert proc.returncode == 0 and len(json.loads(proc.stdout)) >= 1
    table = run_tool("gzc-info", "--models")                 # the model IDs form one column
    ids = {m["model_id"] for m in json.loads(proc.stdout)}
    lines = table.stdout.decode().splitlines()
    assert table.returncode == 0 and len(lines) == len(ids)
    assert len({line.index(next(i for i in ids if i in line)) for line in lines}) == 1


def test_missing_and_unreadable_inputs(tmp_path):
    proc = run_tool("gzc-enc", tmp_path / "nope.png", tmp_path / "o.gzc")
    assert proc.returncode == EXIT_INPUT
    _one_error_line(proc, "gzc-enc")
    (tmp_path / "text.png").write_text("not an image")
    proc = run_tool("gzc-enc", tmp_path / "text.png", tmp_path / "o.gzc")
    assert proc.returncode == EXIT_INPUT
    _one_error_line(proc, "gzc-enc")
    assert not (tmp_path / "o.gzc").exists()
    proc = run_tool("gzc-dec", "-", tmp_path / "o.png", stdin=b"")
    assert proc.returncode == EXIT_INPUT and "empty" in proc.stderr.decode()


def test_corrupt_truncated_and_foreign_files(tmp_path, photo_png):
    good = run_tool("gzc-enc", photo_png, "--bits", "4", stdin=None).stdout
    cases = {
        "truncated": good[: len(good) // 2],
        "bitflip": good[:30] + bytes([good[30] ^ 0x10]) + good[31:],
        "png": photo_png.read_bytes(),
    }
    for name, blob in cases.items():
        src = tmp_path / f"{name}.gzc"
        src.write_bytes(blob)
        target = tmp_path / f"{name}.png"
        proc = run_tool("gzc-dec", src, target)
        assert proc.returncode == EXIT_CORRUPT, (name, proc.stderr)
        _one_error_line(proc, "gzc-dec")
        assert not target.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".part")]


def test_unknown_model_and_unsupported_settings(tmp_path, photo_png):
    good = run_tool("gzc-enc", photo_png).stdout
    body = formats.write(dataclasses.replace(formats.read(good), model_id=bytes.fromhex("deadbeefdeadbeef")))
    proc = run_tool("gzc-dec", "-", tmp_path / "o.png", stdin=body)
    assert proc.returncode == EXIT_UNSUPPORTED and "deadbeefdeadbeef" in proc.stderr.decode()
    _one_error_line(proc, "gzc-dec")
    proc = run_tool("gzc-enc", photo_png, tmp_path / "o.gzc", "--bits", "2")
    assert proc.returncode == EXIT_UNSUPPORTED and not (tmp_path / "o.gzc").exists()
    proc = run_tool("gzc-enc", photo_png, tmp_path / "o.gzc", "--model", "nonexistent")
    assert proc.returncode == EXIT_UNSUPPORTED


def test_usage_and_write_errors(tmp_path, photo_png):
    proc = run_tool("gzc-enc", photo_png, tmp_path / "a.gzc", "-o", tmp_path / "b.gzc")
    assert proc.returncode == EXIT_USAGE
    proc = run_tool("gzc-enc", photo_png, "--bits", "six")
    assert proc.returncode == EXIT_USAGE
    good = run_tool("gzc-enc", photo_png).stdout
    proc = run_tool("gzc-dec", "-", tmp_path / "out.xyz", stdin=good)
    assert proc.returncode == EXIT_USAGE and "--format" in proc.stderr.decode()
    proc = run_tool("gzc-enc", photo_png, tmp_path / "no" / "such" / "dir.gzc")
    assert proc.returncode == EXIT_WRITE
    _one_error_line(proc, "gzc-enc")


def test_target_size_rate_control(tmp_path, photo_png):
    import gzc      # the ladder's sizes in process (a subprocess per setting cost seconds each)
    sizes = {b: len(gzc.encode(Image.open(photo_png), bits=b)) for b in (4, 5, 6, 7, 8)}
    target = (sizes[6] + sizes[7]) // 2                     # between two settings: must pick bits 6
    proc = run_tool("gzc-enc", photo_png, tmp_path / "t.gzc", "--target-size", str(target))
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "t.gzc").stat().st_size == sizes[6] <= target
    proc = run_tool("gzc-enc", photo_png, tmp_path / "u.gzc", "--target-size", str(sizes[4] - 1))
    assert proc.returncode == EXIT_UNSUPPORTED and "cannot reach" in proc.stderr.decode()
    assert not (tmp_path / "u.gzc").exists()
    proc = run_tool("gzc-enc", photo_png, tmp_path / "v.gzc", "--target-size", "100", "--bits", "5")
    assert proc.returncode == EXIT_USAGE


def test_batch_mode_folders_jobs_and_per_file_errors(tmp_path, photo):
    src = tmp_path / "in"
    src.mkdir()
    for i in range(3):
        Image.fromarray(np.roll(photo, 7 * i, axis=1)).save(src / f"img{i}.png")
    (src / "broken.png").write_bytes(b"\x89PNG not really")
    extra = tmp_path / "extra.png"
    Image.fromarray(photo).save(extra)
    proc = run_tool("gzc-enc", src, extra, "--out-dir", tmp_path / "gz", "--jobs", "2", "--bits", "5")
    assert proc.returncode == EXIT_INPUT, proc.stderr                     # one unreadable input
    errors = [l for l in proc.stderr.decode().splitlines() if ": error: " in l]
    assert len(errors) == 1 and "broken.png" in errors[0]
    made = sorted(p.name for p in (tmp_path / "gz").iterdir())
    assert made == ["extra.gzc", "img0.gzc", "img1.gzc", "img2.gzc"]
    single = run_tool("gzc-enc", src / "img1.png", "--bits", "5").stdout
    assert (tmp_path / "gz" / "img1.gzc").read_bytes() == single        # same bytes as single-file mode
    proc = run_tool("gzc-dec", tmp_path / "gz", "--out-dir", tmp_path / "png", "-j", "2")
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in (tmp_path / "png").iterdir()) == ["extra.png", "img0.png", "img1.png", "img2.png"]
    assert run_tool("gzc-enc", extra, extra, extra).returncode == EXIT_USAGE   # several inputs need --out-dir
