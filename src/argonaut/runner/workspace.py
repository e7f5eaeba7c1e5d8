"""The per-run working folder: created fresh, private to the script, removed afterwards.

Each run gets its own folder so concurrent runs cannot see or clobber each other's files, and so that
removing it afterwards takes everything the run left behind (secrets in the variables file included).
"""

from __future__ import annotations

import asyncio
import base64
import os
import shutil
import stat
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from argonaut.runner.accounts import RunAs

# Folders with more entries than this, or any sub-folder, are removed on a worker thread: a script that
# unpacked a large package must not stall the event loop, but a thread hop would double the cost of the
# common case (a script file and nothing else).
_INLINE_REMOVAL_ENTRIES = 16

_FILE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


def create_work_dir(work_root: Path, owner: RunAs | None) -> Path:
    # mkdtemp: unpredictable name, created atomically with mode 0700.
    try:
        work_dir = Path(tempfile.mkdtemp(prefix="run-", dir=work_root))
    except FileNotFoundError:
        # First run (or someone removed it). 0o711: other users (run_as_user) may traverse, not list.
        work_root.mkdir(mode=0o711, parents=True, exist_ok=True)
        work_dir = Path(tempfile.mkdtemp(prefix="run-", dir=work_root))
    if owner is not None:
        os.chown(work_dir, owner.uid, owner.gid)
    return work_dir


def write_private_file(path: str | Path, data: bytes, owner: RunAs | None) -> None:
    """Create ``path`` (which must not exist) readable by the script's user only."""
    fd = os.open(path, _FILE_FLAGS, 0o600)
    try:
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        if owner is not None:
            os.fchown(fd, owner.uid, owner.gid)
    finally:
        os.close(fd)


def encode_variables(variables: Mapping[str, str]) -> bytes:
    """One line per variable: base64 of the value, a space, the name.

    The value is encoded so any text fits on one line; the name stays readable so the Bash helper can
    compare names without starting a decoder per line. Names differing only in case are one variable
    (the last wins), matching how substitution resolves them.
    """
    latest: dict[str, tuple[str, str]] = {}
    for name, value in variables.items():
        if name and "\n" not in name:
            latest[name.casefold()] = (name, value)
    return b"".join(
        base64.b64encode(value.encode("utf-8")) + b" " + name.encode("utf-8") + b"\n"
        for name, value in latest.values()
    )


async def remove_work_dir(work_dir: Path, warn: Callable[[str], None]) -> None:
    try:
        files = _small_and_flat(work_dir)
        if files is None:
            await asyncio.to_thread(_remove_tree, work_dir)
        elif not _remove_flat(work_dir, files):
            _remove_tree(work_dir)
    except FileNotFoundError:
        pass  # the script removed it itself
    except OSError as error:
        warn(f"The working folder {work_dir} could not be removed: {error}")


def _small_and_flat(work_dir: Path) -> list[str] | None:
    """The paths of its entries when it holds a few and no folder (the common case: a script file);
    otherwise None."""
    with os.scandir(work_dir) as entries:
        paths = []
        for count, entry in enumerate(entries):
            if count >= _INLINE_REMOVAL_ENTRIES or entry.is_dir(follow_symlinks=False):
                return None
            paths.append(entry.path)
    return paths


def _remove_flat(work_dir: Path, files: list[str]) -> bool:
    """Unlink each (a symlink itself, never what it points at), then the folder: a third of what
    ``shutil.rmtree`` costs for one file (issue 13). False when anything refused (a read-only folder,
    a file that appeared): ``_remove_tree`` then deals with it."""
    try:
        for path in files:
            os.unlink(path)
        os.rmdir(work_dir)
    except FileNotFoundError:
        return not os.path.lexists(work_dir)
    except OSError:
        return False
    return True


def _remove_tree(work_dir: Path) -> None:
    shutil.rmtree(work_dir, onerror=_make_writable_and_retry)


def _make_writable_and_retry(
    function: Callable[..., Any], path: str, info: tuple[Any, BaseException, Any]
) -> None:
    # A script may leave read-only folders behind (chmod -w); as their owner we can undo that. Only real
    # folders are touched (lstat), never what a symlink points at.
    parent = os.path.dirname(path)
    if function in (os.unlink, os.rmdir, os.remove) and stat.S_ISDIR(os.lstat(parent).st_mode):
        os.chmod(parent, 0o700)
        function(path)
        return
    raise info[1]
