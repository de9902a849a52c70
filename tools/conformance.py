"""gzc-conformance: run a decoder on every spec vector and say which it gets right.

    python -m gzc.tools.conformance                      # gzc's own decoder, in process
    python -m gzc.tools.conformance --decoder "djxl-like-tool --flag"

An external decoder is run as ``CMD IN.gzc OUT.png`` (CMD split as a shell would, the two
paths appended). For each valid vector of ``spec/vectors/vectors.json`` it must exit 0
and write a PNG whose colour matches ``decoded/NAME.png`` within the vector's tolerance
(spec §11: the overfitted backend decodes with integers only, so exactly; the others
within ±1 in at most 1 % of the values, the float synthesis' freedom), and whose alpha,
when the vector has one, hashes to ``alpha_sha256`` exactly. For each invalid vector it
must exit non-zero (gzc's own decoder must raise the documented error class). The
result is a table, one row per vector, and exit code 0 only if every row passes
(as libjxl's conformance script does).
"""
from __future__ import annotations

import hashlib
import json
import shlex
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np
import typer

from .cli_common import new_app, run_app

PROG = "gzc-conformance"
VECTORS = Path(__file__).resolve().parent.parent / "spec" / "vectors"
#: spec §11: "every value within ±1, at most 1 % of them different"; backend 3 exact
FLOAT_TOLERANCE = (1, 0.01)
EXACT = (0, 0.0)
app = new_app()


@dataclass(frozen=True)
class Outcome:
    name: str
    kind: str          # "valid" or "invalid"
    passed: bool
    detail: str


def tolerance(vector: dict) -> tuple[int, float]:
    """(largest allowed |difference|, largest allowed fraction of differing values)."""
    if "tolerance" in vector:                       # a vector may state its own
        return int(vector["tolerance"]["max_abs"]), float(vector["tolerance"]["max_fraction"])
    return EXACT if vector["model"].startswith("overfit") else FLOAT_TOLERANCE


