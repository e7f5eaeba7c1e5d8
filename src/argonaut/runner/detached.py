"""Scripts that outlive the process that started them: the built-in worker's way of running scripts.

A script's stdout and stderr go to files in its run folder, written by the kernel on the script's
behalf, instead of pipes that the server reads. So when the server node dies — kill -9 included — the
script goes on and no line it printed is lost. The node that starts next re-attaches: it reads the
files from where its store's lines end and waits for the process to end (through a pidfd, since it is
no longer the script's parent).

Two marker lines, named by the ticket, frame the script's stdout:
``##argonaut-pid-<ticket> <pid> <start time>``, printed by the script's own shell before the script,
and ``##argonaut-exit-<ticket> <code>``, appended by its parent (the node's spawn helper, see
:mod:`argonaut.runner.spawner`) once it has reaped it. They tell a node that is not the script's parent
which process to wait for, without mistaking another process that reuses the pid, and how the script
ended; they are never shown. Files cost more than anything else here (a create is ~0.1 ms on this machine's
ext4), so these markers stand in for separate pid and status files.

One folder per script, named by the ticket the orchestrator chose::

    <work_root>/<ticket>/
        work/     the script's working folder (its cwd): script, variables file, whatever it makes
        out, err  its stdout and stderr, appended to

New output is noticed through inotify, so lines reach the log as fast as through a pipe.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import shutil
import signal
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from inotify_simple import INotify, flags

from argonaut.domain.masking import Masker
from argonaut.domain.substitution import substitute
from argonaut.runner.accounts import RunAs, resolve_run_as, unreachable_ancestor
from argonaut.runner.artifacts import collect_artifacts
from argonaut.runner.environment import script_environment
from argonaut.runner.interpreters import (
    SCRIPT_FILE_NAMES,
    VARIABLES_FILE_NAME,
    detached_command_line,
    executable_for,
    exit_marker,
    located,
)
from argonaut.runner.lines import LineSplitter
from argonaut.runner.model import LogEntry, ScriptRequest, ScriptResult
from argonaut.runner.output import ScriptOutput
from argonaut.runner.process_group import TERMINATE_GRACE_SECONDS, group_has_live_members, signal_group
from argonaut.runner.spawner import UNKNOWN_EXIT, Child, Spawner
from argonaut.runner.workspace import encode_variables, remove_work_dir, write_private_file

OUTPUT_DRAIN_SECONDS = 2.0  # after the script exits, how long its background processes may still write
EXIT_MARKER_WAIT_S = 2.0  # a script not our child has exited: how long its parent may take to say how
READ_CHUNK = 256 * 1024
PID_CLOCK_SLACK_S = 30.0  # wide for clock steps: a pid is not reused that fast
_SPOOL_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND | os.O_NOFOLLOW | os.O_CLOEXEC
_COMMAND_NOT_FOUND = 127

OnLine = Callable[[LogEntry], None]
"""Called for each log line; its cursor is where the output stands after it: bytes of stdout and of
stderr consumed."""


class ScriptGone(Exception):
    """The script's folder is not there: it never started here, or it was already released."""


@dataclass
class _Markers:
    """What the wrapping bash said about the script, read out of its stdout."""

    ticket: str
    pid: int | None = None
    stamped: float | None = None  # when the wrapper started, by its own clock
    exit_code: int | None = None

    def stdout(self, deliver: Callable[[str], None]) -> Callable[[str], None]:
        pid_prefix = f"##argonaut-pid-{self.ticket} "
        marker = f"{exit_marker(self.ticket)} "

        def line(text: str) -> None:
            if text.startswith(pid_prefix):
                self._take_pid(text[len(pid_prefix) :])
                return
            at = text.rfind(marker)
            if at >= 0 and text[at + len(marker) :].lstrip("-").isdigit():
                self.exit_code = int(text[at + len(marker) :])
                if at:  # the script's last line had no newline: the marker followed it
                    deliver(text[:at])
                return
            deliver(text)

        return line

    def _take_pid(self, text: str) -> None:
        parts = text.split()
        if parts and parts[0].isdigit():
            self.pid = int(parts[0])
        with contextlib.suppress(IndexError, ValueError):
            self.stamped = float(parts[1].replace(",", "."))


