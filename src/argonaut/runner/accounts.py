"""Running a script as another OS user.

A worker usually runs as root (or a service account) so it can manage its own files; scripts should not
inherit that power. The process gets the target user's uid, primary gid *and* supplementary groups:
switching the uid alone would leave it in root's groups.
"""

from __future__ import annotations

import asyncio
import os
import pwd
import stat
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any


@dataclass(frozen=True, slots=True)
class RunAs:
    name: str
    uid: int
    gid: int
    groups: tuple[int, ...]
    home: str


def resolve_run_as(user: str | None) -> RunAs | None:
    """The identity to switch to, or None when no switch is needed.

    Raises LookupError for an unknown user and PermissionError when switching needs root we lack,
    before anything is created, so a misconfigured worker fails loudly instead of running as itself.
    """
    if user is None:
        return None
    try:
        entry = pwd.getpwnam(user)
    except KeyError:
        raise LookupError(f"The user '{user}' to run the script as does not exist on this machine") from None
    if entry.pw_uid == os.geteuid():
        return None
    if os.geteuid() != 0:
        raise PermissionError(f"Running a script as '{user}' needs the runner to run as root")
    groups = tuple(os.getgrouplist(entry.pw_name, entry.pw_gid))
    return RunAs(entry.pw_name, entry.pw_uid, entry.pw_gid, groups, entry.pw_dir)


def spawn_options(run_as: RunAs | None, loop: asyncio.AbstractEventLoop) -> dict[str, Any]:
    """Keyword arguments for ``create_subprocess_exec`` that start the child as ``run_as``."""
    if run_as is None:
        return {}
    if isinstance(loop, asyncio.BaseEventLoop):
        # The standard loop switches identity in the fork/exec helper: no Python code runs in the child.
        return {"user": run_as.uid, "group": run_as.gid, "extra_groups": list(run_as.groups)}
    # uvloop rejects user/group/extra_groups but supports preexec_fn.
    return {"preexec_fn": partial(_switch_to, run_as)}


def unreachable_ancestor(folder: Path, run_as: RunAs) -> Path | None:
    """The first folder on the way to ``folder`` that ``run_as`` may not pass through, judged by mode bits.

    The script starts inside its working folder either way (the runner changes into it before dropping
    root), but it reads its own script file by absolute path, so a 0700 parent breaks it in a way that
    is hard to recognise. ACLs can grant access the mode bits do not show, hence only a hint.
    """
    for candidate in (*reversed(folder.parents), folder):
        try:
            info = candidate.stat()
        except OSError:
            return candidate
        if info.st_uid == run_as.uid:
            allowed = info.st_mode & stat.S_IXUSR
        elif info.st_gid in run_as.groups:
            allowed = info.st_mode & stat.S_IXGRP
        else:
            allowed = info.st_mode & stat.S_IXOTH
        if not allowed:
            return candidate
    return None


def _switch_to(run_as: RunAs) -> None:
    # Groups first: after setuid we would no longer be allowed to change them.
    os.setgroups(list(run_as.groups))
    os.setgid(run_as.gid)
    os.setuid(run_as.uid)
