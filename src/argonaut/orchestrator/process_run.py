"""The engine every task that runs work on machines goes through: a process run.

A process is steps of actions; a plan says where each action runs (its *spots*); the run walks the
steps in order (steps started with the previous one side by side), checks each step's condition, and
runs each action in its spots within a rolling window. How one spot is run depends on the action's
type: a script goes through :class:`ActionRunner` (ad-hoc scripts and deployment scripts alike), a
health check through the machine's health check (the described system's ``Octopus.HealthCheck``),
and later the steps that run inside the server (manual intervention, email).

What differs between task types is outside: how the plan is made, which variables a spot sees, and
what the task's outcome says. A :class:`ProcessSource` gives those. The plan and the step cursor (which
steps ended, how, and the outputs they left) are a :class:`ProcessState`; a deployment stores it with
its task after every step, so a node that restarts carries on where the run stopped. An ad-hoc script
is one step whose runs are recorded before anything starts, which is all the cursor it needs.
"""

from __future__ import annotations

import asyncio
import secrets
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal, Protocol

from argonaut.config import logs as log_context
from argonaut.domain.ids import Collection, format_id, parse_id
from argonaut.domain.placement import PlacementKind
from argonaut.domain.processes import Action, Step, StepCondition, parallel_groups, should_run
from argonaut.domain.scripts import BuiltInTarget, ScriptJob, Target, WorkerTarget, WorkerUnreachable
from argonaut.domain.substitution import evaluate_condition
from argonaut.domain.tasks import TaskState
from argonaut.orchestrator.action_runner import ActionRunner, RecordedRun, Remaining
from argonaut.orchestrator.queue import TaskRun, Verdict
from argonaut.store import Store, leases_repo, tasks_repo, workers_repo
from argonaut.store.script_runs_repo import ScriptRun

STEP_WINDOW = 10  # at most this many StartWithPrevious steps at once (Octopus.Action.MaxParallelism)
MUTEX_BYPASS = "OctopusBypassDeploymentMutex"
SCRIPT = "Octopus.Script"
MANUAL = "Octopus.Manual"  # an abort is a person's answer already: never asked about again


