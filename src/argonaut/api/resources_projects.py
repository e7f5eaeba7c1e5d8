"""Rows to resources for the project family: lifecycles, project groups, projects, channels, deployment
processes and variable sets, in the described system's PascalCase shapes with ``Links``."""

from __future__ import annotations

from typing import Any

from argonaut.api.resources import Row, modified, named_resource, space_scoped_ids
from argonaut.domain.ids import Collection, format_id
from argonaut.service.processes import process_id_of, public_steps
from argonaut.service.projects import default_document
from argonaut.service.variables import public_variables, variable_set_id_of


def lifecycle(row: Row) -> dict[str, Any]:
    sid, lid = space_scoped_ids(row, Collection.LIFECYCLES)
    document = row["document"] or {}
    fields = {
        "ReleaseRetentionPolicy": document.get("ReleaseRetentionPolicy"),
        "TentacleRetentionPolicy": document.get("TentacleRetentionPolicy"),
        "Phases": document.get("Phases", []),
    }
    links = {"Projects": f"/api/{sid}/lifecycles/{lid}/projects"}
    return named_resource(row, sid, lid, "lifecycles", fields, links)


def project_group(row: Row) -> dict[str, Any]:
    sid, gid = space_scoped_ids(row, Collection.PROJECT_GROUPS)
    fields: dict[str, Any] = {"EnvironmentIds": [], "RetentionPolicyId": None}
    links = {"Projects": f"/api/{sid}/projectgroups/{gid}/projects{{?skip,take}}"}
    return named_resource(row, sid, gid, "projectgroups", fields, links)


def project(row: Row) -> dict[str, Any]:
    sid, pid = space_scoped_ids(row, Collection.PROJECTS)
    document = {**default_document(), **(row["document"] or {})}
    gid = format_id(Collection.PROJECT_GROUPS, row["project_group_id"])
    lid = format_id(Collection.LIFECYCLES, row["lifecycle_id"])
    process_id = process_id_of(int(row["id"]))
    variable_set_id = variable_set_id_of(int(row["id"]))
    fields = {
        "ProjectGroupId": gid,
        "LifecycleId": lid,
        "IsDisabled": row["is_disabled"],
        "DeploymentProcessId": process_id,
        "VariableSetId": variable_set_id,
        "DefaultGuidedFailureMode": document["DefaultGuidedFailureMode"],
        "ProjectConnectivityPolicy": document["ProjectConnectivityPolicy"],
        "VersioningStrategy": document["VersioningStrategy"],
        "ReleaseNotesTemplate": document["ReleaseNotesTemplate"],
        "DeploymentChangesTemplate": document["DeploymentChangesTemplate"],
        "DefaultToSkipIfAlreadyInstalled": document["DefaultToSkipIfAlreadyInstalled"],
        "IncludedLibraryVariableSetIds": [],
        "TenantedDeploymentMode": "Untenanted",
        "IsVersionControlled": False,
        "PersistenceSettings": {"Type": "Database"},
        "AutoCreateRelease": False,
        "DiscreteChannelRelease": False,
        "ClonedFromProjectId": None,
        "Templates": [],
        "ExtensionSettings": [],
        "Icon": None,
    }
    links = {
        "Channels": f"/api/{sid}/projects/{pid}/channels{{?skip,take,partialName}}",
        "Releases": f"/api/{sid}/projects/{pid}/releases{{/version}}{{?skip,take,searchByVersion}}",
        "DeploymentProcess": f"/api/{sid}/deploymentprocesses/{process_id}",
        "Variables": f"/api/{sid}/variables/{variable_set_id}",
        "ProjectGroup": f"/api/{sid}/projectgroups/{gid}",
        "Lifecycle": f"/api/{sid}/lifecycles/{lid}",
    }
    return named_resource(row, sid, pid, "projects", fields, links)


def channel(row: Row) -> dict[str, Any]:
    sid, cid = space_scoped_ids(row, Collection.CHANNELS)
    pid = format_id(Collection.PROJECTS, row["project_id"])
    lifecycle_id = row["lifecycle_id"]
    fields = {
        "LifecycleId": format_id(Collection.LIFECYCLES, lifecycle_id) if lifecycle_id is not None else None,
        "IsDefault": row["is_default"],
        "Rules": [],
        "TenantTags": [],
        "GitReferenceRules": [],
        "GitResourceRules": [],
    }
    links = {"Project": f"/api/{sid}/projects/{pid}"}
    return named_resource(row, sid, cid, "channels", fields, links, owner={"ProjectId": pid})


def deployment_process(row: Row) -> dict[str, Any]:
    sid = format_id(Collection.SPACES, row["space_id"])
    pid = format_id(Collection.PROJECTS, row["project_id"])
    return {
        "Id": row["id"],
        "SpaceId": sid,
        "ProjectId": pid,
        "Version": row["version"],
        "LastSnapshotId": row["last_snapshot_id"],
        "Steps": public_steps(row["steps"]),
        **modified(row),
        "Links": {
            "Self": f"/api/{sid}/deploymentprocesses/{row['id']}",
            "Project": f"/api/{sid}/projects/{pid}",
        },
    }


def variable_set(row: Row, scope_values: dict[str, Any]) -> dict[str, Any]:
    sid = format_id(Collection.SPACES, row["space_id"])
    return {
        "Id": row["id"],
        "SpaceId": sid,
        "OwnerId": row["owner_id"],
        "Version": row["version"],
        "Variables": public_variables(row["variables"]),
        "ScopeValues": scope_values,
        **modified(row),
        "Links": {"Self": f"/api/{sid}/variables/{row['id']}"},
    }
