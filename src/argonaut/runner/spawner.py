"""Starting the built-in worker's scripts from a small helper process, so the node's event loop never waits
on a fork.

Python forks with ``vfork``: the caller is suspended until the child has called ``exec``. That costs
the caller ~0.1 ms of CPU, but on a busy machine the child first waits for a core, and the node's whole
event loop waited with it: 0.84 ms per script on average under a burst of 200 tasks at cap 20, a quarter
of the loop's time (issue 13). A thread does not help (it takes the GIL back to finish ``Popen`` and
cost more CPU than it saved). So a helper process (:mod:`argonaut.runner.spawn_helper`, standard library
only, a few MB) does the forking: the node sends it a request over a socket pair and carries on; the
answer (the pid, or why it could not start) and later the child's exit status come back as messages
read by the event loop.

The helper is the scripts' parent, so it is what reaps them and writes each one's exit marker (see
:mod:`argonaut.runner.detached`); it outlives a node that stops or dies until its last script has ended.
Should the helper itself die, the next script starts a new one, and the scripts it had started are waited
for by pidfd, their outcome unknown unless a marker says otherwise.
"""

from __future__ import annotations

import array
import asyncio
import collections
import contextlib
import errno
import os
import pickle
import socket
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from argonaut.runner import spawn_helper
from argonaut.runner.environment import without_server_variables

_left_running: list[subprocess.Popen[bytes]] = []  # helpers let go while their scripts still ran
UNKNOWN_EXIT = -(2**31)  # the child ended, how is not known (the helper that reaped it died first)


@dataclass(frozen=True, slots=True)
class Child:
    """A started script: its pid, and its exit code once it has ended (128 + N: killed by signal N;
    ``UNKNOWN_EXIT``: unknown)."""

    pid: int
    exited: asyncio.Future[int]


