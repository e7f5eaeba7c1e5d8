"""The command route CI integrations call to run a runbook by names (``runbook-runs/create/v1``): names
are resolved here, then :func:`argonaut.service.runbooks.run_runbook` does the work, so both ways of
asking follow the same rules."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlalchemy.engine import RowMapping

from argonaut.service import names, runbook_snapshots
from argonaut.service.errors import Invalid
from argonaut.service.runbooks import published_snapshot, run_runbook
from argonaut.store import runbooks_repo
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
    project = await names.project(conn, space_id, project_name)
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
    environment_ids = await names.environment_ids(conn, space_id, environment_names)
    return await run_runbook(
        conn,
        space_id,
        int(runbook["id"]),
        environment_ids,
        by,
        int(chosen["id"]),
        specific_machine_ids=[await names.machine(conn, space_id, n) for n in specific_machine_names],
        excluded_machine_ids=[await names.machine(conn, space_id, n) for n in excluded_machine_names],
        skip_actions=await names.action_ids(conn, chosen, skip_step_names, "snapshot"),
        form_values=variables,
        use_guided_failure=use_guided_failure,
    )
