"""Spaces, the hard-walled tenants. A new space gets its own default pool and default policy."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.engine import RowMapping

from argonaut.store import lifecycles_repo, policies_repo, pools_repo, project_groups_repo
from argonaut.store.common import Conflict, Refused, conflict_if_taken, name_key, paged, slugify
from argonaut.store.connection import Conn
from argonaut.store.hot import hot
from argonaut.store.tables import spaces
from argonaut.store.timeutil import utcnow


async def create_space(conn: Conn, name: str, description: str | None, is_default: bool, by: str) -> int:
    if await find_by_name(conn, name) is not None:
        raise Conflict(_taken(name))
    with conflict_if_taken(_taken(name)):
        result = await conn.execute(
            insert(spaces).values(
                name=name.strip(),
                name_key=name_key(name),
                slug=slugify(name),
                description=description,
                is_default=is_default,
                task_queue_stopped=False,
                last_modified_on=utcnow(),
                last_modified_by=by,
            )
        )
    space_id = int(result.inserted_primary_key[0])  # type: ignore[index]
    await pools_repo.create_pool(conn, space_id, "Default Worker Pool", None, True, by)
    await policies_repo.create_policy(conn, space_id, "Default Machine Policy", None, True, None, by)
    await lifecycles_repo.create_lifecycle(
        conn, space_id, lifecycles_repo.DEFAULT_NAME, None, lifecycles_repo.default_document(), by, True
    )
    await project_groups_repo.create_group(conn, space_id, project_groups_repo.DEFAULT_NAME, None, by, True)
    return space_id


async def find_by_name(conn: Conn, name: str) -> RowMapping | None:
    query = select(spaces).where(spaces.c.name_key == name_key(name))
    return (await conn.execute(query)).mappings().first()


_GET = hot(select(spaces).where(spaces.c.id == bindparam("space_id")))  # every task's space: built once


async def get(conn: Conn, space_id: int) -> RowMapping | None:
    return (await conn.execute(_GET, {"space_id": space_id})).mappings().first()


async def default_space(conn: Conn) -> RowMapping | None:
    return (await conn.execute(select(spaces).where(spaces.c.is_default.is_(True)))).mappings().first()


async def list_spaces(
    conn: Conn,
    skip: int,
    take: int,
    ids: Sequence[int] | None,
    partial_name: str | None,
    name: str | None = None,
) -> tuple[int, Sequence[RowMapping]]:
    query = select(spaces).order_by(spaces.c.name_key)
    if ids is not None:
        query = query.where(spaces.c.id.in_(ids))
    if partial_name:
        query = query.where(spaces.c.name_key.contains(partial_name.casefold(), autoescape=True))
    if name:
        query = query.where(spaces.c.name_key == name_key(name))
    return await paged(conn, query, skip, take)


async def update_space(conn: Conn, space_id: int, values: dict[str, Any], by: str) -> None:
    if "name" in values:
        other = await find_by_name(conn, values["name"])
        if other is not None and other["id"] != space_id:
            raise Conflict(_taken(values["name"]))
        values["name_key"] = name_key(values["name"])
        values["name"] = values["name"].strip()
    if values.get("is_default"):
        await conn.execute(update(spaces).where(spaces.c.id != space_id).values(is_default=False))
    elif values.get("is_default") is False:
        current = await get(conn, space_id)
        if current is not None and current["is_default"]:
            raise Refused("There must always be a default space: make another space the default instead")
    values.update(last_modified_on=utcnow(), last_modified_by=by)
    with conflict_if_taken(_taken(str(values.get("name", "")))):
        await conn.execute(update(spaces).where(spaces.c.id == space_id).values(**values))


def _taken(name: str) -> str:
    return f"A space named '{name}' already exists"


async def delete_space(conn: Conn, space_id: int) -> None:
    row = await get(conn, space_id)
    if row is not None and row["is_default"]:
        raise Refused("The default space cannot be deleted")
    await conn.execute(delete(spaces).where(spaces.c.id == space_id))
