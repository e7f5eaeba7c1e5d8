"""The store's share of a ``/metrics`` scrape: two grouped counts, no row per task or machine.

A scrape must stay cheap however many tasks are stored: unfinished tasks are found through
``ix_tasks_state_queue`` (state first), so finished history is never read, and the machines are
counted in one ``GROUP BY``.
"""

from __future__ import annotations

from sqlalchemy import func, select

from argonaut.domain.ids import Collection, format_id
from argonaut.domain.tasks import TaskState
from argonaut.metrics import StoreCounts
from argonaut.store.connection import Conn
from argonaut.store.tables import tasks, workers

_UNFINISHED = (TaskState.QUEUED.value, TaskState.EXECUTING.value, TaskState.CANCELLING.value)

_TASKS = (
    select(tasks.c.state, tasks.c.name, tasks.c.space_id, func.count())
    .where(tasks.c.state.in_(_UNFINISHED))
    .group_by(tasks.c.state, tasks.c.name, tasks.c.space_id)
)
_HEALTH = (
    select(workers.c.kind, workers.c.health_status, func.count())
    .where(workers.c.is_disabled.is_(False))
    .group_by(workers.c.kind, workers.c.health_status)
)


async def counts(conn: Conn) -> StoreCounts:
    task_rows = (await conn.execute(_TASKS)).all()
    health_rows = (await conn.execute(_HEALTH)).all()
    return StoreCounts(
        tasks={
            (
                str(state),
                str(name),
                format_id(Collection.SPACES, int(space)) if space is not None else "",
            ): int(n)
            for state, name, space, n in task_rows
        },
        health={(str(kind), str(status)): int(n) for kind, status, n in health_rows},
    )
