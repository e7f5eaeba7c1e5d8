"""Where each action of a deployment runs: the described system's execution-location rules, decided once.

The whole plan is made when a deployment starts, as the described system assigns workers "at the start of
a deployment or runbook, not at the time the individual step executes": a deployment that cannot place
every action (no healthy worker, an unavailable target, a missing pool) is refused before any step ran,
rather than failing half-way with some targets already changed.

Choices worth knowing:

* A target whose health cannot run scripts (Unhealthy, Unavailable) is a problem naming it, since the
  described system fails the deployment unless told to skip unavailable machines; Unknown health is
  allowed and reported in ``unchecked_target_ids`` so the caller can check those targets first.
* A step without target roles that does not run on a worker is a problem, as the described system's
  validation has it, rather than a guess at where it should run.
* Workers are spread least-busy-first: this plan's own assignments count as leases for the ordering, but
  not against a worker's lease cap, since a deployment's actions do not all run at once.
* Problems of a "busy" pool (healthy workers, all taken) are problems too; ``Plan.busy`` tells the caller
  that waiting and planning again may succeed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum

from argonaut.domain.processes import Action, Step
from argonaut.domain.workers import (
    BuiltInWorker,
    CommunicationStyle,
    HealthStatus,
    NoWorker,
    WorkerCandidate,
    choose_worker,
)

DEFAULT_MAX_PARALLELISM = 10
# Agents that run a step's script on the machine itself; any other target is driven from a worker.
_AGENT_STYLES = frozenset(
    {CommunicationStyle.TENTACLE_PASSIVE, CommunicationStyle.TENTACLE_ACTIVE, CommunicationStyle.SSH}
)
_CANNOT_RUN = frozenset({HealthStatus.UNHEALTHY, HealthStatus.UNAVAILABLE})


class PlacementKind(StrEnum):
    TARGET = "Target"  # the script runs on the target itself
    WORKER_FOR_TARGET = "WorkerForTarget"  # on a worker, on behalf of a target: target variables apply
    WORKER = "Worker"  # once, on a worker
    SERVER = "Server"  # inside the server node, on no worker: manual interventions, emails...


@dataclass(frozen=True, slots=True)
class TargetInfo:
    id: str
    name: str
    roles: frozenset[str]
    environment_ids: frozenset[str]
    is_disabled: bool
    health: HealthStatus
    communication_style: str
    default_worker_pool_id: str | None = None

    @property
    def runs_scripts_itself(self) -> bool:
        return self.communication_style in _AGENT_STYLES


@dataclass(frozen=True, slots=True)
class PoolInfo:
    id: str
    name: str
    is_default: bool
    workers: tuple[WorkerCandidate, ...]


@dataclass(frozen=True, slots=True)
class DeploymentContext:
    environment_id: str
    channel_id: str | None  # None for a runbook run: channel filters do not apply
    specific_machine_ids: frozenset[str]
    excluded_machine_ids: frozenset[str]
    skip_action_ids: frozenset[str]
    default_pool_id: str
    built_in_enabled: bool
    pool_variable_values: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Placement:
    kind: PlacementKind
    target_id: str | None
    target_name: str | None
    pool_id: str | None
    # The chosen worker for Worker/WorkerForTarget; None there only when the action has a problem.
    worker: WorkerCandidate | BuiltInWorker | None
    label: str


@dataclass(frozen=True, slots=True)
class PlannedAction:
    action: Action
    number: str
    skipped: str | None = None
    placements: tuple[Placement, ...] = ()
    max_parallelism: int = DEFAULT_MAX_PARALLELISM
    problems: tuple[str, ...] = ()
    unchecked_worker_ids: tuple[str, ...] = ()
    unchecked_target_ids: tuple[str, ...] = ()
    busy: bool = False

    @property
    def problem(self) -> str | None:
        return "; ".join(self.problems) or None


@dataclass(frozen=True, slots=True)
class PlannedStep:
    step: Step
    number: int
    actions: tuple[PlannedAction, ...]


@dataclass(frozen=True, slots=True)
class Plan:
    steps: tuple[PlannedStep, ...]

    @property
    def _actions(self) -> list[PlannedAction]:
        return [a for s in self.steps for a in s.actions]

    @property
    def problems(self) -> list[str]:
        return list(_unique(p for a in self._actions for p in a.problems))

    @property
    def unchecked_worker_ids(self) -> tuple[str, ...]:
        return _unique(w for a in self._actions for w in a.unchecked_worker_ids)

    @property
    def unchecked_target_ids(self) -> tuple[str, ...]:
        return _unique(t for a in self._actions for t in a.unchecked_target_ids)

    @property
    def busy(self) -> bool:
        return any(a.busy for a in self._actions)

    @property
    def target_ids(self) -> tuple[str, ...]:
        return _unique(p.target_id for a in self._actions for p in a.placements if p.target_id is not None)


def plan_deployment(
    steps: Sequence[Step],
    targets: Sequence[TargetInfo],
    pools: Mapping[str, PoolInfo],
    ctx: DeploymentContext,
) -> Plan:
    planner = _Planner(pools, ctx)
    planned = []
    for number, step in enumerate(steps, start=1):
        step_targets = targets_for_roles(step.target_roles, targets, ctx) if step.target_roles else []
        actions = tuple(
            planner.plan_action(step, action, _number(number, index, len(step.actions)), step_targets)
            for index, action in enumerate(step.actions, start=1)
        )
        planned.append(PlannedStep(step, number, actions))
    return Plan(tuple(planned))


def targets_for_roles(
    roles: Iterable[str], targets: Iterable[TargetInfo], ctx: DeploymentContext
) -> list[TargetInfo]:
    """The targets a step with ``roles`` deploys to, ordered by name so logs and windows are repeatable."""
    wanted = {r.casefold() for r in roles}
    chosen = [
        t
        for t in targets
        if ctx.environment_id in t.environment_ids
        and not t.is_disabled
        and wanted & {r.casefold() for r in t.roles}
        and (not ctx.specific_machine_ids or t.id in ctx.specific_machine_ids)
        and t.id not in ctx.excluded_machine_ids
    ]
    return sorted(chosen, key=lambda t: (t.name.casefold(), t.id))


def skip_reason(action: Action, ctx: DeploymentContext) -> str | None:
    """Why an action does not run in this deployment; a required action asked to be skipped still runs
    (and its plan carries a problem instead)."""
    env = ctx.environment_id
    if action.is_disabled:
        return "disabled"
    if action.id in ctx.skip_action_ids and not action.is_required:
        return "skipped by request"
    if action.environments and env not in action.environments:
        return f"not for environment '{env}'"
    if env in action.excluded_environments:
        return f"excluded from environment '{env}'"
    if ctx.channel_id is not None and action.channels and ctx.channel_id not in action.channels:
        return "not for this channel"
    return None


def _number(step: int, index: int, count: int) -> str:
    """The described system numbers a lone action as its step, child steps as ``step.index``."""
    return str(step) if count == 1 else f"{step}.{index}"


@dataclass(slots=True)
class _Findings:
    problems: list[str] = field(default_factory=list)
    unchecked_workers: list[str] = field(default_factory=list)
    unchecked_targets: list[str] = field(default_factory=list)
    busy: bool = False


class _Planner:
    """Holds this plan's own worker assignments, so later placements go to the less-used workers."""

    def __init__(self, pools: Mapping[str, PoolInfo], ctx: DeploymentContext) -> None:
        self._pools = pools
        self._ctx = ctx
        self._assigned: dict[str, int] = {}

    def plan_action(
        self, step: Step, action: Action, number: str, targets: list[TargetInfo]
    ) -> PlannedAction:
        parallel = step.max_parallelism or DEFAULT_MAX_PARALLELISM
        skipped = skip_reason(action, self._ctx)
        if skipped is None and step.target_roles and not targets and not action.runs_in_server:
            roles = ", ".join(f"'{r}'" for r in step.target_roles)
            skipped = f"no deployment target in this environment has the role(s) {roles}"
        if skipped is not None:
            return PlannedAction(action, number, skipped=skipped, max_parallelism=parallel)
        found = _Findings()
        if action.id in self._ctx.skip_action_ids:
            found.problems.append(f"step '{action.name}' is required and cannot be skipped")
        placements = self._placements(step, action, targets, found)
        return PlannedAction(
            action,
            number,
            placements=placements,
            max_parallelism=parallel,
            problems=_unique(found.problems),
            unchecked_worker_ids=_unique(found.unchecked_workers),
            unchecked_target_ids=_unique(found.unchecked_targets),
            busy=found.busy,
        )

    def _placements(
        self, step: Step, action: Action, targets: list[TargetInfo], found: _Findings
    ) -> tuple[Placement, ...]:
        if action.runs_in_server:
            return (Placement(PlacementKind.SERVER, None, None, None, None, "the server"),)
        if step.target_roles:
            return tuple(self._for_target(action, t, found) for t in targets)
        if action.run_on_server:
            return (self._on_worker(action, None, found),)
        found.problems.append(f"step '{step.name}' has no target roles and does not run on a worker")
        return ()

    def _for_target(self, action: Action, target: TargetInfo, found: _Findings) -> Placement:
        if target.health in _CANNOT_RUN:
            found.problems.append(
                f"deployment target '{target.name}' is {target.health.value} and cannot run "
                f"step '{action.name}'"
            )
        elif target.health is HealthStatus.UNKNOWN:
            found.unchecked_targets.append(target.id)
        if target.runs_scripts_itself and not action.run_on_server:
            return Placement(PlacementKind.TARGET, target.id, target.name, None, None, target.name)
        return self._on_worker(action, target, found)

    def _on_worker(self, action: Action, target: TargetInfo | None, found: _Findings) -> Placement:
        kind = PlacementKind.WORKER if target is None else PlacementKind.WORKER_FOR_TARGET
        pool_id, problem = self._pool_for(action, target)
        worker: WorkerCandidate | BuiltInWorker | None = None
        where = "no worker pool"
        if problem is not None:
            found.problems.append(problem)
        else:
            pool = self._pools[pool_id or ""]
            choice = self._choose(pool)
            if isinstance(choice, NoWorker):
                found.problems.append(choice.reason)
                found.unchecked_workers.extend(choice.unchecked)
                found.busy = found.busy or choice.busy
                where = f"no worker in pool '{pool.name}'"
            else:
                worker = choice
                where = (
                    "the built-in worker" if isinstance(choice, BuiltInWorker) else f"worker '{choice.name}'"
                )
        if target is None:
            return Placement(kind, None, None, pool_id, worker, where)
        label = f"{where} on behalf of '{target.name}'"
        return Placement(kind, target.id, target.name, pool_id, worker, label)

    def _pool_for(self, action: Action, target: TargetInfo | None) -> tuple[str | None, str | None]:
        """The pool id, or a problem: the action's pool variable, its pool, else the space default, which
        a cloud target's own default pool replaces (an explicitly chosen other pool wins over it)."""
        ctx = self._ctx
        if action.worker_pool_variable:
            value = ctx.pool_variable_values.get(action.worker_pool_variable, "").strip()
            if not value:
                return None, (
                    f"the worker pool variable '{action.worker_pool_variable}' of step '{action.name}' "
                    "has no value in this deployment"
                )
            pool_id = self._pool_by_id_or_name(value)
        else:
            pool_id = action.worker_pool_id or ctx.default_pool_id
        if target is not None and target.default_worker_pool_id and pool_id == ctx.default_pool_id:
            pool_id = target.default_worker_pool_id
        if pool_id not in self._pools:
            return pool_id, f"the worker pool '{pool_id}' of step '{action.name}' does not exist"
        return pool_id, None

    def _pool_by_id_or_name(self, value: str) -> str:
        """A pool variable's value is a pool id; a name is accepted too, as people type names."""
        if value in self._pools:
            return value
        folded = value.casefold()
        return next((p.id for p in self._pools.values() if p.name.casefold() == folded), value)

    def _choose(self, pool: PoolInfo) -> WorkerCandidate | BuiltInWorker | NoWorker:
        # Our own assignments order the candidates but do not count against a worker's cap: raising both
        # the leases and the cap by the same amount keeps choose_worker's capacity check on real leases.
        adjusted = [
            replace(w, active_leases=w.active_leases + n, max_leases=w.max_leases + n)
            for w in pool.workers
            for n in (self._assigned.get(w.id, 0),)
        ]
        choice = choose_worker(pool.name, pool.is_default, adjusted, self._ctx.built_in_enabled)
        if not isinstance(choice, WorkerCandidate):
            return choice
        self._assigned[choice.id] = self._assigned.get(choice.id, 0) + 1
        return next(w for w in pool.workers if w.id == choice.id)


def _unique(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))
