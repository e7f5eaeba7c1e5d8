"""Runs each machine policy's health checks on its interval, as ordinary ``Health`` tasks.

The loop sleeps until the next policy is due (re-reading policies at least every few seconds, so an
edited interval takes effect promptly) and queues one task per due policy for the enabled machines
(workers and deployment targets) that use it. A policy whose previous check is still queued or
running is not queued again: a slow check never piles up a backlog of checks.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from sqlalchemy import select

from argonaut.domain.tasks import TaskType
from argonaut.domain.timespan import InvalidTimeSpan, parse_timespan
from argonaut.orchestrator.cluster_loop import ClusterLoop
from argonaut.orchestrator.queue import TaskQueue
from argonaut.store import Store, tasks_repo
from argonaut.store.connection import Conn
from argonaut.store.tables import machine_policies, workers
from argonaut.store.workers_repo import machine_id

log = logging.getLogger(__name__)

REREAD_S = 5.0
LEASE = "health-schedule"
LEASE_TTL_S = 3 * REREAD_S  # a holder renews every tick (at most REREAD_S apart)
MIN_INTERVAL_S = 1.0


class HealthSchedule(ClusterLoop):
    lease = LEASE
    what = "scheduling health checks"

    def __init__(self, store: Store, queue: TaskQueue, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(store, queue.node, LEASE_TTL_S, REREAD_S)
        self._queue = queue
        self._clock = clock
        self._due: dict[int, float] = {}  # policy id -> when its next check is due
        self._queued: dict[int, int] = {}  # policy id -> task id of its last queued check

    async def tick_once(self) -> float:
        return await self.tick()

    async def tick(self) -> float:
        """Queue the checks that are due; answers how long to sleep before the next look. Only the node
        holding the cluster's schedule lease does: the checks run once per cluster, not once per node."""
        if not await self.hold_lease():
            self._due.clear()  # whoever holds it keeps the times; if it comes to us, we start afresh
            return REREAD_S
        now = self._clock()
        next_due = now + REREAD_S
        queued_any = False
        async with self._store.transaction() as conn:
            policies = (await conn.execute(select(machine_policies))).mappings().all()
            for policy in policies:
                interval = _interval_s(policy["document"])
                due = self._due.setdefault(policy["id"], now + interval)
                if due <= now and not await self._still_pending(conn, policy["id"]):
                    query = select(workers.c.id, workers.c.kind).where(
                        workers.c.machine_policy_id == policy["id"], workers.c.is_disabled.is_(False)
                    )
                    ids = [machine_id(row.id, row.kind) for row in await conn.execute(query)]
                    if ids:
                        arguments = {"RestrictedTo": None, "MachineIds": ids}
                        description = f"Check health of machines using policy '{policy['name']}'"
                        row = await tasks_repo.create_task(
                            conn, policy["space_id"], TaskType.HEALTH.value, description, arguments
                        )
                        self._queued[policy["id"]] = int(row["id"])
                        queued_any = True
                    due = self._due[policy["id"]] = now + interval
                next_due = min(next_due, due)
        if queued_any:
            self._queue.wake()
        return max(0.05, next_due - self._clock())

    async def _still_pending(self, conn: Conn, policy_id: int) -> bool:
        task_id = self._queued.get(policy_id)
        if task_id is None:
            return False
        row = await tasks_repo.get(conn, task_id)
        return row is not None and row["state"] in ("Queued", "Executing", "Cancelling")


def _interval_s(document: dict[str, object]) -> float:
    check = document.get("MachineHealthCheckPolicy")
    text = check.get("HealthCheckInterval") if isinstance(check, dict) else None
    try:
        return max(MIN_INTERVAL_S, parse_timespan(str(text))) if text else 3600.0
    except InvalidTimeSpan:
        return 3600.0
