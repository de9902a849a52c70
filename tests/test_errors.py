"""One error hierarchy (issue 19): every error for bad input derives from gzc.GzcError, the spec's
§3 table and the CLI's exit codes name the same classes."""
from __future__ import annotations

import dataclasses
import inspect
import json
import re
from pathlib import Path

import pytest

import gzc
from gzc import formats
from gzc.formats import errors
from gzc.codec import codec as core
from gzc.tools.cli_common import EXIT_CORRUPT, EXIT_UNSUPPORTED, classify

ROOT = Path(__file__).resolve().parent.parent
VECTORS = ROOT / "spec" / "vectors"


def test_every_error_class_has_the_one_root():
    classes = [c for _, c in inspect.getmembers(errors, inspect.isclass) if issubclass(c, Exception)]
    assert len(classes) >= 15
    assert all(issubclass(c, gzc.GzcError) for c in classes)
    from gzc.codec.entropy.elias_gamma import EliasGammaError
    from gzc.codec.entropy.range_coder import RangeCoderError
    from gzc.codec.metadata import MetadataSelectionError
    from gzc.codec.overfit.payload import PayloadError
    for cls in (EliasGammaError, RangeCoderError, PayloadError, MetadataSelectionError):
        assert issubclass(cls, gzc.GzcError), cls


def test_old_import_paths_name_the_same_classes():
    from gzc.codec import backend, imageio, registry
    assert backend.CorruptPayloadError is errors.CorruptPayloadError
    assert backend.UnsupportedSettingError is errors.UnsupportedSettingError
    assert registry.ModelError is errors.UnknownModelError
    assert core.LimitExceededError is errors.LimitExceededError
    assert core.TargetUnreachableError is errors.TargetUnreachableError
    assert imageio.ImageReadError is errors.ImageReadError
    assert issubclass(imageio.ImageTooLargeError, errors.LimitExceededError)


def test_spec_section_3_names_existing_classes():
    spec = (ROOT / "spec" / "gzc.md").read_text()
    section = spec[spec.index("## 3. Reading"):spec.index("## 4.")]
    named = set(re.findall(r"`(\w+Error)`", section))
    assert {"TruncatedError", "CorruptPayloadError", "UnknownModelError", "LimitExceededError"} <= named
    for name in named:
        assert issubclass(getattr(errors, name), errors.GzcError), name


def test_every_invalid_vector_error_is_a_gzc_error_with_a_documented_exit_code():
    for vector in json.loads((VECTORS / "vectors.json").read_text())["invalid"]:
        with pytest.raises(gzc.GzcError) as caught:
            core.decode_bytes((VECTORS / vector["file"]).read_bytes())
        assert type(caught.value).__name__ == vector["error"] or isinstance(caught.value, getattr(errors,
                                                                                                  vector["error"]))
        assert classify(caught.value) in (EXIT_CORRUPT, EXIT_UNSUPPORTED), vector["file"]


def test_bits_the_model_lacks_on_decode_is_a_corrupt_payload():
    """Spec §3: the model ID fixes the model's settings, so other bits are a corrupt file
    (it raised UnsupportedSettingError, exit 5, before)."""
    good = formats.read((VECTORS / "rgb_48x32_b6_range.gzc").read_bytes())
    bad = formats.write(dataclasses.replace(good, bits=2))            # ae-factorized-v1 has 4 … 8
    with pytest.raises(errors.CorruptPayloadError, match="declares --bits 2"):
        core.decode_bytes(bad)
    assert classify(errors.CorruptPayloadError()) == EXIT_CORRUPT


def test_truncated_ganz_and_roim_chunks_raise_the_same_class():
    """Both are a chunk whose contents end inside a field: TruncatedError (GANZ raised
    CorruptPayloadError before, ROIM TruncatedError)."""
    for name in ("ganz_chunk_truncated.gzc", "roim_chunk_truncated.gzc"):
        with pytest.raises(errors.TruncatedError):
            core.decode_bytes((VECTORS / "bad" / name).read_bytes())


def test_unsupported_version_is_both_a_format_error_and_unsupported():
    assert classify(errors.UnsupportedVersionError("x")) == EXIT_UNSUPPORTED
    assert classify(errors.UnknownCriticalChunkError("x")) == EXIT_UNSUPPORTED
    assert isinstance(errors.UnsupportedVersionError("x"), formats.GzcFormatError)
