"""User roles: the built-in ones (seeded, read-only through the API) and custom ones."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.engine import RowMapping

from argonaut.store.common import Conflict, conflict_if_taken, name_key
from argonaut.store.connection import Conn
from argonaut.store.tables import user_roles
from argonaut.store.timeutil import utcnow


def _taken(name: str) -> str:
    return f"A user role named '{name}' already exists. Please choose a different name."


async def create_role(
    conn: Conn,
    name: str,
    description: str | None,
    space_permissions: Sequence[str],
    system_permissions: Sequence[str],
    is_built_in: bool,
    by: str,
) -> int:
    if await find_by_name(conn, name) is not None:
        raise Conflict(_taken(name))
    with conflict_if_taken(_taken(name)):
        result = await conn.execute(
            insert(user_roles).values(
                name=name.strip(),
                name_key=name_key(name),
                description=description,
                space_permissions=sorted(space_permissions),
                system_permissions=sorted(system_permissions),
                is_built_in=is_built_in,
                last_modified_on=utcnow(),
                last_modified_by=by,
            )
        )
    return int(result.inserted_primary_key[0])  # type: ignore[index]


async def update_role(
    conn: Conn,
    role_id: int,
    name: str,
    description: str | None,
    space_permissions: Sequence[str],
    system_permissions: Sequence[str],
    by: str,
) -> None:
    other = await find_by_name(conn, name)
    if other is not None and int(other["id"]) != role_id:
        raise Conflict(_taken(name))
    with conflict_if_taken(_taken(name)):
        await conn.execute(
            update(user_roles)
            .where(user_roles.c.id == role_id)
            .values(
                name=name.strip(),
                name_key=name_key(name),
                description=description,
                space_permissions=sorted(space_permissions),
                system_permissions=sorted(system_permissions),
                last_modified_on=utcnow(),
                last_modified_by=by,
            )
        )


async def find_by_name(conn: Conn, name: str) -> RowMapping | None:
    query = select(user_roles).where(user_roles.c.name_key == name_key(name))
    return (await conn.execute(query)).mappings().first()


async def get(conn: Conn, role_id: int) -> RowMapping | None:
    return (await conn.execute(select(user_roles).where(user_roles.c.id == role_id))).mappings().first()


async def list_roles(conn: Conn, skip: int, take: int) -> tuple[int, list[RowMapping]]:
    total = int((await conn.execute(select(func.count()).select_from(user_roles))).scalar_one())
    query = select(user_roles).order_by(user_roles.c.name_key).offset(skip).limit(take)
    return total, list((await conn.execute(query)).mappings())


async def delete_role(conn: Conn, role_id: int) -> None:
    await conn.execute(delete(user_roles).where(user_roles.c.id == role_id))
