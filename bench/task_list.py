"""Task list pages and a big log with 100,000 tasks stored (issue 13, goal 3).

The task list is what people (and the portal) open most, and stores grow without end: its pages must
not slow down as tasks pile up. A real server runs one script; its row and log are then copied 100,000
times into the node's SQLite file (the same helper as bench/portal.py), and the node is started again
on that store. Measured as a client sees it, over keep-alive HTTP: the first page, a page deep in the
list, a state filter, one task, and a task's details; 200 requests each after 20 warm-ups.

    .venv/bin/python bench/task_list.py
"""

from __future__ import annotations

import secrets
import shutil
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))
import portal  # noqa: E402
from _server import percentile, rss_mb, running_node, table  # noqa: E402

TASKS = 100_000
RUNS, WARMUPS = 200, 20
GOAL_MS = 20.0
SPACE = "Spaces-1"


def timed(client: httpx.Client, path: str) -> list[float]:
    for _ in range(WARMUPS):
        client.get(path).raise_for_status()
    took = []
    for _ in range(RUNS):
        start = time.perf_counter()
        client.get(path).raise_for_status()
        took.append((time.perf_counter() - start) * 1000)
    return took


def main() -> None:
    portal.TASKS = TASKS
    key = "API-BENCH" + secrets.token_hex(14).upper()
    home = Path(tempfile.mkdtemp(prefix="argonaut-bench-tasks-"))
    try:
        with running_node("--comms-port", "0", home=home, key=key) as node:
            seeded = portal.seed(node.url, key)
        t0 = time.monotonic()
        first, last = portal.copy_tasks(home / "argonaut.db", seeded)
        print(f"stored {TASKS} finished tasks in {time.monotonic() - t0:.1f} s")
        with running_node("--comms-port", "0", home=home, key=key) as node:
            middle = (first + last) // 2
            paths = {
                "first page (take 30)": f"/api/{SPACE}/tasks?take=30",
                "page 1,000 (skip 30,000)": f"/api/{SPACE}/tasks?take=30&skip=30000",
                "state filter": f"/api/{SPACE}/tasks?take=30&states=Success",
                "type filter": f"/api/{SPACE}/tasks?take=30&name=AdHocScript",
                "one task": f"/api/tasks/ServerTasks-{middle}",
                "its details": f"/api/tasks/ServerTasks-{middle}/details",
            }
            headers = {"X-Octopus-ApiKey": key}
            rows = []
            with httpx.Client(base_url=node.url, headers=headers, timeout=60) as client:
                for name, path in paths.items():
                    took = timed(client, path)
                    p50 = percentile(took, 50)
                    verdict = "ok" if p50 <= GOAL_MS else "SLOW"
                    rows.append(
                        [name, f"{p50:.1f}", f"{percentile(took, 95):.1f}", f"{GOAL_MS:.0f}", verdict]
                    )
            rss = rss_mb(node.pid)
        table(
            f"Task list with {TASKS:,} tasks stored, {RUNS} requests each (httpx, keep-alive)",
            ["request", "p50 ms", "p95 ms", "goal p50 ms", ""],
            rows,
        )
        print(f"server RSS after the runs: {rss:.0f} MB; database {db_mb(home):.0f} MB")
    finally:
        shutil.rmtree(home, ignore_errors=True)


def db_mb(home: Path) -> float:
    return sum(p.stat().st_size for p in home.glob("argonaut.db*")) / 2**20


if __name__ == "__main__":
    main()
