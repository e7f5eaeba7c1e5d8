"""The ``Health`` task: check machines (workers and deployment targets) now, concurrently, each within
its policy's timeout.

Each check is its own activity in the log. A worker that does not answer within the timeout is
Unavailable — a check never hangs a task (the described system's users lost deployments to a health
check that hung forever, ISS#8250) — and cancelling the task stops every check at once, even for an
agent that is offline. Agents and SSH machines are checked the same way whatever their kind; a Cloud
Region target through a worker of its pool (``cloud_health``).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy.engine import RowMapping

from argonaut.domain.connection_history import health_change
from argonaut.domain.health import HealthReport
from argonaut.domain.placement import PlacementKind
from argonaut.domain.policies import default_document
from argonaut.domain.processes import Action, Step
from argonaut.domain.scripts import LogEntry, ScriptJob, Target, WorkerTarget
from argonaut.domain.task_arguments import WorkerSelection
from argonaut.domain.tasks import TaskState
from argonaut.domain.timespan import parse_timespan
from argonaut.domain.workers import CommunicationStyle, HealthStatus
from argonaut.orchestrator.cloud_health import CloudRegionHealth
from argonaut.orchestrator.dispatcher import Dispatcher, run_to_end
from argonaut.orchestrator.process_run import ProcessRun, ProcessState, RunOptions, Spot, Tools, single_step
from argonaut.orchestrator.queue import TaskRun, Verdict
from argonaut.store import Store, connection_history_repo, machines_repo, policies_repo, workers_repo
from argonaut.store.connection import Conn
from argonaut.store.script_runs_repo import ScriptRun

MAX_CONCURRENT_CHECKS = 100
MAX_WRITE_BATCH = 500  # checks' results stored in one transaction

Say = Callable[[str, str], None]  # (category, text): where a check reports as it goes


class WorkerHealth:
    """Checks one machine (a worker or a deployment target) and records what it found.

    Shared by ``Health`` tasks and by a step that meets a worker nobody has checked yet: the step checks
    it itself rather than wait for a queued check that its own task-cap slot might be holding up.
    """

    def __init__(
        self, store: Store, dispatcher: Dispatcher, runner_version: str, built_in_enabled: bool = True
    ) -> None:
        self.store = store
        self._dispatcher = dispatcher
        self._runner_version = runner_version
        self._cloud = CloudRegionHealth(store, dispatcher, runner_version, built_in_enabled)
        self._writes = HealthWrites(store)

    async def policies(self, conn: Conn, space_id: int, rows: Sequence[Any]) -> dict[int, dict[str, Any]]:
        found: dict[int, dict[str, Any]] = {}
        for row in rows:
            if row["machine_policy_id"] not in found:
                policy = await policies_repo.get(conn, space_id, row["machine_policy_id"])
                found[row["machine_policy_id"]] = policy["document"] if policy else default_document()
        return found

    async def check(
        self, task_id: int, row: Any, policy: dict[str, Any], say: Say, timeout_s: float | None = None
    ) -> HealthReport:
        """Check ``row`` within ``timeout_s`` (default: its policy's HealthCheckTimeout) and record it."""
        check_policy = policy.get("MachineHealthCheckPolicy") or {}
        timeout_s = timeout_s or _timeout(check_policy.get("HealthCheckTimeout"))
        threshold = check_policy.get("MinimumFreeDiskSpaceWarningMegabytes")
        target: Target | None = WorkerTarget(
            int(row["id"]),
            str(row["name"]),
            row["endpoint"],
            min_free_disk_mb=int(threshold) if isinstance(threshold, int) else 500,
        )
        try:
            if row["communication_style"] == CommunicationStyle.NONE.value:
                reached = await self._cloud.reach(row, timeout_s)
                report, target = reached.report, reached.via  # the check script runs where its steps do
            else:
                assert target is not None
                report = await self._dispatcher.check_health(target, timeout_s)
        except Exception as exc:  # one broken check must not fail the others' task
            report = HealthReport(HealthStatus.UNHEALTHY, f"The health check itself failed: {exc}")
        script = ((check_policy.get("BashHealthCheckPolicy") or {}).get("ScriptBody") or "").strip()
        if (
            target is not None
            and report.status.can_run_scripts
            and script
            and check_policy.get("HealthCheckType") != "OnlyConnectivity"
        ):
            report = await self._run_check_script(task_id, target, script, report, timeout_s, say)
        latest = report.runner_version == self._runner_version if report.runner_version else None
        say(
            "Info" if report.status.can_run_scripts else "Error",
            f"{row['name']}: {report.status.value} — {report.summary}",
        )
        details = dict(row["details"] or {})
        details.update(report.details)
        now = time.time()
        details["LastChecked"] = dt.datetime.fromtimestamp(now, dt.UTC).isoformat()
        if report.runner_version:
            details["RunnerVersion"] = report.runner_version
        if report.status is HealthStatus.UNAVAILABLE:
            details.setdefault("UnavailableSince", str(now))
        else:
            details.pop("UnavailableSince", None)
        cleanup = policy.get("MachineCleanupPolicy") or {}
        unavailable_s = now - float(details.get("UnavailableSince", now))
        delete = cleanup.get(
            "DeleteMachinesBehavior"
        ) == "DeleteUnavailableMachines" and unavailable_s >= _timeout(
            cleanup.get("DeleteMachinesElapsedTimeSpan"), minimum_s=0.0
        )
        await self._writes.record(_Write(row, report, latest, details, delete))
        if delete:
            say(
                "Warning",
                f"{row['name']} was deleted: unavailable for {unavailable_s:.0f}s, and its policy "
                "deletes unavailable machines",
            )
        return report

    async def _run_check_script(
        self,
        task_id: int,
        target: Target,
        script: str,
        report: HealthReport,
        timeout_s: float,
        say: Say,
    ) -> HealthReport:
        warnings: list[str] = []

        def on_log(entry: LogEntry) -> None:
            say(entry.category, entry.text)
            if entry.category == "Warning":
                warnings.append(entry.text)

        job = ScriptJob(task_id=task_id, script_body=script, syntax="Bash")
        handle = self._dispatcher.handle(target, secrets.token_hex(16))
        try:
            async with asyncio.timeout(timeout_s):
                outcome = await run_to_end(self._dispatcher, handle, job, on_log)
        except TimeoutError:
            return HealthReport(
                HealthStatus.UNHEALTHY,
                f"The health check script did not finish within {timeout_s:g}s",
                report.runner_version,
                report.details,
            )
        if outcome.failure is not None:
            why = outcome.failure_message or f"exited with code {outcome.exit_code}"
            return HealthReport(
                HealthStatus.UNHEALTHY,
                f"The health check script failed: {why}",
                report.runner_version,
                report.details,
            )
        if warnings:
            return HealthReport(
                HealthStatus.HAS_WARNINGS,
                f"The health check script warned: {warnings[0]}",
                report.runner_version,
                report.details,
            )
        return report


@dataclass(frozen=True, slots=True)
class _Write:
    """What one check stores: its result, or the machine's deletion (its policy deletes it)."""

    row: Any
    report: HealthReport
    latest: bool | None
    details: dict[str, Any]
    delete: bool


class HealthWrites:
    """Group commit of checks' results: each check waits for its result to be stored, but the results
    that arrive while one transaction is being written go together in the next one (at most
    ``MAX_WRITE_BATCH``), as one select and an executemany (``workers_repo.record_health_many``).

    A check of ten thousand machines so costs a few dozen transactions instead of ten thousand, and a
    lone check (a step checking its worker) waits for no timer: its transaction starts at once."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._queued: list[tuple[_Write, asyncio.Future[None]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def record(self, write: _Write) -> None:
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        done.add_done_callback(_retrieved)  # a check cancelled meanwhile no longer awaits its failure
        self._queued.append((write, done))
        if self._writer is None:
            self._writer = asyncio.create_task(self._drain(), name="health-writes")
        await asyncio.shield(done)  # a cancelled check still has its result stored

    async def _drain(self) -> None:
        batch: list[tuple[_Write, asyncio.Future[None]]] = []
        try:
            while self._queued:
                batch = self._queued[:MAX_WRITE_BATCH]
                del self._queued[:MAX_WRITE_BATCH]
                try:
                    async with self._store.transaction() as conn:
                        await _store_writes(conn, [write for write, _ in batch])
                except Exception:
                    # One result may be what the store refuses: write each alone, so the others are not
                    # lost with it, and let that one's check fail as it did when each wrote its own.
                    for write, done in batch:
                        try:
                            async with self._store.transaction() as conn:
                                await _store_writes(conn, [write])
                        except Exception as exc:
                            if not done.done():
                                done.set_exception(exc)
                        else:
                            if not done.done():
                                done.set_result(None)
                    continue
                for _, done in batch:
                    if not done.done():
                        done.set_result(None)
        except BaseException:  # cancelled with the loop: nobody may wait for a write that never comes
            for _, done in [*batch, *self._queued]:
                done.cancel()
            self._queued.clear()
            raise
        finally:
            self._writer = None


def _retrieved(done: asyncio.Future[None]) -> None:
    if not done.cancelled():
        done.exception()


async def _store_writes(conn: Conn, writes: Sequence[_Write]) -> None:
    kept: list[_Write] = []
    for write in writes:
        row = write.row
        if not write.delete:
            kept.append(write)
        elif row.get("kind") == workers_repo.TARGET:
            await machines_repo.delete_target(conn, int(row["space_id"]), int(row["id"]))
        else:
            await workers_repo.delete_worker(conn, int(row["space_id"]), int(row["id"]))
    records = [
        workers_repo.HealthRecord(
            int(w.row["id"]),
            w.report.status.value,
            w.report.summary,
            w.latest,
            w.details,
            w.row.get("endpoint"),
        )
        for w in kept
    ]
    changed = await workers_repo.record_health_many(conn, records)
    for write in kept:
        previous = changed.pop(int(write.row["id"]), None)
        if previous is not None:
            await _record_change(conn, write.row, previous, write.report)


async def _record_change(conn: Conn, row: Any, previous: str, report: HealthReport) -> None:
    """Keep the machine's connection history: the check that changed its health writes an event."""
    change = health_change(str(row["name"]), previous, report.status.value, report.summary)
    if change is None:
        return
    machine_id = workers_repo.machine_id(int(row["id"]), str(row.get("kind") or workers_repo.WORKER))
    await connection_history_repo.record(conn, int(row["space_id"]), machine_id, *change)


HEALTH_CHECK = "Octopus.HealthCheck"


class _HealthSource:
    """A Health task as the engine sees it: one step of the described system's ``Octopus.HealthCheck``,
    run once per machine, up to 100 at once."""

    def __init__(self, space_id: int) -> None:
        self._space_id = space_id
        step, _ = single_step("Check health", HEALTH_CHECK)
        self._steps = (step,)

    @property
    def space_id(self) -> int:
        return self._space_id

    @property
    def steps(self) -> tuple[Step, ...]:
        return self._steps

    def step_variables(self, step: Step, state: ProcessState) -> dict[str, str]:
        return {}

    def spot_variables(
        self, step: Step, action: Action, spot: Spot, state: ProcessState
    ) -> tuple[dict[str, str], frozenset[str]]:
        return {}, frozenset()

    def window(self, step: Step, action: Action) -> int:
        return MAX_CONCURRENT_CHECKS

    def target_name(self, target_id: str | None) -> str | None:
        return None

    @property
    def guided_failure(self) -> bool:
        return False

    def verdict(self, state: ProcessState, runs: int) -> Verdict:
        if state.failures:
            return Verdict(TaskState.FAILED, "; ".join(state.failures))
        return Verdict(TaskState.SUCCESS)


class HealthChecks:
    """The ``Health`` task: a one-step process whose action checks each machine, each its own activity."""

    def __init__(self, checker: WorkerHealth, tools: Tools) -> None:
        self._checker = checker
        self._tools = tools

    async def run(self, run: TaskRun) -> Verdict:
        selection = WorkerSelection.from_json(run.row["arguments"])
        space_id = int(run.row["space_id"])
        async with self._checker.store.transaction() as conn:
            rows = await select_machines(conn, space_id, selection)
            policies = await self._checker.policies(conn, space_id, rows)
        rows = [r for r in rows if not r["is_disabled"]]
        if not rows:
            run.log.write(run.root_activity, "Info", "There are no enabled machines to check")
            return Verdict(TaskState.SUCCESS)
        by_key = {f"1/1/{n:05d}": row for n, row in enumerate(rows)}
        timeout_s = _timeout(selection.timeout) if selection.timeout else None

        async def check(
            process: ProcessRun, step: Step, action: Action, spot: Spot, parent: str
        ) -> str | None:
            row = by_key[spot.key]
            activity = run.log.open_activity(f"Check {row['name']}", parent=parent)

            def say(category: str, text: str) -> None:
                run.log.write(activity, category, text)

            policy = policies[row["machine_policy_id"]]
            report = await self._checker.check(run.task_id, row, policy, say, timeout_s)
            run.log.close_activity(activity, "Success" if report.status.can_run_scripts else "Failed")
            return None if report.status.can_run_scripts else f"{row['name']} is {report.status.value}"

        tools = replace(self._tools, performers={**self._tools.performers, HEALTH_CHECK: check})
        spots = [Spot(key, PlacementKind.TARGET.value, str(row["name"])) for key, row in by_key.items()]
        source = _HealthSource(space_id)
        state = ProcessState(spots={source.steps[0].actions[0].id: spots})
        return await ProcessRun(
            tools, run, source, state, options=RunOptions(persist=False, flat=True)
        ).execute()

    async def resume(self, run: TaskRun, scripts: Sequence[ScriptRun]) -> Verdict:
        return Verdict(TaskState.FAILED, "A health check cannot be carried on after a restart; run it again")


async def select_machines(conn: Conn, space_id: int, selection: WorkerSelection) -> list[RowMapping]:
    """The machines a Health or UpdateCalamari task names: workers by id or pool, deployment targets by id
    or environment; naming none of these, every machine of the space its ``RestrictedTo`` allows."""
    if not selection.names_machines:
        rows: list[RowMapping] = []
        if selection.restricted_to != "DeploymentTargets":
            rows.extend(await workers_repo.all_in_space(conn, space_id))
        if selection.restricted_to != "Workers":
            rows.extend(await machines_repo.all_in_space(conn, space_id))
        return rows
    workers: Sequence[RowMapping] = ()
    if selection.machine_ids or selection.worker_pool_id is not None:
        filt = (
            workers_repo.WorkerFilter(ids=list(selection.machine_ids))
            if selection.machine_ids
            else workers_repo.WorkerFilter(pool_ids=[selection.worker_pool_id or 0])
        )
        _, workers = await workers_repo.list_workers(conn, space_id, filt, 0, 100_000)
    targets: Sequence[RowMapping] = ()
    if selection.target_ids:
        target_filter = machines_repo.MachineFilter(ids=list(selection.target_ids))
        _, targets = await machines_repo.list_targets(conn, space_id, target_filter, 0, 100_000)
    elif selection.environment_id is not None:
        targets = await machines_repo.targets_in_environment(conn, space_id, selection.environment_id)
    return [*workers, *targets]


def policy_timeout_s(policy: dict[str, Any]) -> float:
    return _timeout((policy.get("MachineHealthCheckPolicy") or {}).get("HealthCheckTimeout"))


def _timeout(value: Any, minimum_s: float = 1.0) -> float:
    try:
        return max(minimum_s, parse_timespan(str(value))) if value else 300.0
    except ValueError:
        return 300.0
