"""What the command-line tools share: exit codes, error reporting, safe output.

Exit codes (documented in the README; modelled on cjxl/djxl):

    0  success
    1  internal error (a bug: please report it)
    2  bad command-line arguments
    3  cannot read the input (missing file, not an image, empty input): ImageReadError
    4  invalid or corrupt .gzc data: GzcFormatError (bad signature, truncated, CRC
       mismatch, malformed field) or CorruptPayloadError (bad payload, or a setting the
       file's model lacks)
    5  unsupported: UnsupportedError (unknown model, newer format version, unknown
       critical chunk, an encoder option the model lacks), LimitExceededError (an
       image above the pixel limit), TargetUnreachableError (a --target-size or
       --target-bpp that even the smallest setting exceeds)
    6  cannot write the output
  130  interrupted (Ctrl-C)
  141  standard output closed by its reader (``gzc-info x.gzc | head -1``): no message,
       the status a shell shows for a C tool such as djpeg killed by SIGPIPE (128 + 13)

The error classes all derive from gzc.GzcError (formats/errors.py); anything else
reaching the top is a bug and exits 1.

Every failure prints exactly one line, ``PROG: error: MESSAGE``, on stderr
(set GZC_DEBUG=1 to get the traceback as well), and no output file is left
behind: outputs are written to a temporary file beside the target and renamed
into place only when complete.
"""
from __future__ import annotations

import os
import sys
import tempfile
import traceback
from contextlib import contextmanager
from pathlib import Path
from typing import NoReturn

EXIT_OK, EXIT_INTERNAL, EXIT_USAGE, EXIT_INPUT, EXIT_CORRUPT, EXIT_UNSUPPORTED, EXIT_WRITE = range(7)
EXIT_INTERRUPTED, EXIT_BROKEN_PIPE = 130, 128 + 13    # as a shell reports SIGINT, SIGPIPE


class CliError(Exception):
    def __init__(self, message: str, code: int):
        super().__init__(message)
        self.code = code


def exit_codes() -> list[tuple[type, int]]:
    """The branches of the error hierarchy (formats/errors.py) and their exit codes, most
    specific first: UnsupportedVersionError is a GzcFormatError but exits 5, not 4."""
    from ..formats import errors as e
    return [(e.UnsupportedError, EXIT_UNSUPPORTED), (e.LimitExceededError, EXIT_UNSUPPORTED),
            (e.TargetUnreachableError, EXIT_UNSUPPORTED), (e.GzcFormatError, EXIT_CORRUPT),
            (e.CorruptPayloadError, EXIT_CORRUPT), (e.ImageReadError, EXIT_INPUT)]


def classify(exc: BaseException) -> int:
    """Map an exception from the library to an exit code (anything outside GzcError is a bug: 1)."""
    if isinstance(exc, CliError):
        return exc.code
    return next((code for cls, code in exit_codes() if isinstance(exc, cls)), EXIT_INTERNAL)


def fail(prog: str, exc: BaseException) -> None:
    code = classify(exc)
    message = str(exc) or exc.__class__.__name__
    if code == EXIT_INTERNAL:
        message = f"internal error: {exc.__class__.__name__}: {message}"
    if os.environ.get("GZC_DEBUG"):
        traceback.print_exc()
    print(f"{prog}: error: {message.splitlines()[0]}", file=sys.stderr)
    raise SystemExit(code)


@contextmanager
def reported_errors(prog: str):
    """Run a tool's body: any failure becomes one stderr line and its exit code."""
    try:
        yield
    except SystemExit:
        raise
    except KeyboardInterrupt:
        raise SystemExit(EXIT_INTERRUPTED) from None
    except BrokenPipeError:
        broken_pipe()
    except BaseException as exc:  # noqa: BLE001 — the whole point is to catch everything
        fail(prog, exc)


