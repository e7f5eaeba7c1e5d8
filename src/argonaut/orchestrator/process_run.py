"""A process run: a deployment's steps, in order, each action in the places the planner chose.

The plan is made once, when the task starts (workers are chosen at the start of a deployment, as the
described system does), and stored with the task beside the step cursor: which steps ended, how, and the
output variables they left for later steps. Every script goes through :class:`ActionRunner` and is
recorded before it starts, so a node that restarts (or another node taking the task over) carries on at
the step where the run stopped: it follows the scripts still running, starts what never started, and
never re-runs a step that ended.
"""

from __future__ import annotations

import asyncio
import secrets
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from argonaut.domain.ids import Collection, parse_id
from argonaut.domain.placement import PlacementKind, Plan, plan_deployment
from argonaut.domain.processes import Action, Step, StepCondition, parallel_groups, should_run
from argonaut.domain.scripts import BuiltInTarget, ScriptJob, Target, WorkerTarget, WorkerUnreachable
from argonaut.domain.substitution import evaluate_condition
from argonaut.domain.tasks import TaskState
from argonaut.domain.workers import BuiltInWorker
from argonaut.orchestrator.action_runner import ActionRunner, RecordedRun, Remaining
from argonaut.orchestrator.deployment_context import (
    DeploymentContextLoader,
    RunContext,
    StepsFor,
    VariablesFor,
)
from argonaut.orchestrator.dispatcher import Dispatcher
from argonaut.orchestrator.health import WorkerHealth
from argonaut.orchestrator.process_variables import VariableBuilder
from argonaut.orchestrator.queue import TaskRun, Verdict
from argonaut.store import Store, leases_repo, pools_repo, script_runs_repo, tasks_repo, workers_repo
from argonaut.store.script_runs_repo import ScriptRun

STEP_WINDOW = 10  # at most this many StartWithPrevious steps at once (Octopus.Action.MaxParallelism)
FIRST_CHECK_TIMEOUT_S = 60.0
MUTEX_BYPASS = "OctopusBypassDeploymentMutex"


@dataclass(frozen=True, slots=True)
class Spot:
    """One place one action runs, as chosen at the start and stored with the task."""

    key: str  # "<step index>/<action id>/<n>": names the run across restarts
    kind: str
    label: str
    target_id: str | None = None  # the deployment target the action runs on or for
    worker_id: str | None = None  # the worker it runs on (Worker, WorkerForTarget)
    built_in: bool = False
    pool_id: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "Key": self.key,
            "Kind": self.kind,
            "Label": self.label,
            "TargetId": self.target_id,
            "WorkerId": self.worker_id,
            "BuiltIn": self.built_in,
            "PoolId": self.pool_id,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Spot:
        return cls(
            str(data["Key"]),
            str(data["Kind"]),
            str(data["Label"]),
            data.get("TargetId"),
            data.get("WorkerId"),
            bool(data.get("BuiltIn")),
            data.get("PoolId"),
        )


@dataclass
class _State:
    """The stored cursor of a process run (``tasks.process_state``)."""

    spots: dict[str, list[Spot]]  # action id -> where it runs
    skipped: dict[str, str]  # action id -> why it does not run
    numbers: dict[str, str]  # action id -> its number ("2", "3.1")
    steps: dict[str, dict[str, Any]]  # step index -> {"Status", "Activity"}
    failure: str | None = None
    outputs: list[dict[str, Any]] | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "Spots": {a: [s.to_json() for s in spots] for a, spots in self.spots.items()},
            "Skipped": self.skipped,
            "Numbers": self.numbers,
            "Steps": self.steps,
            "Failure": self.failure,
            "Outputs": self.outputs or [],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> _State:
        return cls(
            {a: [Spot.from_json(s) for s in spots] for a, spots in (data.get("Spots") or {}).items()},
            dict(data.get("Skipped") or {}),
            dict(data.get("Numbers") or {}),
            dict(data.get("Steps") or {}),
            data.get("Failure"),
            list(data.get("Outputs") or []),
        )


