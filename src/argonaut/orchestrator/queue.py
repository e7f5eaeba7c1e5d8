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
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Protocol

from sqlalchemy.engine import RowMapping

from argonaut.config import logs as log_context
from argonaut.domain.ids import Collection, format_id
from argonaut.domain.scripts import ScriptHandle, ScriptKind
from argonaut.domain.tasks import TaskState, transition
from argonaut.metrics import Metrics
from argonaut.orchestrator.dispatcher import Dispatcher
from argonaut.orchestrator.events import Completed, TaskEvents
from argonaut.orchestrator.task_log import TaskLog
from argonaut.store import Store, artifacts_repo, leases_repo, script_runs_repo, tasks_repo
from argonaut.store.script_runs_repo import ScriptRun
from argonaut.store.signals import Signals
from argonaut.store.timeutil import as_utc, utcnow

log = logging.getLogger(__name__)

ABANDON_TIMEOUT_S = 30.0
CANCEL = "cancel"  # the signal that a task running on some node was asked to cancel
ELSEWHERE = "Cancellation requested by a user (on another node)"


class StopReason(Enum):
    """Why a running task's asyncio job was cancelled; executors act on it, never on message text."""

    USER_CANCEL = "user"  # stop its scripts; the task ends Canceled
    HAND_OVER = "hand-over"  # the node stops: leave its scripts running for the next node to follow
    NODE_STOPPING = "node-stopping"  # the node stops and its scripts cannot be followed later: stop them


@dataclass
class TaskRun:
    """What an executor gets: the task row, its log and places to put results."""

    row: RowMapping
    log: TaskLog
    root_activity: str
    output_variables: list[dict[str, Any]] = field(default_factory=list)
    artifacts: list[tuple[str, int, str]] = field(default_factory=list)  # (filename, length, stored_name)
    took_leases: bool = False
    # Every script recorded for this task (ticket -> handle) and the activity of each. A task with
    # recorded scripts keeps its activity tree and script cursors stored while it runs.
    scripts: dict[str, ScriptHandle] = field(default_factory=dict)
    ticket_of_activity: dict[str, str] = field(default_factory=dict)
    active: set[str] = field(default_factory=set)  # tickets of scripts started and not yet ended
    stop: StopReason | None = None
    taken_from: str | None = None  # resumed: the node that ran it before (this one, if it restarted)
    # Run once the task's final state is committed: releasing worker-side state (a script's folder, an
    # agent's record of it) only after its outcome is durable, so a crash in between loses nothing.
    after_commit: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    # Parts of the task waiting for something outside it (a person, a child task): while any waits and
    # nothing else of the task runs, the task holds no task-cap slot, so what it waits for can run.
    waits: int = 0
    busy: int = 0
    process_state: dict[str, Any] | None = None  # a process run's final cursor, stored on completion
    on_wait_change: Callable[[], None] | None = None
    _held: bool = field(default=True, init=False, repr=False)  # holds_slot as last told to on_wait_change

    @property
    def holds_slot(self) -> bool:
        return not (self.waits > 0 and self.busy == 0)

    @contextlib.asynccontextmanager
    async def waiting(self) -> AsyncIterator[None]:
        """Around a wait for something outside the task: its task-cap slot is free meanwhile (the
        described system's users hit deadlocks when a waiting parent held the slot its child needed)."""
        self.waits += 1
        self._changed()
        try:
            yield
        finally:
            self.waits -= 1
            self._changed()

    @contextlib.contextmanager
    def working(self) -> Iterator[None]:
        """Around work of the task that runs now (a script): it holds a slot again while this lasts."""
        self.busy += 1
        try:
            yield
        finally:
            self.busy -= 1
            self._changed()

    def _changed(self) -> None:
        # Only a slot given up or taken back is news to the claim loop: on a shared database every wake
        # is a claim statement, and each script's end used to wake it with nothing changed.
        if self.holds_slot != self._held:
            self._held = self.holds_slot
            if self.on_wait_change is not None:
                self.on_wait_change()

    @property
    def task_id(self) -> int:
        return int(self.row["id"])

    def track(self, activity: str, handle: ScriptHandle) -> None:
        self.scripts[handle.ticket] = handle
        self.ticket_of_activity[activity] = handle.ticket

    @property
    def can_hand_over(self) -> bool:
        """Only a task whose running scripts can all be re-attached to may be left for the next node."""
        # A run waiting for a person or a child (nothing of it running) is handed over too: its cursor is
        # stored, and the next node waits on for the same interruption or child.
        return bool(self.active or self.waits) and all(self.scripts[t].resumable for t in self.active)


