"""The node's built-in worker: runs scripts as processes on the server's own machine, through the runner.

Its scripts outlive the node (see :mod:`argonaut.runner.detached`): a node that is stopped or killed
hands them over to itself, and the next start re-attaches and records their real outcome. It serves
:mod:`argonaut.server.dispatch`, which sends everything else to agents and SSH.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from argonaut.domain.scripts import (
    CollectedArtifact,
    Cursor,
    LogEntry,
    ScriptHandle,
    ScriptJob,
    ScriptLost,
    ScriptOutcome,
    Started,
)
from argonaut.runner import ScriptRequest
from argonaut.runner.detached import DetachedScripts, ScriptGone


class BuiltInWorker:
    def __init__(self, work_root: Path, run_as_user: str | None) -> None:
        self._work_root = work_root
        self._run_as_user = run_as_user
        self._scripts = DetachedScripts(work_root, run_as_user)

    def prepare(self) -> None:
        """Start the helper process that starts scripts, so the first script does not wait for it."""
        self._scripts.prepare()

    def close(self) -> None:
        self._scripts.close()

    def _request(self, job: ScriptJob) -> ScriptRequest:
        return ScriptRequest(
            script_body=job.script_body,
            syntax=job.syntax,
            work_root=self._work_root,
            variables=job.variables,
            sensitive_variables=job.sensitive_variables,
            run_as_user=self._run_as_user,
            artifact_dir=job.artifact_dir,
        )

    async def start(self, handle: ScriptHandle, job: ScriptJob) -> Started:
        await self._scripts.start(handle.ticket, self._request(job))
        return Started()

    async def follow(
        self, handle: ScriptHandle, job: ScriptJob, cursor: Cursor, on_log: Callable[[LogEntry], None]
    ) -> ScriptOutcome:
        start = list(cursor) if isinstance(cursor, list) else None
        try:
            result = await self._scripts.follow(handle.ticket, self._request(job), start, on_log)
        except ScriptGone as exc:
            raise ScriptLost(str(exc)) from None
        return ScriptOutcome(
            exit_code=result.exit_code,
            output_variables=result.output_variables,
            artifacts=tuple(CollectedArtifact(a.name, a.stored_path, a.length) for a in result.artifacts),
            failure_message=result.failure_message,
        )

    async def cancel(self, handle: ScriptHandle) -> None:
        await self._scripts.cancel(handle.ticket)

    async def release(self, handle: ScriptHandle) -> None:
        await self._scripts.release(handle.ticket)

    def prune(self, keep: Sequence[ScriptHandle]) -> list[str]:
        return self._scripts.prune(h.ticket for h in keep)
