"""`make bench PROFILE=1`: a sampling profile of every server a benchmark starts, and where its time went.

py-spy samples the running server from outside (no code change, no tracing overhead in the process), so the
profile shows the benchmark's real mix of work. Each server gets ``bench/profiles/<benchmark>-<n>.txt`` in
the collapsed-stack format that speedscope and flamegraph.pl read, and a table of where its samples fell:
by layer (the innermost frame of our code or a library we chose; standard-library frames count for their
caller, since ``json.dumps`` inside a route is the route's cost) and by the functions that hold the most
samples themselves.
"""

from __future__ import annotations

import collections
import os
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

PROFILES = Path(__file__).parent / "profiles"
RATE_HZ = 250

# The first matching path fragment names the layer; checked innermost frame first.
LAYERS: tuple[tuple[str, str], ...] = (
    ("argonaut/runner/", "runner"),
    ("argonaut/api/", "api routes"),
    ("argonaut/portal/", "api routes"),
    ("argonaut/store/", "store (our code)"),
    ("argonaut/orchestrator/", "orchestrator"),
    ("argonaut/comms/", "comms"),
    ("argonaut/protocol/", "comms"),
    ("argonaut/service/", "service"),
    ("argonaut/server/", "server"),
    ("argonaut/domain/", "domain"),
    ("argonaut/", "argonaut (other)"),
    ("sqlalchemy/", "database driver"),
    ("aiosqlite/", "database driver"),
    ("asyncpg/", "database driver"),
    ("fastapi/", "http framework"),
    ("starlette/", "http framework"),
    ("uvicorn/", "http framework"),
    ("httptools/", "http framework"),
    ("h11/", "http framework"),
    ("pydantic", "pydantic"),
    ("site-packages/", "other libraries"),
)
FRAME = re.compile(r"^(?P<func>.*) \((?P<file>[^:()]*)(?::\d+)?\)$")
_started = collections.Counter[str]()


def enabled() -> bool:
    return os.environ.get("PROFILE", "") not in ("", "0")


def _layer(stack: list[str]) -> str:
    for frame in reversed(stack):
        match = FRAME.match(frame)
        path = match["file"] if match else frame
        for fragment, layer in LAYERS:
            if fragment in path:
                return layer
    return "event loop and standard library"


def summarize(path: Path, top: int = 15) -> list[str]:
    """The report lines for one collapsed-stack file."""
    layers: collections.Counter[str] = collections.Counter()
    own: collections.Counter[str] = collections.Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack_text, _, count_text = line.rpartition(" ")
        if not stack_text or not count_text.isdigit():
            continue
        count = int(count_text)
        stack = stack_text.split(";")
        total += count
        layers[_layer(stack)] += count
        leaf = FRAME.match(stack[-1])
        own[f"{leaf['func']} ({Path(leaf['file']).name})" if leaf else stack[-1]] += count
    if not total:
        return [f"profile {path}: no samples"]
    lines = [f"profile {path} ({total} samples at {RATE_HZ} Hz)", "  by layer:"]
    lines += [f"    {100 * n / total:5.1f}%  {name}" for name, n in layers.most_common()]
    lines.append(f"  top {top} functions by own samples:")
    lines += [f"    {100 * n / total:5.1f}%  {name}" for name, n in own.most_common(top)]
    return lines


@contextmanager
def profiled(pid: int) -> Iterator[None]:
    """Sample ``pid`` with py-spy while the block runs, when PROFILE is set; otherwise do nothing."""
    if not enabled():
        yield
        return
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    name = Path(sys.argv[0]).stem
    _started[name] += 1
    PROFILES.mkdir(exist_ok=True)
    out = PROFILES / f"{name}-{_started[name]}.txt"
    proc = subprocess.Popen(
        [spy, "record", "--pid", str(pid), "--rate", str(RATE_HZ), "--nonblocking", "--format", "raw",
         "--output", str(out)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        yield
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            _, err = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, err = proc.communicate()
        if out.exists():
            print("\n".join(summarize(out)), flush=True)
        else:
            print(f"py-spy wrote no profile for pid {pid}: {err.strip()[-500:]}", flush=True)
