"""Length-prefixed frames on a byte stream: 4-byte big-endian length, then that many bytes of JSON.

Framing is separate from the messages so that a partial read never reaches the parser, and a frame
over the size limit is refused before it is buffered (a peer cannot make us allocate gigabytes).

Two limits apply. ``MAX_FRAME_BYTES`` bounds any frame on a link whose peer is pinned and welcomed.
``HELLO_MAX_BYTES`` bounds what is read from a peer that has not yet proved who it is: the handshake
frames (hello, welcome, refused) are a few hundred bytes, so nobody can make us buffer more than a
hello's worth before its thumbprint is checked.
"""

from __future__ import annotations

import struct

MAX_FRAME_BYTES = 32 * 1024 * 1024
HELLO_MAX_BYTES = 8 * 1024
_HEADER = struct.Struct(">I")
HEADER_BYTES = _HEADER.size


class FrameTooLarge(ValueError):
    pass


def frame_bytes(payload: bytes) -> bytes:
    if len(payload) > MAX_FRAME_BYTES:
        raise FrameTooLarge(f"a frame of {len(payload)} bytes is over the {MAX_FRAME_BYTES}-byte limit")
    return _HEADER.pack(len(payload)) + payload


def frame_length(header: bytes, limit: int = MAX_FRAME_BYTES) -> int:
    """The length ``header`` announces, refused (before anything more is read) when over ``limit``."""
    (length,) = _HEADER.unpack(header)
    if length > limit:
        raise FrameTooLarge(f"the peer announced a frame of {length} bytes, over the {limit}-byte limit")
    return int(length)
