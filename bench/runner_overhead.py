"""How much time the runner adds to starting a script.

The server aims at 10 ms from API POST to a finished `echo hello`, and bash alone takes about a
millisecond to start, so the runner's share has to stay well under a millisecond. Compares
``run_script(echo hello)`` with a bare ``create_subprocess_exec`` of ``bash -c 'echo hello'`` that reads
its output, 100 runs each after a warm-up.

    .venv/bin/python bench/runner_overhead.py [--runs N] [--uvloop]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from argonaut.runner import LogLine, ScriptRequest, run_script


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
        lines: list[LogLine] = []
        result = await run_script(request, lines.append)
        assert result.exit_code == 0 and [line.text for line in lines] == ["hello"]

    return run


async def measure(action: Callable[[], Awaitable[None]], runs: int) -> list[float]:
    for _ in range(10):
        await action()
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        await action()
        timings.append((time.perf_counter() - started) * 1000)
    return timings


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


async def main(runs: int) -> None:
    with tempfile.TemporaryDirectory() as work_root:
        # Interleave the two so that background noise hits both alike.
        bare: list[float] = []
        full: list[float] = []
        run = runner(Path(work_root))
        for _ in range(5):
            bare += await measure(bare_bash, runs // 5)
            full += await measure(run, runs // 5)
    print(f"{'case':<32}{'p50 ms':>10}{'p95 ms':>10}{'mean ms':>10}")
    for name, timings in (("bare create_subprocess_exec bash", bare), ("run_script(echo hello)", full)):
        print(f"{name:<32}{percentile(timings, 0.5):>10.3f}{percentile(timings, 0.95):>10.3f}", end="")
        print(f"{statistics.fmean(timings):>10.3f}")
    print(f"{'overhead (p50 difference)':<32}{percentile(full, 0.5) - percentile(bare, 0.5):>10.3f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--uvloop", action="store_true", help="run on uvloop, as the server does")
    arguments = parser.parse_args()
    if arguments.uvloop:
        import uvloop

        uvloop.run(main(arguments.runs))
    else:
        asyncio.run(main(arguments.runs))
