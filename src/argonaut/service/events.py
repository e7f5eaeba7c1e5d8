"""The audit trail: what changed, ran or signed in, by whom, recorded in the transaction of the change.

``record`` is the one way an event is written, so every category reads the same in ``/api/events``.
Sensitive values never reach it as values: callers pass ``ChangeDetails`` whose secrets say only that
they changed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import insert

from argonaut.store.connection import Conn
from argonaut.store.tables import events
from argonaut.store.timeutil import utcnow


async def record(
    conn: Conn,
    category: str,
    message: str,
    *,
    space_id: int | None = None,
    user_id: int | None = None,
    username: str | None = None,
    ip_address: str | None = None,
    related_document_ids: Sequence[str] = (),
    change_details: Mapping[str, Any] | None = None,
) -> None:
    """Write one event (``Category`` as the described system names them: Created, Modified, Deleted,
    LoginSucceeded, LoginFailed, TaskQueued, TaskCanceled, …)."""
    await conn.execute(
        insert(events).values(
            space_id=space_id,
            category=category,
            message=message,
            occurred=utcnow(),
            user_id=user_id,
            username=username,
            ip_address=ip_address,
            related_document_ids=list(related_document_ids),
            change_details=dict(change_details) if change_details is not None else None,
        )
    )
