"""Scripts, health checks and runner updates on SSH workers: the Dispatcher for ``Ssh`` endpoints.

Per worker, under ``~/.argonaut/<server>/`` (a folder per server, so two servers never share state):
``runner/`` holds the runner bundle, uploaded on first use and whenever the server's is newer, and
``work/run-*`` is one fresh working folder per script, removed afterwards. Files move over exec
channels (``cat``), never SFTP: many hardened hosts drop the sftp subsystem, and a plain shell is all
a worker needs. The script's
bytes are the same the local runner would produce: ``#{}`` substitution, the variables file and the
bootstraps; its output goes through the runner's own line handling (service messages, masking).
The script runs in its own session (setsid), so cancelling kills its whole process group.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import shlex
import weakref
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import asyncssh

from argonaut.domain.health import HealthReport
from argonaut.domain.masking import Masker
from argonaut.domain.scripts import (
    CollectedArtifact,
    Cursor,
    LogEntry,
    ScriptHandle,
    ScriptJob,
    ScriptLost,
    ScriptOutcome,
    Started,
    Target,
    WorkerTarget,
    WorkerUnreachable,
)
from argonaut.domain.substitution import substitute
from argonaut.domain.workers import HealthStatus
from argonaut.runner.lines import LineSplitter
from argonaut.runner.output import ScriptOutput
from argonaut.runner.workspace import encode_variables
from argonaut.ssh.connections import Login, SshConnections, SshError

Credentials = Callable[[str], Awaitable[tuple[str, str | None, bytes | None, str | None]]]
"""AccountId -> (username, password, private key file, passphrase), decrypted for this one use."""

KILL_GRACE_S = 3
STDERR_DRAIN_S = 5.0


_LOOP_READY = "##argonaut-loop ready"
_LOOP_OUTDATED = "##argonaut-loop runner-outdated"
# The remote script loop ($1: the server's folder under $HOME, $2: the runner version it needs).
# Per script it reads "<nonce> <script bytes> <variables bytes> <syntax>" and those bytes from stdin,
# runs the script with setsid (its pid is its process group, which a cancel kills), reports the exit
# code on both streams, waits for "done" while artifacts are fetched, and removes the folder. Bash
# builtins stand in for programs wherever they can: each program costs the host about a millisecond.
_LOOP = r"""
umask 077; export LC_ALL=C
B="$HOME/$1"
[ "$(< "$B/runner/VERSION")" = "$2" ] 2>/dev/null || { echo "##argonaut-loop runner-outdated"; exit 124; }
[ -d "$B/work" ] || mkdir -p "$B/work"
BOOT=$(< "$B/runner/bootstrap.sh"); HELPERS=$(< "$B/runner/helpers.sh")
take() { if [ "$1" -eq 0 ]; then : > "$2"
  elif [ "$1" -gt 32768 ]; then dd iflag=fullblock bs="$1" count=1 status=none > "$2"
  else IFS= read -r -d '' -N "$1" body; printf '%s' "$body" > "$2"; fi; }
echo "##argonaut-loop ready"
while IFS=' ' read -r nonce sbytes vbytes syntax; do
  M="##argonaut-$nonce"; W="$B/work/run-$nonce"
  if ! mkdir "$W"; then echo "$M-exit 125"; echo "$M-exit 125" >&2; read -r _; continue; fi
  echo "$M-work $W"
  if [ "$syntax" = Python ]; then S="$W/script.py"; else S="$W/script.sh"; fi
  take "$sbytes" "$S"; take "$vbytes" "$W/.argonaut-variables"
  cd "$W"
  if [ "$syntax" = Python ]; then
    setsid python3 -u "$B/runner/bootstrap.py" "$S" "$W/.argonaut-variables" < /dev/null &
  else
    setsid bash -c "$BOOT" "$S" "$W/.argonaut-variables" "$HELPERS" < /dev/null &
  fi
  echo "$M-pgid $!"
  wait $!; rc=$?
  cd "$B"
  echo "$M-exit $rc"; echo "$M-exit $rc" >&2
  read -r _
  rm -rf "$W"
