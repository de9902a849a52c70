"""Coder 3 (spec §6.3): context-selected tables, exact against the integer reference decoder."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from conftest import load_reference_decoder
from gzc.codec.autoencoder.context import batch_table_indices
from gzc.codec.entropy import context_coder
from gzc.codec.entropy.context import CONTEXTS, context_indices
from gzc.codec.entropy.range_coder import RangeCoderError
from gzc.codec.entropy.tables import quantize_pmf

SPEC_TABLES = np.tile(np.array([1048576, 2097152, 12582912, 1048576]), (2, CONTEXTS, 1))
SPEC_TABLES[1, 4] = [4194304] * 4
SPEC_LATENT = np.array([[[1, 0], [0, -1]], [[0, -2], [1, 0]]])


def _sparse_latent(rng, shape, levels=8, density=0.4):
    half = levels // 2
    return rng.integers(-half, half, size=shape) * (rng.random(shape) < density)


def _tables(rng, channels, levels, skew=3.0):
    return np.stack([np.stack([quantize_pmf(rng.random(levels) ** skew) for _ in range(CONTEXTS)])
                     for _ in range(channels)])


def test_spec_test_vector():
    payload = context_coder.encode(SPEC_LATENT, SPEC_TABLES, -2)
    assert payload == bytes.fromhex("00e024f2")
    assert np.frombuffer(payload, "<u4").tolist() == [4062502912]
    assert [context_indices(SPEC_LATENT, c).tolist() for c in (0, 1)] == [[[0, 6], [6, 0]], [[2, 4], [4, 2]]]
    ref = load_reference_decoder().decode_latent_context(payload, (2, 2, 2), SPEC_TABLES.tolist(), -2)
    assert ref == SPEC_LATENT.ravel().tolist()


def test_torch_context_matches_the_coders_definition():
    """Training prices each element with the table the file will use."""
    rng = np.random.default_rng(0)
    latent = _sparse_latent(rng, (3, 16, 7, 9))
    batched = batch_table_indices(torch.from_numpy(latent)).numpy()
    for b in range(3):
        for c in range(16):
            assert np.array_equal(batched[b, c], context_indices(latent[b], c)), (b, c)
    assert batched.min() == 0 and batched.max() == CONTEXTS - 1   # every table reachable


@pytest.mark.parametrize("with_roi", [False, True])
def test_roundtrip_agrees_with_the_reference_decoder(with_roi):
    rng = np.random.default_rng(1 + with_roi)
    shape = (5, 6, 7)
    latent = _sparse_latent(rng, shape)
    tables = _tables(rng, 6, 8)                       # more tables than channels: a C′ < C file
    tables[:, :, 0] = 1                               # the rarest frequencies a table may hold
    tables[:, :, 1] = (1 << 24) - tables[:, :, 2:].sum(axis=2) - 1
    coded = None
    if with_roi:
        coded = np.broadcast_to(np.arange(5)[:, None, None] < rng.integers(0, 6, size=(1, 6, 7)), shape).copy()
        latent = latent * coded
    latent[0, 0, 0] = -4                              # a frequency-1 symbol in the stream
    if coded is not None:
        coded[0, 0, 0] = True
    payload = context_coder.encode(latent, tables, -4, coded)
    assert np.array_equal(context_coder.decode(payload, shape, tables, -4, coded), latent)
    ref = load_reference_decoder().decode_latent_context(
        payload, shape, tables.tolist(), -4, None if coded is None else (lambda c, i, j: bool(coded[c, i, j])))
    assert ref == latent.ravel().tolist()


def test_context_saves_bits_on_spatially_correlated_latents():
    """Tables that follow the context beat one table per channel on a latent whose zeros cluster."""
    rng = np.random.default_rng(3)
    busy = np.zeros((4, 24, 24), bool)
    busy[:, :, 12:] = True                            # the left half is "sky"
    latent = _sparse_latent(rng, (4, 24, 24), levels=8, density=0.9) * busy
    counts = np.full((4, CONTEXTS, 8), 0.5)
    for c in range(4):
        np.add.at(counts[c], (context_indices(latent, c).ravel(), latent[c].ravel() + 4), 1)
    fitted = np.stack([np.stack([quantize_pmf(row) for row in counts[c]]) for c in range(4)])
    flat = np.repeat(np.stack([quantize_pmf(counts[c].sum(0)) for c in range(4)])[:, None], CONTEXTS, axis=1)
    assert len(context_coder.encode(latent, fitted, -4)) < 0.8 * len(context_coder.encode(latent, flat, -4))


def test_bad_payloads_and_tables_fail_cleanly():
    tables = _tables(np.random.default_rng(4), 2, 4)
    with pytest.raises(RangeCoderError, match="multiple of 4"):
        context_coder.decode(b"\x00" * 5, (2, 2, 2), tables, -2)
    with pytest.raises(RangeCoderError, match="context tables for 2"):
        context_coder.decode(b"", (3, 2, 2), tables, -2)
    bad = tables.copy()
    bad[0, 3, 0] += 1
    with pytest.raises(ValueError, match="sum to 2"):
        context_coder.check_context_tables(bad)
    with pytest.raises(ValueError, match="CONTEXTS|24"):
        context_coder.check_context_tables(tables[:, :5])
    with pytest.raises(ValueError, match="alphabet"):
        context_coder.encode(np.full((2, 2, 2), 3), tables, -2)
    # random words decode to some in-range latent or a clean error, never a crash
    rng = np.random.default_rng(5)
    for _ in range(20):
        junk = rng.integers(0, 256, size=4 * rng.integers(0, 4), dtype=np.uint8).tobytes()
        try:
            out = context_coder.decode(junk, (2, 3, 3), tables, -2)
            assert out.min() >= -2 and out.max() <= 1
        except RangeCoderError:
            pass
