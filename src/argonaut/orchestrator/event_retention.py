"""Deletes audit events older than the retention setting, once per cluster, every hour.

Every node runs the loop; only the node holding the cluster lease ``event-retention`` acts, as the health
schedule does (``cluster_leases``). Two nodes acting at once would only delete the same old rows twice,
so the lease saves work rather than guarding correctness. What is deleted is not the orchestrator's
business: the composition root hands in ``purge`` (``service.events.purge_older_than`` with the
setting), which deletes one batch in the transaction it is given and answers how many went; a full batch
is followed at once by the next.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from sqlalchemy.exc import IntegrityError

from argonaut.store import Store, nodes_repo
from argonaut.store.connection import Conn

log = logging.getLogger(__name__)

LEASE = "event-retention"
INTERVAL_S = 3600.0
MAX_BATCHES = 100  # per tick: a huge backlog is worked off over several ticks, never in one long stretch

Purge = Callable[[Conn], Awaitable[int]]
"""Delete one batch of expired events in the transaction given; answers how many were deleted."""


class EventRetention:
    def __init__(
        self, store: Store, node: str, purge: Purge, batch: int, interval_s: float = INTERVAL_S
    ) -> None:
        self._store = store
        self._node = node
        self._purge = purge
        self._batch = batch
        self._interval_s = interval_s
        # Renewed every tick; after the holder stops, another node takes over within two ticks.
        self._lease_ttl_s = max(2 * interval_s, 60.0)
        self._loop: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._loop = asyncio.create_task(self._run(), name="event-retention")

    async def stop(self) -> None:
        if self._loop is not None:
            self._loop.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop

    async def _run(self) -> None:
        while True:
            try:
                await self.tick()
            except Exception:  # a busy store must not end retention for good
                log.exception("deleting old audit events failed")
            await asyncio.sleep(self._interval_s)

    async def tick(self) -> int:
        """Delete what has expired, if this node holds the lease; answers how many events went."""
        if not await self._hold_lease():
            return 0
        total = 0
        for _ in range(MAX_BATCHES):
            async with self._store.transaction() as conn:
                deleted = await self._purge(conn)
            total += deleted
            if deleted < self._batch:
                break
        if total:
            log.info("deleted %d audit event(s) past their retention", total)
        return total

    async def _hold_lease(self) -> bool:
        try:
            async with self._store.transaction() as conn:
                return await nodes_repo.hold_lease(conn, LEASE, self._node, self._lease_ttl_s)
        except IntegrityError:  # another node created the lease at the same moment: it holds it
            return False
