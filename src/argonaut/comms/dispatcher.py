"""Runs scripts and health checks on agents: the orchestrator's Dispatcher for Tentacle endpoints.

A script is named by a ticket this server chooses, so every call about it can be retried: if the link
drops mid-script, the script keeps running on the agent, and we reconnect and ask for its lines from
the last one we stored: none lost, none repeated, the script never started twice.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
import secrets
import weakref
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from argonaut.comms.connections import AgentLink, AgentUnreachable, AgentUntrusted, Connections, Endpoint
from argonaut.domain.health import HealthReport
from argonaut.domain.scripts import (
    UNKNOWN_EXIT_CODE,
    CollectedArtifact,
    Cursor,
    LogEntry,
    OutputVariable,
    ScriptHandle,
    ScriptJob,
    ScriptLost,
    ScriptOutcome,
    Started,
    Target,
    WorkerTarget,
    WorkerUnreachable,
)
from argonaut.domain.workers import HealthStatus
from argonaut.protocol.link import CallFailed, CallTimedOut, LinkClosed
from argonaut.protocol.methods import Capabilities, FileData, ScriptStatus

log = logging.getLogger("argonaut.comms")

STATUS_WAIT_MS = 10_000
CANCEL_TIMEOUT_S = 10.0
# How long a health check waits for a polling agent that is not connected. Short: an agent that
# connects is checked at once anyway, so a longer wait would only hold a task-cap slot (a worker added
# before its agent starts is checked, and found not connected, straight away).
HEALTH_CONNECT_WAIT_S = 5.0
TENTACLE_STYLES = ("TentaclePassive", "TentacleActive")


def _worker(handle: ScriptHandle) -> WorkerTarget:
    assert isinstance(handle.target, WorkerTarget), "agent scripts run on workers"
    return handle.target


def endpoint_of(target: WorkerTarget) -> Endpoint:
    raw = target.endpoint
    return Endpoint(str(raw.get("CommunicationStyle")), str(raw.get("Uri")), str(raw.get("Thumbprint")))


class AgentDispatcher:
    """``runner_files`` is the server's runner bundle (file name -> text) at ``runner_version``: pushed
    to any agent that reports an older runner, before its next script or by an UpdateCalamari task."""

    def __init__(
        self, connections: Connections, runner_version: str, runner_files: Mapping[str, str]
    ) -> None:
        self._connections = connections
        self._runner_version = runner_version
        self._runner_files = dict(runner_files)
        # What each live link's agent last reported: a reconnect (maybe to a reinstalled agent) asks again.
        self._agent_runner: weakref.WeakKeyDictionary[AgentLink, str] = weakref.WeakKeyDictionary()

    async def _link(self, target: WorkerTarget) -> AgentLink:
        try:
            return await self._connections.link(endpoint_of(target), target.connect_wait_s)
        except AgentUntrusted as exc:
            raise WorkerUnreachable(f"Worker '{target.name}' is not the machine registered: {exc}") from exc
        except AgentUnreachable as exc:
            raise WorkerUnreachable(f"Worker '{target.name}' cannot be contacted: {exc}") from exc

    async def _call(self, target: WorkerTarget, method: str, params: dict[str, Any]) -> dict[str, Any]:
        """One call, retried once on a fresh link if the link dropped or left the call unanswered past its
        timeout (every method is idempotent). A long poll's timeout is its ``wait_ms`` plus the usual."""
        timeout_s = self._connections.timings.call_timeout_s + int(params.get("wait_ms", 0)) / 1000
        for attempt in (1, 2):
            link = await self._link(target)
            try:
                return await link.call(method, params, timeout_s)
            except CallTimedOut as exc:
                if attempt == 2:
                    raise WorkerUnreachable(f"Worker '{target.name}': {exc}, twice") from None
                log.warning("%s; reconnecting to try again", exc)
                self._connections.forget(endpoint_of(target), link)
            except LinkClosed:
                if attempt == 2:
                    raise WorkerUnreachable(f"Worker '{target.name}' dropped the connection twice") from None
                self._connections.forget(endpoint_of(target), link)
            except CallFailed as exc:
                if exc.code == "unknown-ticket":
                    raise ScriptLost(
                        f"Worker '{target.name}' no longer knows this script (the agent restarted?), "
                        "so its outcome is unknown"
                    ) from exc
                raise WorkerUnreachable(f"Worker '{target.name}' refused {method}: {exc}") from exc
        raise AssertionError("unreachable")  # pragma: no cover

    async def start(self, handle: ScriptHandle, job: ScriptJob) -> Started:
        """Bring the agent's runner up to date, then start the script (idempotent per ticket)."""
        target = _worker(handle)
        updated_from = await self.update_runner(target)
        start = {
            "ticket": handle.ticket,
            "task_id": f"ServerTasks-{job.task_id}",
            "script_body": job.script_body,
            "syntax": job.syntax,
            "variables": dict(job.variables),
            "sensitive_variables": sorted(job.sensitive_variables),
            "isolation": job.isolation,
        }
        await self._call(target, "script.start.v1", start)
        return Started(runner_updated_from=updated_from)

    async def follow(
        self, handle: ScriptHandle, job: ScriptJob, cursor: Cursor, on_log: Callable[[LogEntry], None]
    ) -> ScriptOutcome:
        """Long-poll the agent for lines from ``cursor`` until it says Complete. Cancelling only stops
        asking: the script goes on, on the agent, for whoever follows it next."""
        target = _worker(handle)
        since = cursor if isinstance(cursor, int) else 0
        while True:
            query = {"ticket": handle.ticket, "since": since, "wait_ms": STATUS_WAIT_MS}
            status = ScriptStatus.model_validate(await self._call(target, "script.status.v1", query))
            for line in status.logs:
                on_log(LogEntry(line.occurred, line.category, line.text, line.seq + 1))
            since = status.next_seq
            if status.state == "Complete":  # the agent says Complete only once every line was sent
                break
        return ScriptOutcome(
            exit_code=status.exit_code if status.exit_code is not None else UNKNOWN_EXIT_CODE,
            output_variables=tuple(
                OutputVariable(v.name, v.value, v.sensitive) for v in status.output_variables
            ),
            artifacts=tuple(
                _store_artifact(job.artifact_dir, a.name, a.content_b64) for a in status.artifacts
            ),
            failure_message=status.failure_message,
        )

    async def cancel(self, handle: ScriptHandle) -> None:
        """Stop the script on the agent; bounded, so cancelling never hangs on an agent that is gone."""
        target = _worker(handle)
        try:
            async with asyncio.timeout(CANCEL_TIMEOUT_S):
                link = await self._connections.link(endpoint_of(target), 0)
                await link.call("script.cancel.v1", {"ticket": handle.ticket, "since": 0, "wait_ms": 0})
        except (TimeoutError, AgentUnreachable, LinkClosed, CallFailed) as exc:
            log.warning("could not cancel script %s on %s: %s", handle.ticket, target.name, exc)

    async def release(self, handle: ScriptHandle) -> None:
        """The outcome is stored: the agent may drop the script's lines and artifacts (best effort)."""
        target = _worker(handle)
        try:
            async with asyncio.timeout(CANCEL_TIMEOUT_S):
                link = await self._connections.link(endpoint_of(target), 0)
                await link.call("script.complete.v1", {"ticket": handle.ticket})
        except (TimeoutError, AgentUnreachable, LinkClosed, CallFailed) as exc:
            log.info("could not tell %s to forget script %s: %s", target.name, handle.ticket, exc)

    async def update_runner(self, target: Target) -> str | None:
        """Make the agent's runner the server's; answers the version it replaced (None: it was current)."""
        assert isinstance(target, WorkerTarget)
        link = await self._link(target)
        version = self._agent_runner.get(link)
        if version is None:
            version = Capabilities.model_validate(
                await self._call(target, "capabilities.v1", {})
            ).runner_version
        if version != self._runner_version:
            update = {"version": self._runner_version, "files": self._runner_files}
            await self._call(target, "runner.update.v1", update)
        self._agent_runner[link] = self._runner_version
        return None if version == self._runner_version else version

    async def upload_file(self, target: WorkerTarget, path: str, data: bytes) -> FileData:
        params = {"path": path, "content_b64": base64.b64encode(data).decode(), "sha256": _sha256(data)}
        return FileData.model_validate(await self._call(target, "file.upload.v1", params))

    async def download_file(self, target: WorkerTarget, path: str) -> bytes:
        answer = FileData.model_validate(await self._call(target, "file.download.v1", {"path": path}))
        data = base64.b64decode(answer.content_b64 or "")
        if _sha256(data) != answer.sha256:
            raise WorkerUnreachable(f"'{path}' from worker '{target.name}' failed its SHA-256 check")
        return data

    async def _capabilities(self, target: WorkerTarget, wait_s: float) -> Capabilities:
        """Ask the agent what it is; a link that drops under the question (a half-open one found by
        pings, say) is replaced once, as a polling agent reconnects at once: a check must not call a
        worker Unavailable for the death of a link it no longer uses."""
        endpoint = endpoint_of(target)
        for attempt in (1, 2):
            link = await self._connections.link(endpoint, wait_s)
            try:
                found = Capabilities.model_validate(await link.call("capabilities.v1", {}))
            except LinkClosed:
                if attempt == 2:
                    raise
                self._connections.forget(endpoint, link)
                continue
            self._agent_runner[link] = found.runner_version
            return found
        raise AssertionError("unreachable")  # pragma: no cover

    async def check_health(self, target: Target, timeout_s: float) -> HealthReport:
        assert isinstance(target, WorkerTarget)
        try:
            async with asyncio.timeout(timeout_s):
                found = await self._capabilities(target, min(timeout_s, HEALTH_CONNECT_WAIT_S))
        except TimeoutError:
            return HealthReport(HealthStatus.UNAVAILABLE, f"The machine did not answer within {timeout_s:g}s")
        except AgentUntrusted as exc:  # it answered, but it is not the machine registered
            return HealthReport(HealthStatus.UNHEALTHY, str(exc))
        except (AgentUnreachable, LinkClosed, CallFailed) as exc:
            return HealthReport(HealthStatus.UNAVAILABLE, str(exc))
        except ValidationError as exc:  # an agent speaking another version of the contract
            return HealthReport(
                HealthStatus.UNAVAILABLE,
                f"The agent's capabilities answer does not match this server's protocol: {exc}",
            )
        details = {
            "OperatingSystem": found.os,
            "Architecture": found.architecture,
            "ShellName": "Bash"
            if "Bash" in found.shells
            else (found.shells[0] if found.shells else "Unknown"),
            "AgentVersion": found.agent_version,
        }
        return HealthReport(HealthStatus.HEALTHY, "The machine is healthy", found.runner_version, details)


def _store_artifact(folder: Path | None, name: str, content_b64: str) -> CollectedArtifact:
    assert folder is not None
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{secrets.token_hex(8)}-{Path(name).name}"
    data = base64.b64decode(content_b64)
    path.write_bytes(data)
    return CollectedArtifact(name, path, len(data))


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
