"""Teams, user roles and scoped roles: the rules around them, and the built-ins every store holds.

``ensure_built_ins`` runs at every node start (idempotent, no migration): the built-in roles with the
described system's names and permission sets, the system team "Octopus Administrators" holding System
Administrator with every ``users.is_admin`` user in it, and a "Space Managers" team in every space.
Membership of "Octopus Administrators" and ``users.is_admin`` are kept equal by ``set_members``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy.engine import RowMapping

from argonaut.domain.audit import change_details
from argonaut.domain.ids import Collection, format_id
from argonaut.domain.permissions import (
    ADMINISTRATORS_TEAM,
    BUILT_IN_ROLES,
    SPACE_MANAGER,
    SPACE_MANAGERS_TEAM,
    SYSTEM_ADMINISTRATOR,
    Permission,
)
from argonaut.service import events
from argonaut.service.errors import Invalid
from argonaut.store import roles_repo, spaces_repo, teams_repo
from argonaut.store.common import Refused
from argonaut.store.connection import Conn
from argonaut.store.database import BUILT_INS, take_turns

SYSTEM_USER = "system"


async def ensure_built_ins(conn: Conn) -> None:
    await take_turns(conn, BUILT_INS, 0)  # nodes of a cluster starting at once seed one after another
    for role in BUILT_IN_ROLES:
        row = await roles_repo.find_by_name(conn, role.name)
        space = sorted(p.value for p in role.space_permissions)
        system = sorted(p.value for p in role.system_permissions)
        if row is None:
            await roles_repo.create_role(conn, role.name, role.description, space, system, True, SYSTEM_USER)
        elif row["is_built_in"] and (
            sorted(row["space_permissions"]) != space or sorted(row["system_permissions"]) != system
        ):
            await roles_repo.update_role(
                conn, int(row["id"]), role.name, role.description, space, system, SYSTEM_USER
            )
    admins = await teams_repo.find(conn, None, ADMINISTRATORS_TEAM)
    if admins is None:
        team_id = await teams_repo.create_team(
            conn, None, ADMINISTRATORS_TEAM, "Users who can do everything.", False, {}, SYSTEM_USER
        )
        await _hold(conn, team_id, SYSTEM_ADMINISTRATOR, None)
    else:
        team_id = int(admins["id"])
    admin_ids = set(await teams_repo.admin_user_ids(conn))
    members = set(await teams_repo.members(conn, team_id))
    if admin_ids - members:
        await teams_repo.set_members(conn, team_id, members | admin_ids)
    await teams_repo.set_user_admin(conn, members - admin_ids, True)
    _, spaces = await spaces_repo.list_spaces(conn, 0, 2**31 - 1, None, None)
    for space_row in spaces:
        await ensure_space_managers(conn, int(space_row["id"]))


async def _hold(conn: Conn, team_id: int, role_name: str, space_id: int | None) -> None:
    role = await roles_repo.find_by_name(conn, role_name)
    assert role is not None
    await teams_repo.create_scoped_role(conn, team_id, int(role["id"]), space_id, {})


async def ensure_space_managers(conn: Conn, space_id: int) -> None:
    """Every space has its "Space Managers" team holding Space Manager there (created with the space)."""
    if await teams_repo.find(conn, space_id, SPACE_MANAGERS_TEAM) is None:
        team_id = await teams_repo.create_team(
            conn, space_id, SPACE_MANAGERS_TEAM, "Users who can manage this space.", False, {}, SYSTEM_USER
        )
        await _hold(conn, team_id, SPACE_MANAGER, space_id)


async def set_members(conn: Conn, team: RowMapping, user_ids: Iterable[int]) -> None:
    wanted = set(user_ids)
    unknown = wanted - await teams_repo.existing_users(conn, wanted)
    if unknown:
        raise Invalid(f"MemberUserIds: '{format_id(Collection.USERS, min(unknown))}' is not a user")
    team_id = int(team["id"])
    before = set(await teams_repo.members(conn, team_id))
    if is_administrators(team) and not wanted:
        raise Refused("The Octopus Administrators team must keep at least one member")
    await teams_repo.set_members(conn, team_id, wanted)
    if is_administrators(team):
        await teams_repo.set_user_admin(conn, before - wanted, False)
        await teams_repo.set_user_admin(conn, wanted - before, True)


def is_administrators(team: Mapping[Any, Any]) -> bool:
    return team["space_id"] is None and team["name"] == ADMINISTRATORS_TEAM


def check_permissions(space: Sequence[str], system: Sequence[str]) -> None:
    known = {p.value for p in Permission}
    wrong = [p for p in [*space, *system] if p not in known]
    if wrong:
        raise Invalid(f"'{wrong[0]}' is not a permission", [f"'{w}' is not a permission" for w in wrong])


async def audit(
    conn: Conn, category: str, what: str, document_id: str, user_id: int, username: str, space_id: int | None
) -> None:
    """The event of a change to a team, role or scoped role, in the ``ChangeDetails`` shape of every event
    (its differences are not known here: None)."""
    document = {"Id": document_id}
    if space_id is not None:
        document["SpaceId"] = format_id(Collection.SPACES, space_id)
    await events.record(
        conn,
        category,
        f"{category} {what}",
        space_id=space_id,
        user_id=user_id,
        username=username,
        related_document_ids=[document_id],
        change_details=change_details(document, None),
    )