@dataclass(frozen=True, slots=True)
class Spot:
    """One place one action runs, as the plan chose it."""

    key: str  # "<step number>/<action id>/<n>": names the run across restarts
    kind: str  # a PlacementKind
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
    def from_json(cls, data: Mapping[str, Any]) -> Spot:
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
class ProcessState:
    """The plan and the step cursor of a process run (stored as ``tasks.process_state``)."""

    spots: dict[str, list[Spot]] = field(default_factory=dict)  # action id -> where it runs
    skipped: dict[str, str] = field(default_factory=dict)  # action id -> why it does not run
    numbers: dict[str, str] = field(default_factory=dict)  # action id -> its number ("2", "3.1")
    steps: dict[str, dict[str, Any]] = field(default_factory=dict)  # step number -> Status, Activity
    failure: str | None = None  # the first failing step's message (Octopus.Deployment.Error)
    outputs: list[dict[str, Any]] = field(default_factory=list)  # output variables so far
    excluded: list[str] = field(default_factory=list)  # targets guided failure dropped from the run
    notes: dict[str, Any] = field(default_factory=dict)  # spot key -> what a performer must remember
    failures: list[str] = field(default_factory=list)  # every failed run, in memory only

    def to_json(self) -> dict[str, Any]:
        return {
            "Spots": {a: [s.to_json() for s in spots] for a, spots in self.spots.items()},
            "Skipped": self.skipped,
            "Numbers": self.numbers,
            "Steps": self.steps,
            "Failure": self.failure,
            "Outputs": self.outputs,
            "Excluded": self.excluded,
            "Notes": self.notes,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ProcessState:
        return cls(
            {a: [Spot.from_json(s) for s in spots] for a, spots in (data.get("Spots") or {}).items()},
            dict(data.get("Skipped") or {}),
            dict(data.get("Numbers") or {}),
            dict(data.get("Steps") or {}),
            data.get("Failure"),
            list(data.get("Outputs") or []),
            list(data.get("Excluded") or []),
            dict(data.get("Notes") or {}),
        )

    @property
    def ended_steps(self) -> int:
        return sum(1 for s in self.steps.values() if s.get("Status") not in (None, "Running"))


class ProcessSource(Protocol):
    """What a task type tells the engine: its steps, the variables of each place, its outcome."""

    @property
    def space_id(self) -> int: ...

    @property
    def steps(self) -> tuple[Step, ...]: ...

    def step_variables(self, step: Step, state: ProcessState) -> dict[str, str]: ...

    def spot_variables(
        self, step: Step, action: Action, spot: Spot, state: ProcessState
    ) -> tuple[dict[str, str], frozenset[str]]: ...

    def window(self, step: Step, action: Action) -> int: ...

    def target_name(self, target_id: str | None) -> str | None: ...

    def verdict(self, state: ProcessState, runs: int) -> Verdict: ...

    @property
    def guided_failure(self) -> bool:
        """Whether a failed action asks a person what to do (Fail, Retry, Ignore, Exclude)."""
        ...


class Performer(Protocol):
    """Runs one action of a type other than a script in one spot; answers its failure, if any."""

    async def __call__(
        self, process: ProcessRun, step: Step, action: Action, spot: Spot, parent: str
    ) -> str | None: ...


class Guidance(Protocol):
    """Asks a person what to do about a failed action: ``Fail``, ``Retry``, ``Ignore`` or ``Exclude``
    (required actions offer neither Ignore nor Exclude). Waits without holding a task-cap slot."""

    async def __call__(
        self, process: ProcessRun, step: Step, action: Action, spot: Spot, failure: str
    ) -> str: ...


@dataclass(frozen=True, slots=True)
class RunOptions:
    persist: bool = True  # store the cursor after every step (deployments), or not (one-step processes)
    flat: bool = False  # places' activities right under the task's root, without a step activity
    isolation: Literal["NoIsolation", "FullIsolation"] = "NoIsolation"
    remaining: int | None = None  # runs in all, when known up front (see Remaining)


@dataclass
class Tools:
    """The node's means, shared by every process run."""

    store: Store
    runner: ActionRunner
    artifacts_dir: Path
    performers: dict[str, Performer] = field(default_factory=dict)
    dispatcher_handle: Callable[[Target, str], Any] | None = None
    guidance: Guidance | None = None


class ProcessRun:
    """One pass over a process, from its cursor to the end."""

    def __init__(
        self,
        tools: Tools,
        run: TaskRun,
        source: ProcessSource,
        state: ProcessState,
        prepared: Mapping[str, RecordedRun] | None = None,
        ended: Mapping[str, ScriptRun] | None = None,
        options: RunOptions | None = None,
    ) -> None:
        self.tools = tools
        self.run = run
        self.source = source
        self.state = state
        self._prepared = dict(prepared or {})  # runs recorded and ready to start or follow
        self._ended = dict(ended or {})  # runs that ended before a restart: their outcome is kept
        self.options = options or RunOptions()
        self._remaining = Remaining(self.options.remaining)
        self._save = asyncio.Lock()
        self._runs = 0
        self._unsaved = False  # the cursor changed since it was last stored

    async def execute(self) -> Verdict:
        steps = self.source.steps
        numbers = {step.id: n for n, step in enumerate(steps, start=1)}
        for group in parallel_groups(steps):
            window = asyncio.Semaphore(STEP_WINDOW)

            async def one(step: Step, window: asyncio.Semaphore = window) -> None:
                async with window:
                    await self._step(step, numbers[step.id])

            await asyncio.gather(*(one(step) for step in group))
        if self.options.persist:
            self.run.process_state = self.state.to_json()
        return self.source.verdict(self.state, self._runs)

    # -- steps ---------------------------------------------------------------------------------------

    async def _step(self, step: Step, number: int) -> None:
        key = str(number)
        stored = self.state.steps.get(key) or {}
        if stored.get("Status") not in (None, "Running"):
            return  # ended before a restart: never run again
        run = self.run
        activity = stored.get("Activity") or (
            run.root_activity
            if self.options.flat
            else run.log.open_activity(f"Step {number}: {step.name}", parent=run.root_activity)
        )
        if not stored and self.options.persist:
            # Stored with this step's first record (``_begin``) or its end, whichever comes first: a
            # transaction fewer per step, and before either nothing of the step has happened.
            self.state.steps[key] = {"Status": "Running", "Activity": activity}
            self._unsaved = True
        reason = self._why_not(step)
        if reason is None and all(action.id in self.state.skipped for action in step.actions):
            reason = "; ".join(f"'{a.name}': {self.state.skipped[a.id]}" for a in step.actions)
        if reason is not None:
            run.log.write(activity, "Info", f"Skipping step '{step.name}': {reason}")
            await self._end_step(key, activity, "Skipped")
            return
        failure = None
        for action in step.actions:
            failure = await self._action(step, action, activity)
            if failure:
                break  # child steps run in order; a failed one stops the rest of the step
        if failure and self.state.failure is None:
            self.state.failure = f"Step '{step.name}' failed: {failure}"
        await self._end_step(key, activity, "Failed" if failure else "Success")

    def _why_not(self, step: Step) -> str | None:
        failed = self.state.failure is not None
        result = None
        if step.condition is StepCondition.VARIABLE:
            variables = self.source.step_variables(step, self.state)
            result = evaluate_condition(step.condition_expression or "", variables)
        if should_run(step.condition, failed, result):
            return None
        if step.condition is StepCondition.SUCCESS:
            return "a previous step failed"
        if step.condition is StepCondition.FAILURE:
            return "it runs only when a previous step failed, and none did"
        return f"its condition '{step.condition_expression}' is false"

    async def _end_step(self, key: str, activity: str, status: str) -> None:
        if activity != self.run.root_activity:
            self.run.log.close_activity(activity, status)
        self.state.steps[key] = {"Status": status, "Activity": activity}
        if self._remaining.count == 0:
            # The last run's results wait for the task's completion, which comes next; a node that dies
            # before it finds this step still running and follows that run again, losing nothing.
            return
        await self._persist()

    async def persist(self) -> None:
        """Store the cursor now (a performer that started something a restart must find again)."""
        await self._persist()

    async def _persist(self) -> None:
        if not self.options.persist:
            return
        self._unsaved = False
        async with self._save, self.tools.store.single() as conn:  # one statement
            await tasks_repo.save_activities(
                conn, self.run.task_id, self.run.log.activities, self.state.to_json()
            )

    # -- actions -------------------------------------------------------------------------------------

    async def _action(self, step: Step, action: Action, activity: str) -> str | None:
        skipped = self.state.skipped.get(action.id)
        if skipped is not None:
            self.run.log.write(activity, "Info", f"Skipping '{action.name}': {skipped}")
            return None
        perform = self._performer(action)
        if perform is None:
            message = f"The step type '{action.action_type}' cannot run on this server yet"
            self.run.log.write(activity, "Fatal", message)
            return message
        window = asyncio.Semaphore(self.source.window(step, action))

        async def one(spot: Spot) -> str | None:
            if spot.target_id is not None and spot.target_id in self.state.excluded:
                self.run.log.write(activity, "Info", f"Skipping '{spot.label}': excluded after a failure")
                return None
            async with window:
                return await self._guided(step, action, spot, activity, perform)

        spots = self.state.spots.get(action.id, [])
        results = await asyncio.gather(*(one(spot) for spot in spots))
        failures = [r for r in results if r]
        self._runs += len(spots)
        self.state.failures.extend(failures)
        if not failures:
            return None
        return failures[0] if len(failures) == 1 else f"{len(failures)} of {len(spots)} runs failed"

    async def _guided(
        self, step: Step, action: Action, spot: Spot, activity: str, perform: Performer
    ) -> str | None:
        """Run a spot; when it fails and guided failure is on, do what a person says."""
        attempt, current = 0, spot
        while True:
            failure = await perform(self, step, action, current, activity)
            guidance = self.tools.guidance
            if (
                not failure
                or guidance is None
                or not self.source.guided_failure
                or action.action_type == MANUAL
            ):
                return failure
            choice = await guidance(self, step, action, current, failure)
            if choice == "Retry":
                attempt += 1
                current = replace(spot, key=f"{spot.key}/retry-{attempt}")
                continue
            if choice == "Ignore":
                self.run.log.write(
                    activity, "Warning", f"The failure of '{spot.label}' was ignored: {failure}"
                )
                return None
            if choice == "Exclude" and spot.target_id is not None:
                self.state.excluded.append(spot.target_id)
                self.run.log.write(
                    activity, "Warning", f"'{spot.label}' is excluded from the rest of the run"
                )
                return None
            return failure

    def _performer(self, action: Action) -> Performer | None:
        if action.action_type == SCRIPT:
            return run_script
        return self.tools.performers.get(action.action_type)

    # -- scripts -------------------------------------------------------------------------------------

    async def script(self, step: Step, action: Action, spot: Spot, parent: str) -> str | None:
        ended = self._ended.get(spot.key)
        if ended is not None and ended.finished:
            self.keep_outputs(action, spot, (ended.outcome or {}).get("OutputVariables") or [])
            self._remaining_down()
            return ended.failure
        variables, sensitive = self.source.spot_variables(step, action, spot, self.state)
        job = ScriptJob(
            task_id=self.run.task_id,
            script_body=action.script_body,  # the runner substitutes it, where it runs
            syntax="Python" if action.syntax == "Python" else "Bash",
            variables=variables,
            sensitive_variables=sensitive,
            artifact_dir=self.tools.artifacts_dir / "staging" / uuid.uuid4().hex,
            isolation=self.options.isolation,
        )
        recorded = self._prepared.get(spot.key)
        if recorded is None:
            begun = await self._begin(step, action, spot, parent, variables)
            if isinstance(begun, str):
                return begun
            recorded = begun
        with self.run.working(), log_context.bound(**_machine(spot, recorded.handle.target)):
            result = await self.tools.runner.carry_out(self.run, recorded, job, self._remaining)
        self.keep_outputs(action, spot, result.stored_outputs)
        return result.failure

    def _remaining_down(self) -> None:
        if self._remaining.count is not None:
            self._remaining.count -= 1

    async def _begin(
        self, step: Step, action: Action, spot: Spot, parent: str, variables: Mapping[str, str]
    ) -> RecordedRun | str:
        """Lease where the spot runs (waiting while a target runs another deployment's step), record the
        run with its handle, and answer it; or answer why it cannot run."""
        run = self.run
        target = await self._target(spot)
        if isinstance(target, str):
            run.log.write(parent, "Fatal", target)
            return target
        assert self.tools.dispatcher_handle is not None
        try:
            handle = self.tools.dispatcher_handle(target, secrets.token_hex(16))
        except WorkerUnreachable as exc:
            run.log.write(parent, "Fatal", str(exc))
            return str(exc)
        label = spot.label if len(step.actions) == 1 else f"{action.name} on {spot.label}"
        mutex = spot.kind == PlacementKind.TARGET.value and variables.get(MUTEX_BYPASS, "").lower() != "true"
        lease_on = handle.target.worker_id if isinstance(handle.target, WorkerTarget) else None
        waited = False
        wait_from = time.monotonic()
        while True:
            # Without a lease to take, the run and the activities are one statement: no transaction.
            store = self.tools.store
            async with store.single() if lease_on is None else store.transaction() as conn:
                lease_id = None
                if lease_on is not None and mutex:  # a target: one step at a time
                    space = self.source.space_id
                    lease_id = await leases_repo.take_unless_busy(conn, space, lease_on, run.task_id)
                elif lease_on is not None:
                    lease_id = await leases_repo.take(conn, lease_on, run.task_id, False)
                if lease_id is not None:
                    run.took_leases = True
                if lease_on is None or lease_id is not None:  # else the target is busy: wait below
                    activity = run.log.open_activity(label, parent=parent, pending=True)
                    notes = {"Label": spot.label, "Key": spot.key, "Variables": {}}
                    run.track(activity, handle)
                    state = None
                    if self._unsaved and self.options.persist:
                        self._unsaved, state = False, self.state.to_json()
                    planned = [(activity, handle, notes)]
                    await tasks_repo.record_runs(conn, run.task_id, planned, run.log.activities, state)
                    if waited:  # for /metrics: how long the step waited for its target
                        self.tools.runner.waited_for_lease("target", time.monotonic() - wait_from)
                    return RecordedRun(spot.label, activity, handle, dict(variables), lease_id)
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
        async with self.tools.store.single() as conn:  # one read: no BEGIN/COMMIT round trips on PostgreSQL
            row = await workers_repo.machine_row(conn, self.source.space_id, number)
        if row is None:
            return f"'{spot.label}' no longer exists"
        if row["is_disabled"]:
            return f"'{row['name']}' was disabled after the run started"
        return WorkerTarget(int(row["id"]), str(row["name"]), row["endpoint"])

    def keep_outputs(self, action: Action, spot: Spot, outputs: Sequence[Mapping[str, Any]]) -> None:
        for output in outputs:
            self.state.outputs.append(
                {
                    "Action": action.name,
                    "MachineId": spot.target_id,
                    "Machine": self.source.target_name(spot.target_id) if spot.target_id else None,
                    "Name": output["Name"],
                    "Value": output["Value"],
                    "IsSensitive": bool(output.get("IsSensitive")),
                }
            )


async def run_script(process: ProcessRun, step: Step, action: Action, spot: Spot, parent: str) -> str | None:
    return await process.script(step, action, spot, parent)


def single_step(
    name: str, action_type: str, properties: Mapping[str, str] | None = None
) -> tuple[Step, Action]:
    """A process of one step with one action: how an ad-hoc script or a health check is run."""
    action = Action(id="1", name=name, action_type=action_type, properties=dict(properties or {}))
    return Step(id="1", name=name, actions=(action,)), action


def resumed_runs(scripts: Sequence[ScriptRun]) -> tuple[dict[str, RecordedRun], dict[str, ScriptRun]]:
    """A restarted node's recorded runs by spot key: those to follow (or start), and those that ended."""
    prepared, ended = {}, {}
    for script in scripts:
        key = str(script.step.get("Key") or script.ticket)
        if script.finished:
            ended[key] = script
        else:
            prepared[key] = RecordedRun(
                str(script.step.get("Label", script.handle.where)),
                script.activity,
                script.handle,
                dict(script.step.get("Variables") or {}),
                started=script.started,
                cursor=script.cursor,
            )
    return prepared, ended


def failed(state: ProcessState) -> Verdict:
    return Verdict(TaskState.FAILED, state.failure) if state.failure else Verdict(TaskState.SUCCESS)


def _machine(spot: Spot, target: Target) -> dict[str, str | None]:
    """The ids log lines carry while a script runs here: the worker it runs on, else the deployment
    target; an ad-hoc spot names neither, so its worker's id comes from where it was dispatched. The
    built-in worker has no id: its name says it."""
    machine = spot.worker_id
    if machine is None and isinstance(target, WorkerTarget):
        machine = spot.target_id or format_id(Collection.WORKERS, target.worker_id)
    return {"worker_id": machine, "worker_name": target.name}
