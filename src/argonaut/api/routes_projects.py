"""``/api/{spaceId}/projects``: projects, found by id or slug. Creating one also creates its deployment
process, variable set and Default channel (``service/projects.py``)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from argonaut.api import resources_projects as shapes
from argonaut.api.auth import Caller, Scope, authorize, require_in_project, visible_project
from argonaut.api.collections import add_named_list_routes
from argonaut.api.inputs_projects import ProjectInput, sent
from argonaut.domain.ids import Collection
from argonaut.domain.permissions import Permission
from argonaut.service import projects
from argonaut.store import projects_repo


def build(scope: Scope) -> APIRouter:
    router = APIRouter(tags=["Projects"])
    view = authorize(Permission.PROJECT_VIEW, scope)
    create = authorize(Permission.PROJECT_CREATE, scope)
    edit = authorize(Permission.PROJECT_EDIT, scope)
    remove = authorize(Permission.PROJECT_DELETE, scope)

    add_named_list_routes(
        router,
        segment="projects",
        item_type="Project",
        collection=Collection.PROJECTS,
        default_take=30,
        view=view,
        lister=projects_repo.list_projects,
        shape=shapes.project,
        noun="projects",
        seen_as="projects",
        seen_with=Permission.PROJECT_VIEW,
    )

    @router.post(
        "/projects",
        status_code=201,
        summary="Create a project with its deployment process, variable set and Default channel; "
        "ProjectGroupId and LifecycleId default to the space's defaults",
    )
    async def create_project(body: ProjectInput, caller: Caller = Depends(create)) -> dict[str, Any]:
        assert caller.space_id is not None
        async with caller.services.store.transaction() as conn:
            number = await projects.create_project(conn, caller.space_id, sent(body), caller.username)
            row = await projects_repo.get_project(conn, caller.space_id, number)
        assert row is not None
        return shapes.project(row)

    @router.get("/projects/{id}", summary="Get a project by id or slug")
    async def get_project(id: str, caller: Caller = Depends(view)) -> dict[str, Any]:  # noqa: A002
        assert caller.space_id is not None
        async with caller.services.store.transaction() as conn:
            return shapes.project(await visible_project(caller, conn, id))

    @router.put("/projects/{id}", summary="Modify a project; fields left out are kept")
    async def update_project(id: str, body: ProjectInput, caller: Caller = Depends(edit)) -> dict[str, Any]:  # noqa: A002
        assert caller.space_id is not None
        async with caller.services.store.transaction() as conn:
            project = await visible_project(caller, conn, id)
            await require_in_project(caller, conn, Permission.PROJECT_EDIT, int(project["id"]))
            await projects.update_project(conn, caller.space_id, project, sent(body), caller.username)
            row = await projects_repo.get_project(conn, caller.space_id, int(project["id"]))
        assert row is not None
        return shapes.project(row)

    @router.delete(
        "/projects/{id}", summary="Delete a project with its process, variables, channels and releases"
    )
    async def delete_project(id: str, caller: Caller = Depends(remove)) -> dict[str, Any]:  # noqa: A002
        assert caller.space_id is not None
        async with caller.services.store.transaction() as conn:
            project = await visible_project(caller, conn, id)
            await require_in_project(caller, conn, Permission.PROJECT_DELETE, int(project["id"]))
            await projects.delete_project(conn, caller.space_id, project)
        return shapes.project(project)

    return router
