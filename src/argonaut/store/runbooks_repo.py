"""Runbooks, their snapshots and their runs.

A runbook's name is unique within its project (not the space), as is a snapshot's within its runbook.
Runs are read joined with their task's state (what ``FailureEncountered`` and retention look at) and
with their runbook and snapshot, so the engine learns what to run from one row.

Deleting a runbook takes its live process and every frozen copy its snapshots made (the foreign keys
take the snapshots and runs); the runs' tasks stay, as a deleted deployment's task does.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, bindparam, delete, func, insert, select, update
from sqlalchemy.engine import RowMapping

from argonaut.domain.ids import Collection, format_id
from argonaut.store.common import Conflict, conflict_if_taken, name_key, paged
from argonaut.store.connection import Conn
from argonaut.store.hot import hot
from argonaut.store.tables import (
    artifact_chunks,
    artifacts,
    processes,
    runbook_runs,
    runbook_snapshots,
    runbooks,
    tasks,
    variable_sets,
)
from argonaut.store.timeutil import utcnow

# --- Runbooks ----------------------------------------------------------------------------------------


def _runbook_taken(name: str) -> str:
    return f"A runbook named '{name}' already exists in this project"


async def ensure_runbook_name_free(
    conn: Conn, project_id: int, name: str, runbook_id: int | None = None
) -> None:
    query = select(runbooks.c.id).where(
        runbooks.c.project_id == project_id, runbooks.c.name_key == name_key(name)
    )
    found = (await conn.execute(query)).scalar()
    if found is not None and found != runbook_id:
        raise Conflict(_runbook_taken(name))


async def create_runbook(conn: Conn, space_id: int, values: dict[str, Any], by: str) -> int:
    """Insert a runbook whose name :func:`ensure_runbook_name_free` passed; ``values`` holds project_id,
    name, slug, description, process_id and document."""
    with conflict_if_taken(_runbook_taken(values["name"])):
        result = await conn.execute(
            insert(runbooks).values(
                space_id=space_id,
                name_key=name_key(values["name"]),
                published_snapshot_id=None,
                last_modified_on=utcnow(),
                last_modified_by=by,
                **values,
            )
        )
    return int(result.inserted_primary_key[0])  # type: ignore[index]


async def set_runbook_process(conn: Conn, runbook_id: int, process_id: str) -> None:
    """The process id names the runbook's id, known only once the row exists."""
    await conn.execute(update(runbooks).where(runbooks.c.id == runbook_id).values(process_id=process_id))


async def update_runbook(conn: Conn, runbook_id: int, values: dict[str, Any], by: str) -> None:
    if "name" in values:
        values = {**values, "name_key": name_key(values["name"])}
    with conflict_if_taken(_runbook_taken(str(values.get("name", "")))):
        await conn.execute(
            update(runbooks)
            .where(runbooks.c.id == runbook_id)
            .values(**values, last_modified_on=utcnow(), last_modified_by=by)
        )


_GET_RUNBOOK = hot(
    select(runbooks).where(
        runbooks.c.space_id == bindparam("space_id"), runbooks.c.id == bindparam("runbook_id")
    )
)


async def get_runbook(conn: Conn, space_id: int, runbook_id: int) -> RowMapping | None:
    found = await conn.execute(_GET_RUNBOOK, {"space_id": space_id, "runbook_id": runbook_id})
    return found.mappings().first()


async def find_runbook_by_name(conn: Conn, project_id: int, name: str) -> RowMapping | None:
    query = select(runbooks).where(runbooks.c.project_id == project_id, runbooks.c.name_key == name_key(name))
    return (await conn.execute(query)).mappings().first()


async def list_runbooks(
    conn: Conn,
    space_id: int,
    skip: int,
    take: int,
    ids: Sequence[int] | None = None,
    partial_name: str | None = None,
    project_ids: Sequence[int] | None = None,
) -> tuple[int, Sequence[RowMapping]]:
    """By name, then id (names repeat across projects)."""
    query = (
        select(runbooks).where(runbooks.c.space_id == space_id).order_by(runbooks.c.name_key, runbooks.c.id)
    )
    if ids is not None:
        query = query.where(runbooks.c.id.in_(ids))
    if partial_name:
        query = query.where(runbooks.c.name_key.contains(partial_name.casefold(), autoescape=True))
    if project_ids is not None:
        query = query.where(runbooks.c.project_id.in_(project_ids))
    return await paged(conn, query, skip, take)


async def delete_runbook(conn: Conn, space_id: int, runbook_id: int) -> None:
    """The runbook with its process, its snapshots and their frozen copies, and its runs."""
    owner = format_id(Collection.RUNBOOKS, runbook_id)
    frozen_variables = select(runbook_snapshots.c.variables_snapshot_id).where(
        runbook_snapshots.c.runbook_id == runbook_id
    )
    await conn.execute(delete(variable_sets).where(variable_sets.c.id.in_(frozen_variables)))
    await conn.execute(
        delete(processes).where(processes.c.space_id == space_id, processes.c.owner_id == owner)
    )
    await conn.execute(delete(runbooks).where(runbooks.c.space_id == space_id, runbooks.c.id == runbook_id))