class ProcessRuns:
    """The executor of ``Deploy`` tasks."""

    def __init__(
        self,
        store: Store,
        dispatcher: Dispatcher,
        health: WorkerHealth,
        built_in_enabled: bool,
        artifacts_dir: Path,
        encrypt: Callable[[str], str],
        decrypt: Callable[[str], str],
        variables_for: VariablesFor,
        steps_for: StepsFor,
    ) -> None:
        self._store = store
        self._dispatcher = dispatcher
        self._health = health
        self._built_in_enabled = built_in_enabled
        self._artifacts_dir = artifacts_dir
        self._encrypt = encrypt
        self._decrypt = decrypt
        self._contexts = DeploymentContextLoader(store, variables_for, steps_for, built_in_enabled)
        self._runner = ActionRunner(store, dispatcher, artifacts_dir, encrypt)

    async def run(self, run: TaskRun) -> Verdict:
        context = await self._contexts.load(run)
        if isinstance(context, Verdict):
            return context
        state = await self._plan_until_ready(run, context)
        if isinstance(state, Verdict):
            return state
        return await _Execution(self, run, context, state, {}).execute()

    async def resume(self, run: TaskRun, scripts: Sequence[ScriptRun]) -> Verdict:
        """Carry on after a restart from the stored cursor: steps that ended stay ended."""
        context = await self._contexts.load(run)
        if isinstance(context, Verdict):
            return context
        stored = run.row["process_state"]
        if not stored:
            return Verdict(TaskState.FAILED, "The deployment stopped before it was planned; deploy again")
        state = _State.from_json(dict(stored))
        run.took_leases = True
        for script in scripts:
            run.track(script.activity, script.handle)
        done = sum(1 for s in state.steps.values() if s.get("Status") not in (None, "Running"))
        previous = run.taken_from or run.row["server_node"]
        why = (
            "The server node restarted"
            if previous == run.row["server_node"]
            else f"The server node '{previous}' stopped; '{run.row['server_node']}' took the task over"
        )
        run.log.write(
            run.root_activity, "Info", f"{why}: carrying on after {done} finished step(s), none run again"
        )
        recorded = {str(s.step.get("Key")): s for s in scripts if s.step.get("Key")}
        return await _Execution(self, run, context, state, recorded).execute()

    # -- planning ------------------------------------------------------------------------------------

    async def _plan_until_ready(self, run: TaskRun, context: RunContext) -> _State | Verdict:
        checked: set[str] = set()
        waited = 0
        while True:
            async with self._store.transaction() as conn:
                pools = await pools_repo.all_pools_with_members(conn, context.space_id)
            plan = plan_deployment(context.steps, context.targets, context.pools(pools), context.planning)
            unchecked = {*plan.unchecked_worker_ids, *plan.unchecked_target_ids} - checked
            if plan.problems and unchecked:
                # Machines nobody has checked yet: check them now rather than fail the deployment.
                checked |= unchecked
                await self._first_checks(run, context, sorted(unchecked))
                await self._contexts.refresh_targets(context)
                continue
            if plan.problems and plan.busy and waited < 600:
                if waited == 0:
                    run.log.write(run.root_activity, "Wait", "Waiting for a worker: every one is busy")
                await asyncio.sleep(min(2.0, 0.1 * 2 ** min(waited, 5)))
                waited += 1
                continue
            if plan.problems:
                for problem in plan.problems:
                    run.log.write(run.root_activity, "Fatal", problem)
                return Verdict(TaskState.FAILED, "; ".join(plan.problems))
            state = _state_of(plan)
            async with self._store.transaction() as conn:
                await tasks_repo.save_process_state(conn, run.task_id, state.to_json())
            return state

    async def _first_checks(self, run: TaskRun, context: RunContext, machine_ids: list[str]) -> None:
        numbers = [
            n
            for m in machine_ids
            if (n := parse_id(Collection.WORKERS, m) or parse_id(Collection.MACHINES, m)) is not None
        ]
        async with self._store.transaction() as conn:
            rows = [r for n in numbers if (r := await workers_repo.machine_row(conn, context.space_id, n))]
            policies = await self._health.policies(conn, context.space_id, rows)
        names = ", ".join(f"'{r['name']}'" for r in rows)
        run.log.write(run.root_activity, "Wait", f"Checking the health of {names} first: never checked yet")

        def say(category: str, text: str) -> None:
            run.log.write(run.root_activity, category, text)

        await asyncio.gather(
            *(
                self._health.check(
                    run.task_id, row, policies[row["machine_policy_id"]], say, FIRST_CHECK_TIMEOUT_S
                )
                for row in rows
            )
        )


def _state_of(plan: Plan) -> _State:
    state = _State({}, {}, {}, {}, None, [])
    for planned_step in plan.steps:
        for planned in planned_step.actions:
            action_id = planned.action.id
            state.numbers[action_id] = planned.number
            if planned.skipped:
                state.skipped[action_id] = planned.skipped
                continue
            spots = []
            for n, placement in enumerate(planned.placements):
                worker = placement.worker
                spots.append(
                    Spot(
                        key=f"{planned_step.number}/{action_id}/{n}",
                        kind=placement.kind.value,
                        label=placement.label,
                        target_id=placement.target_id,
                        worker_id=None if worker is None or isinstance(worker, BuiltInWorker) else worker.id,
                        built_in=isinstance(worker, BuiltInWorker),
                        pool_id=placement.pool_id,
                    )
                )
            state.spots[action_id] = spots
    return state


