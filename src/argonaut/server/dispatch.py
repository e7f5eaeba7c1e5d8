"""Routes each script or health check to what can reach its target: the built-in worker, an agent link or SSH.

It decides each script's :class:`ScriptHandle` — its kind and whether a node that restarts can re-attach
to it — and every later step of the script goes where its handle's kind says.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from argonaut.comms.dispatcher import TENTACLE_STYLES, AgentDispatcher
from argonaut.domain.health import HealthReport
from argonaut.domain.scripts import (
    BuiltInTarget,
    Cursor,
    LogEntry,
    ScriptHandle,
    ScriptJob,
    ScriptKind,
    ScriptOutcome,
    Started,
    Target,
    WorkerTarget,
    WorkerUnreachable,
)
from argonaut.domain.workers import HealthStatus
from argonaut.server.builtin_worker import BuiltInWorker
from argonaut.ssh.dispatcher import SshDispatcher


class _Scripts(Protocol):
    """What each kind of worker does with a script: the built-in worker, agents and SSH alike."""

    async def start(self, handle: ScriptHandle, job: ScriptJob) -> Started: ...

    async def follow(
        self, handle: ScriptHandle, job: ScriptJob, cursor: Cursor, on_log: Callable[[LogEntry], None]
    ) -> ScriptOutcome: ...

    async def cancel(self, handle: ScriptHandle) -> None: ...

    async def release(self, handle: ScriptHandle) -> None: ...


class Dispatch:
    def __init__(
        self, node: str, built_in: BuiltInWorker, agents: AgentDispatcher, ssh: SshDispatcher
    ) -> None:
        self._node = node
        self._built_in = built_in
        self._agents = agents
        self._ssh = ssh
        self._kinds: dict[ScriptKind, _Scripts] = {
            ScriptKind.BUILT_IN: built_in,
            ScriptKind.AGENT: agents,
            ScriptKind.SSH: ssh,
        }

    def handle(self, target: Target, ticket: str) -> ScriptHandle:
        if isinstance(target, BuiltInTarget):
            return ScriptHandle(ScriptKind.BUILT_IN, ticket, target, resumable=True, node=self._node)
        if target.style in TENTACLE_STYLES:
            return ScriptHandle(ScriptKind.AGENT, ticket, target, resumable=True)
        if target.style == "Ssh":
            # The script's output travels over the SSH channel only: a node that dies takes it along.
            return ScriptHandle(ScriptKind.SSH, ticket, target, resumable=False)
        raise WorkerUnreachable(
            f"Worker '{target.name}' uses {target.style or 'no'} communication style, which this server "
            "cannot reach"
        )

    async def start(self, handle: ScriptHandle, job: ScriptJob) -> Started:
        return await self._kinds[handle.kind].start(handle, job)

    async def follow(
        self, handle: ScriptHandle, job: ScriptJob, cursor: Cursor, on_log: Callable[[LogEntry], None]
    ) -> ScriptOutcome:
        return await self._kinds[handle.kind].follow(handle, job, cursor, on_log)

    async def cancel(self, handle: ScriptHandle) -> None:
        await self._kinds[handle.kind].cancel(handle)

    async def release(self, handle: ScriptHandle) -> None:
        await self._kinds[handle.kind].release(handle)

    async def prune(self, keep: Sequence[ScriptHandle]) -> None:
        self._built_in.prune([h for h in keep if h.kind is ScriptKind.BUILT_IN])

    async def update_runner(self, target: Target) -> str | None:
        if isinstance(target, WorkerTarget) and target.style in TENTACLE_STYLES:
            return await self._agents.update_runner(target)
        if isinstance(target, WorkerTarget) and target.style == "Ssh":
            return await self._ssh.update_runner(target)
        return None  # the built-in worker runs the server's own runner

    async def check_health(self, target: Target, timeout_s: float) -> HealthReport:
        if isinstance(target, WorkerTarget) and target.style in TENTACLE_STYLES:
            return await self._agents.check_health(target, timeout_s)
        if isinstance(target, WorkerTarget) and target.style == "Ssh":
            return await self._ssh.check_health(target, timeout_s)
        style = target.style if isinstance(target, WorkerTarget) else "built-in"
        return HealthReport(
            HealthStatus.UNAVAILABLE, f"Health checks of {style} machines are not supported yet"
        )
