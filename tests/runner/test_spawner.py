"""The spawn helper that starts built-in scripts: what a node relies on when it or the helper dies."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import pytest

from argonaut.runner.spawner import UNKNOWN_EXIT, Spawner, SpawnerGone
from conftest import new_spawn_helper, spawn_helpers


def _outputs(tmp_path: Path) -> tuple[int, int]:
    flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC
    return os.open(tmp_path / "out", flags, 0o600), os.open(tmp_path / "err", flags, 0o600)


def _spawn(spawner: Spawner, tmp_path: Path, command: str, marker: str | None = None) -> asyncio.Future:  # type: ignore[type-arg]
    out, err = _outputs(tmp_path)
    return spawner.spawn(
        ["bash", "-c", command],
        executable="/bin/bash",
        cwd=str(tmp_path),
        env=None,
        stdout=out,
        stderr=err,
        identity={},
        exit_marker=marker,
    )


async def test_exit_codes_signals_and_the_marker_written_by_the_parent(tmp_path: Path) -> None:
    spawner = Spawner()
    child = await _spawn(spawner, tmp_path, "echo hi; echo oops >&2; exit 7", "##done")
    assert await child.exited == 7
    assert (tmp_path / "out").read_text() == "hi\n##done 7\n"  # the code follows everything the script said
    assert (tmp_path / "err").read_text() == "oops\n"
    killed = await _spawn(spawner, tmp_path, "kill -TERM $$")
    assert await killed.exited == 128 + signal.SIGTERM  # as a shell reports a child killed by a signal
    spawner.close()


async def test_a_program_that_cannot_start_is_an_os_error_and_the_next_one_starts(tmp_path: Path) -> None:
    spawner = Spawner()
    out, err = _outputs(tmp_path)
    with pytest.raises(FileNotFoundError):
        await spawner.spawn(
            ["no-such-program"], executable="/nonexistent/no-such-program", cwd=str(tmp_path), env=None,
            stdout=out, stderr=err, identity={},
        )  # fmt: skip
    assert await (await _spawn(spawner, tmp_path, "exit 0")).exited == 0
    spawner.close()


async def test_an_environment_too_big_to_pass_fails_that_start_only(tmp_path: Path) -> None:
    spawner = Spawner()
    out, err = _outputs(tmp_path)
    huge = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HUGE": "x" * 300_000}
    with pytest.raises(OSError):  # too big for the socket (or, with a big socket buffer, for exec)
        await spawner.spawn(
            ["bash", "-c", "exit 0"], executable="/bin/bash", cwd=str(tmp_path), env=huge,
            stdout=out, stderr=err, identity={},
        )  # fmt: skip
    assert await (await _spawn(spawner, tmp_path, "exit 6")).exited == 6
    spawner.close()


async def test_when_the_helper_dies_its_scripts_run_on_and_a_new_helper_starts_the_next(
    tmp_path: Path,
) -> None:
    spawner = Spawner()
    before = set(spawn_helpers(os.getpid()))
    child = await _spawn(spawner, tmp_path, "sleep 0.5; exit 3", "##done")
    helper = new_spawn_helper(before)
    os.kill(helper, signal.SIGKILL)
    # The script outlives its parent; its end is still seen (by pidfd), how it ended is not known.
    assert await asyncio.wait_for(child.exited, 10) == UNKNOWN_EXIT
    assert "##done" not in (tmp_path / "out").read_text()
    assert await (await _spawn(spawner, tmp_path, "exit 5")).exited == 5
    spawner.close()


async def test_a_start_asked_of_a_helper_that_died_fails_clearly(tmp_path: Path) -> None:
    spawner = Spawner()
    before = set(spawn_helpers(os.getpid()))
    spawner.prepare()
    helper = new_spawn_helper(before)
    os.kill(helper, signal.SIGSTOP)  # it cannot answer...
    pending = _spawn(spawner, tmp_path, "exit 0")
    os.kill(helper, signal.SIGKILL)  # ...and dies first
    with pytest.raises(SpawnerGone, match="stopped"):
        await asyncio.wait_for(pending, 10)
    spawner.close()


async def test_a_stopping_node_leaves_the_helper_until_its_scripts_end_and_are_written_up(
    tmp_path: Path,
) -> None:
    spawner = Spawner()
    before = set(spawn_helpers(os.getpid()))
    go_on = tmp_path / "go-on"
    await _spawn(spawner, tmp_path, f"while [ ! -e {go_on} ]; do sleep 0.02; done; exit 4", "##done")
    helper = new_spawn_helper(before)
    spawner.close()  # as a node stopping, or dying: its end of the socket closes
    await asyncio.sleep(0.3)
    os.kill(helper, 0)  # still there, for the script it started
    go_on.touch()
    for _ in range(200):
        if "##done 4" in (tmp_path / "out").read_text():
            break
        await asyncio.sleep(0.05)
    assert (tmp_path / "out").read_text() == "##done 4\n"
    for _ in range(200):  # and then it exits (we are its parent here: reap it to see that)
        if os.waitpid(helper, os.WNOHANG)[0] == helper:
            break
        await asyncio.sleep(0.05)
    else:
        raise AssertionError("the helper stayed after its last script ended")