def _sha(array: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()


def compare(vector: dict, colour: np.ndarray, alpha: np.ndarray | None, vectors: Path) -> tuple[bool, str]:
    """A decoded image against the vector: (passed, what was found)."""
    from PIL import Image
    with Image.open(vectors / vector["decoded_png"]) as im:
        expected = np.asarray(im)
    if colour.shape != expected.shape:
        return False, f"shape {colour.shape}, expected {expected.shape}"
    diff = np.abs(colour.astype(np.int16) - expected.astype(np.int16))
    max_abs, max_fraction = tolerance(vector)
    changed = np.count_nonzero(diff)
    found = f"max |diff| {int(diff.max())}, {changed} of {diff.size} values differ"
    if diff.max() > max_abs or changed > max_fraction * diff.size:
        return False, found + (" (exact match required)" if max_abs == 0 else f" (allowed: ±{max_abs}, "
                                                                               f"{max_fraction:.0%})")
    if "alpha_sha256" in vector:
        if alpha is None:
            return False, "no alpha plane decoded"
        if _sha(alpha.astype(np.uint8)) != vector["alpha_sha256"]:
            return False, "alpha plane differs (exact match required)"
    return True, found


def check_internal(vector: dict, kind: str, vectors: Path) -> Outcome:
    """gzc's own decoder, in process (invalid vectors must raise the documented class)."""
    from ..codec.codec import decode_bytes
    from ..formats import errors
    data = (vectors / vector["file"]).read_bytes()
    if kind == "invalid":
        expected = getattr(errors, vector["error"])
        try:
            decode_bytes(data)
        except errors.GzcError as exc:
            ok = isinstance(exc, expected)
            return Outcome(vector["file"], kind, ok, f"{type(exc).__name__}" + ("" if ok else
                                                                                f", expected {vector['error']}"))
        return Outcome(vector["file"], kind, False, f"decoded, expected {vector['error']}")
    try:
        decoded = decode_bytes(data)
    except Exception as exc:  # noqa: BLE001 — a conformance failure, reported in the table
        return Outcome(vector["file"], kind, False, f"{type(exc).__name__}: {exc}")
    ok, found = compare(vector, decoded.pixels, decoded.alpha, vectors)
    return Outcome(vector["file"], kind, ok, found)


def check_external(vector: dict, kind: str, vectors: Path, command: list[str], timeout: float) -> Outcome:
    """``CMD IN.gzc OUT.png``: exit 0 and the right PNG for a valid vector, non-zero for an invalid one."""
    from PIL import Image
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out.png"
        try:
            proc = subprocess.run([*command, str(vectors / vector["file"]), str(out)], capture_output=True,
                                  timeout=timeout)
        except subprocess.TimeoutExpired:
            return Outcome(vector["file"], kind, False, f"no answer within {timeout:g} s")
        except OSError as exc:
            return Outcome(vector["file"], kind, False, f"cannot run the decoder: {exc.strerror}")
        if kind == "invalid":
            left = ", but left an output file" if out.exists() else ""
            if proc.returncode == 0:
                return Outcome(vector["file"], kind, False, f"exit 0, expected a failure ({vector['error']})")
            return Outcome(vector["file"], kind, True, f"exit {proc.returncode}{left}")
        if proc.returncode != 0:
            message = proc.stderr.decode(errors="replace").strip().splitlines()[-1:] or [""]
            return Outcome(vector["file"], kind, False, f"exit {proc.returncode}: {message[0][:80]}")
        try:
            with Image.open(out) as im:
                im.load()
                colour, alpha = _split(im)
        except (OSError, ValueError) as exc:
            return Outcome(vector["file"], kind, False, f"output is not a readable PNG: {exc}")
    ok, found = compare(vector, colour, alpha, vectors)
    return Outcome(vector["file"], kind, ok, found)


def _split(im) -> tuple[np.ndarray, np.ndarray | None]:
    """A decoder's PNG → (colour as RGB or L, alpha or None)."""
    if im.mode in ("RGBA", "LA"):
        return np.asarray(im.convert(im.mode[:-1])), np.asarray(im.getchannel("A"))
    if im.mode not in ("RGB", "L"):
        im = im.convert("RGB")
    return np.asarray(im), None


def run(decoder: str | None = None, vectors: Path = VECTORS, only: str | None = None,
        timeout: float = 120.0) -> list[Outcome]:
    """Every vector of ``vectors/vectors.json`` (whose file name contains ``only``, if given)."""
    index = json.loads((vectors / "vectors.json").read_text())
    command = shlex.split(decoder) if decoder else None
    outcomes = []
    for kind in ("valid", "invalid"):
        for vector in index[kind]:
            if only and only not in vector["file"]:
                continue
            outcomes.append(check_external(vector, kind, vectors, command, timeout) if command
                            else check_internal(vector, kind, vectors))
    return outcomes


def table(outcomes: list[Outcome]) -> str:
    width = max([len(o.name) for o in outcomes] + [6])
    lines = [f"{'vector':<{width}}  {'kind':<7}  {'result':<6}  detail", "-" * (width + 30)]
    lines += [f"{o.name:<{width}}  {o.kind:<7}  {'pass' if o.passed else 'FAIL':<6}  {o.detail}" for o in outcomes]
    passed = sum(o.passed for o in outcomes)
    lines.append(f"{passed} of {len(outcomes)} vectors pass")
    return "\n".join(lines)


@app.command(help="Run a decoder (default: gzc's own) on every spec vector and print a pass/fail table; "
                  "exit 0 only if all pass.")
def conformance(
    decoder: Optional[str] = typer.Option(None, "--decoder", help="external decoder command, run as "
                                          "'CMD IN.gzc OUT.png' (e.g. 'gzc-dec')"),
    vectors: Path = typer.Option(VECTORS, "--vectors", help="folder with vectors.json"),
    only: Optional[str] = typer.Option(None, "--only", help="only the vectors whose file name contains this"),
    timeout: float = typer.Option(120.0, "--timeout", help="seconds allowed per vector (external decoder)"),
) -> None:
    if not (vectors / "vectors.json").is_file():
        print(f"{PROG}: error: no vectors.json in {vectors}", file=sys.stderr)
        raise SystemExit(2)
    start = time.perf_counter()
    outcomes = run(decoder, vectors, only, timeout)
    print(table(outcomes))
    print(f"decoder: {decoder or 'gzc (in process)'}; {time.perf_counter() - start:.1f} s")
    raise SystemExit(0 if outcomes and all(o.passed for o in outcomes) else 1)


def main() -> None:
    run_app(app, PROG)


if __name__ == "__main__":
    main()
