"""Links to polling agents by node, and calls relayed from a node without a link to one with it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy import and_, delete, insert, select, update
from sqlalchemy.engine import RowMapping

from argonaut.store.connection import Conn
from argonaut.store.tables import agent_links, relay_calls, server_nodes
from argonaut.store.timeutil import utcnow


async def linked(conn: Conn, subscription: str, thumbprint: str, node: str, up: bool) -> None:
    where = and_(
        agent_links.c.subscription == subscription,
        agent_links.c.thumbprint == thumbprint,
        agent_links.c.node == node,
    )
    await conn.execute(delete(agent_links).where(where))
    if up:
        values = {"subscription": subscription, "thumbprint": thumbprint, "node": node, "since": utcnow()}
        await conn.execute(insert(agent_links).values(**values))


async def forget_node(conn: Conn, node: str) -> None:
    """A node starting again holds no link yet: what it held before is gone."""
    await conn.execute(delete(agent_links).where(agent_links.c.node == node))


async def holder(
    conn: Conn, subscription: str, thumbprint: str, not_node: str, seen_after: dt.datetime
) -> str | None:
    """A node other than ``not_node``, alive since ``seen_after``, with a link to this polling agent."""
    query = (
        select(agent_links.c.node)
        .join(server_nodes, server_nodes.c.name == agent_links.c.node)
        .where(
            agent_links.c.subscription == subscription,
            agent_links.c.thumbprint == thumbprint,
            agent_links.c.node != not_node,
            server_nodes.c.last_seen > seen_after,
        )
        .order_by(agent_links.c.since.desc())
        .limit(1)
    )
    found = (await conn.execute(query)).scalar()
    return str(found) if found is not None else None


async def ask(
    conn: Conn,
    caller: str,
    target: str,
    subscription: str,
    thumbprint: str,
    method: str,
    params: Mapping[str, Any],
    timeout_s: float,
) -> int:
    values = {
        "caller": caller,
        "target": target,
        "subscription": subscription,
        "thumbprint": thumbprint,
        "method": method,
        "params": dict(params),
        "timeout_s": timeout_s,
        "created": utcnow(),
    }
    result = await conn.execute(insert(relay_calls).values(**values))
    return int(result.inserted_primary_key[0])  # type: ignore[index]


async def get(conn: Conn, call_id: int) -> RowMapping | None:
    return (await conn.execute(select(relay_calls).where(relay_calls.c.id == call_id))).mappings().first()


async def unanswered_for(conn: Conn, target: str) -> list[int]:
    query = select(relay_calls.c.id).where(
        relay_calls.c.target == target, relay_calls.c.answer.is_(None), relay_calls.c.error.is_(None)
    )
    return [int(row[0]) for row in await conn.execute(query)]


async def answer(
    conn: Conn, call_id: int, result: Mapping[str, Any] | None, error: Mapping[str, str] | None
) -> None:
    values = {"answer": dict(result) if result is not None else None, "error": dict(error) if error else None}
    await conn.execute(update(relay_calls).where(relay_calls.c.id == call_id).values(**values))


async def done(conn: Conn, call_id: int) -> None:
    await conn.execute(delete(relay_calls).where(relay_calls.c.id == call_id))
