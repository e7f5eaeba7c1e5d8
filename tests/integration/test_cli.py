"""The client verbs of ``argonaut`` as a user runs them: a real CLI process against a real server process.

Each test uses the shared ``server`` fixture and its own uniquely named resources, and checks what a
person or a CI pipeline would look at: exit codes, the lines printed, and the resources left behind.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from argonaut.cli.client.follow import MAX_RETRIES, Follower, LogPrinter
from argonaut.cli.client.http import ApiSession, CliError

ARGONAUT = Path(sys.executable).with_name("argonaut")
DEFAULT_POOL = "Default Worker Pool"


def unique(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(4)}"


def run_cli(server: Any, *args: str, api_key: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ARGONAUT_SERVER": server.url, "ARGONAUT_API_KEY": api_key or server.api_key}
    env.pop("ARGONAUT_SPACE", None)
    return subprocess.run([str(ARGONAUT), *args], env=env, capture_output=True, text=True, timeout=120)


def run_json(server: Any, *args: str) -> Any:
    done = run_cli(server, *args, "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def one_error_line(done: subprocess.CompletedProcess[str]) -> str:
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("error: "), done.stderr
    assert "Traceback" not in done.stderr
    return lines[0]


# -- help --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("group", ["space", "worker-pool", "worker", "machine-policy", "task"])
def test_a_groups_help_names_its_real_verbs(group: str) -> None:
    """``task --help`` promised a ``follow`` verb that does not exist and left out ``log``: each verb's
    first word must be in its group's one-line description."""
    done = subprocess.run([str(ARGONAUT), group, "--help"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    description = lines[2].strip()
    verbs = [line.split()[0] for line in lines[lines.index("Commands:") + 1 :] if line.strip()]
    assert verbs, done.stdout
    for verb in verbs:
        assert verb.split("-")[0].casefold() in description.casefold(), (verb, description)


# -- spaces, pools, workers, policies --------------------------------------------------------------------


def test_space_create_then_list_shows_it(server: Any) -> None:
    name = unique("team")
    created = run_cli(server, "space", "create", name, "--description", "made by the CLI test")
    assert created.returncode == 0, created.stderr
    assert name in created.stdout

    spaces = run_json(server, "space", "list")
    mine = [s for s in spaces if s["Name"] == name]
    assert len(mine) == 1 and mine[0]["Description"] == "made by the CLI test"
    assert any(s["IsDefault"] for s in spaces)

    table = run_cli(server, "space", "list")
    assert table.returncode == 0 and name in table.stdout


def test_worker_pool_round_trip_in_a_named_space(server: Any) -> None:
    space = unique("space")
    assert run_cli(server, "space", "create", space).returncode == 0
    pool = unique("builders")

    created = run_json(server, "worker-pool", "create", pool, "-d", "Linux", "--space", space.upper())
    assert created["Name"] == pool and created["Description"] == "Linux" and created["IsDefault"] is False

    pools = run_json(server, "worker-pool", "list", "--space", space)
    assert {p["Name"] for p in pools} == {DEFAULT_POOL, pool}
    default_space_pools = run_json(server, "worker-pool", "list")
    assert pool not in {p["Name"] for p in default_space_pools}

    deleted = run_cli(server, "worker-pool", "delete", pool.upper(), "--space", space)
    assert deleted.returncode == 0, deleted.stderr
    assert created["Id"] in deleted.stdout
    assert pool not in {p["Name"] for p in run_json(server, "worker-pool", "list", "--space", space)}


def test_deleting_a_missing_pool_is_one_error_line(server: Any) -> None:
    done = run_cli(server, "worker-pool", "delete", unique("ghost"))
    assert done.returncode == 1
    assert "ghost" in one_error_line(done)


def test_server_errors_are_shown_as_one_line(server: Any) -> None:
    # The name resolves, but the server refuses: the default pool cannot be deleted.
    done = run_cli(server, "worker-pool", "delete", DEFAULT_POOL)
    assert done.returncode == 1
    one_error_line(done)
    assert run_cli(server, "task", "show", "ServerTasks-999999").returncode == 1


def test_unknown_space_is_one_error_line(server: Any) -> None:
    done = run_cli(server, "worker-pool", "list", "--space", unique("nowhere"))
    assert done.returncode == 1
    assert "nowhere" in one_error_line(done)


def test_wrong_api_key_is_a_one_line_401(server: Any) -> None:
    done = run_cli(server, "space", "list", api_key="API-" + "X" * 28)
    assert done.returncode == 1
    assert "API key" in one_error_line(done)


def test_unreachable_server_is_one_line(server: Any) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    done = run_cli(server, "space", "list", "--server", f"http://127.0.0.1:{port}")
    assert done.returncode == 1
    assert one_error_line(done).startswith(
        f"error: cannot reach the Argonaut server at http://127.0.0.1:{port}"
    )


def test_usage_errors_exit_2(server: Any) -> None:
    assert run_cli(server, "run-script", "--pool", DEFAULT_POOL).returncode == 2  # no script
    assert run_cli(server, "run-script", "--body", "true").returncode == 2  # no target
    assert run_cli(server, "space", "list", "--server", "not-a-url").returncode == 2


def test_machine_policy_list(server: Any) -> None:
    policies = run_json(server, "machine-policy", "list")
    default = [p for p in policies if p["IsDefault"]]
    assert len(default) == 1 and default[0]["MachineHealthCheckPolicy"]["HealthCheckInterval"]
    table = run_cli(server, "machine-policy", "list")
    assert table.returncode == 0 and default[0]["Name"] in table.stdout


def test_worker_list_show_and_delete(server: Any) -> None:
    # A pool of its own: a listening worker in the default pool would take the other tests' scripts.
    pool = run_json(server, "worker-pool", "create", unique("tentacles"))
    name = unique("tentacle")
    body = {
        "Name": name,
        "WorkerPoolIds": [pool["Id"]],
        "Endpoint": {
            "CommunicationStyle": "TentaclePassive",
            "Uri": "https://127.0.0.1:10933/",
            "Thumbprint": secrets.token_hex(20).upper(),
        },
    }
    created = server.client.post("/api/workers", json=body)
    assert created.status_code == 201, created.text
    worker_id = created.json()["Id"]

    assert [w["Id"] for w in run_json(server, "worker", "list", "--pool", pool["Name"])] == [worker_id]
    assert worker_id in {w["Id"] for w in run_json(server, "worker", "list")}
    listed = run_cli(server, "worker", "list", "--pool", pool["Id"])
    assert listed.returncode == 0 and name in listed.stdout and pool["Name"] in listed.stdout

    shown = run_json(server, "worker", "show", name.upper())
    assert shown["Id"] == worker_id and shown["Endpoint"]["Uri"] == "https://127.0.0.1:10933/"
    table = run_cli(server, "worker", "show", worker_id)
    assert table.returncode == 0 and name in table.stdout and body["Endpoint"]["Thumbprint"] in table.stdout

    deleted = run_cli(server, "worker", "delete", name)
    assert deleted.returncode == 0, deleted.stderr
    assert worker_id not in {w["Id"] for w in run_json(server, "worker", "list")}
    missing = run_cli(server, "worker", "show", name)
    assert missing.returncode == 1 and name in one_error_line(missing)
    assert run_cli(server, "worker-pool", "delete", pool["Id"]).returncode == 0


# -- scripts and tasks -----------------------------------------------------------------------------------


def test_run_script_prints_output_and_succeeds(server: Any) -> None:
    body = "echo hello; echo oops >&2"
    done = run_cli(server, "run-script", "--pool", DEFAULT_POOL, "--syntax", "bash", "--body", body)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "hello" in done.stdout.splitlines()
    assert "oops" in done.stderr.splitlines()  # the script's stderr is an Error line, printed on stderr
    assert "Success" in done.stdout.splitlines()[-1]


def test_failing_script_exits_1_and_says_why(server: Any) -> None:
    done = run_cli(server, "run-script", "--pool", DEFAULT_POOL, "--body", "echo before; exit 3")
    assert done.returncode == 1
    assert "before" in done.stdout
    last = done.stderr.strip().splitlines()[-1]
    assert "Failed" in last and "3" in last


def test_python_script(server: Any) -> None:
    body = "import sys\nprint('py', sys.version_info[0] * 10 + 2)"
    done = run_cli(server, "run-script", "--pool", DEFAULT_POOL, "--syntax", "python", "--body", body)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "py 32" in done.stdout


def test_script_from_a_file_then_task_verbs(server: Any, tmp_path: Path) -> None:
    marker = unique("from-file")
    script = tmp_path / "hello.py"  # no --syntax: a .py file is Python
    script.write_text(f"print('{marker}')\n")
    done = run_cli(server, "run-script", "--pool", DEFAULT_POOL, "--file", str(script), "--json")
    assert done.returncode == 0, done.stderr
    task = json.loads(done.stdout)
    assert task["State"] == "Success" and task["Id"].startswith("ServerTasks-")
    assert marker in done.stderr  # with --json the log goes to stderr

    listed = run_json(server, "task", "list", "--take", "100")
    assert task["Id"] in {t["Id"] for t in listed}
    succeeded = run_json(server, "task", "list", "--state", "success", "--take", "100")
    failed = run_json(server, "task", "list", "--state", "Failed", "--take", "100")
    assert task["Id"] in {t["Id"] for t in succeeded} and task["Id"] not in {t["Id"] for t in failed}

    log = run_cli(server, "task", "log", task["Id"])
    assert log.returncode == 0 and marker in log.stdout

    shown = run_json(server, "task", "show", task["Id"].removeprefix("ServerTasks-"))
    assert shown["Id"] == task["Id"] and shown["State"] == "Success"
    table = run_cli(server, "task", "show", task["Id"])
    assert table.returncode == 0 and "Success" in table.stdout

    followed = run_cli(server, "task", "log", task["Id"], "--follow")
    assert followed.returncode == 0 and marker in followed.stdout
    assert followed.stdout.strip().splitlines()[-1].startswith(f"{task['Id']} Success in ")


def test_a_powershell_file_is_refused_like_syntax_powershell(server: Any, tmp_path: Path) -> None:
    """A .ps1 file used to be sent as Bash and fail on its first line; now the server's refusal shows."""
    script = tmp_path / "deploy.ps1"
    script.write_text("Write-Host 'hello from pwsh'\n")
    # Ad-hoc scripts only: the shared server may queue a health check of an earlier test's worker meanwhile.
    scripts = {"take": 1, "name": "AdHocScript"}
    before = server.client.get("/api/tasks", params=scripts).json()["TotalResults"]

    from_file = run_cli(server, "run-script", "--pool", DEFAULT_POOL, "--file", str(script))
    assert from_file.returncode == 1
    line = one_error_line(from_file)
    assert "PowerShell" in line and "not supported" in line
    by_option = run_cli(
        server, "run-script", "--pool", DEFAULT_POOL, "--syntax", "powershell", "--body", "Get-Date"
    )
    assert by_option.returncode == 1 and one_error_line(by_option) == line
    assert server.client.get("/api/tasks", params=scripts).json()["TotalResults"] == before


def test_script_on_the_server(server: Any) -> None:
    done = run_cli(server, "run-script", "--on-server", "--body", "echo on-server")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "on-server" in done.stdout


def test_no_wait_then_cancel_ends_canceled(server: Any) -> None:
    queued = run_cli(server, "run-script", "--pool", DEFAULT_POOL, "--body", "sleep 30", "--no-wait")
    assert queued.returncode == 0, queued.stderr
    task_id = queued.stdout.strip()
    assert task_id.startswith("ServerTasks-")

    canceled = run_cli(server, "task", "cancel", task_id)
    assert canceled.returncode == 0, canceled.stderr
    assert canceled.stdout.startswith(task_id)

    followed = run_cli(server, "task", "log", task_id, "--follow")  # returns once the task has ended
    assert followed.returncode == 1
    assert "Canceled" in followed.stderr.strip().splitlines()[-1]
    assert run_json(server, "task", "show", task_id)["State"] == "Canceled"


def test_ctrl_c_cancels_the_script_and_keeps_following(server: Any) -> None:
    env = {**os.environ, "ARGONAUT_SERVER": server.url, "ARGONAUT_API_KEY": server.api_key}
    marker = unique("started")
    args = ["run-script", "--pool", DEFAULT_POOL, "--body", f"echo {marker}; sleep 60; echo never"]
    pipe = subprocess.PIPE
    proc = subprocess.Popen([str(ARGONAUT), *args], env=env, stdout=pipe, stderr=pipe, text=True)
    seen = threading.Event()
    stdout: list[str] = []

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            stdout.append(line)
            if marker in line:
                seen.set()
        seen.set()

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    try:
        assert seen.wait(60) and any(marker in line for line in stdout), "the script never started"
        proc.send_signal(signal.SIGINT)
        assert proc.stderr is not None
        err = proc.stderr.read()
        code = proc.wait(60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    reader.join(10)
    assert code == 1, err
    assert "cancellation" in err and "Traceback" not in err
    assert "Canceled" in err.strip().splitlines()[-1]
    assert "never" not in "".join(stdout)


# -- reconnecting a broken stream ------------------------------------------------------------------------


def _log(number: int) -> bytes:
    line = {"Type": "Log", "Number": number, "Category": "Info", "MessageText": f"line {number}"}
    return json.dumps(line).encode() + b"\n"


class _DropsOnce(httpx.SyncByteStream):
    """A stream body that sends some lines and a cut one, then fails like a reset connection."""

    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = chunks

    def __iter__(self) -> Iterator[bytes]:
        yield from self.chunks
        raise httpx.ReadError("connection reset by peer")


def test_follower_resumes_after_a_dropped_stream(capsys: pytest.CaptureFixture[str]) -> None:
    """No line lost or repeated: the retry asks from the line after the last whole one printed."""
    asked: list[int] = []
    task = {"Id": "ServerTasks-9", "State": "Success"}

    def handler(request: httpx.Request) -> httpx.Response:
        since = int(request.url.params["since"])
        asked.append(since)
        if len(asked) == 1:  # lines 0 and 1, then half of line 2, then the connection drops
            return httpx.Response(200, stream=_DropsOnce([_log(0), _log(1), _log(2)[:10]]))
        if len(asked) == 2:  # the server ends the stream without the task (it restarted)
            return httpx.Response(200, content=_log(1) + _log(2))
        final = json.dumps({"Type": "Task", "Task": task}).encode() + b"\n"
        return httpx.Response(200, content=_log(2) + _log(3) + final)

    api = ApiSession("http://argonaut.test", "API-TEST", transport=httpx.MockTransport(handler))
    sleeps: list[float] = []
    try:
        finished = Follower(api, "ServerTasks-9", LogPrinter(), sleep=sleeps.append).run()
    finally:
        api.close()
    assert finished == task
    assert asked == [0, 2, 3]
    assert capsys.readouterr().out.splitlines() == ["line 0", "line 1", "line 2", "line 3"]
    assert len(sleeps) == 2


def test_follower_gives_up_after_bounded_retries() -> None:
    attempts: list[int] = []

    def refuse(request: httpx.Request) -> httpx.Response:
        attempts.append(int(request.url.params["since"]))
        raise httpx.ConnectError("connection refused", request=request)

    api = ApiSession("http://argonaut.test", "API-TEST", transport=httpx.MockTransport(refuse))
    try:
        with pytest.raises(CliError, match="lost the log stream of ServerTasks-9"):
            Follower(api, "ServerTasks-9", LogPrinter(), sleep=lambda _: None).run()
    finally:
        api.close()
    assert attempts == [0] * (MAX_RETRIES + 1)
