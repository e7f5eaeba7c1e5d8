"""Machine policies; the space's default policy cannot be deleted."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.engine import RowMapping

from argonaut.domain.policies import default_document
from argonaut.store.common import Refused, name_key, paged
from argonaut.store.connection import Conn
from argonaut.store.named import SpaceScoped
from argonaut.store.tables import machine_policies, workers
from argonaut.store.timeutil import utcnow

_policies = SpaceScoped(machine_policies, "machine policy")
get = _policies.get
find_by_name = _policies.find_by_name
default_policy = _policies.default


async def create_policy(
    conn: Conn,
    space_id: int,
    name: str,
    description: str | None,
    is_default: bool,
    document: dict[str, Any] | None,
    by: str,
) -> int:
    await _policies.ensure_name_free(conn, space_id, name)
    if is_default:
        await _policies.clear_default(conn, space_id)
    return await _policies.insert(
        conn,
        dict(
            space_id=space_id,
            name=name.strip(),
            name_key=name_key(name),
            description=description,
            is_default=is_default,
            document=document if document is not None else default_document(),
            last_modified_on=utcnow(),
            last_modified_by=by,
        ),
    )


async def list_policies(
    conn: Conn,
    space_id: int,
    skip: int,
    take: int,
    ids: Sequence[int] | None = None,
    partial_name: str | None = None,
    name: str | None = None,
) -> tuple[int, Sequence[RowMapping]]:
    query = (
        select(machine_policies)
        .where(machine_policies.c.space_id == space_id)
        .order_by(machine_policies.c.is_default.desc(), machine_policies.c.name_key)
    )
    return await paged(conn, _policies.filtered(query, ids, partial_name, name), skip, take)


async def update_policy(conn: Conn, space_id: int, policy_id: int, values: dict[str, Any], by: str) -> None:
    await _policies.prepare_update(conn, space_id, policy_id, values)
    values.update(last_modified_on=utcnow(), last_modified_by=by)
    await _policies.update(conn, policy_id, values)


async def delete_policy(conn: Conn, space_id: int, policy_id: int) -> None:
    row = await get(conn, space_id, policy_id)
    if row is None:
        return
    if row["is_default"]:
        raise Refused(f"The default machine policy '{row['name']}' cannot be deleted")
    in_use = (
        await conn.execute(
            select(func.count()).select_from(workers).where(workers.c.machine_policy_id == policy_id)
        )
    ).scalar_one()
    if in_use:
        raise Refused(f"The machine policy '{row['name']}' is used by {in_use} worker(s): move them first")
    await conn.execute(delete(machine_policies).where(machine_policies.c.id == policy_id))
