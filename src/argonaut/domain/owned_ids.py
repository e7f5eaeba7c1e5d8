"""Ids of the documents a project owns: ``deploymentprocess-Projects-3``, ``variableset-Projects-3``, and
their frozen snapshots ``deploymentprocess-Projects-3-s-7-QXLY2``; and a runbook's process
``RunbookProcess-Runbooks-4`` with its snapshots ``RunbookProcess-Runbooks-4-s-2-QXLY2``.

The described system's clients build these ids from the project id and compare them as strings, so the
shape is public. They arrive in any case (``deploymentprocess-projects-3``) and are answered in the one
spelling the store keeps. A snapshot id carries the version of the document it froze and five random
upper-case letters or digits, so two releases of one version never share a snapshot.
"""

from __future__ import annotations

import re
import secrets
import string
from enum import StrEnum

from argonaut.domain.ids import Collection, format_id

_CODE_ALPHABET = string.ascii_uppercase + string.digits
_CODE_LENGTH = 5


class Owned(StrEnum):
    PROCESS = "deploymentprocess"
    VARIABLES = "variableset"


_PATTERNS = {
    kind: re.compile(
        rf"^{kind.value}-projects-([1-9][0-9]{{0,9}})(?:-s-([0-9]{{1,10}})-([a-z0-9]{{{_CODE_LENGTH}}}))?$",
        re.IGNORECASE,
    )
    for kind in Owned
}


_RUNBOOK_PROCESS = re.compile(
    rf"^runbookprocess-runbooks-([1-9][0-9]{{0,9}})(?:-s-([0-9]{{1,10}})-([a-z0-9]{{{_CODE_LENGTH}}}))?$",
    re.IGNORECASE,
)


def owned_id(kind: Owned, project_id: int) -> str:
    return f"{kind.value}-{format_id(Collection.PROJECTS, project_id)}"


def canonical(kind: Owned, text: str) -> str | None:
    """``text`` in the stored spelling when it has the shape of such an id (live or snapshot), else None."""
    match = _PATTERNS[kind].match(text.strip())
    if match is None:
        return None
    number, version, code = match.groups()
    live = f"{kind.value}-{Collection.PROJECTS.value}-{int(number)}"
    return live if version is None else f"{live}-s-{int(version)}-{code.upper()}"


def runbook_process_id(runbook_id: int) -> str:
    return f"RunbookProcess-{format_id(Collection.RUNBOOKS, runbook_id)}"


def canonical_runbook_process(text: str) -> str | None:
    """As :func:`canonical`, for a runbook's process (live or snapshot)."""
    match = _RUNBOOK_PROCESS.match(text.strip())
    if match is None:
        return None
    number, version, code = match.groups()
    live = runbook_process_id(int(number))
    return live if version is None else f"{live}-s-{int(version)}-{code.upper()}"


def new_snapshot_id(live_id: str, version: int) -> str:
    code = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(_CODE_LENGTH))
    return f"{live_id}-s-{version}-{code}"
