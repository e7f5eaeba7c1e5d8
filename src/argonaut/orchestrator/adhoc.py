"""The ``AdHocScript`` task: the described system's script console.

The script runs once on each selected worker, each run its own activity in the log. Targets are chosen
when the task starts (not when it is queued), so a worker that turned unhealthy meanwhile is not used.
Runs go in parallel up to ``Octopus.Action.MaxParallelism`` (default 10).
"""

from __future__ import annotations

import asyncio
import secrets
import shutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from argonaut.domain.ids import Collection, format_id, parse_id
from argonaut.domain.scripts import (
    DETACH,
    BuiltInTarget,
    LogEntry,
    ScriptJob,
    Target,
    WorkerTarget,
    WorkerUnreachable,
)
from argonaut.domain.tasks import TaskState
from argonaut.domain.timespan import InvalidTimeSpan, parse_timespan
from argonaut.domain.workers import BuiltInWorker, HealthStatus, NoWorker, WorkerCandidate, choose_worker
from argonaut.orchestrator.dispatcher import Dispatcher
from argonaut.orchestrator.queue import TaskRun, Verdict
from argonaut.store import (
    Store,
    leases_repo,
    policies_repo,
    pools_repo,
    script_runs_repo,
    spaces_repo,
    tasks_repo,
    workers_repo,
)
from argonaut.store.connection import Conn

DEFAULT_MAX_PARALLELISM = 10


@dataclass(frozen=True, slots=True)
class Planned:
    label: str
    target: Target | None
    problem: str | None = None
    lease_worker: int | None = None
    busy: bool = False
    lease_id: int | None = None


