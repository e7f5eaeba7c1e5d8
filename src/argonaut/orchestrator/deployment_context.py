"""What a deployment's run needs to know, read from the store once as it starts.

The release's frozen process and variables, the project, environment and channel, and the deployment
targets of the environment with their health: the inputs of the pure placement planner and of the
variables each script sees.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy.engine import RowMapping

from argonaut.domain.ids import Collection, format_id, parse_id
from argonaut.domain.placement import DeploymentContext, PoolInfo, TargetInfo
from argonaut.domain.processes import Step
from argonaut.domain.tasks import TaskState, TaskType
from argonaut.domain.variables import Variable
from argonaut.domain.workers import HealthStatus
from argonaut.orchestrator.queue import TaskRun, Verdict
from argonaut.store import (
    Store,
    environments_repo,
    machines_repo,
    pools_repo,
    projects_repo,
    releases_repo,
    runbooks_repo,
    spaces_repo,
)
from argonaut.store.pools_repo import PoolWithMembers

VariablesFor = Callable[[Any, str], Awaitable[list[Variable]]]
StepsFor = Callable[[Any, str], Awaitable[tuple[Step, ...]]]


@dataclass
class RunContext:
    """A deployment or a runbook run: the same engine runs both, with their own rows beside it."""

    space_id: int
    space_name: str
    run_row: RowMapping  # the deployment or the runbook run
    release: RowMapping | None  # a deployment's release
    project: RowMapping
    environment: RowMapping
    channel: RowMapping | None
    steps: tuple[Step, ...]
    variables: list[Variable]
    targets: list[TargetInfo]
    target_rows: dict[str, RowMapping] = field(default_factory=dict)
    default_pool_id: str = ""
    built_in_enabled: bool = True
    pool_names: dict[str, str] = field(default_factory=dict)
    runbook: RowMapping | None = None  # a runbook run's runbook and snapshot
    snapshot: RowMapping | None = None
    pools_found: list[PoolWithMembers] | None = None  # read with the rest; planning again reads anew

    @property
    def is_runbook_run(self) -> bool:
        return self.runbook is not None

    @property
    def environment_id(self) -> str:
        return format_id(Collection.ENVIRONMENTS, int(self.environment["id"]))

    @property
    def channel_id(self) -> str | None:
        """A deployment's channel; runbook runs have none (and so no channel filters or scopes)."""
        if self.release is None:
            return None
        return format_id(Collection.CHANNELS, int(self.release["channel_id"]))

    @property
    def process_owner_id(self) -> str:
        """What a variable's ProcessOwner scope names: the project (deployments) or the runbook."""
        if self.runbook is not None:
            return format_id(Collection.RUNBOOKS, int(self.runbook["id"]))
        return format_id(Collection.PROJECTS, int(self.project["id"]))

    @property
    def run_id(self) -> str:
        collection = Collection.RUNBOOK_RUNS if self.is_runbook_run else Collection.DEPLOYMENTS
        return format_id(collection, int(self.run_row["id"]))

    @property
    def related_document_ids(self) -> list[str]:
        """What an interruption of this run is about (``/interruptions?regarding=…``)."""
        ids = [self.run_id]
        if self.run_row["task_id"] is not None:
            ids.append(format_id(Collection.SERVER_TASKS, int(self.run_row["task_id"])))
        ids += [format_id(Collection.PROJECTS, int(self.project["id"])), self.environment_id]
        if self.runbook is not None:
            ids.append(format_id(Collection.RUNBOOKS, int(self.runbook["id"])))
        return ids

    @property
    def planning(self) -> DeploymentContext:
        document = self.run_row["document"] or {}
        return DeploymentContext(
            environment_id=self.environment_id,
            channel_id=self.channel_id,
            specific_machine_ids=frozenset(document.get("SpecificMachineIds") or []),
            excluded_machine_ids=frozenset(document.get("ExcludedMachineIds") or []),
            skip_action_ids=frozenset(document.get("SkipActions") or []),
            default_pool_id=self.default_pool_id,
            built_in_enabled=self.built_in_enabled,
            pool_variable_values=self.pool_variable_values(),
        )

    def pool_variable_values(self) -> dict[str, str]:
        """WorkerPool-type variables (for ``WorkerPoolVariable``), as they apply in this environment."""
        from argonaut.domain.variables import ScopeContext, all_values

        pools = [v for v in self.variables if v.type == "WorkerPool"]
        values, _ = all_values(pools, ScopeContext(environment_id=self.environment_id))
        return values

    def pools(self, found: Sequence[PoolWithMembers]) -> dict[str, PoolInfo]:
        result = {}
        for pool in found:
            pool_id = format_id(Collection.WORKER_POOLS, pool.id)
            self.pool_names[pool_id] = pool.name
            if pool.is_default:
                self.default_pool_id = pool_id
            result[pool_id] = pool_info(pool)
        return result

    @property
    def guided_failure(self) -> bool:
        if (self.run_row["document"] or {}).get("UseGuidedFailure"):
            return True
        owner = self.runbook if self.runbook is not None else self.project
        mode = (owner["document"] or {}).get("DefaultGuidedFailureMode") or "EnvironmentDefault"
        if mode == "On":
            return True
        return mode == "EnvironmentDefault" and bool(self.environment["use_guided_failure"])

    def target_name(self, target_id: str | None) -> str | None:
        row = self.target_rows.get(target_id or "")
        return str(row["name"]) if row is not None else None