def broken_pipe() -> NoReturn:
    """The reader of our standard output went away (``| head -1``): nothing more to say to
    anyone, so exit quietly with 141 as a C tool dies of SIGPIPE. Python ignores SIGPIPE and
    raises BrokenPipeError instead, and it would raise again when it flushes stdout at exit
    ("Exception ignored … BrokenPipeError"), so stdout is pointed at /dev/null first."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):   # no real stdout file descriptor (an embedding application)
        pass
    raise SystemExit(EXIT_BROKEN_PIPE)


def read_input(path: str | None, what: str) -> bytes:
    """Whole input from a file, or from stdin for None / '-'."""
    if path in (None, "-"):
        if sys.stdin is None or sys.stdin.isatty():
            raise CliError("no input file given and standard input is a terminal", EXIT_USAGE)
        data = sys.stdin.buffer.read()
        if not data:
            raise CliError("standard input is empty", EXIT_INPUT)
        return data
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise CliError(f"{what} not found: {path}", EXIT_INPUT) from None
    except IsADirectoryError:
        raise CliError(f"{what} is a directory: {path}", EXIT_INPUT) from None
    except OSError as exc:
        raise CliError(f"cannot read {path}: {exc.strerror}", EXIT_INPUT) from None


def single_file_paths(paths: list[str] | None, option: str | None) -> tuple[str | None, str | None]:
    """cjpeg-style ``[INFILE] [OUTFILE]`` (or ``-o``) → (infile, outfile); more needs batch mode."""
    paths = paths or []
    if len(paths) > 2:
        raise CliError("several inputs need --out-dir (batch mode)", EXIT_USAGE)
    return (paths[0] if paths else None), pick_output(paths[1] if len(paths) > 1 else None, option)


def check_batch_paths(paths: list[str] | None, option: str | None) -> list[str]:
    if not paths or option is not None:
        raise CliError("batch mode takes input files/folders and --out-dir (not -o)", EXIT_USAGE)
    return paths


def pick_output(positional: str | None, option: str | None) -> str | None:
    if positional is not None and option is not None:
        raise CliError("give the output either as an argument or with -o, not both", EXIT_USAGE)
    return option if option is not None else positional


@contextmanager
def atomic_output(path: str | None, binary_to_terminal_ok: bool = False):
    """Yields a binary file object; the target appears only if the block succeeds."""
    if path in (None, "-"):
        if not binary_to_terminal_ok and sys.stdout.isatty():
            raise CliError("refusing to write binary data to a terminal: give an output file or redirect",
                           EXIT_USAGE)
        yield sys.stdout.buffer
        sys.stdout.buffer.flush()
        return
    target = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent or ".")
    except OSError as exc:
        raise CliError(f"cannot write {path}: {exc.strerror}", EXIT_WRITE) from None
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual permissions
        os.replace(tmp, target)
    except OSError as exc:
        _remove(tmp)
        raise CliError(f"cannot write {path}: {exc.strerror}", EXIT_WRITE) from None
    except BaseException:
        _remove(tmp)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _remove(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def new_app(**settings):
    """A typer app with the tools' shared settings: plain (click) help, where a flag reads
    ``-v, --verbose`` rather than a boxed ``--verbose -v <bool>``; ``-h`` as well as ``--help``."""
    import typer
    settings.setdefault("context_settings", {"help_option_names": ["-h", "--help"]})
    return typer.Typer(add_completion=False, pretty_exceptions_enable=False, rich_markup_mode=None, **settings)


def run_app(app, prog: str, args: list[str] | None = None) -> None:
    """Run a tool's typer app as every gzc tool behaves: a usage error is one ``PROG: error: …``
    line and exit 2 (click's default is a usage block and, under typer, a box); every command
    and subcommand takes ``--version``. (``--version`` is read here, before the parser, because
    typer offers no public way to add one option to every command, and its internals change.)"""
    import typer
    import typer.main

    args = sys.argv[1:] if args is None else list(args)
    if "--version" in (args[:args.index("--")] if "--" in args else args):
        from .. import __version__
        print(f"{prog} (gzc) {__version__}")
        raise SystemExit(EXIT_OK)
    errors = _click_exceptions()
    command = typer.main.get_command(app)
    for each in [command, *getattr(command, "commands", {}).values()]:
        each.epilog = ((each.epilog or "") + f" {prog} --version prints the version.").strip()
    try:
        code = command.main(args=args, prog_name=prog, standalone_mode=False)
        sys.stdout.flush()        # text still buffered for a pipe fails here, not at exit
    except BrokenPipeError:
        broken_pipe()
    except errors.UsageError as exc:
        hint = "" if isinstance(exc, errors.NoSuchOption) else f" (see '{prog} --help')"
        print(f"{prog}: error: {exc.format_message().splitlines()[0]}{hint}", file=sys.stderr)
        raise SystemExit(EXIT_USAGE) from None
    except typer.Abort:
        raise SystemExit(EXIT_INTERRUPTED) from None
    raise SystemExit(code if isinstance(code, int) else EXIT_OK)


def _click_exceptions():
    """The exceptions module of the click that typer runs on (typer 0.2x vendors its own)."""
    try:
        from typer._click import exceptions
    except ImportError:
        from click import exceptions
    return exceptions
