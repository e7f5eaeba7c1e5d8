"""Interruption and user resources in the described system's shapes.

``CanTakeResponsibility`` and ``HasResponsibility`` are about the calling user, so the shape takes them.
"""

from __future__ import annotations

from typing import Any

from argonaut.api.resources import Row, iso
from argonaut.domain.ids import Collection, format_id


def interruption(row: Row, can_take: bool, has_responsibility: bool) -> dict[str, Any]:
    sid = format_id(Collection.SPACES, row["space_id"])
    iid = format_id(Collection.INTERRUPTIONS, row["id"])
    responsible = row["responsible_user_id"]
    return {
        "Id": iid,
        "SpaceId": sid,
        "Title": row["title"],
        "Type": row["type"],
        "Created": iso(row["created"]),
        "IsPending": row["is_pending"],
        "Form": row["form"],
        "RelatedDocumentIds": list(row["related_document_ids"] or []),
        "ResponsibleTeamIds": list(row["responsible_team_ids"] or []),
        "ResponsibleUserId": format_id(Collection.USERS, responsible) if responsible is not None else None,
        "CanTakeResponsibility": can_take,
        "HasResponsibility": has_responsibility,
        "TaskId": format_id(Collection.SERVER_TASKS, row["task_id"]),
        "CorrelationId": row["correlation_id"],
        "IsLinkedToOtherInterruption": False,
        "Links": {
            "Self": f"/api/{sid}/interruptions/{iid}",
            "Submit": f"/api/{sid}/interruptions/{iid}/submit",
            "Responsible": f"/api/{sid}/interruptions/{iid}/responsible",
        },
    }


def user(row: Row) -> dict[str, Any]:
    uid = format_id(Collection.USERS, row["id"])
    return {
        "Id": uid,
        "Username": row["username"],
        "DisplayName": row["display_name"] or row["username"],
        "EmailAddress": None,
        "IsService": False,
        "IsActive": True,
        "Links": {"Self": f"/api/users/{uid}"},
    }