class DeploymentContextLoader:
    def __init__(
        self, store: Store, variables_for: VariablesFor, steps_for: StepsFor, built_in_enabled: bool
    ) -> None:
        self._store = store
        self._variables_for = variables_for  # decrypted by the composition root: no key here
        self._steps_for = steps_for
        # Frozen processes and variable sets never change (a PUT to one is refused), so a release or
        # snapshot run again and again is read and decrypted once.
        self._frozen_steps: OrderedDict[str, tuple[Step, ...]] = OrderedDict()
        self._frozen_variables: OrderedDict[str, list[Variable]] = OrderedDict()
        self._built_in_enabled = built_in_enabled

    async def load(self, run: TaskRun) -> RunContext | Verdict:
        arguments: Mapping[str, Any] = run.row["arguments"] or {}
        if run.row["name"] == TaskType.RUNBOOK_RUN.value:
            return await self._load_runbook_run(str(arguments.get("RunbookRunId") or ""))
        number = parse_id(Collection.DEPLOYMENTS, str(arguments.get("DeploymentId") or ""))
        async with self._store.transaction() as conn:
            deployment = await releases_repo.deployment_by_id(conn, number) if number is not None else None
            if deployment is None:
                return Verdict(TaskState.FAILED, "The deployment of this task no longer exists")
            space_id = int(deployment["space_id"])
            release = await releases_repo.get_release(conn, space_id, int(deployment["release_id"]))
            if release is None:
                return Verdict(TaskState.FAILED, "The release of this deployment was deleted")
            channel = await projects_repo.get_channel(conn, space_id, int(release["channel_id"]))
            frozen = str(release["process_snapshot_id"]), str(release["variables_snapshot_id"])
            return await self._context(conn, deployment, frozen, release=release, channel=channel)

    async def _load_runbook_run(self, run_id: str) -> RunContext | Verdict:
        number = parse_id(Collection.RUNBOOK_RUNS, run_id)
        async with self._store.transaction() as conn:
            row = await runbooks_repo.run_by_id(conn, number) if number is not None else None
            if row is None:
                return Verdict(TaskState.FAILED, "The runbook run of this task no longer exists")
            space_id = int(row["space_id"])
            runbook = await runbooks_repo.get_runbook(conn, space_id, int(row["runbook_id"]))
            snapshot = await runbooks_repo.get_snapshot(conn, space_id, int(row["snapshot_id"]))
            if runbook is None or snapshot is None:
                return Verdict(TaskState.FAILED, "The runbook or its snapshot was deleted")
            frozen = str(snapshot["process_snapshot_id"]), str(snapshot["variables_snapshot_id"])
            return await self._context(conn, row, frozen, runbook=runbook, snapshot=snapshot)

    async def _context(
        self,
        conn: Any,
        run_row: RowMapping,
        frozen: tuple[str, str],
        *,
        release: RowMapping | None = None,
        channel: RowMapping | None = None,
        runbook: RowMapping | None = None,
        snapshot: RowMapping | None = None,
    ) -> RunContext | Verdict:
        space_id = int(run_row["space_id"])
        space = await spaces_repo.get(conn, space_id)
        project = await projects_repo.get_project(conn, space_id, int(run_row["project_id"]))
        environment = await environments_repo.get(conn, space_id, int(run_row["environment_id"]))
        if project is None or environment is None or space is None:
            return Verdict(TaskState.FAILED, "The project or environment was deleted")
        steps = await _cached(self._frozen_steps, frozen[0], lambda: self._steps_for(conn, frozen[0]))
        variables = await _cached(
            self._frozen_variables, frozen[1], lambda: self._variables_for(conn, frozen[1])
        )
        context = RunContext(
            space_id=space_id,
            space_name=str(space["name"]),
            run_row=run_row,
            release=release,
            project=project,
            environment=environment,
            channel=channel,
            steps=steps,
            variables=variables,
            targets=[],
            built_in_enabled=self._built_in_enabled,
            runbook=runbook,
            snapshot=snapshot,
        )
        # Read in the same transaction: one round trip to start a run, not three.
        await self.refresh_targets(context, conn)
        context.pools_found = await pools_repo.all_pools_with_members(conn, space_id)
        return context

    async def refresh_targets(self, context: RunContext, conn: Any = None) -> None:
        """The environment's targets with their health as it is now (after checking some, say)."""
        if conn is None:
            async with self._store.single() as conn:
                rows = await machines_repo.targets_in_environment(
                    conn, context.space_id, int(context.environment["id"])
                )
        else:
            rows = await machines_repo.targets_in_environment(
                conn, context.space_id, int(context.environment["id"])
            )
        context.target_rows = {format_id(Collection.MACHINES, int(r["id"])): r for r in rows}
        context.targets = [target_info(row) for row in context.target_rows.values()]


