"""Deletes what is past its retention, once per cluster, every hour: audit events, and task logs.

Every node runs each loop; only the node holding the loop's cluster lease acts, as the health schedule
does (``cluster_leases``). Two nodes acting at once would only delete the same old rows twice, so the
lease saves work rather than guarding correctness. What is deleted is not the orchestrator's business:
the composition root hands in ``purge`` (e.g. ``service.events.purge_older_than`` with the setting),
which deletes one batch in the transaction it is given and answers how many went; a full batch is
followed at once by the next.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from argonaut.orchestrator.cluster_loop import ClusterLoop
from argonaut.store import Store
from argonaut.store.connection import Conn

log = logging.getLogger(__name__)

INTERVAL_S = 3600.0
MAX_BATCHES = 100  # per tick: a huge backlog is worked off over several ticks, never in one long stretch

Purge = Callable[[Conn], Awaitable[int]]
"""Delete one batch of what has expired in the transaction given; answers how many were deleted."""


class Retention(ClusterLoop):
    lease = "retention"
    what = "deleting what is past its retention"
    noun = "item(s)"

    def __init__(
        self, store: Store, node: str, purge: Purge, batch: int, interval_s: float = INTERVAL_S
    ) -> None:
        # Renewed every tick; after the holder stops, another node takes over within two ticks.
        super().__init__(store, node, max(2 * interval_s, 60.0), interval_s)
        self._purge = purge
        self._batch = batch
        self._interval_s = interval_s

    async def tick_once(self) -> float:
        await self.tick()
        return self._interval_s

    async def tick(self) -> int:
        """Delete what has expired, if this node holds the lease; answers how many went."""
        if not await self.hold_lease():
            return 0
        total = 0
        for _ in range(MAX_BATCHES):
            async with self._store.transaction() as conn:
                deleted = await self._purge(conn)
            total += deleted
            if deleted < self._batch:
                break
        if total:
            log.info("%s: done for %d %s", self.what, total, self.noun)
        return total


class EventRetention(Retention):
    lease = "event-retention"
    what = "deleting audit events past their retention"
    noun = "event(s)"


class TaskLogRetention(Retention):
    """Keeps the store bounded: logs are what grow it (one row per line), tasks are small."""

    lease = "task-log-retention"
    what = "removing the logs of tasks past their retention"
    noun = "task(s)"
