"""Starting a real server for a benchmark, and printing result tables."""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import statistics
import string
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from _profile import profiled
from argonaut.runner.spawner import helpers_of


def percentile(values: Sequence[float], pct: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def rss_mb(pid: int) -> float:
    """Resident memory of the server, plus what its helper processes hold privately (their shared pages,
    the interpreter's code, are the server's own already)."""
    total = 0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            total += int(line.split()[1])
    for helper in helpers_of(pid):
        for line in Path(f"/proc/{helper}/smaps_rollup").read_text().splitlines():
            if line.startswith(("Private_Clean:", "Private_Dirty:")):
                total += int(line.split()[1])
    return total / 1024 if total else float("nan")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the server and its helper processes have used so far."""
    total = 0
    for process in [pid, *helpers_of(pid)]:
        fields = Path(f"/proc/{process}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def table(title: str, header: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    cells = [list(map(str, header))] + [
        [f"{c:.2f}" if isinstance(c, float) else str(c) for c in row] for row in rows
    ]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    print(f"\n{title}")
    line = "+".join("-" * (w + 2) for w in widths)
    print(f"+{line}+")
    for n, row in enumerate(cells):
        print("| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |")
        if n == 0:
            print(f"+{line}+")
    print(f"+{line}+")


@dataclass(frozen=True)
class RunningServer:
    url: str  # http://127.0.0.1:PORT
    key: str  # the admin API key
    pid: int
    comms_port: int  # the polling agents' TLS port; 0 when the server did not print one
    home: Path


@contextmanager
def running_node(
    *args: str, log: Path | None = None, home: Path | None = None, key: str | None = None
) -> Iterator[RunningServer]:
    """A server process on free ports with its own temporary home; stopped and removed afterwards.

    Its stdout is drained on a thread once it is up, so a chatty server never blocks on a full pipe; its
    log (stderr) goes to ``log`` when given, else nowhere. With ``home`` (and the ``key`` it was first
    started with) the server starts on that home and leaves it in place, so a benchmark can restart a
    node on the same state.
    """
    key = key or "API-" + "".join(secrets.choice(string.ascii_uppercase + string.digits) for _ in range(28))
    keep_home = home is not None
    home = home or Path(tempfile.mkdtemp(prefix="argonaut-bench-"))
    exe = Path(sys.executable).with_name("argonaut")
    # BENCH_SERVER_LOG=<file>: every server's log appended there, to see why a task failed.
    log = Path(os.environ["BENCH_SERVER_LOG"]) if os.environ.get("BENCH_SERVER_LOG") else log
    with open(log or os.devnull, "ab") as stderr:
        proc = subprocess.Popen(
            [str(exe), "server", "--home", str(home), "--listen", "127.0.0.1:0", *args],
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            env={**os.environ, "ARGONAUT_ADMIN_API_KEY": key},
        )
    try:
        assert proc.stdout is not None
        url, comms_port = "", 0
        for line in proc.stdout:
            if line.startswith("Comms port for polling agents: "):
                comms_port = int(line.rsplit(":", 1)[1])
            if line.startswith("Listening on "):
                url = line.split()[-1]
                break
        if not url:
            raise SystemExit("the server did not start")
        threading.Thread(target=proc.stdout.read, daemon=True).start()
        with profiled(proc.pid):
            yield RunningServer(url, key, proc.pid, comms_port, home)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
        if not keep_home:
            shutil.rmtree(home, ignore_errors=True)


@contextmanager
def running_server(*args: str) -> Iterator[tuple[str, str, int]]:
    with running_node(*args) as node:
        yield node.url, node.key, node.pid
