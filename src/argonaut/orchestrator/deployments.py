"""The ``Deploy`` and ``RunbookRun`` tasks: a frozen process (a release's, a runbook snapshot's), run in
one environment.

The plan is made once, when the task starts (workers are chosen at the start of a deployment, as the
described system does), and stored with the task beside the step cursor, so a node that restarts (or
another node taking the task over) carries on at the step where the run stopped: it follows the
scripts still running, starts what never started, and never re-runs a step that ended.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

from argonaut.domain.ids import Collection, parse_id
from argonaut.domain.placement import Plan, plan_deployment
from argonaut.domain.processes import Action, Step
from argonaut.domain.tasks import TaskState
from argonaut.domain.workers import BuiltInWorker
from argonaut.orchestrator.deployment_context import (
    DeploymentContextLoader,
    RunContext,
    StepsFor,
    VariablesFor,
)
from argonaut.orchestrator.health import WorkerHealth
from argonaut.orchestrator.process_run import (
    ProcessRun,
    ProcessState,
    RunOptions,
    Spot,
    Tools,
    failed,
    resumed_runs,
)
from argonaut.orchestrator.process_variables import VariableBuilder
from argonaut.orchestrator.queue import TaskRun, Verdict
from argonaut.store import Store, pools_repo, workers_repo
from argonaut.store.script_runs_repo import ScriptRun

FIRST_CHECK_TIMEOUT_S = 60.0


class DeploymentSource:
    """A deployment as the engine sees it: the release's steps and the variables of each place."""

    def __init__(self, context: RunContext, run: TaskRun, decrypt: Callable[[str], str]) -> None:
        self._context = context
        self._variables = VariableBuilder(context, run, decrypt)

    @property
    def space_id(self) -> int:
        return self._context.space_id

    @property
    def steps(self) -> tuple[Step, ...]:
        return self._context.steps

    def step_variables(self, step: Step, state: ProcessState) -> dict[str, str]:
        return self._variables.for_step(step, state)

    def spot_variables(
        self, step: Step, action: Action, spot: Spot, state: ProcessState
    ) -> tuple[dict[str, str], frozenset[str]]:
        return self._variables.for_spot(step, action, spot, state)

    def window(self, step: Step, action: Action) -> int:
        return self._variables.window(step, action)

    def target_name(self, target_id: str | None) -> str | None:
        return self._context.target_name(target_id)

    def verdict(self, state: ProcessState, runs: int) -> Verdict:
        return failed(state)

    @property
    def environment_id(self) -> str:
        return self._context.environment_id

    @property
    def project_number(self) -> int:
        return int(self._context.project["id"])

    @property
    def related_document_ids(self) -> list[str]:
        return self._context.related_document_ids

    @property
    def guided_failure(self) -> bool:
        """On when the deployment asks for it; else the project's mode, whose default follows the
        environment's setting."""
        return self._context.guided_failure


class Deployments:
    """The executor of ``Deploy`` and ``RunbookRun`` tasks: one engine, two kinds of frozen process."""

    restartable = True  # stopped before anything started, the run starts again from the beginning

    def __init__(
        self,
        tools: Tools,
        health: WorkerHealth,
        built_in_enabled: bool,
        decrypt: Callable[[str], str],
        variables_for: VariablesFor,
        steps_for: StepsFor,
    ) -> None:
        self._tools = tools
        self._store: Store = tools.store
        self._health = health
        self._decrypt = decrypt
        self._contexts = DeploymentContextLoader(self._store, variables_for, steps_for, built_in_enabled)

    async def run(self, run: TaskRun) -> Verdict:
        context = await self._contexts.load(run)
        if isinstance(context, Verdict):
            return context
        state = await self._plan_until_ready(run, context)
        if isinstance(state, Verdict):
            return state
        return await self._execute(run, context, state, [])

    async def resume(self, run: TaskRun, scripts: Sequence[ScriptRun]) -> Verdict:
        """Carry on after a restart from the stored cursor: steps that ended stay ended."""
        context = await self._contexts.load(run)
        if isinstance(context, Verdict):
            return context
        stored = run.row["process_state"]
        if not stored:  # stopped before anything started: start from the beginning
            planned = await self._plan_until_ready(run, context)
            if isinstance(planned, Verdict):
                return planned
            return await self._execute(run, context, planned, [])
        state = ProcessState.from_json(dict(stored))
        run.took_leases = True
        previous = run.taken_from or run.row["server_node"]
        why = (
            "The server node restarted"
            if previous == run.row["server_node"]
            else f"The server node '{previous}' stopped; '{run.row['server_node']}' took the task over"
        )
        run.log.write(
            run.root_activity,
            "Info",
            f"{why}: carrying on after {state.ended_steps} finished step(s), none run again",
        )
        return await self._execute(run, context, state, scripts)

    async def _execute(
        self, run: TaskRun, context: RunContext, state: ProcessState, scripts: Sequence[ScriptRun]
    ) -> Verdict:
        prepared, ended = resumed_runs(scripts)
        source = DeploymentSource(context, run, self._decrypt)
        # Every planned run counts: the last one's outcome goes with the task's completion (one
        # transaction fewer); a run that does not happen only means that saving never applies.
        options = RunOptions(remaining=sum(len(spots) for spots in state.spots.values()))
        verdict = await ProcessRun(self._tools, run, source, state, prepared, ended, options).execute()
        if verdict.state is TaskState.SUCCESS:
            what = "Runbook run" if context.is_runbook_run else "Deployment"
            run.log.write(run.root_activity, "Info", f"{what} completed successfully")
        return verdict

    # -- planning ------------------------------------------------------------------------------------

    async def _plan_until_ready(self, run: TaskRun, context: RunContext) -> ProcessState | Verdict:
        checked: set[str] = set()
        waited = 0
        while True:
            pools = context.pools_found
            context.pools_found = None
            if pools is None:
                async with self._store.single() as conn:
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
            # Stored with the first step's first record (or when a step ends): until then nothing has
            # started, and a node that restarts plans again.
            return _state_of(plan)

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


def _state_of(plan: Plan) -> ProcessState:
    state = ProcessState()
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
