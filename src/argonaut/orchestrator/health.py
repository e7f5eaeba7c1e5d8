"""The ``Health`` task: check workers now, concurrently, each within its policy's timeout.

Each check is its own activity in the log. A worker that does not answer within the timeout is
Unavailable — a check never hangs a task (the described system's users lost deployments to a health
check that hung forever, ISS#8250) — and cancelling the task stops every check at once, even for an
agent that is offline.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any

from sqlalchemy.engine import RowMapping

from argonaut.domain.health import HealthReport
from argonaut.domain.ids import Collection, parse_id
from argonaut.domain.policies import default_document
from argonaut.domain.scripts import LogEntry, ScriptJob, WorkerTarget
from argonaut.domain.tasks import TaskState
from argonaut.domain.timespan import parse_timespan
from argonaut.domain.workers import HealthStatus
from argonaut.orchestrator.dispatcher import Dispatcher
from argonaut.orchestrator.queue import TaskRun, Verdict
from argonaut.store import Store, policies_repo, workers_repo
from argonaut.store.connection import Conn

MAX_CONCURRENT_CHECKS = 100


class HealthChecks:
    def __init__(self, store: Store, dispatcher: Dispatcher, runner_version: str) -> None:
        self._store = store
        self._dispatcher = dispatcher
        self._runner_version = runner_version

    async def __call__(self, run: TaskRun) -> Verdict:
        args: dict[str, Any] = dict(run.row["arguments"])
        space_id = int(run.row["space_id"])
        async with self._store.transaction() as conn:
            rows = await select_workers(conn, space_id, args)
            policies = {}
            for row in rows:
                if row["machine_policy_id"] not in policies:
                    policy = await policies_repo.get(conn, space_id, row["machine_policy_id"])
                    policies[row["machine_policy_id"]] = policy["document"] if policy else default_document()
        rows = [r for r in rows if not r["is_disabled"]]
        if not rows:
            run.log.write(run.root_activity, "Info", "There are no enabled workers to check")
            return Verdict(TaskState.SUCCESS)
        limit = asyncio.Semaphore(MAX_CONCURRENT_CHECKS)
        reports = await asyncio.gather(
            *(self._check(run, row, policies[row["machine_policy_id"]], args, limit) for row in rows)
        )
        bad = [
            f"{row['name']} is {report.status.value}"
            for row, report in zip(rows, reports, strict=True)
            if not report.status.can_run_scripts
        ]
        if bad:
            return Verdict(TaskState.FAILED, "; ".join(bad))
        return Verdict(TaskState.SUCCESS)

    async def _check(
        self, run: TaskRun, row: Any, policy: dict[str, Any], args: dict[str, Any], limit: asyncio.Semaphore
    ) -> HealthReport:
        async with limit:
            activity = run.log.open_activity(f"Check {row['name']}", parent=run.root_activity)
            check_policy = policy.get("MachineHealthCheckPolicy") or {}
            timeout_s = _timeout(args.get("Timeout") or check_policy.get("HealthCheckTimeout"))
            threshold = check_policy.get("MinimumFreeDiskSpaceWarningMegabytes")
            target = WorkerTarget(
                int(row["id"]),
                str(row["name"]),
                row["endpoint"],
                min_free_disk_mb=int(threshold) if isinstance(threshold, int) else 500,
            )
            try:
                report = await self._dispatcher.check_health(target, timeout_s)
            except Exception as exc:  # one broken check must not fail the others' task
                report = HealthReport(HealthStatus.UNHEALTHY, f"The health check itself failed: {exc}")
            script = ((check_policy.get("BashHealthCheckPolicy") or {}).get("ScriptBody") or "").strip()
            if (
                report.status.can_run_scripts
                and script
                and check_policy.get("HealthCheckType") != "OnlyConnectivity"
            ):
                report = await self._run_check_script(run, activity, target, script, report, timeout_s)
            latest = report.runner_version == self._runner_version if report.runner_version else None
            category = "Info" if report.status.can_run_scripts else "Error"
            run.log.write(activity, category, f"{row['name']}: {report.status.value} — {report.summary}")
            details = dict(row["details"] or {})
            details.update(report.details)
            now = time.time()
            if report.status is HealthStatus.UNAVAILABLE:
                details.setdefault("UnavailableSince", str(now))
            else:
                details.pop("UnavailableSince", None)
            cleanup = policy.get("MachineCleanupPolicy") or {}
            unavailable_s = now - float(details.get("UnavailableSince", now))
            async with self._store.transaction() as conn:
                if cleanup.get(
                    "DeleteMachinesBehavior"
                ) == "DeleteUnavailableMachines" and unavailable_s >= _timeout(
                    cleanup.get("DeleteMachinesElapsedTimeSpan"), minimum_s=0.0
                ):
                    await workers_repo.delete_worker(conn, int(row["space_id"]), int(row["id"]))
                    run.log.write(
                        activity,
                        "Warning",
                        f"{row['name']} was deleted: unavailable for {unavailable_s:.0f}s, and its policy "
                        "deletes unavailable machines",
                    )
                else:
                    await workers_repo.record_health(
                        conn, int(row["id"]), report.status.value, report.summary, latest, details
                    )
            run.log.close_activity(activity, "Success" if report.status.can_run_scripts else "Failed")
            return report

    async def _run_check_script(
        self,
        run: TaskRun,
        activity: str,
        target: WorkerTarget,
        script: str,
        report: HealthReport,
        timeout_s: float,
    ) -> HealthReport:
        warnings: list[str] = []

        def on_log(entry: LogEntry) -> None:
            run.log.write(activity, entry.category, entry.text, entry.occurred)
            if entry.category == "Warning":
                warnings.append(entry.text)

        job = ScriptJob(task_id=run.task_id, script_body=script, syntax="Bash")
        try:
            async with asyncio.timeout(timeout_s):
                outcome = await self._dispatcher.run_script(target, job, on_log)
        except TimeoutError:
            return HealthReport(
                HealthStatus.UNHEALTHY,
                f"The health check script did not finish within {timeout_s:g}s",
                report.runner_version,
                report.details,
            )
        if outcome.exit_code != 0:
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


async def select_workers(conn: Conn, space_id: int, args: dict[str, Any]) -> Sequence[RowMapping]:
    """The workers a Health or UpdateCalamari task names: MachineIds, a WorkerpoolId, or the whole space."""
    if args.get("MachineIds"):
        numbers = [parse_id(Collection.WORKERS, str(m)) or 0 for m in args["MachineIds"]]
        _, rows = await workers_repo.list_workers(
            conn, space_id, workers_repo.WorkerFilter(ids=numbers), 0, 100_000
        )
        return rows
    if args.get("WorkerpoolId"):
        pool = parse_id(Collection.WORKER_POOLS, str(args["WorkerpoolId"])) or 0
        _, rows = await workers_repo.list_workers(
            conn, space_id, workers_repo.WorkerFilter(pool_ids=[pool]), 0, 100_000
        )
        return rows
    return await workers_repo.all_in_space(conn, space_id)


def _timeout(value: Any, minimum_s: float = 1.0) -> float:
    try:
        return max(minimum_s, parse_timespan(str(value))) if value else 300.0
    except ValueError:
        return 300.0
