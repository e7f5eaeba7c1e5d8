"""``/runbookSnapshots`` (and their project- and runbook-scoped routes): a runbook's process and its
project's variables frozen together; ``?publish=true`` (or a non-blank ``Publish`` in the body) makes
the new snapshot the runbook's published one (``service/runbook_snapshots.py``)."""

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
    SkipQuery,
    envelope,
    parse_ids,
    space_path,
    take_query,
)
from argonaut.api.inputs_runbooks import SnapshotCreate
from argonaut.domain.ids import Collection, format_id
from argonaut.domain.paging import Page
from argonaut.domain.permissions import Permission
from argonaut.service import processes, runbook_snapshots, runbooks
from argonaut.store import runbooks_repo
from argonaut.store.connection import Conn

PublishQuery = Query(None, description="true: the new snapshot becomes the runbook's published one")


def _publishing(query: bool | None, body: bool | str | None) -> bool:
    """The query's switch, else the body's: any non-blank text publishes, except the word false."""
    if query:
        return True
    if isinstance(body, str):
        return bool(body.strip()) and body.strip().casefold() != "false"
    return body is True


async def _seen(caller: Caller, conn: Conn, what: str, row: RowMapping, change: bool = False) -> RowMapping:
    """``row`` (of a runbook, process or snapshot), or 404 when RunbookView does not reach its project;
    ``change``: also 403 unless RunbookEdit does."""
    project = int(row["project_id"])
    await require_visible(caller, conn, Permission.RUNBOOK_VIEW, what, project)
    if change:
        await require_in_project(caller, conn, Permission.RUNBOOK_EDIT, project)
    return row


