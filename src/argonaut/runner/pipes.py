"""The script's stdout and stderr pipes, read concurrently on the event loop.

The runner creates the pipes itself instead of asking for ``subprocess.PIPE``: it can then stop reading
when it decides to (a background process the script left behind may hold a pipe open forever), and each
read goes straight to the line splitter without a StreamReader in between.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from functools import partial

from argonaut.runner.lines import LineSplitter


class _PipeReader(asyncio.Protocol):
    __slots__ = ("_splitter", "_transport", "_on_closed", "_on_error")

    def __init__(
        self,
        splitter: LineSplitter,
        on_closed: Callable[[], None],
        on_error: Callable[[BaseException], None],
    ) -> None:
        self._splitter = splitter
        self._transport: asyncio.BaseTransport | None = None
        self._on_closed = on_closed
        self._on_error = on_error

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport

    def data_received(self, data: bytes) -> None:
        try:
            self._splitter.feed(data)
        except Exception as error:  # raised by on_log: stop reading and let the run fail with it
            self._on_error(error)
            if self._transport is not None:
                self._transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        try:
            self._splitter.flush()
        except Exception as error:
            self._on_error(error)
        finally:
            self._on_closed()

    def close(self) -> None:
        # Deliver a partial last line now: connection_lost only runs on a later loop iteration, after
        # run_script has returned, and on_log must not be called after that.
        try:
            self._splitter.flush()
        except Exception as error:
            self._on_error(error)
        if self._transport is not None:
            self._transport.close()


def _same(reader: _PipeReader) -> _PipeReader:
    return reader


class OutputPipes:
    """Both pipes of one run. ``stdout_fd``/``stderr_fd`` are the ends handed to the child."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        # Only the child's ends become inheritable (by dup2 onto 1 and 2); os.pipe() fds are not.
        self._stdout_read, self.stdout_fd = os.pipe()
        self._stderr_read, self.stderr_fd = os.pipe()
        self._unconnected = [self._stdout_read, self._stderr_read]
        self._open = 2
        self._readers: list[_PipeReader] = []
        self.closed: asyncio.Future[None] = loop.create_future()  # both pipes reached end of file
        self.failed: asyncio.Future[BaseException] = loop.create_future()

    async def connect(
        self, on_stdout_line: Callable[[str], None], on_stderr_line: Callable[[str], None]
    ) -> None:
        for on_line in (on_stdout_line, on_stderr_line):
            reader = _PipeReader(LineSplitter(on_line), self._pipe_closed, self._reader_failed)
            pipe = open(self._unconnected[0], "rb", buffering=0)  # the transport owns and closes it
            self._unconnected.pop(0)
            try:
                await self._loop.connect_read_pipe(partial(_same, reader), pipe)
            except BaseException:
                pipe.close()
                raise
            self._readers.append(reader)

    def close_child_ends(self) -> None:
        """Called once the child has its copies: end of file can only come when our copies are gone."""
        for fd in (self.stdout_fd, self.stderr_fd):
            if fd >= 0:
                os.close(fd)
        self.stdout_fd = self.stderr_fd = -1

    def raise_if_failed(self) -> None:
        if self.failed.done():
            raise self.failed.result()

    def close(self) -> None:
        """Stop reading; a partial last line is still delivered."""
        self.close_child_ends()
        for reader in self._readers:
            reader.close()
        # Read ends never connected (connect failed part-way) are still ours to close.
        while self._unconnected:
            os.close(self._unconnected.pop())

    def _pipe_closed(self) -> None:
        self._open -= 1
        if self._open == 0 and not self.closed.done():
            self.closed.set_result(None)

    def _reader_failed(self, error: BaseException) -> None:
        if not self.failed.done():
            self.failed.set_result(error)
