"""External workers on real agents over real TLS: script latency, throughput, health checks, link memory.

Agents are where scripts run in production, so their overhead on top of the built-in worker, how many
tasks the server pushes through a handful of agents, how fast it checks a large pool, and what an idle
polling agent costs the server in memory decide how far one node scales. Against one server
(``--task-cap 50``) with 10 real agent processes (5 listening, 5 polling, all in one pool):

1. Latency: POST an ``echo hello`` ad-hoc script to its finished task as the client sees it (the
   stream's final line), 50 sequential runs after 5 warm-ups, through a listening agent, a polling
   agent and the built-in worker.
2. Throughput: 400 tasks aimed at single workers (``TargetType: Workers``, round-robin over the 10
   agents), all submitted at once on 400 keep-alive connections; from the first POST until the last
   task is seen finished.
3. Health check of 200 workers: 4 of the listening agents each registered 50 times under other names
   in a new pool, one ``Health`` task over that pool, POST to the stream's end; three runs (links to
   those agents are already open from the sections before, as on a running server).
4. Memory of 1,000 connected polling agents: this process opens 1,000 polling links itself (own
   certificate and subscription each, hello handshake, answers ``capabilities.v1``), after
   registering them through the API; server RSS before connecting versus after all are connected
   and the health checks their arrival triggers are done. The "before" figure comes after sections
   1-3, so the allocator may reuse memory freed by them: the per-agent figure is, if anything, low.
   This process raises its soft RLIMIT_NOFILE to the hard limit first, and the server inherits it; the
   table shows the server's limit beside the descriptors it holds.

    .venv/bin/python bench/agents.py
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from _agents import (  # noqa: E402
    FakePoller,
    add_worker,
    api,
    count_workers,
    fd_soft_limit,
    limited,
    new_pool,
    open_fds,
    raise_fd_limit,
    register_pollers,
    run_task,
    subscription_id,
    wait_healthy,
)
from _http import RawClient  # noqa: E402
from _server import RunningServer, cpu_seconds, percentile, rss_mb, running_node, table  # noqa: E402
from argonaut.agent import config as agent_config  # noqa: E402
from argonaut.security.certificates import NodeCertificate, load_or_create_certificate  # noqa: E402

TASK_CAP = 50
LISTENING_AGENTS = 5
POLLING_AGENTS = 5
LATENCY_WARMUPS, LATENCY_RUNS = 5, 50
THROUGHPUT_TASKS = 400
HEALTH_AGENTS, HEALTH_REGISTRATIONS_EACH, HEALTH_RUNS = 4, 50, 3
LOAD_LINKS = 1000
LOAD_CONNECT_CONCURRENCY = 50
LOAD_REGISTER_CONCURRENCY = 4


def script(**target: Any) -> dict[str, Any]:
    return {"Name": "AdHocScript", "Arguments": {"ScriptBody": "echo hello", "Syntax": "Bash", **target}}


# -- agent processes -------------------------------------------------------------------------------------


@dataclass
class AgentProcess:
    home: Path
    certificate: NodeCertificate
    proc: subprocess.Popen[bytes] | None = None
    port: int = 0  # a listening agent's bound port, read from its output
    worker_id: str = ""

    @property
    def log(self) -> Path:
        return self.home / "agent.log"

    def start(self) -> None:
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-c",
                    "import sys, pathlib; from argonaut.agent.service import run_agent; "
                    f"sys.exit(run_agent(pathlib.Path({str(self.home)!r})))",
                ],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    async def wait_started(self, timeout_s: float = 60.0) -> None:
        started = time.perf_counter()
        while time.perf_counter() - started < timeout_s:
            text = self.log.read_text(errors="replace")
            if match := re.search(r"^Listening on [^:]+:(\d+) for servers", text, re.MULTILINE):
                self.port = int(match.group(1))
            if re.search(r"^Agent \w+ running", text, re.MULTILINE):
                return
            if self.proc is not None and self.proc.poll() is not None:
                break
            await asyncio.sleep(0.05)
        raise RuntimeError(f"the agent in {self.home} did not start:\n{self.log.read_text(errors='replace')}")

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None

    def cpu_seconds(self) -> float:
        return cpu_seconds(self.proc.pid) if self.proc is not None else 0.0


def make_agent(
    root: Path, name: str, trust: str, polling: agent_config.PollingServer | None = None
) -> AgentProcess:
    home = root / name
    home.mkdir(parents=True)
    certificate = load_or_create_certificate(home, f"Argonaut bench agent {name}")
    config = agent_config.AgentConfig(listen=polling is None, listen_port=0)
    config.trust(trust)
    config.polling = [polling] if polling is not None else []
    agent_config.save(home, config)
    return AgentProcess(home, certificate)


@dataclass
class Fleet:
    listening: list[AgentProcess]
    polling: list[AgentProcess]
    pool: str

    @property
    def all(self) -> list[AgentProcess]:
        return self.listening + self.polling


async def start_fleet(
    client: RawClient, node: RunningServer, root: Path, server_thumbprint: str, started: list[AgentProcess]
) -> Fleet:
    """5 listening and 5 polling agents, registered in one pool and checked Healthy; each agent started
    is added to ``started`` at once, so the caller stops it whatever happens here."""
    pool = await new_pool(client, "Bench agents")
    listening = [make_agent(root, f"listen-{n}", server_thumbprint) for n in range(LISTENING_AGENTS)]
    polling: list[AgentProcess] = []
    for n in range(POLLING_AGENTS):
        sub = subscription_id()
        target = agent_config.PollingServer(node.url, "127.0.0.1", node.comms_port, sub, server_thumbprint)
        agent = make_agent(root, f"poll-{n}", server_thumbprint, target)
        endpoint = {
            "CommunicationStyle": "TentacleActive",
            "Uri": sub,
            "Thumbprint": agent.certificate.thumbprint,
        }
        agent.worker_id = await add_worker(client, f"bench-poll-{n}", pool, endpoint)
        polling.append(agent)
    fleet = Fleet(listening, polling, pool)
    for agent in fleet.all:
        started.append(agent)
        agent.start()
    await asyncio.gather(*(agent.wait_started() for agent in fleet.all))
    for n, agent in enumerate(listening):
        endpoint = {
            "CommunicationStyle": "TentaclePassive",
            "Uri": f"https://127.0.0.1:{agent.port}/",
            "Thumbprint": agent.certificate.thumbprint,
        }
        agent.worker_id = await add_worker(client, f"bench-listen-{n}", pool, endpoint)
    _, task = await run_task(client, {"Name": "Health", "Arguments": {"WorkerpoolId": pool}})
    if task.get("State") != "Success":
        logs = "\n".join(f"{a.home.name}: {a.log.read_text(errors='replace')[-500:]}" for a in fleet.all)
        raise RuntimeError(f"the fleet's health check ended {task.get('State')}: {task}\n{logs}")
    await wait_healthy(client, pool, len(fleet.all))  # the polling ones may still be connecting
    return fleet


# -- 1. latency ------------------------------------------------------------------------------------------


async def latency(node: RunningServer, targets: dict[str, dict[str, Any]]) -> dict[str, list[float]]:
    """Each target's runs, taken in turn (one of each, again and again), so that none pays alone for the
    machine being busier at its moment (the fleet's agents still settling, say)."""
    client = RawClient(node.url, node.key)
    samples: dict[str, list[float]] = {name: [] for name in targets}
    try:
        for _ in range(LATENCY_WARMUPS):
            for target in targets.values():
                await run_task(client, script(**target))
        for _ in range(LATENCY_RUNS):
            for name, target in targets.items():
                ms, task = await run_task(client, script(**target))
                if task.get("State") != "Success":
                    raise RuntimeError(f"a latency run on the {name} did not succeed: {task}")
                samples[name].append(ms)
    finally:
        await client.close()
    return samples


# -- 2. throughput ---------------------------------------------------------------------------------------


async def throughput(node: RunningServer, fleet: Fleet) -> tuple[float, int, float, float, float]:
    """(tasks/s, succeeded, and CPU ms per task of the server, of all agents, of this client)."""
    workers = itertools.cycle([agent.worker_id for agent in fleet.all])
    bodies = [script(TargetType="Workers", MachineIds=[next(workers)]) for _ in range(THROUGHPUT_TASKS)]
    clients = [RawClient(node.url, node.key) for _ in bodies]
    server_cpu = cpu_seconds(node.pid)
    agents_cpu = sum(agent.cpu_seconds() for agent in fleet.all)
    client_cpu = time.process_time()
    started = time.perf_counter()
    try:
        results = await asyncio.gather(*(run_task(c, b) for c, b in zip(clients, bodies, strict=True)))
    finally:
        for client in clients:
            await client.close()
    elapsed = time.perf_counter() - started
    ok = sum(1 for _, task in results if task.get("State") == "Success")
    per_task = 1000 / THROUGHPUT_TASKS
    return (
        THROUGHPUT_TASKS / elapsed,
        ok,
        (cpu_seconds(node.pid) - server_cpu) * per_task,
        (sum(agent.cpu_seconds() for agent in fleet.all) - agents_cpu) * per_task,
        (time.process_time() - client_cpu) * per_task,
    )


# -- 3. health check of 200 workers ----------------------------------------------------------------------


async def health_of_many(client: RawClient, fleet: Fleet) -> tuple[list[float], list[str]]:
    pool = await new_pool(client, "Bench health 200")
    for agent in fleet.listening[:HEALTH_AGENTS]:
        endpoint = {
            "CommunicationStyle": "TentaclePassive",
            "Uri": f"https://127.0.0.1:{agent.port}/",
            "Thumbprint": agent.certificate.thumbprint,
        }
        for n in range(HEALTH_REGISTRATIONS_EACH):
            await add_worker(client, f"bench-many-{agent.port}-{n}", pool, endpoint)
    timings, states = [], []
    for _ in range(HEALTH_RUNS):
        ms, task = await run_task(client, {"Name": "Health", "Arguments": {"WorkerpoolId": pool}})
        timings.append(ms / 1000)
        states.append(str(task.get("State")))
    healthy = await count_workers(client, pool, "Healthy")
    if healthy != HEALTH_AGENTS * HEALTH_REGISTRATIONS_EACH:
        raise RuntimeError(f"only {healthy} of the 200 workers are Healthy after the checks: {states}")
    return timings, states


# -- 4. memory of 1,000 polling links --------------------------------------------------------------------


async def memory_of_polling_links(client: RawClient, node: RunningServer, root: Path) -> list[list[object]]:
    pool = await new_pool(client, "Bench polling load")
    pollers = []
    started = time.perf_counter()
    for n in range(LOAD_LINKS):
        folder = root / f"load-{n:04d}"
        folder.mkdir()
        pollers.append(FakePoller(load_or_create_certificate(folder, f"load {n}"), subscription_id()))
    certificates_s = time.perf_counter() - started

    rss_unregistered = rss_mb(node.pid)
    started = time.perf_counter()
    await register_pollers(node.url, node.key, pool, pollers, "bench-load", LOAD_REGISTER_CONCURRENCY)
    register_s = time.perf_counter() - started

    fds_before = open_fds(node.pid)
    rss_before = rss_mb(node.pid)
    server_cpu = cpu_seconds(node.pid)
    started = time.perf_counter()
    try:
        await limited(
            LOAD_CONNECT_CONCURRENCY, [functools.partial(p.connect, node.comms_port) for p in pollers]
        )
        connect_s = time.perf_counter() - started
        rss_connected = rss_mb(node.pid)
        healthy_s = connect_s + await wait_healthy(client, pool, LOAD_LINKS)
        checked_cpu = cpu_seconds(node.pid) - server_cpu
        await asyncio.sleep(1.0)  # let the last tasks' bookkeeping settle
        rss_after = rss_mb(node.pid)
        fds_after = open_fds(node.pid)
        alive = sum(1 for p in pollers if p.link is not None and not p.link.closed)
    finally:
        for p in pollers:
            if p.link is not None:
                await p.link.close()
    per_agent_kb = (rss_after - rss_before) * 1024 / LOAD_LINKS
    return [
        ["certificates made, EC P-256 (s)", certificates_s, ""],
        [f"registering {LOAD_LINKS} workers, {LOAD_REGISTER_CONCURRENCY} connections (s)", register_s, ""],
        ["server RSS, before registering (MB)", rss_unregistered, ""],
        ["server RSS, registered, none connected (MB)", rss_before, ""],
        ["connecting all: TLS + hello (s)", connect_s, ""],
        ["server RSS, just connected (MB)", rss_connected, ""],
        ["connect to all Healthy, queue idle (s)", healthy_s, ""],
        ["server CPU per agent, connect + health check (ms)", checked_cpu * 1000 / LOAD_LINKS, ""],
        ["server RSS, connected and checked (MB)", rss_after, ""],
        ["server RSS per connected agent (KB)", per_agent_kb, "<= 60 (issue 13)"],
        ["links still open at the end", f"{alive}/{LOAD_LINKS}", f"{LOAD_LINKS}/{LOAD_LINKS}"],
        ["server open fds, before / after", f"{fds_before} / {fds_after}", ""],
        ["server fd soft limit", fd_soft_limit(node.pid), f"> {LOAD_LINKS + fds_before}"],
    ]


# -- main ------------------------------------------------------------------------------------------------


async def sections(node: RunningServer, client: RawClient, root: Path, agents: list[AgentProcess]) -> None:
    cert = await api(client, "GET", "/api/configuration/certificates/certificate-global")
    fleet = await start_fleet(client, node, root, str(cert["Thumbprint"]), agents)

    lat = await latency(
        node,
        {
            "listening agent": {"TargetType": "Workers", "MachineIds": [fleet.listening[0].worker_id]},
            "polling agent": {"TargetType": "Workers", "MachineIds": [fleet.polling[0].worker_id]},
            "built-in worker": {"TargetType": "OctopusServer"},
        },
    )
    table(
        f"1. Ad-hoc `echo hello`, POST to finished task as the client sees it, {LATENCY_RUNS} of each, "
        "taken in turn",
        ["target", "p50 (ms)", "p95 (ms)", "max (ms)", "goal"],
        [
            [
                name,
                percentile(ms, 50),
                percentile(ms, 95),
                max(ms),
                "agent p50 <= 8 ms (issue 13)" if "agent" in name else "",
            ]
            for name, ms in lat.items()
        ],
    )

    rate, ok, server_ms, agents_ms, client_ms = await throughput(node, fleet)
    everything = f"{THROUGHPUT_TASKS}/{THROUGHPUT_TASKS}"
    table(
        f"2. {THROUGHPUT_TASKS} tasks at once, round-robin over {LISTENING_AGENTS} listening + "
        f"{POLLING_AGENTS} polling agent processes, --task-cap {TASK_CAP}",
        ["measure", "value", "goal"],
        [
            ["throughput (tasks/s)", rate, ""],
            ["tasks that succeeded", f"{ok}/{THROUGHPUT_TASKS}", everything],
            ["server CPU per task (ms)", server_ms, ""],
            [f"agents' CPU per task, all {len(fleet.all)} (ms)", agents_ms, ""],
            ["benchmark client's CPU per task (ms)", client_ms, ""],
        ],
    )

    timings, states = await health_of_many(client, fleet)
    table(
        f"3. One Health task over {HEALTH_AGENTS * HEALTH_REGISTRATIONS_EACH} workers on {HEALTH_AGENTS} "
        "listening agent processes, POST to the stream's end",
        ["measure", "value", "goal"],
        [
            ["first run (s)", timings[0], "< 2"],
            [f"best of {HEALTH_RUNS} (s)", min(timings), "< 2"],
            ["task states", ", ".join(states), "Success"],
        ],
    )

    for agent in fleet.all:  # section 4 measures the server with only the load generator's links
        agent.stop()
    rows = await memory_of_polling_links(client, node, root)
    rows.append(["benchmark process fd soft limit", resource.getrlimit(resource.RLIMIT_NOFILE)[0], ""])
    table(
        f"4. Server memory with {LOAD_LINKS} connected polling agents (links opened by this process, "
        "each with its own certificate and subscription)",
        ["measure", "value", "goal"],
        rows,
    )


Sections = Callable[[RunningServer, RawClient, Path, list[AgentProcess]], Awaitable[None]]


async def run_sections(sections: Sections, prefix: str, task_cap: int) -> None:
    """Run a benchmark's ``sections`` against one server (``--task-cap``, a polling comms port) in a
    temporary folder named with ``prefix``, stopping every agent process they start and removing the
    folder however they end; after a failure the server log's last lines go to stderr."""
    # SIGTERM (a CI timeout, `kill`) cancels like Ctrl-C does, so the cleanup below runs either way.
    current = asyncio.current_task()
    assert current is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, current.cancel)
    load = os.getloadavg()[0]
    print(f"{os.cpu_count()} cores, load average {load:.2f} at the start (timings get noisy above ~1)")
    root = Path(tempfile.mkdtemp(prefix=prefix))
    agents: list[AgentProcess] = []
    server_log = root / "server.log"
    try:
        with running_node("--task-cap", str(task_cap), "--comms-port", "0", log=server_log) as node:
            client = RawClient(node.url, node.key)
            try:
                await sections(node, client, root, agents)
            finally:
                await client.close()
                for agent in agents:
                    agent.stop()
    except BaseException:
        if server_log.exists():
            print(f"\nthe server's log, last lines:\n{server_log.read_text()[-4000:]}", file=sys.stderr)
        raise
    finally:
        for agent in agents:
            agent.stop()
        shutil.rmtree(root, ignore_errors=True)


async def main() -> None:
    raise_fd_limit()
    await run_sections(sections, "argonaut-bench-agents-", TASK_CAP)


if __name__ == "__main__":
    asyncio.run(main())
