"""Ad-hoc script latency and throughput on the built-in worker, beside a bare bash spawn.

Latency: POST /tasks to the finished task as a client sees it (the stream's final line), 50 sequential
``echo hello`` tasks. Throughput: 200 tasks submitted at once to a node with ``--task-cap 20``, from the
first POST until the last task is seen finished.
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _http import RawClient  # noqa: E402
from _server import cpu_seconds, percentile, rss_mb, running_server, table  # noqa: E402

TARGETS = {
    # The default pool with no worker in it resolves to the built-in worker (pool and lease lookups).
    "default pool": {"TargetType": "WorkerPools"},
    # Straight to the built-in worker.
    "OctopusServer": {"TargetType": "OctopusServer"},
}


def body(target: str) -> dict[str, object]:
    return {
        "Name": "AdHocScript",
        "Arguments": {"ScriptBody": "echo hello", "Syntax": "Bash", **TARGETS[target]},
    }


async def run_one(client: RawClient, target: str) -> tuple[float, str]:
    started = time.perf_counter()
    status, task = await client.request("POST", "/api/Spaces-1/tasks", body(target))
    assert status == 201, (status, task)
    state = "?"
    async for event in client.stream_lines(f"/api/tasks/{task['Id']}/stream"):
        if event["Type"] == "Task":
            state = event["Task"]["State"]
    return (time.perf_counter() - started) * 1000, state


async def bare_spawn() -> float:
    started = time.perf_counter()
    proc = await asyncio.create_subprocess_exec("bash", "-c", "echo hello", stdout=asyncio.subprocess.PIPE)
    await proc.communicate()
    return (time.perf_counter() - started) * 1000


async def latency(url: str, key: str, target: str) -> list[float]:
    client = RawClient(url, key)
    for _ in range(5):
        await run_one(client, target)  # warm up the connection and code paths
    results = [await run_one(client, target) for _ in range(50)]
    await client.close()
    assert all(state == "Success" for _, state in results), results
    return [ms for ms, _ in results]


async def throughput(url: str, key: str, count: int, target: str) -> tuple[float, int]:
    clients = [RawClient(url, key) for _ in range(count)]
    started = time.perf_counter()
    results = await asyncio.gather(*(run_one(c, target) for c in clients))
    elapsed = time.perf_counter() - started
    for c in clients:
        await c.close()
    return count / elapsed, sum(1 for _, state in results if state == "Success")


async def main() -> None:
    spawns = [await bare_spawn() for _ in range(50)]
    bare = percentile(spawns, 50)
    rows: list[list[object]] = [["bare bash spawn p50 (ms)", bare, "", ""]]
    measured: dict[str, tuple[list[float], float, int, float]] = {}
    with running_server("--task-cap", "20") as (url, key, pid):
        await asyncio.sleep(2)  # let start-up work (first health checks, caches) settle
        idle = rss_mb(pid)  # issue 13, goal 4: idle memory <= 150 MB
        await throughput(
            url, key, 200, "default pool"
        )  # warm-up: the first burst of 200 connections is not steady state
        for target in TARGETS:
            lat = await latency(url, key, target)
            before = cpu_seconds(pid)
            rate, ok = await throughput(url, key, 200, target)
            measured[target] = (lat, rate, ok, (cpu_seconds(pid) - before) / 200 * 1000)
        memory = rss_mb(pid)
    pool, server = measured["default pool"], measured["OctopusServer"]
    rows += [
        ["latency p50 (ms)", percentile(pool[0], 50), percentile(server[0], 50), "<= 5"],
        ["latency p95 (ms)", percentile(pool[0], 95), percentile(server[0], 95), ""],
        ["ratio p50 / bare spawn", percentile(pool[0], 50) / bare, percentile(server[0], 50) / bare, ""],
        ["throughput, 200 at once, cap 20 (tasks/s)", pool[1], server[1], ">= 400"],
        ["tasks that succeeded", f"{pool[2]}/200", f"{server[2]}/200", "200/200"],
        ["server CPU per task (ms)", pool[3], server[3], "<= 2"],
        ["server RSS idle, before any task (MB)", idle, idle, "<= 150"],
        ["server RSS after the runs (MB)", memory, memory, ""],
    ]
    table(
        "Ad-hoc `echo hello` on the built-in worker: POST to completion as the client sees it",
        ["measure", "default pool", "OctopusServer", "goal"],
        rows,
    )


if __name__ == "__main__":
    asyncio.run(main())
