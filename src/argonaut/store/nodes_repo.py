"""Server nodes sharing one database, their heartbeats, and the settings the whole cluster shares."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import bindparam, func, insert, or_, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import RowMapping

from argonaut.domain.tasks import TaskState
from argonaut.store.connection import Conn
from argonaut.store.tables import cluster_leases, cluster_settings, server_nodes, tasks
from argonaut.store.timeutil import utcnow

_HEARTBEAT = (
    update(server_nodes)
    .where(server_nodes.c.id == bindparam("node_id"))
    .values(last_seen=bindparam("now"))
    .returning(*server_nodes.c)
)


async def register(
    conn: Conn, name: str, task_cap: int | None, default_cap: int, thumbprint: str | None = None
) -> RowMapping:
    """Join the cluster as ``name``: a new row, or the node's own row again after a restart.

    ``task_cap`` is the cap given at start (None when none was): it replaces the stored one. Without
    it a node keeps the cap it was last given, through the API or a start, as the described system does.
    """
    now = utcnow()
    row = (await conn.execute(select(server_nodes).where(server_nodes.c.name == name))).mappings().first()
    if row is None:
        values = {
            "name": name,
            "max_concurrent_tasks": task_cap or default_cap,
            "is_in_maintenance_mode": False,
            "started": now,
            "last_seen": now,
            "thumbprint": thumbprint,
        }
        return (
            (await conn.execute(insert(server_nodes).values(**values).returning(*server_nodes.c)))
            .mappings()
            .one()
        )
    changes: dict[str, Any] = {"started": now, "last_seen": now, "thumbprint": thumbprint}
    if task_cap is not None:
        changes["max_concurrent_tasks"] = task_cap
    query = update(server_nodes).where(server_nodes.c.id == row["id"]).values(**changes)
    return (await conn.execute(query.returning(*server_nodes.c))).mappings().one()


async def set_comms_port(conn: Conn, node_id: int, port: int) -> None:
    await conn.execute(update(server_nodes).where(server_nodes.c.id == node_id).values(comms_port=port))


async def heartbeat(conn: Conn, node_id: int) -> RowMapping | None:
    """Say this node is alive; answers its row (the cap and maintenance mode the API may have changed)."""
    return (await conn.execute(_HEARTBEAT, {"node_id": node_id, "now": utcnow()})).mappings().first()


async def stopped(conn: Conn, node_id: int) -> None:
    """A node that stops cleanly says so: its handed-over work can go on at once, not after a timeout."""
    await conn.execute(update(server_nodes).where(server_nodes.c.id == node_id).values(last_seen=None))


async def list_nodes(conn: Conn) -> Sequence[RowMapping]:
    return (await conn.execute(select(server_nodes).order_by(server_nodes.c.name))).mappings().all()


async def get(conn: Conn, node_id: int) -> RowMapping | None:
    return (await conn.execute(select(server_nodes).where(server_nodes.c.id == node_id))).mappings().first()


async def update_node(
    conn: Conn, node_id: int, max_concurrent_tasks: int | None, is_in_maintenance_mode: bool | None
) -> RowMapping | None:
    changes: dict[str, Any] = {}
    if max_concurrent_tasks is not None:
        changes["max_concurrent_tasks"] = max_concurrent_tasks
    if is_in_maintenance_mode is not None:
        changes["is_in_maintenance_mode"] = is_in_maintenance_mode
    if not changes:
        return await get(conn, node_id)
    query = update(server_nodes).where(server_nodes.c.id == node_id).values(**changes)
    return (await conn.execute(query.returning(*server_nodes.c))).mappings().first()


async def offline_names(conn: Conn, seen_before: dt.datetime) -> list[str]:
    """Nodes that stopped, or said nothing since ``seen_before``."""
    query = select(server_nodes.c.name).where(
        or_(server_nodes.c.last_seen.is_(None), server_nodes.c.last_seen < seen_before)
    )
    return [str(row[0]) for row in await conn.execute(query)]


async def running_counts(conn: Conn) -> dict[str, int]:
    """Tasks executing per node name."""
    query = (
        select(tasks.c.server_node, func.count())
        .where(tasks.c.state.in_([TaskState.EXECUTING.value, TaskState.CANCELLING.value]))
        .group_by(tasks.c.server_node)
    )
    return {str(node): int(count) for node, count in await conn.execute(query) if node is not None}


async def setting(conn: Conn, name: str) -> str | None:
    query = select(cluster_settings.c.value).where(cluster_settings.c.name == name)
    value = (await conn.execute(query)).scalar()
    return str(value) if value is not None else None


async def set_setting(conn: Conn, name: str, value: str) -> None:
    await conn.execute(insert(cluster_settings).values(name=name, value=value))


async def put_setting(conn: Conn, name: str, value: str) -> None:
    """Write a setting whether or not it exists, in one statement: two nodes saving it at once both
    succeed (the last one wins) instead of one failing on the primary key."""
    upsert = postgresql_insert if conn.dialect.name == "postgresql" else sqlite_insert
    statement = upsert(cluster_settings).values(name=name, value=value)
    await conn.execute(
        statement.on_conflict_do_update(index_elements=["name"], set_={"value": statement.excluded.value})
    )


async def hold_lease(conn: Conn, name: str, holder: str, ttl_s: float) -> bool:
    """Take or renew the cluster-wide lease ``name`` for ``holder``; answers whether it holds it now.

    A compare-and-set: the lease moves only when it is free or has expired, so one node holds it.
    """
    now = utcnow()
    expires = now + dt.timedelta(seconds=ttl_s)
    taken = await conn.execute(
        update(cluster_leases)
        .where(
            cluster_leases.c.name == name,
            or_(cluster_leases.c.holder == holder, cluster_leases.c.expires < now),
        )
        .values(holder=holder, expires=expires)
    )
    if taken.rowcount:
        return True
    exists = (await conn.execute(select(cluster_leases.c.name).where(cluster_leases.c.name == name))).first()
    if exists is not None:
        return False
    await conn.execute(insert(cluster_leases).values(name=name, holder=holder, expires=expires))
    return True
