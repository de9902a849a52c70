"""Batch mode shared by gzc-enc and gzc-dec: many files or folders, N worker processes.

Each input is processed independently and written atomically; a failing file
is reported on its own line (``PROG: error: FILE: MESSAGE``) and the others
go on. The exit code is 0 if all succeeded, else the code of the first
failure (same codes as single-file mode). Workers split the machine's cores
between them for torch, so ``--jobs 2`` on 2 cores uses one thread each.
"""
from __future__ import annotations

import os
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Callable

from .cli_common import EXIT_INPUT, EXIT_OK, EXIT_USAGE, CliError, atomic_output, classify, read_input

IMAGE_EXTENSIONS = {".png", ".jpg", ".jpeg", ".ppm", ".pgm", ".pnm", ".bmp", ".tif", ".tiff", ".webp", ".tga"}


def expand_inputs(paths: list[str], extensions: set[str]) -> list[Path]:
    """Files as given; folders contribute their files with a matching extension (not recursive)."""
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out += sorted(f for f in p.iterdir() if f.is_file() and f.suffix.lower() in extensions)
        else:
            out.append(p)
    if not out:
        raise CliError("no input files found", EXIT_INPUT)
    return out


def _init_worker(threads: int) -> None:
    os.environ["OMP_NUM_THREADS"] = str(threads)
    try:
        import torch
        torch.set_num_threads(threads)
    except ImportError:
        pass


def _run_one(work: Callable[[bytes], bytes], src: Path, dst: Path) -> tuple[str, int, str]:
    try:
        result = work(read_input(str(src), "input file"))
        with atomic_output(str(dst)) as f:
            f.write(result)
        return str(src), EXIT_OK, ""
    except Exception as exc:  # reported per file; the batch goes on
        message = str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__
        return str(src), classify(exc), message


def run_batch(prog: str, inputs: list[str], out_dir: str, suffix: str, extensions: set[str],
              work: Callable[[bytes], bytes], jobs: int) -> int:
    if jobs < 1:
        raise CliError("--jobs must be at least 1", EXIT_USAGE)
    files = expand_inputs(inputs, extensions)
    target_dir = Path(out_dir)
    target_dir.mkdir(parents=True, exist_ok=True)
    tasks = [(src, target_dir / (src.stem + suffix)) for src in files]
    if len({dst for _, dst in tasks}) != len(tasks):
        raise CliError("two inputs would write the same output name; use separate --out-dir runs", EXIT_USAGE)
    first_failure, failed = EXIT_OK, 0
    threads = max(1, (os.cpu_count() or 1) // jobs)
    progress = _Progress(prog, len(tasks))
    if jobs == 1:
        _init_worker(threads)
        results = (_run_one(work, s, d) for s, d in tasks)
        pool = None
    else:
        pool = ProcessPoolExecutor(max_workers=jobs, initializer=_init_worker, initargs=(threads,))
        results = pool.map(_run_one, [work] * len(tasks), *zip(*tasks))
    try:
        for src, code, message in results:
            if code != EXIT_OK:
                named = message if src in message else f"{src}: {message}"   # the file named once
                progress.line(f"{prog}: error: {named}")
                first_failure = first_failure or code
                failed += 1
            progress.advance()
    finally:
        progress.clear()
        if pool is not None:
            pool.shutdown()
    print(f"{prog}: {len(tasks) - failed} of {len(tasks)} file(s) written to {target_dir}", file=sys.stderr)
    return first_failure


class _Progress:
    """``PROG: 3/10 files`` on one rewritten stderr line, shown only when stderr is a terminal
    (logs and pipes get just the error lines and the summary). Our own few lines rather than a
    progress-bar library: gzc does not depend on rich, which only some typer releases pull in."""

    def __init__(self, prog: str, total: int):
        self.prog, self.total, self.done = prog, total, 0
        self.live = sys.stderr.isatty()
        self._show()

    def _show(self) -> None:
        if self.live:
            print(f"\r\033[K{self.prog}: {self.done}/{self.total} files", end="", file=sys.stderr, flush=True)

    def line(self, text: str) -> None:
        """A line that stays (an error), printed above the progress line."""
        if self.live:
            print("\r\033[K", end="", file=sys.stderr)
        print(text, file=sys.stderr, flush=True)
        self._show()

    def advance(self) -> None:
        self.done += 1
        self._show()

    def clear(self) -> None:
        if self.live:
            print("\r\033[K", end="", file=sys.stderr, flush=True)
