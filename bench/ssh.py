"""SSH workers against real OpenSSH sshd processes: script latency, first use, throughput, beside plain ssh.

An SSH worker is a machine the server drives over its own SSH connection, with the runner uploaded over
SFTP on first use, so what it costs is the server's work on top of what OpenSSH itself costs for the
same ``echo hello``. Against one server (``--task-cap 50``) and 5 sshd instances on 127.0.0.1, each with
its own host key, client key, SshKeyPair account and worker (all 5 in one pool, all logging in as the
tests' KEY_USER; tests/sshd.py starts them):

1. Latency, connection reused: POST an ``echo hello`` ad-hoc script aimed at worker 1 (``TargetType:
   Workers``) to its finished task as the client sees it (the stream's final line), 50 sequential runs
   after 5 warm-ups. The built-in worker on the same server is measured the same way, for the part
   that is not SSH.
2. First use: the workers are registered and checked Healthy on the server, which is then restarted on
   the same home, so it holds no pooled connection. Each of the 5 workers (a distinct sshd each, none
   with an open connection, checked) then runs one script after this server's runner folder on the
   host (``~KEY_USER/.argonaut/<server>/runner``) is removed: connect, authenticate, upload the runner,
   run. The runner upload alone is also measured on an open connection (folder removed, worker 1, 5
   times).
3. Throughput: 100 tasks round-robin over the 5 workers on the 5 sshd instances (``MachineIds``, 20
   each), submitted at once on 100 keep-alive connections; from the first POST until the last task is
   seen finished. CPU per task of the server, of the sshd processes with the shells they ran, and of
   this client.
4. Plain OpenSSH beside them, against sshd 1: ``ssh … echo hello`` with a new connection each time
   (20 runs; again with ``-o KexAlgorithms=curve25519-sha256``, the exchange the server's asyncssh
   settles on, where OpenSSH's own default is the much slower sntrup761x25519), and through a
   ControlMaster/ControlPersist master started first (50 runs).

The goal: server latency p50 within 1.3x of the reused plain ssh p50. Needs root and openssh-server;
without them it says so and exits 0, or 1 under CI=true.

    .venv/bin/python bench/ssh.py
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[1] / "tests"))
from _http import RawClient  # noqa: E402
from _server import RunningServer, cpu_seconds, median, percentile, running_node, table  # noqa: E402
from sshd import KEY_USER, Sshd, make_sshd, sshd_binary  # noqa: E402  (tests/sshd.py)

SPACE = "/api/Spaces-1"
TASK_CAP = 50
SSHDS = 5
LATENCY_WARMUPS, LATENCY_RUNS = 5, 50
FIRST_USE_SAMPLES = SSHDS  # one per sshd: each a connection the restarted server has not opened yet
UPLOAD_SAMPLES = 5
THROUGHPUT_TASKS = 100
PLAIN_NEW_RUNS, PLAIN_REUSED_RUNS = 20, 50
GOAL_RATIO = 1.3
SERVER_KEX = "curve25519-sha256"  # what asyncssh and OpenSSH 9.2 settle on (asyncssh's debug log says so)
# No ssh_config of the user or the system (-F): these options are all there is.
SSH_OPTIONS = (
    "-F /dev/null -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o BatchMode=yes "
    "-o IdentitiesOnly=yes -o LogLevel=ERROR"
).split()


def missing_tools() -> str | None:
    """Why this machine cannot start an sshd for the benchmark, or None."""
    if sshd_binary() is None:
        return "OpenSSH sshd is not installed (Debian: apt-get install openssh-server)"
    for tool in ("ssh", "ssh-keygen"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (Debian: apt-get install openssh-client)"
    if os.geteuid() != 0:
        return "starting sshd for the benchmark's login account needs root"
    return None


# -- plumbing --------------------------------------------------------------------------------------------


async def api(client: RawClient, method: str, path: str, payload: Any = None, expect: int = 200) -> Any:
    status, body = await client.request(method, path, payload)
    if status != expect:
        raise RuntimeError(f"{method} {path}: {status} {body}")
    return body


def script(**target: Any) -> dict[str, Any]:
    return {"Name": "AdHocScript", "Arguments": {"ScriptBody": "echo hello", "Syntax": "Bash", **target}}


@dataclass
class Outcome:
    ms: float
    task: dict[str, Any]
    said_hello: bool  # the script's own output line reached the task log

    @property
    def ok(self) -> bool:
        return self.task.get("State") == "Success" and self.said_hello


async def run_task(client: RawClient, body: dict[str, Any]) -> Outcome:
    """POST a task and follow its stream to the final ``Task`` line."""
    started = time.perf_counter()
    task = await api(client, "POST", f"{SPACE}/tasks", body, expect=201)
    final: dict[str, Any] = {}
    hello = False
    async for event in client.stream_lines(f"/api/tasks/{task['Id']}/stream"):
        if event["Type"] == "Task":
            final = event["Task"]
        elif event.get("MessageText") == "hello":
            hello = True
    return Outcome((time.perf_counter() - started) * 1000, final, hello)


def checked(outcomes: Sequence[Outcome], what: str) -> list[float]:
    failed = [o for o in outcomes if not o.ok]
    if failed:
        raise RuntimeError(f"{len(failed)} {what} runs failed: {failed[0].task}")
    return [o.ms for o in outcomes]


def tree_cpu_seconds(roots: Sequence[int]) -> float:
    """CPU of these processes and all their descendants, the exited ones their parents reaped included.

    utime + stime + cutime + cstime of every live process in the trees: a reaped child's time is in its
    parent's c-fields only, so nothing counts twice (sshd's per-connection processes stay alive while the
    server's connection is pooled, and reap the shells each channel starts).
    """
    parents: dict[int, int] = {}
    times: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid = int(stat.parent.name)
        parents[pid] = int(fields[1])
        times[pid] = sum(int(f) for f in fields[11:15])
    inside = set(roots)
    grew = True
    while grew:
        more = {pid for pid, parent in parents.items() if parent in inside and pid not in inside}
        inside |= more
        grew = bool(more)
    return sum(times.get(pid, 0) for pid in inside) / os.sysconf("SC_CLK_TCK")


# -- the SSH side ----------------------------------------------------------------------------------------


@dataclass
class SshWorker:
    daemon: Sshd
    worker_id: str = ""

    @property
    def fingerprint(self) -> str:
        listed = subprocess.run(
            ["ssh-keygen", "-lf", f"{self.daemon.host_key}.pub"], capture_output=True, text=True, check=True
        )
        return listed.stdout.split()[1]

    def connections(self) -> int:
        """sshd's per-connection processes: how many connections are open to this daemon."""
        return len(self.daemon._children())


