"""``/api/{spaceId}/projecttriggers`` and ``/projects/{id}/triggers``: runbooks run on a schedule
(``service/triggers.py``); the schedule itself fires in ``orchestrator/trigger_schedule.py``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query
from sqlalchemy.engine import RowMapping

from argonaut.api import resources_triggers as shapes
from argonaut.api.auth import (
    Caller,
    Scope,
    authorize,
    require_in_project,
    require_visible,
    visible,
    visible_project,
)
from argonaut.api.collections import IdsQuery, PartialNameQuery, SkipQuery, envelope, parse_ids, take_query
from argonaut.api.crud import SpaceResources
from argonaut.api.inputs_projects import sent
from argonaut.api.inputs_triggers import TriggerInput
from argonaut.domain.ids import Collection, format_id
from argonaut.domain.paging import Page
from argonaut.domain.permissions import Permission
from argonaut.service import triggers
from argonaut.store import triggers_repo
from argonaut.store.connection import Conn

RunbooksQuery = Query(None, description="Only triggers running these runbooks (ids)")
ProjectIdsQuery = Query(None, description="Only triggers of these projects (ids)")


_TRIGGERS = SpaceResources(Collection.PROJECT_TRIGGERS, triggers_repo.get, shapes.trigger)


async def _trigger(caller: Caller, conn: Conn, id: str, change: Permission | None = None) -> RowMapping:  # noqa: A002
    """A trigger by id, or 404 when TriggerView does not reach its project; ``change``: also 403 unless
    that permission does."""
    assert caller.space_id is not None
    row = await triggers.find_trigger(conn, caller.space_id, id)
    await require_visible(caller, conn, Permission.TRIGGER_VIEW, id, int(row["project_id"]))
    if change is not None:
        await require_in_project(caller, conn, change, int(row["project_id"]))
    return row


def build(scope: Scope) -> APIRouter:
    router = APIRouter(tags=["ProjectTriggers"])
    view = authorize(Permission.TRIGGER_VIEW, scope)
    create = authorize(Permission.TRIGGER_CREATE, scope)
    edit = authorize(Permission.TRIGGER_EDIT, scope)
    remove = authorize(Permission.TRIGGER_DELETE, scope)

    @router.get("/projecttriggers", summary="List project triggers (paged, 30 per page by default)")
    async def list_triggers(
        caller: Caller = Depends(view),
        skip: int = SkipQuery,
        take: int = take_query(30),
        ids: list[str] | None = IdsQuery,
        runbooks: list[str] | None = RunbooksQuery,
        projectIds: list[str] | None = ProjectIdsQuery,  # noqa: N803 - the described system's parameter name
        partialName: str | None = PartialNameQuery,  # noqa: N803
    ) -> dict[str, Any]:
        assert caller.space_id is not None
        numbers = parse_ids(Collection.PROJECT_TRIGGERS, ids)
        runbook_numbers = parse_ids(Collection.RUNBOOKS, runbooks, "runbooks")
        runbook_ids = (
            None if runbook_numbers is None else [format_id(Collection.RUNBOOKS, n) for n in runbook_numbers]
        )
        project_ids = parse_ids(Collection.PROJECTS, projectIds, "projectIds")
        async with caller.services.store.transaction() as conn:
            seen = await visible(caller, conn, Permission.TRIGGER_VIEW)
            total, rows = await triggers_repo.list_triggers(
                conn,
                caller.space_id,
                skip,
                take,
                numbers,
                partialName,
                project_ids=seen.projects(project_ids),
                runbook_ids=runbook_ids,
            )
        path = f"/api/{format_id(Collection.SPACES, caller.space_id)}/projecttriggers"
        query = {"runbooks": runbooks, "projectIds": projectIds, "partialName": partialName}
        page = Page(skip, take, total)
        return envelope("ProjectTrigger", [shapes.trigger(r) for r in rows], page, path, query)

    @router.post(
        "/projecttriggers", status_code=201, summary="Create a trigger that runs a runbook on a schedule"
    )
    async def create_trigger(body: TriggerInput, caller: Caller = Depends(create)) -> dict[str, Any]:
        assert caller.space_id is not None
        async with caller.services.store.transaction() as conn:
            number = await triggers.create_trigger(conn, caller.space_id, sent(body), caller.username)
            # Checked on what was created (its project); a refusal rolls it back.
            created = format_id(Collection.PROJECT_TRIGGERS, number)
            await _trigger(caller, conn, created, Permission.TRIGGER_CREATE)
            return await _TRIGGERS.resource(conn, caller, number)

    @router.get("/projecttriggers/{id}", summary="Get a project trigger")
    async def get_trigger(id: str, caller: Caller = Depends(view)) -> dict[str, Any]:  # noqa: A002
        assert caller.space_id is not None
        async with caller.services.store.transaction() as conn:
            return shapes.trigger(await _trigger(caller, conn, id))

    @router.put("/projecttriggers/{id}", summary="Modify a project trigger; its next run is computed again")
    async def update_trigger(id: str, body: TriggerInput, caller: Caller = Depends(edit)) -> dict[str, Any]:  # noqa: A002
        assert caller.space_id is not None
        async with caller.services.store.transaction() as conn:
            trigger = await _trigger(caller, conn, id, Permission.TRIGGER_EDIT)
            await triggers.update_trigger(conn, caller.space_id, trigger, sent(body), caller.username)
            return await _TRIGGERS.resource(conn, caller, int(trigger["id"]))

    @router.delete("/projecttriggers/{id}", summary="Delete a project trigger")
    async def delete_trigger(id: str, caller: Caller = Depends(remove)) -> dict[str, Any]:  # noqa: A002
        assert caller.space_id is not None
        async with caller.services.store.transaction() as conn:
            trigger = await _trigger(caller, conn, id, Permission.TRIGGER_DELETE)
            await triggers.delete_trigger(conn, caller.space_id, trigger)
        return shapes.trigger(trigger)

    @router.get("/projects/{id}/triggers", summary="The triggers of a project (paged)")
    async def project_triggers(
        id: str,  # noqa: A002
        caller: Caller = Depends(view),
        skip: int = SkipQuery,
        take: int = take_query(30),
        partialName: str | None = PartialNameQuery,  # noqa: N803
    ) -> dict[str, Any]:
        assert caller.space_id is not None
        async with caller.services.store.transaction() as conn:
            project = await visible_project(caller, conn, id, Permission.TRIGGER_VIEW)
            total, rows = await triggers_repo.list_triggers(
                conn, caller.space_id, skip, take, None, partialName, project_ids=[int(project["id"])]
            )
        sid = format_id(Collection.SPACES, caller.space_id)
        path = f"/api/{sid}/projects/{format_id(Collection.PROJECTS, int(project['id']))}/triggers"
        page = Page(skip, take, total)
        return envelope(
            "ProjectTrigger", [shapes.trigger(r) for r in rows], page, path, {"partialName": partialName}
        )

    return router
