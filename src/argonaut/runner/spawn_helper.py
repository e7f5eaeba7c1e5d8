"""The process that starts the built-in worker's scripts for its node: see :mod:`argonaut.runner.spawner`.

Run as ``python -I -S spawn_helper.py <fd>``, so it imports nothing but the standard library and starts in
a few milliseconds with a few megabytes. ``<fd>`` is its end of a ``SOCK_SEQPACKET`` socket pair with the
node. Each request is one message (a pickled dict, with the script's stdout and stderr passed along as
descriptors); each answer is one message: ``{"id", "pid"}`` or ``{"id", "error"}`` for a start,
``{"pid", "code"}`` when a child it started has ended (128 + N when killed by signal N, as a shell
says it).

It is the scripts' parent, so it is what learns how each ended: it appends the request's ``exit_marker``
and the code to the script's stdout, then tells the node. That line is how a node that did not start the
script (the next one, after this one was stopped or killed) learns the outcome; so when the node's end
of the socket closes, the helper stays until the last script it started has ended and been written up,
and only then exits.
"""

from __future__ import annotations

import array
import contextlib
import os
import pickle
import select
import signal
import socket
import subprocess
import sys
from typing import Any

PROCESS_NAME = "argonaut-spawn"  # what ps and top show for it: a node's helper, not a stray python
MAX_MESSAGE = 1 << 20  # the node refuses to send a larger request
# Python ignores SIGPIPE and SIGXFSZ; a script must not inherit that (as Popen's restore_signals does).
_RESTORED_SIGNALS = (signal.SIGPIPE, signal.SIGXFSZ)
# What a request without an environment passes on: ours, as the node gave it, read once (os.environ
# decodes every name and value on each pass).
_INHERITED = dict(os.environ)


def _receive(sock: socket.socket) -> tuple[bytes, list[int]]:
    fds = array.array("i")
    message, ancillary, _, _ = sock.recvmsg(
        MAX_MESSAGE, socket.CMSG_SPACE(2 * fds.itemsize), socket.MSG_CMSG_CLOEXEC
    )
    for level, kind, data in ancillary:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.frombytes(data[: len(data) - len(data) % fds.itemsize])
    return message, list(fds)


class Children:
    """What is written once each child ends: pid -> (its stdout, the marker that precedes its code)."""

    def __init__(self) -> None:
        self.markers: dict[int, tuple[int, bytes]] = {}

    def start(self, request: dict[str, Any], fds: list[int]) -> dict[str, Any]:
        answer = _start(request, fds)
        if "pid" in answer and request.get("exit_marker"):
            stdout = fds.pop(0)  # kept open until the child ends, for its marker
            self.markers[answer["pid"]] = (stdout, request["exit_marker"].encode())
        for fd in fds:
            os.close(fd)
        return answer

    def reap(self) -> list[dict[str, int]]:
        """Every child that has ended since the last call, written up."""
        ended: list[dict[str, int]] = []
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return ended
            if pid == 0:
                return ended
            code = os.waitstatus_to_exitcode(status)
            code = 128 - code if code < 0 else code
            stdout, marker = self.markers.pop(pid, (-1, b""))
            if stdout >= 0:
                with contextlib.suppress(OSError):  # a full disk: the outcome is then unknown to a next node
                    os.write(stdout, b"%s %d\n" % (marker, code))
                os.close(stdout)
            ended.append({"pid": pid, "code": code})


def _start(request: dict[str, Any], fds: list[int]) -> dict[str, Any]:
    answer: dict[str, Any] = {"id": request["id"]}
    try:
        answer["pid"] = (_popen if request["identity"] else _posix_spawn)(request, *fds)
    except OSError as error:
        answer["error"] = (error.errno, error.strerror, error.filename)
    except Exception as error:  # a bad argument: the node reports it as the script's failure to start
        answer["error"] = (None, str(error), None)
    return answer


def _posix_spawn(request: dict[str, Any], stdout: int, stderr: int) -> int:
    """The cheaper start (half of ``Popen``'s CPU): possible when the script runs as us. Every
    descriptor of this process but the three given is close-on-exec, so none leaks into the script."""
    os.chdir(request["cwd"])  # one thread here: the child inherits it, nothing else is affected
    return os.posix_spawn(
        request["executable"],
        request["argv"],
        _INHERITED if request["env"] is None else request["env"],
        file_actions=[
            (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
            (os.POSIX_SPAWN_DUP2, stdout, 1),
            (os.POSIX_SPAWN_DUP2, stderr, 2),
        ],
        setsid=True,  # its own session: it survives us, and a cancel reaches its children
        setsigdef=_RESTORED_SIGNALS,
        setsigmask=(),
    )


def _popen(request: dict[str, Any], stdout: int, stderr: int) -> int:
    """As another user (switched in the child before its exec, which posix_spawn cannot do)."""
    process = subprocess.Popen(
        request["argv"],
        executable=request["executable"],
        stdin=subprocess.DEVNULL,
        stdout=stdout,
        stderr=stderr,
        cwd=request["cwd"],
        env=request["env"],
        start_new_session=True,
        **request["identity"],
    )
    process.returncode = 0  # Children.reap reaps it (waitpid(-1)); Popen must never try to
    return process.pid


def main(fd: int) -> None:
    with open("/proc/self/comm", "w") as comm:
        comm.write(PROCESS_NAME)
    sock = socket.socket(fileno=fd)
    sock.set_inheritable(False)  # passed to us inheritable; no script may hold the node's socket
    sock.setblocking(True)
    wake_read, wake_write = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
    signal.set_wakeup_fd(wake_write)
    signal.signal(signal.SIGCHLD, lambda *_: None)  # reset to the default in every child by exec
    poll = select.poll()
    poll.register(sock, select.POLLIN)
    poll.register(wake_read, select.POLLIN)
    children = Children()
    node: socket.socket | None = sock
    while node is not None or children.markers:
        for ready, _ in poll.poll():
            if ready == wake_read:
                with contextlib.suppress(BlockingIOError):
                    while os.read(wake_read, 4096):
                        pass
            elif node is not None:
                message, fds = _receive(node)
                if message:
                    node.sendall(pickle.dumps(children.start(pickle.loads(message), fds)))
                else:  # the node closed its end (it stopped, or died): see the scripts out, then go
                    _let_go(poll, node)
                    node = None
            for ended in children.reap():
                if node is not None:
                    try:
                        node.sendall(pickle.dumps(ended))
                    except OSError:  # gone: the markers are what a next node reads
                        _let_go(poll, node)
                        node = None


def _let_go(poll: select.poll, node: socket.socket) -> None:
    """Stop listening to the node; its scripts are still ours to write up."""
    poll.unregister(node)
    node.close()


if __name__ == "__main__":
    try:
        main(int(sys.argv[1]))
    except (BrokenPipeError, ConnectionResetError, KeyboardInterrupt):
        pass
