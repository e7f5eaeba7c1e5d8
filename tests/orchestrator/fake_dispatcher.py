"""A fake of our own Dispatcher seam: scripts whose lines and ends the test decides, in-process.

It keeps its scripts across "node restarts" (a new TaskQueue over the same store), as a real worker's
scripts outlive the node that started them, and it records every call so tests can say what happened.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from argonaut.domain.health import HealthReport
from argonaut.domain.scripts import (
    Cursor,
    LogEntry,
    ScriptHandle,
    ScriptJob,
    ScriptKind,
    ScriptLost,
    ScriptOutcome,
    Started,
    Target,
)
from argonaut.domain.workers import HealthStatus


@dataclass
class FakeScript:
    handle: ScriptHandle
    job: ScriptJob
    lines: list[str] = field(default_factory=list)
    exit_code: int | None = None
    cancelled: bool = False
    starts: int = 0
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def say(self, *lines: str) -> None:
        self.lines.extend(lines)
        self.changed.set()

    def end(self, code: int) -> None:
        self.exit_code = code
        self.changed.set()


class FakeDispatcher:
    """Scripts run until the test ends them; a body of ``auto:<code>`` ends at once with that code."""

    def __init__(self, resumable: bool = True) -> None:
        self.resumable = resumable
        self.scripts: dict[str, FakeScript] = {}
        self.released: list[str] = []
        self.pruned_to: list[str] | None = None
        self.start_calls = 0
        self.running_now = 0
        self.most_running = 0
        self.started = asyncio.Event()

    def by_body(self, body: str) -> list[FakeScript]:
        return [s for s in self.scripts.values() if s.job.script_body == body]

    def handle(self, target: Target, ticket: str) -> ScriptHandle:
        # Scripts "on an agent" (resumable) or "over SSH" (not): the orchestrator must mark both started
        # before it asks, and never ask twice.
        kind = ScriptKind.AGENT if self.resumable else ScriptKind.SSH
        return ScriptHandle(kind, ticket, target, self.resumable)

    async def start(self, handle: ScriptHandle, job: ScriptJob) -> Started:
        self.start_calls += 1
        # Idempotent per ticket, as every real worker's start is: a second call finds the script.
        if handle.ticket in self.scripts:
            return Started()
        script = self.scripts[handle.ticket] = FakeScript(handle, job)
        script.starts += 1
        if job.script_body.startswith("auto:"):
            script.say(f"running {job.script_body}")
            script.end(int(job.script_body.split(":")[1]))
        self.started.set()
        return Started()

    async def follow(
        self, handle: ScriptHandle, job: ScriptJob, cursor: Cursor, on_log: Callable[[LogEntry], None]
    ) -> ScriptOutcome:
        script = self.scripts.get(handle.ticket)
        if script is None:
            raise ScriptLost(f"no script {handle.ticket}")
        sent = cursor if isinstance(cursor, int) else 0
        self.running_now += 1
        self.most_running = max(self.most_running, self.running_now)
        try:
            while True:
                script.changed.clear()
                while sent < len(script.lines):
                    on_log(LogEntry(0.0, "Info", script.lines[sent], sent + 1))
                    sent += 1
                if script.exit_code is not None:
                    return ScriptOutcome(script.exit_code)
                await script.changed.wait()
        finally:
            self.running_now -= 1

    async def cancel(self, handle: ScriptHandle) -> None:
        script = self.scripts.get(handle.ticket)
        if script is not None and script.exit_code is None:
            script.cancelled = True
            script.end(143)

    async def release(self, handle: ScriptHandle) -> None:
        self.released.append(handle.ticket)

    async def prune(self, keep: Sequence[ScriptHandle]) -> None:
        self.pruned_to = [h.ticket for h in keep]

    async def check_health(self, target: Target, timeout_s: float) -> HealthReport:
        return HealthReport(HealthStatus.HEALTHY, "fake")

    async def update_runner(self, target: Target) -> str | None:
        return None
