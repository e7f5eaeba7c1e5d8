"""Channels: which lifecycle a project's releases follow, and a variable and step scope.

Every project has exactly one default channel (made with the project); releases created without a
channel go to it. So the default can be moved to another channel but not removed, and a channel keeps
its project for life.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.engine import RowMapping

from argonaut.domain.ids import Collection, parse_id
from argonaut.service.errors import Invalid, NotFound
from argonaut.service.projects import find_project
from argonaut.store import lifecycles_repo, projects_repo
from argonaut.store.common import slugify
from argonaut.store.connection import Conn


async def find_channel(conn: Conn, space_id: int, channel_id: str) -> RowMapping:
    number = parse_id(Collection.CHANNELS, channel_id)
    row = await projects_repo.get_channel(conn, space_id, number) if number is not None else None
    if row is None:
        raise NotFound(channel_id)
    return row


async def create_channel(conn: Conn, space_id: int, fields: Mapping[str, Any], by: str) -> int:
    project_text = fields.get("ProjectId")
    if not project_text:
        raise Invalid("Please provide the ProjectId of the channel's project")
    try:
        project = await find_project(conn, space_id, str(project_text))
    except NotFound:
        raise Invalid(f"The project '{project_text}' does not exist in this space") from None
    name = fields.get("Name")
    if not isinstance(name, str) or not name.strip():
        raise Invalid("Please provide a Name for the channel")
    _check_unsupported(fields)
    values: dict[str, Any] = {
        "name": name,
        "slug": slugify(name),
        "description": fields.get("Description"),
        "lifecycle_id": await _lifecycle(conn, space_id, fields.get("LifecycleId")),
        "is_default": bool(fields.get("IsDefault")),
        "document": {},
    }
    return await projects_repo.create_channel(conn, space_id, int(project["id"]), values, by)


async def update_channel(
    conn: Conn, space_id: int, channel: RowMapping, fields: Mapping[str, Any], by: str
) -> None:
    """``LifecycleId`` null (sent explicitly) makes the channel follow its project's lifecycle again."""
    project_text = fields.get("ProjectId")
    if project_text and parse_id(Collection.PROJECTS, str(project_text)) != channel["project_id"]:
        raise Invalid("A channel cannot move to another project: create a channel in that project instead")
    _check_unsupported(fields)
    values: dict[str, Any] = {}
    if fields.get("Name"):
        values["name"] = fields["Name"]
        values["slug"] = slugify(fields["Name"])
    if "Description" in fields:
        values["description"] = fields["Description"]
    if "LifecycleId" in fields:
        values["lifecycle_id"] = await _lifecycle(conn, space_id, fields["LifecycleId"])
    if fields.get("IsDefault") is not None:
        values["is_default"] = bool(fields["IsDefault"])
    await projects_repo.update_channel(conn, channel, values, by)


async def delete_channel(conn: Conn, channel: RowMapping) -> None:
    await projects_repo.delete_channel(conn, channel)


async def _lifecycle(conn: Conn, space_id: int, text: Any) -> int | None:
    if not text:
        return None
    number = parse_id(Collection.LIFECYCLES, str(text))
    if number is None or await lifecycles_repo.get(conn, space_id, number) is None:
        raise Invalid(f"The lifecycle '{text}' does not exist in this space")
    return number


def _check_unsupported(fields: Mapping[str, Any]) -> None:
    """Package version rules need packages and tenant tags need tenants; neither exists here yet, and a
    rule stored but not applied would let releases through that the channel's author meant to stop."""
    if fields.get("Rules"):
        raise Invalid("Channel version rules are not supported: this server has no packages yet")
    if fields.get("TenantTags"):
        raise Invalid("Channel tenant tags are not supported: this server has no tenants")
