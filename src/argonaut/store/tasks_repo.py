"""Server tasks: the durable queue, task state and the task log.

Claiming is a compare-and-set (``UPDATE … WHERE state='Queued'``) so two nodes can never both start a
task; on PostgreSQL the candidate rows are picked with ``FOR UPDATE SKIP LOCKED`` so nodes do not queue
behind each other's locks.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, NamedTuple, cast

from sqlalchemy import (
    Float,
    Integer,
    String,
    Text,
    bindparam,
    delete,
    func,
    insert,
    null,
    or_,
    select,
    union_all,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import RowMapping

from argonaut.domain.scripts import ScriptHandle
from argonaut.domain.tasks import TaskState, transition
from argonaut.store import events_repo, leases_repo, script_runs_repo
from argonaut.store.common import paged
from argonaut.store.connection import Conn
from argonaut.store.database import is_postgresql, supports_skip_locked
from argonaut.store.hot import hot
from argonaut.store.tables import deployments, events, runbook_runs, script_runs, task_log, tasks
from argonaut.store.timeutil import utcnow

# Statements on every task's path are built once: building and cache-keying a SQLAlchemy statement
# costs more than SQLite takes to run it.
# hot(): each runs for every task, so it skips SQLAlchemy's per-execution work (store/hot.py).
_INSERT = hot(insert(tasks).returning(*tasks.c))
_GET = hot(select(tasks).where(tasks.c.id == bindparam("task_id")))
_LOGS_SINCE = (
    select(task_log.c.seq, task_log.c.activity, task_log.c.occurred, task_log.c.category, task_log.c.text)
    .where(task_log.c.task_id == bindparam("task_id"), task_log.c.seq >= bindparam("since"))
    .order_by(task_log.c.seq)
)
_INSERT_LOGS = hot(insert(task_log))
_SAVE_ACTIVITIES = hot(
    update(tasks)
    .where(tasks.c.id == bindparam("task_id"))
    .values(activities=bindparam("activities", type_=tasks.c.activities.type))
)
_SAVE_PROGRESS = hot(
    update(tasks)
    .where(tasks.c.id == bindparam("task_id"))
    .values(
        activities=bindparam("activities", type_=tasks.c.activities.type),
        process_state=bindparam("process_state", type_=tasks.c.process_state.type),
    )
)
_SET_LOG_COUNT = hot(
    update(tasks).where(tasks.c.id == bindparam("task_id")).values(log_count=bindparam("count"))
)
# Running: Executing or Cancelling. Spelled with OR, not IN: a hot statement cannot hold an IN list.
_RUNNING = or_(tasks.c.state == TaskState.EXECUTING.value, tasks.c.state == TaskState.CANCELLING.value)
_COMPLETE = hot(
    update(tasks)
    .where(
        tasks.c.id == bindparam("task_id"),
        _RUNNING,  # only a running task completes: a finished task never changes state again
    )
    .values(
        state=bindparam("state"),
        error_message=bindparam("error_message"),
        completed_time=bindparam("now"),
        last_updated_time=bindparam("now"),
        activities=bindparam("activities", type_=tasks.c.activities.type),
        output_variables=bindparam("output_variables", type_=tasks.c.output_variables.type),
        has_warnings_or_errors=bindparam("has_warnings_or_errors"),
        log_count=bindparam("log_count"),
    )
    .returning(*tasks.c)
)
# A process run also leaves its final cursor (its steps and outputs, which a parent step reads).
_COMPLETE_WITH_PROCESS = hot(
    _COMPLETE.values(process_state=bindparam("process_state", type_=tasks.c.process_state.type))
)


def _claim_statement(skip_locked: bool) -> Any:
    candidates = (
        select(tasks.c.id)
        .where(tasks.c.state == TaskState.QUEUED.value)
        .order_by(tasks.c.id)
        .limit(bindparam("limit", type_=Integer))
    )
    claim = update(tasks).values(
        state=TaskState.EXECUTING.value,
        start_time=bindparam("now"),
        last_updated_time=bindparam("now"),
        server_node=bindparam("node"),
    )
    if skip_locked:
        # PostgreSQL: the candidates in a CTE, which runs once. As an IN (subquery …) the planner may run
        # the locking subquery again per row and claim every queued task, whatever the limit (seen here:
        # a limit of 2 claimed all 5), so a node's task cap would not hold.
        chosen = candidates.with_for_update(skip_locked=True).cte("claimable")
        claim = claim.where(tasks.c.id == chosen.c.id, tasks.c.state == TaskState.QUEUED.value)
    else:
        claim = claim.where(
            tasks.c.id.in_(candidates.scalar_subquery()), tasks.c.state == TaskState.QUEUED.value
        )
    return claim.returning(*tasks.c)


_CLAIM = {False: hot(_claim_statement(False)), True: hot(_claim_statement(True))}


class LogRow(NamedTuple):
    """One log line. A named tuple, not a frozen dataclass: a log view makes one per line read (a
    million for a big log), and a frozen dataclass's ``__init__`` cost several times a tuple's."""

    seq: int
    activity: str
    occurred: float
    category: str
    text: str
    # In memory only, never a column: where the script's output stands after this line, so the cursor
    # stored with a batch of lines is exactly the one of its last line (see script_runs_repo).
    cursor: object = None


async def create_task(
    conn: Conn,
    space_id: int | None,
    name: str,
    description: str,
    arguments: dict[str, Any],
    event: Callable[[Mapping[Any, Any]], Mapping[str, Any] | None] | None = None,
) -> RowMapping:
    """Queue a task and answer its row (one statement: INSERT … RETURNING). With ``event``, also the
    event row (``events_repo.event_values``) that it makes of the task's row, if it makes one.

    With an event on PostgreSQL, the task's id is drawn from its sequence first, so that the event can
    be made before the insert and written in a data-modifying CTE of it: two round trips in autocommit
    where a transaction of the two inserts took four, on the path of every task. On SQLite, the
    statements one by one: call it in a transaction there.
    """
    now = utcnow()
    values: dict[str, Any] = {
        "space_id": space_id,
        "name": name,
        "description": description,
        "arguments": arguments,
        "state": TaskState.QUEUED.value,
        "queue_time": now,
        "last_updated_time": now,
        "has_warnings_or_errors": False,
        "activities": [],
        "output_variables": [],
        "log_count": 0,
    }
    if event is None or not is_postgresql(conn):
        row = (await conn.execute(_INSERT, values)).mappings().one()
        if event is not None and (made := event(row)) is not None:
            await events_repo.write(conn, made)
        return row
    task_id = (await conn.execute(_NEXT_TASK_ID)).scalar_one()
    made = event({**_UNSET, **values, "id": task_id})  # the row the insert stores: the rest is NULL
    if made is None:
        return (await conn.execute(_INSERT, {**values, "id": task_id})).mappings().one()
    # Named apart from the column: a parameter named as a column would set that column of the event too.
    values["new_task_id"] = task_id
    values.update({f"event_{column}": value for column, value in made.items()})
    return (await conn.execute(_insert_with_event(), values)).mappings().one()


_NEXT_TASK_ID = hot(select(func.nextval(func.pg_get_serial_sequence("tasks", "id"))))
_UNSET = {column.name: None for column in tasks.c}

_SET_ON_INSERT = (
    "space_id",
    "name",
    "description",
    "arguments",
    "state",
    "queue_time",
    "last_updated_time",
    "has_warnings_or_errors",
    "activities",
    "output_variables",
    "log_count",
)


@functools.cache
def _insert_with_event() -> Any:
    """PostgreSQL's one-statement insert of a task and its event (see :func:`create_task`)."""
    event = insert(events).values(
        {c.name: bindparam(f"event_{c.name}", type_=c.type) for c in events.c if c.name != "id"}
    )
    task = insert(tasks).values(
        id=bindparam("new_task_id", type_=Integer),
        **{c: bindparam(c, type_=tasks.c[c].type) for c in _SET_ON_INSERT},
    )
    return hot(task.returning(*tasks.c).add_cte(event.cte("task_event")))


