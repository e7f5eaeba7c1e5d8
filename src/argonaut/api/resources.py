"""Rows to resources: the described system's PascalCase shapes, with ``Links`` for navigation."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from argonaut.domain.ids import Collection, format_id
from argonaut.domain.tasks import TaskState, describe_duration
from argonaut.store.timeutil import as_utc, utcnow

Row = Mapping[Any, Any]
"""A stored row as the store answers it (a RowMapping, whose keys may be columns too) or a plain dict."""


def iso(value: dt.datetime | None) -> str | None:
    moment = as_utc(value)
    return moment.isoformat(timespec="milliseconds") if moment else None


def modified(row: Row) -> dict[str, Any]:
    return {"LastModifiedOn": iso(row.get("last_modified_on")), "LastModifiedBy": row.get("last_modified_by")}


def space_scoped_ids(row: Row, collection: Collection) -> tuple[str, str]:
    """``(SpaceId, Id)`` of a row that belongs to a space."""
    return format_id(Collection.SPACES, row["space_id"]), format_id(collection, row["id"])


def named_resource(
    row: Row,
    sid: str,
    rid: str,
    segment: str,
    fields: Mapping[str, Any],
    links: Mapping[str, str | None] | None = None,
    *,
    owner: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The frame every named resource of a space shares, in the described system's key order:
    ``Id, SpaceId, [owner], Name, Slug, Description, [fields], LastModifiedOn, LastModifiedBy`` and
    ``Links`` starting with ``Self`` (``/api/{sid}/{segment}/{rid}``)."""
    return {
        "Id": rid,
        "SpaceId": sid,
        **(owner or {}),
        "Name": row["name"],
        "Slug": row["slug"],
        "Description": row["description"],
        **fields,
        **modified(row),
        "Links": {"Self": f"/api/{sid}/{segment}/{rid}", **(links or {})},
    }


def space(row: Row) -> dict[str, Any]:
    sid = format_id(Collection.SPACES, row["id"])
    return {
        "Id": sid,
        "Name": row["name"],
        "Slug": row["slug"],
        "Description": row["description"],
        "IsDefault": row["is_default"],
        "IsPrivate": False,
        "TaskQueueStopped": row["task_queue_stopped"],
        "SpaceManagersTeams": [],
        "SpaceManagersTeamMembers": [],
        "Icon": None,
        **modified(row),
        "Links": {"Self": f"/api/spaces/{sid}", "SpaceHome": f"/api/{sid}"},
    }


def worker_pool(row: Row) -> dict[str, Any]:
    sid, pid = space_scoped_ids(row, Collection.WORKER_POOLS)
    fields = {
        "IsDefault": row["is_default"],
        "SortOrder": row["sort_order"],
        "WorkerPoolType": row["pool_type"],
        "WorkerType": row["worker_type"],
        "CanAddWorkers": row["pool_type"] == "StaticWorkerPool",
    }
    links = {"Workers": f"/api/{sid}/workerpools/{pid}/workers{{?skip,take}}"}
    return named_resource(row, sid, pid, "workerpools", fields, links)


_LEGACY_STATUS = {
    "Healthy": "Online",
    "HasWarnings": "Online",
    "Unhealthy": "Online",
    "Unavailable": "Offline",
}


def worker(row: Row, pool_ids: Sequence[int]) -> dict[str, Any]:
    sid = format_id(Collection.SPACES, row["space_id"])
    wid = format_id(Collection.WORKERS, row["id"])
    endpoint = dict(row["endpoint"])
    endpoint.setdefault("Id", None)
    details = row["details"] or {}
    status = "Disabled" if row["is_disabled"] else _LEGACY_STATUS.get(row["health_status"], "Unknown")
    return {
        "Id": wid,
        "SpaceId": sid,
        "Name": row["name"],
        "Slug": row["slug"],
        "Endpoint": endpoint,
        "WorkerPoolIds": [format_id(Collection.WORKER_POOLS, p) for p in pool_ids],
        "MachinePolicyId": format_id(Collection.MACHINE_POLICIES, row["machine_policy_id"]),
        "IsDisabled": row["is_disabled"],
        "HealthStatus": row["health_status"],
        "Status": status,
        "StatusSummary": row["status_summary"],
        "HasLatestCalamari": row["has_latest_calamari"],
        "IsInProcess": False,
        "Thumbprint": row["thumbprint"],
        "Uri": row["uri"],
        "OperatingSystem": details.get("OperatingSystem", "Unknown"),
        "Architecture": details.get("Architecture", "Unknown"),
        "ShellName": details.get("ShellName", "Unknown"),
        "ShellVersion": details.get("ShellVersion", "Unknown"),
        **modified(row),
        "Links": {"Self": f"/api/{sid}/workers/{wid}", "Connection": f"/api/{sid}/workers/{wid}/connection"},
    }


