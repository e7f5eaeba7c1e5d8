"""Scripts a task has running on agents, by ticket: what a restarted node needs to carry on."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.engine import RowMapping

from argonaut.store.connection import Conn
from argonaut.store.tables import script_runs, task_log
from argonaut.store.timeutil import utcnow


async def record(
    conn: Conn,
    task_id: int,
    activity: str,
    ticket: str,
    worker_id: int,
    worker_name: str,
    endpoint: Mapping[str, Any],
) -> None:
    await conn.execute(
        insert(script_runs).values(
            task_id=task_id,
            activity=activity,
            ticket=ticket,
            worker_id=worker_id,
            worker_name=worker_name,
            endpoint=dict(endpoint),
            finished=False,
            created=utcnow(),
        )
    )


async def finish(conn: Conn, ticket: str, failure: str | None) -> None:
    await conn.execute(
        update(script_runs).where(script_runs.c.ticket == ticket).values(finished=True, failure=failure)
    )


async def for_task(conn: Conn, task_id: int) -> Sequence[RowMapping]:
    query = select(script_runs).where(script_runs.c.task_id == task_id).order_by(script_runs.c.id)
    return (await conn.execute(query)).mappings().all()


async def forget_task(conn: Conn, task_id: int) -> None:
    await conn.execute(delete(script_runs).where(script_runs.c.task_id == task_id))


async def stored_lines(conn: Conn, task_id: int, activity: str) -> int:
    """How many lines of this run the store holds: the agent line to ask for next."""
    query = (
        select(func.count())
        .select_from(task_log)
        .where(task_log.c.task_id == task_id, task_log.c.activity == activity)
    )
    return int((await conn.execute(query)).scalar_one())
