"""Calls for a polling agent linked to another node, relayed through the shared database.

A polling agent keeps links to the nodes it knows; a node it does not poll (added after the agent
registered, or cut off from it) still reaches it: the call is written to ``relay_calls``, the node
holding a link is told (a ``relay`` signal), makes the call over its link and writes the answer back
(a ``relayed`` signal). To the dispatcher a relayed link looks like any other: the same calls, the same
errors (a holder that lost its link answers as a dropped link does, so the caller tries again).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Mapping
from typing import Any

from argonaut.protocol.link import CallFailed, CallTimedOut, Link, LinkClosed
from argonaut.protocol.messages import RemoteError
from argonaut.store import Store, relay_repo
from argonaut.store.signals import EVERYTHING, Signals
from argonaut.store.timeutil import utcnow

log = logging.getLogger("argonaut.comms")

RELAY = "relay"  # signal: a call waits for the node named in its row
RELAYED = "relayed"  # signal: a relayed call has its answer
NO_LINK = "no-link"


class RelayedLink:
    """A link to a polling agent held by another node: each call goes through the database."""

    def __init__(self, relay: Relay, holder: str, subscription: str, thumbprint: str) -> None:
        self._relay = relay
        self.holder = holder
        self.subscription = subscription
        self.peer: str | None = thumbprint
        self.name = f"agent {subscription} via node {holder}"

    @property
    def closed(self) -> bool:
        return False

    async def call(
        self, method: str, params: dict[str, Any], timeout_s: float | None = None
    ) -> dict[str, Any]:
        return await self._relay.call(self, method, params, timeout_s)


class Relay:
    def __init__(
        self,
        store: Store,
        signals: Signals,
        node: str,
        offline_after_s: float,
        local_link: Any,  # (subscription, thumbprint) -> this node's live Link, or None
        call_timeout_s: float,
    ) -> None:
        self._store = store
        self._signals = signals
        self.node = node
        self._offline_after_s = offline_after_s
        self._local_link = local_link
        self._call_timeout_s = call_timeout_s
        self._waiting: dict[int, asyncio.Future[None]] = {}
        self._serving: set[asyncio.Task[None]] = set()
        signals.on(RELAY, self._asked)
        signals.on(RELAYED, self._answered)

    async def forget_own_links(self) -> None:
        async with self._store.transaction() as conn:
            await relay_repo.forget_node(conn, self.node)

    async def linked(self, subscription: str, thumbprint: str, up: bool) -> None:
        """Record that this node holds (or no longer holds) a link to a polling agent."""
        try:
            async with self._store.transaction() as conn:
                await relay_repo.linked(conn, subscription, thumbprint, self.node, up)
        except Exception:
            log.exception("recording the link to %s failed", subscription)

    async def via(self, subscription: str, thumbprint: str) -> RelayedLink | None:
        """A relayed link to the agent, if another live node holds one."""
        seen_after = utcnow() - dt.timedelta(seconds=self._offline_after_s)
        async with self._store.transaction() as conn:
            holder = await relay_repo.holder(conn, subscription, thumbprint, self.node, seen_after)
        return RelayedLink(self, holder, subscription, thumbprint) if holder is not None else None

    async def call(
        self, link: RelayedLink, method: str, params: dict[str, Any], timeout_s: float | None
    ) -> dict[str, Any]:
        timeout = timeout_s or self._call_timeout_s
        answered: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        async with self._store.transaction() as conn:
            call_id = await relay_repo.ask(
                conn, self.node, link.holder, link.subscription, str(link.peer), method, params, timeout
            )
            self._waiting[call_id] = answered
            await self._signals.send(conn, RELAY, str(call_id))
        try:
            async with asyncio.timeout(timeout + 5):  # the holder's own timeout comes first
                await answered
            async with self._store.transaction() as conn:
                row = await relay_repo.get(conn, call_id)
                await relay_repo.done(conn, call_id)
        except TimeoutError:
            raise CallTimedOut(f"{link.name}: no answer within {timeout:g}s") from None
        finally:
            self._waiting.pop(call_id, None)
        if row is None:
            raise LinkClosed(f"{link.name}: the relayed call disappeared")
        error: Mapping[str, str] | None = row["error"]
        if error:
            if error.get("code") == NO_LINK:
                raise LinkClosed(f"{link.name}: {error.get('message')}")
            raise CallFailed(RemoteError(code=str(error.get("code")), message=str(error.get("message"))))
        answer: dict[str, Any] = dict(row["answer"] or {})
        return answer

    # -- the holder's side ---------------------------------------------------------------------------

    def _asked(self, detail: str) -> None:
        if detail == EVERYTHING:
            self._start(self._serve_waiting())
        elif detail.isdigit():
            self._start(self._serve(int(detail)))

    def _answered(self, detail: str) -> None:
        if detail == EVERYTHING:  # answers may have come while the signal connection was down
            for future in self._waiting.values():
                if not future.done():
                    future.set_result(None)  # the caller reads the row, answered or not
        elif detail.isdigit():
            waiting = self._waiting.get(int(detail))
            if waiting is not None and not waiting.done():
                waiting.set_result(None)

    def _start(self, work: Any) -> None:
        job = asyncio.ensure_future(work)
        self._serving.add(job)
        job.add_done_callback(self._serving.discard)

    async def _serve_waiting(self) -> None:
        async with self._store.transaction() as conn:
            waiting = await relay_repo.unanswered_for(conn, self.node)
        for call_id in waiting:
            self._start(self._serve(call_id))

    async def _serve(self, call_id: int) -> None:
        async with self._store.transaction() as conn:
            row = await relay_repo.get(conn, call_id)
        if row is None or row["target"] != self.node or row["answer"] is not None or row["error"] is not None:
            return
        link: Link | None = self._local_link(row["subscription"], row["thumbprint"])
        result: dict[str, Any] | None = None
        error: dict[str, str] | None = None
        if link is None:
            error = {"code": NO_LINK, "message": f"node {self.node} has no link to {row['subscription']}"}
        else:
            try:
                result = await link.call(str(row["method"]), dict(row["params"]), float(row["timeout_s"]))
            except CallFailed as exc:
                error = {"code": exc.code, "message": exc.message}
            except LinkClosed as exc:
                error = {"code": NO_LINK, "message": str(exc)}
        with contextlib.suppress(Exception):
            async with self._store.transaction() as conn:
                await relay_repo.answer(conn, call_id, result, error)
                await self._signals.send(conn, RELAYED, str(call_id))

    async def stop(self) -> None:
        for job in list(self._serving):
            job.cancel()
