"""Steps that start other work and wait for it: ``Octopus.DeployRelease`` (a child deployment) and
``Argonaut.RunRunbook`` (a runbook run).

Both run inside the server, on no worker, and wait inside ``TaskRun.waiting()``: the parent holds no
worker lease and no task-cap slot while its child runs, so a child that needs the parent's slot (task
cap 1) or the parent's worker to itself still runs — the deadlocks the described system's users keep
hitting (OctopusDeploy/Issues#8531, #7598, OctopusDeploy/Library#892) cannot happen. The child's id is
kept in the parent's stored cursor as soon as it exists, so a parent resumed after a restart waits for
the same child instead of starting another. Cancelling the parent leaves the child running, as in the
described system.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Mapping
from typing import Any, Protocol, runtime_checkable

from sqlalchemy.engine import RowMapping

from argonaut.domain.ids import Collection, format_id, parse_id
from argonaut.domain.processes import Action, Step
from argonaut.domain.substitution import substitute
from argonaut.domain.tasks import TaskState
from argonaut.orchestrator.process_run import ProcessRun, Spot
from argonaut.service import runbooks
from argonaut.service.deployments import NewDeployment, create_deployment
from argonaut.service.errors import Invalid
from argonaut.store import (
    Store,
    environments_repo,
    projects_repo,
    releases_repo,
    runbooks_repo,
    tasks_repo,
)
from argonaut.store.common import Conflict, Refused

POLL_S = 0.25
DEPLOY_RELEASE = "Octopus.Action.DeployRelease"
RUN_RUNBOOK = "Argonaut.Action.RunRunbook"
_FINISHED = {
    TaskState.SUCCESS.value,
    TaskState.FAILED.value,
    TaskState.CANCELED.value,
    TaskState.TIMED_OUT.value,
}


@runtime_checkable
class _Located(Protocol):
    """What these steps need of the run they are part of (deployments and runbook runs have it)."""

    @property
    def environment_id(self) -> str: ...

    @property
    def project_number(self) -> int: ...


class ChildRuns:
    """The performers of both step types; ``wake`` tells the task queue a child was queued."""

    def __init__(self, store: Store, wake: Callable[[], None]) -> None:
        self._store = store
        self._wake = wake

    # -- Octopus.DeployRelease -------------------------------------------------------------------------

    async def deploy_release(
        self, process: ProcessRun, step: Step, action: Action, spot: Spot, parent: str
    ) -> str | None:
        run = process.run
        variables, _ = process.source.spot_variables(step, action, spot, process.state)
        note = process.state.notes.get(spot.key) or {}
        if "TaskId" not in note:
            started = await self._start_child_deployment(process, action, variables, parent)
            if isinstance(started, str):
                return started
            if started is None:
                return None  # nothing to deploy under the step's condition
            process.state.notes[spot.key] = note = started
            await process.persist()
        task_id = int(note["TaskId"])
        run.log.write(
            parent, "Wait", f"Waiting for the child deployment {note['DeploymentId']} (ServerTasks-{task_id})"
        )
        task = await self._wait_for(process, task_id)
        if task["state"] != TaskState.SUCCESS.value:
            return (
                f"The child deployment {note['DeploymentId']} ended {task['state']}: {task['error_message']}"
            )
        self._copy_outputs(process, action, spot, task)
        run.log.write(parent, "Info", f"The child deployment {note['DeploymentId']} succeeded")
        return None

    async def _start_child_deployment(
        self, process: ProcessRun, action: Action, variables: Mapping[str, str], parent: str
    ) -> dict[str, Any] | str | None:
        props = {k: substitute(v, variables) for k, v in action.properties.items()}
        space_id = process.source.space_id
        environment = parse_id(Collection.ENVIRONMENTS, _located(process).environment_id)
        assert environment is not None
        project_text = props.get(f"{DEPLOY_RELEASE}.ProjectId", "")
        condition = props.get(f"{DEPLOY_RELEASE}.DeploymentCondition") or "Always"
        try:
            async with self._store.transaction() as conn:
                project = await _project(conn, space_id, project_text)
                release = await _release(
                    conn, space_id, project, props.get(f"{DEPLOY_RELEASE}.ReleaseVersion")
                )
                current = await _current(conn, space_id, int(project["id"]), environment)
                skip = _skip_reason(condition, str(release["version"]), current)
                if skip is not None:
                    process.run.log.write(
                        parent, "Info", f"Not deploying {project['name']} {release['version']}: {skip}"
                    )
                    return None
                new = NewDeployment(
                    int(release["id"]),
                    environment,
                    form_values=_pairs(props.get(f"{DEPLOY_RELEASE}.Variables", "")),
                    comments=f"Deployed by {format_id(Collection.SERVER_TASKS, process.run.task_id)}",
                )
                by = format_id(Collection.SERVER_TASKS, process.run.task_id)
                deployment, task = await create_deployment(conn, space_id, new, by)
        except (Invalid, Refused, Conflict) as exc:
            message = getattr(exc, "message", str(exc))
            process.run.log.write(parent, "Error", message)
            return message
        self._wake()
        process.run.log.write(
            parent,
            "Info",
            f"Deploying {project['name']} {release['version']} as "
            f"{format_id(Collection.DEPLOYMENTS, int(deployment['id']))}",
        )
        return {
            "DeploymentId": format_id(Collection.DEPLOYMENTS, int(deployment["id"])),
            "TaskId": int(task["id"]),
        }

    # -- Argonaut.RunRunbook ---------------------------------------------------------------------------

    async def run_runbook(
        self, process: ProcessRun, step: Step, action: Action, spot: Spot, parent: str
    ) -> str | None:
        """Run a runbook of this or another project (the published snapshot, the latest one or the draft)
        in this environment or a named one, with prompted values; wait for it unless told not to."""
        run = process.run
        variables, _ = process.source.spot_variables(step, action, spot, process.state)
        props = {k: substitute(v, variables) for k, v in action.properties.items()}
        note = process.state.notes.get(spot.key) or {}
        if "TaskId" not in note:
            started = await self._start_runbook_run(process, props, parent)
            if isinstance(started, str):
                return started
            process.state.notes[spot.key] = note = started
            await process.persist()
        if props.get(f"{RUN_RUNBOOK}.WaitForFinish", "True").strip().casefold() == "false":
            run.log.write(parent, "Info", f"Not waiting for {note['RunbookRunId']}, as the step says")
            return None
        task_id = int(note["TaskId"])
        run.log.write(
            parent, "Wait", f"Waiting for the runbook run {note['RunbookRunId']} (ServerTasks-{task_id})"
        )
        task = await self._wait_for(process, task_id)
        if task["state"] != TaskState.SUCCESS.value:
            return f"The runbook run {note['RunbookRunId']} ended {task['state']}: {task['error_message']}"
        run.log.write(parent, "Info", f"The runbook run {note['RunbookRunId']} succeeded")
        return None

    async def _start_runbook_run(
        self, process: ProcessRun, props: Mapping[str, str], parent: str
    ) -> dict[str, Any] | str:
        space_id = process.source.space_id
        located = _located(process)
        try:
            async with self._store.transaction() as conn:
                runbook = await _runbook(
                    conn, space_id, props.get(f"{RUN_RUNBOOK}.ProjectId", ""), located, props
                )
                environment = await _environment(
                    conn, space_id, props.get(f"{RUN_RUNBOOK}.EnvironmentId"), located
                )
                which = (props.get(f"{RUN_RUNBOOK}.Snapshot") or "Published").strip().casefold()
                snapshot_id = None
                if which == "latest":
                    _, rows = await runbooks_repo.list_snapshots(
                        conn, space_id, 0, 1, runbook_id=int(runbook["id"])
                    )
                    snapshot_id = int(rows[0]["id"]) if rows else None
                by = format_id(Collection.SERVER_TASKS, process.run.task_id)
                runs = await runbooks.run_runbook(
                    conn,
                    space_id,
                    int(runbook["id"]),
                    [environment],
                    by,
                    snapshot_id,
                    draft=which == "draft" or (which == "latest" and snapshot_id is None),
                    form_values=_pairs(props.get(f"{RUN_RUNBOOK}.PromptedVariables", "")),
                )
        except (Invalid, Refused, Conflict) as exc:
            message = getattr(exc, "message", str(exc))
            process.run.log.write(parent, "Error", message)
            return message
        self._wake()
        (run_row, task), *_ = runs
        run_id = format_id(Collection.RUNBOOK_RUNS, int(run_row["id"]))
        process.run.log.write(parent, "Info", f"Running the runbook '{runbook['name']}' as {run_id}")
        return {"RunbookRunId": run_id, "TaskId": int(task["id"])}

    # -- waiting ---------------------------------------------------------------------------------------

    async def _wait_for(self, process: ProcessRun, task_id: int) -> RowMapping:
        """Wait for a child task to end, holding no task-cap slot and no worker meanwhile."""
        async with process.run.waiting():
            while True:
                async with self._store.transaction() as conn:
                    task = await tasks_repo.get(conn, task_id)
                if task is None:
                    raise Invalid(f"The child task ServerTasks-{task_id} was deleted")
                if task["state"] in _FINISHED:
                    return task
                await asyncio.sleep(POLL_S)

    def _copy_outputs(self, process: ProcessRun, action: Action, spot: Spot, task: RowMapping) -> None:
        """A child's outputs become the parent step's: ``Octopus.Action[Parent].Output.Deployment[Child].X``
        and ``…Output.Deployment[Child][Machine].X``."""
        outputs = []
        for output in (task["process_state"] or {}).get("Outputs") or []:
            value = {"Value": output["Value"], "IsSensitive": bool(output.get("IsSensitive"))}
            child = f"Deployment[{output['Action']}]"
            outputs.append({"Name": f"{child}.{output['Name']}", **value})
            if output.get("Machine"):
                outputs.append({"Name": f"{child}[{output['Machine']}].{output['Name']}", **value})
        process.keep_outputs(action, spot, outputs)
        process.run.output_variables.extend({**o, "Machine": None} for o in outputs)


def _located(process: ProcessRun) -> _Located:
    """Deployments and runbook runs both say where they run; nothing else has these steps."""
    source = process.source
    assert isinstance(source, _Located)
    return source


async def _runbook(
    conn: Any, space_id: int, project_text: str, located: _Located, props: Mapping[str, str]
) -> RowMapping:
    """The runbook by id, or by name within the named project (this run's project when none is named)."""
    text = props.get(f"{RUN_RUNBOOK}.RunbookId", "").strip()
    number = parse_id(Collection.RUNBOOKS, text)
    if number is not None:
        found = await runbooks_repo.get_runbook(conn, space_id, number)
    else:
        project = await _project(conn, space_id, project_text) if project_text else None
        project_id = int(project["id"]) if project is not None else located.project_number
        found = await runbooks_repo.find_runbook_by_name(conn, project_id, text) if text else None
    if found is None:
        raise Invalid(f"The runbook '{text}' to run does not exist ({RUN_RUNBOOK}.RunbookId)")
    return found


async def _environment(conn: Any, space_id: int, text: str | None, located: _Located) -> int:
    """The named environment (id or name), else this run's."""
    if not text or not text.strip():
        number = parse_id(Collection.ENVIRONMENTS, located.environment_id)
        assert number is not None
        return number
    number = parse_id(Collection.ENVIRONMENTS, text)
    row = (
        await environments_repo.get(conn, space_id, number)
        if number is not None
        else await environments_repo.find_by_name(conn, space_id, text)
    )
    if row is None:
        raise Invalid(f"The environment '{text}' to run the runbook in does not exist")
    return int(row["id"])


async def _project(conn: Any, space_id: int, text: str) -> RowMapping:
    number = parse_id(Collection.PROJECTS, text)
    project = (
        await projects_repo.get_project(conn, space_id, number)
        if number is not None
        else await projects_repo.find_project_by_name(conn, space_id, text)
    )
    if project is None:
        raise Invalid(
            f"The project '{text}' to deploy does not exist (Octopus.Action.DeployRelease.ProjectId)"
        )
    return project


async def _release(conn: Any, space_id: int, project: RowMapping, version: str | None) -> RowMapping:
    if version:
        release = await releases_repo.find_release(conn, int(project["id"]), version)
        if release is None:
            raise Invalid(f"The project '{project['name']}' has no release '{version}'")
        return release
    _, rows = await releases_repo.list_releases(conn, space_id, 0, 1, project_id=int(project["id"]))
    if not rows:
        raise Invalid(f"The project '{project['name']}' has no release to deploy")
    return rows[0]


async def _current(conn: Any, space_id: int, project_id: int, environment_id: int) -> str | None:
    """The version the environment runs now: its latest successful deployment of the project."""
    _, rows = await releases_repo.list_deployments(
        conn,
        space_id,
        0,
        1,
        project_ids=[project_id],
        environment_ids=[environment_id],
        task_states=["Success"],
    )
    if not rows:
        return None
    release = await releases_repo.get_release(conn, space_id, int(rows[0]["release_id"]))
    return str(release["version"]) if release is not None else None


def _skip_reason(condition: str, version: str, current: str | None) -> str | None:
    if (
        condition == "IfNotCurrentVersion"
        and current is not None
        and current.casefold() == version.casefold()
    ):
        return f"{version} is already the current version there"
    if condition == "IfNewer" and current is not None and _version_key(version) <= _version_key(current):
        return f"{version} is not newer than the current version {current}"
    return None


def _version_key(version: str) -> tuple[tuple[int, ...], int, str]:
    """Numbers compare as numbers; a pre-release sorts before its release (1.0-beta < 1.0)."""
    core, _, pre = version.partition("+")[0].partition("-")
    numbers = tuple(int(p) if p.isdigit() else 0 for p in core.split("."))
    padded = numbers + (0,) * (4 - len(numbers))
    return padded, (0 if pre else 1), pre


def _pairs(text: str) -> dict[str, str]:
    """``Name=Value`` (or ``Name::Value``) lines, as the described system's steps take them."""
    found = {}
    for line in text.splitlines():
        match = re.match(r"^\s*([^=:]+?)\s*(?:=|::)\s*(.*)$", line)
        if match:
            found[match.group(1)] = match.group(2)
    return found
