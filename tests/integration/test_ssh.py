"""SSH workers against a real OpenSSH sshd on 127.0.0.1, started per test from a config it writes."""

from __future__ import annotations

import base64
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from argonaut.runner import RUNNER_VERSION
from conftest import (
    ServerProcess,
    assert_process_gone,
    eventually,
    follow,
    run_script,
    script_task,
    unique,
    wait_for_log_line,
)
from sshd import KEY_USER, PASSWORD, PASSWORD_USER, Sshd, make_sshd


@pytest.fixture
def sshd(tmp_path: Path) -> Iterator[Sshd]:
    daemon = make_sshd(tmp_path / "sshd").start()
    yield daemon
    daemon.stop()


def host_fingerprint(daemon: Sshd) -> str:
    listed = subprocess.run(
        ["ssh-keygen", "-lf", f"{daemon.host_key}.pub"], capture_output=True, text=True, check=True
    )
    return listed.stdout.split()[1]


def key_account(c: httpx.Client, key: Path, passphrase: str | None = None) -> str:
    body: dict[str, Any] = {
        "Name": unique("ssh-key"),
        "AccountType": "SshKeyPair",
        "Username": KEY_USER,
        "PrivateKeyFile": {"HasValue": True, "NewValue": base64.b64encode(key.read_bytes()).decode()},
    }
    if passphrase:
        body["PrivateKeyPassphrase"] = {"HasValue": True, "NewValue": passphrase}
    response = c.post("/api/accounts", json=body)
    assert response.status_code == 201, response.text
    return str(response.json()["Id"])


def password_account(c: httpx.Client, password: str = PASSWORD) -> str:
    response = c.post(
        "/api/accounts",
        json={
            "Name": unique("ssh-pw"),
            "AccountType": "UsernamePassword",
            "Username": PASSWORD_USER,
            "Password": {"HasValue": True, "NewValue": password},
        },
    )
    assert response.status_code == 201, response.text
    return str(response.json()["Id"])


def ssh_worker(
    c: httpx.Client, daemon: Sshd, account: str, fingerprint: str | None = None
) -> tuple[str, str]:
    pool = c.post("/api/workerpools", json={"Name": unique("ssh-pool")}).json()["Id"]
    endpoint = {
        "CommunicationStyle": "Ssh",
        "Host": "127.0.0.1",
        "Port": daemon.port,
        "Fingerprint": fingerprint or host_fingerprint(daemon),
        "AccountId": account,
    }
    response = c.post(
        "/api/workers", json={"Name": unique("ssh"), "WorkerPoolIds": [pool], "Endpoint": endpoint}
    )
    assert response.status_code == 201, response.text
    return str(response.json()["Id"]), str(pool)


def server_folder(c: httpx.Client) -> Path:
    """The folder this server keeps on the SSH host: one per server, named by its certificate."""
    thumbprint = c.get("/api/configuration/certificates/certificate-global").json()["Thumbprint"]
    return Path(f"/home/{KEY_USER}/.argonaut/{thumbprint[:16]}")


def health(c: httpx.Client, worker: str) -> dict[str, Any]:
    task = c.post("/api/tasks", json={"Name": "Health", "Arguments": {"MachineIds": [worker]}}).json()
    follow(c, task["Id"])
    found: dict[str, Any] = c.get(f"/api/workers/{worker}").json()
    return found


def test_discovery_finds_the_host_key_without_logging_in(server: ServerProcess, sshd: Sshd) -> None:
    found = server.client.get(
        "/api/workers/discover", params={"host": "127.0.0.1", "port": sshd.port, "type": "Ssh"}
    )
    assert found.status_code == 200, found.text
    assert found.json()["Endpoint"]["Fingerprint"] == host_fingerprint(sshd)
    # sshd logs the dropped connection once its child has seen it close, which under load can be after
    # the discovery answered.
    sshd_log = sshd.folder / "sshd.log"
    eventually(
        "sshd logs the connection closed before authentication", lambda: "[preauth]" in sshd_log.read_text()
    )
    log = sshd_log.read_text()
    assert "Accepted" not in log and "Failed" not in log  # no login attempted
    closed = server.client.get(
        "/api/workers/discover", params={"host": "127.0.0.1", "port": 1, "type": "Ssh"}
    )
    assert closed.status_code == 400 and "cannot reach" in closed.json()["ErrorMessage"]


