"""``argonaut agent …`` as an operator runs it: real CLI processes, real agent home folders, a real server.

Each test has its own agent home under ``tmp_path`` and its own uniquely named pools, spaces and workers
on the shared ``server``. Workers are never put in the default space's default pool: a worker there
would be chosen for the other tests' scripts instead of the built-in worker.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from conftest import unique

ARGONAUT = Path(sys.executable).with_name("argonaut")
POLL_ID = re.compile(r"^poll://[a-z]{20}/$")
_OURS = ("ARGONAUT_AGENT_HOME", "ARGONAUT_SERVER", "ARGONAUT_API_KEY", "ARGONAUT_SPACE")


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in _OURS}
    return subprocess.run(
        [str(ARGONAUT), *args], env={**clean, **(env or {})}, capture_output=True, text=True, timeout=60
    )


def agent(home: Path, verb: str, *args: str) -> subprocess.CompletedProcess[str]:
    return run("agent", verb, "--home", str(home), *args)


def ok(done: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert done.returncode == 0, done.stderr
    return done


def error_line(done: subprocess.CompletedProcess[str], code: int = 1) -> str:
    """The one ``error: …`` line a failed verb prints (and no traceback)."""
    assert done.returncode == code, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    lines = [line for line in done.stderr.strip().splitlines() if line.startswith("error: ")]
    assert len(lines) == 1, done.stderr
    return lines[0]


def connect(server: Any) -> list[str]:
    return ["--server", server.url, "--api-key", server.api_key]


def new_agent(tmp_path: Path, *args: str) -> Path:
    home = tmp_path / unique("agent")
    ok(agent(home, "create-instance", *args))
    return home


def thumbprint(home: Path) -> str:
    return ok(agent(home, "show-thumbprint")).stdout.strip()


def configuration(home: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(ok(agent(home, "show-configuration")).stdout)
    return loaded


def der_sha1(cert_file: Path) -> str:
    cert = x509.load_pem_x509_certificate(cert_file.read_bytes())
    return hashlib.sha1(cert.public_bytes(serialization.Encoding.DER)).hexdigest().upper()


def server_thumbprint(server: Any) -> str:
    response = server.client.get("/api/configuration/certificates/certificate-global")
    assert response.status_code == 200, response.text
    return str(response.json()["Thumbprint"])


def make_pool(server: Any, space: str = "Spaces-1") -> dict[str, Any]:
    response = server.client.post(f"/api/{space}/workerpools", json={"Name": unique("agents")})
    assert response.status_code == 201, response.text
    pool: dict[str, Any] = response.json()
    return pool


def make_space(server: Any) -> dict[str, Any]:
    response = server.client.post("/api/spaces", json={"Name": unique("agent-space")})
    assert response.status_code == 201, response.text
    space: dict[str, Any] = response.json()
    return space


def workers_of(server: Any, home: Path, space: str = "Spaces-1") -> list[dict[str, Any]]:
    response = server.client.get(f"/api/{space}/workers/all", params={"thumbprint": thumbprint(home)})
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()
    return found


# -- the instance -------------------------------------------------------------------------------------


def test_create_instance_makes_certificate_and_configuration(tmp_path: Path) -> None:
    home = tmp_path / "agent"
    done = ok(agent(home, "create-instance", "--listen-port", "10999", "--listen-address", "0.0.0.0"))

    assert (home.stat().st_mode & 0o777) == 0o700
    assert (home / "certificate.key").stat().st_mode & 0o077 == 0
    printed = thumbprint(home)
    assert printed == der_sha1(home / "certificate.pem")
    assert printed in done.stdout
    assert json.loads(ok(agent(home, "show-thumbprint", "--json")).stdout) == {"Thumbprint": printed}

    shown = ok(agent(home, "show-configuration")).stdout
    assert "PRIVATE KEY" not in shown
    config = json.loads(shown)
    assert config["listen"] is True and config["listen_port"] == 10999
    assert config["listen_address"] == "0.0.0.0"
    assert config["trusted"] == [] and config["polling"] == []
    assert config == json.loads((home / "agent.json").read_text())


def test_create_instance_no_listen_makes_a_polling_only_agent(tmp_path: Path) -> None:
    home = tmp_path / "poller"
    done = ok(agent(home, "create-instance", "--no-listen"))
    assert "not listening" in done.stdout
    assert configuration(home)["listen"] is False


def test_home_comes_from_the_environment(tmp_path: Path) -> None:
    home = tmp_path / "from-env"
    ok(run("agent", "create-instance", env={"ARGONAUT_AGENT_HOME": str(home)}))
    assert (home / "agent.json").exists()
    assert ok(run("agent", "show-thumbprint", env={"ARGONAUT_AGENT_HOME": str(home)})).stdout.strip() == (
        der_sha1(home / "certificate.pem")
    )


def test_create_instance_twice_is_refused_unless_forced(tmp_path: Path) -> None:
    home = new_agent(tmp_path)
    before = thumbprint(home)
    ok(agent(home, "configure", "--listen-port", "11000"))

    line = error_line(agent(home, "create-instance"))
    assert "already exists" in line and "--force" in line
    assert configuration(home)["listen_port"] == 11000

    ok(agent(home, "create-instance", "--force"))
    assert configuration(home)["listen_port"] == 10933  # a fresh configuration
    assert thumbprint(home) == before  # the identity is kept; new-certificate replaces it


def test_verbs_without_an_instance_say_how_to_make_one(tmp_path: Path) -> None:
    home = tmp_path / "nothing-here"
    for verb in ("show-thumbprint", "show-configuration", "new-certificate"):
        line = error_line(agent(home, verb))
        assert "create-instance" in line, line
    assert not (home / "certificate.pem").exists()


def test_new_certificate_changes_the_thumbprint(tmp_path: Path) -> None:
    home = new_agent(tmp_path)
    before = thumbprint(home)

    done = ok(agent(home, "new-certificate"))
    after = thumbprint(home)
    assert after != before
    assert after == der_sha1(home / "certificate.pem")
    assert after in done.stdout
    assert "warning" in done.stderr and before in done.stderr
    assert sorted(p.name for p in home.iterdir()) == ["agent.json", "certificate.key", "certificate.pem"]


def test_configure_round_trips_and_rejects_bad_thumbprints(tmp_path: Path) -> None:
    home = new_agent(tmp_path)
    first, second = "AB" * 20, "0123456789abcdef0123456789abcdef01234567"
    colons = ":".join(first[i : i + 2].lower() for i in range(0, 40, 2))

    ok(
        agent(
            home,
            "configure",
            "--listen-port",
            "10950",
            "--listen-address",
            "::1",
            "--no-listen",
            "--trust",
            colons,
            "--trust",
            second,
        )
    )
    config = configuration(home)
    assert config["listen_port"] == 10950 and config["listen_address"] == "::1" and config["listen"] is False
    assert [t["thumbprint"] for t in config["trusted"]] == [first, second.upper()]

    ok(agent(home, "configure", "--remove-trust", second, "--listen"))
    config = configuration(home)
    assert [t["thumbprint"] for t in config["trusted"]] == [first] and config["listen"] is True

    ok(agent(home, "configure", "--reset-trust"))
    assert configuration(home)["trusted"] == []

    bad = agent(home, "configure", "--trust", "not-a-thumbprint")
    assert bad.returncode == 2 and "not-a-thumbprint" in bad.stderr and "40 hex" in bad.stderr
    assert agent(home, "configure", "--trust", "AB" * 19).returncode == 2
    assert agent(home, "configure").returncode == 2  # nothing to change
    assert configuration(home)["trusted"] == []


# -- registration -------------------------------------------------------------------------------------


def test_register_listening_worker_then_force_update(server: Any, tmp_path: Path) -> None:
    home = new_agent(tmp_path, "--listen-port", "10977")
    pool, other = make_pool(server), make_pool(server)
    name = unique("listener")

    done = ok(
        agent(
            home,
            "register-worker",
            *connect(server),
            "--name",
            name,
            "--worker-pool",
            pool["Name"].upper(),
            "--public-hostname",
            "LocalHost",  # checked at once, so a loopback name: never a lookup off the machine
        )
    )
    [worker] = workers_of(server, home)
    assert worker["Name"] == name and worker["Id"] in done.stdout
    assert worker["Endpoint"]["CommunicationStyle"] == "TentaclePassive"
    assert worker["Endpoint"]["Uri"] == "https://localhost:10977/"
    assert worker["Endpoint"]["Thumbprint"] == thumbprint(home)
    assert worker["WorkerPoolIds"] == [pool["Id"]]
    assert [t["thumbprint"] for t in configuration(home)["trusted"]] == [server_thumbprint(server)]

    again = agent(
        home, "register-worker", *connect(server), "--name", name.upper(), "--worker-pool", pool["Id"]
    )
    assert error_line(again) == (
        f"error: A worker named '{name.upper()}' already exists in space 'Default'; use --force to update it"
    )

    ok(
        agent(
            home,
            "register-worker",
            *connect(server),
            "--name",
            name,
            "--worker-pool",
            pool["Slug"],
            "--worker-pool",
            other["Id"],
            "--policy",
            "default machine policy",
            "--force",
        )
    )
    [updated] = workers_of(server, home)
    assert updated["Id"] == worker["Id"]
    assert sorted(updated["WorkerPoolIds"]) == sorted([pool["Id"], other["Id"]])
    assert (
        updated["Endpoint"]["Uri"] == "https://127.0.0.1:10977/"
    )  # no --public-hostname: the listen address
    assert len(configuration(home)["trusted"]) == 1


def test_polling_registration_in_two_spaces_then_deregister_one(server: Any, tmp_path: Path) -> None:
    home = new_agent(tmp_path)
    pool = make_pool(server)
    space = make_space(server)
    remote_pool = make_pool(server, space["Id"])
    name = unique("poller")

    ok(
        agent(
            home,
            "register-worker",
            *connect(server),
            "--name",
            name,
            "--comms-style",
            "tentacleactive",
            "--worker-pool",
            pool["Name"],
            "--server-comms-port",
            "10999",
        )
    )
    config = configuration(home)
    [polling] = config["polling"]
    subscription = polling["subscription_id"]
    assert POLL_ID.match(subscription), subscription
    assert polling["url"] == server.url and polling["host"] == "127.0.0.1" and polling["comms_port"] == 10999
    assert polling["thumbprint"] == server_thumbprint(server)
    [worker] = workers_of(server, home)
    assert worker["Endpoint"]["CommunicationStyle"] == "TentacleActive"
    assert worker["Endpoint"]["Uri"] == subscription
    assert worker["Endpoint"]["Thumbprint"] == thumbprint(home)

    ok(
        agent(
            home,
            "register-worker",
            *connect(server),
            "--space",
            space["Name"].lower(),
            "--name",
            name,
            "--comms-style",
            "TentacleActive",
            "--worker-pool",
            remote_pool["Name"],
        )
    )
    config = configuration(home)
    assert [p["subscription_id"] for p in config["polling"]] == [subscription]
    assert config["polling"][0]["comms_port"] == server.comms_port  # no option: the port the server reports
    [remote] = workers_of(server, home, space["Id"])
    assert remote["Endpoint"]["Uri"] == subscription and remote["WorkerPoolIds"] == [remote_pool["Id"]]

    done = ok(agent(home, "deregister-worker", *connect(server), "--space", space["Id"]))
    assert remote["Id"] in done.stdout
    assert f"argonaut agent configure --remove-trust {server_thumbprint(server)}" in done.stdout + done.stderr
    assert workers_of(server, home, space["Id"]) == []
    assert [w["Id"] for w in workers_of(server, home)] == [worker["Id"]]
    assert configuration(home)["trusted"]  # deregistering leaves the trust in place

    line = error_line(agent(home, "deregister-worker", *connect(server), "--space", space["Id"]))
    assert "no worker" in line and space["Name"] in line


def test_deregister_with_nothing_registered_fails(server: Any, tmp_path: Path) -> None:
    home = new_agent(tmp_path)
    line = error_line(agent(home, "deregister-worker", *connect(server)))
    assert thumbprint(home) in line


def test_deregister_several_workers_needs_multiple(server: Any, tmp_path: Path) -> None:
    home = new_agent(tmp_path)
    pool = make_pool(server)
    for _ in range(2):
        ok(
            agent(
                home,
                "register-worker",
                *connect(server),
                "--name",
                unique("twin"),
                "--worker-pool",
                pool["Id"],
            )
        )
    assert len(workers_of(server, home)) == 2

    line = error_line(agent(home, "deregister-worker", *connect(server)))
    assert "--multiple" in line
    assert len(workers_of(server, home)) == 2

    ok(agent(home, "deregister-worker", *connect(server), "--multiple"))
    assert workers_of(server, home) == []


def test_the_described_systems_spellings_work(server: Any, tmp_path: Path) -> None:
    home = new_agent(tmp_path)
    pool = make_pool(server)
    name = unique("spelled")
    ok(
        agent(
            home,
            "register-worker",
            "--server",
            server.url,
            "--apiKey",
            server.api_key,
            "--name",
            name,
            "--workerpool",
            pool["Name"],
            "--publicHostName",
            "LOCALHOST",
            "--comms-style",
            "TENTACLEPASSIVE",
        )
    )
    [worker] = workers_of(server, home)
    assert worker["Name"] == name and worker["Endpoint"]["Uri"] == "https://localhost:10933/"
    ok(agent(home, "deregister-worker", "--server", server.url, "--apiKey", server.api_key))
    assert workers_of(server, home) == []


def test_missing_pools_are_named_and_nothing_changes(server: Any, tmp_path: Path) -> None:
    home = new_agent(tmp_path)
    pool = make_pool(server)
    ghosts = unique("ghost"), unique("phantom")
    done = agent(
        home,
        "register-worker",
        *connect(server),
        "--name",
        unique("lost"),
        "--worker-pool",
        pool["Name"],
        "--worker-pool",
        ghosts[0],
        "--worker-pool",
        ghosts[1],
    )
    line = error_line(done)
    assert all(f"'{ghost}'" in line for ghost in ghosts) and pool["Name"] not in line
    assert workers_of(server, home) == []
    assert configuration(home)["trusted"] == []  # a refused registration trusts nobody


def test_registration_errors_are_one_line(server: Any, tmp_path: Path) -> None:
    home = new_agent(tmp_path)
    pool = make_pool(server)

    line = error_line(
        agent(home, "register-worker", *connect(server), "--worker-pool", pool["Id"], "--policy", "nope")
    )
    assert "machine policy 'nope'" in line

    line = error_line(
        agent(
            home,
            "register-worker",
            *connect(server),
            "--worker-pool",
            pool["Id"],
            "--space",
            unique("nowhere"),
        )
    )
    assert "space" in line

    bad_key = ["--server", server.url, "--api-key", "API-" + "X" * 28]
    assert error_line(agent(home, "register-worker", *bad_key, "--worker-pool", pool["Id"]))

    with socket.socket() as probe:  # a port nobody listens on once the probe is closed
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    unreachable = ["--server", f"http://127.0.0.1:{closed}", "--api-key", server.api_key]
    assert "cannot reach" in error_line(agent(home, "register-worker", *unreachable, "--worker-pool", "x"))

    assert agent(home, "register-worker", *connect(server)).returncode == 2  # no --worker-pool
    assert (
        agent(
            home, "register-worker", *connect(server), "--worker-pool", "x", "--comms-style", "ssh"
        ).returncode
        == 2
    )
    assert workers_of(server, home) == [] and configuration(home)["trusted"] == []


# -- the client verbs ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("verb", "option", "uri", "style"),
    [
        ("add-listening", "--uri", "https://LocalHost:10955", "TentaclePassive"),
        ("add-polling", "--subscription", "poll://abcdefghijklmnopqrst/", "TentacleActive"),
    ],
)
def test_worker_add_verbs_create_workers(server: Any, verb: str, option: str, uri: str, style: str) -> None:
    pool = make_pool(server)
    name = unique(verb)
    thumbprint_text = ":".join(["9f"] * 20)
    done = ok(
        run(
            "worker",
            verb,
            *connect(server),
            "--name",
            name,
            option,
            uri,
            "--thumbprint",
            thumbprint_text,
            "--pool",
            pool["Name"],
            "--policy",
            "Default Machine Policy",
            "--json",
        )
    )
    created = json.loads(done.stdout)
    assert created["Name"] == name and created["WorkerPoolIds"] == [pool["Id"]]
    assert created["Endpoint"]["CommunicationStyle"] == style
    assert created["Endpoint"]["Thumbprint"] == "9F" * 20
    expected_uri = "https://localhost:10955/" if style == "TentaclePassive" else uri
    assert created["Endpoint"]["Uri"] == expected_uri
    stored = server.client.get(f"/api/Spaces-1/workers/{created['Id']}").json()
    assert stored["Name"] == name and stored["Endpoint"]["Uri"] == expected_uri

    table = ok(
        run(
            "worker",
            verb,
            *connect(server),
            "--name",
            unique(verb),
            option,
            uri,
            "--thumbprint",
            "9F" * 20,
            "--pool",
            pool["Id"],
        )
    )
    assert pool["Name"] in table.stdout and style in table.stdout


def test_worker_add_verbs_report_bad_input(server: Any) -> None:
    pool = make_pool(server)
    common = [*connect(server), "--name", unique("bad"), "--pool", pool["Id"]]
    done = run("worker", "add-listening", *common, "--uri", "https://x:1/", "--thumbprint", "zz")
    assert done.returncode == 2 and "40 hex" in done.stderr
    line = error_line(
        run("worker", "add-polling", *common, "--subscription", "http://nope", "--thumbprint", "AB" * 20)
    )
    assert "subscription" in line
    line = error_line(
        run(
            "worker",
            "add-listening",
            *connect(server),
            "--name",
            unique("bad"),
            "--pool",
            unique("ghost"),
            "--uri",
            "https://x:1/",
            "--thumbprint",
            "AB" * 20,
        )
    )
    assert "worker pool" in line


@pytest.mark.parametrize("style", ["TentaclePassive", "TentacleActive"])
def test_an_agent_set_up_only_with_the_command_line_runs_scripts(
    style: str, server: Any, tmp_path: Path
) -> None:
    """The newcomer's path, verb by verb as the README writes it: create, register, run, then a script.

    The server's comms port is not 10943 (the fixture starts it with ``--comms-port 0``) and nobody
    passes ``--server-comms-port``: registration learns the port from the server, so the agent's start
    notice (listening) or its connection (polling) reaches it, and the worker turns Healthy without
    any health check being asked for or the policy's interval coming round.
    """
    from test_agents import wait_for_health

    from conftest import AgentProcess, free_port, run_script

    assert server.comms_port != 10943
    port = free_port()
    listen = ["--listen-port", str(port)] if style == "TentaclePassive" else ["--no-listen"]
    home = new_agent(tmp_path, *listen)
    pool = server.client.post("/api/workerpools", json={"Name": unique("cli-agents")}).json()
    name = unique("cli-agent")
    done = ok(
        agent(
            home,
            "register-worker",
            *connect(server),
            "--name",
            name,
            "--comms-style",
            style,
            "--pool",
            pool["Name"],
        )
    )
    assert f"Server comms port: {server.comms_port}" in done.stdout
    process = AgentProcess(home, thumbprint(home), port).start()
    try:
        worker = server.client.get("/api/workers/all", params={"thumbprint": thumbprint(home)}).json()
        [mine] = [w for w in worker if w["Name"] == name]
        assert mine["WorkerPoolIds"] == [pool["Id"]]
        wait_for_health(server.client, mine["Id"], "Healthy")
        task = run_script(server.client, "echo set up by the command line", WorkerPoolIds=[pool["Id"]])
        assert task["State"] == "Success"
        assert "set up by the command line" in server.client.get(f"/api/tasks/{task['Id']}/raw").text
    finally:
        process.stop()
    ok(agent(home, "deregister-worker", *connect(server)))
    assert server.client.get(f"/api/workers/{mine['Id']}").status_code == 404


def test_worker_check_health_reports_each_worker_and_fails_on_an_unusable_one(
    server: Any, agent_factory: Any
) -> None:
    """A new worker is Unknown until checked; the verb checks it now and says which can run scripts."""
    pool = make_pool(server)
    live = agent_factory(trust=[server_thumbprint(server)])
    name = unique("checked")
    created = server.client.post(
        "/api/workers",
        json={
            "Name": name,
            "WorkerPoolIds": [pool["Id"]],
            "Endpoint": {
                "CommunicationStyle": "TentaclePassive",
                "Uri": live.uri,
                "Thumbprint": live.thumbprint,
            },
        },
    )
    assert created.status_code == 201, created.text
    assert created.json()["HealthStatus"] == "Unknown"

    done = ok(run("worker", "check-health", name, *connect(server)))
    assert f"{name}: Healthy" in done.stdout  # the check's log, live
    [row] = [line.split() for line in done.stdout.splitlines() if line.startswith(created.json()["Id"] + " ")]
    assert row[1:3] == [name, "Healthy"]  # then the table of checked workers
    assert "Success" in done.stdout.splitlines()[-1]

    with socket.socket() as probe:  # a port nobody listens on once the probe is closed
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    dead = unique("dead")
    server.client.post(
        "/api/workers",
        json={
            "Name": dead,
            "WorkerPoolIds": [pool["Id"]],
            "Endpoint": {
                "CommunicationStyle": "TentaclePassive",
                "Uri": f"https://127.0.0.1:{closed}/",
                "Thumbprint": "AB" * 20,
            },
        },
    )
    done = run("worker", "check-health", "--pool", pool["Name"], "--json", *connect(server))
    assert done.returncode == 1, done.stderr
    statuses = {w["Name"]: w["HealthStatus"] for w in json.loads(done.stdout)}
    assert statuses == {name: "Healthy", dead: "Unavailable"}
    assert f"{dead} is Unavailable" in done.stderr.strip().splitlines()[-1]
    task_id = done.stderr.split()[0]
    task = server.client.get(f"/api/tasks/{task_id}").json()
    assert task["Name"] == "Health" and task["Arguments"]["WorkerpoolId"] == pool["Id"]
