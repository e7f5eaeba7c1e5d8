"""The built-in worker's detached scripts: they outlive whoever started them, and anyone can follow them.

A second ``DetachedScripts`` over the same folder stands for the node that starts after the first one
died: it is not the script's parent, so it must find the process and its exit code the way a restarted
node does.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
from pathlib import Path

from argonaut.runner import LogEntry, ScriptRequest
from argonaut.runner.detached import DetachedScripts
from conftest import new_spawn_helper, spawn_helpers


def request(tmp_path: Path, body: str, **fields: object) -> ScriptRequest:
    return ScriptRequest(script_body=body, syntax="Bash", work_root=tmp_path, **fields)  # type: ignore[arg-type]


class Seen:
    def __init__(self) -> None:
        self.lines: list[LogEntry] = []

    def __call__(self, line: LogEntry) -> None:
        self.lines.append(line)

    @property
    def cursors(self) -> list[object]:
        return [line.cursor for line in self.lines]

    @property
    def texts(self) -> list[str]:
        return [line.text for line in self.lines]


async def test_lines_categories_and_exit_code_with_no_marker_shown(tmp_path: Path) -> None:
    scripts = DetachedScripts(tmp_path)
    ticket = secrets.token_hex(8)
    job = request(tmp_path, "echo one; echo two >&2; printf 'no newline'; exit 4")
    await scripts.start(ticket, job)
    seen = Seen()
    result = await scripts.follow(ticket, job, None, seen)
    assert result.exit_code == 4 and result.failure_message == "The script exited with code 4"
    assert sorted(seen.texts) == ["no newline", "one", "two"]  # across stdout and stderr, order is open
    assert [line.category for line in seen.lines if line.text == "two"] == ["Error"]
    assert not any("argonaut-" in text for text in seen.texts)
    await scripts.release(ticket)
    assert not (tmp_path / ticket).exists()


async def test_another_follower_picks_up_at_the_cursor_with_what_the_script_said_before(
    tmp_path: Path,
) -> None:
    first = DetachedScripts(tmp_path)
    ticket = secrets.token_hex(8)
    go_on = tmp_path / "go-on"
    body = (
        "set_octopusvariable Token s3cret -sensitive; set_octopusvariable Colour blue; echo before; "
        f"while [ ! -e {go_on} ]; do sleep 0.02; done; echo after s3cret; exit 3"
    )
    job = request(tmp_path, body)
    await first.start(ticket, job)
    seen = Seen()
    following = asyncio.ensure_future(first.follow(ticket, job, None, seen))
    for _ in range(500):
        if "before" in seen.texts:
            break
        await asyncio.sleep(0.01)
    following.cancel()  # the node that started it stops watching (as a killed node would)
    cursor = seen.cursors[seen.texts.index("before")]

    second = DetachedScripts(tmp_path)  # the next node: not the script's parent
    go_on.touch()
    later = Seen()
    result = await second.follow(ticket, job, cursor, later)
    assert later.texts == ["after ********"]  # nothing repeated; the secret set before is still masked
    assert result.exit_code == 3  # read from the wrapper's marker, as no wait status is ours to reap
    assert {v.name: v.value for v in result.output_variables} == {"Token": "s3cret", "Colour": "blue"}
    await second.release(ticket)


async def _started_alone(tmp_path: Path, ticket: str, job: ScriptRequest) -> int:
    """Start a script from a node that then stops watching; answers the script's pid once it runs."""
    await DetachedScripts(tmp_path).start(ticket, job)
    out = tmp_path / ticket / "out"
    for _ in range(500):
        if "started" in out.read_text():
            break
        await asyncio.sleep(0.01)
    return int(out.read_text().split()[1])


async def test_a_script_killed_while_nobody_watched_is_reported_killed(tmp_path: Path) -> None:
    ticket = secrets.token_hex(8)
    job = request(tmp_path, "echo started; sleep 30")
    pid = await _started_alone(tmp_path, ticket, job)
    os.killpg(pid, signal.SIGKILL)
    result = await DetachedScripts(tmp_path).follow(ticket, job, None, Seen())
    # Its parent (the first node's spawn helper) reaped it and wrote how it ended: killed by signal 9.
    assert result.exit_code == 128 + signal.SIGKILL
    assert result.failure_message == f"The script exited with code {128 + signal.SIGKILL}"


async def test_a_script_killed_with_its_parent_has_an_unknown_outcome(tmp_path: Path) -> None:
    ticket = secrets.token_hex(8)
    job = request(tmp_path, "echo started; sleep 30")
    before = set(spawn_helpers(os.getpid()))
    pid = await _started_alone(tmp_path, ticket, job)
    os.kill(new_spawn_helper(before), signal.SIGKILL)
    os.killpg(pid, signal.SIGKILL)
    result = await DetachedScripts(tmp_path).follow(ticket, job, None, Seen())
    assert result.failure_message is not None and "outcome is unknown" in result.failure_message


async def test_prune_stops_and_removes_what_no_one_will_follow(tmp_path: Path) -> None:
    scripts = DetachedScripts(tmp_path)
    kept, dropped = secrets.token_hex(8), secrets.token_hex(8)
    for ticket in (kept, dropped):
        await scripts.start(ticket, request(tmp_path, "echo started; sleep 30"))
    await asyncio.sleep(0.2)
    pid = int((tmp_path / dropped / "out").read_text().split()[1])
    assert DetachedScripts(tmp_path).prune([kept]) == [dropped]
    assert not (tmp_path / dropped).exists() and (tmp_path / kept).exists()
    for _ in range(200):
        try:
            os.killpg(pid, 0)
        except ProcessLookupError:
            break
        await asyncio.sleep(0.02)
    else:
        raise AssertionError("the pruned script still runs")
    await scripts.cancel(kept)
    await scripts.release(kept)


async def test_a_script_holds_only_its_own_three_descriptors_and_default_signals(tmp_path: Path) -> None:
    scripts = DetachedScripts(tmp_path)
    ticket = secrets.token_hex(8)
    # A descriptor of the node (its database, its sockets, the spawn helper's) leaking into a script would
    # let the script hold them open or write to them. And a shell started with SIGPIPE ignored leaves
    # `yes | head -1` printing "Broken pipe" errors instead of ending quietly.
    body = 'ls /proc/$$/fd >fds; sed "s/^/fd /" fds; yes | head -n1; echo "yes ${PIPESTATUS[0]}"'
    job = request(tmp_path, body)
    await scripts.start(ticket, job)
    seen = Seen()
    result = await scripts.follow(ticket, job, None, seen)
    assert result.exit_code == 0, seen.texts
    assert sorted(t for t in seen.texts if t.startswith("fd ")) == ["fd 0", "fd 1", "fd 2"]
    assert f"yes {128 + signal.SIGPIPE}" in seen.texts and not any("Broken pipe" in t for t in seen.texts)
    await scripts.release(ticket)
    scripts.close()
