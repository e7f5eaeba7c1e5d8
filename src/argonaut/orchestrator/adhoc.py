"""The ``AdHocScript`` task: the described system's script console.

The script runs once on each selected worker, each run its own activity in the log. Targets are chosen
when the task starts (not when it is queued), so a worker that turned unhealthy meanwhile is not used.
Runs go in parallel up to ``Octopus.Action.MaxParallelism`` (default 10).

Every run is recorded with its dispatcher handle in the transaction that chose its worker, before
anything starts. A node that stops hands over a task whose scripts can be re-attached to, and the next
node's :meth:`AdHocScripts.resume` carries on from the recorded runs: it follows what is running from
the last stored line, starts what never started, and keeps the outcomes of what already ended.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from argonaut.domain.ids import Collection, format_id
from argonaut.domain.placement import PlacementKind
from argonaut.domain.processes import Action, Step
from argonaut.domain.scripts import (
    BuiltInTarget,
    Cursor,
    Target,
    WorkerTarget,
    WorkerUnreachable,
)
from argonaut.domain.task_arguments import AdHocScriptArguments
from argonaut.domain.tasks import TaskState
from argonaut.domain.timespan import InvalidTimeSpan, parse_timespan
from argonaut.domain.workers import (
    BuiltInWorker,
    HealthStatus,
    NoWorker,
    choose_worker,
)
from argonaut.orchestrator.action_runner import RecordedRun
from argonaut.orchestrator.dispatcher import Dispatcher
from argonaut.orchestrator.health import WorkerHealth, policy_timeout_s
from argonaut.orchestrator.process_run import (
    SCRIPT,
    ProcessRun,
    ProcessState,
    RunOptions,
    Spot,
    Tools,
    resumed_runs,
    single_step,
)
from argonaut.orchestrator.queue import TaskRun, Verdict
from argonaut.store import (
    leases_repo,
    policies_repo,
    pools_repo,
    script_runs_repo,
    spaces_repo,
    tasks_repo,
    workers_repo,
)
from argonaut.store.connection import Conn
from argonaut.store.script_runs_repo import ScriptRun

FIRST_CHECK_TIMEOUT_S = 60.0


@dataclass(frozen=True, slots=True)
class Planned:
    label: str
    target: Target | None
    problem: str | None = None
    lease_worker: int | None = None
    busy: bool = False
    unchecked: tuple[int, ...] = ()  # enabled workers never checked: checked first, then planned again
    variables: dict[str, str] = field(default_factory=dict)  # what the step's script sees of where it runs


@dataclass(frozen=True, slots=True)
class _Problems:
    """A plan that cannot go ahead yet: at least one of its runs has no worker."""

    plan: list[Planned]


class AdHocSource:
    """An ad-hoc script as the engine sees it: one step, run once in each place the executor planned."""

    def __init__(
        self, run: TaskRun, args: AdHocScriptArguments, variables: dict[str, dict[str, str]]
    ) -> None:
        self._run = run
        self._args = args
        self._variables = variables  # spot key -> what the script sees of where it runs
        step, _ = single_step(
            "Run script",
            SCRIPT,
            {
                "Octopus.Action.Script.ScriptBody": args.script_body,
                "Octopus.Action.Script.Syntax": args.syntax,
            },
        )
        self._steps = (step,)

    @property
    def space_id(self) -> int:
        return int(self._run.row["space_id"])

    @property
    def steps(self) -> tuple[Step, ...]:
        return self._steps

    def step_variables(self, step: Step, state: ProcessState) -> dict[str, str]:
        return {}

    def spot_variables(
        self, step: Step, action: Action, spot: Spot, state: ProcessState
    ) -> tuple[dict[str, str], frozenset[str]]:
        return _task_variables(self._run) | self._variables.get(spot.key, {}), frozenset()

    def window(self, step: Step, action: Action) -> int:
        return self._args.parallelism

    def target_name(self, target_id: str | None) -> str | None:
        return None

    @property
    def guided_failure(self) -> bool:
        return False

    def verdict(self, state: ProcessState, runs: int) -> Verdict:
        failures = state.failures
        if not failures:
            return Verdict(TaskState.SUCCESS)
        total = len(self._run.scripts) or runs
        return Verdict(
            TaskState.FAILED, failures[0] if len(failures) == 1 else f"{len(failures)} of {total} runs failed"
        )


class AdHocScripts:
    def __init__(
        self, tools: Tools, dispatcher: Dispatcher, health: WorkerHealth, built_in_enabled: bool
    ) -> None:
        self._tools = tools
        self._store = tools.store
        self._dispatcher = dispatcher
        self._health = health
        self._built_in_enabled = built_in_enabled

    async def run(self, run: TaskRun) -> Verdict:
        args = AdHocScriptArguments.from_json(run.row["arguments"])
        steps = await self._plan_until_ready(run, args)
        if isinstance(steps, Verdict):
            return steps
        prepared = {_key(n): recorded for n, recorded in enumerate(steps)}
        return await self._execute(run, args, prepared, {})

    async def resume(self, run: TaskRun, scripts: Sequence[ScriptRun]) -> Verdict:
        """Carry on after a restart: follow running scripts from their last stored line, start those that
        never started, and count the outcomes of those that had ended."""
        args = AdHocScriptArguments.from_json(run.row["arguments"])
        run.took_leases = True
        prepared, ended = resumed_runs(scripts)
        for key, recorded in prepared.items():
            if recorded.cursor is None and recorded.started:
                prepared[key] = replace(recorded, cursor=await self._legacy_cursor(run, recorded.activity))
        running = sum(1 for s in prepared.values() if s.started)
        previous = run.taken_from or run.row["server_node"]
        why = (
            "The server node restarted"
            if previous == run.row["server_node"]
            else f"The server node '{previous}' stopped; '{run.row['server_node']}' took the task over"
        )
        run.log.write(
            run.root_activity,
            "Info",
            f"{why}: following {running} running script(s)"
            + (f" and starting {len(prepared) - running} more" if len(prepared) > running else ""),
        )
        return await self._execute(run, args, prepared, ended)

    async def _execute(
        self,
        run: TaskRun,
        args: AdHocScriptArguments,
        prepared: dict[str, RecordedRun],
        ended: dict[str, ScriptRun],
    ) -> Verdict:
        """Run the planned scripts as a one-step process: the runs are recorded already, so the engine
        only starts or follows them; no cursor beyond them is stored."""
        labels = {key: r.label for key, r in prepared.items()} | {
            key: str(r.step.get("Label", r.handle.where)) for key, r in ended.items()
        }
        variables = {key: r.variables for key, r in prepared.items()} | {
            key: dict(r.step.get("Variables") or {}) for key, r in ended.items()
        }
        source = AdHocSource(run, args, variables)
        spots = [Spot(key, PlacementKind.WORKER.value, label) for key, label in sorted(labels.items())]
        state = ProcessState(spots={source.steps[0].actions[0].id: spots})
        options = RunOptions(persist=False, flat=True, isolation=args.isolation, remaining=len(prepared))
        return await ProcessRun(self._tools, run, source, state, prepared, ended, options).execute()

    # -- planning ------------------------------------------------------------------------------------

    async def _plan_until_ready(
        self, run: TaskRun, args: AdHocScriptArguments
    ) -> list[RecordedRun] | Verdict:
        waited = 0
        wait_from = 0.0
        checked: set[int] = set()
        while True:
            found = await self._plan(run, args)
            if not isinstance(found, _Problems):
                if waited:  # for /metrics: how long the task waited for a busy worker
                    self._tools.runner.waited_for_lease("worker", time.monotonic() - wait_from)
                return found
            plan = found.plan
            unchecked = {w for p in plan for w in p.unchecked} - checked
            if unchecked:
                # Workers nobody has checked yet: check them now instead of failing the step (or waiting
                # on a queued check that this task's own task-cap slot might be holding up).
                checked |= unchecked
                await self._first_checks(run, sorted(unchecked))
                continue
            if any(p.busy for p in plan) and not any(p.problem and not p.busy for p in plan):
                # Every healthy worker is leased (exclusively, or up to its limit): wait for one rather
                # than fail the step, as the described system learned to (OctopusDeploy/Issues#9470).
                if waited == 0:
                    wait_from = time.monotonic()
                    for p in plan:
                        if p.busy:
                            run.log.write(run.root_activity, "Wait", f"Waiting: {p.problem}")
                await asyncio.sleep(min(2.0, 0.1 * 2 ** min(waited, 5)))
                waited += 1
                continue
            problems = [p for p in plan if p.problem]
            for p in problems:
                run.log.write(run.root_activity, "Fatal", p.problem or "")
            return Verdict(TaskState.FAILED, "; ".join(p.problem or "" for p in problems))

    async def _first_checks(self, run: TaskRun, worker_ids: list[int]) -> None:
        space_id = int(run.row["space_id"])
        async with self._store.transaction() as conn:
            rows = [r for w in worker_ids if (r := await workers_repo.get(conn, space_id, w)) is not None]
            policies = await self._health.policies(conn, space_id, rows)
        names = ", ".join(f"'{r['name']}'" for r in rows)
        run.log.write(run.root_activity, "Wait", f"Checking the health of {names} first: never checked yet")

        def say(category: str, text: str) -> None:
            run.log.write(run.root_activity, category, text)

        await asyncio.gather(
            *(
                self._health.check(
                    run.task_id,
                    row,
                    policies[row["machine_policy_id"]],
                    say,
                    min(policy_timeout_s(policies[row["machine_policy_id"]]), FIRST_CHECK_TIMEOUT_S),
                )
                for row in rows
            )
        )

    async def _plan(self, run: TaskRun, args: AdHocScriptArguments) -> list[RecordedRun] | _Problems:
        """Choose where each run goes and, when every run has a place, lease, record and answer them (one
        transaction); otherwise answer the plan with its problems."""
        exclusive = args.exclusive  # such a step takes its worker alone
        target_type = args.target_type
        space_id = int(run.row["space_id"])
        # The built-in worker needs no read and no lease: its one run is recorded in one statement, which
        # needs no transaction around it (on PostgreSQL, two round trips fewer).
        opened = self._store.single() if target_type == "OctopusServer" else self._store.transaction()
        async with opened as conn:
            if target_type == "OctopusServer":
                if not self._built_in_enabled:
                    why = "the built-in worker is disabled on this server node"
                    return _Problems([Planned("Octopus Server", None, why)])
                plan = [Planned("the built-in worker", BuiltInTarget())]
            elif target_type == "Workers":
                plan = await self._plan_workers(conn, space_id, args)
            else:
                plan = await self._plan_pools(conn, space_id, args, exclusive)
            if any(p.problem for p in plan):
                return _Problems(plan)
            handles = []
            for p in plan:
                assert p.target is not None
                try:
                    handles.append(self._dispatcher.handle(p.target, secrets.token_hex(16)))
                except WorkerUnreachable as exc:
                    return _Problems([Planned(p.label, None, str(exc))])
            # Leases are taken in the transaction that chose the workers, so two steps planning at
            # once cannot both take the one idle worker exclusively; and each run is recorded with its
            # handle before anything starts, so no script is ever out of sight of a restarted node.
            steps = []
            runs: list[tasks_repo.PlannedRun] = []
            for n, (p, handle) in enumerate(zip(plan, handles, strict=True)):
                lease_id = None
                if p.lease_worker is not None:
                    run.took_leases = True
                    lease_id = await leases_repo.take(conn, p.lease_worker, run.task_id, exclusive)
                activity = run.log.open_activity(
                    f"Run script on {p.label}", parent=run.root_activity, pending=True
                )
                steps.append(RecordedRun(p.label, activity, handle, p.variables, lease_id))
                runs.append((activity, handle, {"Label": p.label, "Variables": p.variables, "Key": _key(n)}))
                run.track(activity, handle)
            await tasks_repo.record_runs(conn, run.task_id, runs, run.log.activities)
            return steps

    async def _plan_workers(self, conn: Conn, space_id: int, args: AdHocScriptArguments) -> list[Planned]:
        waits: dict[int, float] = {}
        plan = []
        ids = list(args.machine_ids)
        pools_of = await workers_repo.pool_ids_of(conn, ids)
        first_pools = {p: None for found in pools_of.values() for p in found[:1]}
        pool_names = {
            r["id"]: str(r["name"]) for r in await pools_repo.get_many(conn, space_id, list(first_pools))
        }
        for worker_id in ids:
            worker_text = format_id(Collection.WORKERS, worker_id)
            row = await workers_repo.get(conn, space_id, worker_id)
            if row is None:
                plan.append(Planned(str(worker_text), None, f"worker {worker_text} no longer exists"))
                continue
            health = HealthStatus(row["health_status"])
            if not row["is_disabled"] and health is HealthStatus.UNKNOWN:
                problem = f"worker '{row['name']}' has not been checked yet"
                plan.append(Planned(row["name"], None, problem, unchecked=(int(row["id"]),)))
                continue
            if row["is_disabled"] or not health.can_run_scripts:
                why = "disabled" if row["is_disabled"] else f"health status {health.value}"
                plan.append(Planned(row["name"], None, f"worker '{row['name']}' cannot run scripts ({why})"))
                continue
            wait_s = await self._connect_wait_s(conn, space_id, row["machine_policy_id"], waits)
            target = WorkerTarget(row["id"], row["name"], row["endpoint"], wait_s)
            variables = _machine_variables(target)
            first_pool = next(iter(pools_of.get(worker_id, [])), None)
            if first_pool is not None and first_pool in pool_names:
                variables |= _pool_variables(first_pool, pool_names[first_pool])
            plan.append(Planned(row["name"], target, lease_worker=row["id"], variables=variables))
        return plan

    async def _plan_pools(
        self, conn: Conn, space_id: int, args: AdHocScriptArguments, exclusive: bool
    ) -> list[Planned]:
        waits: dict[int, float] = {}
        pool_ids = list(args.worker_pool_ids) or None  # none named: the space's default pool
        plan = []
        for pool in await pools_repo.pools_with_members(conn, space_id, pool_ids):
            candidates = [m.candidate() for m in pool.members]
            choice = choose_worker(pool.name, pool.is_default, candidates, self._built_in_enabled, exclusive)
            pool_variables = _pool_variables(pool.id, pool.name)
            if isinstance(choice, BuiltInWorker):
                label = f"the built-in worker (pool '{pool.name}')"
                plan.append(Planned(label, BuiltInTarget(), variables=pool_variables))
            elif isinstance(choice, NoWorker):
                unchecked = tuple(
                    m.id for m in pool.members if format_id(Collection.WORKERS, m.id) in choice.unchecked
                )
                plan.append(Planned(pool.name, None, choice.reason, busy=choice.busy, unchecked=unchecked))
            else:
                member = next(m for m in pool.members if format_id(Collection.WORKERS, m.id) == choice.id)
                wait_s = await self._connect_wait_s(conn, space_id, member.machine_policy_id, waits)
                target = WorkerTarget(member.id, member.name, member.endpoint, wait_s)
                variables = _machine_variables(target) | pool_variables
                plan.append(Planned(member.name, target, lease_worker=member.id, variables=variables))
        if not plan:
            space = await spaces_repo.get(conn, space_id)
            name = space["name"] if space else space_id
            plan.append(Planned("", None, f"no worker pool was selected in space '{name}'"))
        return plan

    async def _connect_wait_s(
        self, conn: Conn, space_id: int, policy_id: int, cache: dict[int, float]
    ) -> float:
        """The worker policy's PollingRequestQueueTimeout: how long a call may wait for the agent."""
        if policy_id not in cache:
            policy = await policies_repo.get(conn, space_id, policy_id)
            text = (policy["document"] if policy else {}).get("PollingRequestQueueTimeout") or "00:02:00"
            try:
                cache[policy_id] = parse_timespan(str(text))
            except InvalidTimeSpan:
                cache[policy_id] = 120.0
        return cache[policy_id]

    async def _legacy_cursor(self, run: TaskRun, activity: str) -> Cursor:
        """Runs recorded before cursors were kept: the agent line to ask for next is the stored count."""
        async with self._store.transaction() as conn:
            return await script_runs_repo.stored_lines(conn, run.task_id, activity)


def _key(n: int) -> str:
    """The spot key of an ad-hoc script's n-th run (one step, one action)."""
    return f"1/1/{n:05d}"


def _task_variables(run: TaskRun) -> dict[str, str]:
    task_id = format_id(Collection.SERVER_TASKS, run.task_id)
    return {
        "Octopus.Task.Id": task_id,
        "Octopus.Task.Name": str(run.row["description"]),
        "Octopus.Space.Id": format_id(Collection.SPACES, int(run.row["space_id"])),
    }


def _machine_variables(target: WorkerTarget) -> dict[str, str]:
    return {
        "Octopus.Machine.Id": format_id(Collection.WORKERS, target.worker_id),
        "Octopus.Machine.Name": target.name,
    }


def _pool_variables(pool_id: int, name: str) -> dict[str, str]:
    return {
        "Octopus.WorkerPool.Id": format_id(Collection.WORKER_POOLS, pool_id),
        "Octopus.WorkerPool.Name": name,
    }
