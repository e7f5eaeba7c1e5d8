"""``/api/userroles``: the built-in roles (read-only) and custom ones. Anyone signed in may read them;
changing them needs ``UserRoleEdit`` held system-wide."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from pydantic import Field
from sqlalchemy.engine import RowMapping

from argonaut.api.auth import Caller, authorize
from argonaut.api.collections import SkipQuery, envelope, take_query
from argonaut.api.errors import not_found
from argonaut.api.inputs import ApiInput
from argonaut.domain.ids import Collection, format_id, parse_id
from argonaut.domain.paging import Page
from argonaut.domain.permissions import SPACE_PERMISSIONS, SYSTEM_PERMISSIONS, Permission
from argonaut.service import teams as service
from argonaut.service.errors import Invalid
from argonaut.store import roles_repo
from argonaut.store.common import Refused
from argonaut.store.connection import Conn

router = APIRouter(tags=["User roles"])
_view = authorize(Permission.SPACE_VIEW, "system")  # any member of any team
_edit = authorize(Permission.USER_ROLE_EDIT, "system")


class UserRoleInput(ApiInput):
    Name: str = Field(min_length=1, max_length=200)
    Description: str | None = Field(None, max_length=10_000)
    GrantedSpacePermissions: list[str] = Field(default_factory=list, max_length=500)
    GrantedSystemPermissions: list[str] = Field(default_factory=list, max_length=500)


def _role(row: RowMapping) -> dict[str, Any]:
    role_id = format_id(Collection.USER_ROLES, int(row["id"]))
    return {
        "Id": role_id,
        "Name": row["name"],
        "Description": row["description"],
        "SupportedRestrictions": ["ProjectIds", "EnvironmentIds", "ProjectGroupIds", "TenantIds"],
        "GrantedSpacePermissions": sorted(row["space_permissions"] or []),
        "GrantedSystemPermissions": sorted(row["system_permissions"] or []),
        "CanBeDeleted": not row["is_built_in"],
        "IsBuiltIn": bool(row["is_built_in"]),
        "Links": {"Self": f"/api/userroles/{role_id}"},
    }


def _checked(body: UserRoleInput) -> tuple[list[str], list[str]]:
    space_names = {p.value for p in SPACE_PERMISSIONS}
    system_names = {p.value for p in SYSTEM_PERMISSIONS} | space_names  # system teams may hold views too
    wrong = [
        f"GrantedSpacePermissions: '{p}' is not a space permission"
        for p in body.GrantedSpacePermissions
        if p not in space_names
    ]
    wrong += [
        f"GrantedSystemPermissions: '{p}' is not a permission"
        for p in body.GrantedSystemPermissions
        if p not in system_names
    ]
    if wrong:
        raise Invalid(wrong[0], wrong)
    return sorted(set(body.GrantedSpacePermissions)), sorted(set(body.GrantedSystemPermissions))


async def _load(conn: Conn, role_id: str) -> RowMapping:
    number = parse_id(Collection.USER_ROLES, role_id)
    row = await roles_repo.get(conn, number) if number is not None else None
    if row is None:
        raise not_found(role_id)
    return row


@router.get("/api/userroles", summary="List user roles")
async def list_roles(
    caller: Caller = Depends(_view), skip: int = SkipQuery, take: int = take_query(30)
) -> dict[str, Any]:
    async with caller.services.store.transaction() as conn:
        total, rows = await roles_repo.list_roles(conn, skip, take)
    return envelope("UserRole", [_role(r) for r in rows], Page(skip, take, total), "/api/userroles")


@router.get("/api/userroles/{id}", summary="Get a user role")
async def get_role(id: str, caller: Caller = Depends(_view)) -> dict[str, Any]:  # noqa: A002
    async with caller.services.store.transaction() as conn:
        return _role(await _load(conn, id))


@router.post("/api/userroles", status_code=201, summary="Create a custom user role")
async def create_role(body: UserRoleInput, caller: Caller = Depends(_edit)) -> dict[str, Any]:
    space, system = _checked(body)
    async with caller.services.store.transaction() as conn:
        number = await roles_repo.create_role(
            conn, body.Name, body.Description, space, system, False, caller.username
        )
        role_id = format_id(Collection.USER_ROLES, number)
        await service.audit(
            conn, "Created", f"user role {body.Name}", role_id, caller.user_id, caller.username, None
        )
        row = await roles_repo.get(conn, number)
    assert row is not None
    return _role(row)


@router.put("/api/userroles/{id}", summary="Change a custom user role (built-in roles are read-only)")
async def update_role(id: str, body: UserRoleInput, caller: Caller = Depends(_edit)) -> dict[str, Any]:  # noqa: A002
    space, system = _checked(body)
    async with caller.services.store.transaction() as conn:
        row = await _load(conn, id)
        if row["is_built_in"]:
            raise Refused(f"The built-in role '{row['name']}' cannot be changed")
        await roles_repo.update_role(
            conn, int(row["id"]), body.Name, body.Description, space, system, caller.username
        )
        await service.audit(
            conn, "Modified", f"user role {body.Name}", id, caller.user_id, caller.username, None
        )
        fresh = await roles_repo.get(conn, int(row["id"]))
    assert fresh is not None
    return _role(fresh)


@router.delete("/api/userroles/{id}", summary="Delete a custom user role (and every team's hold of it)")
async def delete_role(id: str, caller: Caller = Depends(_edit)) -> dict[str, Any]:  # noqa: A002
    async with caller.services.store.transaction() as conn:
        row = await _load(conn, id)
        if row["is_built_in"]:
            raise Refused(f"The built-in role '{row['name']}' cannot be deleted")
        await roles_repo.delete_role(conn, int(row["id"]))
        await service.audit(
            conn, "Deleted", f"user role {row['name']}", id, caller.user_id, caller.username, None
        )
    return {}
