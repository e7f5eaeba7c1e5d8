"""Every script a task plans, by ticket: what a node that starts again needs to carry on honestly.

A script is recorded with its dispatcher handle when it is planned, before anything starts. ``cursor``
is NULL until the script is known to have been asked to start (agents and SSH mark it; the built-in
worker's own folder tells), then holds where the lines the store has end. ``outcome`` is set when the
script ended and its results are stored, so a restart keeps them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, delete, func, insert, select, update
from sqlalchemy.engine import RowMapping

from argonaut.domain.scripts import Cursor, ScriptHandle, ScriptKind, WorkerTarget
from argonaut.store.connection import Conn
from argonaut.store.hot import hot
from argonaut.store.tables import script_runs, task_log
from argonaut.store.timeutil import utcnow

# Each runs for every script, so they skip SQLAlchemy's per-execution work (store/hot.py).
_RECORD = hot(insert(script_runs))
# Also a CTE of tasks_repo.finish on PostgreSQL.
FORGET_TASK = hot(delete(script_runs).where(script_runs.c.task_id == bindparam("task_id")))
_SET_CURSOR = hot(
    update(script_runs)
    .where(script_runs.c.ticket == bindparam("t"))
    .values(cursor=bindparam("c", type_=script_runs.c.cursor.type))
)

_FINISH = hot(
    update(script_runs)
    .where(script_runs.c.ticket == bindparam("t"))
    .values(
        finished=True,
        failure=bindparam("failure", type_=script_runs.c.failure.type),
        outcome=bindparam("outcome", type_=script_runs.c.outcome.type),
    )
)


@dataclass(frozen=True, slots=True)
class ScriptRun:
    task_id: int
    activity: str
    handle: ScriptHandle
    cursor: Cursor
    started: bool
    finished: bool
    failure: str | None
    outcome: Mapping[str, Any] | None
    step: Mapping[str, Any]

    @property
    def ticket(self) -> str:
        return self.handle.ticket


async def record(
    conn: Conn, task_id: int, activity: str, handle: ScriptHandle, step: Mapping[str, Any] | None = None
) -> None:
    await conn.execute(_RECORD, run_values(task_id, activity, handle, step))


def run_values(
    task_id: int, activity: str, handle: ScriptHandle, step: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The row that records a planned script (also written by ``tasks_repo.record_runs``)."""
    target = handle.target
    worker = target if isinstance(target, WorkerTarget) else None
    return {
        "task_id": task_id,
        "activity": activity,
        "ticket": handle.ticket,
        "worker_id": worker.worker_id if worker else 0,
        "worker_name": target.name,
        "endpoint": dict(worker.endpoint) if worker else {},
        "finished": False,
        "failure": None,
        "created": utcnow(),
        "kind": handle.kind.value,
        "resumable": handle.resumable,
        "handle": handle.to_json(),
        "cursor": None,
        "outcome": None,
        "step": dict(step or {}),
    }


async def mark_started(conn: Conn, ticket: str, cursor: Cursor = 0) -> None:
    """The worker is about to be asked to start it: a restart must not start it a second time."""
    await conn.execute(_SET_CURSOR, {"t": ticket, "c": cursor})


async def save_cursors(conn: Conn, cursors: Mapping[str, Cursor]) -> None:
    """Where each script's stored lines end (written with those lines, in their transaction)."""
    if cursors:
        await conn.execute(_SET_CURSOR, [{"t": ticket, "c": c} for ticket, c in cursors.items()])


async def finish(
    conn: Conn, ticket: str, failure: str | None, outcome: Mapping[str, Any] | None = None
) -> None:
    values = {"t": ticket, "failure": failure, "outcome": dict(outcome) if outcome is not None else None}
    await conn.execute(_FINISH, values)


async def for_task(conn: Conn, task_id: int) -> list[ScriptRun]:
    query = select(script_runs).where(script_runs.c.task_id == task_id).order_by(script_runs.c.id)
    rows = (await conn.execute(query)).mappings().all()
    return [_run(row) for row in rows]


async def forget_task(conn: Conn, task_id: int) -> None:
    await conn.execute(FORGET_TASK, {"task_id": task_id})


async def stored_lines(conn: Conn, task_id: int, activity: str) -> int:
    """How many lines of this run the store holds: the agent line to ask for next, for runs recorded
    before cursors were kept."""
    query = (
        select(func.count())
        .select_from(task_log)
        .where(task_log.c.task_id == task_id, task_log.c.activity == activity)
    )
    return int((await conn.execute(query)).scalar_one())


def _run(row: RowMapping) -> ScriptRun:
    if row["handle"] is not None:
        handle = ScriptHandle.from_json(row["handle"])
        started = row["cursor"] is not None
    else:  # recorded by an older version: always an agent script, recorded just before its start
        target = WorkerTarget(int(row["worker_id"]), str(row["worker_name"]), dict(row["endpoint"]))
        handle = ScriptHandle(ScriptKind.AGENT, str(row["ticket"]), target, True)
        started = True
    return ScriptRun(
        task_id=int(row["task_id"]),
        activity=str(row["activity"]),
        handle=handle,
        cursor=row["cursor"],
        started=started,
        finished=bool(row["finished"]),
        failure=row["failure"],
        outcome=row["outcome"],
        step=row["step"] or {},
    )
