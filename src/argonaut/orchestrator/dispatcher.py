"""The seam between the orchestrator and whatever runs scripts (built-in worker, agents, SSH).

The orchestrator knows nothing of processes or sockets. The dispatcher owns a script's life, and every
step of it goes through the script's :class:`ScriptHandle`:

1. ``handle(target, ticket)`` says where the script will run and whether that kind can be resumed; the
   orchestrator stores the handle *before* anything starts, so no script is ever out of its sight.
2. ``start(handle, job)`` starts it. It is idempotent per ticket: a node that is unsure whether its
   predecessor got as far may call it again, and the script still runs once.
3. ``follow(handle, job, cursor, on_log)`` delivers lines from ``cursor`` until the script ends and
   answers its outcome. Cancelling ``follow`` only stops *watching*: the script goes on, so a node that
   stops can hand it over. Stopping the script is ``cancel(handle)``.
4. ``release(handle)`` lets the worker forget the script once its outcome is stored.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Protocol

from argonaut.domain.health import HealthReport
from argonaut.domain.scripts import (
    Cursor,
    LogEntry,
    ScriptHandle,
    ScriptJob,
    ScriptOutcome,
    Started,
    Target,
)


class Dispatcher(Protocol):
    def handle(self, target: Target, ticket: str) -> ScriptHandle: ...

    async def start(self, handle: ScriptHandle, job: ScriptJob) -> Started: ...

    async def follow(
        self, handle: ScriptHandle, job: ScriptJob, cursor: Cursor, on_log: Callable[[LogEntry], None]
    ) -> ScriptOutcome: ...

    async def cancel(self, handle: ScriptHandle) -> None: ...

    async def release(self, handle: ScriptHandle) -> None: ...

    async def prune(self, keep: Sequence[ScriptHandle]) -> None:
        """Called once as the node starts: local leftovers of scripts not in ``keep`` can go."""
        ...

    async def check_health(self, target: Target, timeout_s: float) -> HealthReport: ...

    async def update_runner(self, target: Target) -> str | None: ...


async def run_to_end(
    dispatcher: Dispatcher,
    handle: ScriptHandle,
    job: ScriptJob,
    on_log: Callable[[LogEntry], None],
) -> ScriptOutcome:
    """Start, follow and release a script that nothing else keeps track of (a health check's script).

    Cancelling the caller stops the script: such a script is never handed over.
    """
    await dispatcher.start(handle, job)
    try:
        outcome = await dispatcher.follow(handle, job, None, on_log)
    except asyncio.CancelledError:
        await asyncio.shield(dispatcher.cancel(handle))
        raise
    finally:
        await asyncio.shield(dispatcher.release(handle))
    return outcome
