"""Teams, the roles they hold, and what a user may do.

``/api/teams`` are system teams, ``/api/{spaceId}/teams`` a space's teams (listed with the system teams,
as the described system does); ``/api/teams/{id}`` reaches either. ``/api/teams/{id}/scopeduserroles``
and ``/api/scopeduserroles/{id}`` are the roles a team holds, each in one space (or system-wide, for
system teams only), optionally restricted to projects, environments and project groups.
``/api/users/{id}/permissions`` and ``/api/users/{id}/teams`` answer what a user may do where.

Every team route checks by the team's own space: a team of a space the caller may not see is 404.
A space team may hold only roles without system permissions, so no space manager can make anyone
an administrator.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import Field
from sqlalchemy.engine import RowMapping

from argonaut.api.auth import Caller, authorize, forbidden
from argonaut.api.collections import SkipQuery, envelope, take_query
from argonaut.api.errors import not_found
from argonaut.api.inputs import ApiInput
from argonaut.domain.ids import Collection, format_id, parse_id
from argonaut.domain.paging import Page
from argonaut.domain.permissions import SPACE_PERMISSIONS, Grants, Permission
from argonaut.service import teams as service
from argonaut.service.errors import Invalid
from argonaut.service.permissions import effective_grants
from argonaut.store import roles_repo, spaces_repo, teams_repo
from argonaut.store.common import Refused
from argonaut.store.connection import Conn

router = APIRouter(tags=["Teams"])
_signed_in = authorize(Permission.TEAM_VIEW, "any")  # each route checks by the team's own space
_space_view = authorize(Permission.TEAM_VIEW, "path")
_space_create = authorize(Permission.TEAM_CREATE, "path")


def _id_list() -> Any:
    return Field(default_factory=list, max_length=1000)


class TeamInput(ApiInput):
    Name: str = Field(min_length=1, max_length=200)
    Description: str | None = Field(None, max_length=10_000)
    MemberUserIds: list[str] = _id_list()
    ExternalSecurityGroups: list[Any] = Field(default_factory=list, max_length=100)
    SpaceId: str | None = Field(None, max_length=100)


class ScopedRoleInput(ApiInput):
    TeamId: str | None = Field(None, max_length=100)
    UserRoleId: str = Field(max_length=100)
    SpaceId: str | None = Field(None, max_length=100)
    ProjectIds: list[str] = _id_list()
    EnvironmentIds: list[str] = _id_list()
    ProjectGroupIds: list[str] = _id_list()
    TenantIds: list[str] = _id_list()


def _space_text(space_id: int | None) -> str | None:
    return format_id(Collection.SPACES, space_id) if space_id is not None else None


def _team(row: RowMapping, member_ids: list[int]) -> dict[str, Any]:
    team_id = format_id(Collection.TEAMS, int(row["id"]))
    document = row["document"] or {}
    fixed = not row["can_be_deleted"]
    return {
        "Id": team_id,
        "Name": row["name"],
        "Description": row["description"],
        "MemberUserIds": [format_id(Collection.USERS, u) for u in member_ids],
        "ExternalSecurityGroups": list(document.get("ExternalSecurityGroups", [])),
        "SpaceId": _space_text(row["space_id"]),
        "CanBeDeleted": bool(row["can_be_deleted"]),
        "CanBeRenamed": not fixed,
        "CanChangeRoles": not service.is_administrators(row),
        "CanChangeMembers": True,
        "Links": {
            "Self": f"/api/teams/{team_id}",
            "ScopedUserRoles": f"/api/teams/{team_id}/scopeduserroles",
        },
    }


def _scoped(row: RowMapping) -> dict[str, Any]:
    scoped_id = format_id(Collection.SCOPED_USER_ROLES, int(row["id"]))
    return {
        "Id": scoped_id,
        "TeamId": format_id(Collection.TEAMS, int(row["team_id"])),
        "UserRoleId": format_id(Collection.USER_ROLES, int(row["user_role_id"])),
        "SpaceId": _space_text(row["space_id"]),
        "ProjectIds": list(row["project_ids"] or []),
        "EnvironmentIds": list(row["environment_ids"] or []),
        "ProjectGroupIds": list(row["project_group_ids"] or []),
        "TenantIds": list(row["tenant_ids"] or []),
        "Links": {"Self": f"/api/scopeduserroles/{scoped_id}"},
    }


def _check(caller: Caller, permission: Permission, space_id: int, what: str) -> None:
    """404 for a team of a space the caller may not see; 403 lacking ``permission`` there."""
    caller.require_space(space_id, what)
    if not caller.may(permission, space_id=space_id):
        raise forbidden(permission)


def _system_check(grants: Grants, permission: Permission) -> bool:
    # A system team needs the permission held system-wide (a space grant does not reach system teams).
    return grants.is_admin or any(g.permission == permission and g.space_id is None for g in grants.items)


async def _load_team(
    caller: Caller, conn: Conn, team_id: str, permission: Permission, request: Request | None = None
) -> RowMapping:
    """The team, checked against its own space; reached through ``/api/{spaceId}/teams/{id}``, a team of
    another space (or a space the caller may not see) is 404 too (system teams show in every space)."""
    number = parse_id(Collection.TEAMS, team_id)
    row = await teams_repo.get(conn, number) if number is not None else None
    path_space = request.path_params.get("spaceId") if request is not None else None
    if row is not None and path_space is not None:
        space_number = parse_id(Collection.SPACES, str(path_space))
        if space_number is None:
            raise not_found(str(path_space))
        caller.require_space(space_number, str(path_space))
        if row["space_id"] is not None and int(row["space_id"]) != space_number:
            row = None
    if row is None:
        raise not_found(team_id)
    if row["space_id"] is None:
        if permission != Permission.TEAM_VIEW and not _system_check(caller.grants, permission):
            raise forbidden(permission)
        if permission == Permission.TEAM_VIEW and not caller.grants.items and not caller.is_admin:
            raise forbidden(permission)
    else:
        _check(caller, permission, int(row["space_id"]), team_id)
    return row


def _user_ids(texts: list[str]) -> list[int]:
    out: list[int] = []
    for text in texts:
        number = parse_id(Collection.USERS, text)
        if number is None:
            raise Invalid(f"MemberUserIds: '{text}' is not a user id like Users-1")
        out.append(number)
    return out


def _ids(field: str, collection: Collection, texts: list[str]) -> list[str]:
    out: list[str] = []
    for text in texts:
        number = parse_id(collection, text)
        if number is None:
            raise Invalid(f"{field}: '{text}' is not an id like {collection.value}-1")
        out.append(format_id(collection, number))
    return sorted(set(out))


async def _space_of(conn: Conn, text: str | None) -> int | None:
    if not text:
        return None
    number = parse_id(Collection.SPACES, text)
    if number is None or await spaces_repo.get(conn, number) is None:
        raise Invalid(f"SpaceId: '{text}' is not a space")
    return number


async def _team_out(conn: Conn, row: RowMapping) -> dict[str, Any]:
    return _team(row, await teams_repo.members(conn, int(row["id"])))


async def _list(caller: Caller, space_id: int | None, skip: int, take: int, path: str) -> dict[str, Any]:
    async with caller.services.store.transaction() as conn:
        total, rows = await teams_repo.list_teams(conn, space_id, True, skip, take)
        items = [await _team_out(conn, r) for r in rows]
    return envelope("Team", items, Page(skip, take, total), path)


@router.get("/api/teams", summary="List the system teams")
async def list_system_teams(
    caller: Caller = Depends(_signed_in), skip: int = SkipQuery, take: int = take_query(30)
) -> dict[str, Any]:
    if not _system_check(caller.grants, Permission.TEAM_VIEW):
        raise forbidden(Permission.TEAM_VIEW)
    return await _list(caller, None, skip, take, "/api/teams")


@router.get("/api/{spaceId}/teams", summary="List a space's teams, with the system teams")
async def list_space_teams(
    caller: Caller = Depends(_space_view), skip: int = SkipQuery, take: int = take_query(30)
) -> dict[str, Any]:
    assert caller.space_id is not None
    return await _list(caller, caller.space_id, skip, take, f"/api/{_space_text(caller.space_id)}/teams")


async def _create(caller: Caller, space_id: int | None, body: TeamInput) -> dict[str, Any]:
    members = _user_ids(body.MemberUserIds)
    async with caller.services.store.transaction() as conn:
        number = await teams_repo.create_team(
            conn,
            space_id,
            body.Name,
            body.Description,
            True,
            {"ExternalSecurityGroups": body.ExternalSecurityGroups},
            caller.username,
        )
        row = await teams_repo.get(conn, number)
        assert row is not None
        await service.set_members(conn, row, members)
        team_id = format_id(Collection.TEAMS, number)
        await service.audit(
            conn, "Created", f"team {body.Name}", team_id, caller.user_id, caller.username, space_id
        )
        return await _team_out(conn, row)


@router.post("/api/teams", status_code=201, summary="Create a team (system-wide, or in the body's SpaceId)")
async def create_team(body: TeamInput, caller: Caller = Depends(_signed_in)) -> dict[str, Any]:
    async with caller.services.store.transaction() as conn:
        space_id = await _space_of(conn, body.SpaceId)
    if space_id is None:
        if not _system_check(caller.grants, Permission.TEAM_CREATE):
            raise forbidden(Permission.TEAM_CREATE)
    else:
        _check(caller, Permission.TEAM_CREATE, space_id, body.SpaceId or "")
    return await _create(caller, space_id, body)


@router.post("/api/{spaceId}/teams", status_code=201, summary="Create a team of the space")
async def create_space_team(body: TeamInput, caller: Caller = Depends(_space_create)) -> dict[str, Any]:
    return await _create(caller, caller.space_id, body)


@router.get("/api/teams/{id}", summary="Get a team")
@router.get("/api/{spaceId}/teams/{id}", summary="Get a team", include_in_schema=False)
async def get_team(request: Request, id: str, caller: Caller = Depends(_signed_in)) -> dict[str, Any]:  # noqa: A002
    async with caller.services.store.transaction() as conn:
        return await _team_out(conn, await _load_team(caller, conn, id, Permission.TEAM_VIEW, request))


@router.put("/api/teams/{id}", summary="Change a team: name, description, members")
@router.put("/api/{spaceId}/teams/{id}", summary="Change a team", include_in_schema=False)
async def update_team(
    request: Request,
    id: str,  # noqa: A002
    body: TeamInput,
    caller: Caller = Depends(_signed_in),
) -> dict[str, Any]:
    members = _user_ids(body.MemberUserIds)
    async with caller.services.store.transaction() as conn:
        row = await _load_team(caller, conn, id, Permission.TEAM_EDIT, request)
        if not row["can_be_deleted"] and body.Name.strip() != row["name"]:
            raise Refused(f"The team '{row['name']}' cannot be renamed")
        number = int(row["id"])
        await teams_repo.update_team(
            conn,
            number,
            body.Name,
            body.Description,
            {"ExternalSecurityGroups": body.ExternalSecurityGroups},
            caller.username,
        )
        await service.set_members(conn, row, members)
        await service.audit(
            conn, "Modified", f"team {body.Name}", id, caller.user_id, caller.username, row["space_id"]
        )
        fresh = await teams_repo.get(conn, number)
        assert fresh is not None
        return await _team_out(conn, fresh)


@router.delete("/api/teams/{id}", summary="Delete a team")
@router.delete("/api/{spaceId}/teams/{id}", summary="Delete a team", include_in_schema=False)
async def delete_team(request: Request, id: str, caller: Caller = Depends(_signed_in)) -> dict[str, Any]:  # noqa: A002
    async with caller.services.store.transaction() as conn:
        row = await _load_team(caller, conn, id, Permission.TEAM_DELETE, request)
        if not row["can_be_deleted"]:
            raise Refused(f"The team '{row['name']}' cannot be deleted")
        await teams_repo.delete_team(conn, int(row["id"]))
        await service.audit(
            conn, "Deleted", f"team {row['name']}", id, caller.user_id, caller.username, row["space_id"]
        )
    return {}


@router.get("/api/teams/{id}/scopeduserroles", summary="The roles a team holds")
async def list_scoped_roles(
    id: str,  # noqa: A002
    caller: Caller = Depends(_signed_in),
    skip: int = SkipQuery,
    take: int = take_query(30),
) -> dict[str, Any]:
    async with caller.services.store.transaction() as conn:
        row = await _load_team(caller, conn, id, Permission.TEAM_VIEW)
        rows = await teams_repo.scoped_roles_of_team(conn, int(row["id"]))
    items = [_scoped(r) for r in rows]
    return envelope(
        "ScopedUserRole",
        items[skip : skip + take],
        Page(skip, take, len(items)),
        f"/api/teams/{id}/scopeduserroles",
    )


async def _checked_scope(
    caller: Caller, conn: Conn, team: RowMapping, body: ScopedRoleInput
) -> tuple[int, int | None, dict[str, list[str]]]:
    role_number = parse_id(Collection.USER_ROLES, body.UserRoleId)
    role = await roles_repo.get(conn, role_number) if role_number is not None else None
    if role is None:
        raise Invalid(f"UserRoleId: '{body.UserRoleId}' is not a user role")
    space_id = await _space_of(conn, body.SpaceId)
    if team["space_id"] is not None:
        if space_id is None:
            space_id = int(team["space_id"])
        if space_id != team["space_id"]:
            raise Invalid("SpaceId: a space team holds roles in its own space only")
        if role["system_permissions"]:
            raise Invalid(f"The role '{role['name']}' has system permissions; only a system team may hold it")
    if space_id is not None:
        _check(caller, Permission.TEAM_EDIT, space_id, body.SpaceId or "")
    elif not _system_check(caller.grants, Permission.TEAM_EDIT):
        raise forbidden(Permission.TEAM_EDIT)
    scope = {
        "project_ids": _ids("ProjectIds", Collection.PROJECTS, body.ProjectIds),
        "environment_ids": _ids("EnvironmentIds", Collection.ENVIRONMENTS, body.EnvironmentIds),
        "project_group_ids": _ids("ProjectGroupIds", Collection.PROJECT_GROUPS, body.ProjectGroupIds),
        "tenant_ids": sorted(set(body.TenantIds)),
    }
    if space_id is None and any(scope.values()):
        raise Invalid("A role held system-wide cannot be restricted to projects, environments or tenants")
    return int(role["id"]), space_id, scope


@router.post("/api/teams/{id}/scopeduserroles", status_code=201, summary="Give a team a role")
@router.post("/api/scopeduserroles", status_code=201, summary="Give a team a role (TeamId in the body)")
async def create_scoped_role(
    body: ScopedRoleInput,
    caller: Caller = Depends(_signed_in),
    id: str | None = None,  # noqa: A002
) -> dict[str, Any]:
    team_text = id or body.TeamId
    if not team_text:
        raise Invalid("TeamId: a team is required")
    async with caller.services.store.transaction() as conn:
        team = await _load_team(caller, conn, team_text, Permission.TEAM_EDIT)
        if service.is_administrators(team):
            raise Refused("The roles of the Octopus Administrators team cannot be changed")
        role_id, space_id, scope = await _checked_scope(caller, conn, team, body)
        number = await teams_repo.create_scoped_role(conn, int(team["id"]), role_id, space_id, scope)
        scoped_id = format_id(Collection.SCOPED_USER_ROLES, number)
        await service.audit(
            conn,
            "Created",
            f"scoped user role {scoped_id} of team {team['name']}",
            scoped_id,
            caller.user_id,
            caller.username,
            space_id,
        )
        row = await teams_repo.get_scoped_role(conn, number)
    assert row is not None
    return _scoped(row)


async def _load_scoped(
    caller: Caller, conn: Conn, scoped_id: str, permission: Permission
) -> tuple[RowMapping, RowMapping]:
    number = parse_id(Collection.SCOPED_USER_ROLES, scoped_id)
    row = await teams_repo.get_scoped_role(conn, number) if number is not None else None
    if row is None:
        raise not_found(scoped_id)
    team = await _load_team(caller, conn, format_id(Collection.TEAMS, int(row["team_id"])), permission)
    return row, team


@router.get("/api/scopeduserroles/{id}", summary="Get a role a team holds")
async def get_scoped_role(id: str, caller: Caller = Depends(_signed_in)) -> dict[str, Any]:  # noqa: A002
    async with caller.services.store.transaction() as conn:
        row, _ = await _load_scoped(caller, conn, id, Permission.TEAM_VIEW)
    return _scoped(row)


@router.put("/api/scopeduserroles/{id}", summary="Change a role a team holds")
async def update_scoped_role(
    id: str, body: ScopedRoleInput, caller: Caller = Depends(_signed_in)
) -> dict[str, Any]:  # noqa: A002
    async with caller.services.store.transaction() as conn:
        row, team = await _load_scoped(caller, conn, id, Permission.TEAM_EDIT)
        if service.is_administrators(team):
            raise Refused("The roles of the Octopus Administrators team cannot be changed")
        role_id, space_id, scope = await _checked_scope(caller, conn, team, body)
        await teams_repo.update_scoped_role(conn, int(row["id"]), role_id, space_id, scope)
        await service.audit(
            conn,
            "Modified",
            f"scoped user role {id} of team {team['name']}",
            id,
            caller.user_id,
            caller.username,
            space_id,
        )
        fresh = await teams_repo.get_scoped_role(conn, int(row["id"]))
    assert fresh is not None
    return _scoped(fresh)


@router.delete("/api/scopeduserroles/{id}", summary="Take a role from a team")
async def delete_scoped_role(id: str, caller: Caller = Depends(_signed_in)) -> dict[str, Any]:  # noqa: A002
    async with caller.services.store.transaction() as conn:
        row, team = await _load_scoped(caller, conn, id, Permission.TEAM_EDIT)
        if service.is_administrators(team):
            raise Refused("The roles of the Octopus Administrators team cannot be changed")
        await teams_repo.delete_scoped_role(conn, int(row["id"]))
        await service.audit(
            conn,
            "Deleted",
            f"scoped user role {id} of team {team['name']}",
            id,
            caller.user_id,
            caller.username,
            row["space_id"],
        )
    return {}


def _may_read_user(caller: Caller, user_number: int) -> None:
    if user_number != caller.user_id and not _system_check(caller.grants, Permission.TEAM_VIEW):
        raise forbidden(Permission.TEAM_VIEW)


def _user_number(text: str) -> int:
    number = parse_id(Collection.USERS, text)
    if number is None:
        raise not_found(text)
    return number


@router.get("/api/users/{id}/permissions", summary="What a user may do where (UserPermissionSetResource)")
async def user_permissions(id: str, caller: Caller = Depends(_signed_in)) -> dict[str, Any]:  # noqa: A002
    # ``me`` lets a client (the portal's shell) ask at once, beside /users/me, instead of after it.
    number = caller.user_id if id.lower() == "me" else _user_number(id)
    _may_read_user(caller, number)
    async with caller.services.store.transaction() as conn:
        if not await teams_repo.existing_users(conn, [number]):
            raise not_found(id)
        grants = await effective_grants(conn, number)
        user_teams = await teams_repo.teams_of_user(conn, number)
        _, spaces = await spaces_repo.list_spaces(conn, 0, 2**31 - 1, None, None)
    space_permissions: dict[str, list[dict[str, Any]]] = {}
    system_permissions: set[str] = set()
    if grants.is_admin:
        for permission in sorted(SPACE_PERMISSIONS):
            space_permissions[permission.value] = [_entry(int(s["id"]), None) for s in spaces]
        system_permissions = {p.value for p in Permission}
    for grant in sorted(grants.items, key=lambda g: (g.permission.value, g.space_id or 0)):
        if grant.permission in SPACE_PERMISSIONS:
            targets = [int(s["id"]) for s in spaces] if grant.space_id is None else [grant.space_id]
            for space_id in targets:
                entry = _entry(space_id, grant)
                bucket = space_permissions.setdefault(grant.permission.value, [])
                if entry not in bucket:
                    bucket.append(entry)
        else:
            system_permissions.add(grant.permission.value)
    return {
        "Id": format_id(Collection.USERS, number),
        "SpacePermissions": space_permissions,
        "SystemPermissions": sorted(system_permissions),
        "Teams": [
            {
                "Id": format_id(Collection.TEAMS, int(t["id"])),
                "Name": t["name"],
                "SpaceId": _space_text(t["space_id"]),
            }
            for t in user_teams
        ],
        "IsPermissionsComplete": True,
        "Links": {"Self": f"/api/users/{format_id(Collection.USERS, number)}/permissions"},
    }


def _entry(space_id: int, grant: Any) -> dict[str, Any]:
    return {
        "SpaceId": format_id(Collection.SPACES, space_id),
        "RestrictedToProjectIds": sorted(grant.project_ids) if grant is not None else [],
        "RestrictedToEnvironmentIds": sorted(grant.environment_ids) if grant is not None else [],
        "RestrictedToProjectGroupIds": sorted(grant.project_group_ids) if grant is not None else [],
        "RestrictedToTenantIds": sorted(grant.tenant_ids) if grant is not None else [],
    }


@router.get("/api/users/{id}/teams", summary="The teams a user belongs to")
async def user_teams(
    id: str,  # noqa: A002
    caller: Caller = Depends(_signed_in),
    spaces: str | None = Query(
        None, max_length=1000, description="Only teams of these spaces (and system teams)"
    ),
) -> list[dict[str, Any]]:
    number = _user_number(id)
    _may_read_user(caller, number)
    async with caller.services.store.transaction() as conn:
        if not await teams_repo.existing_users(conn, [number]):
            raise not_found(id)
        rows = await teams_repo.teams_of_user(conn, number)
    wanted = {s.strip().lower() for s in spaces.split(",")} if spaces else None
    out = []
    for row in rows:
        text = _space_text(row["space_id"])
        if wanted is not None and text is not None and text.lower() not in wanted:
            continue
        out.append({"Id": format_id(Collection.TEAMS, int(row["id"])), "Name": row["name"], "SpaceId": text})
    return out
