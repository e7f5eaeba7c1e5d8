"""Which of the ids a document names exist in a space, and what they are called.

Lifecycles, processes and variable sets hold ids of other resources inside JSON (phases' environments,
steps' worker pools, variables' scopes), where no foreign key can guard them. Services check them here
when a document is written, and resources show their names, one query per kind of reference.
"""

from __future__ import annotations

from collections.abc import Collection as Coll

from sqlalchemy import ColumnElement, Table, select, true

from argonaut.store.connection import Conn
from argonaut.store.tables import channels, environments, worker_pools, workers
from argonaut.store.workers_repo import TARGET


async def names_by_id(
    conn: Conn,
    table: Table,
    space_id: int,
    ids: Coll[int] | None = None,
    only: ColumnElement[bool] | None = None,
) -> dict[int, str]:
    """Id -> name of the rows of ``table`` in the space (all of them when ``ids`` is None)."""
    if ids is not None and not ids:
        return {}
    query = (
        select(table.c.id, table.c.name)
        .where(table.c.space_id == space_id, only if only is not None else true())
        .order_by(table.c.name_key)
    )
    if ids is not None:
        query = query.where(table.c.id.in_(list(ids)))
    return {int(row.id): str(row.name) for row in await conn.execute(query)}


async def environment_names(conn: Conn, space_id: int, ids: Coll[int] | None = None) -> dict[int, str]:
    """Environments in their dashboard order, which is how clients list them."""
    query = (
        select(environments.c.id, environments.c.name)
        .where(environments.c.space_id == space_id)
        .order_by(environments.c.sort_order, environments.c.id)
    )
    if ids is not None:
        if not ids:
            return {}
        query = query.where(environments.c.id.in_(list(ids)))
    return {int(row.id): str(row.name) for row in await conn.execute(query)}


async def pool_names(conn: Conn, space_id: int, ids: Coll[int] | None = None) -> dict[int, str]:
    return await names_by_id(conn, worker_pools, space_id, ids)


async def target_names(conn: Conn, space_id: int, ids: Coll[int] | None = None) -> dict[int, str]:
    """Deployment targets only: workers share the table but are no variable scope."""
    return await names_by_id(conn, workers, space_id, ids, workers.c.kind == TARGET)


async def target_roles(conn: Conn, space_id: int) -> list[str]:
    """Every role some target of the space has, each once (case-insensitively), sorted."""
    query = select(workers.c.roles).where(workers.c.space_id == space_id, workers.c.kind == TARGET)
    seen: dict[str, str] = {}
    for (roles,) in await conn.execute(query):
        for role in roles or ():
            if isinstance(role, str) and role.strip():
                seen.setdefault(role.strip().casefold(), role.strip())
    return sorted(seen.values(), key=str.casefold)


async def channel_names(conn: Conn, project_id: int) -> dict[int, str]:
    query = select(channels.c.id, channels.c.name).where(channels.c.project_id == project_id)
    return {int(row.id): str(row.name) for row in await conn.execute(query.order_by(channels.c.name_key))}
