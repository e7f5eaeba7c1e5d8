"""The variables a deployment's script sees: the system variables of the described system, the
project's variables as they apply where the script runs, and what earlier steps left as output.

Project variables resolve per place (the most specific scope wins, ``domain.variables``); system
variables then say where and what the script is, and outputs of earlier steps come last, so a script
always reads the run's real facts. Values holding ``#{…}`` are expanded before the script gets them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol

from argonaut.domain.ids import Collection, format_id
from argonaut.domain.processes import Action, Step
from argonaut.domain.substitution import substitute
from argonaut.domain.variables import ScopeContext, all_values
from argonaut.orchestrator.deployment_context import RunContext
from argonaut.orchestrator.queue import TaskRun

DEFAULT_WINDOW = 10
MAX_PARALLELISM = "Octopus.Action.MaxParallelism"


class SpotLike(Protocol):
    @property
    def kind(self) -> str: ...
    @property
    def target_id(self) -> str | None: ...
    @property
    def worker_id(self) -> str | None: ...
    @property
    def pool_id(self) -> str | None: ...
    @property
    def label(self) -> str: ...


class StateLike(Protocol):
    @property
    def failure(self) -> str | None: ...
    @property
    def outputs(self) -> list[dict[str, Any]] | None: ...
    @property
    def numbers(self) -> dict[str, str]: ...


class VariableBuilder:
    def __init__(self, context: RunContext, run: TaskRun, decrypt: Callable[[str], str]) -> None:
        self._context = context
        self._decrypt = decrypt
        self._base = _system_variables(context, run)
        self._numbers = {step.id: n for n, step in enumerate(context.steps, start=1)}

    def window(self, step: Step, action: Action) -> int:
        """The rolling window: the step's MaxParallelism, else a project variable of that name, else 10."""
        if step.max_parallelism:
            return step.max_parallelism
        values, _ = all_values(self._context.variables, self._scope(step, action, None))
        text = values.get(MAX_PARALLELISM, "")
        return int(text) if text.strip().isdigit() and int(text) > 0 else DEFAULT_WINDOW

    def for_step(self, step: Step, state: StateLike) -> dict[str, str]:
        """What a step's run condition is evaluated against (no machine yet)."""
        values, _ = all_values(self._context.variables, self._scope(step, None, None))
        merged = values | self._base | self._step_variables(step) | self._outputs(state, None)
        return self._expanded(merged | self._error(state))

    def for_spot(
        self, step: Step, action: Action, spot: SpotLike, state: StateLike
    ) -> tuple[dict[str, str], frozenset[str]]:
        """The variables of one action in one place, and which of them are sensitive (to mask)."""
        target = self._context.target_rows.get(spot.target_id or "")
        values, sensitive = all_values(self._context.variables, self._scope(step, action, target))
        merged = (
            values
            | self._base
            | self._step_variables(step)
            | self._action_variables(action, state)
            | self._machine_variables(spot, target)
            | self._outputs(state, spot.target_id)
            | self._error(state)
        )
        secret_outputs = self._output_names(state, sensitive_only=True)
        return self._expanded(merged), frozenset(sensitive | secret_outputs | action.sensitive_properties)

    # -- pieces --------------------------------------------------------------------------------------

    def _scope(self, step: Step, action: Action | None, target: Mapping[Any, Any] | None) -> ScopeContext:
        context = self._context
        return ScopeContext(
            environment_id=context.environment_id,
            machine_id=format_id(Collection.MACHINES, int(target["id"])) if target is not None else None,
            machine_roles=frozenset(str(r) for r in (target["roles"] if target is not None else [])),
            step_roles=frozenset(step.target_roles),
            action_id=action.id if action is not None else None,
            channel_id=context.channel_id,
            process_owner_id=context.process_owner_id,
        )

    def _step_variables(self, step: Step) -> dict[str, str]:
        return {
            "Octopus.Step.Id": step.id,
            "Octopus.Step.Name": step.name,
            "Octopus.Step.Number": str(self._numbers.get(step.id, "")),
        }

    def _action_variables(self, action: Action, state: StateLike) -> dict[str, str]:
        # Every property is a variable: the described system's own (Octopus.Action.*) and a step
        # template's parameters, which scripts read by their names.
        found = dict(action.properties)
        return found | {
            "Octopus.Action.Id": action.id,
            "Octopus.Action.Name": action.name,
            "Octopus.Action.Number": state.numbers.get(action.id, ""),
        }

    def _machine_variables(self, spot: SpotLike, target: Mapping[Any, Any] | None) -> dict[str, str]:
        found: dict[str, str] = {}
        if target is not None:
            roles = [str(r) for r in target["roles"] or []]
            found |= {
                "Octopus.Machine.Id": format_id(Collection.MACHINES, int(target["id"])),
                "Octopus.Machine.Name": str(target["name"]),
                "Octopus.Machine.Roles": ",".join(roles),
            }
            host = _hostname(target["endpoint"] or {})
            if host:
                found["Octopus.Machine.Hostname"] = host
        if spot.pool_id:
            found |= {
                "Octopus.WorkerPool.Id": spot.pool_id,
                "Octopus.WorkerPool.Name": self._context.pool_names.get(spot.pool_id, ""),
            }
        if spot.worker_id:
            found["Octopus.Worker.Id"] = spot.worker_id
        return found

    def _outputs(self, state: StateLike, machine_id: str | None) -> dict[str, str]:
        """Earlier steps' outputs: ``Octopus.Action[S].Output[M].X`` always, and ``…Output.X`` with the
        value from this machine when it set one, else the last one written."""
        found: dict[str, str] = {}
        own: dict[str, str] = {}
        for output in state.outputs or []:
            value = self._value(output)
            base = f"Octopus.Action[{output['Action']}].Output"
            if output.get("Machine"):
                found[f"{base}[{output['Machine']}].{output['Name']}"] = value
            found[f"{base}.{output['Name']}"] = value
            if machine_id is not None and output.get("MachineId") == machine_id:
                own[f"{base}.{output['Name']}"] = value
        return found | own

    def _output_names(self, state: StateLike, sensitive_only: bool) -> set[str]:
        names = set()
        for output in state.outputs or []:
            if sensitive_only and not output.get("IsSensitive"):
                continue
            base = f"Octopus.Action[{output['Action']}].Output"
            names.add(f"{base}.{output['Name']}")
            if output.get("Machine"):
                names.add(f"{base}[{output['Machine']}].{output['Name']}")
        return names

    def _value(self, output: Mapping[str, Any]) -> str:
        value = str(output.get("Value") or "")
        return self._decrypt(value) if output.get("IsSensitive") else value

    @staticmethod
    def _error(state: StateLike) -> dict[str, str]:
        if state.failure is None:
            return {}
        return {"Octopus.Deployment.Error": state.failure, "Octopus.Deployment.ErrorDetail": state.failure}

    @staticmethod
    def _expanded(variables: dict[str, str]) -> dict[str, str]:
        return {
            name: substitute(value, variables) if "#{" in value else value
            for name, value in variables.items()
        }