async def register(client: RawClient, workers: Sequence[SshWorker]) -> str:
    """An SshKeyPair account and a worker per sshd, all in one new pool; answers the pool's id."""
    pool = (await api(client, "POST", f"{SPACE}/workerpools", {"Name": "Bench SSH"}, expect=201))["Id"]
    for n, worker in enumerate(workers, 1):
        key = base64.b64encode(worker.daemon.client_key.read_bytes()).decode()
        account = {
            "Name": f"bench-ssh-key-{n}",
            "AccountType": "SshKeyPair",
            "Username": KEY_USER,
            "PrivateKeyFile": {"HasValue": True, "NewValue": key},
        }
        account_id = (await api(client, "POST", f"{SPACE}/accounts", account, expect=201))["Id"]
        endpoint = {
            "CommunicationStyle": "Ssh",
            "Host": "127.0.0.1",
            "Port": worker.daemon.port,
            "Fingerprint": worker.fingerprint,
            "AccountId": account_id,
        }
        body = {"Name": f"bench-ssh-{n}", "WorkerPoolIds": [pool], "Endpoint": endpoint}
        worker.worker_id = (await api(client, "POST", f"{SPACE}/workers", body, expect=201))["Id"]
    outcome = await run_task(client, {"Name": "Health", "Arguments": {"WorkerpoolId": pool}})
    page = await api(client, "GET", f"{SPACE}/workers?workerPoolIds={pool}&take=100")
    unhealthy = [
        f"{w['Name']}: {w['StatusSummary']}" for w in page["Items"] if w["HealthStatus"] != "Healthy"
    ]
    if outcome.task.get("State") != "Success" or unhealthy:
        raise RuntimeError(f"the health check ended {outcome.task.get('State')}: {unhealthy}")
    return str(pool)


