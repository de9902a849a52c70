"""The coverage-guided fuzz harness (tests/fuzz/harness.py): pinned regressions and the seed corpus
replay cleanly through both targets, the harness' CRC fixing and memory cap work, and a short
atheris run of each target passes (CI's short version of bench/fuzz_campaign.py)."""
from __future__ import annotations

import subprocess
import sys
import zlib
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent / "fuzz"
sys.path.insert(0, str(HERE))
import harness  # noqa: E402

REGRESSIONS = sorted(p for p in (HERE / "regressions").iterdir() if p.suffix != ".md")


@pytest.mark.parametrize("target", harness.TARGETS)
def test_seeds_and_pinned_regressions_raise_only_gzc_errors(target):
    inputs = harness.seeds() + harness.kept_corpus(target) + [p.read_bytes() for p in REGRESSIONS]
    assert len(inputs) >= 60
    for data in inputs:
        harness.TARGETS[target](data)            # anything but a GzcError propagates and fails


def test_fix_crc_gets_mutations_past_the_crc_check():
    from gzc import formats
    data = bytearray(harness.seeds()[0])
    data[10] ^= 0x40
    with pytest.raises(formats.CrcMismatchError):
        formats.read(bytes(data))
    fixed = harness.fix_crc(bytes(data))
    assert zlib.crc32(fixed[:-4]) == int.from_bytes(fixed[-4:], "big")
    try:
        formats.read(fixed)
    except formats.GzcError as exc:
        assert not isinstance(exc, formats.CrcMismatchError)


def test_memory_cap_turns_a_huge_allocation_into_a_memory_error():
    code = ("import sys; sys.path.insert(0, %r); import harness; harness.limit_memory(256 << 20)\n"
            "try:\n    bytearray(1 << 30)\nexcept MemoryError:\n    print('capped')" % str(HERE))
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.stdout.strip() == "capped", proc.stderr


@pytest.mark.parametrize("target, runs", [("parser", 5000), ("decoder", 200)])
def test_short_atheris_run(tmp_path, target, runs):
    pytest.importorskip("atheris")
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for i, seed in enumerate(harness.seeds()[:12]):
        (corpus / f"seed-{i}").write_bytes(seed)
    proc = subprocess.run([sys.executable, str(HERE / "harness.py"), target, str(corpus), f"-runs={runs}",
                           f"-dict={HERE / 'gzc.dict'}", "-timeout=10", f"-artifact_prefix={tmp_path}/",
                           "-seed=1"], capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert f"Done {runs} runs" in proc.stderr