def _hostname(endpoint: Mapping[str, Any]) -> str:
    if endpoint.get("Host"):
        return str(endpoint["Host"])
    uri = str(endpoint.get("Uri") or "")
    if uri.startswith("https://"):
        return uri.removeprefix("https://").split("/")[0].rsplit(":", 1)[0]
    return ""


def _system_variables(context: RunContext, run: TaskRun) -> dict[str, str]:
    project, environment, run_row = context.project, context.environment, context.run_row
    document = run_row["document"] or {}
    variables = {
        "Octopus.Task.Id": format_id(Collection.SERVER_TASKS, run.task_id),
        "Octopus.Task.Name": str(run.row["description"]),
        "Octopus.Space.Id": format_id(Collection.SPACES, context.space_id),
        "Octopus.Space.Name": context.space_name,
        "Octopus.Project.Id": format_id(Collection.PROJECTS, int(project["id"])),
        "Octopus.Project.Name": str(project["name"]),
        "Octopus.ProjectGroup.Id": format_id(Collection.PROJECT_GROUPS, int(project["project_group_id"])),
        "Octopus.Environment.Id": context.environment_id,
        "Octopus.Environment.Name": str(environment["name"]),
        "Octopus.Environment.SortOrder": str(environment["sort_order"]),
    }
    variables |= _runbook_variables(context) if context.is_runbook_run else _deployment_variables(context)
    roles: dict[str, list[str]] = {}
    for target_id, row in context.target_rows.items():
        for role in row["roles"] or []:
            roles.setdefault(str(role), []).append(target_id)
    for role, ids in roles.items():
        variables[f"Octopus.Environment.MachinesInRole[{role}]"] = ",".join(ids)
    for name, value in (document.get("FormValues") or {}).items():
        variables.setdefault(str(name), str(value))
    return variables


def _deployment_variables(context: RunContext) -> dict[str, str]:
    release, deployment = context.release, context.run_row
    assert release is not None
    document = deployment["document"] or {}
    return {
        "Octopus.Release.Id": format_id(Collection.RELEASES, int(release["id"])),
        "Octopus.Release.Number": str(release["version"]),
        "Octopus.Release.Notes": str(release["release_notes"] or ""),
        "Octopus.Release.Created": _when(release["assembled"]),
        "Octopus.Release.Channel.Name": str(context.channel["name"]) if context.channel is not None else "",
        "Octopus.Deployment.Id": context.run_id,
        "Octopus.Deployment.Name": str(deployment["name"]),
        "Octopus.Deployment.Comments": str(document.get("Comments") or ""),
        "Octopus.Deployment.Created": _when(deployment["created"]),
        "Octopus.Deployment.CreatedBy.Username": str(deployment["deployed_by"]),
        "Octopus.Deployment.SpecificMachines": ",".join(document.get("SpecificMachineIds") or []),
        "Octopus.Deployment.ExcludedMachines": ",".join(document.get("ExcludedMachineIds") or []),
        "Octopus.Deployment.Machines": ",".join(context.target_rows),
    }


def _runbook_variables(context: RunContext) -> dict[str, str]:
    runbook, snapshot, run_row = context.runbook, context.snapshot, context.run_row
    assert runbook is not None and snapshot is not None
    return {
        "Octopus.Runbook.Id": format_id(Collection.RUNBOOKS, int(runbook["id"])),
        "Octopus.Runbook.Name": str(runbook["name"]),
        "Octopus.RunbookRun.Id": context.run_id,
        "Octopus.RunbookRun.Name": str(run_row["name"]),
        "Octopus.RunbookRun.Created": _when(run_row["created"]),
        "Octopus.RunbookRun.CreatedUtc": _when(run_row["created"]),
        "Octopus.RunbookRun.CreatedBy.Username": str(run_row["deployed_by"]),
        "Octopus.RunbookSnapshot.Id": format_id(Collection.RUNBOOK_SNAPSHOTS, int(snapshot["id"])),
        "Octopus.RunbookSnapshot.Name": str(snapshot["name"]),
        "Octopus.RunbookSnapshot.Notes": str(snapshot["notes"] or ""),
    }


def _when(moment: Any) -> str:
    return moment.isoformat() if moment is not None else ""
