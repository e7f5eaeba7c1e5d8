"""Teams (system-wide when ``space_id`` is None, else of one space), their members, and the roles they
hold (scoped user roles). Also the one query that answers what roles a user holds through their teams."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.sql import ColumnElement

from argonaut.store.common import Conflict, conflict_if_taken, name_key, paged
from argonaut.store.connection import Conn
from argonaut.store.tables import scoped_user_roles, team_members, teams, user_roles, users
from argonaut.store.timeutil import utcnow


def _taken(name: str) -> str:
    return f"A team named '{name}' already exists. Please choose a different name."


async def _name_free(conn: Conn, space_id: int | None, name: str, team_id: int | None) -> None:
    same_space = teams.c.space_id.is_(None) if space_id is None else teams.c.space_id == space_id
    query = select(teams.c.id).where(same_space, teams.c.name_key == name_key(name))
    found = (await conn.execute(query)).first()
    if found is not None and int(found[0]) != team_id:
        raise Conflict(_taken(name))


async def create_team(
    conn: Conn,
    space_id: int | None,
    name: str,
    description: str | None,
    can_be_deleted: bool,
    document: Mapping[str, Any],
    by: str,
) -> int:
    await _name_free(conn, space_id, name, None)
    with conflict_if_taken(_taken(name)):
        result = await conn.execute(
            insert(teams).values(
                space_id=space_id,
                name=name.strip(),
                name_key=name_key(name),
                description=description,
                can_be_deleted=can_be_deleted,
                document=dict(document),
                last_modified_on=utcnow(),
                last_modified_by=by,
            )
        )
    return int(result.inserted_primary_key[0])  # type: ignore[index]


async def update_team(
    conn: Conn, team_id: int, name: str, description: str | None, document: Mapping[str, Any], by: str
) -> None:
    row = await get(conn, team_id)
    assert row is not None
    await _name_free(conn, row["space_id"], name, team_id)
    await conn.execute(
        update(teams)
        .where(teams.c.id == team_id)
        .values(
            name=name.strip(),
            name_key=name_key(name),
            description=description,
            document=dict(document),
            last_modified_on=utcnow(),
            last_modified_by=by,
        )
    )


async def get(conn: Conn, team_id: int) -> RowMapping | None:
    return (await conn.execute(select(teams).where(teams.c.id == team_id))).mappings().first()


async def find(conn: Conn, space_id: int | None, name: str) -> RowMapping | None:
    same_space = teams.c.space_id.is_(None) if space_id is None else teams.c.space_id == space_id
    query = select(teams).where(same_space, teams.c.name_key == name_key(name))
    return (await conn.execute(query)).mappings().first()


async def list_teams(
    conn: Conn, space_id: int | None, include_system: bool, skip: int, take: int
) -> tuple[int, Sequence[RowMapping]]:
    """A space's teams (with the system teams when asked), or with ``space_id`` None the system teams."""
    where: ColumnElement[bool]
    if space_id is None:
        where = teams.c.space_id.is_(None)
    elif include_system:
        where = (teams.c.space_id == space_id) | teams.c.space_id.is_(None)
    else:
        where = teams.c.space_id == space_id
    return await paged(conn, select(teams).where(where).order_by(teams.c.name_key, teams.c.id), skip, take)


async def delete_team(conn: Conn, team_id: int) -> None:
    await conn.execute(delete(scoped_user_roles).where(scoped_user_roles.c.team_id == team_id))
    await conn.execute(delete(team_members).where(team_members.c.team_id == team_id))
    await conn.execute(delete(teams).where(teams.c.id == team_id))


async def members(conn: Conn, team_id: int) -> list[int]:
    query = (
        select(team_members.c.user_id)
        .where(team_members.c.team_id == team_id)
        .order_by(team_members.c.user_id)
    )
    return [int(r[0]) for r in await conn.execute(query)]


