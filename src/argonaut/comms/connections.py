"""Links to agents: connect out to listening agents, accept polling agents, keep each link pinned.

A link is known by its address (a listening agent's URI, a polling agent's subscription) *and* the
thumbprint its peer presented, and it is only ever handed out for an endpoint that registered that
same thumbprint (checked again on every use). So a worker registered with the address of a live
agent but another thumbprint never reaches that agent, whatever links are open: a listening endpoint
gets a fresh connection whose certificate is refused, a polling endpoint finds the agent connected
under another certificate. Either way the caller gets :class:`AgentUntrusted`, naming both
thumbprints. The same holds across spaces: two spaces sharing an agent share its link only if they
registered the same certificate.

Links are kept open and reused, so a script step pays for a TLS handshake once per agent, not once
per call. A call for an agent that is momentarily unreachable waits, bounded by the policy's polling
request queue timeout, and goes through when the agent is back; a call whose agent never shows up
fails with a message that says so.

The comms port admits polling agents through :class:`~argonaut.security.admission.Admission`:
unauthenticated connections are capped, their TLS handshake and hello have deadlines, and the hello
may be no bigger than ``HELLO_MAX_BYTES``.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, TypeVar
from urllib.parse import urlsplit

from argonaut.protocol.link import Link, LinkTimings, await_hello, offer_hello, write_frame
from argonaut.protocol.messages import Hello, ProtocolError, Refused, Welcome, negotiate
from argonaut.security.admission import Admission, AdmittingServer
from argonaut.security.tls import peer_thumbprint

if TYPE_CHECKING:
    from argonaut.comms.relay import Relay

log = logging.getLogger("argonaut.comms")

Authorize = Callable[[str, str], Awaitable[bool]]  # (subscription id, thumbprint) -> registered?
Announce = Callable[[str], Awaitable[bool]]  # (thumbprint of a listening agent that started) -> registered?


RELAY_RECHECK_S = 1.0  # while waiting for a polling agent, how often to ask whether another node has it


class AgentLink(Protocol):
    """What a dispatcher calls an agent through: a link of this node's, or one relayed by another."""

    peer: str | None

    @property
    def closed(self) -> bool: ...

    async def call(
        self, method: str, params: dict[str, Any], timeout_s: float | None = None
    ) -> dict[str, Any]: ...


_L = TypeVar("_L", bound=AgentLink)


class AgentUnreachable(ConnectionError):
    pass


class AgentUntrusted(AgentUnreachable):
    """The machine at the endpoint answered, but with a certificate other than the one registered.

    Not a connectivity problem: retrying will not help, and the worker must be re-registered (or the
    right agent put back). Health checks report it as Unhealthy."""

    def __init__(self, message: str, presented: str | None, registered: str) -> None:
        super().__init__(message)
        self.presented = presented
        self.registered = registered


@dataclass(frozen=True, slots=True)
class Endpoint:
    style: str  # TentaclePassive | TentacleActive
    uri: str  # https://host:port/ or poll://…/
    thumbprint: str

    @property
    def pin(self) -> str:
        return self.thumbprint.upper()


