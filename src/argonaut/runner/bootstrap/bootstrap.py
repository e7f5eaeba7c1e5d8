"""Argonaut Python bootstrap: the Octopus (Calamari) script helpers, then the user's script.

Run as ``python3 -u -c "<this text>" <script path> <variables file>`` with whatever ``python3`` the
host has, so it uses the standard library only and runs on Python 3.7+. The user's script runs in
``__main__`` with the helpers as globals, as it would under Calamari.
Variables file format, one variable per line: base64 of the UTF-8 value, a space, the name.
"""

from __future__ import annotations

import base64
import os
import sys
import traceback
from typing import TextIO

_argonaut_script = sys.argv[1]
_argonaut_variables_file = sys.argv[2]

# The runner decodes output as UTF-8, whatever locale the host happens to have.
for _argonaut_stream in (sys.stdout, sys.stderr):
    if hasattr(_argonaut_stream, "reconfigure"):
        _argonaut_stream.reconfigure(encoding="utf-8", errors="backslashreplace")


def _argonaut_encode(value: object) -> str:
    return base64.b64encode(str(value).encode("utf-8")).decode("ascii")


def _argonaut_message(_kind: str, _stream: TextIO | None = None, **attributes: object) -> None:
    # Underscored parameters leave "name" and "message" free for attributes.
    encoded = "".join(f" {key}='{_argonaut_encode(value)}'" for key, value in attributes.items())
    print(f"##octopus[{_kind}{encoded}]", file=_stream or sys.stdout, flush=True)


def _argonaut_load_variables(path: str) -> dict[str, str]:
    variables: dict[str, str] = {}
    try:
        with open(path, "rb") as file:
            data = file.read()
    except FileNotFoundError:
        return variables
    for line in data.split(b"\n"):
        encoded, _, name = line.partition(b" ")
        if name:
            variables[name.decode("utf-8")] = base64.b64decode(encoded).decode("utf-8")
    return variables


octopusvariables = _argonaut_load_variables(_argonaut_variables_file)


def get_octopusvariable(key: str) -> str:
    """Like Calamari: an empty string for an unknown name (``octopusvariables[key]`` is the KeyError).
    Names are case-insensitive, as in substitution."""
    if key in octopusvariables:
        return octopusvariables[key]
    folded = key.casefold()
    for name, value in octopusvariables.items():
        if name.casefold() == folded:
            return value
    return ""


def set_octopusvariable(name: str, value: str, sensitive: bool = False) -> None:
    octopusvariables[name] = value
    if sensitive:
        # Also on stderr: a secret written to stderr next must not overtake the stdout message.
        _argonaut_message("mask", sys.stderr, value=value)
        _argonaut_message("setVariable", name=name, value=value, sensitive="True")
    else:
        _argonaut_message("setVariable", name=name, value=value)


def createartifact(path: str, fileName: str | None = None) -> None:  # Calamari's parameter name
    # Absolute, because the script may change directory before the runner collects the file.
    path = os.path.abspath(path)
    if fileName is None:
        fileName = os.path.basename(path)
    length = os.path.getsize(path) if os.path.isfile(path) else 0
    printverbose(f"Artifact {fileName} will be collected from {path} after this step completes")
    _argonaut_message("createArtifact", path=path, name=fileName, length=length)


def new_octopusartifact(path: str, name: str | None = None) -> None:
    createartifact(path, name)


def updateprogress(progress: int, message: str = "") -> None:
    _argonaut_message("progress", percentage=progress, message=message)


def failstep(message: str | None = None) -> None:
    if message:
        _argonaut_message("resultMessage", message=message)
    sys.exit(1)


fail_step = failstep


def _argonaut_write(level: str, message: object) -> None:
    print(f"##octopus[stdout-{level}]\n{message}\n##octopus[stdout-default]", flush=True)


def printverbose(message: object) -> None:
    _argonaut_write("verbose", message)


def printhighlight(message: object) -> None:
    _argonaut_write("highlight", message)


def printwait(message: object) -> None:
    _argonaut_write("wait", message)


def printwarning(message: object) -> None:
    _argonaut_write("warning", message)


def _argonaut_run() -> None:
    script = _argonaut_script
    sys.argv = [script]
    sys.path[0] = os.path.dirname(script)
    namespace = sys.modules["__main__"].__dict__
    namespace["__file__"] = script
    try:
        with open(script, "rb") as file:
            # dont_inherit: this file's `from __future__ import annotations` must not leak into the script.
            code = compile(file.read(), script, "exec", dont_inherit=True)
        exec(code, namespace)
    except SystemExit:
        raise
    except BaseException as error:
        # Show only the script's own frames: the bootstrap is plumbing the author never wrote.
        frames = error.__traceback__
        while frames is not None and frames.tb_frame.f_code.co_filename != script:
            frames = frames.tb_next
        traceback.print_exception(type(error), error, frames)
        sys.exit(1)


_argonaut_run()