def test_scripts_run_over_ssh_with_the_runner_uploaded(server: ServerProcess, sshd: Sshd) -> None:
    c = server.client
    # A host this server never used: an earlier test on this test process's shared server may have
    # uploaded the runner to the same account.
    shutil.rmtree(server_folder(c) / "runner", ignore_errors=True)
    worker, pool = ssh_worker(c, sshd, key_account(c, sshd.client_key))
    first = health(c, worker)
    assert first["HealthStatus"] == "Healthy", first["StatusSummary"]
    assert first["HasLatestCalamari"] is False  # nothing uploaded yet
    task = run_script(
        c,
        "whoami; echo oops >&2; set_octopusvariable Colour green\n"
        "printf 'from ssh' > out.txt; new_octopusartifact out.txt",
        WorkerPoolIds=[pool],
    )
    raw = c.get(f"/api/tasks/{task['Id']}/raw").text
    assert task["State"] == "Success", raw
    assert f"|   {KEY_USER}" in raw and "oops" in raw
    details = c.get(f"/api/tasks/{task['Id']}/details").json()
    assert details["OutputVariables"][0]["Value"] == "green"
    artifact = c.get("/api/artifacts", params={"regarding": task["Id"]}).json()["Items"][0]
    assert c.get(f"/api/artifacts/{artifact['Id']}/content").content == b"from ssh"
    ours = server_folder(c)
    assert (ours / "runner" / "VERSION").read_text() == RUNNER_VERSION
    # Each script's folder is removed once its outcome is stored: the worker is released right after the
    # task's completing transaction, so the folder may outlive the answer by a moment.
    eventually("the script's folder is removed", lambda: list(ours.glob("work/run-*")) == [])
    assert health(c, worker)["HasLatestCalamari"] is True
    python = run_script(
        c,
        "import os\nprint('python over ssh', os.getcwd().split('/')[-1][:4])",
        Syntax="Python",
        WorkerPoolIds=[pool],
    )
    assert python["State"] == "Success"
    assert "python over ssh run-" in c.get(f"/api/tasks/{python['Id']}/raw").text


def test_a_host_without_the_sftp_subsystem_gets_the_runner_and_gives_artifacts(
    server: ServerProcess, tmp_path: Path
) -> None:
    """Hardened hosts often drop the sftp subsystem; files then travel over the shell channel."""
    daemon = make_sshd(tmp_path / "no-sftp", sftp=False).start()
    copy = Path(f"/tmp/argonaut-ssh-{unique('blob')}")  # the host is this machine: keep a copy
    try:
        assert "Subsystem" not in (daemon.folder / "sshd_config").read_text()
        c = server.client
        worker, pool = ssh_worker(c, daemon, key_account(c, daemon.client_key))
        version = server_folder(c) / "runner" / "VERSION"
        version.unlink(missing_ok=True)  # another test may have uploaded it already: upload again
        assert health(c, worker)["HealthStatus"] == "Healthy"
        task = run_script(
            c,
            f"head -c 70000 /dev/urandom > blob.bin; cp blob.bin {copy}; new_octopusartifact blob.bin\n"
            "printf 'no sftp here' > note.txt; new_octopusartifact note.txt; new_octopusartifact missing.txt",
            WorkerPoolIds=[pool],
        )
        raw = c.get(f"/api/tasks/{task['Id']}/raw").text
        assert task["State"] == "Success", raw
        assert version.read_text() == RUNNER_VERSION
        assert "missing.txt was not collected" in raw and "No such file" in raw
        artifacts = c.get("/api/artifacts", params={"regarding": task["Id"]}).json()["Items"]
        content = {a["Filename"]: c.get(f"/api/artifacts/{a['Id']}/content").content for a in artifacts}
        assert content["note.txt"] == b"no sftp here" and content["blob.bin"] == copy.read_bytes()
    finally:
        daemon.stop()
        copy.unlink(missing_ok=True)