async def set_members(conn: Conn, team_id: int, user_ids: Iterable[int]) -> None:
    wanted = set(user_ids)
    have = set(await members(conn, team_id))
    if have - wanted:
        await conn.execute(
            delete(team_members).where(
                team_members.c.team_id == team_id, team_members.c.user_id.in_(have - wanted)
            )
        )
    for user_id in sorted(wanted - have):
        await conn.execute(insert(team_members).values(team_id=team_id, user_id=user_id))


async def existing_users(conn: Conn, user_ids: Iterable[int]) -> set[int]:
    ids = list(user_ids)
    if not ids:
        return set()
    return {int(r[0]) for r in await conn.execute(select(users.c.id).where(users.c.id.in_(ids)))}


async def teams_of_user(conn: Conn, user_id: int) -> list[RowMapping]:
    query = (
        select(teams)
        .join(team_members, team_members.c.team_id == teams.c.id)
        .where(team_members.c.user_id == user_id)
        .order_by(teams.c.name_key, teams.c.id)
    )
    return list((await conn.execute(query)).mappings())


async def create_scoped_role(
    conn: Conn, team_id: int, role_id: int, space_id: int | None, scope: Mapping[str, list[str]]
) -> int:
    result = await conn.execute(
        insert(scoped_user_roles).values(
            team_id=team_id, user_role_id=role_id, space_id=space_id, **_scope(scope)
        )
    )
    return int(result.inserted_primary_key[0])  # type: ignore[index]


def _scope(scope: Mapping[str, list[str]]) -> dict[str, list[str]]:
    keys = ("project_ids", "environment_ids", "project_group_ids", "tenant_ids")
    return {k: list(scope.get(k, [])) for k in keys}


async def update_scoped_role(
    conn: Conn, scoped_id: int, role_id: int, space_id: int | None, scope: Mapping[str, list[str]]
) -> None:
    await conn.execute(
        update(scoped_user_roles)
        .where(scoped_user_roles.c.id == scoped_id)
        .values(user_role_id=role_id, space_id=space_id, **_scope(scope))
    )


async def get_scoped_role(conn: Conn, scoped_id: int) -> RowMapping | None:
    query = select(scoped_user_roles).where(scoped_user_roles.c.id == scoped_id)
    return (await conn.execute(query)).mappings().first()


async def scoped_roles_of_team(conn: Conn, team_id: int) -> list[RowMapping]:
    query = (
        select(scoped_user_roles)
        .where(scoped_user_roles.c.team_id == team_id)
        .order_by(scoped_user_roles.c.id)
    )
    return list((await conn.execute(query)).mappings())


async def delete_scoped_role(conn: Conn, scoped_id: int) -> None:
    await conn.execute(delete(scoped_user_roles).where(scoped_user_roles.c.id == scoped_id))


async def roles_of_user(conn: Conn, user_id: int) -> list[RowMapping]:
    """Every scoped role the user holds through a team, with the role's permissions."""
    query = (
        select(
            scoped_user_roles.c.team_id,
            scoped_user_roles.c.space_id,
            scoped_user_roles.c.project_ids,
            scoped_user_roles.c.environment_ids,
            scoped_user_roles.c.project_group_ids,
            scoped_user_roles.c.tenant_ids,
            user_roles.c.space_permissions,
            user_roles.c.system_permissions,
        )
        .join(user_roles, user_roles.c.id == scoped_user_roles.c.user_role_id)
        .join(team_members, team_members.c.team_id == scoped_user_roles.c.team_id)
        .where(team_members.c.user_id == user_id)
    )
    return list((await conn.execute(query)).mappings())


async def set_user_admin(conn: Conn, user_ids: Iterable[int], is_admin: bool) -> None:
    ids = list(user_ids)
    if ids:
        await conn.execute(update(users).where(users.c.id.in_(ids)).values(is_admin=is_admin))


async def admin_user_ids(conn: Conn) -> list[int]:
    return [int(r[0]) for r in await conn.execute(select(users.c.id).where(users.c.is_admin.is_(True)))]
