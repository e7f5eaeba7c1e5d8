"""How much time the runner adds to starting a script, with pipes (agents) and detached (built-in worker).

The server aims at 10 ms from API POST to a finished `echo hello`, and bash alone takes about a
millisecond to start, so the runner's share has to stay well under a millisecond. Compares
``run_script(echo hello)`` with a bare ``create_subprocess_exec`` of ``bash -c 'echo hello'`` that reads
its output, 100 runs each after a warm-up. The detached runner (the built-in worker's, whose scripts
outlive the server: output spooled to files, followed through inotify) is measured start to release.
The work_root's file system is part of the result: on a disk file system creating and removing the
run's folder and files dominates the runner's cost.

    .venv/bin/python bench/runner_overhead.py [--runs N] [--uvloop] [--work-root DIR ...]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import secrets
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from argonaut.runner import LogEntry, ScriptRequest, run_script
from argonaut.runner.detached import DetachedScripts


async def bare_bash() -> None:
    process = await asyncio.create_subprocess_exec(
        "bash",
        "-c",
        "echo hello",
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        start_new_session=True,
    )
    stdout, _ = await process.communicate()
    assert stdout == b"hello\n"


def runner(work_root: Path) -> Callable[[], Awaitable[None]]:
    request = ScriptRequest(script_body="echo hello", syntax="Bash", work_root=work_root)

    async def run() -> None:
        lines: list[LogEntry] = []
        result = await run_script(request, lines.append)
        assert result.exit_code == 0 and [line.text for line in lines] == ["hello"]

    return run


def detached(work_root: Path) -> Callable[[], Awaitable[None]]:
    request = ScriptRequest(script_body="echo hello", syntax="Bash", work_root=work_root)
    scripts = DetachedScripts(work_root)

    async def run() -> None:
        ticket = secrets.token_hex(16)
        lines: list[LogEntry] = []
        await scripts.start(ticket, request)
        result = await scripts.follow(ticket, request, None, lines.append)
        await scripts.release(ticket)
        assert result.exit_code == 0 and [line.text for line in lines] == ["hello"]

    return run


async def measure(actions: list[Callable[[], Awaitable[None]]], runs: int) -> list[list[float]]:
    """Alternate the actions run by run, so that load from other processes hits them alike."""
    for _ in range(10):
        for action in actions:
            await action()
    timings: list[list[float]] = [[] for _ in actions]
    for _ in range(runs):
        for action, samples in zip(actions, timings, strict=True):
            started = time.perf_counter()
            await action()
            samples.append((time.perf_counter() - started) * 1000)
    return timings


def filesystem(path: str) -> str:
    """The type of the file system holding ``path``, as /proc/mounts names it."""
    best = ("", "?")
    with open("/proc/mounts") as mounts:
        for line in mounts:
            _, mount_point, fs_type, *_ = line.split()
            if path.startswith(mount_point) and len(mount_point) > len(best[0]):
                best = (mount_point, fs_type)
    return best[1]


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


async def main(runs: int, work_root_parents: list[str]) -> None:
    with contextlib.ExitStack() as stack:
        cases: list[tuple[str, Callable[[], Awaitable[None]]]] = [
            ("bare create_subprocess_exec(bash)", bare_bash)
        ]
        for parent in work_root_parents:
            work_root = stack.enter_context(tempfile.TemporaryDirectory(dir=parent))
            cases.append((f"run_script, work_root on {filesystem(work_root)}", runner(Path(work_root))))
            cases.append((f"detached, work_root on {filesystem(work_root)}", detached(Path(work_root))))
        timings = await measure([action for _, action in cases], runs)
    bare_p50 = percentile(timings[0], 0.5)
    print(f"{runs} runs each, interleaved")
    print(f"{'case':<36}{'p50 ms':>9}{'p95 ms':>9}{'mean ms':>9}{'p50 overhead':>14}")
    for (name, _), samples in zip(cases, timings, strict=True):
        p50, p95, mean = percentile(samples, 0.5), percentile(samples, 0.95), statistics.fmean(samples)
        print(f"{name:<36}{p50:>9.3f}{p95:>9.3f}{mean:>9.3f}{p50 - bare_p50:>14.3f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--uvloop", action="store_true", help="run on uvloop, as the server does")
    parser.add_argument(
        "--work-root",
        action="append",
        help="parent folder for a work_root; repeatable (default: the temp folder, and /dev/shm if present)",
    )
    arguments = parser.parse_args()
    parents = arguments.work_root or [tempfile.gettempdir()] + (
        ["/dev/shm"] if os.path.isdir("/dev/shm") else []
    )
    if arguments.uvloop:
        import uvloop

        uvloop.run(main(arguments.runs, parents))
    else:
        asyncio.run(main(arguments.runs, parents))
