"""What a script step hands a worker and gets back: the data of the orchestrator's Dispatcher seam.

These are plain values shared by the orchestrator (which plans steps) and by whatever runs scripts
(the built-in worker, the agent links in ``comms``), so neither needs to import the other.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

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
    # How long a call waits for the worker to be reachable (a polling agent to connect): the machine
    # policy's PollingRequestQueueTimeout, two minutes by default as in the described system.
    connect_wait_s: float = 120.0
    min_free_disk_mb: int = 500  # a health check warns below this (the policy's threshold)


Target = BuiltInTarget | WorkerTarget


@dataclass(frozen=True, slots=True)
class ScriptJob:
    task_id: int
    script_body: str
    syntax: Literal["Bash", "Python"]
    variables: Mapping[str, str] = field(default_factory=dict)
    sensitive_variables: frozenset[str] = frozenset()
    artifact_dir: Path | None = None
    ticket: str | None = None  # names the script on an agent; chosen (and stored) by the orchestrator
    resume_from: int | None = None  # set when re-attaching after a restart: the first line still wanted
    isolation: Literal["NoIsolation", "FullIsolation"] = "NoIsolation"  # FullIsolation: the worker to itself


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
    runner_updated_from: str | None = None  # set when the worker's older runner was replaced first


class WorkerUnreachable(Exception):
    """The worker could not be contacted; the message says which and why."""


DETACH = "detach"
"""The message a task is cancelled with when the node stops but the script should go on (on an agent):
the dispatcher then leaves the script running instead of cancelling it, for the next node to resume."""
