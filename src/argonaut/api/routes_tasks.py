"""``/api/{spaceId}/tasks`` and ``/api/tasks/{id}``: queue tasks, read their state and logs, cancel them.

Beside the described system's ``details`` and ``raw`` views there is ``stream``: newline-delimited JSON
of log lines as they happen, ending with the finished task. It is how the CLI follows a script live, and
why a client learns of completion the moment it happens instead of at its next poll. All three read
the log out of the store page by page as they send it (``task_logs.py``), so a big log never stalls
the node.

Every task resource these routes answer carries ``PendingReason``: why an unfinished task still waits
(the task cap, a busy worker, a person, a child task), computed for unfinished tasks only
(``service/pending_reasons.py``), so a page of finished tasks costs nothing more. The list filters by
``project`` and ``environment`` as the described system's does.

A task of a deployment or runbook run belongs to that run's project and environment: a caller whose
TaskView is restricted sees (and, with TaskCancel there, cancels) only tasks that reach them; a task of no
project (ad-hoc script, health check) only through an unrestricted grant in the space.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, PlainTextResponse, StreamingResponse
from sqlalchemy.engine import RowMapping
from starlette.types import Scope as AsgiScope

from argonaut.api import resources, task_logs
from argonaut.api.audit import change_event
from argonaut.api.auth import (
    Caller,
    Scope,
    authorize,
    forbidden,
    require_task_visible,
    restricted,
    task_place_matters,
    visible,
)
from argonaut.api.collections import IdsQuery, SkipQuery, envelope, parse_ids, split_list, take_query
from argonaut.api.errors import bad_request, not_found
from argonaut.api.task_inputs import DESCRIPTIONS, TaskCreate, check_task_name, task_arguments
from argonaut.domain.ids import Collection, format_id, parse_id
from argonaut.domain.paging import Page
from argonaut.domain.permissions import Permission
from argonaut.domain.tasks import TaskState
from argonaut.service.pending_reasons import pending_reasons
from argonaut.store import tasks_repo
from argonaut.store.connection import Conn


def _states(values: list[str] | None) -> list[str] | None:
    texts = split_list(values)
    if texts is None:
        return None
    known = {s.value.lower(): s.value for s in TaskState}
    wrong = [t for t in texts if t.lower() not in known]
    if wrong:
        raise bad_request(f"states: '{wrong[0]}' is not one of {', '.join(known.values())}")
    return [known[t.lower()] for t in texts]


def _filter_places(
    places: tuple[list[int] | None, list[int] | None] | None,
    project: str | None,
    environment: str | None,
) -> tuple[list[int] | None, list[int] | None] | None:
    """The caller's visible places narrowed to the project and environment asked for (Octopus's
    ``project`` and ``environment`` filters): a task of no project matches neither."""
    if project is None and environment is None:
        return places
    projects, environments = places if places is not None else (None, None)
    for text, collection, name in (
        (project, Collection.PROJECTS, "project"),
        (environment, Collection.ENVIRONMENTS, "environment"),
    ):
        if text is None:
            continue
        number = parse_id(collection, text)
        if number is None:
            raise bad_request(f"{name}: '{text}' is not an id like {collection.value}-1")
        if collection is Collection.PROJECTS:
            projects = [number] if projects is None or number in projects else []
        else:
            environments = [number] if environments is None or number in environments else []
    return projects, environments


async def load_task(
    caller: Caller,
    scope: Scope,
    task_id: str,
    permission: Permission = Permission.TASK_VIEW,
    running: bool = False,
) -> RowMapping:
    """The task ``task_id`` names, once the caller may see it (404) and hold ``permission`` on it (403).

    ``running``: a row as claimed will do when the task runs on this node (what a follower needs; its
    state and times may have moved on), which costs no statement."""
    number = parse_id(Collection.SERVER_TASKS, task_id)
    svc = caller.services
    row = svc.queue.running_row(number) if running and number is not None else None
    if row is None and number is not None:
        async with svc.store.single() as conn:
            row = await tasks_repo.get(conn, number)
    # Unscoped /api/tasks/{id} reaches a task in any space: ids are global, as in the described system.
    if row is None or (scope == "path" and row["space_id"] != caller.space_id):
        raise not_found(task_id)
    space_id = int(row["space_id"])
    if scope == "default":
        caller.require_space(space_id, task_id)
        if not caller.may(permission, space_id=space_id):
            raise forbidden(permission)
    # A task of a project or environment the caller may not see is 404; one they see but may not cancel
    # 403. Unrestricted grants cost no query (the stream's hot path).
    act = permission if permission != Permission.TASK_VIEW else None
    if task_place_matters(caller, Permission.TASK_VIEW, space_id, act):
        async with svc.store.single() as conn:
            await require_task_visible(
                caller, conn, Permission.TASK_VIEW, task_id, int(row["id"]), space_id, act
            )
    return row


async def queue_task(caller: Caller, body: TaskCreate, asgi_scope: AsgiScope) -> dict[str, Any]:
    """Queue the task ``body`` asks for in the caller's space; its resource. Every check comes before the
    insert, so a refusal has written nothing; the audit event of the request (``asgi_scope``) is written
    with the task."""
    assert caller.space_id is not None
    if body.SpaceId and parse_id(Collection.SPACES, body.SpaceId) != caller.space_id:
        raise bad_request(f"SpaceId '{body.SpaceId}' does not match the space of this route")
    task_type = check_task_name(body.Name)
    svc = caller.services

    def event(row: Mapping[Any, Any]) -> dict[str, Any] | None:
        return change_event(asgi_scope, resources.task(row, None))

    # The task and its event are written together (no task without its event): on PostgreSQL in one
    # statement, so no transaction is needed around the checks that read (see create_task).
    async with svc.store.single() as conn:
        arguments = await task_arguments(conn, caller.space_id, task_type, body.Arguments)
        description = body.Description or DESCRIPTIONS[task_type]
        row = await tasks_repo.create_task(
            conn, caller.space_id, task_type.value, description, arguments, event
        )
    svc.queue.wake()
    # No PendingReason in this answer: the task was queued this instant and the queue is woken now, so
    # there is nothing to explain yet, and working it out (three statements in a transaction of its
    # own) was a fifth of a script's server time. GET /tasks/{id} says why it waits, if it does.
    return resources.task(row, None)


def build(scope: Scope) -> APIRouter:  # noqa: C901 - a route factory; each route inside is simple
    router = APIRouter(tags=["Tasks"])
    view = authorize(Permission.TASK_VIEW, scope)
    create = authorize(Permission.TASK_CREATE, scope)
    # The unscoped /api/tasks/{id} routes reach a task of any space: they admit any signed-in user and
    # ``load`` decides by the task's own space (404 where the caller may not see it, 403 lacking the right).
    item_scope: Scope = "any" if scope == "default" else scope
    view_item = authorize(Permission.TASK_VIEW, item_scope)
    cancel_perm = authorize(Permission.TASK_CANCEL, item_scope)

    async def shown(caller: Caller, conn: Conn, rows: list[RowMapping]) -> list[dict[str, Any]]:
        """Task resources with their PendingReason (computed for unfinished tasks only)."""
        svc = caller.services
        reasons = await pending_reasons(conn, rows, svc.queue, svc.settings.node_offline_after_s)
        return [resources.task(r, reasons.get(int(r["id"]))) for r in rows]

    async def one(caller: Caller, row: RowMapping) -> dict[str, Any]:
        async with caller.services.store.transaction() as conn:
            return (await shown(caller, conn, [row]))[0]

    async def snapshot_of(caller: Caller, task_id: str) -> task_logs.LogSnapshot:
        row = await load(caller, task_id)
        snap = await task_logs.snapshot(caller.services, int(row["id"]))
        if snap is None:
            raise not_found(task_id)
        return snap

    async def load(caller: Caller, task_id: str, permission: Permission = Permission.TASK_VIEW) -> RowMapping:
        return await load_task(caller, scope, task_id, permission)

    @router.get("/tasks", summary="List tasks, newest first (paged)")
    async def list_tasks(
        caller: Caller = Depends(view),
        skip: int = SkipQuery,
        take: int = take_query(30),
        ids: list[str] | None = IdsQuery,
        states: list[str] | None = Query(None, description="Task states, repeated or comma-separated"),
        name: str | None = Query(None, max_length=50, description="Task type, e.g. AdHocScript"),
        project: str | None = Query(None, max_length=50, description="Only tasks of this project"),
        environment: str | None = Query(None, max_length=50, description="Only tasks in this environment"),
    ) -> dict[str, Any]:
        numbers = parse_ids(Collection.SERVER_TASKS, ids)
        async with caller.services.store.transaction() as conn:
            places = None
            if restricted(caller, Permission.TASK_VIEW):  # only tasks of the projects/environments it reaches
                seen = await visible(caller, conn, Permission.TASK_VIEW)
                places = (seen.projects(None), seen.environments(None))
            places = _filter_places(places, project, environment)
            total, rows = await tasks_repo.list_tasks(
                conn, caller.space_id, skip, take, _states(states), numbers, name, places
            )
            items = await shown(caller, conn, list(rows))
        path = f"/api/{format_id(Collection.SPACES, caller.space_id or 0)}/tasks"
        return envelope(
            "Task",
            items,
            Page(skip, take, total),
            path,
            {"states": states, "name": name, "project": project, "environment": environment},
        )

    @router.post("/tasks", status_code=201, summary="Queue a task (AdHocScript runs a script on workers)")
    async def create_task(
        body: TaskCreate, request: Request, caller: Caller = Depends(create)
    ) -> dict[str, Any]:
        return await queue_task(caller, body, request.scope)

    @router.get("/tasks/{id}", summary="Get a task")
    async def get_task(id: str, caller: Caller = Depends(view_item)) -> dict[str, Any]:  # noqa: A002
        return await one(caller, await load(caller, id))

    @router.get(
        "/tasks/{id}/details",
        summary="A task with its activity tree and log elements",
        response_class=JSONResponse,
        responses={200: {"content": {"application/json": {"schema": {"type": "object"}}}}},
    )
    async def details(
        id: str,  # noqa: A002
        caller: Caller = Depends(view_item),
        verbose: bool = Query(False),
        tail: int | None = Query(
            None, ge=0, le=1_000_000, description="Only the last N log elements per activity"
        ),
    ) -> StreamingResponse:
        snap = await snapshot_of(caller, id)
        if TaskState(snap.task["state"]).is_completed:
            reason = None  # a finished task waits for nothing: no statement on the common path
        else:
            async with caller.services.store.transaction() as conn:
                svc = caller.services
                reasons = await pending_reasons(
                    conn, [snap.task], svc.queue, svc.settings.node_offline_after_s
                )
            reason = reasons.get(snap.task_id)
        body = task_logs.details_json(caller.services, snap, verbose, tail, reason)
        return StreamingResponse(body, media_type="application/json")

    @router.get("/tasks/{id}/raw", summary="The task log as plain text", response_class=PlainTextResponse)
    async def raw(id: str, caller: Caller = Depends(view_item)) -> StreamingResponse:  # noqa: A002
        snap = await snapshot_of(caller, id)
        return StreamingResponse(task_logs.raw_text(caller.services, snap), media_type="text/plain")

    @router.post("/tasks/{id}/cancel", summary="Cancel a queued or running task")
    async def cancel(id: str, caller: Caller = Depends(cancel_perm)) -> dict[str, Any]:  # noqa: A002
        row = await load(caller, id, Permission.TASK_CANCEL)
        await caller.services.queue.cancel(int(row["id"]))
        return await one(caller, await load(caller, id))

    @router.get("/tasks/{id}/stream", summary="Follow a task: NDJSON log lines, then the finished task")
    async def stream(
        id: str,  # noqa: A002
        caller: Caller = Depends(view_item),
        since: int = Query(0, ge=0, le=2147483647, description="First log line number to send"),
    ) -> StreamingResponse:
        row = await load_task(caller, scope, id, running=True)
        return StreamingResponse(
            task_logs.follow(caller.services, row, since), media_type="application/x-ndjson"
        )

    return router
