"""How each script syntax is started: interpreter, flags and the bootstrap that provides the helpers.

The bootstraps travel as ``-c`` arguments rather than files: they hold no secrets, an argument is
cheaper than writing one more file per run, and the interpreter never needs read access to the
installed package (which matters when the script runs as another user). The Bash helpers' bodies ride
along as one more argument that bash only evaluates when a helper is first called.
"""

from __future__ import annotations

import os
import shutil
from functools import lru_cache
from importlib import resources
from pathlib import Path

from argonaut.runner.model import BUNDLE_FILES, RunnerBundle, Syntax

# Bump whenever a bootstrap or the runner's handling of service messages changes: workers report it so
# the server can tell which helper semantics a script got.
RUNNER_VERSION = "1.1.0"

VARIABLES_FILE_NAME = ".argonaut-variables"
SCRIPT_FILE_NAMES: dict[Syntax, str] = {"Bash": "script.sh", "Python": "script.py"}


def located(program: str, env: dict[str, str] | None) -> str | None:
    """Where ``program`` is on the ``PATH`` of ``env`` (the server's own when None), or None.

    Given a bare name, exec tries every ``PATH`` folder in turn, and each miss is a failed execve while
    the server waits for the child to exec: with bash in the ninth folder that doubled what a spawn
    costs the server (0.48 against 0.26 ms). A find is kept per ``PATH`` and checked with one access
    call each time; a miss or a program gone since is looked up again, so installing one is seen."""
    search_path = (env if env is not None else os.environ).get("PATH", os.defpath)
    found = _which(program, search_path)
    if found is None or not os.access(found, os.X_OK):
        _which.cache_clear()
        found = _which(program, search_path)
    return found


def executable_for(argv: list[str], env: dict[str, str] | None) -> str:
    """What to exec for ``argv``: its program's full path, or its name as given when it is not found (the
    exec then fails as usual, and the caller reports it)."""
    return located(argv[0], env) or argv[0]


@lru_cache(maxsize=64)
def _which(program: str, search_path: str) -> str | None:
    return shutil.which(program, path=search_path)


def _compact(script: str) -> str:
    # Every byte is copied into each bash process and the bootstrap is parsed on every run; comments
    # and indentation are for readers of the files, not for bash. (Neither file has heredocs or
    # multi-line strings, where this would change meaning.)
    lines = (line.strip() for line in script.splitlines())
    return "\n".join(line for line in lines if line and not line.startswith("#"))


def _read_package_bundle() -> RunnerBundle:
    folder = resources.files("argonaut.runner") / "bootstrap"
    return RunnerBundle(
        RUNNER_VERSION, {name: (folder / name).read_text(encoding="utf-8") for name in BUNDLE_FILES}
    )


PACKAGE_BUNDLE = _read_package_bundle()


def load_bundle(folder: Path) -> RunnerBundle:
    """A bundle saved by :func:`save_bundle`; raises ``FileNotFoundError``/``ValueError`` when incomplete."""
    version = (folder / "VERSION").read_text(encoding="utf-8").strip()
    if not version:
        raise ValueError(f"{folder} has no runner version")
    return RunnerBundle(version, {name: (folder / name).read_text(encoding="utf-8") for name in BUNDLE_FILES})


def save_bundle(folder: Path, bundle: RunnerBundle) -> None:
    missing = [name for name in BUNDLE_FILES if name not in bundle.files]
    if missing:
        raise ValueError(f"the runner bundle {bundle.version} lacks {', '.join(missing)}")
    folder.mkdir(parents=True, exist_ok=True)
    for name in BUNDLE_FILES:
        (folder / name).write_text(bundle.files[name], encoding="utf-8")
    (folder / "VERSION").write_text(bundle.version, encoding="utf-8")


@lru_cache(maxsize=8)
def _compiled(bundle: RunnerBundle) -> tuple[str, str, str]:
    files = bundle.files
    return _compact(files["bootstrap.sh"]), _compact(files["helpers.sh"]), files["bootstrap.py"]


def command_line(
    syntax: Syntax, script: str | Path, variables_file: str | Path, bundle: RunnerBundle | None = None
) -> list[str]:
    bash_bootstrap, bash_helpers, python_bootstrap = _compiled(bundle or PACKAGE_BUNDLE)
    if syntax == "Bash":
        # $0 becomes the script path, so `$0` and error messages name the user's script.
        return ["bash", "-c", bash_bootstrap, str(script), str(variables_file), bash_helpers]
    if syntax == "Python":
        # -u: unbuffered, so lines reach the log as they are printed and stdout/stderr keep their order.
        return ["python3", "-u", "-c", python_bootstrap, str(script), str(variables_file)]
    raise ValueError(f"Unsupported script syntax: {syntax!r}")


def detached_command_line(
    syntax: Syntax,
    script: str | Path,
    variables_file: str | Path,
    ticket: str,
    bundle: RunnerBundle | None = None,
) -> list[str]:
    """The command of a script that must outlive the process starting it (see ``runner.detached``).

    Its first line of stdout is ``##argonaut-pid-<ticket> <pid> <start>``, for a node that is not the
    script's parent to find it; its last, ``##argonaut-exit-<ticket> <code>``, is written by the process
    that reaps it (``runner.spawn_helper``). The announcing bash is the script's own shell (for Bash) or
    becomes its interpreter (for Python, by exec): no second process, and no subshell, which cost a
    third of a bare bash start (0.4 ms of CPU per script, issue 13)."""
    if not ticket.isalnum():
        raise ValueError(f"a ticket is letters and digits: {ticket!r}")
    announce = f'printf "##argonaut-pid-{ticket} %d %s\\n" "$$" "$EPOCHREALTIME"'
    if syntax == "Bash":
        bash_bootstrap, bash_helpers, _ = _compiled(bundle or PACKAGE_BUNDLE)
        wrapper = f"{announce}\n{bash_bootstrap}"
        return ["bash", "-c", wrapper, str(script), str(variables_file), bash_helpers]
    wrapper = f'{announce}\nexec "$@"'
    return ["bash", "-c", wrapper, "argonaut", *command_line(syntax, script, variables_file, bundle)]


def exit_marker(ticket: str) -> str:
    """What precedes a detached script's exit code in its stdout, once it has ended."""
    return f"##argonaut-exit-{ticket}"
