"""How this process learns that its asyncio child processes ended."""

from __future__ import annotations

import asyncio
import warnings


def watch_children_with_pidfd() -> None:
    """Reap child processes through pidfds instead of asyncio's default of one thread per child.

    Every script an agent runs (and every ssh or other tool a node starts) is a child process; a thread
    per spawn costs about as much as the spawn itself, and its end reaches the loop a thread hop later.
    Called in the running loop of a server node and of an agent.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            watcher = asyncio.PidfdChildWatcher()
            watcher.attach_loop(asyncio.get_running_loop())
            asyncio.set_child_watcher(watcher)
        except (
            AttributeError,
            OSError,
            NotImplementedError,
        ):  # pragma: no cover - old kernels keep the default
            pass