# --- Snapshots ---------------------------------------------------------------------------------------


def _snapshot_taken(name: str) -> str:
    return f"A snapshot named '{name}' already exists for this runbook"


async def create_snapshot(conn: Conn, values: dict[str, Any], by: str) -> int:
    """Insert a snapshot; a name the runbook already has is a ``Conflict`` (also when two requests race).
    ``values``: space_id, project_id, runbook_id, name, notes, process_snapshot_id, variables_snapshot_id,
    document."""
    if await find_snapshot_by_name(conn, values["runbook_id"], values["name"]) is not None:
        raise Conflict(_snapshot_taken(values["name"]))
    now = utcnow()
    with conflict_if_taken(_snapshot_taken(values["name"])):
        result = await conn.execute(
            insert(runbook_snapshots).values(
                name_key=name_key(values["name"]),
                assembled=now,
                last_modified_on=now,
                last_modified_by=by,
                **values,
            )
        )
    return int(result.inserted_primary_key[0])  # type: ignore[index]


_GET_SNAPSHOT = hot(
    select(runbook_snapshots).where(
        runbook_snapshots.c.space_id == bindparam("space_id"),
        runbook_snapshots.c.id == bindparam("snapshot_id"),
    )
)


async def get_snapshot(conn: Conn, space_id: int, snapshot_id: int) -> RowMapping | None:
    found = await conn.execute(_GET_SNAPSHOT, {"space_id": space_id, "snapshot_id": snapshot_id})
    return found.mappings().first()


async def find_snapshot_by_name(conn: Conn, runbook_id: int, name: str) -> RowMapping | None:
    query = select(runbook_snapshots).where(
        runbook_snapshots.c.runbook_id == runbook_id, runbook_snapshots.c.name_key == name_key(name)
    )
    return (await conn.execute(query)).mappings().first()


async def list_snapshots(
    conn: Conn,
    space_id: int,
    skip: int,
    take: int,
    ids: Sequence[int] | None = None,
    runbook_id: int | None = None,
    project_id: int | None = None,
    name: str | None = None,
    *,
    project_ids: Sequence[int] | None = None,
) -> tuple[int, Sequence[RowMapping]]:
    """Newest first."""
    query = (
        select(runbook_snapshots)
        .where(runbook_snapshots.c.space_id == space_id)
        .order_by(runbook_snapshots.c.id.desc())
    )
    if ids is not None:
        query = query.where(runbook_snapshots.c.id.in_(ids))
    if runbook_id is not None:
        query = query.where(runbook_snapshots.c.runbook_id == runbook_id)
    if project_id is not None:
        query = query.where(runbook_snapshots.c.project_id == project_id)
    if name is not None:
        query = query.where(runbook_snapshots.c.name_key == name_key(name))
    if project_ids is not None:
        query = query.where(runbook_snapshots.c.project_id.in_(project_ids))
    return await paged(conn, query, skip, take)


async def snapshot_names(conn: Conn, runbook_id: int) -> set[str]:
    """The name keys the runbook's snapshots use, for the next free ``Snapshot N``."""
    query = select(runbook_snapshots.c.name_key).where(runbook_snapshots.c.runbook_id == runbook_id)
    return {str(key) for key in (await conn.execute(query)).scalars()}


async def delete_snapshot(conn: Conn, snapshot: RowMapping) -> None:
    """The snapshot with its frozen copies and its runs; a runbook that published it publishes nothing."""
    await conn.execute(
        update(runbooks)
        .where(runbooks.c.published_snapshot_id == snapshot["id"])
        .values(published_snapshot_id=None)
    )
    await conn.execute(delete(runbook_snapshots).where(runbook_snapshots.c.id == snapshot["id"]))
    await conn.execute(delete(processes).where(processes.c.id == snapshot["process_snapshot_id"]))
    await conn.execute(delete(variable_sets).where(variable_sets.c.id == snapshot["variables_snapshot_id"]))


# --- Runs --------------------------------------------------------------------------------------------


# Built once and hot (store/hot.py), as every statement a run makes on its way to its task.
_CREATE_RUN = hot(insert(runbook_runs).returning(runbook_runs.c.id))
_SET_RUN_TASK = hot(
    update(runbook_runs).where(runbook_runs.c.id == bindparam("run_id")).values(task_id=bindparam("task_id"))
)


async def create_run(conn: Conn, values: dict[str, Any]) -> int:
    return int((await conn.execute(_CREATE_RUN, {**values, "created": utcnow()})).scalar_one())


async def set_run_task(conn: Conn, run_id: int, task_id: int) -> None:
    await conn.execute(_SET_RUN_TASK, {"run_id": run_id, "task_id": task_id})


