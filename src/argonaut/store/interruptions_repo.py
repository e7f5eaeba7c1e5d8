"""Interruptions: tasks waiting for a person (manual intervention, guided failure).

Every change here also rewrites ``tasks.pending_interruptions`` (the types of the task's pending
interruptions) in the caller's transaction, so a task resource shows ``HasPendingInterruptions`` from its
own row, never out of step with the interruptions. Taking responsibility and submitting are
compare-and-sets on ``is_pending`` (and the responsible user), so two people answering at once, on any
node, never both win.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Text, cast, func, insert, select, update
from sqlalchemy.engine import RowMapping

from argonaut.store.common import paged
from argonaut.store.connection import Conn
from argonaut.store.tables import interruptions, tasks
from argonaut.store.tasks_repo import in_places
from argonaut.store.timeutil import utcnow


async def create(
    conn: Conn,
    *,
    space_id: int,
    task_id: int,
    kind: str,
    title: str,
    form: Mapping[str, Any],
    related_document_ids: Sequence[str],
    responsible_team_ids: Sequence[str],
    correlation_id: str,
) -> RowMapping:
    values = {
        "space_id": space_id,
        "task_id": task_id,
        "type": kind,
        "title": title,
        "created": utcnow(),
        "is_pending": True,
        "form": dict(form),
        "related_document_ids": list(related_document_ids),
        "responsible_team_ids": list(responsible_team_ids),
        "correlation_id": correlation_id[:200],
    }
    row = (await conn.execute(insert(interruptions).values(**values).returning(*interruptions.c))).mappings()
    created = row.one()
    await _keep_task_pending(conn, task_id)
    return created


async def get(conn: Conn, space_id: int | None, interruption_id: int) -> RowMapping | None:
    """One interruption; ``space_id`` None finds it in any space (the waiting step knows its id)."""
    query = select(interruptions).where(interruptions.c.id == interruption_id)
    if space_id is not None:
        query = query.where(interruptions.c.space_id == space_id)
    return (await conn.execute(query)).mappings().first()


async def by_correlation(conn: Conn, task_id: int, correlation_id: str) -> RowMapping | None:
    """The interruption a task's step raised before (a node restarted while it waited), newest first."""
    query = (
        select(interruptions)
        .where(interruptions.c.task_id == task_id, interruptions.c.correlation_id == correlation_id[:200])
        .order_by(interruptions.c.id.desc())
        .limit(1)
    )
    return (await conn.execute(query)).mappings().first()


async def list_for(
    conn: Conn,
    space_id: int,
    skip: int,
    take: int,
    *,
    regarding: str | None = None,
    pending_only: bool = False,
    ids: Sequence[int] | None = None,
    places: tuple[Sequence[int] | None, Sequence[int] | None] | None = None,
) -> tuple[int, Sequence[RowMapping]]:
    """Newest first. ``regarding`` matches any of the related document ids, case-insensitively: the
    stored JSON array's text holds each id quoted, so the quoted id is a substring of it exactly when
    the array holds it (ids carry no quote or backslash, which JSON would escape)."""
    query = (
        select(interruptions).where(interruptions.c.space_id == space_id).order_by(interruptions.c.id.desc())
    )
    if places is not None:  # a restricted view: only interruptions of tasks in these (projects, environments)
        query = query.where(in_places(interruptions.c.task_id, *places))
    if pending_only:
        query = query.where(interruptions.c.is_pending.is_(True))
    if ids is not None:
        query = query.where(interruptions.c.id.in_(list(ids)))
    if regarding:
        text = func.lower(cast(interruptions.c.related_document_ids, Text))
        query = query.where(text.contains(f'"{regarding.strip().lower()}"', autoescape=True))
    return await paged(conn, query, skip, take)


async def set_responsible(conn: Conn, interruption_id: int, user_id: int) -> RowMapping | None:
    """Make ``user_id`` responsible while the interruption is pending; answers the row, else None."""
    query = (
        update(interruptions)
        .where(interruptions.c.id == interruption_id, interruptions.c.is_pending.is_(True))
        .values(responsible_user_id=user_id)
        .returning(*interruptions.c)
    )
    return (await conn.execute(query)).mappings().first()


async def submit(
    conn: Conn, interruption_id: int, user_id: int, values: Mapping[str, Any], submitted: Mapping[str, Any]
) -> RowMapping | None:
    """Record the answer of the responsible user: only while pending and still theirs; answers the row,
    else None (someone answered or took it over first)."""
    current = await get(conn, None, interruption_id)
    if current is None:
        return None
    form = dict(current["form"] or {})
    form["Values"] = {**(form.get("Values") or {}), **values}
    query = (
        update(interruptions)
        .where(
            interruptions.c.id == interruption_id,
            interruptions.c.is_pending.is_(True),
            interruptions.c.responsible_user_id == user_id,
        )
        .values(is_pending=False, form=form, submitted=dict(submitted))
        .returning(*interruptions.c)
    )
    row = (await conn.execute(query)).mappings().first()
    if row is not None:
        await _keep_task_pending(conn, int(row["task_id"]))
    return row


async def close(conn: Conn, interruption_id: int, reason: str) -> None:
    """No longer pending, unanswered: its task stopped waiting (canceled, or ended otherwise)."""
    query = (
        update(interruptions)
        .where(interruptions.c.id == interruption_id, interruptions.c.is_pending.is_(True))
        .values(is_pending=False, submitted={"Closed": reason, "ClosedOn": utcnow().isoformat()})
        .returning(interruptions.c.task_id)
    )
    task_id = (await conn.execute(query)).scalar()
    if task_id is not None:
        await _keep_task_pending(conn, int(task_id))


async def _keep_task_pending(conn: Conn, task_id: int) -> None:
    found = await conn.execute(
        select(interruptions.c.type)
        .where(interruptions.c.task_id == task_id, interruptions.c.is_pending.is_(True))
        .order_by(interruptions.c.id)
    )
    kinds = list(dict.fromkeys(str(r[0]) for r in found))
    await conn.execute(update(tasks).where(tasks.c.id == task_id).values(pending_interruptions=kinds or None))