async def get(conn: Conn, task_id: int) -> RowMapping | None:
    return (await conn.execute(_GET, {"task_id": task_id})).mappings().first()


async def task_place(conn: Conn, task_id: int) -> tuple[int, int] | None:
    """The (project, environment) of the deployment or runbook run a task runs, else None (ad-hoc
    scripts, health checks and other tasks of no project)."""
    query = union_all(
        select(deployments.c.project_id, deployments.c.environment_id).where(
            deployments.c.task_id == task_id
        ),
        select(runbook_runs.c.project_id, runbook_runs.c.environment_id).where(
            runbook_runs.c.task_id == task_id
        ),
    )
    row = (await conn.execute(query)).first()
    return (int(row[0]), int(row[1])) if row is not None else None


def in_places(
    task_column: Any, project_ids: Sequence[int] | None, environment_ids: Sequence[int] | None
) -> Any:
    """A condition: ``task_column`` names a task of a deployment or runbook run in these projects and
    environments (``None``: any). Tasks of no project never match."""
    selects = []
    for table in (deployments, runbook_runs):
        sub = select(table.c.task_id).where(table.c.task_id.is_not(None))
        if project_ids is not None:
            sub = sub.where(table.c.project_id.in_(list(project_ids)))
        if environment_ids is not None:
            sub = sub.where(table.c.environment_id.in_(list(environment_ids)))
        selects.append(task_column.in_(sub))
    return or_(*selects)


