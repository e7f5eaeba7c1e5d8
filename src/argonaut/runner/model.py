"""The runner's request and result types, exactly as ``api_contract.md`` fixes them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from argonaut.domain.scripts import LogEntry, OutputVariable, sensitive_values  # one type per seam

__all__ = ["LogEntry", "OutputVariable"]

Syntax = Literal["Bash", "Python"]


@dataclass(frozen=True, slots=True)
class ScriptRequest:
    script_body: str
    syntax: Syntax
    work_root: Path
    # default_factory rather than a literal {}: dataclasses refuse mutable defaults, the meaning is the same.
    variables: Mapping[str, str] = field(default_factory=dict)
    sensitive_variables: frozenset[str] = frozenset()
    run_as_user: str | None = None
    artifact_dir: Path | None = None
    keep_work_dir: bool = False
    env: Mapping[str, str] = field(default_factory=dict)
    runner: RunnerBundle | None = None  # the bootstraps to use; default: the ones installed with this package

    @property
    def sensitive_values(self) -> list[str]:
        return sensitive_values(self.variables, self.sensitive_variables)


@dataclass(frozen=True, slots=True)
class Artifact:
    name: str
    source_path: str
    stored_path: Path
    length: int


@dataclass(frozen=True, slots=True)
class ScriptResult:
    exit_code: int
    output_variables: tuple[OutputVariable, ...]
    artifacts: tuple[Artifact, ...]
    failure_message: str | None
    work_dir: Path


BUNDLE_FILES = ("bootstrap.sh", "helpers.sh", "bootstrap.py")


@dataclass(frozen=True, slots=True)
class RunnerBundle:
    """The script-facing part of the runner: the bootstraps that define the helpers, and their version.

    This is what the server pushes to a worker whose runner is older ("keeping Calamari current"): the
    process handling around it is part of the agent itself.
    """

    version: str
    files: Mapping[str, str]  # file name -> text, for every name in BUNDLE_FILES

    def __hash__(self) -> int:  # files is a dict: hash by version and content, for the compile cache
        return hash((self.version, tuple(sorted(self.files.items()))))
