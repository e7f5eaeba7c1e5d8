"""Collecting the files a script registered as artifacts, before its working folder disappears.

Files are collected after the script exits, as Octopus does ("will be collected after this step
completes"), so a script may register a report first and write it afterwards.

When the script ran as another user, the runner (root) must not read files for it: a script could
register ``/etc/shadow``. Such files are therefore read by a ``cat`` running as that same user, so the
operating system applies that user's permissions.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import stat
from collections.abc import Callable, Sequence
from pathlib import Path

from argonaut.runner.accounts import RunAs, spawn_options
from argonaut.runner.model import Artifact
from argonaut.runner.output import ArtifactRequest

_CREATE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
_MAX_STORED_NAME = 200


class _NotCollected(Exception):
    pass


async def collect_artifacts(
    requests: Sequence[ArtifactRequest],
    work_dir: Path,
    artifact_dir: Path | None,
    run_as: RunAs | None,
    warn: Callable[[str], None],
) -> tuple[Artifact, ...]:
    """Copy each requested file into ``artifact_dir``; a file that cannot be collected is a warning."""
    collected: list[Artifact] = []
    for request in requests:
        source = Path(request.path) if os.path.isabs(request.path) else work_dir / request.path
        name = request.name or source.name
        if artifact_dir is None:
            warn(f"Artifact {name} was not collected: this run has no artifact folder")
            continue
        try:
            _check_regular_file(source)
            artifact_dir.mkdir(parents=True, exist_ok=True)
            stored = _create_unique(artifact_dir, _stored_name(name))
            try:
                if run_as is None:
                    length = await asyncio.to_thread(_copy, source, stored)
                else:
                    length = await _copy_as(run_as, source, stored)
            except BaseException:
                stored.unlink(missing_ok=True)
                raise
        except (_NotCollected, OSError) as error:
            warn(f"Artifact {name} was not collected from {source}: {error}")
            continue
        collected.append(Artifact(name=name, source_path=request.path, stored_path=stored, length=length))
    return tuple(collected)


def _check_regular_file(source: Path) -> None:
    # Only the file type is looked at with our privileges; reading happens with the script's. A FIFO
    # or device would block or never end, so only regular files qualify.
    try:
        mode = source.stat().st_mode
    except FileNotFoundError:
        raise _NotCollected("the file does not exist") from None
    if not stat.S_ISREG(mode):
        raise _NotCollected("it is not a regular file")


def _stored_name(name: str) -> str:
    # The name comes from the script: never let it leave artifact_dir or hide as a dot-file path trick.
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(char for char in base if char.isprintable()).strip()
    if base in ("", ".", ".."):
        base = "artifact"
    return base[:_MAX_STORED_NAME]


def _create_unique(directory: Path, name: str) -> Path:
    # Two artifacts may share a name (and earlier runs may have used the folder): never overwrite.
    stem, dot, suffix = name.rpartition(".")
    if not stem:
        stem, dot, suffix = name, "", ""
    candidate = directory / name
    for attempt in range(2, 10_000):
        try:
            os.close(os.open(candidate, _CREATE_FLAGS, 0o640))
            return candidate
        except FileExistsError:
            candidate = directory / f"{stem}-{attempt}{dot}{suffix}"
    raise _NotCollected("too many artifacts with this name")


def _copy(source: Path, stored: Path) -> int:
    with source.open("rb") as reader, stored.open("r+b") as writer:
        shutil.copyfileobj(reader, writer, 1024 * 1024)
        return writer.tell()


async def _copy_as(run_as: RunAs, source: Path, stored: Path) -> int:
    loop = asyncio.get_running_loop()
    with stored.open("r+b") as writer:
        process = await asyncio.create_subprocess_exec(
            "cat",
            "--",
            str(source),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=writer,
            stderr=asyncio.subprocess.PIPE,
            **spawn_options(run_as, loop),
        )
        _, error_output = await process.communicate()
        if process.returncode != 0:
            raise _NotCollected(
                error_output.decode("utf-8", errors="replace").strip() or "it could not be read"
            )
        return os.fstat(writer.fileno()).st_size
