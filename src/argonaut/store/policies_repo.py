"""Machine policies; the space's default policy cannot be deleted."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, select

from argonaut.domain.policies import default_document
from argonaut.store.common import Refused
from argonaut.store.connection import Conn
from argonaut.store.named import SpaceScoped, new_row
from argonaut.store.tables import machine_policies, workers

_policies = SpaceScoped(
    machine_policies,
    "machine policy",
    # The default first.
    order_by=(machine_policies.c.is_default.desc(), machine_policies.c.name_key),
)
get = _policies.get
find_by_name = _policies.find_by_name
default_policy = _policies.default
list_policies = _policies.page


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
        new_row(
            space_id,
            name,
            by,
            description=description,
            is_default=is_default,
            document=document if document is not None else default_document(),
        ),
    )


async def update_policy(conn: Conn, space_id: int, policy_id: int, values: dict[str, Any], by: str) -> None:
    await _policies.save(conn, space_id, policy_id, values, by)


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
