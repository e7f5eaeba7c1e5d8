"""Creating releases: a release freezes the project's process and variables as they are now.

Later edits to the project leave the release alone, so what was tested in one environment is exactly
what is promoted to the next.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy.engine import RowMapping

from argonaut.domain.ids import Collection, format_id
from argonaut.service import processes, variables
from argonaut.service.errors import Invalid
from argonaut.store import projects_repo, releases_repo
from argonaut.store.common import Refused
from argonaut.store.connection import Conn

# 1 to 4 numeric parts, an optional pre-release tag and build metadata ("2", "2.1", "2.4.0.23",
# "2.4-beta.1", "1.0.0+sha.5114f85"): the versions the described system accepts.
_VERSION = re.compile(r"^\d+(\.\d+){0,3}(-[0-9A-Za-z][0-9A-Za-z.\-]*)?(\+[0-9A-Za-z.\-]+)?$")
MAX_VERSION = 349


@dataclass(frozen=True, slots=True)
class NewRelease:
    project_id: int
    version: str
    channel_id: int | None = None
    release_notes: str | None = None


def check_version(version: str) -> str:
    text = version.strip()
    if not text:
        raise Invalid("Please provide a version for the release")
    if len(text) > MAX_VERSION or not _VERSION.match(text):
        raise Invalid(
            f"'{text}' is not a valid version: use 1 to 4 numbers separated by dots, optionally followed by "
            "a pre-release tag such as 1.2.0-beta.1"
        )
    return text


async def create_release(conn: Conn, space_id: int, new: NewRelease, by: str) -> RowMapping:
    """Freeze the project's process and variables into a new release and answer its row."""
    version = check_version(new.version)
    project = await projects_repo.get_project(conn, space_id, new.project_id)
    if project is None:
        raise Invalid(f"The project '{format_id(Collection.PROJECTS, new.project_id)}' does not exist")
    if project["is_disabled"]:
        raise Refused("The project is disabled, so releases cannot be created")
    channel = await _channel(conn, space_id, project, new.channel_id)
    project_key = format_id(Collection.PROJECTS, int(project["id"]))
    process_id = await processes.freeze_process(conn, f"deploymentprocess-{project_key}", version)
    variable_set_id = await variables.freeze_variables(conn, f"variableset-{project_key}")
    release_id = await releases_repo.create_release(
        conn,
        dict(
            space_id=space_id,
            project_id=int(project["id"]),
            channel_id=int(channel["id"]),
            version=version,
            release_notes=new.release_notes,
            process_snapshot_id=process_id,
            variables_snapshot_id=variable_set_id,
            document={"SelectedPackages": [], "BuildInformation": []},
            last_modified_by=by,
        ),
    )
    row = await releases_repo.get_release(conn, space_id, release_id)
    assert row is not None
    return row


async def _channel(conn: Conn, space_id: int, project: RowMapping, channel_id: int | None) -> RowMapping:
    if channel_id is None:
        channel = await projects_repo.default_channel(conn, int(project["id"]))
        if channel is None:
            raise Invalid(f"The project '{project['name']}' has no default channel: name one in ChannelId")
        return channel
    channel = await projects_repo.get_channel(conn, space_id, channel_id)
    if channel is None or channel["project_id"] != project["id"]:
        raise Invalid(
            f"The channel '{format_id(Collection.CHANNELS, channel_id)}' is not a channel of the project "
            f"'{project['name']}'"
        )
    return channel
