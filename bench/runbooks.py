"""A one-step runbook run beside the same ad-hoc script, on the built-in worker.

Runbooks are what operations teams run most, so a run must cost little more than the script it runs.
Both go through the same engine; the runbook run adds what a run is (its row, its snapshot's frozen
process and variables read back, the variables of the run, the stored step cursor). Measured as a
client sees it: ``POST /runbookRuns`` (or ``POST /tasks``) to the stream's final line, 50 runs of each
after 5 warm-ups, alternating, with the server's CPU per run. Goal (issue 10): the runbook run's p50 at
most 1.5x the ad-hoc script's.

    .venv/bin/python bench/runbooks.py
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _agents import SPACE, api, follow  # noqa: E402
from _http import RawClient  # noqa: E402
from _server import cpu_seconds, percentile, rss_mb, running_node, table  # noqa: E402

RUNS, WARMUPS = 50, 5
SCRIPT = "echo hello"


async def prepare(client: RawClient) -> dict[str, str]:
    """An environment, a project, a runbook of one step on the built-in worker, published."""
    environment = await api(client, "POST", f"{SPACE}/environments", {"Name": "Bench"}, 201)
    project = await api(client, "POST", f"{SPACE}/projects", {"Name": "Bench"}, 201)
    runbook = await api(
        client, "POST", f"{SPACE}/runbooks", {"Name": "Echo", "ProjectId": project["Id"]}, 201
    )
    process_url = f"{SPACE}/runbookProcesses/{runbook['RunbookProcessId']}"
    process = await api(client, "GET", process_url)
    process["Steps"] = [
        {
            "Name": "Echo",
            "Actions": [
                {
                    "Name": "Echo",
                    "ActionType": "Octopus.Script",
                    "Properties": {
                        "Octopus.Action.RunOnServer": "true",
                        "Octopus.Action.Script.ScriptBody": SCRIPT,
                    },
                }
            ],
        }
    ]
    await api(client, "PUT", process_url, process)
    snapshot = await api(
        client,
        "POST",
        f"{SPACE}/runbookSnapshots?publish=true",
        {"ProjectId": project["Id"], "RunbookId": runbook["Id"], "Name": "bench"},
        201,
    )
    return {
        "RunbookId": runbook["Id"],
        "RunbookSnapshotId": snapshot["Id"],
        "EnvironmentId": environment["Id"],
    }


async def finish(client: RawClient, task_id: str) -> str:
    final = await follow(client, task_id)
    return str(final["State"]) if final else "?"


async def runbook_run(client: RawClient, run: dict[str, str]) -> tuple[float, str]:
    started = time.perf_counter()
    created = await api(client, "POST", f"{SPACE}/runbookRuns", run, 201)
    state = await finish(client, created["TaskId"])
    return (time.perf_counter() - started) * 1000, state


async def adhoc(client: RawClient) -> tuple[float, str]:
    started = time.perf_counter()
    body = {"Name": "AdHocScript", "Arguments": {"ScriptBody": SCRIPT, "Syntax": "Bash"}}
    task = await api(client, "POST", f"{SPACE}/tasks", body, 201)
    state = await finish(client, task["Id"])
    return (time.perf_counter() - started) * 1000, state


async def main() -> None:
    print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at the start")
    # Runbook retention keeps 100 runs per environment by default; deleting the oldest is part of the
    # cost of a run, as on a busy server.
    with running_node("--task-cap", "20") as node:
        client = RawClient(node.url, node.key)
        try:
            run = await prepare(client)
            for _ in range(WARMUPS):
                await runbook_run(client, run)
                await adhoc(client)
            timings: dict[str, list[float]] = {"runbook run": [], "ad-hoc script": []}
            cpu: dict[str, float] = {"runbook run": 0.0, "ad-hoc script": 0.0}
            for _ in range(RUNS):
                for name in ("runbook run", "ad-hoc script"):
                    before = cpu_seconds(node.pid)
                    ms, state = await (runbook_run(client, run) if name == "runbook run" else adhoc(client))
                    cpu[name] += cpu_seconds(node.pid) - before
                    assert state == "Success", (name, state)
                    timings[name].append(ms)
            rss = rss_mb(node.pid)
        finally:
            await client.close()
    rows: list[list[object]] = []
    for name, values in timings.items():
        rows.append(
            [
                name,
                f"{percentile(values, 50):.2f}",
                f"{percentile(values, 95):.2f}",
                f"{cpu[name] / RUNS * 1000:.2f}",
                "",
            ]
        )
    ratio = percentile(timings["runbook run"], 50) / percentile(timings["ad-hoc script"], 50)
    rows.append(["runbook run / ad-hoc, p50", f"{ratio:.2f}x", "", "", "<= 1.5x"])
    table(
        f"A one-step runbook run beside the same ad-hoc script (`{SCRIPT}`), {RUNS} runs each",
        ["run", "p50 (ms)", "p95 (ms)", "server CPU per run (ms)", "goal"],
        rows,
    )
    table("Server", ["measure", "value"], [["RSS at the end (MB)", f"{rss:.2f}"]])


if __name__ == "__main__":
    asyncio.run(main())
