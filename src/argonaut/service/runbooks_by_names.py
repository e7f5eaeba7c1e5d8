"""The command route CI integrations call to run a runbook by names (``runbook-runs/create/v1``): names
are resolved here, then :func:`argonaut.service.runbooks.run_runbook` does the work, so both ways of
asking follow the same rules."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlalchemy.engine import RowMapping

from argonaut.domain.processes import parse_steps
from argonaut.service import runbook_snapshots
from argonaut.service.errors import Invalid
from argonaut.service.runbooks import published_snapshot, run_runbook
from argonaut.store import environments_repo, machines_repo, processes_repo, projects_repo, runbooks_repo
from argonaut.store.connection import Conn


async def run_runbook_by_names(
    conn: Conn,
    space_id: int,
    project_name: str,
    runbook_name: str,
    environment_names: Sequence[str],
    snapshot: str | None,
    specific_machine_names: Sequence[str],
    excluded_machine_names: Sequence[str],
    skip_step_names: Sequence[str],
    variables: Mapping[str, str],
    use_guided_failure: bool,
    by: str,
) -> list[tuple[RowMapping, RowMapping]]:
    """One run per environment, as the described system answers (``RunbookRunServerTasks``). Without
    ``snapshot`` (a name or an id) the published snapshot runs."""
    project = await projects_repo.find_project_by_name(conn, space_id, project_name)
    if project is None:
        raise Invalid(f"There is no project named '{project_name}' in this space")
    runbook = await runbooks_repo.find_runbook_by_name(conn, int(project["id"]), runbook_name)
    if runbook is None:
        raise Invalid(f"The project '{project['name']}' has no runbook named '{runbook_name}'")
    if snapshot and snapshot.strip():
        chosen = await runbook_snapshots.snapshot_of(conn, space_id, runbook, snapshot.strip())
    elif runbook["published_snapshot_id"] is None:
        raise Invalid(
            f"Runbook has no published snapshot: the runbook '{runbook['name']}' of the project "
            f"'{project['name']}' has none, so publish a snapshot or name one in Snapshot"
        )
    else:
        chosen = await published_snapshot(conn, space_id, runbook)
    environment_ids = []
    for name in environment_names:
        environment = await environments_repo.find_by_name(conn, space_id, name)
        if environment is None:
            raise Invalid(f"There is no environment named '{name}' in this space")
        environment_ids.append(int(environment["id"]))
    return await run_runbook(
        conn,
        space_id,
        int(runbook["id"]),
        environment_ids,
        by,
        int(chosen["id"]),
        specific_machine_ids=[await _machine(conn, space_id, n) for n in specific_machine_names],
        excluded_machine_ids=[await _machine(conn, space_id, n) for n in excluded_machine_names],
        skip_actions=await _action_ids(conn, chosen, skip_step_names),
        form_values=variables,
        use_guided_failure=use_guided_failure,
    )


async def _machine(conn: Conn, space_id: int, name: str) -> int:
    row = await machines_repo.find_by_name(conn, space_id, name)
    if row is None:
        raise Invalid(f"There is no deployment target named '{name}' in this space")
    return int(row["id"])


async def _action_ids(conn: Conn, snapshot: RowMapping, names: Sequence[str]) -> list[str]:
    """Step names to the ids of their actions in the snapshot's process (an action's own name works too)."""
    if not names:
        return []
    process = await processes_repo.get_process(conn, str(snapshot["process_snapshot_id"]))
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
            raise Invalid(f"The snapshot's process has no step named '{name}'")
        found.extend(ids)
    return found
