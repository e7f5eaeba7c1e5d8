"""A multiplexed RPC link over one byte stream: the only I/O in this package.

It opens no sockets; the server (``comms``) and the agent (``agent``) hand it a connected, TLS-wrapped
stream pair and it does the rest: frames in and out, many calls in flight matched by ``id``, requests
served concurrently, and every pending call failed with :class:`LinkClosed` the moment the stream ends,
so a caller never waits on a dead connection.

A connection can also die without ending: a peer that lost power, a NAT that forgot the flow. Two
things find such half-open links. Every call has a timeout (:class:`CallTimedOut`, a kind of
:class:`LinkClosed`: the answer did not come). And each side sends ``ping.v1`` every
``ping_interval_s``; when neither a pong nor any response arrives within ``ping_timeout_s`` the link
is aborted, which fails its pending calls at once so callers reconnect. Pings were part of protocol
v1 from the start (every peer answers them), so adding them changed no version.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from argonaut.protocol.framing import (
    HEADER_BYTES,
    HELLO_MAX_BYTES,
    MAX_FRAME_BYTES,
    FrameTooLarge,
    frame_bytes,
    frame_length,
)
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

CALL_TIMEOUT_S = 60.0
PING_INTERVAL_S = 30.0
PING_TIMEOUT_S = 30.0
HELLO_TIMEOUT_S = 10.0


@dataclass(frozen=True, slots=True)
class LinkTimings:
    """How long a call may wait for its answer, and how often (and how patiently) a link pings.

    A long-poll method that holds its answer (``script.status.v1``'s ``wait_ms``) needs a call
    timeout beyond that wait: callers pass one per call. ``ping_interval_s=None`` sends no pings.
    """

    call_timeout_s: float = CALL_TIMEOUT_S
    ping_interval_s: float | None = PING_INTERVAL_S
    ping_timeout_s: float = PING_TIMEOUT_S


class LinkClosed(ConnectionError):
    """The link ended before the answer came; the call may or may not have run on the other side."""


class CallTimedOut(LinkClosed):
    """No answer within the call's timeout. Like a dropped link, the call may or may not have run; the
    link itself may still be open (its pings decide that), but a caller should not trust it."""


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


async def read_frame(reader: asyncio.StreamReader, max_bytes: int = MAX_FRAME_BYTES) -> bytes:
    """One frame's payload; a frame announced over ``max_bytes`` is a :class:`ProtocolError` before its
    body is read, so the peer's claim costs us four bytes."""
    header = await reader.readexactly(HEADER_BYTES)
    try:
        length = frame_length(header, max_bytes)
    except FrameTooLarge as exc:
        raise ProtocolError(str(exc)) from None
    return await reader.readexactly(length)


def write_frame(writer: asyncio.StreamWriter, frame: Any) -> None:
    writer.write(frame_bytes(encode_frame(frame)))


class Link:
    """``peer`` is the thumbprint the other side presented (pinned before the link was made): who
    holds a link can always tell whom it reaches."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        handler: Handler | None = None,
        name: str = "link",
        *,
        peer: str | None = None,
        timings: LinkTimings = LinkTimings(),
    ) -> None:
        self._reader = reader
        self._writer = writer
        self._handler = handler
        self.name = name
        self.peer = peer
        self.timings = timings
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[Response]] = {}
        self._serving: set[asyncio.Task[None]] = set()
        self._closed = asyncio.Event()
        self._on_close: list[Callable[[], None]] = []
        self._pump: asyncio.Task[None] | None = None
        # Pings run on a timer, not a task of their own: a task and its coroutine cost a link ~1.5 KB,
        # which ten thousand polling agents on one node feel (bench/agents_scale.py).
        self._ping_timer: asyncio.TimerHandle | None = None
        self._awaiting_pong = False  # a ping went out and neither a pong nor any response came since

    def start(self) -> Link:
        self._pump = asyncio.create_task(self._read_loop(), name=f"{self.name}-reader")
        if self.timings.ping_interval_s:
            self._arm_ping()
        return self

    def on_close(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` (once, on the event loop) when the link ends; at once if it already has.
        Lets a holder react to the end without keeping a task waiting for it."""
        if self.closed:
            asyncio.get_running_loop().call_soon(callback)
        else:
            self._on_close.append(callback)

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    async def wait_closed(self) -> None:
        await self._closed.wait()

    async def call(
        self, method: str, params: dict[str, Any], timeout_s: float | None = None
    ) -> dict[str, Any]:
        """Call ``method`` on the peer; waits at most ``timeout_s`` (default: the link's call timeout)."""
        if self.closed:
            raise LinkClosed(f"{self.name} is closed")
        limit_s = timeout_s if timeout_s is not None else self.timings.call_timeout_s
        request_id = next(self._ids)
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Response] = loop.create_future()
        self._pending[request_id] = future
        # The deadline fails the answer's future rather than cancelling this task (asyncio.timeout): a
        # health check of ten thousand agents makes ten thousand calls, and the timer is the cheaper.
        expiry = loop.call_later(
            limit_s, _expire, future, f"{self.name} did not answer {method} within {limit_s:g}s"
        )
        try:
            try:
                write_frame(self._writer, Request(id=request_id, method=method, params=params))
                if _writing_paused(self._writer):  # drain() waits only then; bounded by the deadline
                    await asyncio.wait_for(self._writer.drain(), max(0.0, expiry.when() - loop.time()))
            except TimeoutError:
                raise CallTimedOut(f"{self.name} did not take {method} within {limit_s:g}s") from None
            except (ConnectionError, OSError, RuntimeError) as exc:  # a transport already closing
                raise LinkClosed(f"{self.name} closed while sending {method}: {exc}") from exc
            response = await future
        finally:
            expiry.cancel()
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

    def _shut(self, abort: bool = False) -> None:
        """End the link; ``abort`` drops the connection without a TLS goodbye (the peer is not there to
        hear it, and a graceful close would hold the socket until it gave up)."""
        if self._closed.is_set():
            return
        self._closed.set()
        for future in self._pending.values():
            if not future.done():
                future.set_exception(LinkClosed(f"{self.name} closed while a call was waiting"))
        for task in self._serving:
            task.cancel()
        if self._ping_timer is not None:
            self._ping_timer.cancel()
            self._ping_timer = None
        with contextlib.suppress(Exception):
            if abort:
                self._writer.transport.abort()
            else:
                self._writer.close()
        callbacks, self._on_close = self._on_close, []
        loop = asyncio.get_running_loop()
        for callback in callbacks:
            loop.call_soon(callback)

    # Keep-alive: every ping interval a ping goes out; a peer that answers nothing (no pong, no response)
    # within the ping timeout is gone, and the link is aborted. The next ping is due an interval after
    # the answer, as when each link looped over a sleep.

    def _arm_ping(self) -> None:
        if self._ping_timer is not None:
            self._ping_timer.cancel()
        interval_s = self.timings.ping_interval_s or 0.0
        self._ping_timer = asyncio.get_running_loop().call_later(interval_s, self._ping)

    def _ping(self) -> None:
        self._ping_timer = None
        if self.closed:
            return
        try:
            write_frame(self._writer, Ping())
        except (ConnectionError, OSError, RuntimeError):
            self._shut(abort=True)
            return
        self._awaiting_pong = True
        patience_s = self.timings.ping_timeout_s
        self._ping_timer = asyncio.get_running_loop().call_later(patience_s, self._no_answer)

    def _no_answer(self) -> None:
        self._ping_timer = None
        if self.closed or not self._awaiting_pong:
            return
        log.warning(
            "%s: no answer to a ping within %gs, closing the link", self.name, self.timings.ping_timeout_s
        )
        self._shut(abort=True)

    def _heard(self) -> None:
        """A pong or a response came in: the peer hears us and answers."""
        if self._awaiting_pong:
            self._awaiting_pong = False
            if not self.closed:
                self._arm_ping()

    async def _read_loop(self) -> None:
        try:
            while True:
                frame = parse_frame(await read_frame(self._reader))
                if isinstance(frame, Response | Pong):
                    self._heard()
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


