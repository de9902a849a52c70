"""The .gzc container: round trips, every kind of malformed input, and no torch import."""
from __future__ import annotations

import subprocess
import sys
import zlib

import pytest

from gzc import formats
from gzc.formats import Chunk, GzcFile
from gzc.formats.varint import decode_varint, encode_varint


def sample(**overrides) -> GzcFile:
    fields = dict(width=768, height=512, color=formats.COLOR_RGB, backend=1,
                  model_id=bytes(range(8)), bits=6, coder=formats.CODER_RANGE, latent_shape=(160, 32, 48),
                  payload=bytes(range(256)) * 3)
    fields.update(overrides)
    return GzcFile(**fields)


def with_crc(body: bytes) -> bytes:
    return body + zlib.crc32(body).to_bytes(4, "big")


def test_round_trip_preserves_every_field():
    f = sample(chunks=(Chunk(b"meta", b"hello"), Chunk(b"abcD", b"\x01\x02")))
    assert formats.read(formats.write(f)) == f


def test_header_layout_matches_spec():
    data = formats.write(sample(payload=b"\xAA\xBB"))
    assert data[:4] == b"\x89GZC" and data[4] == 0x15 and data[5] == formats.COLOR_RGB
    assert data[6:8] == b"\x80\x06" and data[8:10] == b"\x80\x04"  # 768, 512 as varints
    assert data[10] == 1 and data[11:19] == bytes(range(8)) and data[19] == 6 and data[20] == 1
    assert data[21] == 3 and data[22:26] == b"\xa0\x01\x20\x30"       # rank 3: 160, 32, 48
    assert data[26] == 0 and data[27] == 2 and data[28:30] == b"\xAA\xBB"
    assert int.from_bytes(data[-4:], "big") == zlib.crc32(data[:-4]) and len(data) == 34


@pytest.mark.parametrize("value,encoded", [(0, b"\x00"), (127, b"\x7f"), (128, b"\x80\x01"), (300, b"\xac\x02"),
                                           (2**32 - 1, b"\xff\xff\xff\xff\x0f")])
def test_varint_vectors(value, encoded):
    assert encode_varint(value) == encoded
    assert decode_varint(encoded, 0, "x") == (value, len(encoded))


@pytest.mark.parametrize("bad,error", [(b"\x80\x00", formats.MalformedFieldError),       # over-long
                                       (b"\xff\xff\xff\xff\x1f", formats.MalformedFieldError),  # ≥ 2^32
                                       (b"\xff\xff\xff\xff\xff\x01", formats.MalformedFieldError),
                                       (b"\x80", formats.TruncatedError)])
def test_varint_rejects(bad, error):
    with pytest.raises(error):
        decode_varint(bad, 0, "x")


def test_truncation_at_every_offset_is_reported():
    data = formats.write(sample(payload=b"xyz" * 10, chunks=(Chunk(b"meta", b"abc"),)))
    for cut in range(len(data)):
        with pytest.raises(formats.GzcFormatError) as info:
            formats.read(data[:cut])
        assert isinstance(info.value, (formats.TruncatedError, formats.BadMagicError, formats.CrcMismatchError,
                                       formats.MalformedFieldError)), cut
        if cut >= 4:
            assert not isinstance(info.value, formats.BadMagicError)


