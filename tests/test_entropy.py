"""Entropy coders: exact round trips (property-based), integer tables, the spec's vectors."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra.numpy import arrays

from gzc.codec.entropy import elias_gamma, range_coder
from gzc.codec.entropy.tables import TABLE_PRECISION, check_table, ideal_bits, quantize_pmf
from conftest import load_reference_decoder

decode_latent = load_reference_decoder().decode_latent


@settings(max_examples=200, deadline=None)
@given(arrays(np.int64, st.integers(0, 300), elements=st.integers(-(2**30 - 1), 2**30 - 1)))
def test_elias_gamma_round_trip(values):
    assert np.array_equal(elias_gamma.decode(elias_gamma.encode(values), values.size), values)


def test_elias_gamma_vector_from_spec():
    assert elias_gamma.encode(np.array([0, 1, -1, 2])) == bytes.fromhex("b450")
    # code lengths: n=1 → 1 bit, n=2,3 → 3 bits, n=4..7 → 5 bits
    assert len(elias_gamma.encode(np.zeros(8, int))) == 1
    assert len(elias_gamma.encode(np.array([3] * 8))) == 5  # n=7: 5 bits × 8


@pytest.mark.parametrize("payload,count", [(b"", 1), (b"\x00", 1), (b"\x80\x80", 1), (b"\xff", 2)])
def test_elias_gamma_rejects_bad_payloads(payload, count):
    with pytest.raises(elias_gamma.EliasGammaError):
        elias_gamma.decode(payload, count)


@st.composite
def latents(draw):
    bits = draw(st.integers(1, 8))
    c, h, w = draw(st.integers(1, 4)), draw(st.integers(1, 6)), draw(st.integers(1, 6))
    n = 1 << bits
    lo = -(n // 2)
    tables = []
    for _ in range(c):
        weights = draw(arrays(np.float64, n, elements=st.floats(0, 1e6)))
        if weights.sum() == 0:
            weights[0] = 1.0
        tables.append(quantize_pmf(weights))
    symbols = draw(arrays(np.int64, (c, h, w), elements=st.integers(lo, lo + n - 1)))
    return symbols, tables, lo


@settings(max_examples=150, deadline=None)
@given(latents())
def test_range_coder_round_trip_and_reference_decoder(case):
    symbols, tables, offset = case
    payload = range_coder.encode(symbols, tables, offset)
    assert np.array_equal(range_coder.decode(payload, symbols.shape, tables, offset), symbols)
    assert decode_latent(payload, symbols.shape, [t.tolist() for t in tables], offset) == symbols.ravel().tolist()


def test_range_coder_rate_is_close_to_the_information_content():
    rng = np.random.default_rng(0)
    pmf = np.exp(-np.abs(np.arange(-32, 32)) / 2.0)
    table = quantize_pmf(pmf)
    symbols = rng.choice(np.arange(-32, 32), size=(1, 200, 200), p=pmf / pmf.sum())
    payload = range_coder.encode(symbols, [table], -32)
    ideal = ideal_bits(symbols, table, -32) / 8
    assert ideal <= len(payload) <= ideal * 1.001 + 8


def test_range_coder_spec_vector():
    table = np.array([8388608, 4194304, 2097155, 2097147, 1, 1])
    symbols = np.array([0, 1, 2, 3, 4, 5, 0, 0, 5, 2]).reshape(1, 1, 10)
    payload = range_coder.encode(symbols, [table], 0)
    assert np.frombuffer(payload, "<u4").tolist() == [1543503959, 2095130525, 4278712577]
    assert payload.hex() == "5700005c9d27e17c01f907ff"


def test_range_decoder_never_crashes_on_garbage():
    rng = np.random.default_rng(1)
    table = quantize_pmf(np.ones(16))
    for _ in range(20):
        garbage = rng.bytes(int(rng.integers(0, 12)) * 4)
        out = range_coder.decode(garbage, (1, 4, 4), [table], -8)
        assert out.shape == (1, 4, 4) and out.min() >= -8 and out.max() <= 7
    with pytest.raises(range_coder.RangeCoderError):
        range_coder.decode(b"abc", (1, 1, 1), [table], 0)


@settings(max_examples=200, deadline=None)
@given(arrays(np.float64, st.integers(1, 300), elements=st.floats(0, 1e9)))
def test_quantized_tables_are_valid(pmf):
    if pmf.sum() == 0:
        pmf[0] = 1
    freq = quantize_pmf(pmf)
    check_table(freq)
    assert freq.min() >= 1 and freq.sum() == 1 << TABLE_PRECISION
    assert int(np.argmax(freq)) == int(np.argmax(pmf)) or freq[np.argmax(pmf)] == freq.max()


def test_check_table_rejects_bad_tables():
    for bad in (np.array([1, 2, 3]), np.array([0, 1 << 24]), np.array([0.5, 0.5]), np.zeros((2, 2), int)):
        with pytest.raises(ValueError):
            check_table(bad)
