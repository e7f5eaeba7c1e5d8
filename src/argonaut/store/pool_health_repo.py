"""How many workers of each pool are in each health status, counted by the database: the worker pools
page shows this for every pool at once, and reading the workers themselves would not scale."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select

from argonaut.store.connection import Conn
from argonaut.store.tables import worker_pool_members, workers


async def health_counts(
    conn: Conn, space_id: int, pool_ids: Sequence[int]
) -> list[tuple[int, str, bool, str, int]]:
    """(pool id, health status, is disabled, communication style, count) for the pools given."""
    if not pool_ids:
        return []
    query = (
        select(
            worker_pool_members.c.pool_id,
            workers.c.health_status,
            workers.c.is_disabled,
            workers.c.communication_style,
            func.count(),
        )
        .join(workers, workers.c.id == worker_pool_members.c.worker_id)
        .where(workers.c.space_id == space_id, worker_pool_members.c.pool_id.in_(list(pool_ids)))
        .group_by(
            worker_pool_members.c.pool_id,
            workers.c.health_status,
            workers.c.is_disabled,
            workers.c.communication_style,
        )
    )
    return [(int(r[0]), str(r[1]), bool(r[2]), str(r[3]), int(r[4])) for r in await conn.execute(query)]