async def list_tasks(
    conn: Conn,
    space_id: int | None,
    skip: int,
    take: int,
    states: Sequence[str] | None = None,
    ids: Sequence[int] | None = None,
    name: str | None = None,
    places: tuple[Sequence[int] | None, Sequence[int] | None] | None = None,
) -> tuple[int, Sequence[RowMapping]]:
    """``places``: only tasks of deployments and runbook runs in these (projects, environments), for a
    caller whose view is restricted; ``None`` adds nothing to the query."""
    query = select(tasks).order_by(tasks.c.id.desc())
    if places is not None:
        query = query.where(in_places(tasks.c.id, *places))
    if space_id is not None:
        query = query.where(tasks.c.space_id == space_id)
    if states is not None:
        query = query.where(tasks.c.state.in_(states))
    if ids is not None:
        query = query.where(tasks.c.id.in_(ids))
    if name:
        query = query.where(tasks.c.name == name)
    return await paged(conn, query, skip, take)


async def claim_next(conn: Conn, node: str, limit: int) -> list[RowMapping]:
    """Move up to ``limit`` of the oldest queued tasks to Executing on ``node`` and return them.

    One ``UPDATE … WHERE id IN (oldest queued) AND state='Queued' RETURNING`` statement: the state test
    makes it a compare-and-set, so a task claimed by another node is never claimed twice.
    """
    if limit <= 0:
        return []
    statement = _CLAIM[supports_skip_locked(conn)]
    result = await conn.execute(statement, {"limit": limit, "now": utcnow(), "node": node})
    return sorted(result.mappings().all(), key=lambda row: row["id"])


async def set_state(
    conn: Conn,
    task_id: int,
    state: TaskState,
    *,
    expected: Iterable[TaskState],
    error_message: str | None = None,
    completed: bool = False,
    extra: dict[str, Any] | None = None,
) -> RowMapping | None:
    """Move a task to ``state`` if it is currently one of ``expected``; answers the changed row, else None.

    Each expected state must allow the move by the domain's rule (raises ``IllegalTransition``), and the
    statement is a compare-and-set on the current state, so no writer can move a task illegally.
    """
    expected = list(expected)
    for current in expected:
        transition(current, state)
    now = utcnow()
    values: dict[str, Any] = {"state": state.value, "last_updated_time": now, **(extra or {})}
    if error_message is not None:
        values["error_message"] = error_message
    if completed or state.is_completed:
        values["completed_time"] = now
    query = update(tasks).where(tasks.c.id == task_id, tasks.c.state.in_([s.value for s in expected]))
    result = await conn.execute(query.values(**values).returning(*tasks.c))
    return result.mappings().first()


async def cancelling_among(conn: Conn, task_ids: Sequence[int]) -> list[int]:
    """Which of these tasks someone asked to cancel (on any node)."""
    query = select(tasks.c.id).where(
        tasks.c.id.in_(list(task_ids)), tasks.c.state == TaskState.CANCELLING.value
    )
    return [int(row[0]) for row in await conn.execute(query)]


async def take_over(conn: Conn, row: RowMapping, node: str) -> RowMapping | None:
    """Make ``node`` the owner of a task another node left running (no state change); answers the row,
    or None when another node took it first: a compare-and-set on the old owner, so exactly one wins."""
    old_owner = row["server_node"]
    query = (
        update(tasks)
        .where(
            tasks.c.id == row["id"],
            _RUNNING,
            tasks.c.server_node.is_(None) if old_owner is None else tasks.c.server_node == old_owner,
        )
        .values(server_node=node, last_updated_time=utcnow())
        .returning(*tasks.c)
    )
    return (await conn.execute(query)).mappings().first()


