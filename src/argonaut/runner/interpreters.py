"""How each script syntax is started: interpreter, flags and the bootstrap that provides the helpers.

The bootstraps travel as ``-c`` arguments rather than files: they hold no secrets, a command-line
argument costs nothing per run, and the interpreter never needs read access to the installed package
(which matters when the script runs as another user).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from argonaut.runner.model import Syntax

# Bump whenever a bootstrap or the runner's handling of service messages changes: workers report it so
# the server can tell which helper semantics a script got.
RUNNER_VERSION = "1.0.0"

VARIABLES_FILE_NAME = ".argonaut-variables"
SCRIPT_FILE_NAMES: dict[Syntax, str] = {"Bash": "script.sh", "Python": "script.py"}

_BOOTSTRAPS = resources.files("argonaut.runner") / "bootstrap"
_BASH_BOOTSTRAP = (_BOOTSTRAPS / "bootstrap.sh").read_text(encoding="utf-8")
_PYTHON_BOOTSTRAP = (_BOOTSTRAPS / "bootstrap.py").read_text(encoding="utf-8")


def command_line(syntax: Syntax, script: Path, variables_file: Path) -> list[str]:
    if syntax == "Bash":
        # $0 becomes the script path, so `$0` and error messages name the user's script.
        return ["bash", "-c", _BASH_BOOTSTRAP, str(script), str(variables_file)]
    if syntax == "Python":
        # -u: unbuffered, so lines reach the log as they are printed and stdout/stderr keep their order.
        return ["python3", "-u", "-c", _PYTHON_BOOTSTRAP, str(script), str(variables_file)]
    raise ValueError(f"Unsupported script syntax: {syntax!r}")
