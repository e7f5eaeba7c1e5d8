"""Authentication and authorization in one dependency: ``Depends(authorize(Permission.X))``.

The API key comes from ``X-Octopus-ApiKey`` (or the ``apikey`` query parameter, as the described system
allows for simple requests), or the caller has logged in and sends its session cookie (``identity.py``).
The space comes from the ``{spaceId}`` path segment, or is the default space
for the unscoped aliases. Verified key hashes are cached, so a request costs one hash and a dict lookup.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from typing import Literal

from fastapi import Path, Request
from sqlalchemy import select
from sqlalchemy.engine import RowMapping

from argonaut.api.errors import ApiError, not_found
from argonaut.api.identity import CSRF_HEADER, SESSION_COOKIE, Identity, identify
from argonaut.api.services import Services
from argonaut.domain.ids import Collection, format_id, parse_id
from argonaut.domain.permissions import EVERYWHERE, Grants, Permission, can_see_space, is_granted, reach
from argonaut.service import projects as project_service
from argonaut.service.permissions import effective_grants
from argonaut.store import spaces_repo, tasks_repo
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


async def _reaches(
    caller: Caller,
    conn: Conn,
    permission: Permission,
    project_id: int | None,
    environment_id: int | None = None,
    project_group_id: int | None = None,
) -> bool:
    """Whether ``permission`` reaches this project (or its group) and environment of the caller's space.

    Decided from the grants on ``caller`` alone, except when only a grant restricted to project groups
    could allow it and the group is not known: then one query reads the project's group. Administrators
    and unrestricted grants never cost a query."""
    project = format_id(Collection.PROJECTS, project_id) if project_id is not None else None
    environment = format_id(Collection.ENVIRONMENTS, environment_id) if environment_id is not None else None
    group = format_id(Collection.PROJECT_GROUPS, project_group_id) if project_group_id is not None else None
    if caller.may(permission, project_id=project, environment_id=environment, project_group_id=group):
        return True
    if project_id is None or project_group_id is not None:
        return False
    if not any(g.permission == permission and g.project_group_ids for g in caller.grants.items):
        return False
    row = (await conn.execute(select(projects.c.project_group_id).where(projects.c.id == project_id))).first()
    return row is not None and caller.may(
        permission,
        project_id=project,
        environment_id=environment,
        project_group_id=format_id(Collection.PROJECT_GROUPS, int(row[0])),
    )


async def require_in_project(
    caller: Caller, conn: Conn, permission: Permission, project_id: int, environment_id: int | None = None
) -> None:
    """403 unless ``permission`` reaches this project (or its group) and environment: the check of grants
    restricted to projects, environments or project groups. Routes call it inside the transaction of the
    change once they know the project, so a refusal rolls the change back."""
    if not await _reaches(caller, conn, permission, project_id, environment_id):
        raise forbidden(permission)


async def require_visible(
    caller: Caller,
    conn: Conn,
    permission: Permission,
    what: str,
    project_id: int | None,
    environment_id: int | None = None,
    project_group_id: int | None = None,
) -> None:
    """404 for ``what`` unless the view ``permission`` reaches its project and environment: a resource of a
    project or environment the caller may not see does not exist for them (as another space's)."""
    if not await _reaches(caller, conn, permission, project_id, environment_id, project_group_id):
        raise not_found(what)


async def visible_project(
    caller: Caller, conn: Conn, id_or_slug: str, permission: Permission = Permission.PROJECT_VIEW
) -> RowMapping:
    """The project a path names (id or slug), or 404 when it is not there or ``permission`` (a view) does
    not reach it. Writes find their project with this, then check their own permission
    (``require_in_project``): a project the caller cannot see is 404, one they see but may not change 403."""
    assert caller.space_id is not None
    row = await project_service.find_project(conn, caller.space_id, id_or_slug)
    group = row["project_group_id"]
    await require_visible(
        caller, conn, permission, id_or_slug, int(row["id"]), None, int(group) if group is not None else None
    )
    return row


@dataclass(frozen=True, slots=True)
class Visible:
    """The projects and environments a view permission reaches, as numbers, for a list's filters;
    ``None``: all of them (nothing to add to the query)."""

    project_ids: frozenset[int] | None = None
    environment_ids: frozenset[int] | None = None

    def projects(self, asked: Sequence[int] | None) -> list[int] | None:
        return _narrow(asked, self.project_ids)

    def environments(self, asked: Sequence[int] | None) -> list[int] | None:
        return _narrow(asked, self.environment_ids)


def _narrow(asked: Sequence[int] | None, allowed: frozenset[int] | None) -> list[int] | None:
    if allowed is None:
        return list(asked) if asked is not None else None
    if asked is None:
        return sorted(allowed)
    return [n for n in asked if n in allowed]


def _numbers(collection: Collection, texts: frozenset[str] | None) -> frozenset[int] | None:
    if texts is None:
        return None
    return frozenset(n for n in (parse_id(collection, t) for t in texts) if n is not None)


async def visible(caller: Caller, conn: Conn, permission: Permission) -> Visible:
    """What a list of ``permission``'s resources may show the caller. No query unless a grant is restricted
    to project groups (their projects are read)."""
    where = reach(caller.grants, permission, caller.space_id)
    if where is EVERYWHERE:
        return Visible()
    project_ids = _numbers(Collection.PROJECTS, where.project_ids)
    groups = _numbers(Collection.PROJECT_GROUPS, where.project_group_ids) or frozenset()
    if project_ids is not None and groups and caller.space_id is not None:
        rows = await conn.execute(
            select(projects.c.id).where(
                projects.c.space_id == caller.space_id, projects.c.project_group_id.in_(sorted(groups))
            )
        )
        project_ids = project_ids | {int(r[0]) for r in rows}
    return Visible(project_ids, _numbers(Collection.ENVIRONMENTS, where.environment_ids))


def restricted(caller: Caller, permission: Permission, space_id: int | None = None) -> bool:
    """Whether ``permission`` reaches only some projects/environments of the space (no query): only then
    need a route find the project and environment of what it serves."""
    space = caller.space_id if space_id is None else space_id
    return reach(caller.grants, permission, space) is not EVERYWHERE


def task_place_matters(caller: Caller, view: Permission, space_id: int, act: Permission | None) -> bool:
    """Whether the project and environment of a task decide if the caller may see it (``view``) and act on
    it (``act``): only when a grant is restricted to some of them (no query either way)."""
    return restricted(caller, view, space_id) or (act is not None and restricted(caller, act, space_id))


async def require_task_visible(
    caller: Caller,
    conn: Conn,
    view: Permission,
    what: str,
    task_id: int,
    space_id: int,
    act: Permission | None = None,
) -> None:
    """404 for ``what`` (a task of ``space_id``, or what belongs to it) unless ``view`` reaches the project
    and environment of its deployment or runbook run; then 403 unless ``act`` (if given) reaches them too.
    A task of no project (ad-hoc script, health check) is seen only through an unrestricted grant of the
    permission in the space. Callers whose grants are unrestricted pay no query."""
    if not task_place_matters(caller, view, space_id, act):
        return
    here = replace(caller, space_id=space_id)  # unscoped /api/tasks/{id}: the task's own space decides
    await require_place_visible(here, conn, view, what, await tasks_repo.task_place(conn, task_id), act)


async def require_place_visible(
    caller: Caller,
    conn: Conn,
    view: Permission,
    what: str,
    place: tuple[int, int] | None,
    act: Permission | None = None,
) -> None:
    """404 for ``what`` unless ``view`` reaches ``place`` (project, environment) of the caller's space, then
    403 unless ``act`` (if given) reaches it too. ``None``: something of no project, seen (or acted on)
    only through an unrestricted grant."""
    if place is None:
        if restricted(caller, view):
            raise not_found(what)
        if act is not None and restricted(caller, act):
            raise forbidden(act)
        return
    await require_visible(caller, conn, view, what, place[0], place[1])
    if act is not None:
        await require_in_project(caller, conn, act, place[0], place[1])


def forbidden(permission: Permission) -> ApiError:
    return ApiError(
        403, f"You do not have permission to perform this action ({permission.value} is missing)."
    )


async def _user(request: Request, svc: Services) -> Identity:
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
    caller = await admit(svc, await _user(request, svc), permission, scope, space_text)
    request.state.audit_caller = caller  # who acted, for the audit trail (api/audit.py)
    return caller


async def admit(
    svc: Services, identity: Identity, permission: Permission, scope: Scope, space_text: str | None
) -> Caller:
    """The caller ``identity`` is, admitted only if it holds ``permission`` in the request's space: what
    ``authorize`` checks, for the routes served outside FastAPI too (``hot_routes.py``)."""
    user_id, username, _ = identity
    grants = svc.grants_cache.get(user_id)
    if grants is None:
        async with svc.store.transaction() as conn:
            grants = await effective_grants(conn, user_id)
        svc.grants_cache[user_id] = grants
    space_id, space_name = await _space(svc, scope, space_text)
    # A space the caller holds nothing in does not exist for them: 404, so ids do not leak across spaces.
    if space_id is not None and not can_see_space(grants, space_id):
        raise not_found(space_text or format_id(Collection.SPACES, space_id))
    # "any": a route whose resource names its own space (unscoped /api/tasks/{id}) checks it itself.
    if scope != "any" and not is_granted(grants, permission, space_id):
        raise forbidden(permission)
    return Caller(user_id, username, grants.is_admin, space_id, space_name, svc, grants)


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
