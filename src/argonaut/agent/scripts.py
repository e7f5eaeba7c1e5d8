"""The agent's script service: scripts by ticket, which outlive the connection that started them.

The server names each script with a ticket it chose, so a retried ``script.start.v1`` (after a dropped
connection) finds the running script instead of starting it twice. Lines are kept, numbered, until the
server acknowledges the end with ``script.complete.v1``; a server that reconnects — or a new server
node — asks ``script.status.v1`` from the last line it stored and misses nothing.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from argonaut.agent.isolation import IsolationMutex
from argonaut.protocol.link import MethodError
from argonaut.protocol.methods import (
    ArtifactData,
    LogLine,
    OutputVariable,
    ScriptStatus,
    ScriptStatusQuery,
    StartScript,
    TicketOnly,
)
from argonaut.runner import LogEntry, RunnerBundle, ScriptRequest, ScriptResult, run_script

MAX_LINES_PER_ANSWER = 5000
# How long a long poll that was woken by new lines waits on for the script's end (or more lines) before it
# answers. Most scripts print and end within a few milliseconds: answering with the end too saves the server
# its next call, a round trip over TLS (~1-2 ms of latency on both sides), and a chatty script's lines go
# out in fewer, fuller answers. A line reaches the server at most this much later.
LINGER_S = 0.02


@dataclass
class _Script:
    ticket: str
    lines: list[LogLine] = field(default_factory=list)
    result: ScriptResult | None = None
    error: str | None = None
    job: asyncio.Task[None] | None = None
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    artifacts_dir: Path | None = None

    @property
    def finished(self) -> bool:
        return self.result is not None or self.error is not None


class ScriptService:
    def __init__(self, work_root: Path, artifacts_root: Path, runner: RunnerBundle) -> None:
        self._work_root = work_root
        self._artifacts_root = artifacts_root
        self.runner = runner  # replaced when the server pushes a newer one; running scripts keep theirs
        self._isolation = IsolationMutex()
        self._scripts: dict[str, _Script] = {}

    async def start(self, params: StartScript) -> ScriptStatus:
        script = self._scripts.get(params.ticket)
        if script is None:  # a repeated start for the same ticket is answered, never run again
            script = _Script(params.ticket, artifacts_dir=self._artifacts_root / params.ticket)
            self._scripts[params.ticket] = script
            script.job = asyncio.create_task(self._run(script, params), name=f"script-{params.ticket}")
        return self._status(script, 0)

    async def status(self, query: ScriptStatusQuery) -> ScriptStatus:
        script = self._get(query.ticket)
        if query.wait_ms and not script.finished and len(script.lines) <= query.since:
            wait_s = query.wait_ms / 1000
            await _wait_until(script, lambda: script.finished or len(script.lines) > query.since, wait_s)
            if len(script.lines) > query.since:  # woken by lines: the end may be moments away
                await _wait_until(script, lambda: script.finished, min(LINGER_S, wait_s))
        return self._status(script, query.since)

    async def cancel(self, query: ScriptStatusQuery) -> ScriptStatus:
        script = self._get(query.ticket)
        if script.job is not None and not script.job.done():
            script.job.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await script.job
        return self._status(script, query.since)

    async def complete(self, params: TicketOnly) -> None:
        script = self._scripts.pop(params.ticket, None)
        if script is not None and script.artifacts_dir is not None:
            shutil.rmtree(script.artifacts_dir, ignore_errors=True)

    async def stop(self) -> None:
        for script in self._scripts.values():
            if script.job is not None:
                script.job.cancel()

    def _get(self, ticket: str) -> _Script:
        script = self._scripts.get(ticket)
        if script is None:
            raise MethodError("unknown-ticket", f"this agent has no script with ticket {ticket}")
        return script

    async def _run(self, script: _Script, params: StartScript) -> None:
        def on_log(line: LogEntry) -> None:
            script.lines.append(
                LogLine(
                    seq=len(script.lines),
                    occurred=line.occurred,
                    category=line.category,
                    text=line.text,
                )
            )
            script.changed.set()

        request = ScriptRequest(
            script_body=params.script_body,
            syntax=params.syntax,
            work_root=self._work_root,
            variables=params.variables,
            sensitive_variables=frozenset(params.sensitive_variables),
            artifact_dir=script.artifacts_dir,
            runner=self.runner,
        )
        exclusive = params.isolation == "FullIsolation"
        if exclusive and self._isolation.busy or not exclusive and self._isolation.busy_exclusively:
            on_log(_waiting_line(exclusive))
        try:
            async with self._isolation.hold(exclusive):
                script.result = await run_script(request, on_log)
        except asyncio.CancelledError:
            script.error = "The script was canceled"
        except Exception as exc:  # the step fails with the reason instead of the agent crashing
            script.error = f"The agent could not run the script: {exc}"
        finally:
            script.changed.set()

    def _status(self, script: _Script, since: int) -> ScriptStatus:
        lines = tuple(script.lines[since : since + MAX_LINES_PER_ANSWER])
        next_seq = since + len(lines)
        if not script.finished or next_seq < len(script.lines):
            return ScriptStatus(ticket=script.ticket, state="Running", logs=lines, next_seq=next_seq)
        result = script.result
        if result is None:
            return ScriptStatus(
                ticket=script.ticket,
                state="Complete",
                exit_code=-43,
                logs=lines,
                next_seq=next_seq,
                failure_message=script.error,
            )
        return ScriptStatus(
            ticket=script.ticket,
            state="Complete",
            exit_code=result.exit_code,
            logs=lines,
            next_seq=next_seq,
            failure_message=result.failure_message,
            output_variables=tuple(
                OutputVariable(name=v.name, value=v.value, sensitive=v.sensitive)
                for v in result.output_variables
            ),
            artifacts=tuple(_artifact(a) for a in result.artifacts),
        )


def _artifact(artifact: Any) -> ArtifactData:
    content = Path(artifact.stored_path).read_bytes()
    return ArtifactData(
        name=artifact.name, length=len(content), content_b64=base64.b64encode(content).decode()
    )


async def _wait_until(script: _Script, done: Callable[[], bool], timeout_s: float) -> None:
    """Until ``done()`` holds, re-checked whenever the script changes, or ``timeout_s`` passed."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(timeout_s):
            while not done():
                script.changed.clear()
                await script.changed.wait()


def _waiting_line(exclusive: bool) -> LogEntry:
    why = (
        "this script requires that no other scripts are running on this agent"
        if exclusive
        else "a script that requires this agent to itself is running"
    )
    return LogEntry(time.time(), "Wait", f"Waiting for other scripts to finish: {why}")
