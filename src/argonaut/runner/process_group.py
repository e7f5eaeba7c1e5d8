"""Stopping a script together with everything it started.

Each script runs as the leader of its own process group (``start_new_session``), so one ``killpg``
reaches the background jobs and children it spawned too, which a kill of the leader alone would leave
running with nobody watching them.
"""

from __future__ import annotations

import asyncio
import os
import signal

TERMINATE_GRACE_SECONDS = 3.0
_KILL_SETTLE_SECONDS = 1.0
_POLL_SECONDS = 0.02


async def terminate_group(process: asyncio.subprocess.Process, grace: float | None = None) -> None:
    """SIGTERM the group, SIGKILL whatever is still alive after ``grace`` (default 3) seconds.

    Returns once the leader has been reaped and no live process remains in the group. Cancelling the
    caller again while it waits escalates to SIGKILL at once, then the cancellation continues.
    """
    pgid = process.pid
    loop = asyncio.get_running_loop()
    deadline = loop.time() + (TERMINATE_GRACE_SECONDS if grace is None else grace)
    interrupted: asyncio.CancelledError | None = None
    signal_group(pgid, signal.SIGTERM)
    try:
        await _wait_until_gone(process, pgid, deadline)
    except asyncio.CancelledError as error:
        interrupted = error
    if group_has_live_members(pgid):
        signal_group(pgid, signal.SIGKILL)
        # SIGKILL cannot be ignored, but delivery is not instant; give it a moment so callers can rely
        # on the group being gone when this returns.
        await _wait_until_gone(process, pgid, loop.time() + _KILL_SETTLE_SECONDS)
    if process.returncode is None:
        await process.wait()
    if interrupted is not None:
        raise interrupted


async def _wait_until_gone(process: asyncio.subprocess.Process, pgid: int, deadline: float) -> None:
    try:
        async with asyncio.timeout_at(deadline):
            await process.wait()
            # Only the leader is our child, so there is nothing to wait on for the others: poll. This
            # is the cancellation path only, never the normal one.
            while group_has_live_members(pgid):
                await asyncio.sleep(_POLL_SECONDS)
    except TimeoutError:
        pass


def group_has_live_members(pgid: int) -> bool:
    """Whether any process of the group is still running.

    ``killpg(pgid, 0)`` also succeeds for zombies: killed children whose parent died before reaping them
    wait for init to do it (containers often run an init that reaps late). They are dead and cannot be
    signalled, so only /proc, which shows their state, tells them apart.
    """
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        entries = os.listdir("/proc")
    except OSError:
        return True  # no procfs: assume alive, the caller escalates to SIGKILL which is safe
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as stat_file:
                stat = stat_file.read()
        except OSError:
            continue  # exited meanwhile
        # Fields after the parenthesised command name: state, ppid, pgrp, ...
        fields = stat[stat.rfind(b")") + 2 :].split(maxsplit=3)
        if len(fields) >= 3 and int(fields[2]) == pgid and fields[0] not in (b"Z", b"X"):
            return True
    return False


def signal_group(pgid: int, signum: int) -> None:
    """Signal every process of the group; one already gone, or no longer ours to signal, is no error."""
    try:
        os.killpg(pgid, signum)
    except (ProcessLookupError, PermissionError):
        pass