async def server_folder(client: RawClient) -> Path:
    """This server's folder on the SSH host, named by its certificate (as the dispatcher names it)."""
    cert = await api(client, "GET", "/api/configuration/certificates/certificate-global")
    return Path(pwd.getpwnam(KEY_USER).pw_dir) / ".argonaut" / str(cert["Thumbprint"])[:16]


async def wait_disconnected(worker: SshWorker, timeout_s: float = 10.0) -> None:
    """The stopped server's connections are gone once sshd's per-connection processes have exited."""
    started = time.perf_counter()
    while worker.connections():
        if time.perf_counter() - started > timeout_s:
            raise RuntimeError(f"sshd on port {worker.daemon.port} still has a connection open")
        await asyncio.sleep(0.05)


# -- 4. plain OpenSSH ------------------------------------------------------------------------------------


def plain_ssh(worker: SshWorker, *extra: str) -> float:
    daemon = worker.daemon
    command = [
        "ssh",
        *SSH_OPTIONS,
        *extra,
        "-i",
        str(daemon.client_key),
        "-p",
        str(daemon.port),
        f"{KEY_USER}@127.0.0.1",
        "echo hello",
    ]
    started = time.perf_counter()
    done = subprocess.run(command, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=30)
    elapsed = (time.perf_counter() - started) * 1000
    if done.returncode != 0 or done.stdout != "hello\n":
        raise RuntimeError(f"plain ssh failed ({done.returncode}): {done.stdout!r} {done.stderr!r}")
    return elapsed


@dataclass
class PlainSsh:
    fresh: list[float]  # milliseconds, a new connection each time
    fresh_curve25519: list[float]  # the same with the key exchange the server's asyncssh negotiates
    reused: list[float]  # through a ControlPersist master


def plain_ssh_runs(worker: SshWorker, root: Path) -> PlainSsh:
    fresh = [plain_ssh(worker) for _ in range(PLAIN_NEW_RUNS)]
    # OpenSSH 9.x prefers sntrup761x25519 among its own kind, which asyncssh does not offer: it settles on
    # curve25519-sha256, a good deal cheaper, so a new connection is also timed with that exchange.
    curve = [plain_ssh(worker, "-o", f"KexAlgorithms={SERVER_KEX}") for _ in range(PLAIN_NEW_RUNS)]
    control = ["-o", "ControlMaster=auto", "-o", f"ControlPath={root / 'cm.sock'}", "-o", "ControlPersist=60"]
    try:
        plain_ssh(worker, *control)  # starts the master, which stays in the background
        for _ in range(LATENCY_WARMUPS):
            plain_ssh(worker, *control)
        reused = [plain_ssh(worker, *control) for _ in range(PLAIN_REUSED_RUNS)]
    finally:
        subprocess.run(
            ["ssh", *SSH_OPTIONS, *control, "-O", "exit", "-p", str(worker.daemon.port), "127.0.0.1"],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=30,
        )
    return PlainSsh(fresh, curve, reused)


# -- 1-3. through the server -----------------------------------------------------------------------------


@dataclass
class Sequential:
    ms: list[float]  # POST to finished, each run
    server_cpu_ms: float  # the server's CPU per run, averaged


async def latency(node: RunningServer, target: dict[str, Any]) -> Sequential:
    client = RawClient(node.url, node.key)
    try:
        for _ in range(LATENCY_WARMUPS):
            await run_task(client, script(**target))
        before = cpu_seconds(node.pid)
        outcomes = [await run_task(client, script(**target)) for _ in range(LATENCY_RUNS)]
        cpu_ms = (cpu_seconds(node.pid) - before) * 1000 / LATENCY_RUNS
    finally:
        await client.close()
    return Sequential(checked(outcomes, "latency"), cpu_ms)


