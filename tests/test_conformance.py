"""The conformance runner (issue 19): every vector through gzc's decoder or an external command,
with spec §11's tolerance (exact for the overfitted backend), and real failures for wrong decoders."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from gzc.tools import conformance
from gzc.tools.cli_common import run_app

FAKE = '''
import sys, json, shutil
from pathlib import Path
import numpy as np
from PIL import Image
src, out = Path(sys.argv[1]), Path(sys.argv[2])
vectors = src.parent.parent if src.parent.name == "bad" else src.parent
index = json.loads((vectors / "vectors.json").read_text())
valid = {v["file"]: v for v in index["valid"]}
mode = "{mode}"
name = str(src.relative_to(vectors))
if name not in valid:
    sys.exit(0 if mode == "accepts-bad" else 4)
pixels = np.asarray(Image.open(vectors / valid[name]["decoded_png"])).astype(np.int16)
if mode == "off-by-one":
    pixels.flat[0] += 1 if pixels.flat[0] < 255 else -1
if mode == "off-by-two":
    pixels.flat[0] += 2 if pixels.flat[0] < 254 else -2
Image.fromarray(pixels.astype(np.uint8)).save(out)
'''


def fake_decoder(tmp_path: Path, mode: str) -> str:
    """A 'decoder' that copies the reference PNG, perturbed as ``mode`` says (no alpha: so only
    vectors without alpha are used with it)."""
    script = tmp_path / f"fake_{mode}.py"
    script.write_text(FAKE.replace("{mode}", mode))
    return f"{sys.executable} {script}"


def by_name(outcomes):
    return {o.name: o for o in outcomes}


def test_gzc_passes_every_vector_in_process():
    outcomes = conformance.run()
    assert len(outcomes) >= 60 and all(o.passed for o in outcomes), [o for o in outcomes if not o.passed]


def test_gzc_dec_passes_as_an_external_decoder():
    outcomes = conformance.run(f"{sys.executable} -m gzc.tools.dec", only="overfit_40x24")
    assert [o.passed for o in outcomes] == [True] and outcomes[0].detail.startswith("max |diff| 0")


def test_off_by_one_passes_float_vectors_and_fails_overfit_ones(tmp_path):
    outcomes = by_name(conformance.run(fake_decoder(tmp_path, "off-by-one"), only="_b"))
    assert outcomes["rgb_48x32_b6_range.gzc"].passed                 # ±1 in one value: allowed (§11)
    assert not outcomes["overfit_40x24_b4.gzc"].passed               # integer decoding: exact
    assert "exact match required" in outcomes["overfit_40x24_b4.gzc"].detail
    assert not outcomes["rgb_48x32_b6_alpha.gzc"].passed             # the fake writes no alpha


def test_off_by_two_fails(tmp_path):
    outcomes = by_name(conformance.run(fake_decoder(tmp_path, "off-by-two"), only="rgb_48x32_b6_range"))
    assert not outcomes["rgb_48x32_b6_range.gzc"].passed


def test_a_decoder_that_accepts_bad_files_fails_them(tmp_path):
    outcomes = conformance.run(fake_decoder(tmp_path, "accepts-bad"), only="crc_mismatch")
    assert [o.passed for o in outcomes] == [False] and "exit 0" in outcomes[0].detail
    outcomes = conformance.run(fake_decoder(tmp_path, "exact"), only="crc_mismatch")
    assert [o.passed for o in outcomes] == [True]


def test_a_missing_decoder_fails_cleanly(tmp_path):
    outcomes = conformance.run(str(tmp_path / "no-such-decoder"), only="rgb_1x1")
    assert not outcomes[0].passed and "cannot run" in outcomes[0].detail


def test_the_command_prints_a_table_and_exits_by_result(tmp_path, capsys):
    with pytest.raises(SystemExit) as done:
        run_app(conformance.app, "gzc-conformance", ["--only", "overfit"])
    index = json.loads((Path(__file__).resolve().parents[1] / "spec" / "vectors" / "vectors.json").read_text())
    count = sum("overfit" in v["file"] for v in index["valid"] + index["invalid"])
    assert count >= 14           # both decoder versions: 2 valid and 5 invalid files each
    assert done.value.code == 0 and f"{count} of {count} vectors pass" in capsys.readouterr().out
    with pytest.raises(SystemExit) as done:
        run_app(conformance.app, "gzc-conformance", ["--only", "overfit_40",
                                                     "--decoder", fake_decoder(tmp_path, "off-by-one")])
    assert done.value.code == 1 and "FAIL" in capsys.readouterr().out