@dataclass(frozen=True, slots=True)
class Verdict:
    state: TaskState
    error_message: str | None = None


class Executor(Protocol):
    """Runs one type of task. ``resume`` carries on a task a stopped node left running, given its
    recorded scripts; the queue calls it only when every unfinished script can be re-attached to."""

    async def run(self, run: TaskRun) -> Verdict: ...

    async def resume(self, run: TaskRun, scripts: Sequence[ScriptRun]) -> Verdict: ...


@dataclass
class _Running:
    run: TaskRun
    job: asyncio.Task[None]


class TaskQueue:
    def __init__(
        self,
        store: Store,
        events: TaskEvents,
        executors: Mapping[str, Executor],
        dispatcher: Dispatcher,
        node: str,
        task_cap: int,
        flush_interval_s: float = 0.2,
        idle_poll_s: float = 5.0,
        signals: Signals | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self._store = store
        self.metrics = metrics or Metrics()  # the node's; the API's /metrics renders it
        self._events = events
        self._executors = executors
        self._dispatcher = dispatcher
        self.node = node
        self.task_cap = task_cap
        self._flush_interval_s = flush_interval_s
        self._idle_poll_s = idle_poll_s
        self._wake = asyncio.Event()
        # Whether queued work may exist that this node has not tried to claim. On SQLite every task is
        # queued by this process, which calls wake(); so after a claim that found the queue empty, a slot
        # coming free needs no claim (two statements per task saved). Other nodes queue work unseen, so on
        # a shared database every free slot still looks.
        self._maybe_queued = True
        self._single_node = store.is_sqlite
        # Taking a task's pending lines and writing them is one step: the flusher and a completing task
        # take turns, so lines a failed flush puts back are never missed by the completion.
        self._log_writes = asyncio.Lock()
        self._running: dict[int, _Running] = {}
        self._accepting = True
        self.draining = False  # maintenance mode: finish what runs, claim nothing new
        self._loops: list[asyncio.Task[None]] = []
        self._background: set[asyncio.Task[None]] = set()
        self._signals = signals
        # Cancel signals for tasks not running here (yet): one may race this node's own claim of the task.
        self._cancels_elsewhere: dict[int, None] = {}
        if signals is not None:
            signals.on(CANCEL, self._cancel_signal)
        self.handed_over = 0  # tasks left running for the next node by the last stop()

    # -- lifecycle -----------------------------------------------------------------------------------

    async def start(self) -> None:
        mine = None if self._store.is_sqlite else [self.node]  # one node per SQLite database
        for row, scripts, previous in await self._recover_orphans(mine, at_start=True):
            self._launch(row, scripts, previous)
        self._loops = [
            asyncio.create_task(self._claim_loop(), name="task-queue"),
            asyncio.create_task(self._flush_loop(), name="task-log-flusher"),
        ]

    async def stop(self, grace_s: float) -> None:
        """Stop taking work and let running tasks finish for ``grace_s``. Then a task whose running
        scripts can all be re-attached to is handed over (its scripts go on; the next node to start
        follows them to their end); the rest have their scripts stopped and end as Failed."""
        self._accepting = False
        self._wake.set()
        if self._running:
            jobs = [r.job for r in self._running.values()]
            _, still = await asyncio.wait(jobs, timeout=grace_s) if grace_s > 0 else (set(), set(jobs))
            for running in list(self._running.values()):
                if running.job in still:
                    hand_over = running.run.can_hand_over
                    running.run.stop = StopReason.HAND_OVER if hand_over else StopReason.NODE_STOPPING
                    self.handed_over += hand_over
                    running.job.cancel()
            if still:
                await asyncio.wait(still, timeout=15)
        for loop in self._loops:
            loop.cancel()
        for loop in self._loops:
            with contextlib.suppress(asyncio.CancelledError):
                await loop
        if self._background:
            await asyncio.wait(self._background, timeout=5)

    def wake(self) -> None:
        """New work was queued: claim it if a slot is free."""
        self._maybe_queued = True
        self._wake.set()

    def configure(self, task_cap: int, draining: bool) -> None:
        """Apply a task cap or maintenance mode changed for this node (through the API, on any node)."""
        if (task_cap, draining) != (self.task_cap, self.draining):
            log.info("task cap %d, %s", task_cap, "draining" if draining else "claiming")
            self.task_cap, self.draining = task_cap, draining
            self._wake.set()

    @property
    def running_count(self) -> int:
        return len(self._running)

    @property
    def slots_held(self) -> int:
        """Task-cap slots in use here: running tasks, less those only waiting (for a person, a child)."""
        return sum(1 for r in self._running.values() if r.run.holds_slot)

    @property
    def sees_every_change(self) -> bool:
        """Whether every task of the store runs on this node, so that each change to a task's state or log
        reaches its watchers here (one node per SQLite database). A follower then needs no store poll to
        learn that a queued task started or ended elsewhere."""
        return self._single_node

    def live_log(self, task_id: int) -> TaskLog | None:
        running = self._running.get(task_id)
        return running.run.log if running else None

    def running_row(self, task_id: int) -> RowMapping | None:
        """The row of a task running on this node, as it was claimed: who may see it (its space, project
        and environment) is as stored, only its state and times have moved on."""
        running = self._running.get(task_id)
        return running.run.row if running else None

    # -- cancel --------------------------------------------------------------------------------------

    async def cancel(self, task_id: int) -> TaskState | None:
        """Cancel a task; answers its state afterwards, or None when it does not exist."""
        running = self._running.get(task_id)
        if running is not None:
            if running.run.stop is None:
                async with self._store.transaction() as conn:
                    await tasks_repo.set_state(
                        conn, task_id, TaskState.CANCELLING, expected=[TaskState.EXECUTING]
                    )
                self._stop_for_user(task_id, "Cancellation requested by a user")
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
                )
            elif state is TaskState.EXECUTING:
                # Running on another node: the store says Cancelling, and that node is told at once.
                await tasks_repo.set_state(
                    conn, task_id, TaskState.CANCELLING, expected=[TaskState.EXECUTING]
                )
                if self._signals is not None:
                    await self._signals.send(conn, CANCEL, str(task_id))
                return TaskState.CANCELLING
        if changed is not None:
            self._events.publish(task_id, Completed(changed))
            return TaskState.CANCELED
        return state

    # -- loops ---------------------------------------------------------------------------------------

    async def _claim_loop(self) -> None:
        while self._accepting:
            self._wake.clear()
            holding = sum(1 for r in self._running.values() if r.run.holds_slot)
            free = 0 if self.draining else self.task_cap - holding
            if free > 0 and (self._maybe_queued or not self._single_node):
                self._maybe_queued = False  # before the claim: a wake() during it sets it again
                try:
                    async with self._store.single() as conn:  # one statement: atomic by itself
                        rows = await tasks_repo.claim_next(conn, self.node, free)
                except Exception:  # the store may be briefly unavailable; retry on the next tick
                    log.exception("claiming tasks failed")
                    self._maybe_queued = True
                    rows = []
                now = utcnow()
                for row in rows:
                    queued = as_utc(row["queue_time"])
                    if queued is not None:
                        claim = self.metrics.claim_latency.labels(str(row["name"]))
                        claim.observe(max(0.0, (now - queued).total_seconds()))
                    self._launch(row)
                if len(rows) == free:
                    self._maybe_queued = True
                    continue  # there may be more queued work and free slots will appear on completion
            try:
                async with asyncio.timeout(self._idle_poll_s):  # no task per wait, as wait_for makes
                    await self._wake.wait()
            except TimeoutError:
                self._maybe_queued = True  # the idle poll: look whatever this node was told

    async def _flush_loop(self) -> None:
        while True:
            await asyncio.sleep(self._flush_interval_s)
            async with self._log_writes:
                batches = [(r.run, r.run.log.take_pending()) for r in list(self._running.values())]
                await self._write_batches([(run, rows) for run, rows in batches if rows])

    async def _write_batches(self, batches: list[tuple[TaskRun, list[Any]]]) -> None:
        if not batches:
            return
        try:
            async with self._store.transaction() as conn:
                for run, rows in batches:
                    await self._store_batch(conn, run, rows)
        except Exception:
            # One task's lines may be what the store refuses: write each task's alone, so the others are
            # not held back by it (that one's lines wait for its completion).
            for run, rows in batches:
                try:
                    async with self._store.transaction() as conn:
                        await self._store_batch(conn, run, rows)
                except Exception:
                    log.exception("writing the log of task %s failed; retried when it completes", run.task_id)
                    run.log.pending[:0] = rows
                run.log.stored(rows)
            return
        for run, rows in batches:
            run.log.stored(rows)

    @staticmethod
    async def _store_batch(conn: Any, run: TaskRun, rows: Sequence[Any]) -> None:
        await tasks_repo.append_logs(conn, run.task_id, rows)
        if run.scripts:
            await tasks_repo.save_activities(conn, run.task_id, run.log.activities)
            await script_runs_repo.save_cursors(conn, _cursors(run, rows))

    async def _cancels_from_elsewhere(self) -> None:
        """A cancel asked on another node leaves the task Cancelling in the store: stop it here. Read
        only when signals may have been missed (their connection came back): a cancel signal says it."""
        try:
            async with self._store.transaction() as conn:
                wanted = await tasks_repo.cancelling_among(conn, list(self._running))
        except Exception:
            log.exception("reading cancel requests failed")
            return
        for task_id in wanted:
            self._stop_for_user(task_id, ELSEWHERE)

    def _cancel_signal(self, detail: str) -> None:
        if detail.isdigit():
            task_id = int(detail)
            if task_id in self._running:
                self._stop_for_user(task_id, ELSEWHERE)
            else:  # maybe claimed here a moment ago and not launched yet: _launch looks
                self._cancels_elsewhere[task_id] = None
                while len(self._cancels_elsewhere) > 1000:
                    del self._cancels_elsewhere[next(iter(self._cancels_elsewhere))]
        elif self._running:  # signals may have been missed: look at the store
            self._in_background(self._cancels_from_elsewhere(), "reading cancel requests")

    def _stop_for_user(self, task_id: int, note: str) -> None:
        running = self._running.get(task_id)
        if running is not None and running.run.stop is None:
            running.run.stop = StopReason.USER_CANCEL
            running.run.log.write(running.run.root_activity, "Warning", note)
            running.job.cancel()

    # -- running one task ----------------------------------------------------------------------------

    def _launch(
        self, row: RowMapping, resume: list[ScriptRun] | None = None, taken_from: str | None = None
    ) -> None:
        activities = list(row["activities"]) if resume is not None else None
        task_log = TaskLog(
            int(row["id"]), self._events, int(row["log_count"]), activities, self.metrics.log_lines
        )
        root = activities[0]["Id"] if activities else task_log.open_activity(str(row["description"]))
        run = TaskRun(row=row, log=task_log, root_activity=root, taken_from=taken_from)
        run.on_wait_change = self._wake.set
        for script in resume or ():
            run.track(script.activity, script.handle)
        job = asyncio.create_task(self._execute(run, resume), name=f"task-{row['id']}")
        self._running[run.task_id] = _Running(run=run, job=job)
        if run.task_id in self._cancels_elsewhere:
            del self._cancels_elsewhere[run.task_id]
            # After the job's first step (queued just before this), so the cancel lands inside its try.
            asyncio.get_running_loop().call_soon(self._stop_for_user, run.task_id, ELSEWHERE)

    async def _execute(self, run: TaskRun, resume: list[ScriptRun] | None = None) -> None:
        # This asyncio task has a context of its own: every line logged inside it names the task.
        log_context.bind(task_id=format_id(Collection.SERVER_TASKS, run.task_id), space_id=_space(run.row))
        verdict: Verdict
        started = time.monotonic()
        executor = self._executors.get(str(run.row["name"]))
        try:
            if executor is None:
                verdict = Verdict(TaskState.FAILED, f"This node cannot run tasks of type '{run.row['name']}'")
            elif resume is not None:
                verdict = await executor.resume(run, resume)
            else:
                verdict = await executor.run(run)
        except asyncio.CancelledError:
            if run.stop is StopReason.HAND_OVER:
                await self._hand_over(run)
                return
            if run.stop is StopReason.USER_CANCEL:
                verdict = Verdict(TaskState.CANCELED, "Canceled by user")
            else:
                verdict = Verdict(
                    TaskState.FAILED, f"The server node '{self.node}' shut down while this task was running"
                )
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
            for release in run.after_commit:
                self._in_background(release(), f"release after {run.task_id}")

    async def _finish(self, run: TaskRun, verdict: Verdict) -> RowMapping | None:
        current = TaskState.CANCELLING if run.stop is StopReason.USER_CANCEL else TaskState.EXECUTING
        transition(current, verdict.state)  # the domain's state machine; raises on an illegal move
        status = {
            TaskState.SUCCESS: "Success",
            TaskState.CANCELED: "Canceled",
            TaskState.TIMED_OUT: "Failed",
        }.get(verdict.state, "Failed")
        run.log.close_open_activities(status)
        refused: Exception | None = None
        for attempt in range(5):
            await self._log_writes.acquire()
            rows = run.log.take_pending()
            try:
                # Artifacts are rare: with none, one statement on PostgreSQL (no transaction needed).
                begin = self._store.transaction if run.artifacts else self._store.single
                async with begin() as conn:
                    space_id = run.row["space_id"]
                    for filename, length, stored in run.artifacts:
                        await artifacts_repo.add(conn, space_id, run.task_id, filename, length, stored)
                    final = await tasks_repo.finish(
                        conn,
                        run.task_id,
                        rows,
                        release_leases=run.took_leases,
                        forget_scripts=bool(run.scripts),
                        state=verdict.state,
                        error_message=verdict.error_message,
                        activities=run.log.activities,
                        output_variables=run.output_variables,
                        has_warnings_or_errors=run.log.has_warnings_or_errors
                        or verdict.state is not TaskState.SUCCESS,
                        log_count=run.log.next_seq,
                        process_state=run.process_state,
                    )
                run.log.stored(rows)
                return final
            except Exception as exc:
                log.exception("completing task %s failed (attempt %d)", run.task_id, attempt + 1)
                run.log.pending[:0] = rows
                run.log.stored(rows)
                refused = exc
            finally:
                self._log_writes.release()
            await asyncio.sleep(0.2 * (attempt + 1))
        # The store keeps refusing what the task wrote: end the task anyway, saying so, rather than leave
        # it Executing for ever with every follower waiting.
        message = f"The store refused this task's last log lines, so they are lost: {refused}"
        try:
            async with self._store.transaction() as conn:
                if run.took_leases:
                    await leases_repo.release_task(conn, run.task_id)
                if run.scripts:
                    await script_runs_repo.forget_task(conn, run.task_id)
                return await tasks_repo.set_state(
                    conn, run.task_id, TaskState.FAILED, expected=[current], error_message=message[:4000]
                )
        except Exception:
            log.exception(
                "task %s could not be ended; it stays Executing until this node restarts", run.task_id
            )
            return None

    async def _hand_over(self, run: TaskRun) -> None:
        """Leave a task Executing for the next node, with every line so far, its activities and where
        each script's stored lines end."""
        try:
            async with self._log_writes:
                rows = run.log.take_pending()
                async with self._store.transaction() as conn:
                    await tasks_repo.append_logs(conn, run.task_id, rows)
                    await tasks_repo.save_activities(conn, run.task_id, run.log.activities)
                    await script_runs_repo.save_cursors(conn, _cursors(run, rows))
        finally:
            self._running.pop(run.task_id, None)
        log.info(
            "%s handed over: its scripts keep running, and the next node to start follows them",
            format_id(Collection.SERVER_TASKS, run.task_id),
        )

    def _in_background(self, work: Awaitable[None], what: str) -> None:
        async def guarded() -> None:
            try:
                async with asyncio.timeout(ABANDON_TIMEOUT_S):
                    await work
            except Exception as exc:
                log.warning("%s: %s", what, exc)

        job = asyncio.create_task(guarded())
        self._background.add(job)
        job.add_done_callback(self._background.discard)

    # -- after a restart -----------------------------------------------------------------------------

    async def adopt(self, offline: Sequence[str]) -> int:
        """Take up the running tasks of nodes that went offline (their scripts go on where they run);
        answers how many this node took. A draining or stopping node takes none."""
        others = [name for name in offline if name != self.node]
        if not others or self.draining or not self._accepting:
            return 0
        taken = await self._recover_orphans(others, at_start=False)
        for row, scripts, previous in taken:
            self._launch(row, scripts, previous)
        return len(taken)

    async def _recover_orphans(
        self, nodes: Sequence[str] | None, at_start: bool
    ) -> list[tuple[RowMapping, list[ScriptRun], str]]:
        """Tasks that nodes (this one, restarted; or others, gone offline) left running. Each is taken
        over by a compare-and-set on its owner, so one node wins it. Those whose unfinished scripts can
        all be re-attached to are resumed (returned, with their scripts and the old owner); a task being
        cancelled has its scripts stopped and ends Canceled; the rest end Failed with a line naming each
        script that could not be followed. At start, the dispatcher may then clear what no resumed task
        needs."""
        resumed: list[tuple[RowMapping, list[ScriptRun], str]] = []
        abandoned: list[ScriptHandle] = []
        ended: list[RowMapping] = []
        async with self._store.transaction() as conn:
            for row in await tasks_repo.orphaned(conn, nodes):
                task_id = int(row["id"])
                if task_id in self._running:
                    continue
                owned = await tasks_repo.take_over(conn, row, self.node)
                if owned is None:  # another node took it first
                    continue
                previous = str(row["server_node"])
                scripts = await script_runs_repo.for_task(conn, task_id)
                unfinished = [s for s in scripts if not s.finished]
                state = TaskState(row["state"])
                problem = self._why_not_resumable(row, scripts, unfinished)
                if state is TaskState.EXECUTING and problem is None:
                    resumed.append((owned, scripts, previous))
                    continue
                abandoned.extend(
                    s.handle for s in unfinished if s.started or s.handle.kind is ScriptKind.BUILT_IN
                )
                if state is TaskState.CANCELLING:
                    final, category, message = (
                        TaskState.CANCELED,
                        "Warning",
                        "The task was canceled while its server node was stopped; its scripts were stopped",
                    )
                else:
                    final, category = TaskState.FAILED, "Fatal"
                    message = f"The server node '{previous}' stopped while this task was running"
                    message += f"; {problem}" if problem else ""
                if (
                    row_ended := await self._end_orphan(conn, owned, state, final, category, message)
                ) is not None:
                    ended.append(row_ended)
                await script_runs_repo.forget_task(conn, task_id)
            await leases_repo.sweep_stale(conn)
        for row_ended in ended:  # watchers on this node learn at once
            self._events.publish(int(row_ended["id"]), Completed(row_ended))
        if at_start:
            keep = [s.handle for _, scripts, _ in resumed for s in scripts if not s.finished]
            try:
                await self._dispatcher.prune(keep)
            except Exception:  # leftovers cost disk, not correctness: never refuse to start over them
                log.exception("clearing what stopped scripts left behind failed")
        for handle in abandoned:
            self._in_background(self._abandon(handle), f"stopping script {handle.ticket} on {handle.where}")
        return resumed

    def _why_not_resumable(
        self, row: RowMapping, scripts: Sequence[ScriptRun], unfinished: Sequence[ScriptRun]
    ) -> str | None:
        """Why a task cannot be carried on after a restart, or None when it can."""
        if str(row["name"]) not in self._executors:
            return f"this node cannot run tasks of type '{row['name']}'"
        restartable = bool(getattr(self._executors[str(row["name"])], "restartable", False))
        if not scripts and not row["process_state"] and not restartable:
            # A process run with a stored cursor can go on without any script (between two steps).
            return "it had started no script that could be followed after a restart"
        lost = [
            s
            for s in unfinished
            if (s.started and not s.handle.resumable)
            or (
                s.handle.kind is ScriptKind.BUILT_IN
                and s.handle.node != self.node
                and not self._store.is_sqlite  # one node per SQLite database: its work folder is ours
            )
        ]
        if lost:
            where = ", ".join(f"'{s.handle.where}'" for s in lost)
            return (
                f"its script on {where} cannot be followed after a restart, so its outcome is unknown "
                "and the task is marked as failed"
            )
        return None

    async def _end_orphan(
        self, conn: Any, row: RowMapping, current: TaskState, final: TaskState, category: str, message: str
    ) -> RowMapping | None:
        task_id = int(row["id"])
        lines = self.metrics.log_lines
        task_log = TaskLog(task_id, self._events, int(row["log_count"]), row["activities"], lines)
        task_log.close_open_activities("Canceled" if final is TaskState.CANCELED else "Failed")
        activity = task_log.activities[0]["Id"] if task_log.activities else f"ServerTasks-{task_id}_0"
        task_log.write(activity, category, message)
        await tasks_repo.append_logs(conn, task_id, task_log.take_pending())
        ended = await tasks_repo.set_state(
            conn,
            task_id,
            final,
            expected=[current],
            error_message=message,
            extra={"activities": task_log.activities, "has_warnings_or_errors": True},
        )
        log.warning("%s: %s", format_id(Collection.SERVER_TASKS, task_id), message)
        return ended

    async def _abandon(self, handle: ScriptHandle) -> None:
        """A script of a task that ended while nobody followed it: stop it, then let its worker forget it."""
        try:
            await self._dispatcher.cancel(handle)
        finally:
            await self._dispatcher.release(handle)


def _space(row: RowMapping) -> str | None:
    space_id = row.get("space_id")
    return format_id(Collection.SPACES, int(space_id)) if space_id is not None else None


def _cursors(run: TaskRun, rows: Sequence[Any]) -> dict[str, Any]:
    """The cursor of the last line of each script among ``rows``: where its stored lines end."""
    cursors: dict[str, Any] = {}
    for row in rows:
        if row.cursor is not None:
            ticket = run.ticket_of_activity.get(row.activity)
            if ticket is not None:
                cursors[ticket] = row.cursor
    return cursors


def _summary(verdict: Verdict, seconds: float) -> str:
    if verdict.state is TaskState.SUCCESS:
        return f"The task completed successfully in {seconds:.2f}s"
    return f"The task ended {verdict.state.value}: {verdict.error_message or 'no reason given'}"
