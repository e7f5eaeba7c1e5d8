"""Splitting a pipe's byte stream into text lines.

Reads arrive in arbitrary chunks (up to 256 KiB), so a line may span many reads and a UTF-8 character
may be cut in two; bytes are therefore joined before decoding. Lines are capped so a script printing
gigabytes without a newline cannot exhaust the worker's memory.
"""

from __future__ import annotations

from collections.abc import Callable

MAX_LINE_BYTES = 1024 * 1024


class LineSplitter:
    """Feeds complete lines (without the newline) to ``emit``; ``flush`` emits a last unterminated line."""

    __slots__ = ("_emit", "_parts", "_size", "_max", "consumed")

    def __init__(self, emit: Callable[[str], None], max_line_bytes: int = MAX_LINE_BYTES) -> None:
        self._emit = emit
        self._parts: list[bytes] = []
        self._size = 0
        self._max = max_line_bytes
        # Bytes of the stream behind the lines emitted so far (counted before each emit): where to pick
        # the stream up again to get exactly the lines after the last one seen.
        self.consumed = 0

    def feed(self, data: bytes) -> None:
        newline = data.find(b"\n")
        if newline < 0:
            self._hold(data)
            return
        if self._parts:
            self._parts.append(data[:newline])
            line = b"".join(self._parts)
            self._parts.clear()
            self._size = 0
        else:
            line = data[:newline]
        self._line(line)
        start = newline + 1
        while (newline := data.find(b"\n", start)) >= 0:
            self._line(data[start:newline])
            start = newline + 1
        if start < len(data):
            self._hold(data[start:])

    def flush(self) -> None:
        if self._parts:
            line = b"".join(self._parts)
            self._parts.clear()
            self._size = 0
            self._line(line, terminated=False)

    def _hold(self, data: bytes) -> None:
        self._parts.append(data)
        self._size += len(data)
        if self._size > self._max:
            self._split_overlong()

    def _split_overlong(self) -> None:
        pending = b"".join(self._parts)
        while len(pending) > self._max:
            cut = self._max
            # Do not cut inside a UTF-8 sequence (continuation bytes are 0b10xxxxxx).
            while cut > self._max - 4 and pending[cut] & 0xC0 == 0x80:
                cut -= 1
            self._line(pending[:cut], terminated=False)
            pending = pending[cut:]
        self._parts = [pending]
        self._size = len(pending)

    def _line(self, line: bytes, terminated: bool = True) -> None:
        self.consumed += len(line) + terminated
        # A Windows-style line ending is one newline, not a newline plus a stray "\r".
        if line.endswith(b"\r"):
            line = line[:-1]
        self._emit(line.decode("utf-8", errors="replace"))
