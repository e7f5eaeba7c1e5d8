"""Length-prefixed frames on a byte stream: 4-byte big-endian length, then that many bytes of JSON.

Framing is separate from the messages so that a partial read never reaches the parser, and a frame
over the size limit is refused before it is buffered (a peer cannot make us allocate gigabytes).
"""

from __future__ import annotations

import struct

MAX_FRAME_BYTES = 32 * 1024 * 1024
_HEADER = struct.Struct(">I")
HEADER_BYTES = _HEADER.size


class FrameTooLarge(ValueError):
    pass


def frame_bytes(payload: bytes) -> bytes:
    if len(payload) > MAX_FRAME_BYTES:
        raise FrameTooLarge(f"a frame of {len(payload)} bytes is over the {MAX_FRAME_BYTES}-byte limit")
    return _HEADER.pack(len(payload)) + payload


def frame_length(header: bytes) -> int:
    (length,) = _HEADER.unpack(header)
    if length > MAX_FRAME_BYTES:
        raise FrameTooLarge(
            f"the peer announced a frame of {length} bytes, over the {MAX_FRAME_BYTES}-byte limit"
        )
    return int(length)