async def append_logs(conn: Conn, task_id: int, rows: Sequence[LogRow], count_too: bool = True) -> None:
    """Store log lines; ``count_too=False`` when the caller sets ``log_count`` in the same transaction."""
    if not rows:
        return
    await conn.execute(
        _INSERT_LOGS,
        [
            {
                "task_id": task_id,
                "seq": r.seq,
                "activity": r.activity,
                "occurred": r.occurred,
                "category": r.category,
                "text": r.text,
            }
            for r in rows
        ],
    )
    if count_too:
        await conn.execute(_SET_LOG_COUNT, {"task_id": task_id, "count": rows[-1].seq + 1})


async def save_activities(
    conn: Conn, task_id: int, activities: list[dict[str, Any]], process_state: dict[str, Any] | None = None
) -> None:
    """Keep a running task's activity tree stored, so a node that restarts can resume it; with a process
    run's step cursor (``process_state``) in the same statement when it changed too."""
    if process_state is None:
        await conn.execute(_SAVE_ACTIVITIES, {"task_id": task_id, "activities": activities})
    else:
        values = {"task_id": task_id, "activities": activities, "process_state": process_state}
        await conn.execute(_SAVE_PROGRESS, values)


PlannedRun = tuple[str, ScriptHandle, Mapping[str, Any]]
"""A script a task is about to run: its activity, its dispatcher handle, the executor's notes."""


async def record_runs(
    conn: Conn,
    task_id: int,
    runs: Sequence[PlannedRun],
    activities: list[dict[str, Any]],
    process_state: dict[str, Any] | None = None,
) -> None:
    """Record the scripts a task is about to run and save its activity tree (with a process run's
    cursor, when given), before any of them starts.

    One run on PostgreSQL (a step on one target, or the built-in worker) is one statement, the run
    inserted in a data-modifying CTE of the activities' update, atomic by itself: in autocommit one
    round trip where a transaction of the two took four, on the path of every script. Several runs keep
    their order (their ids) only as statements one by one, as on SQLite: call it in a transaction then.
    """
    if len(runs) != 1 or not is_postgresql(conn):
        for activity, handle, step in runs:
            await script_runs_repo.record(conn, task_id, activity, handle, step)
        await save_activities(conn, task_id, activities, process_state)
        return
    values = {f"run_{k}": v for k, v in script_runs_repo.run_values(task_id, *runs[0]).items()}
    values.update(task_id=task_id, activities=activities)
    if process_state is not None:
        values["process_state"] = process_state
    await conn.execute(_fused_record(process_state is not None), values)


@functools.cache
def _fused_record(process: bool) -> Any:
    """PostgreSQL's one-statement :func:`record_runs`, built once per shape."""
    run = {c.name: bindparam(f"run_{c.name}", type_=c.type) for c in script_runs.c if c.name != "id"}
    statement = _SAVE_PROGRESS if process else _SAVE_ACTIVITIES
    return hot(statement.add_cte(insert(script_runs).values(run).cte("recorded_run")))


async def read_logs(conn: Conn, task_id: int, since: int = 0) -> list[LogRow]:
    return [LogRow(*row) for row in await conn.execute(_LOGS_SINCE, {"task_id": task_id, "since": since})]


# -- reading a log page by page ------------------------------------------------------------------------
# A log can hold millions of lines. Readers take it a page at a time, keyed on the line number (never
# OFFSET), so every page costs what it returns however deep it lies, and the caller can let other work
# run between pages. Lines of one activity are found through ix_task_log_activity.

_LOG_COLUMNS = (
    task_log.c.seq,
    task_log.c.activity,
    task_log.c.occurred,
    task_log.c.category,
    task_log.c.text,
)


@functools.cache
def _log_lines(bounded: bool, one_activity: bool, verbose: bool) -> Any:
    """A task's lines (``task_id``; below ``before``, of ``activity`` when asked) as a query per shape,
    built once: built per page, SQLAlchemy walked it for its cache key each time (a 1,000,000-line log
    reads 4,000 pages)."""
    query = select(*_LOG_COLUMNS).where(task_log.c.task_id == bindparam("task_id"))
    if bounded:
        query = query.where(task_log.c.seq < bindparam("before"))
    if one_activity:
        query = query.where(task_log.c.activity == bindparam("activity"))
    if not verbose:
        query = query.where(task_log.c.category != "Verbose")
    return query


