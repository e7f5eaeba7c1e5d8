"""``/api/{spaceId}/tasks`` and ``/api/tasks/{id}``: queue tasks, read their state and logs, cancel them.

Beside the described system's ``details`` and ``raw`` views there is ``stream``: newline-delimited JSON
of log lines as they happen, ending with the finished task. It is how the CLI follows a script live, and
why a client learns of completion the moment it happens instead of at its next poll.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import PlainTextResponse, StreamingResponse
from sqlalchemy.engine import RowMapping

from argonaut.api import resources
from argonaut.api.auth import Caller, Scope, authorize
from argonaut.api.collections import IdsQuery, SkipQuery, envelope, parse_ids, split_list, take_query
from argonaut.api.errors import bad_request, not_found
from argonaut.api.services import Services
from argonaut.api.task_inputs import DESCRIPTIONS, TaskCreate, check_task_name, task_arguments
from argonaut.domain.ids import Collection, format_id, parse_id
from argonaut.domain.paging import Page
from argonaut.domain.permissions import Permission
from argonaut.domain.tasks import TaskState
from argonaut.orchestrator.events import Completed
from argonaut.store import tasks_repo
from argonaut.store.tasks_repo import LogRow


def _states(values: list[str] | None) -> list[str] | None:
    texts = split_list(values)
    if texts is None:
        return None
    known = {s.value.lower(): s.value for s in TaskState}
    wrong = [t for t in texts if t.lower() not in known]
    if wrong:
        raise bad_request(f"states: '{wrong[0]}' is not one of {', '.join(known.values())}")
    return [known[t.lower()] for t in texts]


def _log_element(row: LogRow) -> dict[str, Any]:
    return {
        "Number": row.seq,
        "Category": row.category,
        "OccurredAt": dt.datetime.fromtimestamp(row.occurred, dt.UTC).isoformat(timespec="milliseconds"),
        "MessageText": row.text,
    }


async def _logs_now(
    svc: Services, task_id: int, since: int = 0
) -> tuple[RowMapping | None, list[dict[str, Any]] | None, list[LogRow]]:
    """The task row, its stored lines plus the executing task's unstored ones, and live activities."""
    live = svc.queue.live_log(task_id)
    extra = list(live.unstored()) if live else []
    activities = [dict(a) for a in live.activities] if live else None
    async with svc.store.transaction() as conn:
        task = await tasks_repo.get(conn, task_id)
        rows = await tasks_repo.read_logs(conn, task_id, since)
    seen = {r.seq for r in rows}
    rows.extend(r for r in extra if r.seq >= since and r.seq not in seen)
    rows.sort(key=lambda r: r.seq)
    return task, activities, rows


def _activity_tree(
    activities: list[dict[str, Any]], rows: list[LogRow], tail: int | None
) -> list[dict[str, Any]]:
    nodes = {
        a["Id"]: {**a, "Children": [], "LogElements": [], "ShowAtSummaryLevel": a.get("ParentId") is None}
        for a in activities
    }
    for row in rows:
        node = nodes.get(row.activity)
        if node is not None:
            node["LogElements"].append(_log_element(row))
    roots = []
    for node in nodes.values():
        if tail is not None:
            node["LogElements"] = node["LogElements"][-tail:] if tail > 0 else []
        parent = nodes.get(node.pop("ParentId", None) or "")
        (parent["Children"] if parent else roots).append(node)
    return roots


def _raw_text(task: RowMapping, rows: list[LogRow], activities: list[dict[str, Any]]) -> str:
    names = {a["Id"]: a["Name"] for a in activities}
    lines = [
        f"Task ID:        {format_id(Collection.SERVER_TASKS, task['id'])}",
        f"Related IDs:    {format_id(Collection.SPACES, task['space_id']) if task['space_id'] else ''}",
        f"Task status:    {task['state']}",
        f"Task queued:    {resources.iso(task['queue_time'])}",
        f"Task started:   {resources.iso(task['start_time']) or ''}",
        f"Task completed: {resources.iso(task['completed_time']) or ''}",
        f"Task duration:  {resources.task(task)['Duration'] or ''}",
        f"Server node:    {task['server_node'] or ''}",
        "",
    ]
    current = None
    for row in rows:
        if row.activity != current:
            current = row.activity
            lines.append(f"                    | == {names.get(current, current)} ==")
        stamp = dt.datetime.fromtimestamp(row.occurred, dt.UTC).strftime("%H:%M:%S.%f")[:-3]
        lines.append(f"{stamp}  {row.category:<9} |   {row.text}")
    return "\n".join(lines) + "\n"