class Connections:
    def __init__(
        self,
        connect_context: ssl.SSLContext,
        connect_timeout_s: float = 10.0,
        *,
        accept_context: ssl.SSLContext | None = None,
        admission: Admission | None = None,
        timings: LinkTimings = LinkTimings(),
    ) -> None:
        self._connect_context = connect_context
        self._connect_timeout_s = connect_timeout_s
        self._accept_context = accept_context
        self._admission = admission or Admission("comms port")
        self.timings = timings
        # address (uri or subscription) -> thumbprint its peer presented -> live link
        self._links: dict[str, dict[str, Link]] = {}
        self._connecting: dict[tuple[str, str], asyncio.Lock] = {}
        # (subscription, thumbprint) -> set while such a polling link is up
        self._arrived: dict[tuple[str, str], asyncio.Event] = {}
        # Set when nodes share a database: calls for a polling agent linked to another node go through it.
        self.relay: Relay | None = None
        self._unlinking: set[asyncio.Task[None]] = set()  # telling the relay a link ended

    def local_polling_link(self, subscription: str, thumbprint: str) -> Link | None:
        """This node's own live link to a polling agent (what a relayed call is made over)."""
        link = self._links.get(subscription, {}).get(thumbprint.upper())
        return link if link is not None and not link.closed else None

    async def link(self, endpoint: Endpoint, wait_s: float) -> AgentLink:
        """A live link to ``endpoint`` whose peer presented its registered thumbprint, connecting or
        waiting for it (up to ``wait_s``) if need be; :class:`AgentUntrusted` when another answers. A
        polling agent linked only to another node is reached through that node (a relayed link)."""
        current = self._live(endpoint)
        if current is not None:
            return current
        if endpoint.style == "TentacleActive":
            return self._pinned(await self._await_polling(endpoint, wait_s), endpoint)
        lock = self._connecting.setdefault((endpoint.uri, endpoint.pin), asyncio.Lock())
        async with lock:
            current = self._live(endpoint)
            if current is not None:
                return current
            link = await self._connect_listening(endpoint)
            self._links.setdefault(endpoint.uri, {})[endpoint.pin] = link
            return self._pinned(link, endpoint)

    def forget(self, endpoint: Endpoint, link: AgentLink | None = None) -> None:
        """Drop (and close) the endpoint's link, or only ``link`` if that is still the one held: a
        caller that saw a link fail must not close the fresh one another caller just made."""
        held = self._links.get(endpoint.uri, {})
        current = held.get(endpoint.pin)
        if current is None or (link is not None and current is not link):
            return
        del held[endpoint.pin]
        if not held:
            self._links.pop(endpoint.uri, None)
        asyncio.ensure_future(current.close())

    def connected_by_style(self) -> dict[str, int]:
        """Live links by style, for ``/metrics`` at scrape time: a listening agent's address is its
        ``https://`` URI, a polling agent's its subscription."""
        counts = {"polling": 0, "listening": 0}
        for address, held in list(self._links.items()):
            style = "listening" if address.startswith("https://") else "polling"
            counts[style] += sum(1 for link in held.values() if not link.closed)
        return counts

    async def close(self) -> None:
        """Close every link at once: one after another, ten thousand took seconds of a node's restart,
        seconds its polling agents spent backing off further."""
        links = [link for held in list(self._links.values()) for link in list(held.values())]
        await asyncio.gather(*(link.close() for link in links), return_exceptions=True)
        self._links.clear()

    def _live(self, endpoint: Endpoint) -> Link | None:
        link = self._links.get(endpoint.uri, {}).get(endpoint.pin)
        return self._pinned(link, endpoint) if link is not None and not link.closed else None

    @staticmethod
    def _pinned(link: _L, endpoint: Endpoint) -> _L:
        """The check on every use: a link goes only to the endpoint whose thumbprint its peer showed."""
        if (link.peer or "").upper() != endpoint.pin:
            raise AgentUntrusted(
                f"the link to {endpoint.uri} is with certificate {link.peer}, "
                f"but {endpoint.pin} is registered: refusing it",
                link.peer,
                endpoint.pin,
            )
        return link

    async def _connect_listening(self, endpoint: Endpoint) -> Link:
        parts = urlsplit(endpoint.uri)
        host, port = parts.hostname or "", parts.port or 10933
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(host, port, ssl=self._connect_context, server_hostname="argonaut"),
                self._connect_timeout_s,
            )
        except (OSError, TimeoutError, ssl.SSLError) as exc:
            raise AgentUnreachable(
                f"cannot connect to the agent at {endpoint.uri}: {exc or type(exc).__name__}"
            ) from exc
        presented = peer_thumbprint(writer.get_extra_info("ssl_object"))
        if presented != endpoint.pin:
            writer.close()
            log.warning(
                "refused the agent at %s: it presented %s, expected %s", endpoint.uri, presented, endpoint.pin
            )
            raise AgentUntrusted(
                f"the agent at {endpoint.uri} presented certificate {presented}, "
                f"but {endpoint.pin} is registered: refusing it",
                presented,
                endpoint.pin,
            )
        try:
            await asyncio.wait_for(
                offer_hello(reader, writer, Hello(versions=(1,), role="server")), self._connect_timeout_s
            )
        except (ProtocolError, OSError, TimeoutError, asyncio.IncompleteReadError) as exc:
            writer.close()
            raise AgentUnreachable(
                f"the agent at {endpoint.uri} did not accept this server (is its thumbprint trusted?): "
                f"{exc or type(exc).__name__}"
            ) from exc
        name = f"agent {endpoint.uri}"
        return Link(reader, writer, None, name=name, peer=presented, timings=self.timings).start()

    async def _await_polling(self, endpoint: Endpoint, wait_s: float) -> AgentLink:
        self._refuse_other_certificate(endpoint)  # fail at once: waiting would not change who it is
        arrived = self._arrived.setdefault((endpoint.uri, endpoint.pin), asyncio.Event())
        deadline = asyncio.get_running_loop().time() + wait_s
        while True:
            if self.relay is not None and (relayed := await self.relay.via(endpoint.uri, endpoint.pin)):
                return relayed
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0 or arrived.is_set():
                break
            with contextlib.suppress(TimeoutError):  # look again now and then: it may connect elsewhere
                await asyncio.wait_for(arrived.wait(), min(left, RELAY_RECHECK_S if self.relay else left))
            if arrived.is_set():
                break
        link = self._live(endpoint)
        if link is None:
            self._refuse_other_certificate(endpoint)
            raise AgentUnreachable(
                f"the polling agent {endpoint.uri} did not connect within {wait_s:g}s; "
                "the request was not delivered"
            )
        return link

    def _refuse_other_certificate(self, endpoint: Endpoint) -> None:
        """A polling agent is connected on this subscription, but with another certificate than the
        one registered: the endpoint is not that agent."""
        others = sorted(t for t, link in self._links.get(endpoint.uri, {}).items() if not link.closed)
        if others and endpoint.pin not in others:
            raise AgentUntrusted(
                f"the polling agent {endpoint.uri} is connected with certificate {', '.join(others)}, "
                f"but {endpoint.pin} is registered: refusing it",
                others[0],
                endpoint.pin,
            )

    # -- the polling hub -------------------------------------------------------------------------------

    async def serve_polling(
        self, host: str, port: int, authorize: Authorize, announce: Announce | None = None
    ) -> AdmittingServer:
        """Open the comms port (without TLS: admission accepts, counts and upgrades each connection)."""

        async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await self.accept_polling(reader, writer, authorize, announce)

        return await self._admission.serve(accept, host, port)

    async def accept_polling(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        authorize: Authorize,
        announce: Announce | None = None,
    ) -> None:
        """Serve one connection the comms port accepted."""
        with self._admission.held():
            admitted_link = await self._admit(reader, writer, authorize, announce)
        if admitted_link is not None:
            await self._hold(*admitted_link)

    async def _admit(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        authorize: Authorize,
        announce: Announce | None,
    ) -> tuple[str, Link] | None:
        """TLS, hello and authorisation of a polling agent: its (subscription, link), or None if refused."""
        if self._accept_context is None:
            log.error("comms port: no TLS context to accept polling agents with; closing the connection")
            writer.transport.abort()
            return None
        if not await self._admission.start_tls(writer, self._accept_context):
            return None
        presented = peer_thumbprint(writer.get_extra_info("ssl_object"))
        peer = writer.get_extra_info("peername")
        try:
            hello = await await_hello(reader)
        except (ProtocolError, OSError, TimeoutError, asyncio.IncompleteReadError) as exc:
            log.warning(
                "comms port: dropped a connection from %s (certificate %s) before its hello: %s",
                peer,
                presented,
                exc or type(exc).__name__,
            )
            writer.transport.abort()
            return None
        if hello.purpose == "announce":
            known = presented is not None and announce is not None and await announce(presented)
            write_frame(
                writer, Welcome(version=1) if known else Refused(reason="this agent is not registered")
            )
            with contextlib.suppress(ConnectionError, OSError):
                await asyncio.wait_for(writer.drain(), self._admission.handshake_timeout_s)
            writer.close()
            return None
        subscription = (hello.subscription or "").lower()
        version = negotiate(hello.versions)
        if presented is None or not subscription or not await authorize(subscription, presented):
            log.warning(
                "refused polling agent %s from %s with certificate %s: not registered",
                subscription,
                peer,
                presented,
            )
            write_frame(writer, Refused(reason="this certificate is not registered for that subscription"))
            writer.close()
            return None
        if version is None:
            write_frame(writer, Refused(reason=f"no common protocol version in {hello.versions}"))
            writer.close()
            return None
        write_frame(writer, Welcome(version=version))
        try:
            await asyncio.wait_for(writer.drain(), self._admission.handshake_timeout_s)
        except (ConnectionError, OSError, TimeoutError):
            writer.transport.abort()
            return None
        name = f"agent {subscription}"
        return subscription, Link(reader, writer, None, name=name, peer=presented, timings=self.timings)

    async def _hold(self, subscription: str, link: Link) -> None:
        """Publish a polling agent's link under (subscription, thumbprint) for as long as it lives.

        Returns once it is published: the link's end is a callback (:meth:`_released`), not a task
        waiting for it, so ten thousand idle links hold no coroutine each."""
        pin = (link.peer or "").upper()
        held = self._links.setdefault(subscription, {})
        old = held.get(pin)
        held[pin] = link.start()
        if old is not None and not old.closed:
            await old.close()
        self._arrived.setdefault((subscription, pin), asyncio.Event()).set()
        log.info("polling agent %s (certificate %s) connected", subscription, pin)
        if self.relay is not None:
            await self.relay.linked(subscription, pin, True)
        link.on_close(functools.partial(self._released, subscription, pin, link))

    def _released(self, subscription: str, pin: str, link: Link) -> None:
        if self.relay is not None and self._links.get(subscription, {}).get(pin) is link:
            unlinking = asyncio.create_task(self._unlink(subscription, pin, link))
            self._unlinking.add(unlinking)
            unlinking.add_done_callback(self._unlinking.discard)
        else:
            self._drop_polling(subscription, pin, link)

    async def _unlink(self, subscription: str, pin: str, link: Link) -> None:
        try:
            assert self.relay is not None
            await self.relay.linked(subscription, pin, False)
        finally:
            self._drop_polling(subscription, pin, link)

    def _drop_polling(self, subscription: str, pin: str, link: Link) -> None:
        held = self._links.get(subscription, {})
        if held.get(pin) is link:
            del held[pin]
            if not held:
                self._links.pop(subscription, None)
            arrived = self._arrived.get((subscription, pin))
            if arrived is not None:
                arrived.clear()
        log.info("polling agent %s (certificate %s) disconnected", subscription, pin)
