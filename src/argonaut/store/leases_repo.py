"""Worker leases: which task holds which worker.

Released on every way a task ends; stale ones are swept at start.
"""

from __future__ import annotations

from sqlalchemy import bindparam, delete, exists, insert, literal, select

from argonaut.domain.tasks import TaskState
from argonaut.store.connection import Conn
from argonaut.store.database import LEASING, take_turns
from argonaut.store.hot import hot
from argonaut.store.tables import tasks, worker_leases
from argonaut.store.timeutil import utcnow

# Built once and hot (store/hot.py): a script on a worker takes and releases a lease.
_TAKE = hot(insert(worker_leases).returning(worker_leases.c.id))
# Also a CTE of tasks_repo.finish on PostgreSQL.
RELEASE_TASK = hot(delete(worker_leases).where(worker_leases.c.task_id == bindparam("task_id")))
_RELEASE = hot(delete(worker_leases).where(worker_leases.c.id == bindparam("lease_id")))


async def take(conn: Conn, worker_id: int, task_id: int, exclusive: bool = False) -> int:
    values = {"worker_id": worker_id, "task_id": task_id, "exclusive": exclusive, "created": utcnow()}
    return int((await conn.execute(_TAKE, values)).scalar_one())


async def release_task(conn: Conn, task_id: int) -> None:
    await conn.execute(RELEASE_TASK, {"task_id": task_id})


async def release(conn: Conn, lease_id: int) -> None:
    await conn.execute(_RELEASE, {"lease_id": lease_id})


async def sweep_stale(conn: Conn) -> int:
    """Drop leases whose task is no longer executing (the described system leaks these, ISS#9692)."""
    live = select(tasks.c.id).where(
        tasks.c.state.in_([TaskState.EXECUTING.value, TaskState.CANCELLING.value])
    )
    result = await conn.execute(delete(worker_leases).where(worker_leases.c.task_id.not_in(live)))
    return int(result.rowcount or 0)


# Built once (a statement built per call is walked for its cache key each time): an exclusive lease,
# unless the machine has any.
_TAKE_UNLESS_BUSY = hot(
    insert(worker_leases)
    .from_select(
        ["worker_id", "task_id", "exclusive", "created"],
        select(
            bindparam("worker_id", type_=worker_leases.c.worker_id.type),
            bindparam("task_id", type_=worker_leases.c.task_id.type),
            literal(True),
            bindparam("created", type_=worker_leases.c.created.type),
        ).where(~exists().where(worker_leases.c.worker_id == bindparam("worker_id"))),
    )
    .returning(worker_leases.c.id)
)


async def take_unless_busy(conn: Conn, space_id: int, worker_id: int, task_id: int) -> int | None:
    """An exclusive lease on this machine for the task, unless any task holds one on it (a deployment
    target runs one step at a time): the lease's id, or None when it is busy. One statement where a count
    and an insert were two. It waits for the space's leasing turn first (across nodes on PostgreSQL), or
    two deployments could both find the target free."""
    await take_turns(conn, LEASING, space_id)
    parameters = {"worker_id": worker_id, "task_id": task_id, "created": utcnow()}
    return (await conn.execute(_TAKE_UNLESS_BUSY, parameters)).scalar_one_or_none()
