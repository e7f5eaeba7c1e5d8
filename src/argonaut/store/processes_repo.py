"""Deployment processes and variable sets: one live document per project, and frozen copies.

Both are whole documents with a ``version`` for optimistic concurrency. Saving is a compare-and-set on
that version and on ``frozen``, so of two clients that read the same version only the first write lands,
on PostgreSQL too, where the second UPDATE waits for the first's row lock and then finds the version moved.
Snapshots (ids with ``-s-``) are copies a release keeps; nothing ever writes them again.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.engine import RowMapping

from argonaut.store.connection import Conn
from argonaut.store.hot import hot
from argonaut.store.tables import processes, variable_sets
from argonaut.store.timeutil import utcnow

# Built once and hot (store/hot.py): every deployment and runbook run reads its frozen process and
# variables.
_GET = {
    table.name: hot(select(table).where(table.c.id == bindparam("row_id")))
    for table in (processes, variable_sets)
}


async def _get(conn: Conn, table: Table, row_id: str) -> RowMapping | None:
    return (await conn.execute(_GET[table.name], {"row_id": row_id})).mappings().first()


async def get_process(conn: Conn, process_id: str) -> RowMapping | None:
    """The process (live or snapshot) with exactly this id, in any space: callers check the space."""
    return await _get(conn, processes, process_id)


async def get_variable_set(conn: Conn, variable_set_id: str) -> RowMapping | None:
    """The variable set (live or snapshot) with exactly this id, in any space: callers check the space."""
    return await _get(conn, variable_sets, variable_set_id)


async def create_process(
    conn: Conn, process_id: str, space_id: int, project_id: int, owner_id: str, by: str
) -> None:
    """A new, empty process at Version 0, as the described system makes one with its project."""
    await conn.execute(
        insert(processes).values(
            id=process_id,
            space_id=space_id,
            project_id=project_id,
            owner_id=owner_id,
            version=0,
            steps=[],
            frozen=False,
            last_snapshot_id=None,
            last_modified_on=utcnow(),
            last_modified_by=by,
        )
    )


async def create_variable_set(
    conn: Conn, variable_set_id: str, space_id: int, project_id: int, owner_id: str, by: str
) -> None:
    await conn.execute(
        insert(variable_sets).values(
            id=variable_set_id,
            space_id=space_id,
            project_id=project_id,
            owner_id=owner_id,
            version=0,
            variables=[],
            frozen=False,
            last_modified_on=utcnow(),
            last_modified_by=by,
        )
    )


async def _save(
    conn: Conn, table: Table, row_id: str, expected_version: int, values: dict[str, Any], by: str
) -> bool:
    result = await conn.execute(
        update(table)
        .where(table.c.id == row_id, table.c.version == expected_version, table.c.frozen.is_(False))
        .values(**values, version=expected_version + 1, last_modified_on=utcnow(), last_modified_by=by)
    )
    return bool(result.rowcount)


async def save_process(
    conn: Conn, process_id: str, expected_version: int, steps: Sequence[Any], by: str
) -> bool:
    """Store new steps if the process is still at ``expected_version`` and not frozen; answers whether it
    did (the version is then one more)."""
    return await _save(conn, processes, process_id, expected_version, {"steps": list(steps)}, by)


async def save_variables(
    conn: Conn, variable_set_id: str, expected_version: int, variables: Sequence[Any], by: str
) -> bool:
    """As :func:`save_process`, for a variable set's variables."""
    return await _save(
        conn, variable_sets, variable_set_id, expected_version, {"variables": list(variables)}, by
    )


async def _snapshot(conn: Conn, table: Table, source: RowMapping, snapshot_id: str) -> bool:
    if (await conn.execute(select(table.c.id).where(table.c.id == snapshot_id))).first() is not None:
        return False
    values = {column.name: source[column.name] for column in table.columns}
    values.update(id=snapshot_id, frozen=True)
    if "last_snapshot_id" in values:
        values["last_snapshot_id"] = None
    await conn.execute(insert(table).values(**values))
    return True


async def snapshot_process(conn: Conn, source: RowMapping, snapshot_id: str) -> bool:
    """A frozen copy of the process row ``source`` under ``snapshot_id``; False if that id is taken."""
    return await _snapshot(conn, processes, source, snapshot_id)


async def snapshot_variable_set(conn: Conn, source: RowMapping, snapshot_id: str) -> bool:
    """A frozen copy of the variable set row ``source`` under ``snapshot_id``; False if that id is taken."""
    return await _snapshot(conn, variable_sets, source, snapshot_id)


async def set_last_snapshot(conn: Conn, process_id: str, snapshot_id: str) -> None:
    """Record the newest snapshot without touching the version: freezing is no edit a client must see."""
    await conn.execute(
        update(processes).where(processes.c.id == process_id).values(last_snapshot_id=snapshot_id)
    )
