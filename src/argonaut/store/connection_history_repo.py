"""A machine's health changes, written as audit events by the health check (the orchestrator cannot use
``service.events``, which sits above it) and read back for ``/{workers|machines}/{id}/connection``.
What they mean is ``domain.connection_history``."""

from __future__ import annotations

from typing import Any

from argonaut.domain.connection_history import CATEGORIES
from argonaut.store import events_repo
from argonaut.store.connection import Conn
from argonaut.store.timeutil import as_utc


async def record(conn: Conn, space_id: int, machine_id: str, category: str, message: str) -> None:
    """One health change of ``machine_id`` (``Workers-3``, ``Machines-4``), by the system, not a user."""
    values = events_repo.event_values(
        category, message, space_id=space_id, username="system", related_document_ids=[machine_id]
    )
    await events_repo.write(conn, values)


async def history(conn: Conn, space_id: int, machine_id: str, take: int = 50) -> list[dict[str, Any]]:
    """The newest ``take`` health changes of ``machine_id``, newest first."""
    _, rows = await events_repo.list_events(
        conn, 0, take, space_ids=[space_id], regarding=[machine_id], categories=list(CATEGORIES)
    )
    return [_plain(r) for r in rows]


def _plain(row: Any) -> dict[str, Any]:
    occurred = as_utc(row["occurred"])
    return {
        "category": row["category"],
        "message": row["message"],
        "occurred": occurred.isoformat() if occurred is not None else None,
    }
