"""Worker leases: which task holds which worker.

Released on every way a task ends; stale ones are swept at start.
"""

from __future__ import annotations

from sqlalchemy import delete, insert, select

from argonaut.domain.tasks import TaskState
from argonaut.store.connection import Conn
from argonaut.store.tables import tasks, worker_leases
from argonaut.store.timeutil import utcnow


async def take(conn: Conn, worker_id: int, task_id: int, exclusive: bool = False) -> int:
    result = await conn.execute(
        insert(worker_leases).values(
            worker_id=worker_id, task_id=task_id, exclusive=exclusive, created=utcnow()
        )
    )
    return int(result.inserted_primary_key[0])  # type: ignore[index]


async def release_task(conn: Conn, task_id: int) -> None:
    await conn.execute(delete(worker_leases).where(worker_leases.c.task_id == task_id))


async def release(conn: Conn, lease_id: int) -> None:
    await conn.execute(delete(worker_leases).where(worker_leases.c.id == lease_id))


async def sweep_stale(conn: Conn) -> int:
    """Drop leases whose task is no longer executing (the described system leaks these, ISS#9692)."""
    live = select(tasks.c.id).where(
        tasks.c.state.in_([TaskState.EXECUTING.value, TaskState.CANCELLING.value])
    )
    result = await conn.execute(delete(worker_leases).where(worker_leases.c.task_id.not_in(live)))
    return int(result.rowcount or 0)
