"""What a peer may cost us before it has proved who it is, on a port that accepts TLS links.

A connection is *unauthenticated* from the moment it is accepted until its certificate's thumbprint
is pinned and its hello answered (the server's comms port, an agent's listening port). Anyone who can
reach the port can open one, so each is kept cheap and their number bounded:

- at most ``limit`` are held at once. While that many are, the port accepts nothing more: new
  connections wait in the kernel's listen backlog, costing this process nothing, and are accepted in
  order as places free up (a warning says so, at most once a minute). Closing them at once instead
  made every agent refused after a node restart fail a TLS handshake and back off further (its
  attempts cost both sides CPU, and its longer wait drew out the last arrivals by tens of seconds);
- at most ``turns`` of them are in their TLS handshake at once; the rest wait in line, first come
  first served, their ClientHello unread. Without the line, a thousand handshakes after a node restart
  shared the CPU so evenly that none finished for seconds; in line they finish steadily from the
  moment the node is up. A turn is held for at most ``turn_s``: a peer that connects and says nothing
  (or a slow one) goes on with its handshake out of turn, so idle connections cannot stall the line;
- the wait and the TLS handshake together have a deadline (``handshake_timeout_s``), so a peer that
  connects and says nothing frees its place;
- after the handshake, only a hello-sized frame is read before the thumbprint is checked (see
  ``protocol.framing.HELLO_MAX_BYTES``); that, and the hello's own deadline, is the link code's part.

The port is opened without TLS and each accepted connection is upgraded here (``start_tls``), because
a server socket opened with ``ssl=`` starts the handshake before our code hears of the connection,
so it could neither count nor hold it back.

    admission = Admission("comms port", limit=100, handshake_timeout_s=10)

    async def accept(reader, writer):
        with admission.held():
            if not await admission.start_tls(writer, context):
                return
            ...  # pin the thumbprint, read the hello, decide
        ...  # serve the admitted link: it no longer counts against the limit

    server = await admission.serve(accept, "127.0.0.1", 10943)
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import socket
import ssl
from collections.abc import Awaitable, Callable, Iterator

log = logging.getLogger("argonaut.security")

MAX_UNAUTHENTICATED = 100
HANDSHAKE_TIMEOUT_S = 10.0
# Handshakes at once: enough to keep a core busy while each waits for its peer's next flight (a round
# trip, long on a slow network), few enough that each finishes promptly when thousands arrive together.
TURNS = 256
TURN_S = 1.0  # a healthy handshake is a few round trips; a peer slower than this gives up its turn
BACKLOG = 1024  # connections the kernel holds for us while all places are taken (capped by somaxconn)
_WARN_EVERY_S = 60.0

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


class Admission:
    def __init__(
        self,
        name: str,
        limit: int = MAX_UNAUTHENTICATED,
        handshake_timeout_s: float = HANDSHAKE_TIMEOUT_S,
        turns: int = TURNS,
        turn_s: float = TURN_S,
    ) -> None:
        self.name = name
        self.limit = limit
        self.handshake_timeout_s = handshake_timeout_s
        self.turn_s = turn_s
        self.in_flight = 0
        self._room = asyncio.Event()
        self._room.set()
        self._free_turns = turns
        self._line: collections.deque[asyncio.Future[None]] = collections.deque()
        self._warned_at: float | None = None

    async def serve(self, handle: Handler, host: str, port: int, backlog: int = BACKLOG) -> AdmittingServer:
        """Listen on ``host``:``port`` and run ``handle`` for each connection accepted, accepting only
        while there is room; ``handle`` ends the connection's place with :meth:`held`."""
        loop = asyncio.get_running_loop()
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
        sockets: list[socket.socket] = []
        try:
            for family, kind, proto, _, address in dict.fromkeys(infos):
                sock = socket.socket(family, kind, proto)
                sockets.append(sock)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                if family == socket.AF_INET6:
                    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                sock.bind(address)
                sock.listen(backlog)
                sock.setblocking(False)
        except BaseException:
            for sock in sockets:
                sock.close()
            raise
        return AdmittingServer(self, handle, sockets)

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        """The connection :meth:`serve` accepted holds its place while the block runs."""
        try:
            yield
        finally:
            self._release()

    async def _reserve(self) -> None:
        """Wait until there is room, then take a place for the connection about to be accepted."""
        if self.in_flight >= self.limit:
            self._room.clear()
            self._note_full()
            await self._room.wait()
        self.in_flight += 1

    def _release(self) -> None:
        self.in_flight -= 1
        if self.in_flight < self.limit:
            self._room.set()

    async def start_tls(self, writer: asyncio.StreamWriter, context: ssl.SSLContext) -> bool:
        """The server side of the TLS handshake, in turn and within its deadline. A failure is the peer's
        (a port scanner, a client speaking something else, a dropped connection, a wait past the
        deadline): logged quietly, the connection closed, and False answered."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.handshake_timeout_s
        if isinstance(writer.transport, asyncio.ReadTransport):
            writer.transport.pause_reading()  # what arrives while in line is the handshake's: leave it unread
        if not await self._take_turn(deadline):
            log.debug("%s: %s waited past its deadline for a handshake", self.name, _peer(writer))
            writer.transport.abort()
            return False
        given_back = False

        def give_back() -> None:
            nonlocal given_back
            if not given_back:
                given_back = True
                self._pass_turn()

        timer = loop.call_at(min(loop.time() + self.turn_s, deadline), give_back)
        try:
            await writer.start_tls(context, ssl_handshake_timeout=max(deadline - loop.time(), 0.001))
        except (OSError, EOFError, TimeoutError, RuntimeError) as exc:  # ssl.SSLError is an OSError
            log.debug(
                "%s: TLS handshake with %s failed: %s", self.name, _peer(writer), exc or type(exc).__name__
            )
            writer.transport.abort()
            return False
        finally:
            timer.cancel()
            give_back()
        return True

    async def _take_turn(self, deadline: float) -> bool:
        """Wait in line for a turn until ``deadline``; answers whether one was had."""
        if self._free_turns > 0 and not self._line:
            self._free_turns -= 1
            return True
        place = asyncio.get_running_loop().create_future()
        self._line.append(place)
        try:
            async with asyncio.timeout_at(deadline):
                await place
        except BaseException as exc:  # out of time, or cancelled
            if place.done() and not place.cancelled():
                self._pass_turn()  # handed over in the same moment the wait ended: pass it on
            if isinstance(exc, TimeoutError):
                return False
            raise
        return True

    def _pass_turn(self) -> None:
        """A turn ends: the first one still waiting in line has it, or it is free."""
        while self._line:
            place = self._line.popleft()
            if not place.done():
                place.set_result(None)
                return
        self._free_turns += 1

    def _note_full(self) -> None:
        now = asyncio.get_running_loop().time()
        if self._warned_at is None or now - self._warned_at >= _WARN_EVERY_S:
            log.warning(
                "%s: %d unauthenticated connections are in flight, the most allowed: new connections "
                "wait in the listen backlog until places free up",
                self.name,
                self.limit,
            )
            self._warned_at = now


class AdmittingServer:
    """The listening sockets of :meth:`Admission.serve` and their accept loops."""

    def __init__(self, admission: Admission, handle: Handler, sockets: list[socket.socket]) -> None:
        self._admission = admission
        self._handle = handle
        self.sockets = sockets
        self._loops = [asyncio.create_task(self._accept(sock)) for sock in sockets]

    async def _accept(self, sock: socket.socket) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await self._admission._reserve()
            try:
                conn, _ = await loop.sock_accept(sock)
            except BaseException as exc:
                self._admission._release()
                if not isinstance(exc, OSError):
                    raise
                # Out of file descriptors, say: try again shortly, do not spin.
                log.warning("%s: could not accept a connection: %s", self._admission.name, exc)
                await asyncio.sleep(0.1)
                continue
            loop.create_task(self._connect(conn))

    async def _connect(self, conn: socket.socket) -> None:
        """The accepted socket as a stream for the handler (which releases its place when done)."""
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader()
        protocol = asyncio.StreamReaderProtocol(reader, self._handle)
        try:
            await loop.connect_accepted_socket(lambda: protocol, conn)
        except BaseException:
            conn.close()
            self._admission._release()
            raise

    def close(self) -> None:
        """Stop accepting; connections already accepted go on."""
        for task in self._loops:
            task.cancel()
        for sock in self.sockets:
            sock.close()


def _peer(writer: asyncio.StreamWriter) -> object:
    return writer.get_extra_info("peername")