def test_an_older_runner_on_the_host_is_replaced(server: ServerProcess, sshd: Sshd) -> None:
    c = server.client
    worker, pool = ssh_worker(c, sshd, key_account(c, sshd.client_key))
    assert health(c, worker)["HealthStatus"] == "Healthy"
    assert run_script(c, "true", WorkerPoolIds=[pool])["State"] == "Success"
    version = server_folder(c) / "runner" / "VERSION"
    version.write_text("0.0.1")
    assert health(c, worker)["HasLatestCalamari"] is False
    task = run_script(c, "true", WorkerPoolIds=[pool])
    assert "updated from 0.0.1" in c.get(f"/api/tasks/{task['Id']}/details", params={"verbose": "true"}).text
    assert version.read_text() == RUNNER_VERSION


def test_password_and_passphrase_logins(server: ServerProcess, sshd: Sshd) -> None:
    c = server.client
    for account in (password_account(c), key_account(c, sshd.locked_key, "opensesame")):
        worker, pool = ssh_worker(c, sshd, account)
        checked = health(c, worker)
        assert checked["HealthStatus"] == "Healthy", checked["StatusSummary"]
        assert run_script(c, "echo logged in", WorkerPoolIds=[pool])["State"] == "Success"


def test_errors_say_what_to_do_and_leak_no_secret(server: ServerProcess, sshd: Sshd) -> None:
    c = server.client
    wrong_password = "Wrong-" + unique("pw")
    worker, pool = ssh_worker(c, sshd, password_account(c, wrong_password))
    refused = health(c, worker)
    assert refused["HealthStatus"] == "Unhealthy" and "refused the login" in refused["StatusSummary"]
    task = run_script(c, "echo never", WorkerPoolIds=[pool])  # unhealthy: not chosen
    assert task["State"] == "Failed"
    task = run_script(c, "echo never", TargetType="Workers", MachineIds=[worker])
    assert task["State"] == "Failed"
    closed, _ = ssh_worker(c, sshd, key_account(c, sshd.client_key))
    c.put(
        f"/api/workers/{closed}",
        json={
            "Endpoint": {
                "CommunicationStyle": "Ssh",
                "Host": "127.0.0.1",
                "Port": 1,
                "AccountId": c.get(f"/api/workers/{closed}").json()["Endpoint"]["AccountId"],
                "Fingerprint": host_fingerprint(sshd),
            }
        },
    )
    unreachable = health(c, closed)
    assert unreachable["HealthStatus"] == "Unavailable" and "cannot reach" in unreachable["StatusSummary"]
    everything = (
        c.get("/api/workers/all").text
        + c.get("/api/accounts/all").text
        + "".join(
            c.get(f"/api/tasks/{t['Id']}/raw").text
            for t in c.get("/api/tasks", params={"take": 50}).json()["Items"]
        )
        + b"".join(p.read_bytes() for p in server.home.glob("argonaut.db*")).decode("latin-1")
        + "\n".join(server.output)
    )
    assert wrong_password not in everything and PASSWORD not in everything


def test_a_changed_host_key_is_refused_naming_both_fingerprints(server: ServerProcess, sshd: Sshd) -> None:
    c = server.client
    expected = host_fingerprint(sshd)
    worker, pool = ssh_worker(c, sshd, key_account(c, sshd.client_key))
    assert health(c, worker)["HealthStatus"] == "Healthy"
    sshd.new_host_key()
    presented = host_fingerprint(sshd)
    checked = health(c, worker)
    assert checked["HealthStatus"] == "Unhealthy"
    assert expected in checked["StatusSummary"] and presented in checked["StatusSummary"]
    task = run_script(c, "echo never", TargetType="Workers", MachineIds=[worker])
    assert task["State"] == "Failed"


