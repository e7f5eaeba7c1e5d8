"""The script runner: runs one Bash or Python script the way Octopus' Calamari does.

Per run: a fresh private working folder, ``#{Name}`` substitution, the Calamari helper functions,
service messages, masking of sensitive values, artifacts, and a process group that cancellation kills.
See ``api_contract.md`` (fixed; other code is written against it).
"""

from argonaut.runner.execution import run_script
from argonaut.runner.interpreters import PACKAGE_BUNDLE, RUNNER_VERSION, load_bundle, save_bundle
from argonaut.runner.model import (
    Artifact,
    LogEntry,
    OutputVariable,
    RunnerBundle,
    ScriptRequest,
    ScriptResult,
)

__all__ = [
    "ScriptRequest",
    "LogEntry",
    "OutputVariable",
    "Artifact",
    "ScriptResult",
    "run_script",
    "RUNNER_VERSION",
    "RunnerBundle",
    "PACKAGE_BUNDLE",
    "load_bundle",
    "save_bundle",
]
