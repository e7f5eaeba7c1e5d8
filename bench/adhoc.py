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

BODY = {
    "Name": "AdHocScript",
    "Arguments": {"ScriptBody": "echo hello", "Syntax": "Bash", "TargetType": "OctopusServer"},
}


async def run_one(client: RawClient) -> tuple[float, str]:
    started = time.perf_counter()
    status, task = await client.request("POST", "/api/Spaces-1/tasks", BODY)
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


async def latency(url: str, key: str) -> list[float]:
    client = RawClient(url, key)
    for _ in range(5):
        await run_one(client)  # warm up the connection and code paths
    results = [await run_one(client) for _ in range(50)]
    await client.close()
    assert all(state == "Success" for _, state in results), results
    return [ms for ms, _ in results]


async def throughput(url: str, key: str, count: int) -> tuple[float, int]:
    clients = [RawClient(url, key) for _ in range(count)]
    started = time.perf_counter()
    results = await asyncio.gather(*(run_one(c) for c in clients))
    elapsed = time.perf_counter() - started
    for c in clients:
        await c.close()
    return count / elapsed, sum(1 for _, state in results if state == "Success")


async def main() -> None:
    spawns = [await bare_spawn() for _ in range(50)]
    with running_server("--task-cap", "20") as (url, key, pid):
        lat = await latency(url, key)
        before = cpu_seconds(pid)
        rate, ok = await throughput(url, key, 200)
        cpu_per_task_ms = (cpu_seconds(pid) - before) / 200 * 1000
        memory = rss_mb(pid)
    p50, p95, bare = percentile(lat, 50), percentile(lat, 95), percentile(spawns, 50)
    table(
        "Ad-hoc `echo hello` on the built-in worker (POST to completion seen by the client)",
        ["measure", "value", "goal"],
        [
            ["latency p50 (ms)", p50, "<= 10"],
            ["latency p95 (ms)", p95, ""],
            ["bare bash spawn p50 (ms)", bare, ""],
            ["ratio p50 / bare spawn", p50 / bare, ""],
            ["throughput, 200 at once, cap 20 (tasks/s)", rate, ">= 200"],
            ["tasks that succeeded", f"{ok}/200", "200/200"],
            ["server CPU per task (ms)", cpu_per_task_ms, "<= 5 for 200/s"],
            ["server RSS after run (MB)", memory, ""],
        ],
    )


if __name__ == "__main__":
    asyncio.run(main())