class _Execution:
    """One pass over the process, from the stored cursor to the end."""

    def __init__(
        self,
        owner: ProcessRuns,
        run: TaskRun,
        context: RunContext,
        state: _State,
        recorded: dict[str, ScriptRun],
    ) -> None:
        self._owner = owner
        self._run = run
        self._context = context
        self._state = state
        self._recorded = recorded
        self._variables = VariableBuilder(context, run, owner._decrypt)
        self._save = asyncio.Lock()

    async def execute(self) -> Verdict:
        run, steps = self._run, self._context.steps
        numbers = {step.id: n for n, step in enumerate(steps, start=1)}
        for group in parallel_groups(steps):
            window = asyncio.Semaphore(STEP_WINDOW)

            async def one(step: Step, window: asyncio.Semaphore = window) -> None:
                async with window:
                    await self._step(step, numbers[step.id])

            await asyncio.gather(*(one(step) for step in group))
        if self._state.failure:
            return Verdict(TaskState.FAILED, self._state.failure)
        run.log.write(run.root_activity, "Info", "Deployment completed successfully")
        return Verdict(TaskState.SUCCESS)

    async def _step(self, step: Step, number: int) -> None:
        key = str(number)
        stored = self._state.steps.get(key) or {}
        if stored.get("Status") not in (None, "Running"):
            return  # ended before a restart: never run again
        run = self._run
        activity = stored.get("Activity") or run.log.open_activity(
            f"Step {number}: {step.name}", parent=run.root_activity
        )
        if not stored:
            self._state.steps[key] = {"Status": "Running", "Activity": activity}
            await self._persist()
        reason = self._why_not(step)
        if reason is not None:
            run.log.write(activity, "Info", f"Skipping step '{step.name}': {reason}")
            await self._end_step(key, activity, "Skipped")
            return
        if all(action.id in self._state.skipped for action in step.actions):
            for action in step.actions:
                run.log.write(activity, "Info", f"Skipping '{action.name}': {self._state.skipped[action.id]}")
            await self._end_step(key, activity, "Skipped")
            return
        failures = []
        for action in step.actions:
            failure = await self._action(step, number, action, activity)
            if failure:
                failures.append(failure)
                break  # child steps run in order; a failed one stops the rest of the step
        if failures:
            if self._state.failure is None:
                self._state.failure = f"Step '{step.name}' failed: {failures[0]}"
            await self._end_step(key, activity, "Failed")
        else:
            await self._end_step(key, activity, "Success")

    def _why_not(self, step: Step) -> str | None:
        failed = self._state.failure is not None
        result = None
        if step.condition is StepCondition.VARIABLE:
            expression = step.condition_expression or ""
            result = evaluate_condition(expression, self._variables.for_step(step, self._state))
        if should_run(step.condition, failed, result):
            return None
        if step.condition is StepCondition.SUCCESS:
            return "a previous step failed"
        if step.condition is StepCondition.FAILURE:
            return "it runs only when a previous step failed, and none did"
        return f"its condition '{step.condition_expression}' is false"

    async def _action(self, step: Step, number: int, action: Action, activity: str) -> str | None:
        run = self._run
        skipped = self._state.skipped.get(action.id)
        if skipped is not None:
            run.log.write(activity, "Info", f"Skipping '{action.name}': {skipped}")
            return None
        if not action.is_script:
            message = f"The step type '{action.action_type}' cannot run on this server yet"
            run.log.write(activity, "Fatal", message)
            return message
        spots = self._state.spots.get(action.id, [])
        window = asyncio.Semaphore(self._variables.window(step, action))
        results = await asyncio.gather(*(self._spot(step, action, spot, activity, window) for spot in spots))
        failures = [r for r in results if r]
        return failures[0] if len(failures) == 1 else (f"{len(failures)} runs failed" if failures else None)

    async def _spot(
        self, step: Step, action: Action, spot: Spot, parent: str, window: asyncio.Semaphore
    ) -> str | None:
        async with window:
            recorded = self._recorded.get(spot.key)
            if recorded is not None and recorded.finished:
                self._keep_outputs(action, spot, (recorded.outcome or {}).get("OutputVariables") or [])
                return recorded.failure
            variables, sensitive = self._variables.for_spot(step, action, spot, self._state)
            job = ScriptJob(
                task_id=self._run.task_id,
                script_body=self._variables.substitute(action.script_body, variables),
                syntax="Python" if action.syntax == "Python" else "Bash",
                variables=variables,
                sensitive_variables=sensitive,
                artifact_dir=self._owner._artifacts_dir / "staging" / uuid.uuid4().hex,
            )
            if recorded is not None:
                run_ = RecordedRun(
                    spot.label,
                    recorded.activity,
                    recorded.handle,
                    variables,
                    started=recorded.started,
                    cursor=recorded.cursor,
                )
            else:
                begun = await self._begin(step, action, spot, parent, variables)
                if isinstance(begun, str):
                    return begun
                run_ = begun
            result = await self._owner._runner.carry_out(self._run, run_, job, Remaining(None))
            self._keep_outputs(action, spot, result.stored_outputs)
            return result.failure

    async def _begin(
        self, step: Step, action: Action, spot: Spot, parent: str, variables: dict[str, str]
    ) -> RecordedRun | str:
        """Lease where the spot runs (waiting while a target runs another deployment's step), record the
        run with its handle, and answer it; or answer why it cannot run."""
        run = self._run
        target = await self._target(spot)
        if isinstance(target, str):
            run.log.write(parent, "Fatal", target)
            return target
        try:
            handle = self._owner._dispatcher.handle(target, secrets.token_hex(16))
        except WorkerUnreachable as exc:
            run.log.write(parent, "Fatal", str(exc))
            return str(exc)
        label = spot.label if len(step.actions) == 1 else f"{action.name} on {spot.label}"
        mutex = spot.kind == PlacementKind.TARGET.value and variables.get(MUTEX_BYPASS, "").lower() != "true"
        waited = False
        while True:
            async with self._owner._store.transaction() as conn:
                lease_on = handle.target.worker_id if isinstance(handle.target, WorkerTarget) else None
                if (
                    mutex
                    and lease_on is not None
                    and await leases_repo.busy(conn, self._context.space_id, lease_on)
                ):
                    pass
                else:
                    lease_id = None
                    if lease_on is not None:
                        run.took_leases = True
                        lease_id = await leases_repo.take(conn, lease_on, run.task_id, mutex)
                    activity = run.log.open_activity(label, parent=parent, pending=True)
                    await script_runs_repo.record(
                        conn,
                        run.task_id,
                        activity,
                        handle,
                        {"Label": spot.label, "Key": spot.key, "Variables": {}},
                    )
                    run.track(activity, handle)
                    await tasks_repo.save_activities(conn, run.task_id, run.log.activities)
                    return RecordedRun(spot.label, activity, handle, variables, lease_id)
            if not waited:
                waited = True
                run.log.write(
                    parent,
                    "Wait",
                    f"Waiting for '{spot.label}': another deployment step is running on it "
                    f"(set {MUTEX_BYPASS} to True to allow steps side by side)",
                )
            await asyncio.sleep(0.5)

    async def _target(self, spot: Spot) -> Target | str:
        """Where a spot's script goes: the target itself, the chosen worker, or the built-in worker."""
        if spot.built_in:
            return BuiltInTarget()
        machine = spot.target_id if spot.kind == PlacementKind.TARGET.value else spot.worker_id
        number = None
        if machine is not None:
            number = parse_id(Collection.MACHINES, machine) or parse_id(Collection.WORKERS, machine)
        if number is None:
            return f"No place to run on for '{spot.label}'"
        async with self._owner._store.transaction() as conn:
            row = await workers_repo.machine_row(conn, self._context.space_id, number)
        if row is None:
            return f"'{spot.label}' no longer exists"
        if row["is_disabled"]:
            return f"'{row['name']}' was disabled after the deployment started"
        return WorkerTarget(int(row["id"]), str(row["name"]), row["endpoint"])

    def _keep_outputs(self, action: Action, spot: Spot, outputs: Sequence[dict[str, Any]]) -> None:
        kept = self._state.outputs if self._state.outputs is not None else []
        for output in outputs:
            kept.append(
                {
                    "Action": action.name,
                    "MachineId": spot.target_id,
                    "Machine": self._context.target_name(spot.target_id) if spot.target_id else None,
                    "Name": output["Name"],
                    "Value": output["Value"],
                    "IsSensitive": bool(output.get("IsSensitive")),
                }
            )
        self._state.outputs = kept

    async def _end_step(self, key: str, activity: str, status: str) -> None:
        self._run.log.close_activity(activity, status)
        self._state.steps[key] = {"Status": status, "Activity": activity}
        await self._persist()

    async def _persist(self) -> None:
        async with self._save:
            async with self._owner._store.transaction() as conn:
                await tasks_repo.save_process_state(conn, self._run.task_id, self._state.to_json())
                await tasks_repo.save_activities(conn, self._run.task_id, self._run.log.activities)
