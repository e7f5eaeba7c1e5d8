"""Step templates as the described system shows them (``ActionTemplateResource``), a version of one, and
where one is used (``ActionTemplateUsageResource``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from argonaut.api.resources import Row, iso, modified
from argonaut.domain.ids import Collection, format_id
from argonaut.service.action_templates import Usage, public_parameters


def action_template(row: Row) -> dict[str, Any]:
    document = {
        "Name": row["name"],
        "Description": row["description"],
        "ActionType": row["action_type"],
        **(row["document"] or {}),
    }
    return _shape(row["space_id"], row["id"], int(row["version"]), document, modified(row))


def action_template_version(template: Row, version: Row) -> dict[str, Any]:
    """The template as it was at one version (``GET /actiontemplates/{id}/versions/{version}``)."""
    last_modified = {"LastModifiedOn": iso(version.get("created")), "LastModifiedBy": None}
    return _shape(
        template["space_id"], template["id"], int(version["version"]), version["document"], last_modified
    )


def usage(template_id: str, space_id: int, entry: Usage) -> dict[str, Any]:
    sid = format_id(Collection.SPACES, space_id)
    runbook = entry.owner_id if entry.owner_id.startswith(Collection.RUNBOOKS.value) else None
    return {
        "Id": f"{template_id}-{entry.action_id}",
        "ActionTemplateId": template_id,
        "ProcessType": "Runbook" if runbook else "Deployment",
        "ProcessId": entry.process_id,
        "DeploymentProcessId": None if runbook else entry.process_id,
        "RunbookId": runbook,
        "RunbookName": entry.runbook_name,
        "StepId": entry.step_id,
        "StepName": entry.step_name,
        "ActionId": entry.action_id,
        "ActionName": entry.action_name,
        "ProjectId": format_id(Collection.PROJECTS, entry.project_id),
        "ProjectName": entry.project_name,
        "ProjectSlug": entry.project_slug,
        "Version": entry.version,
        "Branch": None,
        "Release": None,
        "Links": {"Project": f"/api/{sid}/projects/{format_id(Collection.PROJECTS, entry.project_id)}"},
    }


def _shape(
    space_id: int, number: int, version: int, document: Mapping[str, Any], modified: dict[str, Any]
) -> dict[str, Any]:
    sid = format_id(Collection.SPACES, space_id)
    tid = format_id(Collection.ACTION_TEMPLATES, number)
    base = f"/api/{sid}/actiontemplates/{tid}"
    return {
        "Id": tid,
        "SpaceId": sid,
        "Name": document.get("Name"),
        "Description": document.get("Description"),
        "ActionType": document.get("ActionType"),
        "Version": version,
        "CommunityActionTemplateId": document.get("CommunityActionTemplateId"),
        "Packages": list(document.get("Packages") or ()),
        "Properties": dict(document.get("Properties") or {}),
        "Parameters": public_parameters(document.get("Parameters") or ()),
        **modified,
        "Links": {
            "Self": base,
            "Usage": f"{base}/usage",
            "Versions": f"{base}/versions/{{version}}",
        },
    }
