"""Rows to resources for project triggers, in the described system's ``ProjectTriggerResource`` shape.

``NextRun`` and ``LastRun`` are ours (read-only): when the schedule fires next (null while disabled)
and the due time it last fired for, both in UTC.
"""

from __future__ import annotations

from typing import Any

from argonaut.api.resources import Row, iso, modified
from argonaut.domain.ids import Collection, format_id


def trigger(row: Row) -> dict[str, Any]:
    sid = format_id(Collection.SPACES, row["space_id"])
    tid = format_id(Collection.PROJECT_TRIGGERS, row["id"])
    pid = format_id(Collection.PROJECTS, row["project_id"])
    return {
        "Id": tid,
        "SpaceId": sid,
        "ProjectId": pid,
        "Name": row["name"],
        "Description": row["description"],
        "IsDisabled": row["is_disabled"],
        "Filter": row["filter"],
        "Action": row["action"],
        "NextRun": iso(row["next_run"]),
        "LastRun": iso(row["last_run"]),
        **modified(row),
        "Links": {"Self": f"/api/{sid}/projecttriggers/{tid}", "Project": f"/api/{sid}/projects/{pid}"},
    }
