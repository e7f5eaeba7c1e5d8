"""``/api/{spaceId}/projectgroups``: folders of projects; every space has a Default Project Group."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from argonaut.api import resources_projects as shapes
from argonaut.api.auth import Caller, Scope, authorize, visible
from argonaut.api.collections import SkipQuery, add_named_list_routes, envelope, take_query
from argonaut.api.crud import SpaceResources
from argonaut.api.inputs_projects import ProjectGroupInput, sent
from argonaut.domain.ids import Collection, format_id
from argonaut.domain.paging import Page
from argonaut.domain.permissions import Permission
from argonaut.service import projects
from argonaut.store import project_groups_repo, projects_repo

_GROUPS = SpaceResources(Collection.PROJECT_GROUPS, project_groups_repo.get, shapes.project_group)


def build(scope: Scope) -> APIRouter:
    router = APIRouter(tags=["ProjectGroups"])
    view = authorize(Permission.PROJECT_GROUP_VIEW, scope)
    create = authorize(Permission.PROJECT_GROUP_CREATE, scope)
    edit = authorize(Permission.PROJECT_GROUP_EDIT, scope)
    remove = authorize(Permission.PROJECT_GROUP_DELETE, scope)

    add_named_list_routes(
        router,
        segment="projectgroups",
        item_type="ProjectGroup",
        collection=Collection.PROJECT_GROUPS,
        default_take=30,
        view=view,
        lister=project_groups_repo.list_groups,
        shape=shapes.project_group,
        noun="project groups",
    )

    @router.post("/projectgroups", status_code=201, summary="Create a project group")
    async def create_group(body: ProjectGroupInput, caller: Caller = Depends(create)) -> dict[str, Any]:
        assert caller.space_id is not None
        async with caller.services.store.transaction() as conn:
            number = await projects.create_group(conn, caller.space_id, sent(body), caller.username)
            return await _GROUPS.resource(conn, caller, number)

    @router.get("/projectgroups/{id}", summary="Get a project group")
    async def get_group(id: str, caller: Caller = Depends(view)) -> dict[str, Any]:  # noqa: A002
        async with caller.services.store.transaction() as conn:
            return _GROUPS.shape(await _GROUPS.row(conn, caller, id))

    @router.put("/projectgroups/{id}", summary="Modify a project group; fields left out are kept")
    async def update_group(
        id: str, body: ProjectGroupInput, caller: Caller = Depends(edit)
    ) -> dict[str, Any]:  # noqa: A002
        assert caller.space_id is not None
        async with caller.services.store.transaction() as conn:
            number = await _GROUPS.number(conn, caller, id)
            await projects.update_group(conn, caller.space_id, number, sent(body), caller.username)
            return await _GROUPS.resource(conn, caller, number)

    @router.delete("/projectgroups/{id}", summary="Delete an empty project group (not the default)")
    async def delete_group(id: str, caller: Caller = Depends(remove)) -> dict[str, Any]:  # noqa: A002
        assert caller.space_id is not None
        async with caller.services.store.transaction() as conn:
            row = await _GROUPS.row(conn, caller, id)
            number = int(row["id"])
            resource = _GROUPS.shape(row)
            await projects.delete_group(conn, caller.space_id, number)
        return resource

    @router.get("/projectgroups/{id}/projects", summary="The projects of a group (paged)")
    async def group_projects(
        id: str,  # noqa: A002
        caller: Caller = Depends(view),
        skip: int = SkipQuery,
        take: int = take_query(30),
    ) -> dict[str, Any]:
        assert caller.space_id is not None
        async with caller.services.store.transaction() as conn:
            number = await _GROUPS.number(conn, caller, id)
            seen = await visible(caller, conn, Permission.PROJECT_VIEW)
            total, rows = await projects_repo.list_projects(
                conn, caller.space_id, skip, take, seen.projects(None), group_id=number
            )
        sid = format_id(Collection.SPACES, caller.space_id)
        path = f"/api/{sid}/projectgroups/{format_id(Collection.PROJECT_GROUPS, number)}/projects"
        return envelope("Project", [shapes.project(r) for r in rows], Page(skip, take, total), path)

    return router
