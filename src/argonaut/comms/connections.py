"""Links to agents, by endpoint: connect out to listening agents, accept polling agents.

Every link is pinned: the certificate the agent presents must have the thumbprint registered for
that endpoint, or the link is refused and the refusal logged. Links are kept open and reused, so a
script step pays for a TLS handshake once per agent, not once per call.

A call for an agent that is momentarily unreachable waits, bounded by the policy's polling request
queue timeout, and goes through when the agent is back; a call whose agent never shows up fails with
a message that says so.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from argonaut.protocol.link import Link, await_hello, offer_hello, write_frame
from argonaut.protocol.messages import Hello, ProtocolError, Refused, Welcome, negotiate
from argonaut.security.tls import peer_thumbprint

log = logging.getLogger("argonaut.comms")

Authorize = Callable[[str, str], Awaitable[bool]]  # (subscription id, thumbprint) -> registered?
Announce = Callable[[str], Awaitable[bool]]  # (thumbprint of a listening agent that started) -> registered?


class AgentUnreachable(ConnectionError):
    pass


@dataclass(frozen=True, slots=True)
class Endpoint:
    style: str  # TentaclePassive | TentacleActive
    uri: str  # https://host:port/ or poll://…/
    thumbprint: str


class Connections:
    def __init__(self, connect_context: ssl.SSLContext, connect_timeout_s: float = 10.0) -> None:
        self._connect_context = connect_context
        self._connect_timeout_s = connect_timeout_s
        self._links: dict[str, Link] = {}  # endpoint uri -> live link
        self._connecting: dict[str, asyncio.Lock] = {}
        self._arrived: dict[str, asyncio.Event] = {}  # subscription -> set while a polling link is up

    async def link(self, endpoint: Endpoint, wait_s: float) -> Link:
        """A live link to ``endpoint``, connecting or waiting for it (up to ``wait_s``) if need be."""
        current = self._links.get(endpoint.uri)
        if current is not None and not current.closed:
            return current
        if endpoint.style == "TentacleActive":
            return await self._await_polling(endpoint, wait_s)
        lock = self._connecting.setdefault(endpoint.uri, asyncio.Lock())
        async with lock:
            current = self._links.get(endpoint.uri)
            if current is not None and not current.closed:
                return current
            link = await self._connect_listening(endpoint)
            self._links[endpoint.uri] = link
            return link

    def forget(self, uri: str) -> None:
        link = self._links.pop(uri, None)
        if link is not None:
            asyncio.ensure_future(link.close())

    async def close(self) -> None:
        for link in list(self._links.values()):
            await link.close()
        self._links.clear()

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
        if presented != endpoint.thumbprint:
            writer.close()
            log.warning(
                "refused the agent at %s: it presented %s, expected %s",
                endpoint.uri,
                presented,
                endpoint.thumbprint,
            )
            raise AgentUnreachable(
                f"the agent at {endpoint.uri} presented certificate {presented}, "
                f"but {endpoint.thumbprint} is registered: refusing it"
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
        return Link(reader, writer, None, name=f"agent {endpoint.uri}").start()

    async def _await_polling(self, endpoint: Endpoint, wait_s: float) -> Link:
        arrived = self._arrived.setdefault(endpoint.uri, asyncio.Event())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(arrived.wait(), wait_s)
        link = self._links.get(endpoint.uri)
        if link is None or link.closed:
            raise AgentUnreachable(
                f"the polling agent {endpoint.uri} did not connect within {wait_s:g}s; "
                "the request was not delivered"
            )
        return link

    # -- the polling hub -------------------------------------------------------------------------------

    async def accept_polling(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        authorize: Authorize,
        announce: Announce | None = None,
    ) -> None:
        presented = peer_thumbprint(writer.get_extra_info("ssl_object"))
        peer = writer.get_extra_info("peername")
        try:
            hello = await await_hello(reader)
        except (ProtocolError, OSError, TimeoutError, asyncio.IncompleteReadError) as exc:
            log.warning("polling connection from %s dropped before its hello: %s", peer, exc)
            writer.close()
            return
        if hello.purpose == "announce":
            known = presented is not None and announce is not None and await announce(presented)
            write_frame(
                writer, Welcome(version=1) if known else Refused(reason="this agent is not registered")
            )
            with contextlib.suppress(ConnectionError, OSError):
                await writer.drain()
            writer.close()
            return
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
            return
        if version is None:
            write_frame(writer, Refused(reason=f"no common protocol version in {hello.versions}"))
            writer.close()
            return
        write_frame(writer, Welcome(version=version))
        await writer.drain()
        link = Link(reader, writer, None, name=f"agent {subscription}").start()
        old = self._links.get(subscription)
        self._links[subscription] = link
        if old is not None and not old.closed:
            await old.close()
        arrived = self._arrived.setdefault(subscription, asyncio.Event())
        arrived.set()
        log.info("polling agent %s connected from %s", subscription, peer)
        await link.wait_closed()
        if self._links.get(subscription) is link:
            del self._links[subscription]
            arrived.clear()
        log.info("polling agent %s disconnected", subscription)
