"""The server side of the agent protocol, driven directly against a real agent process over real TLS."""

from __future__ import annotations

import asyncio
import base64
import secrets
from pathlib import Path
from typing import Any

import pytest

from argonaut.comms.connections import Connections
from argonaut.comms.dispatcher import AgentDispatcher, endpoint_of
from argonaut.domain.scripts import ScriptHandle, ScriptJob, ScriptKind, WorkerTarget, WorkerUnreachable
from argonaut.orchestrator.dispatcher import run_to_end
from argonaut.runner import PACKAGE_BUNDLE
from argonaut.security.certificates import load_or_create_certificate
from argonaut.security.tls import connecting_context


def link_to(agent: Any, server_home: Path) -> tuple[Connections, AgentDispatcher, WorkerTarget]:
    certificate = load_or_create_certificate(server_home, "test server")
    connections = Connections(connecting_context(certificate))
    dispatcher = AgentDispatcher(connections, PACKAGE_BUNDLE.version, PACKAGE_BUNDLE.files)
    endpoint = {"CommunicationStyle": "TentaclePassive", "Uri": agent.uri, "Thumbprint": agent.thumbprint}
    return connections, dispatcher, WorkerTarget(1, "agent", endpoint, 5.0)


def agent_script(target: WorkerTarget) -> ScriptHandle:
    return ScriptHandle(ScriptKind.AGENT, secrets.token_hex(16), target, resumable=True)


@pytest.fixture
def server_home(tmp_path: Path) -> Path:
    home = tmp_path / "server"
    home.mkdir()
    return home


def trusted_agent(agent_factory: Any, server_home: Path) -> Any:
    return agent_factory(trust=[load_or_create_certificate(server_home, "test server").thumbprint])


def test_files_travel_both_ways_checked_by_hash(agent_factory: Any, server_home: Path) -> None:
    agent = trusted_agent(agent_factory, server_home)

    async def scenario() -> None:
        connections, dispatcher, target = link_to(agent, server_home)
        payload = bytes(range(256)) * 1000
        stored = await dispatcher.upload_file(target, "packages/app.bin", payload)
        assert stored.length == len(payload)
        assert (agent.home / "files" / "packages" / "app.bin").read_bytes() == payload
        assert await dispatcher.download_file(target, "packages/app.bin") == payload
        link = await connections.link(endpoint_of(target), 5)
        corrupted = {"path": "x.bin", "content_b64": base64.b64encode(b"abc").decode(), "sha256": "0" * 64}
        with pytest.raises(Exception, match="bad-hash"):
            await link.call("file.upload.v1", corrupted)
        with pytest.raises(WorkerUnreachable, match="outside this agent's files folder"):
            await dispatcher.download_file(target, "../agent.json")
        with pytest.raises(WorkerUnreachable, match="outside"):
            await dispatcher.upload_file(target, "/etc/evil", b"x")
        await connections.close()

    asyncio.run(scenario())


def test_many_scripts_run_at_once_over_one_link(agent_factory: Any, server_home: Path) -> None:
    agent = trusted_agent(agent_factory, server_home)

    async def scenario() -> None:
        connections, dispatcher, target = link_to(agent, server_home)
        lines: dict[int, list[str]] = {n: [] for n in range(50)}

        async def one(n: int) -> int:
            job = ScriptJob(task_id=n, script_body=f"sleep 0.3; echo job {n}", syntax="Bash")
            outcome = await run_to_end(
                dispatcher, agent_script(target), job, lambda e: lines[n].append(e.text)
            )
            return outcome.exit_code

        codes = await asyncio.gather(*(one(n) for n in range(50)))
        assert codes == [0] * 50
        assert all(lines[n] == [f"job {n}"] for n in range(50))
        assert len(connections._links) == 1  # one multiplexed link carried all fifty
        await connections.close()

    asyncio.run(scenario())


def test_unknown_methods_and_bad_params_are_named_errors(agent_factory: Any, server_home: Path) -> None:
    agent = trusted_agent(agent_factory, server_home)

    async def scenario() -> None:
        connections, _, target = link_to(agent, server_home)
        link = await connections.link(endpoint_of(target), 5)
        with pytest.raises(Exception, match="unknown-method"):
            await link.call("teleport.v1", {})
        with pytest.raises(Exception, match="bad-params"):
            await link.call("script.start.v1", {"ticket": "x"})
        with pytest.raises(Exception, match="unknown-ticket"):
            await link.call("script.status.v1", {"ticket": "nosuchticket0000"})
        await connections.close()

    asyncio.run(scenario())


def test_a_fully_isolated_script_has_the_agent_to_itself(agent_factory: Any, server_home: Path) -> None:
    agent = trusted_agent(agent_factory, server_home)
    record = agent.home / "spans"

    def body(name: str) -> str:
        stamp = f"$(date +%s%N) >> {record}"
        return f"echo {name} start {stamp}; sleep 0.3; echo {name} end {stamp}"

    async def scenario() -> None:
        connections, dispatcher, target = link_to(agent, server_home)
        waits: list[str] = []

        async def run(name: str, isolation: str) -> int:
            job = ScriptJob(task_id=1, script_body=body(name), syntax="Bash", isolation=isolation)  # type: ignore[arg-type]
            outcome = await run_to_end(
                dispatcher,
                agent_script(target),
                job,
                lambda e: waits.append(e.text) if e.category == "Wait" else None,
            )
            return outcome.exit_code

        shared = [asyncio.create_task(run(f"shared{n}", "NoIsolation")) for n in range(3)]
        await asyncio.sleep(0.1)  # the shared scripts are running when the exclusive one arrives
        codes = await asyncio.gather(run("alone", "FullIsolation"), *shared)
        assert codes == [0, 0, 0, 0]
        assert any("requires that no other scripts" in line for line in waits)
        await connections.close()

    asyncio.run(scenario())
    spans: dict[str, dict[str, int]] = {}
    for line in record.read_text().split("\n"):
        if line:
            name, edge, stamp = line.split()
            spans.setdefault(name, {})[edge] = int(stamp)
    alone = spans.pop("alone")
    for span in spans.values():  # no shared script overlaps the exclusive one
        assert span["end"] <= alone["start"] or span["start"] >= alone["end"], (span, alone)
