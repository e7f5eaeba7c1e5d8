"""What a peer may cost us before it has proved who it is, on a port that accepts TLS links.

A connection is *unauthenticated* from the moment it is accepted until its certificate's thumbprint
is pinned and its hello answered (the server's comms port, an agent's listening port). Anyone who can
reach the port can open one, so each is kept cheap and their number bounded:

- at most ``limit`` are in flight at once; a connection beyond that is closed the moment it is
  accepted, before any TLS work, and a warning says so (at most one a minute, with a count);
- the TLS handshake has a deadline (``handshake_timeout_s``), so a peer that connects and says
  nothing frees its place;
- after the handshake, only a hello-sized frame is read before the thumbprint is checked (see
  ``protocol.framing.HELLO_MAX_BYTES``); that, and the hello's own deadline, is the link code's part.

The port is opened without TLS and each accepted connection is upgraded here (``start_tls``), because
a server socket opened with ``ssl=`` starts the handshake before our code hears of the connection,
so it could neither count nor refuse it.

    admission = Admission("comms port", limit=100, handshake_timeout_s=10)

    async def accept(reader, writer):
        with admission.slot(writer) as admitted:
            if not admitted or not await admission.start_tls(writer, context):
                return
            ...  # pin the thumbprint, read the hello, decide
        ...  # serve the admitted link: it no longer counts against the limit
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from collections.abc import Iterator

log = logging.getLogger("argonaut.security")

MAX_UNAUTHENTICATED = 100
HANDSHAKE_TIMEOUT_S = 10.0
_WARN_EVERY_S = 60.0


class Admission:
    def __init__(
        self, name: str, limit: int = MAX_UNAUTHENTICATED, handshake_timeout_s: float = HANDSHAKE_TIMEOUT_S
    ) -> None:
        self.name = name
        self.limit = limit
        self.handshake_timeout_s = handshake_timeout_s
        self.in_flight = 0
        self._refused = 0  # since the last warning
        self._warned_at: float | None = None

    @contextlib.contextmanager
    def slot(self, writer: asyncio.StreamWriter) -> Iterator[bool]:
        """Hold one of the places for unauthenticated connections while the block runs; answers False
        (having closed the connection) when all are taken."""
        if self.in_flight >= self.limit:
            writer.transport.abort()
            self._note_refusal()
            yield False
            return
        self.in_flight += 1
        try:
            yield True
        finally:
            self.in_flight -= 1

    async def start_tls(self, writer: asyncio.StreamWriter, context: ssl.SSLContext) -> bool:
        """The server side of the TLS handshake, within its deadline. A failure is the peer's (a port
        scanner, a client speaking something else, a dropped connection): logged quietly, the
        connection closed, and False answered."""
        try:
            await writer.start_tls(context, ssl_handshake_timeout=self.handshake_timeout_s)
        except (OSError, EOFError, TimeoutError, RuntimeError) as exc:  # ssl.SSLError is an OSError
            log.debug(
                "%s: TLS handshake with %s failed: %s",
                self.name,
                writer.get_extra_info("peername"),
                exc or type(exc).__name__,
            )
            writer.transport.abort()
            return False
        return True

    def _note_refusal(self) -> None:
        self._refused += 1
        now = asyncio.get_running_loop().time()
        if self._warned_at is None or now - self._warned_at >= _WARN_EVERY_S:
            log.warning(
                "%s: closed %d new connection(s) at once: %d unauthenticated connections are already in "
                "flight, the most allowed",
                self.name,
                self._refused,
                self.limit,
            )
            self._warned_at, self._refused = now, 0
