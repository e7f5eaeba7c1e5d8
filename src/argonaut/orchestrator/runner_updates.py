"""The ``UpdateCalamari`` task: bring the runner on the named workers up to the server's version.

Scripts update a worker's runner on their own before they start; this task is for doing it ahead of
time (after a server upgrade, say) and shows per worker what changed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from argonaut.domain.scripts import WorkerTarget, WorkerUnreachable
from argonaut.domain.task_arguments import WorkerSelection
from argonaut.domain.tasks import TaskState
from argonaut.domain.workers import CommunicationStyle
from argonaut.orchestrator.dispatcher import Dispatcher
from argonaut.orchestrator.health import select_machines
from argonaut.orchestrator.queue import TaskRun, Verdict
from argonaut.store import Store, workers_repo
from argonaut.store.script_runs_repo import ScriptRun

CLOUD_REGION = CommunicationStyle.NONE.value


class RunnerUpdates:
    def __init__(self, store: Store, dispatcher: Dispatcher) -> None:
        self._store = store
        self._dispatcher = dispatcher

    async def run(self, run: TaskRun) -> Verdict:
        selection = WorkerSelection.from_json(run.row["arguments"])
        space_id = int(run.row["space_id"])
        async with self._store.transaction() as conn:
            rows = await select_machines(conn, space_id, selection)
        # A Cloud Region target has no runner of its own: its steps use its pool's workers'.
        usable = [r for r in rows if not r["is_disabled"] and r["communication_style"] != CLOUD_REGION]
        results = await asyncio.gather(*(self._update(run, row) for row in usable))
        failures = [message for message in results if message]
        return Verdict(TaskState.FAILED, "; ".join(failures)) if failures else Verdict(TaskState.SUCCESS)

    async def resume(self, run: TaskRun, scripts: Sequence[ScriptRun]) -> Verdict:
        return Verdict(TaskState.FAILED, "A runner update cannot be carried on after a restart; run it again")

    async def _update(self, run: TaskRun, row: Any) -> str | None:
        activity = run.log.open_activity(f"Update the runner on {row['name']}", parent=run.root_activity)
        target = WorkerTarget(int(row["id"]), str(row["name"]), row["endpoint"])
        try:
            previous = await self._dispatcher.update_runner(target)
        except WorkerUnreachable as exc:
            run.log.write(activity, "Error", str(exc))
            run.log.close_activity(activity, "Failed")
            return str(exc)
        text = f"Updated the runner from {previous}" if previous else "The runner is already current"
        run.log.write(activity, "Info", text)
        async with self._store.transaction() as conn:
            await workers_repo.record_runner(conn, int(row["id"]), True)
        run.log.close_activity(activity, "Success")
        return None
