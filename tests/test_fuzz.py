"""Bounded fuzzing: the parser and the full decoder fail only with documented errors.

Random bytes mostly die at the signature or CRC, so the second strategy mutates
real files and *recomputes the CRC*, driving the mutations into the header
checks, the payload decoders and the model lookup. Longer campaigns: raise
GZC_FUZZ_EXAMPLES (e.g. 100000).
"""
from __future__ import annotations

import os
import zlib
from pathlib import Path

from hypothesis import HealthCheck, given, settings, strategies as st

from gzc import formats
from gzc.codec.backend import UnsupportedSettingError
from gzc.codec.codec import CorruptPayloadError, LimitExceededError, decode_bytes
from gzc.codec.registry import ModelError

EXAMPLES = int(os.environ.get("GZC_FUZZ_EXAMPLES", "300"))
VECTORS = sorted((Path(__file__).resolve().parent.parent / "spec" / "vectors").glob("*.gzc"))
SEEDS = [p.read_bytes() for p in VECTORS]
DOCUMENTED = (formats.GzcFormatError, ModelError, LimitExceededError, UnsupportedSettingError, CorruptPayloadError)
FUZZ = settings(max_examples=EXAMPLES, deadline=2000, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def mutated(draw, fix_crc: bool):
    data = bytearray(draw(st.sampled_from(SEEDS)))
    # positions from a (seeded) Random: hypothesis's integers favour small values,
    # which would put most mutations on the signature instead of header and payload
    rnd = draw(st.randoms(use_true_random=False))
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["flip", "set", "cut", "insert"]))
        body_len = max(1, len(data) - 4)
        i = rnd.randrange(body_len)
        if kind == "flip":
            data[i] ^= 1 << draw(st.integers(0, 7))
        elif kind == "set":
            data[i] = draw(st.integers(0, 255))
        elif kind == "cut":
            del data[i:i + draw(st.integers(1, 8))]
        else:
            data[i:i] = draw(st.binary(min_size=1, max_size=8))
    if fix_crc and len(data) > 4:
        body = bytes(data[:-4])
        data = bytearray(body + zlib.crc32(body).to_bytes(4, "big"))
    return bytes(data)


@FUZZ
@given(st.one_of(st.binary(max_size=200), mutated(fix_crc=False), mutated(fix_crc=True)))
def test_parser_raises_only_format_errors(data):
    try:
        formats.read(data)
    except formats.GzcFormatError:
        pass


@FUZZ
@given(mutated(fix_crc=True))
def test_decoder_raises_only_documented_errors(data):
    try:
        out = decode_bytes(data)
    except DOCUMENTED:
        return
    assert out.pixels.shape[:2] == (out.header.height, out.header.width)
