"""The facts behind each unfinished task's ``PendingReason``, gathered for a page of tasks at once.

Only queued and executing tasks cost anything: the nodes and their loads are read once per page (and
only when a queued task is on it), each queued task counts the older queued tasks through the
``(state, id)`` index, and each executing task reads its newest log line by primary key (or, running on
this node, from the lines not stored yet). A page of finished tasks costs no query at all, so the task list
stays as fast with 10,000 stored tasks as with ten. The rules themselves are in ``domain/pending.py``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import func, select

from argonaut.domain.pending import AHEAD_CAP, NodeLoad, TaskFacts, pending_reason
from argonaut.domain.tasks import TaskState
from argonaut.orchestrator.queue import TaskQueue
from argonaut.store import nodes_repo
from argonaut.store.connection import Conn
from argonaut.store.tables import task_log, tasks
from argonaut.store.timeutil import as_utc, utcnow

Row = Mapping[Any, Any]


async def pending_reasons(
    conn: Conn, rows: Sequence[Row], queue: TaskQueue, offline_after_s: float
) -> dict[int, str | None]:
    """Task id -> why it waits (None: it does not) for each of ``rows``."""
    reasons: dict[int, str | None] = {}
    nodes: list[NodeLoad] | None = None
    for row in rows:
        state = TaskState(row["state"])
        task_id = int(row["id"])
        if state.is_completed or state is TaskState.CANCELLING:
            reasons[task_id] = None
            continue
        if state is TaskState.QUEUED:
            if nodes is None:
                nodes = await node_loads(conn, queue, offline_after_s)
            facts = TaskFacts(state, nodes=nodes, queued_ahead=await _queued_ahead(conn, task_id))
        else:
            facts = TaskFacts(
                state,
                pending_interruptions=list(row.get("pending_interruptions") or []),
                last_line=await _last_line(conn, queue, task_id),
            )
        reasons[task_id] = pending_reason(facts)
    return reasons


async def node_loads(conn: Conn, queue: TaskQueue, offline_after_s: float) -> list[NodeLoad]:
    """Every node's cap and load. This node's load is its own count of slots held (a task waiting for a
    person holds none); other nodes' is what the store says runs there."""
    running = await nodes_repo.running_counts(conn)
    seen_after = utcnow() - dt.timedelta(seconds=offline_after_s)
    loads = []
    for node in await nodes_repo.list_nodes(conn):
        name = str(node["name"])
        last_seen = as_utc(node["last_seen"])
        here = name == queue.node
        loads.append(
            NodeLoad(
                name,
                int(node["max_concurrent_tasks"]),
                queue.slots_held if here else running.get(name, 0),
                draining=bool(node["is_in_maintenance_mode"]),
                online=here or (last_seen is not None and last_seen >= seen_after),
            )
        )
    return loads


async def _queued_ahead(conn: Conn, task_id: int) -> int:
    """Older queued tasks, counted up to :data:`AHEAD_CAP` only: a page of 30 queued tasks behind a huge
    queue must not count it 30 times."""
    older = (
        select(tasks.c.id)
        .where(tasks.c.state == TaskState.QUEUED.value, tasks.c.id < task_id)
        .limit(AHEAD_CAP)
        .subquery()
    )
    return int((await conn.execute(select(func.count()).select_from(older))).scalar_one())


async def _last_line(conn: Conn, queue: TaskQueue, task_id: int) -> tuple[str, str] | None:
    live = queue.live_log(task_id)
    unstored = live.unstored() if live is not None else []
    if unstored:
        newest = max(unstored, key=lambda r: r.seq)
        return newest.category, newest.text
    query = (
        select(task_log.c.category, task_log.c.text)
        .where(task_log.c.task_id == task_id)
        .order_by(task_log.c.seq.desc())
        .limit(1)
    )
    found = (await conn.execute(query)).mappings().first()
    return (str(found["category"]), str(found["text"])) if found is not None else None