def build(scope: Scope) -> APIRouter:  # noqa: C901 - a route factory; each route inside is simple
    router = APIRouter(tags=["RunbookSnapshots"])
    view = authorize(Permission.RUNBOOK_VIEW, scope)
    edit = authorize(Permission.RUNBOOK_EDIT, scope)

    async def create(
        caller: Caller, body: SnapshotCreate, project_id: str | None, publish: bool
    ) -> dict[str, Any]:
        assert caller.space_id is not None
        async with caller.services.store.transaction() as conn:
            runbook = await runbook_snapshots.runbook_to_snapshot(
                conn, caller.space_id, body.RunbookId, project_id
            )
            await _seen(caller, conn, body.RunbookId or "", runbook, change=True)
            row = await runbook_snapshots.create_snapshot(
                conn, caller.space_id, runbook, body.Name, body.Notes, caller.username, publish=publish
            )
        return shapes.snapshot(row)

    @router.post(
        "/runbookSnapshots",
        status_code=201,
        summary="Snapshot a runbook: freezes its process and the project's variables; "
        "?publish=true publishes it",
    )
    async def create_snapshot(
        body: SnapshotCreate, caller: Caller = Depends(edit), publish: bool | None = PublishQuery
    ) -> dict[str, Any]:
        return await create(caller, body, body.ProjectId, _publishing(publish, body.Publish))

    @router.post(
        "/projects/{projectId}/runbookSnapshots",
        status_code=201,
        summary="Snapshot one of the project's runbooks; ?publish=true (or Publish) publishes it",
    )
    async def create_project_snapshot(
        projectId: str,  # noqa: N803
        body: SnapshotCreate,
        caller: Caller = Depends(edit),
        publish: bool | None = PublishQuery,
    ) -> dict[str, Any]:
        assert caller.space_id is not None
        async with caller.services.store.transaction() as conn:
            project = await visible_project(caller, conn, projectId, Permission.RUNBOOK_VIEW)
        project_key = format_id(Collection.PROJECTS, int(project["id"]))
        return await create(caller, body, project_key, _publishing(publish, body.Publish))

    @router.get("/runbookSnapshots", summary="List runbook snapshots, newest first")
    async def list_snapshots(
        caller: Caller = Depends(view),
        skip: int = SkipQuery,
        take: int = take_query(30),
        ids: list[str] | None = IdsQuery,
    ) -> dict[str, Any]:
        assert caller.space_id is not None
        numbers = parse_ids(Collection.RUNBOOK_SNAPSHOTS, ids)
        async with caller.services.store.transaction() as conn:
            seen = await visible(caller, conn, Permission.RUNBOOK_VIEW)
            total, rows = await runbooks_repo.list_snapshots(
                conn, caller.space_id, skip, take, numbers, project_ids=seen.projects(None)
            )
        path = f"{space_path(caller.space_id)}/runbookSnapshots"
        return envelope("RunbookSnapshot", [shapes.snapshot(r) for r in rows], Page(skip, take, total), path)

    @router.get("/runbookSnapshots/{id}", summary="Get a runbook snapshot")
    async def get_snapshot(id: str, caller: Caller = Depends(view)) -> dict[str, Any]:  # noqa: A002
        assert caller.space_id is not None
        async with caller.services.store.transaction() as conn:
            row = await runbook_snapshots.find_snapshot(conn, caller.space_id, id)
            return shapes.snapshot(await _seen(caller, conn, id, row))

    @router.delete(
        "/runbookSnapshots/{id}", summary="Delete a runbook snapshot with its runs (their tasks stay)"
    )
    async def delete_snapshot(id: str, caller: Caller = Depends(edit)) -> dict[str, Any]:  # noqa: A002
        assert caller.space_id is not None
        async with caller.services.store.transaction() as conn:
            row = await runbook_snapshots.find_snapshot(conn, caller.space_id, id)
            await _seen(caller, conn, id, row, change=True)
            await runbook_snapshots.delete_snapshot(conn, row)
        return shapes.snapshot(row)

    @router.get(
        "/projects/{projectId}/runbookSnapshots/{idOrName}",
        summary="A project's runbook snapshot by id or name",
    )
    async def project_snapshot(
        projectId: str,  # noqa: N803
        idOrName: str,  # noqa: N803
        caller: Caller = Depends(view),
    ) -> dict[str, Any]:
        assert caller.space_id is not None
        async with caller.services.store.transaction() as conn:
            project = await visible_project(caller, conn, projectId, Permission.RUNBOOK_VIEW)
            row = await runbook_snapshots.snapshot_in_project(
                conn, caller.space_id, int(project["id"]), idOrName
            )
        return shapes.snapshot(row)

    @router.get("/runbooks/{id}/runbookSnapshots", summary="A runbook's snapshots, newest first")
    async def runbook_snapshot_list(
        id: str,  # noqa: A002
        caller: Caller = Depends(view),
        skip: int = SkipQuery,
        take: int = take_query(30),
    ) -> dict[str, Any]:
        assert caller.space_id is not None
        async with caller.services.store.transaction() as conn:
            runbook = await _seen(caller, conn, id, await runbooks.find_runbook(conn, caller.space_id, id))
            total, rows = await runbooks_repo.list_snapshots(
                conn, caller.space_id, skip, take, runbook_id=int(runbook["id"])
            )
        path = f"{space_path(caller.space_id)}/runbooks/{id}/runbookSnapshots"
        return envelope("RunbookSnapshot", [shapes.snapshot(r) for r in rows], Page(skip, take, total), path)

    @router.get(
        "/runbooks/{id}/runbookSnapshotTemplate",
        summary="The process and next name of a runbook's next snapshot",
    )
    async def snapshot_template(id: str, caller: Caller = Depends(view)) -> dict[str, Any]:  # noqa: A002
        assert caller.space_id is not None
        async with caller.services.store.transaction() as conn:
            runbook = await _seen(caller, conn, id, await runbooks.find_runbook(conn, caller.space_id, id))
            name = await runbook_snapshots.next_name(conn, int(runbook["id"]))
        return shapes.snapshot_template(str(runbook["process_id"]), name)

    @router.get(
        "/runbookProcesses/{id}/runbookSnapshotTemplate",
        summary="The process and next name of the next snapshot of this process's runbook",
    )
    async def process_snapshot_template(id: str, caller: Caller = Depends(view)) -> dict[str, Any]:  # noqa: A002
        assert caller.space_id is not None
        async with caller.services.store.transaction() as conn:
            process = await processes.find_process(conn, caller.space_id, id, runbook=True)
            await _seen(caller, conn, id, process)
            runbook = await runbooks.find_runbook(conn, caller.space_id, str(process["owner_id"]))
            name = await runbook_snapshots.next_name(conn, int(runbook["id"]))
        return shapes.snapshot_template(str(runbook["process_id"]), name)

    return router