def build(scope: Scope) -> APIRouter:  # noqa: C901 - a route factory; each route inside is simple
    router = APIRouter(tags=["Tasks"])
    view = authorize(Permission.TASK_VIEW, scope)
    create = authorize(Permission.TASK_CREATE, scope)
    cancel_perm = authorize(Permission.TASK_CANCEL, scope)

    async def load(caller: Caller, task_id: str) -> RowMapping:
        number = parse_id(Collection.SERVER_TASKS, task_id)
        async with caller.services.store.transaction() as conn:
            row = await tasks_repo.get(conn, number) if number is not None else None
        # Unscoped /api/tasks/{id} reaches a task in any space: ids are global, as in the described system.
        if row is None or (scope == "path" and row["space_id"] != caller.space_id):
            raise not_found(task_id)
        return row

    @router.get("/tasks", summary="List tasks, newest first (paged)")
    async def list_tasks(
        caller: Caller = Depends(view),
        skip: int = SkipQuery,
        take: int = take_query(30),
        ids: list[str] | None = IdsQuery,
        states: list[str] | None = Query(None, description="Task states, repeated or comma-separated"),
        name: str | None = Query(None, max_length=50, description="Task type, e.g. AdHocScript"),
    ) -> dict[str, Any]:
        numbers = parse_ids(Collection.SERVER_TASKS, ids)
        async with caller.services.store.transaction() as conn:
            total, rows = await tasks_repo.list_tasks(
                conn, caller.space_id, skip, take, _states(states), numbers, name
            )
        path = f"/api/{format_id(Collection.SPACES, caller.space_id or 0)}/tasks"
        return envelope(
            "Task",
            [resources.task(r) for r in rows],
            Page(skip, take, total),
            path,
            {"states": states, "name": name},
        )

    @router.post("/tasks", status_code=201, summary="Queue a task (AdHocScript runs a script on workers)")
    async def create_task(body: TaskCreate, caller: Caller = Depends(create)) -> dict[str, Any]:
        assert caller.space_id is not None
        if body.SpaceId and parse_id(Collection.SPACES, body.SpaceId) != caller.space_id:
            raise bad_request(f"SpaceId '{body.SpaceId}' does not match the space of this route")
        task_type = check_task_name(body.Name)
        svc = caller.services
        async with svc.store.transaction() as conn:
            arguments = await task_arguments(conn, caller.space_id, task_type, body.Arguments)
            description = body.Description or DESCRIPTIONS[task_type]
            row = await tasks_repo.create_task(conn, caller.space_id, task_type.value, description, arguments)
        svc.queue.wake()
        return resources.task(row)

    @router.get("/tasks/{id}", summary="Get a task")
    async def get_task(id: str, caller: Caller = Depends(view)) -> dict[str, Any]:  # noqa: A002
        return resources.task(await load(caller, id))

    @router.get("/tasks/{id}/details", summary="A task with its activity tree and log elements")
    async def details(
        id: str,  # noqa: A002
        caller: Caller = Depends(view),
        verbose: bool = Query(False),
        tail: int | None = Query(
            None, ge=0, le=1_000_000, description="Only the last N log elements per activity"
        ),
    ) -> dict[str, Any]:
        row = await load(caller, id)
        fresh, live_activities, rows = await _logs_now(caller.services, int(row["id"]))
        row = fresh or row
        activities = live_activities if live_activities is not None else list(row["activities"])
        if not verbose:
            rows = [r for r in rows if r.category != "Verbose"]
        outputs = [
            {**v, "Value": "********" if v.get("IsSensitive") else v.get("Value")}
            for v in row["output_variables"]
        ]
        finished = TaskState(row["state"]).is_completed
        return {
            "Task": resources.task(row),
            "ActivityLogs": _activity_tree(activities, rows, tail),
            "Progress": {"ProgressPercentage": 100 if finished else 0, "EstimatedTimeRemaining": None},
            "PhysicalLogSize": sum(len(r.text) + 1 for r in rows),
            "OutputVariables": outputs,
        }

    @router.get("/tasks/{id}/raw", summary="The task log as plain text", response_class=PlainTextResponse)
    async def raw(id: str, caller: Caller = Depends(view)) -> PlainTextResponse:  # noqa: A002
        row = await load(caller, id)
        fresh, live_activities, rows = await _logs_now(caller.services, int(row["id"]))
        row = fresh or row
        activities = live_activities if live_activities is not None else list(row["activities"])
        return PlainTextResponse(_raw_text(row, rows, activities))

    @router.post("/tasks/{id}/cancel", summary="Cancel a queued or running task")
    async def cancel(id: str, caller: Caller = Depends(cancel_perm)) -> dict[str, Any]:  # noqa: A002
        row = await load(caller, id)
        await caller.services.queue.cancel(int(row["id"]))
        return resources.task(await load(caller, id))

    @router.get("/tasks/{id}/stream", summary="Follow a task: NDJSON log lines, then the finished task")
    async def stream(
        id: str,  # noqa: A002
        caller: Caller = Depends(view),
        since: int = Query(0, ge=0, le=2147483647, description="First log line number to send"),
    ) -> StreamingResponse:
        row = await load(caller, id)
        return StreamingResponse(
            _follow(caller.services, int(row["id"]), since), media_type="application/x-ndjson"
        )

    return router


async def _follow(svc: Services, task_id: int, since: int) -> AsyncIterator[bytes]:
    queue = svc.events.watch(task_id)  # watch first, so nothing between the snapshot and the queue is lost
    try:
        current, _, rows = await _logs_now(svc, task_id, since)
        next_seq = since
        out = []
        for row in rows:
            out.append(_log_line(row))
            next_seq = row.seq + 1
        final: Any = current if current is None or TaskState(current["state"]).is_completed else None
        while final is None:
            if out:
                yield b"".join(out)
                out = []
            batch = [await queue.get()]
            while not queue.empty():
                batch.append(queue.get_nowait())
            for item in batch:
                if isinstance(item, Completed):
                    final = item.row
                elif item.seq >= next_seq:
                    out.append(_log_line(item))
                    next_seq = item.seq + 1
        if final is not None:
            out.append(_line("Task", Task=resources.task(final)))
        yield b"".join(out)
    finally:
        svc.events.unwatch(task_id, queue)


def _log_line(row: LogRow) -> bytes:
    return _line("Log", **_log_element(row), ActivityId=row.activity)


def _line(kind: str, **fields: Any) -> bytes:
    return json.dumps({"Type": kind, **fields}, separators=(",", ":")).encode() + b"\n"
