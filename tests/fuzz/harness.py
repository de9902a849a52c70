"""Coverage-guided fuzz targets for the .gzc reader (atheris = libFuzzer for Python; issue 19).

    python tests/fuzz/harness.py parser  CORPUS_DIR [libFuzzer flags]   # formats.read
    python tests/fuzz/harness.py decoder CORPUS_DIR [libFuzzer flags]   # decode_bytes, full pipeline

Every input must either decode or raise a :class:`gzc.GzcError`; anything else (IndexError,
MemoryError, a hang past -timeout) is a finding that libFuzzer saves as ``crash-…`` /
``timeout-…``: pin it in tests/fuzz/regressions/ (tests/test_fuzz_regressions.py replays them).

Why the pieces:

* **CRC fixing**: a random mutation almost never keeps the CRC-32 right, so the reader would
  stop at the CRC check and nothing behind it gets covered. The custom mutator lets
  libFuzzer mutate, then recomputes the CRC for 15 of 16 inputs (the rest test the check).
* **Seeds and dictionary**: spec/vectors (valid and invalid) seed the corpus;
  tests/fuzz/gzc.dict gives libFuzzer the signature, chunk types and versions.
* **Limits**: ``decode_bytes(max_pixels=MAX_PIXELS)`` keeps each decode small (the vectors
  are ≤ 6,480 pixels), libFuzzer's ``-timeout`` and ``-rss_limit_mb`` bound time and memory
  per input, and ``resource.setrlimit(RLIMIT_AS)`` turns any allocation beyond the address
  space already used plus ``MEMORY_HEADROOM`` into a MemoryError, i.e. a finding.
"""
from __future__ import annotations

import random
import resource
import sys
import zlib
from pathlib import Path

MAX_PIXELS = 1 << 14            # 16,384: every vector decodes, a bomb is refused before synthesis
MEMORY_HEADROOM = 2 << 30       # 2 GiB over what the process maps after its imports
HERE = Path(__file__).resolve().parent
VECTORS = HERE.parent.parent / "spec" / "vectors"
CORPUS = HERE / "corpus"        # corpus/<target>/: inputs earlier campaigns added (bench/fuzz_campaign.py)


def seeds() -> list[bytes]:
    """The seed corpus: every vector, valid and invalid."""
    return [p.read_bytes() for p in sorted(VECTORS.glob("*.gzc")) + sorted((VECTORS / "bad").glob("*.gzc"))]


def kept_corpus(target: str) -> list[bytes]:
    """The inputs earlier campaigns of ``target`` added to the seeds (coverage they reached)."""
    return [p.read_bytes() for p in sorted((CORPUS / target).glob("*"))]


def fix_crc(data: bytes) -> bytes:
    """The same bytes with the trailing CRC-32 (big-endian, over everything before it) made right."""
    if len(data) < 8:
        return data
    body = data[:-4]
    return body + zlib.crc32(body).to_bytes(4, "big")


def parse_one(data: bytes) -> None:
    """Target 1: the container parser (no torch, no model)."""
    from gzc import formats
    try:
        formats.read(data)
    except formats.GzcError:
        pass


def decode_one(data: bytes) -> None:
    """Target 2: the whole decoder (container, model lookup, entropy decoding, synthesis)."""
    from gzc.codec.codec import decode_bytes
    from gzc.formats import GzcError
    try:
        decode_bytes(data, max_pixels=MAX_PIXELS)
    except GzcError:
        pass


TARGETS = {"parser": parse_one, "decoder": decode_one}


def limit_memory(headroom: int = MEMORY_HEADROOM) -> None:
    """Cap the address space at what is mapped now plus ``headroom`` (torch maps a lot at import,
    so a fixed cap would either break the import or allow too much)."""
    mapped = 0
    with open("/proc/self/statm") as f:
        mapped = int(f.read().split()[0]) * resource.getpagesize()
    resource.setrlimit(resource.RLIMIT_AS, (mapped + headroom, resource.RLIM_INFINITY))


def custom_mutator(data: bytes, max_size: int, seed: int) -> bytes:
    import atheris
    mutated = atheris.Mutate(data, max_size)
    return mutated if random.Random(seed).random() < 1 / 16 else fix_crc(mutated)


def main(argv: list[str]) -> None:
    import atheris
    if len(argv) < 2 or argv[1] not in TARGETS:
        raise SystemExit(f"usage: {argv[0]} {{{','.join(TARGETS)}}} CORPUS_DIR [libFuzzer flags]")
    target = TARGETS[argv[1]]
    with atheris.instrument_imports(include=["gzc"]):
        import gzc.formats  # noqa: F401
        if target is decode_one:
            import gzc.codec.codec  # noqa: F401
            import gzc.codec.autoencoder.backend  # noqa: F401  (plugins, imported lazily otherwise)
            import gzc.codec.latent_search.backend  # noqa: F401
            import gzc.codec.overfit.backend  # noqa: F401
    for seed in seeds():                # warm up: load the models once, outside the time limit
        target(seed)
    limit_memory()
    atheris.Setup([argv[0], *argv[2:]], target, custom_mutator=custom_mutator)
    atheris.Fuzz()


if __name__ == "__main__":
    main(sys.argv)
