"""Unsigned LEB128 variable-length integers, as used for sizes in the header.

Only the shortest encoding of a value is valid: a reader that accepted
over-long encodings would let two different byte strings mean the same file,
which breaks the promise that a conformant writer produces identical bytes.
"""
from __future__ import annotations

from .errors import MalformedFieldError, TruncatedError

MAX_VARINT_BYTES = 5  # values up to 2^35 - 1; the spec allows at most 2^32 - 1


def encode_varint(value: int) -> bytes:
    if not 0 <= value < 1 << 32:
        raise ValueError(f"varint out of range: {value}")
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def decode_varint(data: bytes, offset: int, field: str) -> tuple[int, int]:
    """Returns (value, offset after it). Raises on truncation, overflow or non-minimal form."""
    value = 0
    for i in range(MAX_VARINT_BYTES):
        if offset + i >= len(data):
            raise TruncatedError(f"file ends inside the {field} field (offset {offset + i})")
        byte = data[offset + i]
        value |= (byte & 0x7F) << (7 * i)
        if not byte & 0x80:
            if i > 0 and byte == 0:
                raise MalformedFieldError(f"{field}: over-long varint at offset {offset}")
            if value >= 1 << 32:
                raise MalformedFieldError(f"{field}: varint {value} exceeds 2^32-1 at offset {offset}")
            return value, offset + i + 1
    raise MalformedFieldError(f"{field}: varint longer than {MAX_VARINT_BYTES} bytes at offset {offset}")
