"""This node's place in the cluster: its heartbeat, and the settings the API may change under it.

Every ``offline_after_s / 3`` the node writes ``last_seen`` and reads back its row, so a task cap or a
maintenance mode set through ``/api/octopusservernodes`` on any node takes effect here within a beat.
A node whose last beat is older than ``offline_after_s`` is offline: the others take over its work.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Awaitable, Callable

from argonaut.metrics import Metrics
from argonaut.orchestrator.queue import TaskQueue
from argonaut.store import Store, nodes_repo
from argonaut.store.timeutil import utcnow

log = logging.getLogger(__name__)

OnOffline = Callable[[list[str]], Awaitable[object]]


class NodeHeartbeat:
    def __init__(
        self,
        store: Store,
        queue: TaskQueue,
        node_id: int,
        offline_after_s: float,
        on_offline: OnOffline | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self._store = store
        self._metrics = metrics or queue.metrics
        self._queue = queue
        self.node_id = node_id
        self.offline_after_s = offline_after_s
        self._on_offline = on_offline
        self._loop: asyncio.Task[None] | None = None

    @property
    def interval_s(self) -> float:
        return self.offline_after_s / 3

    def start(self) -> None:
        self._loop = asyncio.create_task(self._run(), name="node-heartbeat")

    async def stop(self) -> None:
        """Stop beating and say so: a node that stops cleanly is offline at once, not after a timeout."""
        if self._loop is not None:
            self._loop.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop
        with contextlib.suppress(Exception):
            async with self._store.transaction() as conn:
                await nodes_repo.stopped(conn, self.node_id)

    async def beat(self) -> list[str]:
        """One heartbeat: apply this node's settings; answers the names of the nodes that are offline."""
        cutoff = utcnow() - dt.timedelta(seconds=self.offline_after_s)
        async with self._store.single() as conn:
            row = await nodes_repo.heartbeat(conn, self.node_id)
            offline = await nodes_repo.offline_names(conn, cutoff)
        self._metrics.heartbeats.inc()
        self._metrics.last_heartbeat.set_to_current_time()
        if row is not None:
            self._queue.configure(int(row["max_concurrent_tasks"]), bool(row["is_in_maintenance_mode"]))
        return offline

    async def _run(self) -> None:
        while True:
            try:
                offline = await self.beat()
                if offline and self._on_offline is not None:
                    await self._on_offline(offline)
            except Exception:  # a store hiccup must not end the heartbeat for good
                log.exception("the node heartbeat failed; trying again")
            await asyncio.sleep(self.interval_s)
