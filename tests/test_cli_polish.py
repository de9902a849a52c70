"""CLI rough edges (issue 19): one `PROG: error:` line for a bad option (exit 2), -h and --version
on every tool, unreadable inputs named, batch errors naming the file once, plain flags in
--help; rate control over every (channels, bits) setting, and no brute force of the overfit backend."""
from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from gzc.codec import codec as core
from gzc.formats import UnsupportedSettingError, read
from gzc.tools.cli_common import EXIT_BROKEN_PIPE, EXIT_INPUT, EXIT_USAGE, run_app

TOOLS = {"gzc-enc": "gzc.tools.enc", "gzc-dec": "gzc.tools.dec", "gzc-info": "gzc.tools.info",
         "gzc-train": "gzc.tools.train", "gzc-bench": "gzc.tools.bench.cli",
         "gzc-bench-faces": "gzc.tools.bench.faces", "gzc-bench-sheet": "gzc.tools.bench.sheet"}


def run(prog: str, *args) -> int:
    with pytest.raises(SystemExit) as stopped:
        run_app(importlib.import_module(TOOLS[prog]).app, prog, [str(a) for a in args])
    return stopped.value.code


@pytest.mark.parametrize("prog", TOOLS)
def test_unknown_option_is_one_error_line_and_exit_2(prog, capsys):
    assert run(prog, "--no-such-option") == EXIT_USAGE
    out, err = capsys.readouterr()
    assert err.startswith(f"{prog}: error: No such option: --no-such-option") and err.count("\n") == 1
    assert "╭" not in err and not out


@pytest.mark.parametrize("prog", TOOLS)
def test_short_help_and_version_on_every_tool(prog, capsys):
    assert run(prog, "-h") == 0
    help_text = capsys.readouterr().out
    assert f"Usage: {prog}" in help_text and "--version" in help_text
    assert run(prog, "--version") == 0
    assert capsys.readouterr().out.strip() == f"{prog} (gzc) " + importlib.import_module("gzc").__version__


def test_train_subcommand_takes_version_and_h(capsys):
    assert run("gzc-train", "autoencoder", "--version") == 0
    assert run("gzc-train", "autoencoder", "-h") == 0


def test_flags_are_shown_plainly(capsys):
    run("gzc-enc", "--help")
    help_text = capsys.readouterr().out
    assert "-v, --verbose " in help_text and "<bool>" not in help_text
    assert "context models also 4" in help_text


def test_missing_option_value_is_a_usage_error(capsys):
    assert run("gzc-enc", "-b") == EXIT_USAGE
    assert capsys.readouterr().err.count("\n") == 1


def test_an_unreadable_input_is_named(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "photo.png").write_bytes(b"not an image at all")
    assert run("gzc-enc", "photo.png", "out.gzc") == EXIT_INPUT
    err = capsys.readouterr().err
    assert "cannot identify image file photo.png" in err and "BytesIO" not in err
    assert not (tmp_path / "out.gzc").exists()


def test_batch_errors_name_the_file_once(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bad.png").write_bytes(b"not an image")
    assert run("gzc-enc", "bad.png", "missing.png", "-d", "out") == EXIT_INPUT
    lines = [line for line in capsys.readouterr().err.splitlines() if ": error: " in line]
    assert len(lines) == 2
    for line, name in zip(lines, ("bad.png", "missing.png")):
        assert line.count(name) == 1, line


def _scene(h=48, w=64) -> np.ndarray:
    y, x = np.mgrid[0:h, 0:w]
    rng = np.random.default_rng(7)
    img = np.stack([x * 4, y * 5, (x * y) % 256], 2) + rng.normal(0, 20, (h, w, 3))
    return np.clip(img, 0, 255).astype(np.uint8)


def test_rate_control_tries_every_channel_count():
    """A target below every file of the default rate point (8 channels), above the 2-channel one:
    the search found nothing before (it tried bits at the default channel count only)."""
    img, model = _scene(), "ae-generative-context-v2"
    size = {(c, b): len(core.encode_pixels(img, model=model, bits=b, options={"channels": c}))
            for c in (2, 8) for b in (2, 3, 4)}
    target = size[2, 2]
    assert target < min(size[8, b] for b in (2, 3, 4))          # the default channel count cannot reach it
    data = core.encode_to_size(img, target, model=model)
    header = read(data)
    assert len(data) <= target and header.latent_shape[0] == 2
    with pytest.raises(core.TargetUnreachableError, match="--channels 2"):
        core.encode_to_size(img, target - 1, model=model)


def test_rate_control_refuses_to_brute_force_the_overfit_backend():
    with pytest.raises(UnsupportedSettingError, match="takes minutes"):
        core.encode_to_size(_scene(16, 16), 500, model="overfit-v1")


def test_api_errors_name_no_bytesio():
    from gzc.codec.imageio import ImageReadError, load_picture
    with pytest.raises(ImageReadError) as caught:
        load_picture(b"not an image")
    assert "BytesIO" not in str(caught.value)
    Image  # noqa: B018 (imported for the plugin registration side effect)


@pytest.mark.parametrize("args", [["gzc.tools.info", "VECTOR"], ["gzc.tools.info", "--json", "VECTOR"],
                                  ["gzc.tools.dec", "VECTOR", "-"]])
def test_output_into_a_closed_pipe_exits_quietly(args):
    """`gzc-info x.gzc | head -1`, or gzc-dec into a pipe its reader closed: exit 141 (as a shell
    reports a C tool killed by SIGPIPE) with nothing on stderr, where it printed
    'internal error: BrokenPipeError' (exit 1) or Python's 'Exception ignored … BrokenPipeError'."""
    vector = str(Path(__file__).resolve().parent.parent / "spec" / "vectors" / "rgb_48x32_b6_range.gzc")
    proc = subprocess.Popen([sys.executable, "-m", *[vector if a == "VECTOR" else a for a in args]],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()                  # the reader goes away before the tool writes anything
    err = proc.stderr.read()
    assert proc.wait(timeout=120) == EXIT_BROKEN_PIPE == 141 and err == b"", err
