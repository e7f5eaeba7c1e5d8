"""The task queue of one node: claims queued tasks up to the task cap and runs them.

The loop wakes on events (a task queued, a task finished, a cancel), never on a timer, so the path from
``POST /tasks`` to a running script has no polling delay. A slow safety tick (``idle_poll_s``) only picks
up work queued by another process sharing the database.

Every way a task can end (success, failure, cancel, crash of the executor, node shutdown) goes through
:meth:`TaskQueue._finish`, which writes the last log lines, the final state and releases leases in one
transaction.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import RowMapping

from argonaut.domain.ids import Collection, format_id
from argonaut.domain.scripts import DETACH
from argonaut.domain.tasks import TaskState, transition
from argonaut.orchestrator.events import Completed, TaskEvents
from argonaut.orchestrator.task_log import TaskLog
from argonaut.store import Store, artifacts_repo, leases_repo, script_runs_repo, tasks_repo

log = logging.getLogger(__name__)


@dataclass
class TaskRun:
    """What an executor gets: the task row, its log and places to put results."""

    row: RowMapping
    log: TaskLog
    root_activity: str
    output_variables: list[dict[str, Any]] = field(default_factory=list)
    took_leases: bool = False
    # Whether any script of this task was recorded for resuming (runs on agents): only such a task
    # needs its activity tree stored while it runs, and its records removed when it ends.
    resumable: bool = False
    # Scripts in flight, by where they run: {False: built-in worker, True: agents}. A node that stops
    # hands a task over only if none of its scripts would die with it.
    active_runs: dict[bool, int] = field(default_factory=lambda: {False: 0, True: 0})
    artifacts: list[tuple[str, int, str]] = field(default_factory=list)  # (filename, length, stored_name)

    @property
    def task_id(self) -> int:
        return int(self.row["id"])


@dataclass(frozen=True, slots=True)
class Verdict:
    state: TaskState
    error_message: str | None = None


Executor = Callable[[TaskRun], Awaitable[Verdict]]


@dataclass
class _Running:
    run: TaskRun
    job: asyncio.Task[None]
    cancel_reason: str | None = None


class TaskQueue:
    def __init__(
        self,
        store: Store,
        events: TaskEvents,
        executors: Mapping[str, Executor],
        node: str,
        task_cap: int,
        flush_interval_s: float = 0.2,
        idle_poll_s: float = 5.0,
    ) -> None:
        self._store = store
        self._events = events
        self._executors = executors
        self.node = node
        self.task_cap = task_cap
        self._flush_interval_s = flush_interval_s
        self._idle_poll_s = idle_poll_s
        self._wake = asyncio.Event()
        self._running: dict[int, _Running] = {}
        self._accepting = True
        self._loops: list[asyncio.Task[None]] = []

    # -- lifecycle -----------------------------------------------------------------------------------

    async def start(self) -> None:
        for row in await self._recover_orphans():
            self._launch(row, resume=True)
        self._loops = [
            asyncio.create_task(self._claim_loop(), name="task-queue"),
            asyncio.create_task(self._flush_loop(), name="task-log-flusher"),
        ]

    async def stop(self, grace_s: float) -> None:
        """Stop taking work and let running tasks finish for ``grace_s``. Then a task whose scripts all
        run on agents is handed over (left running there, resumed by the next node to start); the
        rest end as Failed, since their scripts die with this node."""
        self._accepting = False
        self._wake.set()
        if self._running:
            jobs = [r.job for r in self._running.values()]
            _, still = await asyncio.wait(jobs, timeout=grace_s) if grace_s > 0 else (set(), set(jobs))
            for running in list(self._running.values()):
                if running.job not in still:
                    continue
                if running.run.active_runs[True] and not running.run.active_runs[False]:
                    running.cancel_reason = DETACH
                    running.job.cancel(DETACH)
                else:
                    running.cancel_reason = (
                        f"The server node '{self.node}' shut down while this task was running"
                    )
                    running.job.cancel()
            if still:
                await asyncio.wait(still, timeout=10)
        for loop in self._loops:
            loop.cancel()
        for loop in self._loops:
            with contextlib.suppress(asyncio.CancelledError):
                await loop

    def wake(self) -> None:
        self._wake.set()

    @property
    def running_count(self) -> int:
        return len(self._running)

    def live_log(self, task_id: int) -> TaskLog | None:
        running = self._running.get(task_id)
        return running.run.log if running else None

    # -- cancel --------------------------------------------------------------------------------------

    async def cancel(self, task_id: int) -> TaskState | None:
        """Cancel a task; answers its state afterwards, or None when it does not exist."""
        running = self._running.get(task_id)
        if running is not None:
            if running.cancel_reason is None:
                running.cancel_reason = "Canceled by user"
                running.run.log.write(
                    running.run.root_activity, "Warning", "Cancellation requested by a user"
                )
                async with self._store.transaction() as conn:
                    await tasks_repo.set_state(
                        conn, task_id, TaskState.CANCELLING, expected=[TaskState.EXECUTING]
                    )
                running.job.cancel()
            return TaskState.CANCELLING
        changed = None
        async with self._store.transaction() as conn:
            row = await tasks_repo.get(conn, task_id)
            if row is None:
                return None
            state = TaskState(row["state"])
            if state is TaskState.QUEUED:
                changed = await tasks_repo.set_state(
                    conn,
                    task_id,
                    TaskState.CANCELED,
                    expected=[TaskState.QUEUED],
                    error_message="The task was canceled before it started",
                    completed=True,
                )
            elif state is TaskState.EXECUTING:
                # Running elsewhere (another node): it sees Cancelling and stops the script.
                await tasks_repo.set_state(
                    conn, task_id, TaskState.CANCELLING, expected=[TaskState.EXECUTING]
                )
                return TaskState.CANCELLING
        if changed is not None:
            self._events.publish(task_id, Completed(changed))
            return TaskState.CANCELED
        return state

    # -- loops ---------------------------------------------------------------------------------------

    async def _claim_loop(self) -> None:
        while self._accepting:
            self._wake.clear()
            free = self.task_cap - len(self._running)
            if free > 0:
                try:
                    async with self._store.transaction() as conn:
                        rows = await tasks_repo.claim_next(conn, self.node, free)
                except Exception:  # the store may be briefly unavailable; retry on the next tick
                    log.exception("claiming tasks failed")
                    rows = []
                for row in rows:
                    self._launch(row)
                if len(rows) == free:
                    continue  # there may be more queued work and free slots will appear on completion
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self._idle_poll_s)

    async def _flush_loop(self) -> None:
        while True:
            await asyncio.sleep(self._flush_interval_s)
            batches = [(r.run, r.run.log.take_pending()) for r in list(self._running.values())]
            batches = [(run, rows) for run, rows in batches if rows]
            if not batches:
                continue
            try:
                async with self._store.transaction() as conn:
                    for run, rows in batches:
                        await tasks_repo.append_logs(conn, run.task_id, rows)
                        if run.resumable:
                            await tasks_repo.save_activities(conn, run.task_id, run.log.activities)
            except Exception:
                log.exception("writing task logs failed; they will be written when the task completes")
                for run, rows in batches:
                    run.log.pending[:0] = rows
                    run.log.stored(rows)
                continue
            for run, rows in batches:
                run.log.stored(rows)

    # -- running one task ----------------------------------------------------------------------------

    def _launch(self, row: RowMapping, resume: bool = False) -> None:
        activities = list(row["activities"]) if resume else None
        task_log = TaskLog(int(row["id"]), self._events, int(row["log_count"]), activities)
        root = activities[0]["Id"] if activities else task_log.open_activity(str(row["description"]))
        run = TaskRun(row=row, log=task_log, root_activity=root)
        job = asyncio.create_task(self._execute(run, resume), name=f"task-{row['id']}")
        self._running[run.task_id] = _Running(run=run, job=job)

    async def _execute(self, run: TaskRun, resume: bool = False) -> None:
        verdict: Verdict
        started = time.monotonic()
        executor = self._executors.get(str(run.row["name"]))
        try:
            if executor is None:
                verdict = Verdict(TaskState.FAILED, f"This node cannot run tasks of type '{run.row['name']}'")
            elif resume:
                verdict = await getattr(executor, "resume")(run)  # noqa: B009 - optional capability
            else:
                verdict = await executor(run)
        except asyncio.CancelledError:
            reason = self._running[run.task_id].cancel_reason or "Canceled"
            if reason == DETACH:
                await self._hand_over(run)
                return
            state = TaskState.CANCELED if reason == "Canceled by user" else TaskState.FAILED
            verdict = Verdict(state, reason)
        except Exception as exc:  # an executor bug must still end the task, never leave it Executing
            log.exception("task %s crashed", run.task_id)
            verdict = Verdict(TaskState.FAILED, f"Internal error while running the task: {exc}")
        run.log.write(
            run.root_activity,
            "Info" if verdict.state is TaskState.SUCCESS else "Error",
            _summary(verdict, time.monotonic() - started),
        )
        final = None
        try:
            final = await self._finish(run, verdict)
        finally:
            self._running.pop(run.task_id, None)
            self._wake.set()
        if final is not None:
            self._events.publish(run.task_id, Completed(final))

    async def _finish(self, run: TaskRun, verdict: Verdict) -> RowMapping | None:
        current = TaskState.CANCELLING if self._running[run.task_id].cancel_reason else TaskState.EXECUTING
        transition(current, verdict.state)  # the domain's state machine; raises on an illegal move
        status = {
            TaskState.SUCCESS: "Success",
            TaskState.CANCELED: "Canceled",
            TaskState.TIMED_OUT: "Failed",
        }.get(verdict.state, "Failed")
        run.log.close_open_activities(status)
        for attempt in range(5):
            rows = run.log.take_pending()
            try:
                async with self._store.transaction() as conn:
                    await tasks_repo.append_logs(conn, run.task_id, rows, count_too=False)
                    space_id = run.row["space_id"]
                    for filename, length, stored in run.artifacts:
                        await artifacts_repo.add(conn, space_id, run.task_id, filename, length, stored)
                    if run.took_leases:
                        await leases_repo.release_task(conn, run.task_id)
                    if run.resumable:
                        await script_runs_repo.forget_task(conn, run.task_id)
                    final = await tasks_repo.complete(
                        conn,
                        run.task_id,
                        verdict.state,
                        verdict.error_message,
                        run.log.activities,
                        run.output_variables,
                        run.log.has_warnings_or_errors or verdict.state is not TaskState.SUCCESS,
                        run.log.next_seq,
                    )
                run.log.stored(rows)
                return final
            except Exception:
                log.exception("completing task %s failed (attempt %d)", run.task_id, attempt + 1)
                run.log.pending[:0] = rows
                run.log.stored(rows)
                await asyncio.sleep(0.2 * (attempt + 1))
        return None

    async def _hand_over(self, run: TaskRun) -> None:
        """Leave a task Executing for the next node, with every line so far and its activities stored."""
        rows = run.log.take_pending()
        try:
            async with self._store.transaction() as conn:
                await tasks_repo.append_logs(conn, run.task_id, rows)
                await tasks_repo.save_activities(conn, run.task_id, run.log.activities)
        finally:
            self._running.pop(run.task_id, None)
        log.info(
            "%s handed over: its scripts keep running on their agents",
            format_id(Collection.SERVER_TASKS, run.task_id),
        )

    async def _recover_orphans(self) -> list[RowMapping]:
        """Tasks a node left running when it stopped: those whose scripts all run on agents are resumed
        (the rows to launch are returned); the rest are marked Failed with a line saying why."""
        resumable: list[RowMapping] = []
        async with self._store.transaction() as conn:
            for row in await tasks_repo.orphaned(conn, None if self._store.is_sqlite else self.node):
                executor = self._executors.get(str(row["name"]))
                runs = await script_runs_repo.for_task(conn, int(row["id"]))
                if (
                    hasattr(executor, "resume")
                    and row["state"] == TaskState.EXECUTING.value
                    and any(not r["finished"] for r in runs)
                    and _only_agent_runs_open(row["activities"], runs)
                ):
                    claimed = await tasks_repo.set_state(
                        conn,
                        int(row["id"]),
                        TaskState.EXECUTING,
                        expected=[TaskState.EXECUTING],
                        extra={"server_node": self.node},
                    )
                    if claimed is not None:
                        resumable.append(claimed)
                    continue
                task_log = TaskLog(int(row["id"]), self._events, int(row["log_count"]), row["activities"])
                task_log.close_open_activities("Failed")
                message = (
                    f"The server node '{row['server_node']}' stopped while this task was running; "
                    "the task was marked as failed when the node started again"
                )
                activity = (
                    task_log.activities[0]["Id"] if task_log.activities else f"ServerTasks-{row['id']}_0"
                )
                task_log.write(activity, "Fatal", message)
                await tasks_repo.append_logs(conn, int(row["id"]), task_log.take_pending())
                await tasks_repo.set_state(
                    conn,
                    int(row["id"]),
                    TaskState.FAILED,
                    error_message=message,
                    completed=True,
                    extra={"activities": task_log.activities, "has_warnings_or_errors": True},
                )
                log.warning("%s: %s", format_id(Collection.SERVER_TASKS, int(row["id"])), message)
            await leases_repo.sweep_stale(conn)
        return resumable


def _only_agent_runs_open(activities: list[dict[str, Any]], runs: Sequence[RowMapping]) -> bool:
    """True when every script activity still open belongs to a script on an agent (a built-in worker's
    script died with the node, so such a task cannot be resumed)."""
    on_agents = {r["activity"] for r in runs}
    open_scripts = [a for a in activities if a.get("ParentId") and a.get("Ended") is None]
    return all(a["Id"] in on_agents for a in open_scripts)


def _summary(verdict: Verdict, seconds: float) -> str:
    if verdict.state is TaskState.SUCCESS:
        return f"The task completed successfully in {seconds:.2f}s"
    return f"The task ended {verdict.state.value}: {verdict.error_message or 'no reason given'}"
