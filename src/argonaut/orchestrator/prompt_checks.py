"""Health checks that should happen now, not at the policy's next interval (an hour by default).

A machine (worker or deployment target) that was just added or changed, or whose agent just connected
or started, is checked at once, so it is usable seconds later. Requests arriving together (hundreds of
agents reconnecting after a server restart) are batched into one ``Health`` task per space.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable

from argonaut.domain.tasks import TaskType
from argonaut.orchestrator.queue import TaskQueue
from argonaut.store import Store, tasks_repo
from argonaut.store.workers_repo import machine_ids

BATCH_S = 0.25


class PromptChecks:
    def __init__(self, store: Store, queue: TaskQueue, batch_s: float = BATCH_S) -> None:
        self._store = store
        self._queue = queue
        self._batch_s = batch_s
        self._wanted: dict[int, dict[int, str]] = {}  # space -> machine (row id, either kind) -> why
        self._flush: asyncio.TimerHandle | None = None
        self._pending: set[asyncio.Task[None]] = set()

    def request(self, space_id: int, machine_ids: Iterable[int], why: str) -> None:
        """Check these machines soon; ids are rows of either kind (a task's ``MachineIds`` tells them
        apart as ``Workers-n`` and ``Machines-n``, looked up when the batch is queued)."""
        for machine in machine_ids:
            self._wanted.setdefault(space_id, {}).setdefault(machine, why)
        if self._wanted and self._flush is None:
            self._flush = asyncio.get_running_loop().call_later(self._batch_s, self._start_flush)

    def _start_flush(self) -> None:
        job = asyncio.create_task(self.flush())
        self._pending.add(job)
        job.add_done_callback(self._pending.discard)

    async def flush(self) -> None:
        wanted, self._wanted, self._flush = self._wanted, {}, None
        if not wanted:
            return
        async with self._store.transaction() as conn:
            for space_id, machines in sorted(wanted.items()):
                ids = await machine_ids(conn, space_id, sorted(machines))
                if not ids:  # deleted since
                    continue
                reasons = sorted(set(machines.values()))
                description = f"Check health of {len(ids)} machine(s) that {' or '.join(reasons)}"
                arguments = {"RestrictedTo": None, "MachineIds": ids}
                await tasks_repo.create_task(conn, space_id, TaskType.HEALTH.value, description, arguments)
        self._queue.wake()

    async def stop(self) -> None:
        if self._flush is not None:
            self._flush.cancel()
            self._flush = None
        for job in list(self._pending):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await job
