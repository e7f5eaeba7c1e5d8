"""The agent's services, one strict params/result pair per method, each versioned in its name.

``script.status.v1`` is a long poll: the agent answers as soon as there are lines after ``since`` or
the script finished, or after ``wait_ms``. That keeps a running script's lines flowing to the server
the moment they are printed, with no polling interval on either side.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Empty(_Strict):
    pass


class Capabilities(_Strict):
    agent_version: str
    runner_version: str
    os: str
    architecture: str
    shells: tuple[str, ...]
    methods: tuple[str, ...]


class StartScript(_Strict):
    ticket: str = Field(pattern=r"^[A-Za-z0-9_-]{8,64}$")  # chosen by the server: retries are idempotent
    task_id: str
    script_body: str
    syntax: Literal["Bash", "Python"]
    variables: dict[str, str] = Field(default_factory=dict)
    sensitive_variables: tuple[str, ...] = ()
    isolation: Literal["NoIsolation", "FullIsolation"] = "NoIsolation"


class ScriptStatusQuery(_Strict):
    ticket: str
    since: int = Field(0, ge=0)
    wait_ms: int = Field(0, ge=0, le=60_000)


class TicketOnly(_Strict):
    ticket: str


class LogLine(_Strict):
    seq: int
    occurred: float  # unix seconds
    category: str
    text: str


class OutputVariable(_Strict):
    name: str
    value: str
    sensitive: bool


class ArtifactData(_Strict):
    name: str
    length: int
    content_b64: str


class ScriptStatus(_Strict):
    ticket: str
    state: Literal["Pending", "Running", "Complete"]
    exit_code: int | None = None
    logs: tuple[LogLine, ...] = ()
    next_seq: int = 0
    failure_message: str | None = None
    output_variables: tuple[OutputVariable, ...] = ()  # filled once Complete
    artifacts: tuple[ArtifactData, ...] = ()  # filled once Complete


class RunnerUpdate(_Strict):
    """The server's runner bundle (bootstraps by file name), pushed to a worker whose runner is older."""

    version: str = Field(pattern=r"^[0-9A-Za-z.+-]{1,40}$")
    files: dict[str, str]


class RunnerVersion(_Strict):
    version: str


class FileUpload(_Strict):
    """A file for the agent to keep; ``sha256`` lets it refuse a corrupted transfer."""

    path: str = Field(min_length=1, max_length=1000)  # relative to the agent's files folder
    content_b64: str
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")


class FileDownload(_Strict):
    path: str = Field(min_length=1, max_length=1000)


class FileData(_Strict):
    path: str
    length: int
    sha256: str
    content_b64: str | None = None  # only in answers to file.download.v1


METHODS: dict[str, tuple[type[BaseModel], type[BaseModel]]] = {
    "capabilities.v1": (Empty, Capabilities),
    "script.start.v1": (StartScript, ScriptStatus),
    "script.status.v1": (ScriptStatusQuery, ScriptStatus),
    "script.cancel.v1": (ScriptStatusQuery, ScriptStatus),
    "script.complete.v1": (TicketOnly, Empty),
    "runner.update.v1": (RunnerUpdate, RunnerVersion),
    "file.upload.v1": (FileUpload, FileData),
    "file.download.v1": (FileDownload, FileData),
}
