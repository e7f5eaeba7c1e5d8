"""``/api/{spaceId}/dashboard``: the latest release deployed to each environment, per project.

The described system's ``DashboardResource`` shape (``Projects``, ``ProjectGroups``, ``Environments``,
``Items``), showing only the projects, environments and deployments the caller may view; the rows come
from ``service/dashboard.py`` in a handful of queries however many deployments are stored.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from sqlalchemy.engine import RowMapping

from argonaut.api.auth import Caller, Scope, authorize, visible
from argonaut.api.collections import space_path
from argonaut.api.resources import iso
from argonaut.domain.ids import Collection, format_id
from argonaut.domain.permissions import Permission
from argonaut.service.dashboard import DashboardRows, dashboard


def build(scope: Scope) -> APIRouter:
    router = APIRouter(tags=["Dashboard"])
    view = authorize(Permission.PROJECT_VIEW, scope)

    @router.get("/dashboard", summary="The latest deployment of each project to each environment")
    async def get_dashboard(caller: Caller = Depends(view)) -> dict[str, Any]:
        assert caller.space_id is not None
        async with caller.services.store.transaction() as conn:
            seen_projects = await visible(caller, conn, Permission.PROJECT_VIEW)
            seen_environments = await visible(caller, conn, Permission.ENVIRONMENT_VIEW)
            seen_deployments = await visible(caller, conn, Permission.DEPLOYMENT_VIEW)
            rows = await dashboard(
                conn,
                caller.space_id,
                seen_projects.projects(None),
                seen_environments.environments(None),
                seen_deployments.projects(None),
                seen_deployments.environments(None),
            )
        return _resource(caller.space_id, rows)

    return router


def _resource(space_id: int, rows: DashboardRows) -> dict[str, Any]:
    environment_ids = [format_id(Collection.ENVIRONMENTS, int(e["id"])) for e in rows.environments]
    project_numbers = {int(p["id"]) for p in rows.projects}
    environment_numbers = {int(e["id"]) for e in rows.environments}
    return {
        "Projects": [
            {
                "Id": format_id(Collection.PROJECTS, int(p["id"])),
                "Name": p["name"],
                "Slug": p["slug"],
                "ProjectGroupId": format_id(Collection.PROJECT_GROUPS, int(p["project_group_id"])),
                "IsDisabled": bool(p["is_disabled"]),
                "EnvironmentIds": environment_ids,
            }
            for p in rows.projects
        ],
        "ProjectGroups": [
            {"Id": format_id(Collection.PROJECT_GROUPS, int(g["id"])), "Name": g["name"]} for g in rows.groups
        ],
        "Environments": [
            {"Id": format_id(Collection.ENVIRONMENTS, int(e["id"])), "Name": e["name"]}
            for e in rows.environments
        ],
        "Items": [
            _item(i)
            for i in rows.items
            if int(i["project_id"]) in project_numbers and int(i["environment_id"]) in environment_numbers
        ],
        "PreviousItems": [],
        "IsFiltered": False,
        "Links": {"Self": f"{space_path(space_id)}/dashboard"},
    }


def _item(row: RowMapping) -> dict[str, Any]:
    state = row["state"] or "Queued"
    completed = state in ("Success", "Failed", "TimedOut", "Canceled")
    return {
        "Id": format_id(Collection.DEPLOYMENTS, int(row["id"])),
        "DeploymentId": format_id(Collection.DEPLOYMENTS, int(row["id"])),
        "ProjectId": format_id(Collection.PROJECTS, int(row["project_id"])),
        "EnvironmentId": format_id(Collection.ENVIRONMENTS, int(row["environment_id"])),
        "ReleaseId": format_id(Collection.RELEASES, int(row["release_id"])),
        "ReleaseVersion": row["release_version"],
        "ChannelId": format_id(Collection.CHANNELS, int(row["channel_id"])),
        "TaskId": format_id(Collection.SERVER_TASKS, int(row["task_id"]))
        if row["task_id"] is not None
        else None,
        "TenantId": None,
        "State": state,
        "HasPendingInterruptions": bool(row["pending_interruptions"]),
        "HasWarningsOrErrors": bool(row["has_warnings_or_errors"]),
        "ErrorMessage": row["error_message"] or "",
        "Created": iso(row["created"]),
        "QueueTime": iso(row["queue_time"]),
        "StartTime": iso(row["start_time"]),
        "CompletedTime": iso(row["completed_time"]),
        "IsCompleted": completed,
        "IsCurrent": True,
        "IsPrevious": False,
    }
