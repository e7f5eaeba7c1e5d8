"""Fires scheduled project triggers when they are due, once per due time across the whole cluster.

Every node runs the loop; only the node holding the cluster lease ``trigger-schedule`` acts, as the
health schedule does (``cluster_leases``). That alone is not enough: a lease that expires while its
holder is slow lets two nodes act for a moment. So each firing is one transaction that first moves the
trigger's ``next_run`` from the value read to the next due time (a compare-and-set) and then creates
the runs; a node whose compare-and-set finds the value already moved creates nothing.

What a firing creates is not the orchestrator's business: the composition root hands in ``fire``
(``service.triggers.fire``), which queues runbook runs in the transaction it is given. A firing that
cannot run (no published snapshot, the runbook deleted) raises :class:`NotFired`: one warning line, and
the trigger moves on to its next due time rather than trying again every tick. A node that was down
when triggers came due fires each of them once when it is back, then continues from now: missed due
times are not replayed one by one.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Awaitable, Callable

from sqlalchemy.engine import RowMapping

from argonaut.domain.schedules import InvalidSchedule, next_run
from argonaut.orchestrator.cluster_loop import ClusterLoop
from argonaut.orchestrator.queue import TaskQueue
from argonaut.store import Store, triggers_repo
from argonaut.store.connection import Conn
from argonaut.store.timeutil import as_utc, utcnow

log = logging.getLogger(__name__)

TICK_S = 1.0
LEASE = "trigger-schedule"
LEASE_TTL_S = 15.0  # a holder renews every tick; another node takes over this long after it stops
BATCH = 100  # due triggers taken per tick; more wait for the next one

Fire = Callable[[Conn, RowMapping, dt.datetime], Awaitable[int]]
"""Create what a due trigger does, in the transaction given, for the due time given; answers the number
of tasks queued. Raises :class:`NotFired` when it cannot."""


class NotFired(Exception):
    """A due trigger that could not run; the message says why, for the warning line."""


class TriggerSchedule(ClusterLoop):
    lease = LEASE
    what = "firing scheduled triggers"

    def __init__(
        self, store: Store, queue: TaskQueue, fire: Fire, clock: Callable[[], dt.datetime] = utcnow
    ) -> None:
        super().__init__(store, queue.node, LEASE_TTL_S, TICK_S)
        self._queue = queue
        self._fire = fire
        self._clock = clock

    async def tick_once(self) -> float:
        await self.tick()
        return TICK_S

    async def tick(self) -> int:
        """Fire the triggers that are due; answers how many fired. Only the lease holder does."""
        if not await self.hold_lease():
            return 0
        now = self._clock()
        async with self._store.transaction() as conn:
            rows = await triggers_repo.due(conn, now, BATCH)
        fired = queued = 0
        for row in rows:
            tasks = await self._fire_one(row, now)
            if tasks is not None:
                fired += 1
                queued += tasks
        if queued:
            self._queue.wake()
        return fired

    async def _fire_one(self, row: RowMapping, now: dt.datetime) -> int | None:
        """Fire one due trigger; answers the tasks queued, or None when it did not fire here."""
        read = row["next_run"]
        due = as_utc(read)
        assert due is not None  # only triggers with a next run are due
        following = _following(row, now)
        try:
            async with self._store.transaction() as conn:
                if not await triggers_repo.advance(conn, int(row["id"]), read, following, due):
                    return None  # another node fired it, or it was disabled or edited meanwhile
                return await self._fire(conn, row, due)
        except NotFired as refusal:
            log.warning(
                "scheduled trigger '%s' (ProjectTriggers-%s) did not run for %s: %s",
                row["name"], row["id"], due.isoformat(), refusal,
            )  # fmt: skip
        except Exception:  # a bug; the trigger still moves on, so it is not retried every second
            log.exception("scheduled trigger '%s' (ProjectTriggers-%s) failed", row["name"], row["id"])
        async with self._store.transaction() as conn:  # the due time passed without a run: move on
            await triggers_repo.advance(conn, int(row["id"]), read, following, due)
        return None


def _following(row: RowMapping, now: dt.datetime) -> dt.datetime | None:
    """The due time after ``now``: a node that was down fires a missed time once, not once per miss."""
    try:
        return next_run(row["filter"], now)
    except InvalidSchedule as problem:  # checked when saved; a zone the system no longer knows, say
        log.warning(
            "scheduled trigger '%s' (ProjectTriggers-%s) stops: %s", row["name"], row["id"], problem.errors[0]
        )
        return None
