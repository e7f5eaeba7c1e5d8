"""The seam between the orchestrator and whatever runs scripts (built-in worker, agents, SSH).

The orchestrator knows nothing of processes or sockets: it hands a :class:`ScriptJob` to a
:class:`Dispatcher` with a log callback and gets a :class:`ScriptOutcome` back. Cancelling the awaiting
asyncio task must stop the script on the worker.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

Category = Literal["Info", "Error", "Warning", "Verbose", "Highlight", "Wait", "Fatal"]


@dataclass(frozen=True, slots=True)
class LogEntry:
    occurred: float  # unix seconds, UTC
    category: str
    text: str


@dataclass(frozen=True, slots=True)
class BuiltInTarget:
    name: str = "the built-in worker"


@dataclass(frozen=True, slots=True)
class WorkerTarget:
    worker_id: int
    name: str
    endpoint: Mapping[str, Any]


Target = BuiltInTarget | WorkerTarget


@dataclass(frozen=True, slots=True)
class ScriptJob:
    task_id: int
    script_body: str
    syntax: Literal["Bash", "Python"]
    variables: Mapping[str, str] = field(default_factory=dict)
    sensitive_variables: frozenset[str] = frozenset()
    artifact_dir: Path | None = None


@dataclass(frozen=True, slots=True)
class OutputVariable:
    name: str
    value: str
    sensitive: bool


@dataclass(frozen=True, slots=True)
class CollectedArtifact:
    name: str
    stored_path: Path
    length: int


@dataclass(frozen=True, slots=True)
class ScriptOutcome:
    exit_code: int
    output_variables: tuple[OutputVariable, ...] = ()
    artifacts: tuple[CollectedArtifact, ...] = ()
    failure_message: str | None = None


class WorkerUnreachable(Exception):
    """The worker could not be contacted; the message says which and why."""


class Dispatcher(Protocol):
    async def run_script(
        self, target: Target, job: ScriptJob, on_log: Callable[[LogEntry], None]
    ) -> ScriptOutcome: ...