def test_every_single_bit_flip_is_detected():
    data = formats.write(sample(payload=b"payload!" * 4))
    for i in range(len(data) * 8):
        corrupted = bytearray(data)
        corrupted[i // 8] ^= 1 << (i % 8)
        with pytest.raises(formats.GzcFormatError):
            formats.read(bytes(corrupted))


def test_crc_mismatch_is_named():
    data = bytearray(formats.write(sample()))
    data[40] ^= 0x01  # inside the payload
    with pytest.raises(formats.CrcMismatchError, match="CRC-32 mismatch"):
        formats.read(bytes(data))


def test_bad_magic_and_garbage():
    with pytest.raises(formats.BadMagicError):
        formats.read(b"\x89PNG\r\n\x1a\n" + bytes(40))
    with pytest.raises(formats.BadMagicError):
        formats.read(b"")
    with pytest.raises(formats.TruncatedError):
        formats.read(b"\x89GZ")


def test_trailing_bytes_rejected():
    data = formats.write(sample())
    with pytest.raises(formats.MalformedFieldError, match="after the CRC"):
        formats.read(data + b"\x00")


def test_payload_length_beyond_file_rejected_without_allocation():
    body = bytearray(formats.write(sample(payload=b"")))[:-5]   # drop payload length 0 and the CRC
    body += b"\xff\xff\xff\xff\x0f"                               # declares a 4 GiB payload
    with pytest.raises(formats.TruncatedError, match="payload declares"):
        formats.read(with_crc(bytes(body)))


def test_newer_major_version_refused_newer_minor_accepted():
    data = bytearray(formats.write(sample()))
    data[4] = 0x20
    with pytest.raises(formats.UnsupportedVersionError, match="2.0"):
        formats.read(with_crc(bytes(data[:-4])))
    data[4] = 0x1F
    assert formats.read(with_crc(bytes(data[:-4]))).version == (1, 15)


def test_unknown_ancillary_chunk_skipped_unknown_critical_refused():
    assert formats.read(formats.write(sample(chunks=(Chunk(b"zzzz", b"\x00" * 5),)))).chunk(b"zzzz")
    data = formats.write(sample(chunks=(Chunk(b"ZZZZ", b""),)))
    with pytest.raises(formats.UnknownCriticalChunkError, match="ZZZZ"):
        formats.read(data)
    assert formats.read(data, known_critical=frozenset({b"ZZZZ"})).chunk(b"ZZZZ").data == b""


def _renamed(data: bytes, old: bytes, new: bytes) -> bytes:
    """``data`` with its one chunk type ``old`` renamed ``new``, CRC redone (what a bad writer might make)."""
    assert data.count(old) == 1
    return with_crc(data[:-4].replace(old, new))


@pytest.mark.parametrize("ctype", [b"xtra", b"ROIM", b"iCCP", b"aLPH"])
def test_repeated_chunk_type_refused_by_reader_and_writer(ctype):
    """Chunk types are unique (spec §5); 1.3 readers did not check it (bug, fixed in 1.4 for all types)."""
    with pytest.raises(formats.MalformedFieldError, match="twice"):
        formats.write(sample(chunks=(Chunk(ctype, b"\x00"), Chunk(ctype, b"\x00"))))
    data = formats.write(sample(chunks=(Chunk(ctype, b"\x00"), Chunk(b"qqqq", b"\x00"))))
    with pytest.raises(formats.MalformedFieldError, match="twice"):
        formats.read(_renamed(data, b"qqqq", ctype), known_critical=frozenset({b"ROIM"}))


@pytest.mark.parametrize("ctype,limit", [(formats.CHUNK_ICCP, 4 << 20), (formats.CHUNK_EXIF, 1 << 20),
                                         (formats.CHUNK_XMPP, 1 << 20)])
def test_metadata_chunk_length_checked_before_its_data(ctype, limit):
    """A declared length above the limit (+1 method byte) is refused as soon as it is read: the
    file here has none of the bytes it declares, so a reader that looked for them would say truncated."""
    body = bytearray(formats.write(sample(payload=b"", chunks=(Chunk(ctype, b""),)))[:-4])
    at = body.index(ctype) + 4
    body[at:at + 1] = encode_varint(limit + 2)
    with pytest.raises(formats.MalformedFieldError, match="limit"):
        formats.read(with_crc(bytes(body)))
    body[at:at + len(encode_varint(limit + 2))] = encode_varint(limit + 1)     # at the limit: now truncated
    with pytest.raises(formats.TruncatedError):
        formats.read(with_crc(bytes(body)))
    with pytest.raises(formats.MalformedFieldError, match="limit"):
        formats.write(sample(chunks=(Chunk(ctype, bytes(limit + 2)),)))


@pytest.mark.parametrize("field,value", [("width", 0), ("height", 2**24 + 1), ("color", 7), ("bits", 0),
                                         ("latent_shape", ()), ("latent_shape", (1, 0, 3)),
                                         ("model_id", b"short")])
def test_writer_refuses_invalid_fields(field, value):
    with pytest.raises(formats.MalformedFieldError):
        formats.write(sample(**{field: value}))


def test_reader_refuses_zero_width():
    data = bytearray(formats.write(sample(width=1)))
    data[6] = 0
    with pytest.raises(formats.MalformedFieldError, match="size"):
        formats.read(with_crc(bytes(data[:-4])))


def test_formats_import_without_torch():
    code = "import sys, gzc.formats; import gzc.tools.info; assert 'torch' not in sys.modules, 'torch imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_repr_shows_sizes_not_bytes():
    """print(gzc.read_header(data)) printed the whole payload and every chunk's bytes (issue 19)."""
    f = sample(payload=bytes(range(256)) * 400, chunks=(Chunk(b"iCCP", b"\x00" + bytes(5000)),))
    text = repr(formats.read(formats.write(f)))
    assert len(text) < 300 and "\n" not in text, text
    for field in ("width=768", "height=512", "color=RGB", "model_id=0001020304050607", "bits=6", "coder=range",
                  "latent_shape=(160, 32, 48)", "payload=<102400 bytes>", "iCCP 5001 bytes"):
        assert field in text, (field, text)
    assert repr(f.chunks[0]) == "Chunk(type=b'iCCP', data=<5001 bytes>)"
