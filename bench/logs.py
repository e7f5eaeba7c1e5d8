"""Reading a big task log must not stall the node: ``/api`` latency and the node's memory meanwhile.

The log is made by inserting rows straight into the server's SQLite store (from this process, beside
the running server, which WAL allows): a 50 MB log written by a script would take minutes through the
runner and measure the write path, not the readers. One small script task runs first, so the log
belongs to a real, completed task with a real activity tree; the rows go into its script's activity,
every tenth one Verbose.

Issue 13's goal is a 1,000,000-line log streamed out at 50 MB/s or more: the last rows read it alone,
once through ``/stream`` and once through ``/raw``, after the readers below.

Then three ``curl`` processes read the log through ``/raw``, ``/details`` and ``/stream`` (twice each,
concurrently; curl, so the client's own CPU does not compete with the server for the Python GIL), while
this process asks ``GET /api`` every 10 ms and samples the server's VmRSS every 20 ms. Last, single
requests of ``details?tail=100`` and ``details?verbose=false&tail=100`` show what a bounded view costs.
"""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _http import RawClient  # noqa: E402
from _server import percentile, rss_mb, running_node, table  # noqa: E402

LINES = 1_000_000
LINE_TEXT = 99  # characters per line; with its newline, 100 bytes, so 100 MB in all
READS_PER_VIEW = 2
VIEWS = {"raw": "raw", "details": "details?verbose=true", "stream": "stream"}


def fill_log(db: Path, task_number: int, activity: str) -> int:
    """Insert LINES rows into the task's log; answers the bytes of text inserted (lines + newlines)."""
    filler = "x" * LINE_TEXT
    now = time.time()
    total = 0
    with sqlite3.connect(db, timeout=30) as conn:
        (stored,) = conn.execute("SELECT MAX(seq) FROM task_log WHERE task_id = ?", (task_number,)).fetchone()
        first_seq = stored + 1
        batch = []
        for n in range(LINES):
            text = f"line {n:07d} {filler}"[:LINE_TEXT]
            total += len(text) + 1
            category = "Verbose" if n % 10 == 9 else "Info"
            batch.append((task_number, first_seq + n, activity, now + n / 1e4, category, text))
            if len(batch) == 20_000:
                conn.executemany("INSERT INTO task_log VALUES (?, ?, ?, ?, ?, ?)", batch)
                batch = []
        conn.executemany("INSERT INTO task_log VALUES (?, ?, ?, ?, ?, ?)", batch)
        conn.execute("UPDATE tasks SET log_count = ? WHERE id = ?", (first_seq + LINES, task_number))
    return total


async def seed_task(client: RawClient) -> tuple[str, str]:
    """Run one small script; answers its id and the activity of its script run."""
    script = {"Name": "AdHocScript", "Arguments": {"ScriptBody": "echo seed", "Syntax": "Bash"}}
    status, task = await client.request("POST", "/api/Spaces-1/tasks", script)
    assert status == 201, (status, task)
    async for event in client.stream_lines(f"/api/tasks/{task['Id']}/stream"):
        if event["Type"] == "Task":
            assert event["Task"]["State"] == "Success", event
    status, details = await client.request("GET", f"/api/tasks/{task['Id']}/details?verbose=true")
    assert status == 200, details
    return str(task["Id"]), str(details["ActivityLogs"][0]["Children"][0]["Id"])


def start_reader(url: str, key: str, path: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        ["curl", "-sS", "--fail", "-w", "%{size_download} %{time_total}\n", "-H", f"X-Octopus-ApiKey: {key}"]
        + ["-o", "/dev/null", f"{url}{path}"] * READS_PER_VIEW,
        stdout=subprocess.PIPE,
        text=True,
    )


async def probe(client: RawClient, stop: asyncio.Event) -> list[float]:
    """``GET /api`` every 10 ms until ``stop``; answers each latency in ms."""
    latencies = []
    while not stop.is_set():
        started = time.perf_counter()
        status, _ = await client.request("GET", "/api")
        assert status == 200, status
        latencies.append((time.perf_counter() - started) * 1000)
        await asyncio.sleep(0.01)
    return latencies


async def sample_rss(pid: int, stop: asyncio.Event) -> float:
    peak = 0.0
    while not stop.is_set():
        peak = max(peak, rss_mb(pid))
        await asyncio.sleep(0.02)
    return peak