def _expire(future: asyncio.Future[Response], message: str) -> None:
    if not future.done():
        future.set_exception(CallTimedOut(message))


def _writing_paused(writer: asyncio.StreamWriter) -> bool:
    """Whether ``drain()`` would wait: the transport holds more than its high-water mark."""
    transport = writer.transport
    return transport.get_write_buffer_size() > transport.get_write_buffer_limits()[1]


async def offer_hello(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, hello: Hello) -> Welcome:
    """The connecting side's half of the handshake; the answer may be no bigger than a hello."""
    write_frame(writer, hello)
    await writer.drain()
    answer = parse_frame(await read_frame(reader, HELLO_MAX_BYTES))
    if isinstance(answer, Refused):
        raise ProtocolError(f"the peer refused the link: {answer.reason}")
    if not isinstance(answer, Welcome):
        raise ProtocolError(f"expected welcome.v1, got {answer.type}")
    return answer


async def await_hello(reader: asyncio.StreamReader, timeout_s: float = HELLO_TIMEOUT_S) -> Hello:
    """The accepting side's half: the first frame must be a hello, promptly, and hello-sized: the peer
    has not been admitted yet, so it may not make us buffer more (a bigger one is a ProtocolError)."""
    frame = parse_frame(await asyncio.wait_for(read_frame(reader, HELLO_MAX_BYTES), timeout_s))
    if not isinstance(frame, Hello):
        raise ProtocolError(f"expected hello.v1, got {frame.type}")
    return frame
