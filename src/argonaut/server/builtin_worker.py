"""The node's built-in worker: runs scripts in child processes of the server, through the runner.

It runs :class:`BuiltInTarget` scripts for :mod:`argonaut.server.dispatch`, which sends everything else
to the agent links.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from argonaut.domain.scripts import (
    BuiltInTarget,
    CollectedArtifact,
    LogEntry,
    ScriptJob,
    ScriptOutcome,
    Target,
)
from argonaut.runner import LogLine, ScriptRequest, run_script


class BuiltInWorker:
    def __init__(self, work_root: Path, run_as_user: str | None) -> None:
        self._work_root = work_root
        self._run_as_user = run_as_user

    async def run_script(
        self, target: Target, job: ScriptJob, on_log: Callable[[LogEntry], None]
    ) -> ScriptOutcome:
        assert isinstance(target, BuiltInTarget), "external workers go through server.dispatch"
        request = ScriptRequest(
            script_body=job.script_body,
            syntax=job.syntax,
            work_root=self._work_root,
            variables=job.variables,
            sensitive_variables=job.sensitive_variables,
            run_as_user=self._run_as_user,
            artifact_dir=job.artifact_dir,
        )

        def forward(line: LogLine) -> None:
            on_log(LogEntry(line.occurred.timestamp(), line.category, line.text))

        result = await run_script(request, forward)
        return ScriptOutcome(
            exit_code=result.exit_code,
            output_variables=result.output_variables,
            artifacts=tuple(CollectedArtifact(a.name, a.stored_path, a.length) for a in result.artifacts),
            failure_message=result.failure_message,
        )
