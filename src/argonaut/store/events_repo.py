"""The audit trail: one event written, events read newest first and filtered the described system's way,
and old events deleted in batches. Requests record through ``service.events.record``; health checks
(below the service layer) write their machines' health changes here directly."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any, TypedDict, Unpack

from sqlalchemy import Text, cast, delete, func, insert, or_, select
from sqlalchemy.engine import RowMapping

from argonaut.store.common import paged
from argonaut.store.connection import Conn
from argonaut.store.hot import hot
from argonaut.store.tables import events
from argonaut.store.timeutil import utcnow

# Built once: an insert built per call with .values() made SQLAlchemy walk its literals for a cache key on
# every request that writes an event (every POST /tasks does).
_INSERT = hot(insert(events))  # and it skips SQLAlchemy's per-execution work (store/hot.py)


class EventFields(TypedDict, total=False):
    """What an event says besides its category and message (each None or empty when not given)."""

    space_id: int | None
    user_id: int | None
    username: str | None
    ip_address: str | None
    related_document_ids: Sequence[str]
    change_details: Mapping[str, Any] | None


def event_values(category: str, message: str, **fields: Unpack[EventFields]) -> dict[str, Any]:
    """The row of one event, for :func:`write` (or a statement that writes it with its change, as
    ``tasks_repo.create_task`` does)."""
    details = fields.get("change_details")
    return {
        "space_id": fields.get("space_id"),
        "category": category,
        "message": message,
        "occurred": utcnow(),
        "user_id": fields.get("user_id"),
        "username": fields.get("username"),
        "ip_address": fields.get("ip_address"),
        "related_document_ids": list(fields.get("related_document_ids", ())),
        "change_details": dict(details) if details is not None else None,
    }


async def write(conn: Conn, values: Mapping[str, Any]) -> None:
    """Write an event row made by :func:`event_values`."""
    await conn.execute(_INSERT, values)


async def get(conn: Conn, event_id: int) -> RowMapping | None:
    return (await conn.execute(select(events).where(events.c.id == event_id))).mappings().first()


async def list_events(
    conn: Conn,
    skip: int,
    take: int,
    *,
    space_ids: Sequence[int | None] | None = None,
    user_ids: Sequence[int] | None = None,
    usernames: Sequence[str] | None = None,
    regarding: Sequence[str] | None = None,
    categories: Sequence[str] | None = None,
    occurred_from: dt.datetime | None = None,
    occurred_to: dt.datetime | None = None,
    ids: Sequence[int] | None = None,
) -> tuple[int, Sequence[RowMapping]]:
    """Newest first. ``space_ids`` may hold None for system events (sign-ins, spaces, users). ``regarding``
    matches any related document id case-insensitively on the JSON array's text (the quoted id is a
    substring of it exactly when the array holds it; ids carry no quote or backslash)."""
    query = select(events).order_by(events.c.id.desc())
    if space_ids is not None:
        numbers = [s for s in space_ids if s is not None]
        clauses = [events.c.space_id.in_(numbers)] if numbers else []
        if None in space_ids:
            clauses.append(events.c.space_id.is_(None))
        query = query.where(or_(*clauses)) if clauses else query.where(events.c.id.is_(None))
    who = []  # the users given by id or by name: an event of either matches
    if user_ids:
        who.append(events.c.user_id.in_(list(user_ids)))
    if usernames:
        who.append(func.lower(events.c.username).in_([u.lower() for u in usernames]))
    if user_ids is not None or usernames is not None:
        query = query.where(or_(*who)) if who else query.where(events.c.id.is_(None))
    if categories is not None:
        query = query.where(func.lower(events.c.category).in_([c.lower() for c in categories]))
    if occurred_from is not None:
        query = query.where(events.c.occurred >= occurred_from)
    if occurred_to is not None:
        query = query.where(events.c.occurred <= occurred_to)
    if ids is not None:
        query = query.where(events.c.id.in_(list(ids)))
    if regarding:
        text = func.lower(cast(events.c.related_document_ids, Text))
        query = query.where(
            or_(*(text.contains(f'"{doc.strip().lower()}"', autoescape=True) for doc in regarding))
        )
    return await paged(conn, query, skip, take)


async def categories_in_use(conn: Conn) -> list[str]:
    rows = await conn.execute(select(events.c.category).distinct())
    return sorted(str(r[0]) for r in rows)


async def delete_older_than(conn: Conn, before: dt.datetime, batch: int = 5000) -> int:
    """Delete up to ``batch`` events that occurred before ``before`` (oldest first); answers how many."""
    oldest = (
        select(events.c.id).where(events.c.occurred < before).order_by(events.c.id).limit(batch).subquery()
    )
    result = await conn.execute(delete(events).where(events.c.id.in_(select(oldest.c.id))))
    return int(result.rowcount or 0)