done
"""


class _RunnerOutdated(Exception):
    """The host's runner is missing or not this server's version; the script did not start."""


class _RemoteRun:
    """The markers one remote run prints about itself, with a nonce a script cannot guess."""

    def __init__(self, nonce: str) -> None:
        self.nonce = nonce
        self.prefix = f"##argonaut-{nonce}-"
        self.pgid: int | None = None
        self.work = ""
        self.runner_outdated = False

    def marker(self, kind: str) -> str:
        return f"{self.prefix}{kind}"

    def take(self, line: str, exit_code: list[int]) -> bool:
        kind, _, value = line[len(self.prefix) :].partition(" ")
        if kind == "pgid" and value.isdigit():
            self.pgid = int(value)
        elif kind == "work":
            self.work = value
        elif kind == "exit" and value.lstrip("-").isdigit():
            exit_code.append(int(value))
        elif kind == "runner":
            self.runner_outdated = True
        else:
            return False
        return True


@dataclass
class _SshRun:
    """A script handed to a script loop: what following, cancelling and releasing it need."""

    login: Login
    connection: asyncssh.SSHClientConnection
    loop: asyncssh.SSHClientProcess[bytes]
    remote: _RemoteRun
    slot: asyncio.Semaphore
    reusable: bool = False  # the loop finished the script cleanly and can take the next one


def _worker(handle: ScriptHandle) -> WorkerTarget:
    assert isinstance(handle.target, WorkerTarget), "SSH scripts run on workers"
    return handle.target


class SshDispatcher:
    def __init__(
        self,
        connections: SshConnections,
        credentials: Credentials,
        server_id: str,
        runner_version: str,
        runner_files: Mapping[str, str],
    ) -> None:
        self._connections = connections
        self._credentials = credentials
        self._base = f".argonaut/{server_id}"
        self._runner_version = runner_version
        self._runner_files = dict(runner_files)
        self._runs: dict[str, _SshRun] = {}  # ticket -> script started and not yet released
        # Idle script loops per connection (see _loop); they go when their connection goes.
        self._idle: weakref.WeakKeyDictionary[
            asyncssh.SSHClientConnection, list[asyncssh.SSHClientProcess[bytes]]
        ] = weakref.WeakKeyDictionary()
        # One runner update at a time per connection: scripts starting together all find the runner
        # outdated, and a second upload rewriting the files under a loop that was reading them made that
        # loop find it outdated again (bench/ssh.py: up to 13 of 100 scripts failed so).
        self._updating: weakref.WeakKeyDictionary[asyncssh.SSHClientConnection, asyncio.Lock] = (
            weakref.WeakKeyDictionary()
        )

    async def _login(self, target: WorkerTarget) -> Login:
        raw = target.endpoint
        account = str(raw.get("AccountId") or "")
        try:
            username, password, key, passphrase = await self._credentials(account)
        except LookupError:
            raise WorkerUnreachable(
                f"Worker '{target.name}': its account {account} no longer exists"
            ) from None
        return Login(
            str(raw.get("Host")),
            int(raw.get("Port") or 22),
            username,
            raw.get("Fingerprint"),
            password,
            key,
            passphrase,
        )

    async def _connection(self, target: WorkerTarget) -> tuple[Login, asyncssh.SSHClientConnection]:
        login = await self._login(target)
        try:
            return login, await self._connections.connection(login)
        except SshError as exc:
            raise WorkerUnreachable(f"Worker '{target.name}': {exc}") from None

    # -- runner ----------------------------------------------------------------------------------------

    async def update_runner(self, target: Target) -> str | None:
        assert isinstance(target, WorkerTarget)
        _, connection = await self._connection(target)
        return await self._install_runner(connection)

    async def _install_runner(self, connection: asyncssh.SSHClientConnection) -> str | None:
        found = await connection.run(f"cat {self._base}/runner/VERSION 2>/dev/null", check=False)
        current = str(found.stdout or "").strip() or None
        if current == self._runner_version:
            return None
        folder = f"{self._base}/runner"
        await connection.run(f"mkdir -p {folder} && chmod 700 .argonaut {self._base}", check=False)
        # One exec channel per file: `cat > file` is binary-safe, has no length limit and needs no
        # subsystem. VERSION goes last, so a half-written runner is never taken for the current one.
        # Each file is written beside its place and renamed into it: other servers' connections (SSH
        # workers on one host and user, or homes shared over NFS) may update the same runner at once, and
        # a loop starting meanwhile must read a whole file, old or new, never one being rewritten.
        nonce = secrets.token_hex(4)
        for name, text in [*self._runner_files.items(), ("VERSION", self._runner_version)]:
            path = f"{folder}/{name}"
            part, final = shlex.quote(f"{path}.{nonce}.part"), shlex.quote(path)
            command = f"cat > {part} && mv -f {part} {final} || {{ rm -f {part}; false; }}"
            written = await connection.run(command, input=text, check=False)
            if written.exit_status != 0:
                why = str(written.stderr or "").strip() or f"exit code {written.exit_status}"
                raise OSError(f"could not write the runner to ~/{path} on the host: {why}")
        return current or "none"

    # -- scripts ---------------------------------------------------------------------------------------

    async def start(self, handle: ScriptHandle, job: ScriptJob) -> Started:
        """Hand the script to an idle script loop on the host (or a new one) and return at once."""
        target = _worker(handle)
        login, connection = await self._connection(target)
        slot = self._connections.channel_slot(login)
        await slot.acquire()
        try:
            try:
                loop = await self._loop(connection)
                updated_from = None
            except _RunnerOutdated:  # the loop checks the runner as it starts: no extra round trip
                loop, updated_from = await self._updated_loop(connection)
            remote = _RemoteRun(secrets.token_hex(6))
            script = substitute(job.script_body, job.variables).encode()
            variables = encode_variables(job.variables)
            header = f"{remote.nonce} {len(script)} {len(variables)} {job.syntax}\n".encode()
            loop.stdin.write(header + script + variables)
        except (asyncssh.Error, OSError) as exc:
            slot.release()
            self._connections.forget(login)
            raise WorkerUnreachable(f"Worker '{target.name}': the SSH connection failed: {exc}") from None
        except _RunnerOutdated:
            slot.release()
            raise WorkerUnreachable(
                f"Worker '{target.name}': the runner on the host was still not this server's version "
                f"({self._runner_version}) right after it was uploaded; is something else writing "
                f"~/{self._base}?"
            ) from None
        except BaseException:
            slot.release()
            raise
        self._runs[handle.ticket] = _SshRun(login, connection, loop, remote, slot)
        return Started(runner_updated_from=updated_from)

    async def follow(
        self, handle: ScriptHandle, job: ScriptJob, cursor: Cursor, on_log: Callable[[LogEntry], None]
    ) -> ScriptOutcome:
        """Read the script's output off the channel until its exit markers, then fetch its artifacts.

        The output exists only on the channel, so a script whose node went away cannot be followed:
        its outcome is unknown (the handle says so, and the task is failed honestly)."""
        target = _worker(handle)
        run = self._runs.get(handle.ticket)
        if run is None:
            raise ScriptLost(
                f"Worker '{target.name}': an SSH script cannot be followed after the server node that "
                "started it stopped, so its outcome is unknown"
            )
        masker = Masker(job.sensitive_values)

        output = ScriptOutput(on_log, masker)
        try:
            exit_code = await self._follow(run.loop, output, run.remote)
            artifacts = await self._artifacts(run.connection, output, run.remote.work, job.artifact_dir)
            run.loop.stdin.write(b"done\n")  # the folder may go now; the loop takes the next script
            run.reusable = True
        except _RunnerOutdated:
            raise WorkerUnreachable(
                f"Worker '{target.name}': the runner on the host changed mid-script"
            ) from None
        except (asyncssh.Error, OSError) as exc:
            self._connections.forget(run.login)
            raise WorkerUnreachable(f"Worker '{target.name}': the SSH connection failed: {exc}") from None
        return ScriptOutcome(exit_code, output.output_variables, artifacts, output.failure(exit_code))

    async def cancel(self, handle: ScriptHandle) -> None:
        run = self._runs.get(handle.ticket)
        if run is not None:
            run.reusable = False
            with contextlib.suppress(asyncssh.Error, OSError):
                await self._kill(run.connection, run.remote)

    async def release(self, handle: ScriptHandle) -> None:
        run = self._runs.pop(handle.ticket, None)
        if run is None:
            return
        if run.reusable and not run.loop.is_closing():
            self._idle.setdefault(run.connection, []).append(run.loop)
        else:
            run.loop.close()
        run.slot.release()

    async def _updated_loop(
        self, connection: asyncssh.SSHClientConnection
    ) -> tuple[asyncssh.SSHClientProcess[bytes], str | None]:
        """A loop on a runner brought up to date, and the version it was updated from (None when another
        script's start updated it meanwhile)."""
        async with self._updating.setdefault(connection, asyncio.Lock()):
            try:
                return await self._loop(connection), None
            except _RunnerOutdated:
                updated_from = await self._install_runner(connection)
                return await self._loop(connection), updated_from

    async def _loop(self, connection: asyncssh.SSHClientConnection) -> asyncssh.SSHClientProcess[bytes]:
        """An idle script loop on this connection, or a new one.

        A loop is one long-lived remote bash that runs the scripts it is handed, one at a time: a
        script then costs no new channel and no new login shell (bench/ssh.py measured both).
        """
        idle = self._idle.setdefault(connection, [])
        while idle:
            loop = idle.pop()
            if not loop.is_closing():
                return loop
        arguments = f"{shlex.quote(self._base)} {shlex.quote(self._runner_version)}"
        loop = await connection.create_process(
            f"exec bash -c {shlex.quote(_LOOP)} argonaut {arguments}", encoding=None
        )
        first = (await loop.stdout.readline()).decode(errors="replace").strip()
        if first == _LOOP_READY:
            return loop
        loop.close()
        if first == _LOOP_OUTDATED:
            raise _RunnerOutdated()
        raise asyncssh.ConnectionLost(f"the script loop did not start on the host: {first or 'no answer'}")

    async def _follow(
        self, process: asyncssh.SSHClientProcess[bytes], output: ScriptOutput, run: _RemoteRun
    ) -> int:
        """Read both streams until each carries the end marker (or closes): every line is in, in order,
        though the remote shell stays open for the artifacts handshake."""
        exit_code: list[int] = []

        def line_handler(deliver: Callable[[str], None], codes: list[int]) -> Callable[[str], bool]:
            def handle(text: str) -> bool:
                if text.startswith(run.prefix) and run.take(text, codes):
                    return text.startswith(run.marker("exit")) or run.runner_outdated
                deliver(text)
                return False

            return handle

        async def pump(stream: asyncssh.SSHReader[bytes], handle: Callable[[str], bool]) -> None:
            done = False

            def emit(text: str) -> None:
                nonlocal done
                done = done or handle(text)

            splitter = LineSplitter(emit)
            while not done and (chunk := await stream.read(65536)):
                splitter.feed(chunk)
            if not done:
                splitter.flush()

        errors = asyncio.ensure_future(pump(process.stderr, line_handler(output.stderr_line, [])))
        try:
            await pump(process.stdout, line_handler(output.stdout_line, exit_code))
            # stderr's marker follows the script's last stderr line; never wait on it forever, as the
            # remote shell holds the channel open until the artifacts handshake.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(errors), STDERR_DRAIN_S)
        finally:
            errors.cancel()
        if run.runner_outdated:
            raise _RunnerOutdated()
        if exit_code:
            return exit_code[0]
        raise asyncssh.ConnectionLost("the script loop on the host ended in the middle of a script")

    async def _kill(self, connection: asyncssh.SSHClientConnection, run: _RemoteRun) -> None:
        if run.pgid is not None:
            group = f"-{run.pgid}"
            await connection.run(
                f"kill -TERM -- {group} 2>/dev/null; sleep {KILL_GRACE_S}; kill -KILL -- {group} 2>/dev/null",
                check=False,
            )
        if run.work:
            await connection.run(f"rm -rf {shlex.quote(run.work)}", check=False)

    async def _artifacts(
        self, connection: asyncssh.SSHClientConnection, output: ScriptOutput, work: str, folder: Path | None
    ) -> tuple[CollectedArtifact, ...]:
        if not output.artifact_requests or folder is None:
            return ()
        folder.mkdir(parents=True, exist_ok=True)
        collected = []
        for request in output.artifact_requests:
            remote = request.path if request.path.startswith("/") else f"{work}/{request.path}"
            name = request.name or PurePosixPath(request.path).name
            local = folder / f"{secrets.token_hex(8)}-{PurePosixPath(name).name}"
            # `cat` over an exec channel, streamed into the local file (asyncssh opens it "wb"), so a
            # host without the sftp subsystem still hands its artifacts over.
            fetched = await connection.run(
                f"cat -- {shlex.quote(remote)}", stdout=local, encoding=None, check=False
            )
            if fetched.exit_status != 0:
                local.unlink(missing_ok=True)
                raw = fetched.stderr if isinstance(fetched.stderr, bytes) else b""
                why = raw.decode(errors="replace").strip() or f"exit code {fetched.exit_status}"
                output.log("Warning", f"Artifact {request.path} was not collected: {why}")
                continue
            collected.append(CollectedArtifact(name, local, local.stat().st_size))
        return tuple(collected)

    # -- health ----------------------------------------------------------------------------------------

    async def check_health(self, target: Target, timeout_s: float) -> HealthReport:
        assert isinstance(target, WorkerTarget)
        try:
            async with asyncio.timeout(timeout_s):
                login = await self._login(target)
                connection = await self._connections.connection(login)
                probe = await connection.run(
                    # One value per line: $(…) drops a file's missing final newline that would merge lines.
                    'echo "$(uname -s)"; echo "$(uname -m)"; '
                    f'echo "$(cat "$HOME/{self._base}/runner/VERSION" 2>/dev/null || echo none)"; '
                    'echo "$(command -v python3 >/dev/null && echo python3 || echo no-python3)"; '
                    'echo "$(df -Pk "$HOME" | tail -1 | awk \'{print $4}\')"',
                    check=False,
                )
        except TimeoutError:
            return HealthReport(HealthStatus.UNAVAILABLE, f"The machine did not answer within {timeout_s:g}s")
        except SshError as exc:
            status = HealthStatus.UNHEALTHY if exc.reachable else HealthStatus.UNAVAILABLE
            return HealthReport(status, str(exc))
        except WorkerUnreachable as exc:
            return HealthReport(HealthStatus.UNHEALTHY, str(exc))
        except (asyncssh.Error, OSError) as exc:
            self._connections.forget(login)
            return HealthReport(HealthStatus.UNAVAILABLE, f"The SSH connection failed: {exc}")
        system, machine, runner, python, free_kb = (str(probe.stdout or "").split("\n") + [""] * 5)[:5]
        warnings = []
        if python.strip() != "python3":
            warnings.append("python3 is missing, so Python scripts cannot run here")
        free_mb = int(free_kb) // 1024 if free_kb.strip().isdigit() else None
        if free_mb is not None and free_mb < target.min_free_disk_mb:
            warnings.append(
                f"only {free_mb} MB of disk is free (the policy warns under {target.min_free_disk_mb} MB)"
            )
        details = {
            "OperatingSystem": system.strip() or "Unknown",
            "Architecture": machine.strip() or "Unknown",
            "ShellName": "Bash",
        }
        status = HealthStatus.HAS_WARNINGS if warnings else HealthStatus.HEALTHY
        summary = "; ".join(warnings) if warnings else "The machine is healthy"
        version = runner.strip()
        if version != self._runner_version:
            # Drift seen (a reinstalled host, say): idle loops hold the old runner; new ones check again.
            for loop in self._idle.pop(connection, []):
                loop.close()
        return HealthReport(status, summary, version, details)
