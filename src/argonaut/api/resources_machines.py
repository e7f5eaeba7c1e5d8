"""Environments and deployment targets as the described system shows them (``EnvironmentResource``,
``MachineResource``), with ``Links`` for navigation."""

from __future__ import annotations

from typing import Any

from argonaut.api.resources import Row, modified, named_resource, space_scoped_ids
from argonaut.domain.ids import Collection, format_id

# The legacy ``Status`` the described system still sends beside ``HealthStatus``.
_LEGACY_STATUS = {
    "Healthy": "Online",
    "HasWarnings": "Online",
    "Unhealthy": "Online",
    "Unavailable": "Offline",
}
_MACHINES_TEMPLATE = (
    "{?skip,take,partialName,roles,isDisabled,healthStatuses,commStyles,tenantIds,tenantTags,shellNames}"
)


def environment(row: Row) -> dict[str, Any]:
    sid, eid = space_scoped_ids(row, Collection.ENVIRONMENTS)
    document = row["document"] or {}
    fields = {
        "SortOrder": row["sort_order"],
        "UseGuidedFailure": row["use_guided_failure"],
        "AllowDynamicInfrastructure": bool(document.get("AllowDynamicInfrastructure", False)),
        "EnvironmentTags": list(document.get("EnvironmentTags") or []),
        "ExtensionSettings": list(document.get("ExtensionSettings") or []),
    }
    links = {"Machines": f"/api/{sid}/environments/{eid}/machines{_MACHINES_TEMPLATE}"}
    return named_resource(row, sid, eid, "environments", fields, links)


def machine(row: Row) -> dict[str, Any]:
    sid = format_id(Collection.SPACES, row["space_id"])
    mid = format_id(Collection.MACHINES, row["id"])
    endpoint = dict(row["endpoint"])
    endpoint.setdefault("Id", None)
    details = row["details"] or {}
    status = "Disabled" if row["is_disabled"] else _LEGACY_STATUS.get(row["health_status"], "Unknown")
    return {
        "Id": mid,
        "SpaceId": sid,
        "Name": row["name"],
        "Slug": row["slug"],
        "Endpoint": endpoint,
        "EnvironmentIds": list(row["environment_ids"] or []),
        "Roles": list(row["roles"] or []),
        "MachinePolicyId": format_id(Collection.MACHINE_POLICIES, row["machine_policy_id"]),
        "IsDisabled": row["is_disabled"],
        "TenantedDeploymentParticipation": row["tenanted_participation"],
        "TenantIds": [],
        "TenantTags": [],
        "HealthStatus": row["health_status"],
        "Status": status,
        "StatusSummary": row["status_summary"],
        "HasLatestCalamari": row["has_latest_calamari"],
        "IsInProcess": False,
        "Thumbprint": row["thumbprint"],
        "Uri": row["uri"],
        "SkipInitialHealthCheck": False,
        "OperatingSystem": details.get("OperatingSystem", "Unknown"),
        "Architecture": details.get("Architecture", "Unknown"),
        "ShellName": details.get("ShellName", "Unknown"),
        "ShellVersion": details.get("ShellVersion", "Unknown"),
        **modified(row),
        "Links": {
            "Self": f"/api/{sid}/machines/{mid}",
            "Environments": f"/api/{sid}/machines/{mid}/environments",
            "Connection": f"/api/{sid}/machines/{mid}/connection",
            "TasksTemplate": f"/api/{sid}/machines/{mid}/tasks{{?skip,take,type}}",
        },
    }
