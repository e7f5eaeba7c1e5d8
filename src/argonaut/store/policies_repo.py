"""Machine policies; the space's default policy cannot be deleted."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.engine import RowMapping

from argonaut.domain.policies import default_document
from argonaut.store.common import Conflict, Refused, name_key, paged
from argonaut.store.connection import Conn
from argonaut.store.tables import machine_policies, workers
from argonaut.store.timeutil import utcnow


async def create_policy(
    conn: Conn,
    space_id: int,
    name: str,
    description: str | None,
    is_default: bool,
    document: dict[str, Any] | None,
    by: str,
) -> int:
    if await find_by_name(conn, space_id, name) is not None:
        raise Conflict(f"A machine policy named '{name}' already exists in this space")
    if is_default:
        await conn.execute(
            update(machine_policies).where(machine_policies.c.space_id == space_id).values(is_default=False)
        )
    result = await conn.execute(
        insert(machine_policies).values(
            space_id=space_id,
            name=name.strip(),
            name_key=name_key(name),
            description=description,
            is_default=is_default,
            document=document if document is not None else default_document(),
            last_modified_on=utcnow(),
            last_modified_by=by,
        )
    )
    return int(result.inserted_primary_key[0])  # type: ignore[index]


async def find_by_name(conn: Conn, space_id: int, name: str) -> RowMapping | None:
    query = select(machine_policies).where(
        machine_policies.c.space_id == space_id, machine_policies.c.name_key == name_key(name)
    )
    return (await conn.execute(query)).mappings().first()


async def get(conn: Conn, space_id: int, policy_id: int) -> RowMapping | None:
    query = select(machine_policies).where(
        machine_policies.c.space_id == space_id, machine_policies.c.id == policy_id
    )
    return (await conn.execute(query)).mappings().first()


async def default_policy(conn: Conn, space_id: int) -> RowMapping | None:
    query = select(machine_policies).where(
        machine_policies.c.space_id == space_id, machine_policies.c.is_default.is_(True)
    )
    return (await conn.execute(query)).mappings().first()


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
    if ids is not None:
        query = query.where(machine_policies.c.id.in_(ids))
    if partial_name:
        query = query.where(machine_policies.c.name_key.contains(partial_name.casefold(), autoescape=True))
    if name:
        query = query.where(machine_policies.c.name_key == name_key(name))
    return await paged(conn, query, skip, take)


async def update_policy(conn: Conn, space_id: int, policy_id: int, values: dict[str, Any], by: str) -> None:
    if "name" in values:
        other = await find_by_name(conn, space_id, values["name"])
        if other is not None and other["id"] != policy_id:
            raise Conflict(f"A machine policy named '{values['name']}' already exists in this space")
        values["name_key"] = name_key(values["name"])
        values["name"] = values["name"].strip()
    if values.get("is_default") is True:
        await conn.execute(
            update(machine_policies).where(machine_policies.c.space_id == space_id).values(is_default=False)
        )
    elif values.get("is_default") is False:
        current = await get(conn, space_id, policy_id)
        if current is not None and current["is_default"]:
            raise Refused(
                "A space always has a default machine policy: make another policy the default instead"
            )
    values.update(last_modified_on=utcnow(), last_modified_by=by)
    await conn.execute(update(machine_policies).where(machine_policies.c.id == policy_id).values(**values))


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
