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
import json
import logging
import secrets
from collections.abc import Callable, Mapping
from typing import Any

from argonaut.protocol.link import CallFailed, CallTimedOut, Link, LinkClosed
from argonaut.protocol.messages import RemoteError
from argonaut.store import Store, relay_repo
from argonaut.store.signals import EVERYTHING, MAX_PAYLOAD_BYTES, Signals
from argonaut.store.timeutil import utcnow

log = logging.getLogger("argonaut.comms")

RELAY = "relay"  # signal: a call waits for the node named in its row
RELAYED = "relayed"  # signal: a relayed call has its answer
NO_LINK = "no-link"


class RelayedLink:
    """A link to a polling agent held by another node: each call goes through the database. One per
    (agent, holder), so what a dispatcher remembers of a link (its runner version) holds for it too."""

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
        local_link: Callable[[str, str], Link | None],  # (subscription, thumbprint): this node's live link
        call_timeout_s: float,
    ) -> None:
        self._store = store
        self._signals = signals
        self.node = node
        self._offline_after_s = offline_after_s
        self._local_link = local_link
        self._call_timeout_s = call_timeout_s
        self._waiting: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._serving: set[asyncio.Task[None]] = set()
        self._links: dict[tuple[str, str, str], RelayedLink] = {}
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
        # Asked before every relayed call: one read in autocommit, not three round trips of a transaction.
        async with self._store.single() as conn:
            holder = await relay_repo.holder(conn, subscription, thumbprint, self.node, seen_after)
        if holder is None:
            return None
        key = (subscription, thumbprint, holder)
        if key not in self._links:
            self._links[key] = RelayedLink(self, holder, subscription, thumbprint)
        return self._links[key]

    async def call(
        self, link: RelayedLink, method: str, params: dict[str, Any], timeout_s: float | None
    ) -> dict[str, Any]:
        """Ask the holder to make the call. A call small enough travels in the signal itself (one round
        trip each way); a bigger one is a ``relay_calls`` row the signal names."""
        timeout = timeout_s or self._call_timeout_s
        call_id = secrets.token_hex(8)
        answered: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiting[call_id] = answered
        ask = {"i": call_id, "c": self.node, "t": link.holder, "s": link.subscription, "p": link.peer,
               "m": method, "a": params, "o": timeout}  # fmt: skip
        try:
            payload = json.dumps(ask, separators=(",", ":"))
            if len(payload.encode()) > MAX_PAYLOAD_BYTES or not await self._signals.send_now(RELAY, payload):
                async with self._store.transaction() as conn:
                    row = await relay_repo.ask(
                        conn,
                        self.node,
                        link.holder,
                        link.subscription,
                        str(link.peer),
                        method,
                        params,
                        timeout,
                    )
                    await self._signals.send(
                        conn, RELAY, json.dumps({"i": call_id, "t": link.holder, "row": row})
                    )
            async with asyncio.timeout(timeout + 5):  # the holder's own timeout comes first
                reply = await answered
        except TimeoutError:
            raise CallTimedOut(f"{link.name}: no answer within {timeout:g}s") from None
        finally:
            self._waiting.pop(call_id, None)
        if "row" in reply:  # too big for a signal: it waits in the store
            async with self._store.transaction() as conn:
                stored = await relay_repo.get(conn, int(reply["row"]))
                await relay_repo.done(conn, int(reply["row"]))
            reply = {"r": stored["answer"], "e": stored["error"]} if stored is not None else {}
        error: Mapping[str, str] | None = reply.get("e")
        if error:
            if error.get("code") == NO_LINK:
                raise LinkClosed(f"{link.name}: {error.get('message')}")
            raise CallFailed(RemoteError(code=str(error.get("code")), message=str(error.get("message"))))
        if "r" not in reply:
            raise LinkClosed(f"{link.name}: the relayed call went missing")
        answer: dict[str, Any] = dict(reply["r"] or {})
        return answer

    # -- the holder's side ---------------------------------------------------------------------------

    def _asked(self, detail: str) -> None:
        if detail == EVERYTHING:
            self._start(self._serve_waiting())
            return
        ask = _json(detail)
        if ask is not None and ask.get("t") == self.node:
            self._start(self._serve(ask))

    def _answered(self, detail: str) -> None:
        reply = _json(detail)
        if reply is None:
            return
        waiting = self._waiting.get(str(reply.get("i")))
        if waiting is not None and not waiting.done():
            waiting.set_result(reply)

    def _start(self, work: Any) -> None:
        job = asyncio.ensure_future(work)
        self._serving.add(job)
        job.add_done_callback(self._serving.discard)

    async def _serve_waiting(self) -> None:
        """Signals may have been missed: serve the stored calls still waiting for this node."""
        async with self._store.transaction() as conn:
            waiting = await relay_repo.unanswered_for(conn, self.node)
        for row in waiting:
            self._start(self._serve({"row": row, "t": self.node}))

    async def _serve(self, ask: dict[str, Any]) -> None:
        row_id = ask.get("row")
        if row_id is not None:
            async with self._store.transaction() as conn:
                row = await relay_repo.get(conn, int(row_id))
            if row is None or row["answer"] is not None or row["error"] is not None:
                return
            ask = {**ask, "s": row["subscription"], "p": row["thumbprint"], "m": row["method"],
                   "a": row["params"], "o": row["timeout_s"], "c": row["caller"]}  # fmt: skip
        link = self._local_link(str(ask["s"]), str(ask["p"]))
        reply: dict[str, Any] = {"i": ask.get("i")}
        if link is None:
            reply["e"] = {"code": NO_LINK, "message": f"node {self.node} has no link to {ask['s']}"}
        else:
            try:
                reply["r"] = await link.call(str(ask["m"]), dict(ask["a"]), float(ask["o"]))
            except CallFailed as exc:
                reply["e"] = {"code": exc.code, "message": exc.message}
            except LinkClosed as exc:
                reply["e"] = {"code": NO_LINK, "message": str(exc)}
        with contextlib.suppress(Exception):
            payload = json.dumps(reply, separators=(",", ":"))
            if (
                row_id is None
                and len(payload.encode()) <= MAX_PAYLOAD_BYTES
                and await self._signals.send_now(RELAYED, payload)
            ):
                return
            async with self._store.transaction() as conn:
                if row_id is None:  # asked in a signal, answered through the store: too big for one
                    row_id = await relay_repo.ask(
                        conn, str(ask["c"]), self.node, str(ask["s"]), str(ask["p"]), str(ask["m"]), {}, 0.0
                    )
                await relay_repo.answer(conn, int(row_id), reply.get("r"), reply.get("e"))
                await self._signals.send(conn, RELAYED, json.dumps({"i": ask.get("i"), "row": row_id}))

    async def stop(self) -> None:
        for job in list(self._serving):
            job.cancel()


def _json(text: str) -> dict[str, Any] | None:
    try:
        found = json.loads(text)
    except ValueError:
        return None
    return found if isinstance(found, dict) else None