def test_cancel_kills_the_remote_process_group(server: ServerProcess, sshd: Sshd) -> None:
    c = server.client
    worker, pool = ssh_worker(c, sshd, key_account(c, sshd.client_key))
    assert health(c, worker)["HealthStatus"] == "Healthy"
    marker = f"/tmp/argonaut-ssh-{unique('pid')}"
    body = f"sleep 1000 & echo $! > {marker}\necho started\nwait"
    created = c.post("/api/tasks", json=script_task(body, WorkerPoolIds=[pool])).json()
    wait_for_log_line(c, created["Id"], "started")
    child = int(Path(marker).read_text())
    c.post(f"/api/tasks/{created['Id']}/cancel")
    assert follow(c, created["Id"])["State"] == "Canceled"
    assert_process_gone(child, "the remote script's child")


def test_cli_adds_an_ssh_worker_after_confirming_the_discovered_key(
    server: ServerProcess, sshd: Sshd
) -> None:
    c = server.client
    account = key_account(c, sshd.client_key)
    pool = c.post("/api/workerpools", json={"Name": unique("cli-ssh")}).json()
    name = unique("cli-ssh")
    argonaut = Path(sys.executable).with_name("argonaut")
    done = subprocess.run(
        [
            str(argonaut),
            "worker",
            "add-ssh",
            "--name",
            name,
            "--host",
            "127.0.0.1",
            "--port",
            str(sshd.port),
            "--account",
            account,
            "--pool",
            pool["Name"],
            "--yes",
            "--json",
            "--server",
            server.url,
            "--api-key",
            server.api_key,
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert host_fingerprint(sshd) in done.stderr  # shown to the person confirming it
    worker = [w for w in c.get("/api/workers/all").json() if w["Name"] == name][0]
    assert worker["Endpoint"]["Fingerprint"] == host_fingerprint(sshd)

    shown = subprocess.run(
        [str(argonaut), "worker", "show", name, "--server", server.url, "--api-key", server.api_key],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert shown.returncode == 0, shown.stderr
    rows = {line.split("  ")[0]: line.split()[-1] for line in shown.stdout.splitlines() if line.strip()}
    assert rows["Host key fingerprint"] == host_fingerprint(sshd)  # what a person checks on the host
    assert rows["Account"] == account and "Thumbprint" not in rows


def test_discovery_refuses_bad_hosts_with_a_clear_error(server: ServerProcess) -> None:
    for host in ("bad\x00host", "[::1", "host with spaces"):
        found = server.client.get("/api/workers/discover", params={"host": host, "port": 22, "type": "Ssh"})
        assert found.status_code == 400, (host, found.text)
    assert (
        server.client.get("/api/workers/discover", params={"host": "127.0.0.1", "type": "Agent"}).status_code
        == 400
    )


def test_low_disk_and_a_failing_check_script_show_in_the_health_status(
    server: ServerProcess, sshd: Sshd
) -> None:
    c = server.client
    worker, _ = ssh_worker(c, sshd, key_account(c, sshd.client_key))
    strict = c.post(
        "/api/machinepolicies",
        json={
            "Name": unique("Needs a petabyte"),
            "MachineHealthCheckPolicy": {"MinimumFreeDiskSpaceWarningMegabytes": 10**9},
        },
    ).json()["Id"]
    current = c.get(f"/api/workers/{worker}").json()
    c.put(f"/api/workers/{worker}", json={**current, "MachinePolicyId": strict})
    warned = health(c, worker)
    assert warned["HealthStatus"] == "HasWarnings" and "MB of disk is free" in warned["StatusSummary"]
    failing = c.post(
        "/api/machinepolicies",
        json={
            "Name": unique("Check script"),
            "MachineHealthCheckPolicy": {
                "BashHealthCheckPolicy": {"RunType": "Inline", "ScriptBody": "exit 4"}
            },
        },
    ).json()["Id"]
    c.put(f"/api/workers/{worker}", json={**current, "MachinePolicyId": failing})
    unhealthy = health(c, worker)
    assert unhealthy["HealthStatus"] == "Unhealthy" and "exited with code 4" in unhealthy["StatusSummary"]


def test_large_scripts_and_odd_bytes_arrive_intact(server: ServerProcess, sshd: Sshd) -> None:
    c = server.client
    worker, pool = ssh_worker(c, sshd, key_account(c, sshd.client_key))
    assert health(c, worker)["HealthStatus"] == "Healthy"
    padding = "# " + "x" * 100_000 + "\n"  # over the size the builtin read handles
    body = padding + "printf '%s\\n' 'tab\there' \"quote'd\" 'back\\\\slash' 'ünïcødé'\necho done"
    task = run_script(c, body, WorkerPoolIds=[pool])
    raw = c.get(f"/api/tasks/{task['Id']}/raw").text
    assert task["State"] == "Success", raw[-2000:]
    for expected in ("tab\there", "quote'd", r"back\\slash", "ünïcødé", "done"):
        assert f"|   {expected}" in raw, expected
    small = run_script(c, 'echo "$(get_octopusvariable Octopus.Task.Id)"', WorkerPoolIds=[pool])
    assert small["Id"] in c.get(f"/api/tasks/{small['Id']}/raw").text


@pytest.mark.parametrize("how", ["stopped", "killed"])
def test_an_ssh_script_cut_off_by_its_node_is_never_reported_a_success(
    server_factory: Any, sshd: Sshd, tmp_path: Path, how: str
) -> None:
    """Its output lives only on the SSH channel, so no node can follow it after its own stopped: the task
    fails saying so, where it once "resumed" an empty script and reported Success for an exit code 3."""
    srv = server_factory("--shutdown-grace", "0.2")
    c = srv.client
    _, pool = ssh_worker(c, sshd, key_account(c, sshd.client_key))
    task = c.post("/api/tasks", json=script_task("echo begun; sleep 3; exit 3", WorkerPoolIds=[pool])).json()
    wait_for_log_line(c, task["Id"], "begun")
    if how == "stopped":
        assert srv.stop() == 0
    else:
        srv.kill()
    again = server_factory(home=srv.home, api_key=srv.api_key)
    final = follow(again.client, task["Id"])
    raw = again.client.get(f"/api/tasks/{task['Id']}/raw").text
    assert final["State"] == "Failed", raw
    message = str(final["ErrorMessage"])
    assert ("shut down" in message) if how == "stopped" else ("outcome is unknown" in message), raw


def test_scripts_starting_together_on_an_outdated_runner_update_it_once_and_all_run(
    server: ServerProcess, sshd: Sshd
) -> None:
    c = server.client
    worker, pool = ssh_worker(c, sshd, key_account(c, sshd.client_key))
    assert health(c, worker)["HealthStatus"] == "Healthy"
    assert run_script(c, "true", WorkerPoolIds=[pool])["State"] == "Success"  # the runner is uploaded
    version = server_folder(c) / "runner" / "VERSION"
    version.write_text("0.0.1")  # as a host left with an older runner: new script loops find it outdated
    body = {"ScriptBody": "echo together", "Syntax": "Bash", "WorkerPoolIds": [pool]}
    created = [c.post("/api/tasks", json={"Name": "AdHocScript", "Arguments": body}).json() for _ in range(8)]
    finished = [follow(c, task["Id"]) for task in created]
    # Each start that found the runner outdated waited for the one update, instead of rewriting the
    # files under a loop that was reading them.
    assert [t["State"] for t in finished] == ["Success"] * 8, [t.get("ErrorMessage") for t in finished]
    assert version.read_text() == RUNNER_VERSION
