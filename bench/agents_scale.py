"""10,000 polling agents on one node: memory per link, a health check of them all, a node restart.

Issue 13, goal 2: 10,000 polling agents connected to one node at <= 60 KB of server memory each; after
a node restart all reconnect and are Healthy within 30 s, without a storm; a health check of all
10,000 in <= 10 s. The agents are simulated in this process (``_agents.FakePoller``: own certificate
and subscription each, real TLS, the hello handshake, a link answering ``capabilities.v1``), spread
over 40 source addresses of 127.0.0.0/8 so no port range runs short. This process raises its soft
RLIMIT_NOFILE to the hard limit first, and the server inherits it.

a. Connecting: the 10,000 workers are registered through the API (``POST /workers``, concurrently),
   then all agents connect. Server RSS just before connecting versus after all are connected and the
   health checks their arrival triggers are done (all Healthy, queue idle). The "before" figure is
   taken after registration, so it already holds what registering costs.
b. One ``Health`` task over the pool of 10,000: POST to the stream's end, three runs.
c. Restart: SIGTERM the node, start it again on the same home and comms port. Every agent reconnects
   as the real agent does (``argonaut.agent.backoff.reconnect_delay``: exponential backoff with full
   jitter); beyond the node's cap of unauthenticated connections, new ones wait in the listen backlog
   (an attempt that waits past the agent's 10 s connect deadline "timed out").
   Time from the SIGTERM (and from the new node answering) until all 10,000 are linked again, and
   until each has answered a health check on its new link and the API reports all 10,000 Healthy;
   the peak rate of connection attempts per second, how the attempts ended, links made per second,
   and how long the attempts that linked took.

    .venv/bin/python bench/agents_scale.py
    BENCH_AGENTS=2000 BENCH_SECTIONS=ac .venv/bin/python bench/agents_scale.py   # a quicker look
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import functools
import gc
import os
import shutil
import signal
import socket
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _agents import (  # noqa: E402
    SPACE,
    FakePoller,
    PollerStats,
    api,
    count_workers,
    fd_soft_limit,
    follow,
    limited,
    new_pool,
    open_fds,
    raise_fd_limit,
    register_pollers,
    subscription_id,
    tasks_in_flight,
    wait_healthy,
)
from _http import RawClient  # noqa: E402
from _server import RunningServer, cpu_seconds, median, rss_mb, running_node, table  # noqa: E402
from argonaut.security.certificates import NodeCertificate, load_or_create_certificate  # noqa: E402

AGENTS = int(os.environ.get("BENCH_AGENTS", "10000"))  # fewer, to try a change quickly
SECTIONS = os.environ.get("BENCH_SECTIONS", "abc")  # a always runs; "a", "ab" or "ac" leave out the rest
TASK_CAP = 20
REGISTER_CONCURRENCY = 16
CONNECT_CONCURRENCY = 100
SOURCE_ADDRESSES = 40
HEALTH_RUNS = 3
RESTART_LIMIT_S = 120.0
GOAL_KB, GOAL_HEALTH_S, GOAL_RESTART_S = 60, 10, 30


def make_certificates(root: str, numbers: range) -> list[NodeCertificate]:
    """Certificates for ``numbers``, each in its own folder (run in a process pool: ~3 ms each)."""
    made = []
    for n in numbers:
        folder = Path(root) / f"agent-{n:05d}"
        folder.mkdir()
        made.append(load_or_create_certificate(folder, f"Argonaut bench agent {n}"))
    return made


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Nodes:
    """The node under test, started and stopped on a thread: ``running_node`` waits synchronously, and
    the agents in this process must keep running (and noticing) while it does."""

    def __init__(self, root: Path, comms_port: int) -> None:
        self.home = root / "home"
        self.home.mkdir()
        self.log = root / "server.log"
        self.comms_port = comms_port
        self.key: str | None = None
        self._stack: contextlib.ExitStack | None = None

    async def start(self) -> RunningServer:
        args = ("--task-cap", str(TASK_CAP), "--comms-port", str(self.comms_port))
        stack = contextlib.ExitStack()
        manager = running_node(*args, log=self.log, home=self.home, key=self.key)
        node = await asyncio.to_thread(stack.enter_context, manager)
        self._stack, self.key = stack, node.key
        return node

    async def stop(self) -> None:
        stack, self._stack = self._stack, None
        if stack is not None:
            await asyncio.to_thread(stack.close)


async def register_all(node: RunningServer, pool: str, pollers: list[FakePoller]) -> None:
    await register_pollers(node.url, node.key, pool, pollers, "scale", REGISTER_CONCURRENCY)


# -- a. connecting ---------------------------------------------------------------------------------------


async def connect_all(
    client: RawClient, node: RunningServer, pool: str, pollers: list[FakePoller]
) -> list[list[object]]:
    fds_before = open_fds(node.pid)
    rss_before = rss_mb(node.pid)
    server_cpu = cpu_seconds(node.pid)
    started = time.perf_counter()
    await limited(CONNECT_CONCURRENCY, [functools.partial(p.connect, node.comms_port) for p in pollers])
    connect_s = time.perf_counter() - started
    rss_connected = rss_mb(node.pid)
    healthy_s = connect_s + await wait_healthy(client, pool, len(pollers), timeout_s=180)
    checked_cpu = cpu_seconds(node.pid) - server_cpu
    await asyncio.sleep(1.0)  # let the last tasks' bookkeeping settle
    rss_after = rss_mb(node.pid)
    per_agent_kb = (rss_after - rss_before) * 1024 / len(pollers)
    alive = sum(1 for p in pollers if p.link is not None and not p.link.closed)
    return [
        ["server RSS, registered, none connected (MB)", rss_before, ""],
        [f"connecting all: TLS + hello, {CONNECT_CONCURRENCY} at a time (s)", connect_s, ""],
        ["server RSS, just connected (MB)", rss_connected, ""],
        ["connect to all Healthy, queue idle (s)", healthy_s, ""],
        ["server CPU per agent, connect + health check (ms)", checked_cpu * 1000 / len(pollers), ""],
        ["server RSS, connected and checked (MB)", rss_after, ""],
        ["server RSS per connected agent (KB)", per_agent_kb, f"<= {GOAL_KB}"],
        ["links open", f"{alive}/{len(pollers)}", f"{len(pollers)}/{len(pollers)}"],
        ["server open fds, before / after", f"{fds_before} / {open_fds(node.pid)}", ""],
        ["server fd soft limit", fd_soft_limit(node.pid), f"> {len(pollers) + fds_before}"],
    ]


# -- b. one health check of all ----------------------------------------------------------------------------


async def health_of_all(
    client: RawClient, node: RunningServer, pool: str, pollers: list[FakePoller]
) -> list[list[object]]:
    timings, states, cpu = [], [], []
    for _ in range(HEALTH_RUNS):
        for p in pollers:
            p.checked = False
        server_cpu = cpu_seconds(node.pid)
        started = time.perf_counter()
        task = await api(
            client, "POST", f"{SPACE}/tasks", {"Name": "Health", "Arguments": {"WorkerpoolId": pool}}, 201
        )
        final = await follow(client, task["Id"])
        timings.append(time.perf_counter() - started)
        cpu.append(cpu_seconds(node.pid) - server_cpu)
        states.append(str(final.get("State")))
    checked = sum(1 for p in pollers if p.checked)
    healthy = await count_workers(client, pool, "Healthy")
    return [
        ["first run (s)", timings[0], ""],
        [f"p50 of {HEALTH_RUNS} (s)", median(timings), f"<= {GOAL_HEALTH_S}"],
        ["server CPU per run, p50 (s)", median(cpu), ""],
        ["agents asked in the last run", f"{checked}/{len(pollers)}", f"{len(pollers)}/{len(pollers)}"],
        ["Healthy after the runs", f"{healthy}/{len(pollers)}", f"{len(pollers)}/{len(pollers)}"],
        ["task states", ", ".join(states), "Success"],
    ]


# -- c. restart ------------------------------------------------------------------------------------------


async def restart(
    nodes: Nodes, node: RunningServer, pool: str, pollers: list[FakePoller], stats: PollerStats
) -> tuple[RunningServer, list[list[object]], list[list[object]]]:
    port = nodes.comms_port
    loops = [asyncio.create_task(p.keep_polling(port)) for p in pollers]
    try:
        for p in pollers:
            p.checked = False
        stats.reset()
        rss_old = rss_mb(node.pid)
        terminated = time.perf_counter()
        await nodes.stop()  # SIGTERM, and wait for the process to end
        stopped = time.perf_counter()
        node = await nodes.start()
        up = time.perf_counter()
        server_cpu, own_cpu = cpu_seconds(node.pid), time.process_time()
        client = RawClient(node.url, node.key)
        all_linked = all_healthy = float("nan")
        healthy = 0
        try:
            while time.perf_counter() - up < RESTART_LIMIT_S:
                linked = sum(1 for p in pollers if p.connected_at > terminated and not _down(p))
                if linked == len(pollers) and all_linked != all_linked:  # the first time: nan != nan
                    all_linked = time.perf_counter()
                if linked == len(pollers) and all(p.checked for p in pollers):
                    healthy = await count_workers(client, pool, "Healthy")
                    if healthy == len(pollers):
                        all_healthy = time.perf_counter()
                        break
                await asyncio.sleep(0.25)  # each look walks 10,000 pollers: the simulator's CPU is scarce
            else:
                raise RuntimeError(
                    f"after the restart: {linked}/{len(pollers)} linked, "
                    f"{sum(p.checked for p in pollers)} checked, {healthy} Healthy "
                    f"after {RESTART_LIMIT_S:g}s; attempts {dict(stats.outcomes)}"
                )
            in_flight = await tasks_in_flight(client)
            tasks = await api(client, "GET", f"{SPACE}/tasks?name=Health&take=0")
        finally:
            await client.close()
        cpu_s = cpu_seconds(node.pid) - server_cpu
        own_cpu_s = time.process_time() - own_cpu
        rss_new = rss_mb(node.pid)
    finally:
        for loop in loops:
            loop.cancel()
        await asyncio.gather(*loops, return_exceptions=True)
    first = min(stats.attempts) if stats.attempts else 0
    seconds = range(max([*stats.attempts, *stats.linked], default=0) - first + 1)
    per_second = [stats.attempts.get(first + s, 0) for s in seconds]
    rows: list[list[object]] = [
        ["SIGTERM to the old node's exit (s)", stopped - terminated, ""],
        ["SIGTERM to the new node answering (s)", up - terminated, ""],
        ["new node up to all linked (s)", all_linked - up, ""],
        ["new node up to all checked and Healthy (s)", all_healthy - up, f"<= {GOAL_RESTART_S}"],
        ["SIGTERM to all checked and Healthy (s)", all_healthy - terminated, ""],
        ["connection attempts, peak per second", max(per_second, default=0), ""],
        ["connection attempts, in all", sum(per_second), ""],
        *[[f"  attempts: {name}", count, ""] for name, count in stats.outcomes.most_common()],
        ["attempt to link, p50 / p95 of those that linked (s)", _quantiles(stats.connect_s), ""],
        ["capabilities calls answered (health checks)", stats.checks, f">= {len(pollers)}"],
        ["server CPU, up to all Healthy (s)", cpu_s, ""],
        ["server CPU per agent, up to all Healthy (ms)", cpu_s * 1000 / len(pollers), ""],
        ["this process's CPU (the simulated agents), same span (s)", own_cpu_s, ""],
        ["server RSS, old node before / new node after (MB)", f"{rss_old:.1f} / {rss_new:.1f}", ""],
        ["tasks still queued or running at the end", in_flight, ""],
        ["Health tasks stored (all runs, both nodes)", tasks["TotalResults"], ""],
    ]
    timeline = [[s, n, stats.linked.get(first + s, 0)] for s, n in enumerate(per_second)]
    return node, rows, timeline


def _quantiles(samples: list[float]) -> str:
    ordered = sorted(samples)
    if not ordered:
        return "-"
    p50, p95 = ordered[len(ordered) // 2], ordered[min(len(ordered) - 1, len(ordered) * 95 // 100)]
    return f"{p50:.2f} / {p95:.2f}"


def _down(poller: FakePoller) -> bool:
    return poller.link is None or poller.link.closed


# -- main ------------------------------------------------------------------------------------------------


async def main() -> None:
    raise_fd_limit()
    current = asyncio.current_task()
    assert current is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, current.cancel)
    print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at the start")
    root = Path(tempfile.mkdtemp(prefix="argonaut-bench-scale-"))
    nodes = Nodes(root, free_port())
    pollers: list[FakePoller] = []
    stats = PollerStats()
    try:
        started = time.perf_counter()
        certificates_root = root / "agents"
        certificates_root.mkdir()
        chunks = [range(n, min(AGENTS, n + 250)) for n in range(0, AGENTS, 250)]
        with concurrent.futures.ProcessPoolExecutor(os.cpu_count() or 2) as pool_of_processes:
            made = pool_of_processes.map(functools.partial(make_certificates, str(certificates_root)), chunks)
            certificates = [c for chunk in made for c in chunk]
        for n, certificate in enumerate(certificates):
            source = f"127.0.{1 + n % SOURCE_ADDRESSES}.1"
            pollers.append(FakePoller(certificate, subscription_id(), source, stats).prepare())
        certificates_s = time.perf_counter() - started
        gc.freeze()  # the simulator's millions of long-lived objects: no full collection walks them

        node = await nodes.start()
        client = RawClient(node.url, node.key)
        try:
            rss_idle = rss_mb(node.pid)
            pool = await new_pool(client, "Scale")
            started = time.perf_counter()
            await register_all(node, pool, pollers)
            register_s = time.perf_counter() - started
            rows = [
                [f"certificates made, EC P-256, {os.cpu_count()} processes (s)", certificates_s, ""],
                [f"registering {AGENTS} workers, {REGISTER_CONCURRENCY} connections (s)", register_s, ""],
                ["server RSS, idle before registering (MB)", rss_idle, ""],
            ]
            rows += await connect_all(client, node, pool, pollers)
            gc.freeze()  # and their links: a full collection here would stall ten thousand agents
            table(f"a. {AGENTS} polling agents connecting to one node", ["measure", "value", "goal"], rows)

            if "b" in SECTIONS:
                rows = await health_of_all(client, node, pool, pollers)
                table(
                    f"b. One Health task over {AGENTS} polling workers, POST to the stream's end",
                    ["measure", "value", "goal"],
                    rows,
                )
        finally:
            await client.close()

        if "c" not in SECTIONS:
            return
        node, rows, timeline = await restart(nodes, node, pool, pollers, stats)
        table(
            f"c. Node restart (SIGTERM, start on the same home): {AGENTS} agents reconnect with the real "
            "agent's jittered backoff",
            ["measure", "value", "goal"],
            rows,
        )
        columns = ["second", "attempts", "linked"]
        table("c. connection attempts and links made per second after the SIGTERM", columns, timeline)
    except BaseException:
        if nodes.log.exists():
            print(f"\nthe server's log, last lines:\n{nodes.log.read_text()[-4000:]}", file=sys.stderr)
        raise
    finally:
        await asyncio.gather(*(p.close() for p in pollers), return_exceptions=True)
        await nodes.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    asyncio.run(main())