class AdHocScripts:
    def __init__(
        self,
        store: Store,
        dispatcher: Dispatcher,
        built_in_enabled: bool,
        artifacts_dir: Path,
        encrypt: Callable[[str], str],
    ) -> None:
        self._store = store
        self._dispatcher = dispatcher
        self._built_in_enabled = built_in_enabled
        self._artifacts_dir = artifacts_dir
        self._encrypt = encrypt

    async def __call__(self, run: TaskRun) -> Verdict:
        args: dict[str, Any] = dict(run.row["arguments"])
        plan = await self._plan(run, args)
        waited = 0.0
        while any(p.busy for p in plan) and not any(p.problem and not p.busy for p in plan):
            # Every healthy worker is leased (exclusively, or up to its limit): wait for one rather than
            # fail the step, as the described system learned to (OctopusDeploy/Issues#9470).
            if waited == 0.0:
                for p in plan:
                    if p.busy:
                        run.log.write(run.root_activity, "Wait", f"Waiting: {p.problem}")
            delay = min(2.0, 0.1 * 2 ** min(waited, 5))
            await asyncio.sleep(delay)
            waited += 1
            plan = await self._plan(run, args)
        problems = [p for p in plan if p.problem]
        if problems:
            for p in problems:
                run.log.write(run.root_activity, "Fatal", p.problem or "")
            return Verdict(TaskState.FAILED, "; ".join(p.problem or "" for p in problems))
        limit = asyncio.Semaphore(_max_parallelism(args))
        results = await asyncio.gather(*(self._run_one(run, args, p, limit) for p in plan))
        failures = [message for message in results if message is not None]
        if failures:
            return Verdict(
                TaskState.FAILED,
                failures[0] if len(failures) == 1 else f"{len(failures)} of {len(plan)} runs failed",
            )
        return Verdict(TaskState.SUCCESS)

    async def _plan(self, run: TaskRun, args: dict[str, Any]) -> list[Planned]:
        exclusive = args.get("Isolation") == "FullIsolation"  # such a step takes its worker alone
        target_type = args.get("TargetType", "WorkerPools")
        if target_type == "OctopusServer":
            if not self._built_in_enabled:
                return [
                    Planned("Octopus Server", None, "the built-in worker is disabled on this server node")
                ]
            return [Planned("the built-in worker", BuiltInTarget())]
        space_id = int(run.row["space_id"])
        waits: dict[int, float] = {}
        async with self._store.transaction() as conn:
            if target_type == "Workers":
                plan = await self._plan_workers(conn, space_id, args, waits)
            else:
                plan = await self._plan_pools(conn, space_id, args, exclusive, waits)
            if any(p.problem for p in plan):
                return plan
            # Leases are taken in the transaction that chose the workers, so two steps planning at
            # once cannot both take the one idle worker exclusively.
            leased = []
            for p in plan:
                if p.lease_worker is not None:
                    run.took_leases = True
                    p = replace(
                        p, lease_id=await leases_repo.take(conn, p.lease_worker, run.task_id, exclusive)
                    )
                leased.append(p)
            return leased

    async def _plan_workers(
        self, conn: Conn, space_id: int, args: dict[str, Any], waits: dict[int, float]
    ) -> list[Planned]:
        plan = []
        for worker_text in args.get("MachineIds") or []:
            worker_id = parse_id(Collection.WORKERS, str(worker_text)) or 0
            row = await workers_repo.get(conn, space_id, worker_id)
            if row is None:
                plan.append(Planned(str(worker_text), None, f"worker {worker_text} no longer exists"))
                continue
            health = HealthStatus(row["health_status"])
            if row["is_disabled"] or not health.can_run_scripts:
                why = "disabled" if row["is_disabled"] else f"health status {health.value}"
                plan.append(Planned(row["name"], None, f"worker '{row['name']}' cannot run scripts ({why})"))
                continue
            wait_s = await self._connect_wait_s(conn, space_id, row["machine_policy_id"], waits)
            target = WorkerTarget(row["id"], row["name"], row["endpoint"], wait_s)
            plan.append(Planned(row["name"], target, lease_worker=row["id"]))
        return plan

    async def _plan_pools(
        self, conn: Conn, space_id: int, args: dict[str, Any], exclusive: bool, waits: dict[int, float]
    ) -> list[Planned]:
        texts = args.get("WorkerPoolIds") or []
        pool_ids = [parse_id(Collection.WORKER_POOLS, str(p)) or 0 for p in texts] if texts else None
        plan = []
        for pool in await pools_repo.pools_with_members(conn, space_id, pool_ids):
            candidates = [
                WorkerCandidate(
                    id=format_id(Collection.WORKERS, m.id),
                    name=m.name,
                    health=HealthStatus(m.health_status),
                    is_disabled=m.is_disabled,
                    active_leases=m.active_leases,
                    exclusively_leased=m.exclusively_leased,
                )
                for m in pool.members
            ]
            choice = choose_worker(pool.name, pool.is_default, candidates, self._built_in_enabled, exclusive)
            if isinstance(choice, BuiltInWorker):
                plan.append(Planned(f"the built-in worker (pool '{pool.name}')", BuiltInTarget()))
            elif isinstance(choice, NoWorker):
                plan.append(Planned(pool.name, None, choice.reason, busy=choice.busy))
            else:
                member = next(m for m in pool.members if format_id(Collection.WORKERS, m.id) == choice.id)
                wait_s = await self._connect_wait_s(conn, space_id, member.machine_policy_id, waits)
                target = WorkerTarget(member.id, member.name, member.endpoint, wait_s)
                plan.append(Planned(member.name, target, lease_worker=member.id))
        if not plan:
            space = await spaces_repo.get(conn, space_id)
            name = space["name"] if space else space_id
            plan.append(Planned("", None, f"no worker pool was selected in space '{name}'"))
        return plan

    async def _run_one(
        self, run: TaskRun, args: dict[str, Any], planned: Planned, limit: asyncio.Semaphore
    ) -> str | None:
        async with limit:
            activity = run.log.open_activity(f"Run script on {planned.label}", parent=run.root_activity)
            target = planned.target
            assert target is not None
            ticket = secrets.token_hex(16) if isinstance(target, WorkerTarget) else None
            async with self._store.transaction() as conn:
                if isinstance(target, WorkerTarget) and ticket is not None:
                    run.resumable = True
                    # Stored before the agent hears of it: a node that restarts finds the script by ticket.
                    await script_runs_repo.record(
                        conn, run.task_id, activity, ticket, target.worker_id, target.name, target.endpoint
                    )
                    await tasks_repo.save_activities(conn, run.task_id, run.log.activities)
            job = ScriptJob(
                task_id=run.task_id,
                script_body=str(args.get("ScriptBody", "")),
                syntax="Python" if str(args.get("Syntax", "Bash")).lower() == "python" else "Bash",
                variables=_task_variables(run),
                artifact_dir=self._staging(),
                ticket=ticket,
                isolation="FullIsolation" if args.get("Isolation") == "FullIsolation" else "NoIsolation",
            )
            return await self._carry_out(run, activity, planned.label, target, job, planned.lease_id)

    async def resume(self, run: TaskRun) -> Verdict:
        """Re-attach to the task's scripts on agents after this node restarted, from the last stored line."""
        async with self._store.transaction() as conn:
            runs = await script_runs_repo.for_task(conn, run.task_id)
            since = {
                r["ticket"]: await script_runs_repo.stored_lines(conn, run.task_id, r["activity"])
                for r in runs
            }
        run.took_leases = True
        run.resumable = True
        failures = [f"{r['failure']} (on {r['worker_name']})" for r in runs if r["finished"] and r["failure"]]
        pending = [r for r in runs if not r["finished"]]
        run.log.write(
            run.root_activity, "Info", f"Resuming {len(pending)} script(s) after the server node restarted"
        )
        results = await asyncio.gather(
            *(
                self._carry_out(
                    run,
                    r["activity"],
                    r["worker_name"],
                    WorkerTarget(int(r["worker_id"]), str(r["worker_name"]), r["endpoint"]),
                    ScriptJob(
                        task_id=run.task_id,
                        script_body="",
                        syntax="Bash",
                        artifact_dir=self._staging(),
                        ticket=str(r["ticket"]),
                        resume_from=since[r["ticket"]],
                    ),
                    None,
                )
                for r in pending
            )
        )
        failures += [message for message in results if message is not None]
        if failures:
            return Verdict(
                TaskState.FAILED, failures[0] if len(failures) == 1 else f"{len(failures)} runs failed"
            )
        return Verdict(TaskState.SUCCESS)

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

    def _staging(self) -> Path:
        return self._artifacts_dir / "staging" / uuid.uuid4().hex

    async def _carry_out(
        self, run: TaskRun, activity: str, label: str, target: Target, job: ScriptJob, lease_id: int | None
    ) -> str | None:
        """Run (or follow) one script to its end and collect what it produced; answers its failure, if any."""

        def on_log(entry: LogEntry) -> None:
            run.log.write(activity, entry.category, entry.text, entry.occurred)

        on_agent = isinstance(target, WorkerTarget)
        run.active_runs[on_agent] += 1
        try:
            outcome = await self._dispatcher.run_script(target, job, on_log)
        except WorkerUnreachable as exc:
            run.log.write(activity, "Fatal", str(exc))
            run.log.close_activity(activity, "Failed")
            await self._finished(job, str(exc))
            return str(exc)
        except asyncio.CancelledError as exc:
            if DETACH in exc.args:
                lease_id = None  # the next node carries on with this worker
            raise
        finally:
            run.active_runs[on_agent] -= 1
            if lease_id is not None:
                async with self._store.transaction() as conn:
                    await leases_repo.release(conn, lease_id)
        if outcome.runner_updated_from and isinstance(target, WorkerTarget):
            run.log.write(
                activity,
                "Verbose",
                f"The runner on {label} was updated from {outcome.runner_updated_from} first",
            )
            async with self._store.transaction() as conn:
                await workers_repo.record_runner(conn, target.worker_id, True)
        for variable in outcome.output_variables:
            shown = "********" if variable.sensitive else variable.value
            run.output_variables.append(
                {
                    "Name": variable.name,
                    "Value": self._encrypt(variable.value) if variable.sensitive else variable.value,
                    "IsSensitive": variable.sensitive,
                    "Machine": label,
                }
            )
            run.log.write(activity, "Verbose", f"Output variable '{variable.name}' = '{shown}'")
        for artifact in outcome.artifacts:
            stored_name = uuid.uuid4().hex
            self._artifacts_dir.mkdir(parents=True, exist_ok=True)
            shutil.move(str(artifact.stored_path), self._artifacts_dir / stored_name)
            run.artifacts.append((artifact.name, artifact.length, stored_name))
            run.log.write(activity, "Info", f"Artifact '{artifact.name}' collected ({artifact.length} bytes)")
        if job.artifact_dir is not None:
            shutil.rmtree(job.artifact_dir, ignore_errors=True)
        failure = None
        if outcome.exit_code != 0 or outcome.failure_message:
            message = outcome.failure_message or f"The script exited with code {outcome.exit_code}"
            run.log.write(activity, "Error", message)
            failure = f"{message} (on {label})"
        run.log.close_activity(activity, "Failed" if failure else "Success")
        await self._finished(job, failure)
        return failure

    async def _finished(self, job: ScriptJob, failure: str | None) -> None:
        if job.ticket is not None:
            async with self._store.transaction() as conn:
                await script_runs_repo.finish(conn, job.ticket, failure)


def _task_variables(run: TaskRun) -> dict[str, str]:
    task_id = format_id(Collection.SERVER_TASKS, run.task_id)
    return {
        "Octopus.Task.Id": task_id,
        "Octopus.Task.Name": str(run.row["description"]),
        "Octopus.Space.Id": format_id(Collection.SPACES, int(run.row["space_id"])),
    }


def _max_parallelism(args: dict[str, Any]) -> int:
    value = args.get("MaxParallelism") or (args.get("Variables") or {}).get("Octopus.Action.MaxParallelism")
    try:
        return max(1, int(value)) if value is not None else DEFAULT_MAX_PARALLELISM
    except (TypeError, ValueError):
        return DEFAULT_MAX_PARALLELISM
