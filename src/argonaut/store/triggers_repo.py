"""Project triggers: a schedule (``filter``) and what it does (``action``), with when it fires next.

Names are unique per project. ``next_run`` is NULL for a disabled trigger (and for a schedule that
never fires again), so a trigger is due exactly when its ``next_run`` has passed. Firing moves
``next_run`` with a compare-and-set on the value read (:func:`advance`): of any number of nodes that
read the same due time, exactly one moves it, and only that one runs anything.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import RowMapping

from argonaut.store.common import Conflict, conflict_if_taken, name_key, paged
from argonaut.store.connection import Conn
from argonaut.store.tables import project_triggers, runbook_runs
from argonaut.store.timeutil import utcnow

t = project_triggers


def _taken(name: str) -> str:
    return f"A trigger named '{name.strip()}' already exists in this project"


async def get(conn: Conn, space_id: int, trigger_id: int) -> RowMapping | None:
    query = select(t).where(t.c.space_id == space_id, t.c.id == trigger_id)
    return (await conn.execute(query)).mappings().first()


async def list_triggers(
    conn: Conn,
    space_id: int,
    skip: int,
    take: int,
    ids: Sequence[int] | None = None,
    partial_name: str | None = None,
    *,
    project_ids: Sequence[int] | None = None,
    runbook_ids: Sequence[str] | None = None,
) -> tuple[int, Sequence[RowMapping]]:
    """``runbook_ids`` are canonical ``Runbooks-n`` texts, as the stored actions hold them."""
    query = select(t).where(t.c.space_id == space_id)
    if ids is not None:
        query = query.where(t.c.id.in_(ids))
    if partial_name:
        query = query.where(t.c.name_key.contains(partial_name.casefold(), autoescape=True))
    if project_ids is not None:
        query = query.where(t.c.project_id.in_(project_ids))
    if runbook_ids is not None:
        query = query.where(t.c.action["RunbookId"].as_string().in_(runbook_ids))
    return await paged(conn, query.order_by(t.c.project_id, t.c.name_key, t.c.id), skip, take)


async def ensure_name_free(conn: Conn, project_id: int, name: str, trigger_id: int | None = None) -> None:
    query = select(t.c.id).where(t.c.project_id == project_id, t.c.name_key == name_key(name))
    found = (await conn.execute(query)).scalar()
    if found is not None and found != trigger_id:
        raise Conflict(_taken(name))


async def create(conn: Conn, space_id: int, project_id: int, values: dict[str, Any], by: str) -> int:
    """Insert a trigger whose name :func:`ensure_name_free` passed; ``values`` holds name, description,
    is_disabled, filter, action and next_run."""
    row = dict(
        values,
        space_id=space_id,
        project_id=project_id,
        name=values["name"].strip(),
        name_key=name_key(values["name"]),
        last_modified_on=utcnow(),
        last_modified_by=by,
    )
    with conflict_if_taken(_taken(values["name"])):
        result = await conn.execute(insert(t).values(**row))
    return int(result.inserted_primary_key[0])  # type: ignore[index]


async def update_trigger(conn: Conn, trigger_id: int, values: dict[str, Any], by: str) -> None:
    if "name" in values:
        values["name_key"] = name_key(values["name"])
        values["name"] = values["name"].strip()
    values.update(last_modified_on=utcnow(), last_modified_by=by)
    with conflict_if_taken(_taken(str(values.get("name", "")))):
        await conn.execute(update(t).where(t.c.id == trigger_id).values(**values))


async def delete_trigger(conn: Conn, space_id: int, trigger_id: int) -> None:
    await conn.execute(delete(t).where(t.c.space_id == space_id, t.c.id == trigger_id))


async def due(conn: Conn, now: dt.datetime, limit: int) -> Sequence[RowMapping]:
    """Enabled triggers whose next run is not after ``now``, the longest overdue first."""
    query = (
        select(t)
        .where(t.c.next_run <= now, t.c.is_disabled.is_(False))
        .order_by(t.c.next_run, t.c.id)
        .limit(limit)
    )
    return (await conn.execute(query)).mappings().all()


async def advance(
    conn: Conn, trigger_id: int, read: dt.datetime, following: dt.datetime | None, fired: dt.datetime
) -> bool:
    """Move an enabled trigger's ``next_run`` from the value ``read`` to ``following`` and record
    ``fired`` as its last run; answers whether this call moved it (a compare-and-set: a trigger disabled
    or already moved by another node meanwhile stays as it is)."""
    result = await conn.execute(
        update(t)
        .where(t.c.id == trigger_id, t.c.next_run == read, t.c.is_disabled.is_(False))
        .values(next_run=following, last_run=fired)
    )
    return bool(result.rowcount)


async def note_runs(conn: Conn, run_ids: Sequence[int], comments: str) -> None:
    """Say on runs just made by a trigger which trigger and which due time made them (their
    ``Comments``), so a reader of the runs can tell each scheduled run apart."""
    for run_id in run_ids:
        found = (
            await conn.execute(select(runbook_runs.c.document).where(runbook_runs.c.id == run_id))
        ).first()
        if found is not None:
            document = {**(found[0] or {}), "Comments": comments}
            await conn.execute(
                update(runbook_runs).where(runbook_runs.c.id == run_id).values(document=document)
            )
