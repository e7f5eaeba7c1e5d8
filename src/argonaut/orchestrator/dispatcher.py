"""The seam between the orchestrator and whatever runs scripts (built-in worker, agents, SSH).

The orchestrator knows nothing of processes or sockets: it hands a :class:`ScriptJob` to a
:class:`Dispatcher` with a log callback and gets a :class:`ScriptOutcome` back. Cancelling the awaiting
asyncio task must stop the script on the worker.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from argonaut.domain.health import HealthReport
from argonaut.domain.scripts import LogEntry, ScriptJob, ScriptOutcome, Target


class Dispatcher(Protocol):
    async def run_script(
        self, target: Target, job: ScriptJob, on_log: Callable[[LogEntry], None]
    ) -> ScriptOutcome: ...

    async def check_health(self, target: Target, timeout_s: float) -> HealthReport: ...

    async def update_runner(self, target: Target) -> str | None: ...