@functools.cache
def _log_page(bounded: bool, one_activity: bool, verbose: bool) -> Any:
    query = _log_lines(bounded, one_activity, verbose).where(task_log.c.seq >= bindparam("since"))
    # A NULL ``cursor`` as the sixth column: each row then has LogRow's fields, in order and by name.
    query = query.add_columns(null().label("cursor"))
    return query.order_by(task_log.c.seq).limit(bindparam("limit", type_=Integer))


async def read_log_page(
    conn: Conn,
    task_id: int,
    since: int,
    limit: int,
    *,
    before: int | None = None,
    activity: str | None = None,
    verbose: bool = True,
) -> list[LogRow]:
    """Up to ``limit`` lines numbered ``since`` or later (and below ``before``), oldest first.

    ``activity`` keeps one activity's lines; ``verbose=False`` leaves out Verbose lines in the query.
    """
    query = _log_page(before is not None, activity is not None, verbose)
    parameters = {"task_id": task_id, "since": since, "before": before, "activity": activity, "limit": limit}
    # The rows as fetched: they unpack and read by name as LogRows do, and making a LogRow of each was a
    # sixth of reading a big log.
    rows: Any = (await conn.execute(query, parameters)).all()
    return cast(list[LogRow], rows)


async def log_tail_start(
    conn: Conn,
    task_id: int,
    activity: str,
    count: int,
    *,
    before: int | None = None,
    verbose: bool = True,
) -> int | None:
    """The number of the first of an activity's last ``count`` lines, or None if it has fewer.

    Walks back ``count`` entries of the activity index, so a tail costs what it shows, not the log.
    """
    query = _log_lines(before is not None, True, verbose).with_only_columns(task_log.c.seq)
    query = query.order_by(task_log.c.seq.desc()).offset(count - 1).limit(1)
    parameters = {"task_id": task_id, "before": before, "activity": activity}
    found = (await conn.execute(query, parameters)).scalar_one_or_none()
    return int(found) if found is not None else None


async def log_size_page(conn: Conn, task_id: int, since: int, limit: int) -> tuple[int, int, int]:
    """Of up to ``limit`` lines numbered ``since`` or later: how many, their characters plus one newline
    each, and the last one's number (``since - 1`` when there are none)."""
    page = (
        select(task_log.c.seq, task_log.c.text)
        .where(task_log.c.task_id == task_id, task_log.c.seq >= since)
        .order_by(task_log.c.seq)
        .limit(limit)
        .subquery()
    )
    query = select(
        func.count(), func.coalesce(func.sum(func.length(page.c.text) + 1), 0), func.max(page.c.seq)
    )
    row: Any = (await conn.execute(query)).one()
    count, size, last = row[0], row[1], row[2]
    return int(count), int(size), int(last) if last is not None else since - 1


async def finish(
    conn: Conn,
    task_id: int,
    rows: Sequence[LogRow],
    *,
    release_leases: bool,
    forget_scripts: bool,
    state: TaskState,
    error_message: str | None,
    activities: list[dict[str, Any]],
    output_variables: list[dict[str, Any]],
    has_warnings_or_errors: bool,
    log_count: int,
    process_state: dict[str, Any] | None = None,
) -> RowMapping | None:
    """A task's last lines, the end of its leases and script runs, and its final state with everything
    shown with it, all at once; answers the stored row.

    On PostgreSQL in one statement (the lines, leases and runs in data-modifying CTEs) that runs in
    autocommit: one round trip where a transaction of five statements took seven, a quarter of what a
    short task costs there. As in that transaction, all of it is stored even if the task had already
    ended (the update then answers None), and a line refused (a duplicate) refuses the whole.
    On SQLite, where a statement costs microseconds, the same statements one by one: call it in a
    transaction there.
    """
    values: dict[str, Any] = {
        "task_id": task_id,
        "state": state.value,
        "error_message": error_message,
        "now": utcnow(),
        "activities": activities,
        "output_variables": output_variables,
        "has_warnings_or_errors": has_warnings_or_errors,
        "log_count": log_count,
    }
    if process_state is not None:
        values["process_state"] = process_state
    if not is_postgresql(conn):
        await append_logs(conn, task_id, rows, count_too=False)
        if release_leases:
            await leases_repo.release_task(conn, task_id)
        if forget_scripts:
            await script_runs_repo.forget_task(conn, task_id)
        statement = _COMPLETE if process_state is None else _COMPLETE_WITH_PROCESS
        return (await conn.execute(statement, values)).mappings().first()
    if rows:
        values["line_seqs"] = [r.seq for r in rows]
        values["line_activities"] = [r.activity for r in rows]
        values["line_times"] = [r.occurred for r in rows]
        values["line_categories"] = [r.category for r in rows]
        values["line_texts"] = [r.text for r in rows]
    fused = _fused_finish(bool(rows), release_leases, forget_scripts, process_state is not None)
    return (await conn.execute(fused, values)).mappings().first()


