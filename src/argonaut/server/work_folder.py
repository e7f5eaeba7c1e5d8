"""Where the built-in worker makes its scripts' run folders: memory-backed by default.

Each script gets a folder of its own (the script, its variables file, its output spool, its working
files), made before it starts and removed after. On a disk file system those creates and removals were
the largest cost of a built-in script: about 3 ms of kernel CPU per run on the benchmark machine's ext4,
against 0.2 ms on tmpfs. A memory-backed folder keeps what the spool exists for — a script outlives the
node that started it, kill -9 included, and the next start finds its output — since tmpfs lives as long
as the machine, and a reboot ends the script anyway. It also keeps sensitive variables off the disk.

Scripts that unpack large files into their working folder should run on external workers (the built-in
worker is for light work on the server itself); a node whose built-in worker must use disk sets
``ARGONAUT_WORK_FOLDER``.

``/dev/shm`` is shared by every user of the machine, so the folder there is checked, not trusted: it must be
a real folder (not a symlink) that this user owns and nobody else may write. Anything else makes the node
fall back to ``<home>/work`` with a warning, never run scripts in a folder someone else controls. So does a
``/dev/shm`` that scripts could not use as a working folder: mounted ``noexec`` (a script may run a tool
it downloaded) or small (containers get 64 MB by default), judged by ``statvfs``.
"""

from __future__ import annotations

import hashlib
import logging
import os
import stat
from collections.abc import Callable
from pathlib import Path

from argonaut.config import ServerSettings

log = logging.getLogger(__name__)

MEMORY_BACKED = Path("/dev/shm")
MIN_FREE_BYTES = 1 << 30  # less room than this in /dev/shm, and run folders go to disk


def usable_for_scripts(folder: Path, statvfs: Callable[[Path], os.statvfs_result] = os.statvfs) -> str | None:
    """Why scripts could not work in ``folder``'s file system, or None when they can."""
    try:
        info = statvfs(folder)
    except OSError as exc:
        return str(exc)
    if info.f_flag & os.ST_NOEXEC:
        return "it is mounted noexec, so a script could not run a program it put in its folder"
    free = info.f_bavail * info.f_frsize
    if free < MIN_FREE_BYTES:
        return f"it has {free >> 20} MB free, less than the {MIN_FREE_BYTES >> 20} MB a script may need"
    return None


def work_root(
    settings: ServerSettings,
    memory_backed: Path = MEMORY_BACKED,
    statvfs: Callable[[Path], os.statvfs_result] = os.statvfs,
) -> Path:
    """The built-in worker's folder of run folders, created and checked; see the module's docstring."""
    mode = 0o711 if settings.built_in_worker_user else 0o700  # the script user traverses, never lists
    if settings.work_folder is not None:
        return _prepared(settings.work_folder, mode)
    on_disk = settings.home / "work"
    if not memory_backed.is_dir() or not os.access(memory_backed, os.W_OK | os.X_OK):
        return _prepared(on_disk, mode)
    if (unusable := usable_for_scripts(memory_backed, statvfs)) is not None:
        log.info("built-in worker: run folders go to %s, not %s: %s", on_disk, memory_backed, unusable)
        return _prepared(on_disk, mode)
    folder = memory_backed_folder(settings.home, memory_backed)
    try:
        folder.mkdir(mode=mode)
    except FileExistsError:
        pass
    except OSError as exc:
        log.warning("built-in worker: %s cannot be made (%s); using %s", folder, exc, on_disk)
        return _prepared(on_disk, mode)
    info = os.lstat(folder)
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o022:
        log.warning(
            "built-in worker: %s is not a folder only this user owns and may write; using %s instead",
            folder,
            on_disk,
        )
        return _prepared(on_disk, mode)
    os.chmod(folder, mode)
    return folder


def memory_backed_folder(home: Path, memory_backed: Path = MEMORY_BACKED) -> Path:
    """The memory-backed run folder root of the node whose home is ``home``: one per user and home."""
    digest = hashlib.sha256(str(home).encode()).hexdigest()[:16]
    return memory_backed / f"argonaut-{os.getuid()}-{digest}"


def release_root(root: Path, settings: ServerSettings) -> None:
    """At a clean stop, remove the memory-backed folder when no script was handed over in it."""
    if root == memory_backed_folder(settings.home):
        try:
            root.rmdir()
        except OSError:
            pass  # scripts left for the next start, or already gone


def _prepared(folder: Path, mode: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, mode)
    return folder