async def first_use(node: RunningServer, workers: Sequence[SshWorker], runner: Path) -> Sequential:
    """One script per worker on a server that has no connection to it yet, its runner folder removed."""
    client = RawClient(node.url, node.key)
    timings, cpu = [], 0.0
    try:
        for worker in workers[:FIRST_USE_SAMPLES]:
            await wait_disconnected(worker)
            shutil.rmtree(runner, ignore_errors=True)
            before = cpu_seconds(node.pid)
            outcome = await run_task(client, script(TargetType="Workers", MachineIds=[worker.worker_id]))
            cpu += cpu_seconds(node.pid) - before
            if not (runner / "VERSION").exists():
                raise RuntimeError(f"the runner was not uploaded to {runner}")
            timings += checked([outcome], "first-use")
    finally:
        await client.close()
    return Sequential(timings, cpu * 1000 / len(timings))


async def upload_on_open_connection(node: RunningServer, worker: SshWorker, runner: Path) -> Sequential:
    client = RawClient(node.url, node.key)
    timings, cpu = [], 0.0
    try:
        for _ in range(UPLOAD_SAMPLES):
            shutil.rmtree(runner, ignore_errors=True)
            before = cpu_seconds(node.pid)
            outcome = await run_task(client, script(TargetType="Workers", MachineIds=[worker.worker_id]))
            cpu += cpu_seconds(node.pid) - before
            timings += checked([outcome], "upload")
    finally:
        await client.close()
    return Sequential(timings, cpu * 1000 / len(timings))


@dataclass
class Throughput:
    rate: float
    succeeded: int
    elapsed_s: float
    server_ms: float  # CPU per task
    sshd_ms: float
    client_ms: float


async def throughput(node: RunningServer, workers: Sequence[SshWorker]) -> Throughput:
    ids = itertools.cycle([w.worker_id for w in workers])
    bodies = [script(TargetType="Workers", MachineIds=[next(ids)]) for _ in range(THROUGHPUT_TASKS)]
    clients = [RawClient(node.url, node.key) for _ in bodies]
    daemons = [w.daemon.proc.pid for w in workers if w.daemon.proc is not None]
    server_cpu, sshd_cpu, client_cpu = cpu_seconds(node.pid), tree_cpu_seconds(daemons), time.process_time()
    started = time.perf_counter()
    try:
        results = await asyncio.gather(*(run_task(c, b) for c, b in zip(clients, bodies, strict=True)))
    finally:
        for client in clients:
            await client.close()
    elapsed = time.perf_counter() - started
    for failed in [r for r in results if not r.ok][:5]:  # a benchmark that loses tasks says why
        print(
            f"task {failed.task.get('Id')} ended {failed.task.get('State')}, its line "
            f"{'seen' if failed.said_hello else 'not seen'}: {failed.task.get('ErrorMessage')}"
        )
    per_task = 1000 / THROUGHPUT_TASKS
    return Throughput(
        THROUGHPUT_TASKS / elapsed,
        sum(1 for r in results if r.ok),
        elapsed,
        (cpu_seconds(node.pid) - server_cpu) * per_task,
        (tree_cpu_seconds(daemons) - sshd_cpu) * per_task,
        (time.process_time() - client_cpu) * per_task,
    )


# -- main ------------------------------------------------------------------------------------------------