def target_info(row: Any) -> TargetInfo:
    """The planner's view of a target row (the engine's, and a deployment preview's)."""
    return TargetInfo(
        id=format_id(Collection.MACHINES, int(row["id"])),
        name=str(row["name"]),
        roles=frozenset(str(r) for r in row["roles"] or []),
        environment_ids=frozenset(str(e) for e in row["environment_ids"] or []),
        is_disabled=bool(row["is_disabled"]),
        health=HealthStatus(row["health_status"]),
        communication_style=str(row["communication_style"]),
        default_worker_pool_id=(row["endpoint"] or {}).get("DefaultWorkerPoolId") or None,
    )


def pool_info(pool: PoolWithMembers) -> PoolInfo:
    """The planner's view of a pool with its members' health and leases."""
    return PoolInfo(
        format_id(Collection.WORKER_POOLS, pool.id),
        pool.name,
        pool.is_default,
        tuple(m.candidate() for m in pool.members),
    )


FROZEN_CACHE_SIZE = 64
T = TypeVar("T")


async def _cached(cache: OrderedDict[str, T], key: str, load: Callable[[], Awaitable[T]]) -> T:
    """A frozen document from ``cache``, else loaded (the least recently used one makes room)."""
    if key in cache:
        cache.move_to_end(key)
        return cache[key]
    value = await load()
    cache[key] = value
    if len(cache) > FROZEN_CACHE_SIZE:
        cache.popitem(last=False)
    return value