@functools.cache
def _fused_finish(lines: bool, leases: bool, scripts: bool, process: bool) -> Any:
    """PostgreSQL's one-statement :func:`finish`, built once per shape."""
    statement = _COMPLETE_WITH_PROCESS if process else _COMPLETE
    if lines:
        given = (
            func.unnest(
                bindparam("line_seqs", type_=ARRAY(Integer)),
                bindparam("line_activities", type_=ARRAY(String)),
                bindparam("line_times", type_=ARRAY(Float)),
                bindparam("line_categories", type_=ARRAY(String)),
                bindparam("line_texts", type_=ARRAY(Text)),
            )
            .table_valued("seq", "activity", "occurred", "category", "text")
            .render_derived("given")
        )
        columns = ["task_id", "seq", "activity", "occurred", "category", "text"]
        picked = select(bindparam("task_id", type_=Integer), *given.c).select_from(given)
        statement = statement.add_cte(insert(task_log).from_select(columns, picked).cte("stored_lines"))
    if leases:
        statement = statement.add_cte(leases_repo.RELEASE_TASK.cte("released_leases"))
    if scripts:
        statement = statement.add_cte(script_runs_repo.FORGET_TASK.cte("forgotten_runs"))
    return hot(statement)


async def orphaned(conn: Conn, nodes: Sequence[str] | None) -> Sequence[RowMapping]:
    """Tasks left Executing or Cancelling by the nodes named (None: by any node)."""
    query = select(tasks).where(tasks.c.state.in_([TaskState.EXECUTING.value, TaskState.CANCELLING.value]))
    if nodes is not None:
        query = query.where(tasks.c.server_node.in_(list(nodes)))
    return (await conn.execute(query.order_by(tasks.c.id))).mappings().all()


async def prune_logs(conn: Conn, finished_before: dt.datetime, limit: int, note: str) -> int:
    """Task-log retention: the logs of up to ``limit`` tasks that finished before ``finished_before`` are
    replaced by one line, ``note``, in their first line's activity. Answers how many tasks were pruned.

    The task rows stay (deployments, runs and the audit trail point at them) with their state, times and
    activity tree; only the lines go, which are what make a store grow. A pruned log has one line, so a
    task is pruned once; a task whose log had one line keeps it."""
    ids = (
        (
            await conn.execute(
                select(tasks.c.id)
                .where(tasks.c.completed_time < finished_before, tasks.c.log_count > 1)
                .order_by(tasks.c.id)
                .limit(limit)
            )
        )
        .scalars()
        .all()
    )
    if not ids:
        return 0
    first_seq = (
        select(task_log.c.task_id, func.min(task_log.c.seq).label("seq"))
        .where(task_log.c.task_id.in_(ids))
        .group_by(task_log.c.task_id)
        .subquery()
    )
    firsts = (
        (
            await conn.execute(
                select(task_log.c.task_id, task_log.c.activity, task_log.c.occurred).join(
                    first_seq,
                    (task_log.c.task_id == first_seq.c.task_id) & (task_log.c.seq == first_seq.c.seq),
                )
            )
        )
        .mappings()
        .all()
    )
    await conn.execute(delete(task_log).where(task_log.c.task_id.in_(ids)))
    notes = [{**first, "seq": 0, "category": "Info", "text": note} for first in firsts]
    if notes:
        await conn.execute(insert(task_log), notes)
    await conn.execute(update(tasks).where(tasks.c.id.in_(ids)).values(log_count=1))
    return len(ids)