def machine_policy(row: Row) -> dict[str, Any]:
    sid = format_id(Collection.SPACES, row["space_id"])
    mid = format_id(Collection.MACHINE_POLICIES, row["id"])
    return {
        "Id": mid,
        "SpaceId": sid,
        "Name": row["name"],
        "Description": row["description"],
        "IsDefault": row["is_default"],
        **row["document"],
        **modified(row),
        "Links": {"Self": f"/api/{sid}/machinepolicies/{mid}"},
    }


def task(row: Row, pending_reason: str | None = None) -> dict[str, Any]:
    """A task; ``pending_reason`` (service/pending_reasons.py) says why an unfinished one waits."""
    tid = format_id(Collection.SERVER_TASKS, row["id"])
    sid = format_id(Collection.SPACES, row["space_id"]) if row["space_id"] is not None else None
    state = TaskState(row["state"])
    start, end = as_utc(row["start_time"]), as_utc(row["completed_time"])
    duration = describe_duration(((end or utcnow()) - start).total_seconds()) if start else None
    finished = state.is_completed
    # Kept with the task by interruptions_repo; a finished task waits for nobody.
    pending = [] if finished else list(row.get("pending_interruptions") or [])
    return {
        "Id": tid,
        "SpaceId": sid,
        "Name": row["name"],
        "Description": row["description"],
        "Arguments": row["arguments"],
        "State": state.value,
        "Completed": _completed_text(state, end),
        "QueueTime": iso(row["queue_time"]),
        "QueueTimeExpiry": None,
        "StartTime": iso(start),
        "LastUpdatedTime": iso(row["last_updated_time"]),
        "CompletedTime": iso(end),
        "ServerNode": row["server_node"],
        "Duration": duration,
        "ErrorMessage": row["error_message"],
        "HasBeenPickedUpByProcessor": start is not None,
        "IsCompleted": finished,
        "FinishedSuccessfully": state is TaskState.SUCCESS,
        "HasPendingInterruptions": bool(pending),
        "PendingInterruptionTypes": pending,
        "HasPendingPreconditions": False,
        "PendingPreconditionTypes": [],
        "PendingReason": None if finished else pending_reason,
        "CanRerun": False,
        "HasWarningsOrErrors": row["has_warnings_or_errors"],
        "ProjectId": None,
        "Links": {
            "Self": f"/api/tasks/{tid}",
            "Details": f"/api/tasks/{tid}/details{{?verbose,tail}}",
            "Raw": f"/api/tasks/{tid}/raw",
            "Cancel": f"/api/tasks/{tid}/cancel",
            "Stream": f"/api/tasks/{tid}/stream{{?since}}",
            "Artifacts": f"/api/{sid}/artifacts?regarding={tid}",
        },
    }


def _completed_text(state: TaskState, end: dt.datetime | None) -> str | None:
    if not state.is_completed or end is None:
        return None
    return end.strftime("%A, %d %B %Y %H:%M")


def artifact(row: Row) -> dict[str, Any]:
    sid = format_id(Collection.SPACES, row["space_id"])
    aid = format_id(Collection.ARTIFACTS, row["id"])
    return {
        "Id": aid,
        "SpaceId": sid,
        "Filename": row["filename"],
        "Source": None,
        "ServerTaskId": format_id(Collection.SERVER_TASKS, row["task_id"]),
        "Created": iso(row["created"]),
        "LogCorrelationId": None,
        "Length": row["length"],
        "Links": {"Self": f"/api/{sid}/artifacts/{aid}", "Content": f"/api/{sid}/artifacts/{aid}/content"},
    }
