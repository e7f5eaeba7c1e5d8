"""Authentication and authorization in one dependency: ``Depends(authorize(Permission.X))``.

The API key comes from ``X-Octopus-ApiKey`` (or the ``apikey`` query parameter, as the described system
allows for simple requests), or the caller has logged in and sends its session cookie (``identity.py``).
The space comes from the ``{spaceId}`` path segment, or is the default space
for the unscoped aliases. Verified key hashes are cached, so a request costs one hash and a dict lookup.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal

from fastapi import Path, Request
from sqlalchemy import select

from argonaut.api.errors import ApiError, not_found
from argonaut.api.identity import CSRF_HEADER, SESSION_COOKIE, identify
from argonaut.api.services import Services
from argonaut.domain.ids import Collection, format_id, parse_id
from argonaut.domain.permissions import Grants, Permission, can_see_space, is_granted
from argonaut.service.permissions import effective_grants
from argonaut.store import spaces_repo
from argonaut.store.connection import Conn
from argonaut.store.tables import projects

API_KEY_HEADER = "X-Octopus-ApiKey"


@dataclass(frozen=True, slots=True)
class Caller:
    user_id: int
    username: str
    is_admin: bool
    space_id: int | None  # None for system routes
    space_name: str | None
    services: Services
    grants: Grants = Grants()  # what the caller may do where; routes that know a project or environment ask

    def may(
        self,
        permission: Permission,
        *,
        space_id: int | None = None,
        project_id: str | None = None,
        environment_id: str | None = None,
        project_group_id: str | None = None,
    ) -> bool:
        space = self.space_id if space_id is None else space_id
        return is_granted(self.grants, permission, space, project_id, environment_id, project_group_id)

    def require(
        self,
        permission: Permission,
        *,
        project_id: str | None = None,
        environment_id: str | None = None,
        project_group_id: str | None = None,
    ) -> None:
        """403 unless the caller holds ``permission`` for this project/environment of the request's space."""
        if not self.may(
            permission,
            project_id=project_id,
            environment_id=environment_id,
            project_group_id=project_group_id,
        ):
            raise forbidden(permission)

    def require_space(self, space_id: int, what: str) -> None:
        """404 for ``what`` (a resource of ``space_id``) when the caller may not see that space."""
        if not can_see_space(self.grants, space_id):
            raise not_found(what)


async def require_in_project(
    caller: Caller, conn: Conn, permission: Permission, project_id: int, environment_id: int | None = None
) -> None:
    """403 unless ``permission`` reaches this project (or its group) and environment: the check of grants
    restricted to projects, environments or project groups. Routes call it inside the transaction of the
    change once they know the project, so a refusal rolls the change back."""
    if caller.grants.is_admin:
        return
    group = (
        await conn.execute(select(projects.c.project_group_id).where(projects.c.id == project_id))
    ).first()
    caller.require(
        permission,
        project_id=format_id(Collection.PROJECTS, project_id),
        environment_id=format_id(Collection.ENVIRONMENTS, environment_id)
        if environment_id is not None
        else None,
        project_group_id=format_id(Collection.PROJECT_GROUPS, int(group[0])) if group is not None else None,
    )


def forbidden(permission: Permission) -> ApiError:
    return ApiError(
        403, f"You do not have permission to perform this action ({permission.value} is missing)."
    )


async def _user(request: Request, svc: Services) -> tuple[int, str, bool]:
    """The caller's (user id, username, is administrator): by API key, else by login session cookie
    (which also needs the CSRF header on state-changing requests); see ``identity.py``."""
    return await identify(
        svc,
        request.headers.get(API_KEY_HEADER) or request.query_params.get("apikey"),
        request.cookies.get(SESSION_COOKIE),
        request.method,
        request.headers.get(CSRF_HEADER),
    )


Scope = Literal["path", "default", "system", "any"]


async def _space(svc: Services, scope: Scope, text: str | None) -> tuple[int | None, str | None]:
    if scope in ("system", "any"):
        return None, None
    key = text.lower() if text is not None else None
    cached = svc.space_cache.get(key)
    if cached is not None:
        return cached
    async with svc.store.transaction() as conn:
        if key is None:
            row = await spaces_repo.default_space(conn)
            if row is None:
                raise ApiError(
                    404, "There is no default space; use a space-scoped route like /api/Spaces-2/..."
                )
        else:
            number = parse_id(Collection.SPACES, key)
            row = await spaces_repo.get(conn, number) if number is not None else None
            if row is None and number is None:
                # The command routes (``/api/{space}/releases/create/v1``) take a space's name too, as the
                # described system's CI integrations send it.
                row = await spaces_repo.find_by_name(conn, text or "")
            if row is None:
                raise not_found(text or "")
    found = (int(row["id"]), str(row["name"]))
    svc.space_cache[key] = found
    return found


async def _admit(request: Request, permission: Permission, scope: Scope, space_text: str | None) -> Caller:
    svc: Services = request.app.state.services
    user_id, username, _ = await _user(request, svc)
    async with svc.store.transaction() as conn:
        grants = await effective_grants(conn, user_id)
    space_id, space_name = await _space(svc, scope, space_text)
    # A space the caller holds nothing in does not exist for them: 404, so ids do not leak across spaces.
    if space_id is not None and not can_see_space(grants, space_id):
        raise not_found(space_text or format_id(Collection.SPACES, space_id))
    # "any": a route whose resource names its own space (unscoped /api/tasks/{id}) checks it itself.
    if scope != "any" and not is_granted(grants, permission, space_id):
        raise forbidden(permission)
    caller = Caller(user_id, username, grants.is_admin, space_id, space_name, svc, grants)
    request.state.audit_caller = caller  # who acted, for the audit trail (api/audit.py)
    return caller


def authorize(permission: Permission, scope: Scope) -> Callable[..., Awaitable[Caller]]:
    """A dependency that admits the caller only if it holds ``permission`` in the request's space.

    ``path`` reads the space from the ``{spaceId}`` segment, ``default`` is the unscoped alias acting on the
    default space, ``system`` is for routes outside any space.
    """
    if scope == "path":

        async def in_space(request: Request, space_id: str = Path(alias="spaceId")) -> Caller:
            return await _admit(request, permission, scope, space_id)

        return in_space

    async def outside(request: Request) -> Caller:
        return await _admit(request, permission, scope, None)

    return outside
