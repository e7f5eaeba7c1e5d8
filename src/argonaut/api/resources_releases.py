"""Releases and deployments in the described system's shapes."""

from __future__ import annotations

from typing import Any

from argonaut.api.resources import Row, iso, modified
from argonaut.domain.ids import Collection, format_id


def release(row: Row) -> dict[str, Any]:
    sid = format_id(Collection.SPACES, row["space_id"])
    rid = format_id(Collection.RELEASES, row["id"])
    pid = format_id(Collection.PROJECTS, row["project_id"])
    document = row["document"] or {}
    return {
        "Id": rid,
        "SpaceId": sid,
        "ProjectId": pid,
        "ChannelId": format_id(Collection.CHANNELS, row["channel_id"]),
        "Version": row["version"],
        "ReleaseNotes": row["release_notes"],
        "Assembled": iso(row["assembled"]),
        "ProjectDeploymentProcessSnapshotId": row["process_snapshot_id"],
        "ProjectVariableSetSnapshotId": row["variables_snapshot_id"],
        "LibraryVariableSetSnapshotIds": [],
        "SelectedPackages": document.get("SelectedPackages") or [],
        "BuildInformation": document.get("BuildInformation") or [],
        "IgnoreChannelRules": False,
        **modified(row),
        "Links": {
            "Self": f"/api/{sid}/releases/{rid}",
            "Project": f"/api/{sid}/projects/{pid}",
            "Deployments": f"/api/{sid}/releases/{rid}/deployments{{?skip,take}}",
            "DeploymentTemplate": f"/api/{sid}/releases/{rid}/deployments/template",
            "ProjectDeploymentProcessSnapshot": f"/api/{sid}/deploymentprocesses/"
            + str(row["process_snapshot_id"]),
            "ProjectVariableSnapshot": f"/api/{sid}/variables/{row['variables_snapshot_id']}",
        },
    }


def deployment(row: Row) -> dict[str, Any]:
    sid = format_id(Collection.SPACES, row["space_id"])
    did = format_id(Collection.DEPLOYMENTS, row["id"])
    document = row["document"] or {}
    task_id = format_id(Collection.SERVER_TASKS, row["task_id"]) if row["task_id"] is not None else None
    state = row.get("task_state")
    environment = format_id(Collection.ENVIRONMENTS, row["environment_id"])
    return {
        "Id": did,
        "SpaceId": sid,
        "Name": row["name"],
        "ReleaseId": format_id(Collection.RELEASES, row["release_id"]),
        "EnvironmentId": format_id(Collection.ENVIRONMENTS, row["environment_id"]),
        "ProjectId": format_id(Collection.PROJECTS, row["project_id"]),
        "ChannelId": format_id(Collection.CHANNELS, row["channel_id"]),
        "TenantId": None,
        "TaskId": task_id,
        "DeploymentProcessId": row["process_snapshot_id"],
        "ManifestVariableSetId": row["variables_snapshot_id"],
        "SpecificMachineIds": document.get("SpecificMachineIds") or [],
        "ExcludedMachineIds": document.get("ExcludedMachineIds") or [],
        "SkipActions": document.get("SkipActions") or [],
        "UseGuidedFailure": bool(document.get("UseGuidedFailure")),
        "FormValues": document.get("FormValues") or {},
        "Comments": document.get("Comments"),
        "ForcePackageDownload": False,
        "ForcePackageRedeployment": False,
        "QueueTime": None,
        "QueueTimeExpiry": None,
        "Created": iso(row["created"]),
        "DeployedBy": row["deployed_by"],
        "DeployedById": None,
        "DeployedToMachineIds": document.get("DeployedToMachineIds") or [],
        "FailureEncountered": state in ("Failed", "TimedOut", "Canceled"),
        "Changes": [],
        "ChangesMarkdown": "",
        "LastModifiedOn": iso(row["created"]),
        "LastModifiedBy": row["deployed_by"],
        "Links": {
            "Self": f"/api/{sid}/deployments/{did}",
            "Release": f"/api/{sid}/releases/{format_id(Collection.RELEASES, row['release_id'])}",
            "Environment": f"/api/{sid}/environments/{environment}",
            "Project": f"/api/{sid}/projects/{format_id(Collection.PROJECTS, row['project_id'])}",
            "Task": f"/api/tasks/{task_id}" if task_id else None,
            "Interruptions": f"/api/{sid}/interruptions?regarding={did}",
        },
    }
