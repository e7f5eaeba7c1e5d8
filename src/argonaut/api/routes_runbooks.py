"""``/runbooks`` and ``/runbookProcesses``: a project's runbooks, and each runbook's process, read and
written whole with ``Version`` as optimistic concurrency through the deployment processes' service.
Creating a runbook also creates its process (``service/runbooks.py``)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query
from sqlalchemy.engine import RowMapping

from argonaut.api import resources_runbooks as shapes
from argonaut.api.auth import (
    Caller,
    Scope,
    authorize,
    require_in_project,
    require_visible,
    visible,
    visible_project,
)
from argonaut.api.collections import (
    IdsQuery,
    PartialNameQuery,
    SkipQuery,
    envelope,
    parse_ids,
    space_path,
    take_query,
)
from argonaut.api.crud import SpaceResources
from argonaut.api.errors import bad_request, not_found
from argonaut.api.inputs_projects import ProcessInput, sent
from argonaut.api.inputs_runbooks import RunbookInput
from argonaut.domain.ids import Collection, format_id
from argonaut.domain.paging import MAX_TAKE, Page
from argonaut.domain.permissions import Permission
from argonaut.service import processes, runbooks
from argonaut.store import runbooks_repo
from argonaut.store.connection import Conn


def _tenants_refused(fields: dict[str, Any]) -> None:
    mode = fields.get("MultiTenancyMode")
    if mode not in (None, "", "Untenanted"):
        raise bad_request(f"MultiTenancyMode '{mode}' is not supported: this server has no tenants")


_RUNBOOKS = SpaceResources(Collection.RUNBOOKS, runbooks_repo.get_runbook, shapes.runbook)


async def _runbook(caller: Caller, conn: Conn, id: str) -> RowMapping:  # noqa: A002
    """A runbook by id or name, or 404 when RunbookView does not reach its project."""
    assert caller.space_id is not None
    row = await runbooks.find_runbook(conn, caller.space_id, id)
    await require_visible(caller, conn, Permission.RUNBOOK_VIEW, id, int(row["project_id"]))
    return row


async def _process(caller: Caller, conn: Conn, id: str) -> RowMapping:  # noqa: A002
    """A runbook process (or a snapshot's copy) by id, or 404 when RunbookView does not reach its project."""
    assert caller.space_id is not None
    row = await processes.find_process(conn, caller.space_id, id, runbook=True)
    await require_visible(caller, conn, Permission.RUNBOOK_VIEW, id, int(row["project_id"]))
    return row


def build(scope: Scope) -> APIRouter:  # noqa: C901 - a route factory; each route inside is simple
    router = APIRouter(tags=["Runbooks"])
    view = authorize(Permission.RUNBOOK_VIEW, scope)
    edit = authorize(Permission.RUNBOOK_EDIT, scope)

    @router.get("/runbooks", summary="List runbooks (paged, 30 per page by default)")
    async def list_runbooks(
        caller: Caller = Depends(view),
        skip: int = SkipQuery,
        take: int = take_query(30),
        ids: list[str] | None = IdsQuery,
        partialName: str | None = PartialNameQuery,  # noqa: N803 - the described system's parameter name
        projectIds: list[str] | None = Query(None),  # noqa: N803
    ) -> dict[str, Any]:
        assert caller.space_id is not None
        project_ids = parse_ids(Collection.PROJECTS, projectIds, "projectIds")
        async with caller.services.store.transaction() as conn:
            seen = await visible(caller, conn, Permission.RUNBOOK_VIEW)
            total, rows = await runbooks_repo.list_runbooks(
                conn,
                caller.space_id,
                skip,
                take,
                parse_ids(Collection.RUNBOOKS, ids),
                partialName,
                seen.projects(project_ids),
            )
        items = [shapes.runbook(r) for r in rows]
        query = {"partialName": partialName}
        return envelope(
            "Runbook", items, Page(skip, take, total), f"{space_path(caller.space_id)}/runbooks", query
        )

    @router.get("/runbooks/all", summary="All runbooks as a plain array")
    async def all_runbooks(
        caller: Caller = Depends(view), ids: list[str] | None = IdsQuery
    ) -> list[dict[str, Any]]:
        assert caller.space_id is not None
        async with caller.services.store.transaction() as conn:
            seen = await visible(caller, conn, Permission.RUNBOOK_VIEW)
            _, rows = await runbooks_repo.list_runbooks(
                conn,
                caller.space_id,
                0,
                MAX_TAKE,
                parse_ids(Collection.RUNBOOKS, ids),
                project_ids=seen.projects(None),
            )
        return [shapes.runbook(r) for r in rows]

    @router.post("/runbooks", status_code=201, summary="Create a runbook with its runbook process")
    async def create_runbook(body: RunbookInput, caller: Caller = Depends(edit)) -> dict[str, Any]:
        assert caller.space_id is not None
        fields = sent(body)
        _tenants_refused(fields)
        async with caller.services.store.transaction() as conn:
            number = await runbooks.create_runbook(conn, caller.space_id, fields, caller.username)
            # Checked on what was created (the project named by id or slug); a refusal rolls it back.
            row = await _runbook(caller, conn, format_id(Collection.RUNBOOKS, number))
            await require_in_project(caller, conn, Permission.RUNBOOK_EDIT, int(row["project_id"]))
            return await _RUNBOOKS.resource(conn, caller, number)

    @router.get("/runbooks/{id}", summary="Get a runbook")
    async def get_runbook(id: str, caller: Caller = Depends(view)) -> dict[str, Any]:  # noqa: A002
        assert caller.space_id is not None
        async with caller.services.store.transaction() as conn:
            return shapes.runbook(await _runbook(caller, conn, id))

    @router.put(
        "/runbooks/{id}",
        summary="Modify a runbook; fields left out are kept; "
        "PublishedRunbookSnapshotId publishes one of its snapshots",
    )
    async def update_runbook(id: str, body: RunbookInput, caller: Caller = Depends(edit)) -> dict[str, Any]:  # noqa: A002
        assert caller.space_id is not None
        fields = sent(body)
        _tenants_refused(fields)
        async with caller.services.store.transaction() as conn:
            runbook = await _runbook(caller, conn, id)
            await require_in_project(caller, conn, Permission.RUNBOOK_EDIT, int(runbook["project_id"]))
            await runbooks.update_runbook(conn, caller.space_id, runbook, fields, caller.username)
            return await _RUNBOOKS.resource(conn, caller, int(runbook["id"]))

    @router.delete("/runbooks/{id}", summary="Delete a runbook with its process, snapshots and runs")
    async def delete_runbook(id: str, caller: Caller = Depends(edit)) -> dict[str, Any]:  # noqa: A002
        assert caller.space_id is not None
        async with caller.services.store.transaction() as conn:
            runbook = await _runbook(caller, conn, id)
            await require_in_project(caller, conn, Permission.RUNBOOK_EDIT, int(runbook["project_id"]))
            await runbooks.delete_runbook(conn, caller.space_id, runbook)
        return shapes.runbook(runbook)

    @router.get("/projects/{projectId}/runbooks", summary="A project's runbooks (paged)")
    async def project_runbooks(
        projectId: str,  # noqa: N803
        caller: Caller = Depends(view),
        skip: int = SkipQuery,
        take: int = take_query(30),
        partialName: str | None = PartialNameQuery,  # noqa: N803
    ) -> dict[str, Any]:
        assert caller.space_id is not None
        async with caller.services.store.transaction() as conn:
            project = await visible_project(caller, conn, projectId, Permission.RUNBOOK_VIEW)
            total, rows = await runbooks_repo.list_runbooks(
                conn, caller.space_id, skip, take, partial_name=partialName, project_ids=[int(project["id"])]
            )
        path = f"{space_path(caller.space_id)}/projects/{projectId}/runbooks"
        items = [shapes.runbook(r) for r in rows]
        return envelope("Runbook", items, Page(skip, take, total), path, {"partialName": partialName})

    # --- Runbook processes ------------------------------------------------------------------------------

    async def project_process(caller: Caller, conn: Conn, project_id: str, process_id: str) -> RowMapping:
        assert caller.space_id is not None
        project = await visible_project(caller, conn, project_id, Permission.RUNBOOK_VIEW)
        process = await processes.find_process(conn, caller.space_id, process_id, runbook=True)
        if process["project_id"] != project["id"]:
            raise not_found(process_id)
        return process

    async def save(caller: Caller, process: RowMapping, body: ProcessInput, conn: Conn) -> dict[str, Any]:
        assert caller.space_id is not None
        await require_in_project(caller, conn, Permission.RUNBOOK_EDIT, int(process["project_id"]))
        saved = await processes.update_process(
            conn, caller.space_id, process, sent(body), caller.services.secrets, caller.username
        )
        return shapes.runbook_process(saved)

    @router.get("/runbookProcesses/{id}", summary="Get a runbook process or a snapshot's frozen copy of one")
    async def get_process(id: str, caller: Caller = Depends(view)) -> dict[str, Any]:  # noqa: A002
        assert caller.space_id is not None
        async with caller.services.store.transaction() as conn:
            return shapes.runbook_process(await _process(caller, conn, id))

    @router.put(
        "/runbookProcesses/{id}",
        summary="Replace a runbook process's steps; Version must be the one read (stale: 400)",
    )
    async def update_process(id: str, body: ProcessInput, caller: Caller = Depends(edit)) -> dict[str, Any]:  # noqa: A002
        assert caller.space_id is not None
        async with caller.services.store.transaction() as conn:
            return await save(caller, await _process(caller, conn, id), body, conn)

    @router.get("/projects/{projectId}/runbookProcesses/{id}", summary="Get a project's runbook process")
    async def get_project_process(projectId: str, id: str, caller: Caller = Depends(view)) -> dict[str, Any]:  # noqa: A002, N803
        assert caller.space_id is not None
        async with caller.services.store.transaction() as conn:
            return shapes.runbook_process(await project_process(caller, conn, projectId, id))

    @router.put(
        "/projects/{projectId}/runbookProcesses/{id}",
        summary="Replace a project's runbook process; Version must be the one read (stale: 400)",
    )
    async def update_project_process(
        projectId: str,  # noqa: N803
        id: str,  # noqa: A002
        body: ProcessInput,
        caller: Caller = Depends(edit),
    ) -> dict[str, Any]:
        assert caller.space_id is not None
        async with caller.services.store.transaction() as conn:
            return await save(caller, await project_process(caller, conn, projectId, id), body, conn)

    return router
