"""Runs one action in one place to its end and keeps what it produced: the engine's innermost part.

Ad-hoc scripts and process runs (deployments) both come here once they know where a script goes, so a
script's life is handled in one place: start it (recorded as started first where the worker would
forget it), follow its lines from a cursor, stop it on cancel (or leave it running for the next node on
a hand-over), free its worker, and make its outcome, output variables and artifacts durable before the
worker may forget it.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from argonaut.config import logs as log_context
from argonaut.domain.scripts import (
    Cursor,
    LogEntry,
    OutputVariable,
    ScriptHandle,
    ScriptJob,
    ScriptKind,
    ScriptLost,
    ScriptOutcome,
    WorkerTarget,
    WorkerUnreachable,
)
from argonaut.metrics import Metrics
from argonaut.orchestrator.dispatcher import Dispatcher
from argonaut.orchestrator.queue import StopReason, TaskRun
from argonaut.store import Store, artifacts_repo, leases_repo, script_runs_repo, workers_repo

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RecordedRun:
    """One recorded run of a script: where, under which activity, and how far it got."""

    label: str
    activity: str
    handle: ScriptHandle
    variables: dict[str, str]
    lease_id: int | None = None
    started: bool = False
    cursor: Cursor = None


@dataclass
class Remaining:
    """Runs of a task not yet ended. The last one's outcome is stored with the task's completion, saving
    a transaction; ``None`` when the caller cannot know which run is last (a process with later steps)."""

    count: int | None = None

    @property
    def last(self) -> bool:
        return self.count == 1


@dataclass(frozen=True, slots=True)
class ActionResult:
    """What one run of an action ended with."""

    failure: str | None  # why it counts as failed (with where it ran), or None
    outputs: tuple[OutputVariable, ...] = ()
    stored_outputs: list[dict[str, Any]] = field(default_factory=list)  # as the task keeps them


class ActionRunner:
    def __init__(
        self,
        store: Store,
        dispatcher: Dispatcher,
        artifacts_dir: Path,
        encrypt: Callable[[str], str],
        metrics: Metrics | None = None,
    ) -> None:
        self._store = store
        self.metrics = metrics or Metrics()
        self._dispatcher = dispatcher
        self._artifacts_dir = artifacts_dir
        self._encrypt = encrypt

    async def carry_out(
        self, run: TaskRun, recorded: RecordedRun, job: ScriptJob, remaining: Remaining
    ) -> ActionResult:
        """Run (or follow) one script to its end and keep what it produced."""
        handle = recorded.handle
        run.log.start_activity(recorded.activity)

        def on_log(entry: LogEntry) -> None:
            run.log.write(recorded.activity, entry.category, entry.text, entry.occurred, entry.cursor)

        run.active.add(handle.ticket)
        dispatched = None if recorded.started else time.monotonic()  # a followed-on script: not timed
        try:
            if not recorded.started:
                await self._start(run, recorded, job)
            outcome = await self._dispatcher.follow(handle, job, recorded.cursor, on_log)
            if dispatched is not None:
                duration = self.metrics.script_duration.labels(handle.kind.value)
                duration.observe(time.monotonic() - dispatched)
        except (WorkerUnreachable, ScriptLost) as exc:
            run.log.write(recorded.activity, "Fatal", str(exc))
            lost = f"{exc} (on {recorded.label})"
            log.warning("%s", lost)  # for operators too: a worker the server cannot reach is theirs to fix
            await self._ended(run, recorded, remaining, lost, job)
            return ActionResult(lost)
        except asyncio.CancelledError:
            if run.stop is not StopReason.HAND_OVER or not handle.resumable:
                await asyncio.shield(self._dispatcher.cancel(handle))
                run.after_commit.append(self._release(handle))
            raise
        finally:
            run.active.discard(handle.ticket)
            if recorded.lease_id is not None and run.stop is None and not remaining.last:
                # Free the worker for others while this task's other runs go on; a task's last run
                # leaves its lease to the completing transaction, which releases them all.
                async with self._store.single() as conn:  # one delete: atomic by itself
                    await leases_repo.release(conn, recorded.lease_id)
        failure, outputs, artifacts = self._keep_results(run, recorded, outcome)
        await self._share(artifacts)
        await self._ended(run, recorded, remaining, failure, job, outputs, artifacts)
        return ActionResult(failure, outcome.output_variables, outputs)

    def waited_for_lease(self, lease: str, seconds: float) -> None:
        """Record a wait for a ``worker`` or ``target`` another task held; the planners that wait call it
        once the wait ends, so a scrape shows how often and how long tasks queue behind each other."""
        self.metrics.lease_wait.labels(lease).observe(seconds)

    def _release(self, handle: ScriptHandle) -> Callable[[], Awaitable[None]]:
        """Letting the worker forget a script runs after the task's commit, outside the script's block:
        it takes the ids bound now, so what it logs still names the worker."""
        ids = log_context.current()

        async def release() -> None:
            with log_context.bound(**ids):
                await self._dispatcher.release(handle)

        return release

    async def _share(self, artifacts: list[tuple[str, int, str]]) -> None:
        """Nodes sharing the database serve each other's artifacts: their bytes go to the store too, a
        megabyte a transaction, so a big one never holds the store for long. (One SQLite node has the
        file.)"""
        if self._store.is_sqlite:
            return
        for _, _, stored in artifacts:
            with open(self._artifacts_dir / stored, "rb") as source:
                seq = 0
                while data := source.read(artifacts_repo.CHUNK_BYTES):
                    async with self._store.transaction() as conn:
                        await artifacts_repo.add_chunk(conn, stored, seq, data)
                    seq += 1

    async def _start(self, run: TaskRun, recorded: RecordedRun, job: ScriptJob) -> None:
        handle = recorded.handle
        if handle.kind is not ScriptKind.BUILT_IN:
            # Agents and SSH forget a script when they restart, so a node that restarts must know it was
            # asked to start and never ask again. The built-in worker's own folder records that.
            async with self._store.single() as conn:  # one update, committed before the start is asked
                await script_runs_repo.mark_started(conn, handle.ticket)
        started = await self._dispatcher.start(handle, job)
        if started.runner_updated_from and isinstance(handle.target, WorkerTarget):
            run.log.write(
                recorded.activity,
                "Verbose",
                f"The runner on {recorded.label} was updated from {started.runner_updated_from} first",
            )
            async with self._store.transaction() as conn:
                await workers_repo.record_runner(conn, handle.target.worker_id, True)

    def _keep_results(
        self, run: TaskRun, recorded: RecordedRun, outcome: ScriptOutcome
    ) -> tuple[str | None, list[dict[str, Any]], list[tuple[str, int, str]]]:
        """Log an ended script's outputs and artifacts; answer its failure (if any), outputs, artifacts."""

        def log(category: str, text: str) -> None:
            run.log.write(recorded.activity, category, text)

        outputs = []
        for variable in outcome.output_variables:
            shown = "********" if variable.sensitive else variable.value
            outputs.append(
                {
                    "Name": variable.name,
                    "Value": self._encrypt(variable.value) if variable.sensitive else variable.value,
                    "IsSensitive": variable.sensitive,
                    "Machine": recorded.label,
                }
            )
            log("Verbose", f"Output variable '{variable.name}' = '{shown}'")
        artifacts = []
        for artifact in outcome.artifacts:
            stored_name = uuid.uuid4().hex
            self._artifacts_dir.mkdir(parents=True, exist_ok=True)
            shutil.move(str(artifact.stored_path), self._artifacts_dir / stored_name)
            artifacts.append((artifact.name, artifact.length, stored_name))
            log("Info", f"Artifact '{artifact.name}' collected ({artifact.length} bytes)")
        failure = outcome.failure
        if failure is not None:
            log("Error", failure)
        return (f"{failure} (on {recorded.label})" if failure else None), outputs, artifacts

    async def _ended(
        self,
        run: TaskRun,
        recorded: RecordedRun,
        remaining: Remaining,
        failure: str | None,
        job: ScriptJob,
        outputs: list[dict[str, Any]] | None = None,
        artifacts: list[tuple[str, int, str]] | None = None,
    ) -> None:
        """Make an ended script's outcome durable, then let its worker forget it.

        The last run of a task needs no statement of its own: the task's completion stores its results
        and forgets every run in one transaction, and the worker is released after that commit.
        """
        run.log.close_activity(recorded.activity, "Failed" if failure else "Success")
        if job.artifact_dir is not None:
            shutil.rmtree(job.artifact_dir, ignore_errors=True)
        run.output_variables.extend(outputs or [])
        handle = recorded.handle
        if remaining.last:
            remaining.count = 0
            run.artifacts.extend(artifacts or [])
            run.after_commit.append(self._release(handle))
            return
        if remaining.count is not None:
            remaining.count -= 1
        async with self._store.transaction() as conn:
            for filename, length, stored in artifacts or []:
                await artifacts_repo.add(conn, run.row["space_id"], run.task_id, filename, length, stored)
            await script_runs_repo.finish(conn, handle.ticket, failure, {"OutputVariables": outputs or []})
        await self._dispatcher.release(handle)
