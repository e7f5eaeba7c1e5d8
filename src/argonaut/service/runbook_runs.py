"""Creating runbook runs: a snapshot run in one environment as a ``RunbookRun`` task the engine runs.

Runbook runs ignore lifecycles; the runbook's ``EnvironmentScope`` decides where it may run, checked
when the run is created so the refusal names the environment while the user is still looking. Every
environment is checked before any run is made, so a request for several either makes them all or none.

Retention happens here too: creating a run deletes this runbook's older runs in that environment beyond
its ``RunRetentionPolicy`` (finished ones only), with their tasks and logs. Doing it as runs are made,
not on a schedule, bounds what a runbook keeps with no background job, and a runbook that is not run
has nothing new to trim.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from sqlalchemy.engine import RowMapping

from argonaut.domain.ids import Collection, format_id
from argonaut.domain.lifecycles import effective_phases, phases_from_json
from argonaut.domain.paging import MAX_TAKE
from argonaut.domain.runbooks import EnvironmentScope, PastRun, retention_victims, scope_refusal
from argonaut.domain.tasks import FINAL_STATES, TaskType
from argonaut.service.deployments import environment_refs
from argonaut.service.errors import Invalid
from argonaut.service.run_checks import check_machines, check_prompts, check_skips
from argonaut.store import (
    environments_repo,
    lifecycles_repo,
    projects_repo,
    runbooks_repo,
    tasks_repo,
)
from argonaut.store.common import Refused
from argonaut.store.connection import Conn

RUNBOOK_RUN_TASK = TaskType.RUNBOOK_RUN.value
_FINISHED = {state.value for state in FINAL_STATES}


@dataclass(frozen=True, slots=True)
class RunOptions:
    """What a run may say besides where: the same choices a deployment offers."""

    specific_machine_ids: Sequence[int] = ()
    excluded_machine_ids: Sequence[int] = ()
    skip_actions: Sequence[str] = ()
    form_values: Mapping[str, str] = field(default_factory=dict)
    use_guided_failure: bool = False
    comments: str | None = None


async def create_runs(
    conn: Conn,
    space_id: int,
    runbook: RowMapping,
    snapshot: RowMapping,
    environment_ids: Sequence[int],
    options: RunOptions,
    by: str,
) -> list[tuple[RowMapping, RowMapping]]:
    """One run and its queued task per environment (in the order given, repeats dropped); answers the
    run and task rows. The caller wakes the queue once the transaction commits."""
    if snapshot["runbook_id"] != runbook["id"]:
        raise Invalid(
            f"The snapshot '{format_id(Collection.RUNBOOK_SNAPSHOTS, int(snapshot['id']))}' is not a "
            f"snapshot of the runbook '{runbook['name']}'"
        )
    project = await projects_repo.get_project(conn, space_id, int(runbook["project_id"]))
    assert project is not None  # a runbook goes with its project
    if project["is_disabled"]:
        raise Refused(f"The project '{project['name']}' is disabled, so its runbooks cannot be run")
    environments = await _environments(conn, space_id, environment_ids)
    await _check_scope(conn, space_id, project, runbook, environments)
    await check_machines(conn, space_id, options.specific_machine_ids, options.excluded_machine_ids)
    await check_skips(conn, snapshot, options.skip_actions, "snapshot")
    await check_prompts(conn, space_id, snapshot, environments, options.form_values)
    return [await _create_run(conn, space_id, runbook, snapshot, e, options, by) for e in environments]


async def _create_run(
    conn: Conn,
    space_id: int,
    runbook: RowMapping,
    snapshot: RowMapping,
    environment: RowMapping,
    options: RunOptions,
    by: str,
) -> tuple[RowMapping, RowMapping]:
    environment_id = int(environment["id"])
    run_id = await runbooks_repo.create_run(
        conn,
        dict(
            space_id=space_id,
            project_id=int(runbook["project_id"]),
            runbook_id=int(runbook["id"]),
            snapshot_id=int(snapshot["id"]),
            environment_id=environment_id,
            name=f"Run on {environment['name']}",
            deployed_by=by,
            document={
                "SpecificMachineIds": [
                    format_id(Collection.MACHINES, m) for m in options.specific_machine_ids
                ],
                "ExcludedMachineIds": [
                    format_id(Collection.MACHINES, m) for m in options.excluded_machine_ids
                ],
                "SkipActions": list(options.skip_actions),
                "UseGuidedFailure": options.use_guided_failure,
                "FormValues": dict(options.form_values),
                "Comments": options.comments,
            },
        ),
    )
    task = await tasks_repo.create_task(
        conn,
        space_id,
        RUNBOOK_RUN_TASK,
        f"Run {runbook['name']} in {environment['name']}",
        {"RunbookRunId": format_id(Collection.RUNBOOK_RUNS, run_id)},
    )
    await runbooks_repo.set_run_task(conn, run_id, int(task["id"]))
    await _apply_retention(conn, runbook, environment_id)
    run = await runbooks_repo.get_run(conn, space_id, run_id)
    assert run is not None
    return run, task


async def _apply_retention(conn: Conn, runbook: RowMapping, environment_id: int) -> None:
    policy = (runbook["document"] or {}).get("RunRetentionPolicy") or {}
    if policy.get("ShouldKeepForever"):
        return
    keep = policy.get("QuantityToKeep")
    if isinstance(keep, int) and keep > 0:
        # Under the limit (the usual case), a count is all it takes.
        if await runbooks_repo.count_runs_in_environment(conn, int(runbook["id"]), environment_id) <= keep:
            return
    past = [
        PastRun(int(r["id"]), r["task_id"], r["task_state"] is None or r["task_state"] in _FINISHED)
        for r in await runbooks_repo.runs_in_environment(conn, int(runbook["id"]), environment_id)
    ]
    victims = retention_victims(past, policy)
    if victims:
        await runbooks_repo.delete_runs_with_tasks(
            conn, [v.run_id for v in victims], [v.task_id for v in victims if v.task_id is not None]
        )


async def _environments(conn: Conn, space_id: int, environment_ids: Sequence[int]) -> list[RowMapping]:
    if not environment_ids:
        raise Invalid("Please name the environment to run the runbook in")
    found = []
    for number in dict.fromkeys(environment_ids):
        row = await environments_repo.get(conn, space_id, number)
        if row is None:
            raise Invalid(f"The environment '{format_id(Collection.ENVIRONMENTS, number)}' does not exist")
        found.append(row)
    return found


async def _check_scope(
    conn: Conn, space_id: int, project: RowMapping, runbook: RowMapping, environments: Sequence[RowMapping]
) -> None:
    document = runbook["document"] or {}
    lifecycle_environments: set[str] = set()
    if document.get("EnvironmentScope") == EnvironmentScope.FROM_PROJECT_LIFECYCLES:
        lifecycle_environments = await project_lifecycle_environments(conn, space_id, project)
    for environment in environments:
        why = scope_refusal(
            str(runbook["name"]),
            document,
            format_id(Collection.ENVIRONMENTS, int(environment["id"])),
            str(environment["name"]),
            lifecycle_environments,
        )
        if why is not None:
            raise Invalid(why)


async def project_lifecycle_environments(conn: Conn, space_id: int, project: RowMapping) -> set[str]:
    """The environments of every phase of the project's lifecycle and its channels' lifecycles."""
    _, channels = await projects_repo.list_channels(
        conn, space_id, 0, MAX_TAKE, project_id=int(project["id"])
    )
    lifecycle_ids = {int(project["lifecycle_id"])} | {
        int(c["lifecycle_id"]) for c in channels if c["lifecycle_id"]
    }
    refs = await environment_refs(conn, space_id)
    found: set[str] = set()
    for lifecycle_id in lifecycle_ids:
        lifecycle = await lifecycles_repo.get(conn, space_id, lifecycle_id)
        if lifecycle is None:
            continue
        phases = phases_from_json((lifecycle["document"] or {}).get("Phases") or [])
        found.update(e for phase in effective_phases(phases, refs) for e in phase.environment_ids)
    return found


async def delete_run(conn: Conn, space_id: int, run: RowMapping) -> None:
    """The run alone; its task stays, as a deleted deployment's does."""
    await runbooks_repo.delete_run(conn, space_id, int(run["id"]))


async def run_snapshot(
    conn: Conn,
    space_id: int,
    runbook_id: int | None,
    snapshot_id: int,
    environment_id: int,
    options: RunOptions,
    by: str,
) -> tuple[RowMapping, RowMapping]:
    """``POST /runbookRuns``: one run of a named snapshot (of ``runbook_id`` when given) in one
    environment; answers the run and task rows."""
    snapshot = await runbooks_repo.get_snapshot(conn, space_id, snapshot_id)
    if snapshot is None:
        raise Invalid(f"The snapshot '{format_id(Collection.RUNBOOK_SNAPSHOTS, snapshot_id)}' does not exist")
    runbook = await runbooks_repo.get_runbook(conn, space_id, runbook_id or int(snapshot["runbook_id"]))
    if runbook is None:
        raise Invalid(f"The runbook '{format_id(Collection.RUNBOOKS, runbook_id or 0)}' does not exist")
    (created,) = await create_runs(conn, space_id, runbook, snapshot, [environment_id], options, by)
    return created
