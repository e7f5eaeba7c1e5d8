"""What a script's output means: log lines for the task log, and service messages that change the run.

Every line passes through here in the order it was read. Service messages are acted on and never
logged; every other line is masked and handed to ``on_log`` with the category currently in force.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from argonaut.domain.masking import Masker
from argonaut.domain.scripts import Category, LogEntry, OutputVariable
from argonaut.domain.service_messages import MARKER, ServiceMessage, parse_service_message

# None means "drop the line": scripts use stdout-ignore to hide noisy tool output.
_STDOUT_CATEGORIES: dict[str, Category | None] = {
    "stdout-default": "Info",
    "stdout-verbose": "Verbose",
    "stdout-warning": "Warning",
    "stdout-highlight": "Highlight",
    "stdout-wait": "Wait",
    "stdout-error": "Error",
    "stdout-ignore": None,
}
_STDERR_CATEGORIES: dict[str, Category | None] = {
    "stderr-default": "Error",
    "stderr-error": "Error",
    "stderr-progress": "Verbose",
    "stderr-ignore": None,
}


@dataclass(frozen=True, slots=True)
class ArtifactRequest:
    path: str
    name: str | None


class ScriptOutput:
    """Interprets one run's output lines and accumulates what the script reported."""

    __slots__ = (
        "_on_log",
        "_masker",
        "_stdout_category",
        "_stderr_category",
        "_variables",
        "artifact_requests",
        "result_message",
    )

    def __init__(self, on_log: Callable[[LogEntry], None], masker: Masker) -> None:
        self._on_log = on_log
        self._masker = masker
        self._stdout_category: Category | None = "Info"
        self._stderr_category: Category | None = "Error"
        # Keyed by folded name: Octopus variable names are case-insensitive, so setting one twice
        # (in any spelling) leaves the last value.
        self._variables: dict[str, OutputVariable] = {}
        self.artifact_requests: list[ArtifactRequest] = []
        self.result_message: str | None = None

    def failure(self, exit_code: int) -> str | None:
        """Why the run failed, or None: the script's own fail_step message (masked), else a non-zero
        exit code."""
        if self.result_message is not None:
            return self._masker.mask(self.result_message)
        if exit_code != 0:
            return f"The script exited with code {exit_code}"
        return None

    @property
    def output_variables(self) -> tuple[OutputVariable, ...]:
        return tuple(self._variables.values())

    def stdout_line(self, text: str) -> None:
        if MARKER in text and self._handle(parse_service_message(text)):
            return
        if self._stdout_category is not None:
            self.log(self._stdout_category, text)

    def stderr_line(self, text: str) -> None:
        # Calamari's helpers also write `mask` to stderr (see the bootstraps), so stderr is parsed too.
        if MARKER in text and self._handle(parse_service_message(text)):
            return
        if self._stderr_category is not None:
            self.log(self._stderr_category, text)

    def log(self, category: Category, text: str) -> None:
        self._on_log(LogEntry(time.time(), category, self._masker.mask(text)))

    def _handle(self, message: ServiceMessage | None) -> bool:
        if message is None:
            return False
        kind = message.name.casefold()
        if kind in _STDOUT_CATEGORIES:
            self._stdout_category = _STDOUT_CATEGORIES[kind]
        elif kind in _STDERR_CATEGORIES:
            self._stderr_category = _STDERR_CATEGORIES[kind]
        elif kind == "setvariable":
            self._set_variable(message)
        elif kind == "mask":
            self._masker.add(message.get("value") or "")
        elif kind == "createartifact":
            path = message.get("path")
            if path:
                self.artifact_requests.append(ArtifactRequest(path, message.get("name") or None))
        elif kind == "resultmessage":
            self.result_message = message.get("message")
        # Anything else (progress, targets, accounts...) is for features this runner does not have;
        # it is still a service message, so it is not logged.
        return True

    def _set_variable(self, message: ServiceMessage) -> None:
        name = message.get("name")
        if not name:
            return
        # Calamari's Bash helper omits the value attribute for an empty value.
        value = message.get("value") or ""
        sensitive = (message.get("sensitive") or "").casefold() == "true"
        if sensitive:
            # Registered before the next line is read, so the script cannot echo it unmasked.
            self._masker.add(value)
        self._variables[name.casefold()] = OutputVariable(name, value, sensitive)