class DetachedScripts:
    def __init__(self, work_root: Path, run_as_user: str | None = None) -> None:
        self._root = work_root
        self._root_text = str(work_root)  # paths below are built as text: pathlib cost ~0.1 ms a script
        self._run_as_user = run_as_user
        self._live: dict[str, Child] = {}  # scripts started by this process, not yet released
        self._watcher: _Watcher | None = None
        self._spawner = Spawner()

    def prepare(self) -> None:
        self._spawner.prepare()

    def close(self) -> None:
        """The node stops: its scripts run on (the next node follows them), their helper until they end."""
        self._spawner.close()

    def folder(self, ticket: str) -> Path:
        return Path(self._folder(ticket))

    def _folder(self, ticket: str) -> str:
        if not ticket or "/" in ticket or ticket.startswith(".") or not ticket.isprintable():
            raise ValueError(f"not a ticket: {ticket!r}")
        return f"{self._root_text}/{ticket}"

    # -- start ---------------------------------------------------------------------------------------

    async def start(self, ticket: str, request: ScriptRequest) -> None:
        """Start the script unless its folder shows it already was (idempotent per ticket)."""
        run_as = resolve_run_as(request.run_as_user or self._run_as_user)
        folder = self._folder(ticket)
        try:
            os.mkdir(folder, 0o711 if run_as else 0o700)
        except FileExistsError:
            return
        except FileNotFoundError:
            self._root.mkdir(mode=0o711, parents=True, exist_ok=True)
            os.mkdir(folder, 0o711 if run_as else 0o700)
        work = f"{folder}/work"
        os.mkdir(work, 0o700)
        if run_as is not None:
            os.chown(work, run_as.uid, run_as.gid)
        out = os.open(f"{folder}/out", _SPOOL_FLAGS, 0o600)
        err = os.open(f"{folder}/err", _SPOOL_FLAGS, 0o600)
        handed_over = False
        try:
            if run_as is not None and (blocked := unreachable_ancestor(Path(folder), run_as)) is not None:
                _write_line(
                    out,
                    f"##octopus[stdout-warning]\nThe user {run_as.name} may not be able to reach its working "
                    f"folder: {blocked} is not searchable by it. Make the work folder and its parents "
                    "searchable (e.g. mode 0711).\n##octopus[stdout-default]",
                )
            script_path = f"{work}/{SCRIPT_FILE_NAMES[request.syntax]}"
            variables_path = f"{work}/{VARIABLES_FILE_NAME}"
            body = substitute(request.script_body, request.variables).encode()
            write_private_file(script_path, body, run_as)
            if request.variables:
                write_private_file(variables_path, encode_variables(request.variables), run_as)
            argv = detached_command_line(request.syntax, script_path, variables_path, ticket, request.runner)
            env = script_environment(request.env, run_as)
            if request.syntax == "Python" and located("python3", env) is None:
                # A worker without python3 is a reason to fail the step, not to crash the worker: report
                # it the way a shell reports a missing command, through the files as any run would.
                _write_line(err, "python3 was not found on this machine, so the script could not start")
                _write_line(out, f"{exit_marker(ticket)} {_COMMAND_NOT_FOUND}")
                return
            handed_over = True  # the spawner owns (and closes) both descriptors from here on
            starting = self._spawner.spawn(
                argv,
                executable=executable_for(argv, env),
                cwd=work,
                env=env,
                stdout=out,
                stderr=err,
                identity=_identity(run_as),
                exit_marker=exit_marker(ticket),
            )
        finally:
            if not handed_over:
                os.close(out)
                os.close(err)
        self._live[ticket] = await starting

    # -- follow --------------------------------------------------------------------------------------

    async def follow(
        self, ticket: str, request: ScriptRequest, cursor: list[int] | None, on_line: OnLine
    ) -> ScriptResult:
        """Lines from ``cursor`` until the script ends, then its result. Cancelling only stops watching."""
        folder = self._folder(ticket)
        if not os.path.exists(f"{folder}/out"):
            raise ScriptGone(f"the built-in worker has no script {ticket} (its folder {folder} is missing)")
        masker = Masker(request.sensitive_values)
        replaying = True
        streams: list[_Stream] = []

        def forward(line: LogEntry) -> None:
            if not replaying:
                cursor = [s.splitter.consumed for s in streams]
                on_line(LogEntry(line.occurred, line.category, line.text, cursor))

        output = ScriptOutput(forward, masker)
        markers = _Markers(ticket)
        streams += [
            _Stream(f"{folder}/out", markers.stdout(output.stdout_line)),
            _Stream(f"{folder}/err", output.stderr_line),
        ]
        watcher = self._watch()
        wake = asyncio.Event()
        watch = watcher.add(folder, wake)
        try:
            # What the lines already stored said (variables set, values masked, categories): replayed
            # silently, so the run picks up exactly where it stood.
            for stream, upto in zip(streams, cursor or [0, 0], strict=False):
                stream.replay(upto)
            replaying = False
            exit_code = await self._until_exit(ticket, folder, streams, wake, output, markers)
        finally:
            watcher.remove(watch)
            for stream in streams:
                stream.close()
        run_as = resolve_run_as(request.run_as_user or self._run_as_user)
        work = Path(f"{folder}/work")
        artifacts = await collect_artifacts(
            output.artifact_requests, work, request.artifact_dir, run_as, _warner(output)
        )
        failure = output.failure(exit_code)
        if exit_code == UNKNOWN_EXIT and output.result_message is None:
            failure = (
                "The script ended while no server node was watching it and left no exit code "
                "(it was probably killed), so its outcome is unknown"
            )
        return ScriptResult(exit_code, output.output_variables, artifacts, failure, work)

    async def _until_exit(
        self,
        ticket: str,
        folder: str,
        streams: list[_Stream],
        wake: asyncio.Event,
        output: ScriptOutput,
        markers: _Markers,
    ) -> int:
        loop = asyncio.get_running_loop()
        live = self._live.get(ticket)
        exited: asyncio.Future[int] = live.exited if live is not None else loop.create_future()
        pid = live.pid if live is not None else _verified(_announced(folder, ticket))
        pidfd = -1
        if live is None:
            # Not our child: wait for the process by pidfd; its end is read from the exit marker.
            pidfd = _pidfd_or_none(pid) if pid is not None else -1
            if pidfd < 0:
                exited.set_result(UNKNOWN_EXIT)
            else:

                def ended() -> None:
                    if not exited.done():
                        exited.set_result(UNKNOWN_EXIT)

                loop.add_reader(pidfd, ended)
        exited.add_done_callback(lambda _: wake.set())
        try:
            while True:
                wake.clear()
                for stream in streams:
                    stream.read_available()
                if exited.done():
                    break
                await wake.wait()
            if pid is not None:
                await self._drain_background(pid, streams, wake, output)
            if live is None:
                await self._exit_marker(streams, wake, markers)
            for stream in streams:
                stream.read_available()
                stream.splitter.flush()
        finally:
            if pidfd >= 0:
                loop.remove_reader(pidfd)
                os.close(pidfd)
        code = exited.result()
        if code == UNKNOWN_EXIT and markers.exit_code is not None:
            code = markers.exit_code  # followed after a restart: its parent wrote how it ended
        return code  # its parent reported a signal N as 128 + N, as a shell does

    @staticmethod
    async def _exit_marker(streams: list[_Stream], wake: asyncio.Event, markers: _Markers) -> None:
        """Not our child: its parent (a spawn helper, maybe the one of a node now gone) appends the exit
        marker just after reaping it, a moment after the pidfd said it ended. Wait that moment; a parent
        that died too leaves no marker, and the outcome is unknown."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + EXIT_MARKER_WAIT_S
        while markers.exit_code is None and (left := deadline - loop.time()) > 0:
            wake.clear()
            for stream in streams:
                stream.read_available()
            if markers.exit_code is None:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(wake.wait(), min(left, 0.05))

    async def _drain_background(
        self, pgid: int, streams: list[_Stream], wake: asyncio.Event, output: ScriptOutput
    ) -> None:
        """Processes the script left running in its group may still be writing: give them a moment."""
        if not group_has_live_members(pgid):
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + OUTPUT_DRAIN_SECONDS
        while group_has_live_members(pgid):
            left = deadline - loop.time()
            if left <= 0:
                output.log(
                    "Warning",
                    "The script exited but processes it started in the background are still running; "
                    "their further output is not captured.",
                )
                return
            wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), min(left, 0.05))
            for stream in streams:
                stream.read_available()

    # -- cancel, release, prune ----------------------------------------------------------------------

    async def cancel(self, ticket: str) -> None:
        """Stop the script and everything it started: SIGTERM to its group, SIGKILL after a grace."""
        live = self._live.get(ticket)
        pid = live.pid if live is not None else _verified(_announced(self._folder(ticket), ticket))
        if pid is None or (live is not None and live.exited.done() and not group_has_live_members(pid)):
            return
        signal_group(pid, signal.SIGTERM)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + TERMINATE_GRACE_SECONDS
        while loop.time() < deadline and (
            (live is not None and not live.exited.done()) or group_has_live_members(pid)
        ):
            await asyncio.sleep(0.02)
        signal_group(pid, signal.SIGKILL)
        if live is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(live.exited), 1.0)

    async def release(self, ticket: str) -> None:
        """The script's outcome is stored: its folder (work files, spooled output) can go."""
        self._live.pop(ticket, None)
        folder = self._folder(ticket)
        # The layout is ours, so remove it by name; only the script's own folder may hold anything.
        for name in ("out", "err"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(f"{folder}/{name}")
        await remove_work_dir(Path(f"{folder}/work"), lambda message: None)
        try:
            os.rmdir(folder)
        except FileNotFoundError:
            pass
        except OSError:
            await remove_work_dir(Path(folder), lambda message: None)

    def prune(self, keep: Iterable[str]) -> list[str]:
        """Remove every run folder not in ``keep``, stopping any script still running in one: called as a
        node starts, when nothing will ever follow those. Answers the folders removed."""
        kept = set(keep)
        removed: list[str] = []
        try:
            entries = list(os.scandir(self._root))
        except FileNotFoundError:
            return removed
        for entry in entries:
            if entry.name in kept or not entry.is_dir(follow_symlinks=False):
                continue
            pid = _verified(_announced(entry.path, entry.name))
            if pid is not None:
                signal_group(pid, signal.SIGKILL)
            shutil.rmtree(entry.path, ignore_errors=True)
            removed.append(entry.name)
        return removed

    def _watch(self) -> _Watcher:
        if self._watcher is None:
            self._watcher = _Watcher(asyncio.get_running_loop())
        return self._watcher


class _Stream:
    """One spooled output file, read incrementally into its line splitter."""

    def __init__(self, path: str, on_line: Callable[[str], None]) -> None:
        self.splitter = LineSplitter(on_line)
        self._fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)

    def replay(self, upto: int) -> None:
        left = upto
        while left > 0:
            chunk = os.read(self._fd, min(READ_CHUNK, left))
            if not chunk:
                break
            self.splitter.feed(chunk)
            left -= len(chunk)

    def read_available(self) -> None:
        while chunk := os.read(self._fd, READ_CHUNK):
            self.splitter.feed(chunk)

    def close(self) -> None:
        os.close(self._fd)


