"""The audit trail: what changed, ran or signed in, by whom, recorded in the transaction of the change.

``record`` is the one way an event is written, so every category reads the same in ``/api/events``.
Sensitive values never reach it as values: callers pass ``ChangeDetails`` whose secrets say only that
they changed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from contextvars import ContextVar
from typing import Any, Unpack

from argonaut.store import events_repo
from argonaut.store.connection import Conn
from argonaut.store.events_repo import EventFields
from argonaut.store.timeutil import utcnow

# Set by the API's audit middleware around each request it audits: the categories the request's own code
# recorded. A route that records its own event (users, API keys, teams) gets no second, generic one.
written_by_request: ContextVar[list[str] | None] = ContextVar("written_by_request", default=None)


async def record(conn: Conn, category: str, message: str, **fields: Unpack[EventFields]) -> None:
    """Write one event (``Category`` as the described system names them: Created, Modified, Deleted,
    LoginSucceeded, LoginFailed, TaskQueued, TaskCanceled, …)."""
    await write(conn, prepare(category, message, **fields))


async def write(conn: Conn, values: Mapping[str, Any]) -> None:
    """Write an event made by :func:`prepare`."""
    await events_repo.write(conn, values)


def prepare(category: str, message: str, **fields: Unpack[EventFields]) -> dict[str, Any]:
    """The row of an event that the caller writes itself, in the statement of its change (a task's
    queuing); counted as written by the request, as :func:`record` counts what it writes."""
    written = written_by_request.get()
    if written is not None:
        written.append(category)
    return events_repo.event_values(category, message, **fields)


async def purge_older_than(conn: Conn, days: float, now: dt.datetime | None = None) -> int:
    """Retention: delete events older than ``days`` (a batch per call; the schedule calls again while a
    batch comes back full). Answers how many went."""
    before = (now or utcnow()).astimezone(dt.UTC) - dt.timedelta(days=days)
    return await events_repo.delete_older_than(conn, before, PURGE_BATCH)


PURGE_BATCH = 5000
