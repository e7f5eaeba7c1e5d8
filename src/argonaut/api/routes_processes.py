"""``/api/{spaceId}/deploymentprocesses/{id}`` and ``/projects/{id}/deploymentprocesses``: a project's
deployment process, read and written whole with ``Version`` as optimistic concurrency; release
snapshots (``…-s-…``) read the same and refuse writes (``service/processes.py``)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from sqlalchemy.engine import RowMapping

from argonaut.api import resources_projects as shapes
from argonaut.api.auth import Caller, Scope, authorize, require_in_project, require_visible, visible_project
from argonaut.api.inputs_projects import ProcessInput, sent
from argonaut.domain.permissions import Permission
from argonaut.service import processes
from argonaut.store.connection import Conn


async def _project_process(caller: Caller, conn: Conn, project_id: str) -> RowMapping:
    assert caller.space_id is not None
    project = await visible_project(caller, conn, project_id, Permission.PROCESS_VIEW)
    return await processes.find_process(conn, caller.space_id, processes.process_id_of(int(project["id"])))


async def _process(caller: Caller, conn: Conn, id: str) -> RowMapping:  # noqa: A002
    """A process (or a release's snapshot of one) by id; 404 when ProcessView does not reach its project."""
    assert caller.space_id is not None
    row = await processes.find_process(conn, caller.space_id, id)
    await require_visible(caller, conn, Permission.PROCESS_VIEW, id, int(row["project_id"]))
    return row


def build(scope: Scope) -> APIRouter:
    router = APIRouter(tags=["DeploymentProcesses"])
    view = authorize(Permission.PROCESS_VIEW, scope)
    edit = authorize(Permission.PROCESS_EDIT, scope)

    async def save(caller: Caller, process: RowMapping, body: ProcessInput, conn: Conn) -> dict[str, Any]:
        assert caller.space_id is not None
        await require_in_project(caller, conn, Permission.PROCESS_EDIT, int(process["project_id"]))
        saved = await processes.update_process(
            conn, caller.space_id, process, sent(body), caller.services.secrets, caller.username
        )
        return shapes.deployment_process(saved)

    @router.get(
        "/deploymentprocesses/{id}", summary="Get a deployment process or a release's snapshot of one"
    )
    async def get_process(id: str, caller: Caller = Depends(view)) -> dict[str, Any]:  # noqa: A002
        assert caller.space_id is not None
        async with caller.services.store.transaction() as conn:
            return shapes.deployment_process(await _process(caller, conn, id))

    @router.put(
        "/deploymentprocesses/{id}",
        summary="Replace a deployment process's steps; Version must be the one read (stale: 400)",
    )
    async def update_process(id: str, body: ProcessInput, caller: Caller = Depends(edit)) -> dict[str, Any]:  # noqa: A002
        assert caller.space_id is not None
        async with caller.services.store.transaction() as conn:
            return await save(caller, await _process(caller, conn, id), body, conn)

    @router.get("/projects/{id}/deploymentprocesses", summary="Get a project's deployment process")
    async def get_project_process(id: str, caller: Caller = Depends(view)) -> dict[str, Any]:  # noqa: A002
        assert caller.space_id is not None
        async with caller.services.store.transaction() as conn:
            return shapes.deployment_process(await _project_process(caller, conn, id))

    @router.put(
        "/projects/{id}/deploymentprocesses",
        summary="Replace a project's deployment process; Version must be the one read (stale: 400)",
    )
    async def update_project_process(
        id: str,  # noqa: A002
        body: ProcessInput,
        caller: Caller = Depends(edit),
    ) -> dict[str, Any]:
        assert caller.space_id is not None
        async with caller.services.store.transaction() as conn:
            return await save(caller, await _project_process(caller, conn, id), body, conn)

    return router
