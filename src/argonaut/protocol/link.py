"""A multiplexed RPC link over one byte stream: the only I/O in this package.

It opens no sockets; the server (``comms``) and the agent (``agent``) hand it a connected, TLS-wrapped
stream pair and it does the rest: frames in and out, many calls in flight matched by ``id``, requests
served concurrently, and every pending call failed with :class:`LinkClosed` the moment the stream ends,
so a caller never waits on a dead connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from argonaut.protocol.framing import HEADER_BYTES, frame_bytes, frame_length
from argonaut.protocol.messages import (
    Hello,
    Ping,
    Pong,
    ProtocolError,
    Refused,
    RemoteError,
    Request,
    Response,
    Welcome,
    encode_frame,
    parse_frame,
)

log = logging.getLogger(__name__)

Handler = Callable[[str, dict[str, Any]], Awaitable[dict[str, Any]]]


class LinkClosed(ConnectionError):
    """The link ended before the answer came; the call may or may not have run on the other side."""


class CallFailed(Exception):
    """The other side answered with an error."""

    def __init__(self, error: RemoteError) -> None:
        super().__init__(f"{error.code}: {error.message}")
        self.code = error.code
        self.message = error.message


class MethodError(Exception):
    """Raised by a handler to answer with a named error code instead of ``internal``."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


async def read_frame(reader: asyncio.StreamReader) -> bytes:
    header = await reader.readexactly(HEADER_BYTES)
    return await reader.readexactly(frame_length(header))


def write_frame(writer: asyncio.StreamWriter, frame: Any) -> None:
    writer.write(frame_bytes(encode_frame(frame)))


class Link:
    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        handler: Handler | None = None,
        name: str = "link",
    ) -> None:
        self._reader = reader
        self._writer = writer
        self._handler = handler
        self.name = name
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[Response]] = {}
        self._serving: set[asyncio.Task[None]] = set()
        self._closed = asyncio.Event()
        self._pump: asyncio.Task[None] | None = None

    def start(self) -> Link:
        self._pump = asyncio.create_task(self._read_loop(), name=f"{self.name}-reader")
        return self

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    async def wait_closed(self) -> None:
        await self._closed.wait()

    async def call(
        self, method: str, params: dict[str, Any], timeout_s: float | None = None
    ) -> dict[str, Any]:
        if self.closed:
            raise LinkClosed(f"{self.name} is closed")
        request_id = next(self._ids)
        future: asyncio.Future[Response] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        try:
            write_frame(self._writer, Request(id=request_id, method=method, params=params))
            await self._writer.drain()
            response = await asyncio.wait_for(future, timeout_s) if timeout_s else await future
        finally:
            self._pending.pop(request_id, None)
        if response.error is not None:
            raise CallFailed(response.error)
        return response.result or {}

    async def close(self) -> None:
        if self._pump is not None:
            self._pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pump
        self._shut()

    def _shut(self) -> None:
        if self._closed.is_set():
            return
        self._closed.set()
        for future in self._pending.values():
            if not future.done():
                future.set_exception(LinkClosed(f"{self.name} closed while a call was waiting"))
        for task in self._serving:
            task.cancel()
        with contextlib.suppress(Exception):
            self._writer.close()

    async def _read_loop(self) -> None:
        try:
            while True:
                frame = parse_frame(await read_frame(self._reader))
                if isinstance(frame, Response):
                    future = self._pending.get(frame.id)
                    if future is not None and not future.done():
                        future.set_result(frame)
                elif isinstance(frame, Request):
                    task = asyncio.create_task(self._serve(frame))
                    self._serving.add(task)
                    task.add_done_callback(self._serving.discard)
                elif isinstance(frame, Ping):
                    write_frame(self._writer, Pong())
                elif isinstance(frame, Pong):
                    pass
                else:
                    raise ProtocolError(f"unexpected {frame.type} after the handshake")
        except (asyncio.IncompleteReadError, ConnectionError, OSError):
            pass  # the peer went away: the normal end of a link
        except ProtocolError as exc:
            log.warning("%s: closing after a protocol error: %s", self.name, exc)
        finally:
            self._shut()

    async def _serve(self, request: Request) -> None:
        if self._handler is None:
            response = Response(
                id=request.id, error=RemoteError(code="unknown-method", message="no service here")
            )
        else:
            try:
                result = await self._handler(request.method, request.params)
                response = Response(id=request.id, result=result)
            except MethodError as exc:
                response = Response(id=request.id, error=RemoteError(code=exc.code, message=exc.message))
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a handler bug answers "internal" instead of hanging the caller
                log.exception("%s: %s failed", self.name, request.method)
                response = Response(id=request.id, error=RemoteError(code="internal", message=str(exc)))
        with contextlib.suppress(ConnectionError, RuntimeError):
            write_frame(self._writer, response)
            await self._writer.drain()


async def offer_hello(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, hello: Hello) -> Welcome:
    """The connecting side's half of the handshake."""
    write_frame(writer, hello)
    await writer.drain()
    answer = parse_frame(await read_frame(reader))
    if isinstance(answer, Refused):
        raise ProtocolError(f"the peer refused the link: {answer.reason}")
    if not isinstance(answer, Welcome):
        raise ProtocolError(f"expected welcome.v1, got {answer.type}")
    return answer


async def await_hello(reader: asyncio.StreamReader, timeout_s: float = 10.0) -> Hello:
    """The accepting side's half: the first frame must be a hello, promptly."""
    frame = parse_frame(await asyncio.wait_for(read_frame(reader), timeout_s))
    if not isinstance(frame, Hello):
        raise ProtocolError(f"expected hello.v1, got {frame.type}")
    return frame