async def timed_get(client: RawClient, path: str) -> tuple[float, int]:
    started = time.perf_counter()
    status, body = await client.request("GET", path)
    assert status == 200, (status, body)
    elements = sum(len(child["LogElements"]) for child in body["ActivityLogs"][0]["Children"])
    return (time.perf_counter() - started) * 1000, elements


async def main() -> None:
    with running_node() as node:
        client = RawClient(node.url, node.key)
        task_id, activity = await seed_task(client)
        size = fill_log(node.home / "argonaut.db", int(task_id.split("-")[1]), activity)
        idle = [await timed_api(client) for _ in range(100)]
        before = rss_mb(node.pid)

        stop = asyncio.Event()
        probe_client = RawClient(node.url, node.key)
        probing = asyncio.create_task(probe(probe_client, stop))
        sampling = asyncio.create_task(sample_rss(node.pid, stop))
        readers = {
            view: start_reader(node.url, node.key, f"/api/tasks/{task_id}/{path}")
            for view, path in VIEWS.items()
        }
        outputs = {}
        for view, proc in readers.items():
            out, _ = await asyncio.to_thread(proc.communicate)
            assert proc.returncode == 0, (view, proc.returncode)
            outputs[view] = [line.split() for line in out.splitlines()]
        stop.set()
        busy, peak = await probing, await sampling
        await probe_client.close()

        alone = {}
        for view in ("stream", "raw"):
            reader = subprocess.run(
                [
                    "curl",
                    "-sS",
                    "--fail",
                    "-w",
                    "%{size_download} %{time_total}",
                    "-H",
                    f"X-Octopus-ApiKey: {node.key}",
                ]
                + ["-o", "/dev/null", f"{node.url}/api/tasks/{task_id}/{view}"],
                capture_output=True,
                text=True,
                check=True,
            )
            got, took = reader.stdout.split()
            alone[view] = (float(got) / 1e6, float(took))
        tail_ms, tail_n = await timed_get(client, f"/api/tasks/{task_id}/details?verbose=true&tail=100")
        quiet_ms, quiet_n = await timed_get(client, f"/api/tasks/{task_id}/details?verbose=false&tail=100")
        await client.close()

    rows: list[list[object]] = [
        ["log size (MB, lines)", f"{size / 1e6:.1f} MB, {LINES:,} lines", ""],
        ["GET /api idle p50 / p99 (ms)", f"{percentile(idle, 50):.2f} / {percentile(idle, 99):.2f}", ""],
    ]
    for view, reads in outputs.items():
        mb = sum(float(r[0]) for r in reads) / 1e6
        seconds = sum(float(r[1]) for r in reads)
        rows.append(
            [
                f"/{VIEWS[view]}: {len(reads)} reads",
                f"{mb:.1f} MB in {seconds:.1f} s, {mb / seconds:.1f} MB/s",
                "",
            ]
        )
    for view, (mb, seconds) in alone.items():
        rows.append(
            [f"/{view} read alone", f"{mb:.1f} MB in {seconds:.2f} s, {mb / seconds:.1f} MB/s", ">= 50 MB/s"]
        )
    rows += [
        ["GET /api while reading: requests", len(busy), ""],
        ["GET /api while reading p50 (ms)", percentile(busy, 50), ""],
        ["GET /api while reading p95 (ms)", percentile(busy, 95), ""],
        ["GET /api while reading p99 (ms)", percentile(busy, 99), "<= 100"],
        ["GET /api while reading max (ms)", max(busy), ""],
        ["server RSS before reading (MB)", before, ""],
        ["server RSS peak while reading (MB)", peak, ""],
        ["server RSS growth (MB)", peak - before, "<= 50"],
        [f"details?tail=100 ({tail_n} elements, ms)", tail_ms, ""],
        [f"details?verbose=false&tail=100 ({quiet_n} elements, ms)", quiet_ms, ""],
    ]
    table(
        f"A {size / 1e6:.0f} MB task log ({LINES:,} lines) read by 3 clients at once (/raw, /details, "
        "/stream), /api probed meanwhile; then read alone",
        ["measure", "value", "goal"],
        rows,
    )


async def timed_api(client: RawClient) -> float:
    started = time.perf_counter()
    status, _ = await client.request("GET", "/api")
    assert status == 200
    return (time.perf_counter() - started) * 1000


if __name__ == "__main__":
    asyncio.run(main())
