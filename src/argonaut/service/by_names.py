"""The command routes CI integrations call with names instead of ids (``releases/create/v1``,
``deployments/create/untenanted/v1``): names are resolved here, then the id services do the work, so
both ways of asking follow the same rules."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlalchemy.engine import RowMapping

from argonaut.domain.processes import parse_steps
from argonaut.service.deployments import NewDeployment, create_deployment
from argonaut.service.errors import Invalid
from argonaut.service.releases import NewRelease, check_version, create_release
from argonaut.store import environments_repo, machines_repo, processes_repo, projects_repo, releases_repo
from argonaut.store.connection import Conn


async def _project(conn: Conn, space_id: int, name: str) -> RowMapping:
    project = await projects_repo.find_project_by_name(conn, space_id, name)
    if project is None:
        raise Invalid(f"There is no project named '{name}' in this space")
    return project


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
    project = await _project(conn, space_id, project_name)
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
    project = await _project(conn, space_id, project_name)
    release = await releases_repo.find_release(conn, int(project["id"]), version)
    if release is None:
        raise Invalid(f"The project '{project['name']}' has no release '{version}'")
    environment_ids = []
    for name in environment_names:
        environment = await environments_repo.find_by_name(conn, space_id, name)
        if environment is None:
            raise Invalid(f"There is no environment named '{name}' in this space")
        environment_ids.append(int(environment["id"]))
    specific = [await _machine(conn, space_id, n) for n in specific_machine_names]
    excluded = [await _machine(conn, space_id, n) for n in excluded_machine_names]
    skips = await _action_ids(conn, release, skip_step_names)
    created = []
    for environment_id in environment_ids:
        new = NewDeployment(
            int(release["id"]), environment_id, specific, excluded, skips, use_guided_failure, variables
        )
        created.append(await create_deployment(conn, space_id, new, by))
    return created


async def _machine(conn: Conn, space_id: int, name: str) -> int:
    row = await machines_repo.find_by_name(conn, space_id, name)
    if row is None:
        raise Invalid(f"There is no deployment target named '{name}' in this space")
    return int(row["id"])


async def _action_ids(conn: Conn, release: RowMapping, names: Sequence[str]) -> list[str]:
    """Step names to the ids of their actions (an action's own name works too)."""
    if not names:
        return []
    process = await processes_repo.get_process(conn, str(release["process_snapshot_id"]))
    steps = parse_steps(process["steps"] if process is not None else [])
    found = []
    for name in names:
        key = name.strip().casefold()
        ids = [
            action.id
            for step in steps
            for action in step.actions
            if step.name.casefold() == key or action.name.casefold() == key
        ]
        if not ids:
            raise Invalid(f"The release's process has no step named '{name}'")
        found.extend(ids)
    return found
