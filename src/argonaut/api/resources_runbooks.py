"""Runbooks, runbook processes, snapshots and runs in the described system's shapes."""

from __future__ import annotations

from typing import Any

from argonaut.api.resources import Row, iso, modified, named_resource, space_scoped_ids
from argonaut.domain.ids import Collection, format_id
from argonaut.domain.runbooks import default_document
from argonaut.service.processes import public_steps

_FAILED = ("Failed", "TimedOut", "Canceled")


def runbook(row: Row) -> dict[str, Any]:
    sid, rid = space_scoped_ids(row, Collection.RUNBOOKS)
    pid = format_id(Collection.PROJECTS, row["project_id"])
    document = {**default_document(), **(row["document"] or {})}
    published = row["published_snapshot_id"]
    fields = {
        "RunbookProcessId": row["process_id"],
        "PublishedRunbookSnapshotId": (
            format_id(Collection.RUNBOOK_SNAPSHOTS, published) if published is not None else None
        ),
        "EnvironmentScope": document["EnvironmentScope"],
        "Environments": document["Environments"],
        "MultiTenancyMode": "Untenanted",
        "ConnectivityPolicy": document["ConnectivityPolicy"],
        "DefaultGuidedFailureMode": document["DefaultGuidedFailureMode"],
        "RunRetentionPolicy": document["RunRetentionPolicy"],
        "ForcePackageDownload": document["ForcePackageDownload"],
        "RunbookTags": [],
    }
    links = {
        "Project": f"/api/{sid}/projects/{pid}",
        "RunbookProcess": f"/api/{sid}/runbookProcesses/{row['process_id']}",
        "RunbookSnapshots": f"/api/{sid}/runbooks/{rid}/runbookSnapshots{{?skip,take}}",
        "RunbookSnapshotTemplate": f"/api/{sid}/runbooks/{rid}/runbookSnapshotTemplate",
        "RunbookRuns": f"/api/{sid}/runbookRuns?runbooks={rid}",
        "CreateRunbookRun": f"/api/{sid}/runbooks/{rid}/run",
    }
    return named_resource(row, sid, rid, "runbooks", fields, links, owner={"ProjectId": pid})


def runbook_process(row: Row) -> dict[str, Any]:
    sid = format_id(Collection.SPACES, row["space_id"])
    pid = format_id(Collection.PROJECTS, row["project_id"])
    runbook_id = row["owner_id"]
    return {
        "Id": row["id"],
        "SpaceId": sid,
        "ProjectId": pid,
        "RunbookId": runbook_id,
        "Version": row["version"],
        "LastSnapshotId": row["last_snapshot_id"],
        "Steps": public_steps(row["steps"]),
        **modified(row),
        "Links": {
            "Self": f"/api/{sid}/runbookProcesses/{row['id']}",
            "Project": f"/api/{sid}/projects/{pid}",
            "Runbook": f"/api/{sid}/runbooks/{runbook_id}",
            "RunbookSnapshotTemplate": f"/api/{sid}/runbooks/{runbook_id}/runbookSnapshotTemplate",
        },
    }


def snapshot(row: Row) -> dict[str, Any]:
    sid = format_id(Collection.SPACES, row["space_id"])
    snid = format_id(Collection.RUNBOOK_SNAPSHOTS, row["id"])
    rid = format_id(Collection.RUNBOOKS, row["runbook_id"])
    pid = format_id(Collection.PROJECTS, row["project_id"])
    document = row["document"] or {}
    return {
        "Id": snid,
        "SpaceId": sid,
        "ProjectId": pid,
        "RunbookId": rid,
        "Name": row["name"],
        "Notes": row["notes"],
        "Assembled": iso(row["assembled"]),
        "FrozenRunbookProcessId": row["process_snapshot_id"],
        "FrozenProjectVariableSetId": row["variables_snapshot_id"],
        "ProjectVariableSetSnapshotId": row["variables_snapshot_id"],
        "LibraryVariableSetSnapshotIds": [],
        "SelectedPackages": document.get("SelectedPackages") or [],
        "SelectedGitResources": [],
        **modified(row),
        "Links": {
            "Self": f"/api/{sid}/runbookSnapshots/{snid}",
            "Runbook": f"/api/{sid}/runbooks/{rid}",
            "Project": f"/api/{sid}/projects/{pid}",
            "FrozenRunbookProcess": f"/api/{sid}/runbookProcesses/{row['process_snapshot_id']}",
            "RunbookRuns": f"/api/{sid}/runbookRuns?runbooks={rid}",
            "SnapshotVariables": f"/api/{sid}/variables/{row['variables_snapshot_id']}",
        },
    }


def snapshot_template(process_id: str, next_name: str) -> dict[str, Any]:
    return {
        "RunbookProcessId": process_id,
        "NextNameIncrement": next_name,
        "Packages": [],
        "GitResources": [],
    }


def run(row: Row) -> dict[str, Any]:
    """``row`` as ``runbooks_repo.get_run`` answers it: the run joined with its task, runbook and
    snapshot."""
    sid = format_id(Collection.SPACES, row["space_id"])
    rrid = format_id(Collection.RUNBOOK_RUNS, row["id"])
    rid = format_id(Collection.RUNBOOKS, row["runbook_id"])
    environment = format_id(Collection.ENVIRONMENTS, row["environment_id"])
    task_id = format_id(Collection.SERVER_TASKS, row["task_id"]) if row["task_id"] is not None else None
    document = row["document"] or {}
    return {
        "Id": rrid,
        "SpaceId": sid,
        "Name": row["name"],
        "RunbookId": rid,
        "RunbookName": row.get("runbook_name"),
        "RunbookSnapshotId": format_id(Collection.RUNBOOK_SNAPSHOTS, row["snapshot_id"]),
        "FrozenRunbookProcessId": row.get("process_snapshot_id"),
        "ManifestVariableSetId": row.get("variables_snapshot_id"),
        "EnvironmentId": environment,
        "ProjectId": format_id(Collection.PROJECTS, row["project_id"]),
        "TenantId": None,
        "TaskId": task_id,
        "Created": iso(row["created"]),
        "DeployedBy": row["deployed_by"],
        "DeployedById": None,
        "SpecificMachineIds": document.get("SpecificMachineIds") or [],
        "ExcludedMachineIds": document.get("ExcludedMachineIds") or [],
        "DeployedToMachineIds": document.get("DeployedToMachineIds") or [],
        "SkipActions": document.get("SkipActions") or [],
        "FormValues": document.get("FormValues") or {},
        "UseGuidedFailure": bool(document.get("UseGuidedFailure")),
        "Comments": document.get("Comments"),
        "ForcePackageDownload": False,
        "QueueTime": None,
        "QueueTimeExpiry": None,
        "FailureEncountered": row.get("task_state") in _FAILED,
        "LastModifiedOn": iso(row["created"]),
        "LastModifiedBy": row["deployed_by"],
        "Links": {
            "Self": f"/api/{sid}/runbookRuns/{rrid}",
            "Task": f"/api/tasks/{task_id}" if task_id else None,
            "Runbook": f"/api/{sid}/runbooks/{rid}",
            "RunbookSnapshot": f"/api/{sid}/runbookSnapshots/"
            + format_id(Collection.RUNBOOK_SNAPSHOTS, row["snapshot_id"]),
            "Environment": f"/api/{sid}/environments/{environment}",
            "Project": f"/api/{sid}/projects/{format_id(Collection.PROJECTS, row['project_id'])}",
            "Interruptions": f"/api/{sid}/interruptions?regarding={rrid}",
        },
    }
