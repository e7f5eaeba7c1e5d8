"""What a script step hands a worker and gets back: the data of the orchestrator's Dispatcher seam.

These are plain values shared by the orchestrator (which plans steps) and by whatever runs scripts
(the built-in worker, the agent links in ``comms``, SSH), so neither needs to import the other.

A script's life goes through a :class:`ScriptHandle`: the dispatcher makes it before anything starts,
the orchestrator stores it, and starting, following, cancelling and re-attaching after a restart all
take it. It is serialisable (``to_json``/``from_json``), so a node that starts again finds every script
its predecessor had in flight, and it says whether that kind of script can be re-attached to at all.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

Category = Literal["Info", "Error", "Warning", "Verbose", "Highlight", "Wait", "Fatal"]

Cursor = int | list[int] | None
"""Where a script's output stands, in the worker's own terms (JSON-able): the next line number on an
agent, the bytes of stdout and stderr consumed on the built-in worker. None: from the start."""


@dataclass(frozen=True, slots=True)
class LogEntry:
    occurred: float  # unix seconds, UTC
    category: str
    text: str
    # Resuming from here yields the lines after this one (None: the worker cannot resume mid-way).
    cursor: Cursor = None


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

    @property
    def style(self) -> str:
        return str(self.endpoint.get("CommunicationStyle") or "")


Target = BuiltInTarget | WorkerTarget


class ScriptKind(StrEnum):
    BUILT_IN = "BuiltIn"
    AGENT = "Agent"
    SSH = "Ssh"


@dataclass(frozen=True, slots=True)
class ScriptHandle:
    """One script, wherever it runs: what the orchestrator keeps and passes back to the dispatcher."""

    kind: ScriptKind
    ticket: str  # chosen by the orchestrator; names the script on its worker
    target: Target
    resumable: bool  # a node that restarts can re-attach and follow it to its real end
    node: str = ""  # for built-in scripts: the server node whose machine runs them

    @property
    def where(self) -> str:
        return self.target.name

    def to_json(self) -> dict[str, Any]:
        target: dict[str, Any] = {"Name": self.target.name}
        if isinstance(self.target, WorkerTarget):
            target |= {
                "WorkerId": self.target.worker_id,
                "Endpoint": dict(self.target.endpoint),
                "ConnectWaitSeconds": self.target.connect_wait_s,
            }
        return {
            "Kind": self.kind.value,
            "Ticket": self.ticket,
            "Target": target,
            "Resumable": self.resumable,
            "Node": self.node,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ScriptHandle:
        raw = data["Target"]
        target: Target
        if "WorkerId" in raw:
            target = WorkerTarget(
                int(raw["WorkerId"]),
                str(raw["Name"]),
                dict(raw["Endpoint"]),
                float(raw.get("ConnectWaitSeconds", 120.0)),
            )
        else:
            target = BuiltInTarget(str(raw["Name"]))
        return cls(
            ScriptKind(data["Kind"]),
            str(data["Ticket"]),
            target,
            bool(data["Resumable"]),
            str(data.get("Node") or ""),
        )


@dataclass(frozen=True, slots=True)
class ScriptJob:
    task_id: int
    script_body: str
    syntax: Literal["Bash", "Python"]
    variables: Mapping[str, str] = field(default_factory=dict)
    sensitive_variables: frozenset[str] = frozenset()
    artifact_dir: Path | None = None
    isolation: Literal["NoIsolation", "FullIsolation"] = "NoIsolation"  # FullIsolation: the worker to itself

    @property
    def sensitive_values(self) -> list[str]:
        return sensitive_values(self.variables, self.sensitive_variables)


def sensitive_values(variables: Mapping[str, str], sensitive_names: frozenset[str]) -> list[str]:
    """The values to mask in every line. Names match case-insensitively, like every other variable-name
    lookup: erring towards masking more is safe."""
    if not sensitive_names:
        return []
    wanted = {name.casefold() for name in sensitive_names}
    return [value for name, value in variables.items() if name.casefold() in wanted]


@dataclass(frozen=True, slots=True)
class Started:
    """What starting a script found out on the way."""

    runner_updated_from: str | None = None  # set when the worker's older runner was replaced first


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

    @property
    def failure(self) -> str | None:
        """Why the script counts as failed, or None: only an exit code of 0 seen is a success."""
        if self.failure_message:
            return self.failure_message
        if self.exit_code != 0:
            return f"The script exited with code {self.exit_code}"
        return None


UNKNOWN_EXIT_CODE = -1
"""The exit code of a script whose end nobody saw (its process vanished with no code recorded)."""


class WorkerUnreachable(Exception):
    """The worker could not be contacted; the message says which and why."""


class ScriptLost(Exception):
    """The worker no longer knows the script (it restarted, say): its outcome cannot be known."""
