"""``GET /{workers|machines}/{id}/connection``: a machine's ``MachineConnectionStatus`` (its last check,
agent and runner versions, and the health changes its checks found; see ``domain.connection_history``)."""

from __future__ import annotations

from typing import Any

from argonaut.api.auth import Caller
from argonaut.domain.connection_history import connection_status
from argonaut.domain.ids import Collection, parse_id
from argonaut.store import connection_history_repo, workers_repo


async def connection(caller: Caller, machine: dict[str, Any], collection: Collection) -> dict[str, Any]:
    """``machine`` is the worker or target resource the caller may see (its route loaded it)."""
    assert caller.space_id is not None
    number = parse_id(collection, str(machine["Id"]))
    assert number is not None
    async with caller.services.store.transaction() as conn:
        row = await workers_repo.machine_row(conn, caller.space_id, number)
        history = await connection_history_repo.history(conn, caller.space_id, str(machine["Id"]))
    details = dict(row["details"] or {}) if row is not None else {}
    return connection_status(machine, details, history)