class _Watcher:
    """One inotify instance for every followed script: a folder's changes set that script's event."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._inotify = INotify(nonblocking=True)
        self._events: dict[int, asyncio.Event] = {}
        loop.add_reader(self._inotify.fileno(), self._on_readable)

    def add(self, folder: str, wake: asyncio.Event) -> int:
        wd = int(self._inotify.add_watch(folder, flags.MODIFY | flags.CLOSE_WRITE))
        self._events[wd] = wake
        return wd

    def remove(self, wd: int) -> None:
        if self._events.pop(wd, None) is not None:
            with contextlib.suppress(OSError):
                self._inotify.rm_watch(wd)

    def _on_readable(self) -> None:
        for event in self._inotify.read(timeout=0):
            wake = self._events.get(event.wd)
            if wake is not None:
                wake.set()


def _announced(folder: str, ticket: str) -> _Markers:
    """What the wrapper said first (its pid and start), read from the head of the script's stdout."""
    markers = _Markers(ticket)
    try:
        with open(f"{folder}/out", "rb") as out:
            head = out.read(4096)
    except OSError:
        return markers
    take = markers.stdout(lambda text: None)
    for line in head.split(b"\n")[:2]:
        take(line.decode(errors="replace"))
    return markers


def _verified(markers: _Markers) -> int | None:
    """The pid the wrapper announced if that process is still the script, else None.

    A process that started later than the wrapper said it did (give or take a clock step) cannot
    be the script: it merely reuses the pid.
    """
    if markers.pid is None:
        return None
    started = _start_time(markers.pid)
    if started is None:
        return None
    if markers.stamped is not None and started > markers.stamped + PID_CLOCK_SLACK_S:
        return None
    return markers.pid


def _start_time(pid: int) -> float | None:
    """When the process started (unix seconds) if it is alive and not a zombie, else None."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            data = stat.read()
    except OSError:
        return None
    fields = data[data.rfind(b")") + 2 :].split()
    if len(fields) <= 19 or fields[0] in (b"Z", b"X"):
        return None
    return _boot_time() + int(fields[19]) / os.sysconf("SC_CLK_TCK")


@functools.cache
def _boot_time() -> float:
    with open("/proc/stat", "rb") as stat:
        for line in stat:
            if line.startswith(b"btime "):
                return float(line.split()[1])
    return 0.0


def _identity(run_as: RunAs | None) -> dict[str, Any]:
    """Popen arguments that start the child as ``run_as`` (switched in the child, before its exec)."""
    if run_as is None:
        return {}
    return {"user": run_as.uid, "group": run_as.gid, "extra_groups": list(run_as.groups)}


def _pidfd_or_none(pid: int) -> int:
    try:
        return os.pidfd_open(pid)
    except (OSError, AttributeError):
        return -1


def _write_line(fd: int, text: str) -> None:
    os.write(fd, text.encode() + b"\n")


def _warner(output: ScriptOutput) -> Callable[[str], None]:
    return lambda message: output.log("Warning", message)