def helpers_of(parent: int) -> list[int]:
    """The live spawn helpers that process ``parent`` started (for operators' tools, benchmarks, tests)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/comm") as comm:
                if comm.read().strip() != spawn_helper.PROCESS_NAME:
                    continue
            with open(f"/proc/{entry}/stat") as stat:
                state, ppid = stat.read().rsplit(")", 1)[1].split()[:2]
        except (OSError, ValueError):
            continue  # gone meanwhile
        if int(ppid) == parent and state != "Z":
            found.append(int(entry))
    return found


class SpawnerGone(RuntimeError):
    """The helper process stopped before it answered."""


class Spawner:
    def __init__(self) -> None:
        self._helper: subprocess.Popen[bytes] | None = None
        self._sock: socket.socket | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._next_id = 0
        self._starting: dict[int, asyncio.Future[Child]] = {}
        self._running: dict[int, asyncio.Future[int]] = {}  # pid -> exit code
        self._outbox: collections.deque[tuple[int, bytes, list[int]]] = collections.deque()
        self._pidfds: dict[int, int] = {}  # after the helper died: pid -> pidfd watched for its end

    def spawn(
        self,
        argv: Sequence[str],
        *,
        executable: str,
        cwd: str,
        env: Mapping[str, str] | None,
        stdout: int,
        stderr: int,
        identity: Mapping[str, Any],
        exit_marker: str | None = None,
    ) -> asyncio.Future[Child]:
        """Ask for ``argv`` to be started; the answer is the child, or the ``OSError`` that ``Popen``
        raised. ``stdout`` and ``stderr`` are handed over: they are closed here, sent or not. Once the
        child has ended, ``exit_marker`` and its exit code are appended to its stdout."""
        queued = False
        try:
            loop = asyncio.get_running_loop()
            sock = self._connected(loop)
            self._next_id += 1
            request = {
                "id": self._next_id,
                "argv": list(argv),
                "executable": executable,
                "cwd": cwd,
                "env": None if env is None else dict(env),  # None: the node's own environment
                "identity": dict(identity),
                "exit_marker": exit_marker,
            }
            message = pickle.dumps(request, pickle.HIGHEST_PROTOCOL)  # our own child on a private socket
            if len(message) > spawn_helper.MAX_MESSAGE:
                raise OSError(f"the script's command line and environment are too big ({len(message)} bytes)")
            answer: asyncio.Future[Child] = loop.create_future()
            self._starting[self._next_id] = answer
            self._outbox.append((self._next_id, message, [stdout, stderr]))
            queued = True
            self._send(sock)
            return answer
        finally:
            if not queued:
                os.close(stdout)
                os.close(stderr)

    def prepare(self) -> None:
        """Start the helper now (in the running event loop) rather than on the first spawn."""
        self._connected(asyncio.get_running_loop())

    def close(self) -> None:
        """Let the helper go (it exits when its socket closes); the scripts it started run on."""
        self._disconnect(SpawnerGone("the node is stopping"))
        for pidfd in self._pidfds.values():
            self._forget_pidfd(pidfd)
        self._pidfds.clear()

    # -- the helper ----------------------------------------------------------------------------------

    def _connected(self, loop: asyncio.AbstractEventLoop) -> socket.socket:
        if self._sock is not None and self._loop is loop:
            return self._sock
        if self._sock is not None:  # a previous event loop's (tests): start afresh
            self._disconnect(SpawnerGone("the helper belonged to another event loop"))
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            self._helper = subprocess.Popen(
                [sys.executable, "-I", "-S", str(Path(spawn_helper.__file__)), str(theirs.fileno())],
                pass_fds=[theirs.fileno()],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                start_new_session=True,  # a Ctrl+C in the node's terminal is for the node, not for it
                env=without_server_variables(),  # what a request without an environment passes on
            )
        except BaseException:
            ours.close()
            raise
        finally:
            theirs.close()
        ours.setblocking(False)
        self._sock, self._loop = ours, loop
        loop.add_reader(ours, self._readable)
        return ours

    def _send(self, sock: socket.socket) -> None:
        while self._outbox:
            request_id, message, fds = self._outbox[0]
            try:
                sock.sendmsg([message], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds))])
            except BlockingIOError:  # the helper is behind: send the rest when the socket drains
                assert self._loop is not None
                self._loop.add_writer(sock, self._send, sock)
                return
            except OSError as error:
                if error.errno != errno.EMSGSIZE:
                    self._disconnect(SpawnerGone(f"the helper that starts scripts stopped: {error}"))
                    return
                # Bigger than this socket's buffer: that one start fails, clearly; the rest go on.
                refused = self._starting.pop(request_id, None)
                if refused is not None and not refused.done():
                    size = len(message)
                    why = f"the script's command line and environment are too big to pass on ({size} bytes)"
                    refused.set_exception(OSError(errno.EMSGSIZE, why))
            self._outbox.popleft()
            for fd in fds:
                os.close(fd)
        assert self._loop is not None
        self._loop.remove_writer(sock)

    def _readable(self) -> None:
        sock = self._sock
        while sock is not None:
            gone = ""
            try:
                message = sock.recv(65536)
            except BlockingIOError:
                return
            except OSError as error:
                message, gone = b"", f": {error}"
            if not message:
                self._disconnect(SpawnerGone(f"the helper that starts scripts stopped{gone}"))
                return
            self._answer(pickle.loads(message))

    def _answer(self, answer: dict[str, Any]) -> None:
        if "id" in answer:
            started = self._starting.pop(answer["id"], None)
            if started is None or started.done():
                return
            if "error" in answer:
                number, text, filename = answer["error"]
                started.set_exception(OSError(number, text, filename) if number else OSError(text))
                return
            assert self._loop is not None
            exited = self._running[answer["pid"]] = self._loop.create_future()
            started.set_result(Child(answer["pid"], exited))
        elif (ended := self._running.pop(answer["pid"], None)) is not None and not ended.done():
            ended.set_result(answer["code"])

    def _disconnect(self, why: SpawnerGone) -> None:
        if self._sock is not None and self._loop is not None:
            with contextlib.suppress(RuntimeError, ValueError):  # the loop may be closed already
                self._loop.remove_reader(self._sock)
                self._loop.remove_writer(self._sock)
        if self._sock is not None:
            self._sock.close()
        self._sock = None
        for _, _, fds in self._outbox:
            for fd in fds:
                os.close(fd)
        self._outbox.clear()
        for started in self._starting.values():
            if not started.done():
                started.set_exception(why)
        self._starting.clear()
        for pid, exited in self._running.items():
            self._watch_pidfd(pid, exited)
        self._running.clear()
        if self._helper is not None and self._helper.poll() is None:
            # Still at work for scripts it started (see spawn_helper): reaped once it is done, by a later
            # helper start here, or by init when this process is gone.
            _left_running.append(self._helper)
        self._helper = None
        _left_running[:] = [helper for helper in _left_running if helper.poll() is None]

    def _watch_pidfd(self, pid: int, exited: asyncio.Future[int]) -> None:
        """The helper died with this child still ours to wait for: wait by pidfd, how it ended unknown."""
        if exited.done() or self._loop is None or self._loop.is_closed():
            return
        try:
            pidfd = os.pidfd_open(pid)
        except OSError:
            exited.set_result(UNKNOWN_EXIT)
            return
        self._pidfds[pid] = pidfd

        def ended() -> None:
            self._forget_pidfd(self._pidfds.pop(pid, -1))
            if not exited.done():
                exited.set_result(UNKNOWN_EXIT)

        self._loop.add_reader(pidfd, ended)

    def _forget_pidfd(self, pidfd: int) -> None:
        if pidfd < 0:
            return
        if self._loop is not None and not self._loop.is_closed():
            self._loop.remove_reader(pidfd)
        os.close(pidfd)