def _joined() -> Select[Any]:
    return select(
        runbook_runs,
        tasks.c.state.label("task_state"),
        tasks.c.completed_time.label("task_completed_time"),
        runbooks.c.name.label("runbook_name"),
        runbook_snapshots.c.name.label("snapshot_name"),
        runbook_snapshots.c.process_snapshot_id,
        runbook_snapshots.c.variables_snapshot_id,
    ).select_from(
        runbook_runs.outerjoin(tasks, tasks.c.id == runbook_runs.c.task_id)
        .join(runbooks, runbooks.c.id == runbook_runs.c.runbook_id)
        .join(runbook_snapshots, runbook_snapshots.c.id == runbook_runs.c.snapshot_id)
    )


_GET_RUN = hot(
    _joined().where(
        runbook_runs.c.space_id == bindparam("space_id"), runbook_runs.c.id == bindparam("run_id")
    )
)
_RUN_BY_ID = hot(_joined().where(runbook_runs.c.id == bindparam("run_id")))


async def get_run(conn: Conn, space_id: int, run_id: int) -> RowMapping | None:
    return (await conn.execute(_GET_RUN, {"space_id": space_id, "run_id": run_id})).mappings().first()


async def run_by_id(conn: Conn, run_id: int) -> RowMapping | None:
    """For the engine, which knows the run from its task's arguments: the run's columns, ``task_state``,
    ``runbook_name``, ``snapshot_name`` and the snapshot's ``process_snapshot_id`` and
    ``variables_snapshot_id`` (what to run)."""
    return (await conn.execute(_RUN_BY_ID, {"run_id": run_id})).mappings().first()


async def list_runs(
    conn: Conn,
    space_id: int,
    skip: int,
    take: int,
    ids: Sequence[int] | None = None,
    project_ids: Sequence[int] | None = None,
    runbook_ids: Sequence[int] | None = None,
    environment_ids: Sequence[int] | None = None,
    task_states: Sequence[str] | None = None,
    snapshot_id: int | None = None,
) -> tuple[int, Sequence[RowMapping]]:
    """Newest first."""
    query = _joined().where(runbook_runs.c.space_id == space_id).order_by(runbook_runs.c.id.desc())
    if ids is not None:
        query = query.where(runbook_runs.c.id.in_(ids))
    if project_ids is not None:
        query = query.where(runbook_runs.c.project_id.in_(project_ids))
    if runbook_ids is not None:
        query = query.where(runbook_runs.c.runbook_id.in_(runbook_ids))
    if environment_ids is not None:
        query = query.where(runbook_runs.c.environment_id.in_(environment_ids))
    if task_states is not None:
        query = query.where(tasks.c.state.in_(task_states))
    if snapshot_id is not None:
        query = query.where(runbook_runs.c.snapshot_id == snapshot_id)
    return await paged(conn, query, skip, take)


_COUNT_RUNS = hot(
    select(func.count().label("count")).where(
        runbook_runs.c.runbook_id == bindparam("runbook_id"),
        runbook_runs.c.environment_id == bindparam("environment_id"),
    )
)


async def count_runs_in_environment(conn: Conn, runbook_id: int, environment_id: int) -> int:
    """How many runs a runbook has in one environment: retention reads them only when over its limit."""
    parameters = {"runbook_id": runbook_id, "environment_id": environment_id}
    return int((await conn.execute(_COUNT_RUNS, parameters)).scalar_one())


async def runs_in_environment(conn: Conn, runbook_id: int, environment_id: int) -> Sequence[RowMapping]:
    """``(id, task_id, task_state)`` of a runbook's runs in one environment, newest first: what retention
    weighs (``ix_runbook_runs_runbook_environment`` serves it)."""
    query = (
        select(runbook_runs.c.id, runbook_runs.c.task_id, tasks.c.state.label("task_state"))
        .select_from(runbook_runs.outerjoin(tasks, tasks.c.id == runbook_runs.c.task_id))
        .where(runbook_runs.c.runbook_id == runbook_id, runbook_runs.c.environment_id == environment_id)
        .order_by(runbook_runs.c.id.desc())
    )
    return (await conn.execute(query)).mappings().all()


async def delete_runs_with_tasks(conn: Conn, run_ids: Sequence[int], task_ids: Sequence[int]) -> None:
    """Runs and their tasks; a task's log lines, activities, leases, script records and artifact rows go
    with it (foreign keys), and artifact bytes kept in the database for other nodes too."""
    if task_ids:
        stored = select(artifacts.c.stored_name).where(artifacts.c.task_id.in_(task_ids))
        await conn.execute(delete(artifact_chunks).where(artifact_chunks.c.stored_name.in_(stored)))
    if run_ids:
        await conn.execute(delete(runbook_runs).where(runbook_runs.c.id.in_(run_ids)))
    if task_ids:
        await conn.execute(delete(tasks).where(tasks.c.id.in_(task_ids)))


async def delete_run(conn: Conn, space_id: int, run_id: int) -> None:
    await conn.execute(
        delete(runbook_runs).where(runbook_runs.c.space_id == space_id, runbook_runs.c.id == run_id)
    )
