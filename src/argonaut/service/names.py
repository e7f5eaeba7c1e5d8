"""Names to ids for the command routes CI integrations call with names (``by_names``,
``runbooks_by_names``): both resolve projects, environments, deployment targets and steps the same way,
with the same messages."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.engine import RowMapping

from argonaut.domain.processes import parse_steps
from argonaut.service.errors import Invalid
from argonaut.store import environments_repo, machines_repo, processes_repo, projects_repo
from argonaut.store.connection import Conn


async def project(conn: Conn, space_id: int, name: str) -> RowMapping:
    found = await projects_repo.find_project_by_name(conn, space_id, name)
    if found is None:
        raise Invalid(f"There is no project named '{name}' in this space")
    return found


async def environment_ids(conn: Conn, space_id: int, names: Sequence[str]) -> list[int]:
    found = []
    for name in names:
        environment = await environments_repo.find_by_name(conn, space_id, name)
        if environment is None:
            raise Invalid(f"There is no environment named '{name}' in this space")
        found.append(int(environment["id"]))
    return found


async def machine(conn: Conn, space_id: int, name: str) -> int:
    row = await machines_repo.find_by_name(conn, space_id, name)
    if row is None:
        raise Invalid(f"There is no deployment target named '{name}' in this space")
    return int(row["id"])


async def action_ids(conn: Conn, frozen: RowMapping, names: Sequence[str], what: str) -> list[str]:
    """Step names to the ids of their actions in the process of ``frozen`` (a release or a runbook
    snapshot, ``what`` names which in messages); an action's own name works too."""
    if not names:
        return []
    process = await processes_repo.get_process(conn, str(frozen["process_snapshot_id"]))
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
            raise Invalid(f"The {what}'s process has no step named '{name}'")
        found.extend(ids)
    return found
