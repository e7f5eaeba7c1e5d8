"""The command routes CI integrations call with names instead of ids (``releases/create/v1``,
``deployments/create/untenanted/v1``): names are resolved here, then the id services do the work, so
both ways of asking follow the same rules."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlalchemy.engine import RowMapping

from argonaut.service import names
from argonaut.service.deployments import NewDeployment, create_deployment
from argonaut.service.errors import Invalid
from argonaut.service.releases import NewRelease, check_version, create_release
from argonaut.store import projects_repo, releases_repo
from argonaut.store.connection import Conn


async def create_release_by_names(
    conn: Conn,
    space_id: int,
    project_name: str,
    version: str | None,
    channel_name: str | None,
    release_notes: str | None,
    ignore_if_exists: bool,
    by: str,
) -> RowMapping:
    project = await names.project(conn, space_id, project_name)
    channel_id = None
    if channel_name:
        _, found = await projects_repo.list_channels(
            conn, space_id, 0, 1, name=channel_name, project_id=int(project["id"])
        )
        if not found:
            raise Invalid(f"The project '{project['name']}' has no channel named '{channel_name}'")
        channel_id = int(found[0]["id"])
    if not version:
        version = await _next_version(conn, space_id, int(project["id"]))
    existing = await releases_repo.find_release(conn, int(project["id"]), check_version(version))
    if existing is not None and ignore_if_exists:
        return existing
    new = NewRelease(int(project["id"]), version, channel_id, release_notes)
    return await create_release(conn, space_id, new, by)


async def _next_version(conn: Conn, space_id: int, project_id: int) -> str:
    """No version given: the last release's with its last number one higher (0.0.1 for the first)."""
    _, rows = await releases_repo.list_releases(conn, space_id, 0, 1, project_id=project_id)
    if not rows:
        return "0.0.1"
    core = str(rows[0]["version"]).split("-")[0].split("+")[0]
    parts = core.split(".")
    parts[-1] = str(int(parts[-1]) + 1)
    return ".".join(parts)


async def create_deployments_by_names(
    conn: Conn,
    space_id: int,
    project_name: str,
    version: str,
    environment_names: Sequence[str],
    specific_machine_names: Sequence[str],
    excluded_machine_names: Sequence[str],
    skip_step_names: Sequence[str],
    use_guided_failure: bool,
    variables: Mapping[str, str],
    by: str,
) -> list[tuple[RowMapping, RowMapping]]:
    """One deployment per environment, as the described system answers (``DeploymentServerTasks``)."""
    project = await names.project(conn, space_id, project_name)
    release = await releases_repo.find_release(conn, int(project["id"]), version)
    if release is None:
        raise Invalid(f"The project '{project['name']}' has no release '{version}'")
    environment_ids = await names.environment_ids(conn, space_id, environment_names)
    specific = [await names.machine(conn, space_id, n) for n in specific_machine_names]
    excluded = [await names.machine(conn, space_id, n) for n in excluded_machine_names]
    skips = await names.action_ids(conn, release, skip_step_names, "release")
    created = []
    for environment_id in environment_ids:
        new = NewDeployment(
            int(release["id"]), environment_id, specific, excluded, skips, use_guided_failure, variables
        )
        created.append(await create_deployment(conn, space_id, new, by))
    return created