async def sections(root: Path, workers: list[SshWorker], leftovers: list[Path]) -> None:
    for n in range(SSHDS):
        daemon = make_sshd(root / f"sshd-{n + 1}")
        workers.append(SshWorker(daemon))
        daemon.start()
    plain = plain_ssh_runs(workers[0], root)
    plain_reused = percentile(plain.reused, 50)

    home, key = root / "server-home", "API-BENCHSSH" + os.urandom(10).hex().upper()
    home.mkdir()
    args = ("--task-cap", str(TASK_CAP), "--comms-port", "0")
    with running_node(*args, log=root / "server-1.log", home=home, key=key) as node:
        client = RawClient(node.url, node.key)
        try:
            await register(client, workers)
            runner = await server_folder(client) / "runner"
            leftovers.append(runner.parent)  # this server's folder on the host, ours alone
        finally:
            await client.close()

    # The same server restarted on its home: the workers stay registered and Healthy, no connection open.
    with running_node(*args, log=root / "server-2.log", home=home, key=key) as node:
        cold = await first_use(node, workers, runner)
        upload = await upload_on_open_connection(node, workers[0], runner)
        through_ssh = await latency(node, {"TargetType": "Workers", "MachineIds": [workers[0].worker_id]})
        built_in = await latency(node, {"TargetType": "OctopusServer"})
        result = await throughput(node, workers)

    def row(name: str, ms: Sequence[float], cpu_ms: float | None = None, goal: str = "") -> list[object]:
        p50 = percentile(ms, 50)
        cpu = "" if cpu_ms is None else cpu_ms
        return [name, len(ms), p50, percentile(ms, 95), max(ms), cpu, f"{p50 / plain_reused:.2f}x", goal]

    table(
        "1, 2, 4. `echo hello`: server tasks POST to finished task as the client sees it, beside plain "
        f"ssh (ms; {SSHDS} sshd on 127.0.0.1)",
        ["measure", "runs", "p50", "p95", "max", "server CPU/run", "p50 / reused ssh", "goal"],
        [
            row(
                "SSH worker, connection reused",
                through_ssh.ms,
                through_ssh.server_cpu_ms,
                f"p50 within {GOAL_RATIO}x of reused plain ssh",
            ),
            row("SSH worker, first use: connect + runner upload", cold.ms, cold.server_cpu_ms),
            row("SSH worker, runner upload on an open connection", upload.ms, upload.server_cpu_ms),
            row("built-in worker, same server (no SSH)", built_in.ms, built_in.server_cpu_ms),
            row("plain ssh, new connection each time", plain.fresh),
            row(f"plain ssh, new connection, {SERVER_KEX} kex", plain.fresh_curve25519),
            row("plain ssh, ControlPersist master reused", plain.reused),
        ],
    )
    table(
        "2. First use, each sample a new connection to its own sshd from a just-restarted server, "
        "runner folder removed first",
        ["sample", "sshd port", "ms"],
        [[n, w.daemon.port, ms] for n, (w, ms) in enumerate(zip(workers, cold.ms, strict=False), 1)]
        + [["p50", "", median(cold.ms)]],
    )
    everything = f"{THROUGHPUT_TASKS}/{THROUGHPUT_TASKS}"
    table(
        f"3. {THROUGHPUT_TASKS} tasks at once, round-robin over {SSHDS} SSH workers on {SSHDS} sshd "
        f"instances (one connection each), --task-cap {TASK_CAP}",
        ["measure", "value", "goal"],
        [
            ["throughput (tasks/s)", result.rate, ""],
            ["tasks that succeeded", f"{result.succeeded}/{THROUGHPUT_TASKS}", everything],
            ["server CPU per task (ms)", result.server_ms, ""],
            ["sshd + remote shells CPU per task (ms)", result.sshd_ms, ""],
            ["benchmark client's CPU per task (ms)", result.client_ms, ""],
            ["server process, cores busy (CPU s / wall s)", result.server_ms * result.rate / 1000, ""],
            ["sshd side, cores busy", result.sshd_ms * result.rate / 1000, ""],
        ],
    )


async def main() -> None:
    why = missing_tools()
    if why is not None:
        print(f"bench/ssh.py cannot run here: {why}", file=sys.stderr)
        raise SystemExit(1 if os.environ.get("CI") == "true" else 0)
    # SIGTERM (a CI timeout, `kill`) cancels like Ctrl-C does, so the cleanup below runs either way.
    current = asyncio.current_task()
    assert current is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, current.cancel)
    print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at the start (noisy above ~1)")
    root = Path(tempfile.mkdtemp(prefix="argonaut-bench-ssh-"))
    os.chmod(root, 0o755)  # as tests/sshd.py leaves the sshd folders inside it
    workers: list[SshWorker] = []
    leftovers: list[Path] = []
    try:
        await sections(root, workers, leftovers)
    except BaseException:
        for log in sorted(root.glob("server-*.log")):
            print(f"\n{log.name}, last lines:\n{log.read_text()[-3000:]}", file=sys.stderr)
        raise
    finally:
        for worker in workers:
            worker.daemon.stop()
        for folder in [root, *leftovers]:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    asyncio.run(main())
