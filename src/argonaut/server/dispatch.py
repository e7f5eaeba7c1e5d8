"""Routes each script or health check to what can reach the target: the built-in worker or an agent link."""

from __future__ import annotations

from collections.abc import Callable

from argonaut.comms.dispatcher import TENTACLE_STYLES, AgentDispatcher
from argonaut.domain.health import HealthReport
from argonaut.domain.scripts import (
    BuiltInTarget,
    LogEntry,
    ScriptJob,
    ScriptOutcome,
    Target,
    WorkerUnreachable,
)
from argonaut.domain.workers import HealthStatus
from argonaut.server.builtin_worker import BuiltInWorker
from argonaut.ssh.dispatcher import SshDispatcher


class Dispatch:
    def __init__(self, built_in: BuiltInWorker, agents: AgentDispatcher, ssh: SshDispatcher) -> None:
        self._built_in = built_in
        self._agents = agents
        self._ssh = ssh

    def _style(self, target: Target) -> str:
        return (
            "BuiltIn" if isinstance(target, BuiltInTarget) else str(target.endpoint.get("CommunicationStyle"))
        )

    async def run_script(
        self, target: Target, job: ScriptJob, on_log: Callable[[LogEntry], None]
    ) -> ScriptOutcome:
        style = self._style(target)
        if style == "BuiltIn":
            return await self._built_in.run_script(target, job, on_log)
        if style in TENTACLE_STYLES:
            return await self._agents.run_script(target, job, on_log)
        if style == "Ssh":
            return await self._ssh.run_script(target, job, on_log)
        raise WorkerUnreachable(f"Worker '{target.name}' uses {style}, which this server cannot reach yet")

    async def update_runner(self, target: Target) -> str | None:
        if self._style(target) in TENTACLE_STYLES:
            return await self._agents.update_runner(target)
        if self._style(target) == "Ssh":
            return await self._ssh.update_runner(target)
        return None  # the built-in worker runs the server's own runner

    async def check_health(self, target: Target, timeout_s: float) -> HealthReport:
        style = self._style(target)
        if style in TENTACLE_STYLES:
            return await self._agents.check_health(target, timeout_s)
        if style == "Ssh":
            return await self._ssh.check_health(target, timeout_s)
        return HealthReport(
            HealthStatus.UNAVAILABLE, f"Health checks of {style} machines are not supported yet"
        )
