"""How each script syntax is started: interpreter, flags and the bootstrap that provides the helpers.

The bootstraps travel as ``-c`` arguments rather than files: they hold no secrets, an argument is
cheaper than writing one more file per run, and the interpreter never needs read access to the
installed package (which matters when the script runs as another user). The Bash helpers' bodies ride
along as one more argument that bash only evaluates when a helper is first called.
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


def _compact(script: str) -> str:
    # Every byte is copied into each bash process and the bootstrap is parsed on every run; comments
    # and indentation are for readers of the files, not for bash. (Neither file has heredocs or
    # multi-line strings, where this would change meaning.)
    lines = (line.strip() for line in script.splitlines())
    return "\n".join(line for line in lines if line and not line.startswith("#"))


_BOOTSTRAPS = resources.files("argonaut.runner") / "bootstrap"
_BASH_BOOTSTRAP = _compact((_BOOTSTRAPS / "bootstrap.sh").read_text(encoding="utf-8"))
_BASH_HELPERS = _compact((_BOOTSTRAPS / "helpers.sh").read_text(encoding="utf-8"))
_PYTHON_BOOTSTRAP = (_BOOTSTRAPS / "bootstrap.py").read_text(encoding="utf-8")


def command_line(syntax: Syntax, script: Path, variables_file: Path) -> list[str]:
    if syntax == "Bash":
        # $0 becomes the script path, so `$0` and error messages name the user's script.
        return ["bash", "-c", _BASH_BOOTSTRAP, str(script), str(variables_file), _BASH_HELPERS]
    if syntax == "Python":
        # -u: unbuffered, so lines reach the log as they are printed and stdout/stderr keep their order.
        return ["python3", "-u", "-c", _PYTHON_BOOTSTRAP, str(script), str(variables_file)]
    raise ValueError(f"Unsupported script syntax: {syntax!r}")
