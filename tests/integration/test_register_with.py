"""Deployment targets on real agents: ``argonaut agent register-with`` over real TLS, health checks that
cover targets, and Cloud Region targets checked through a worker of their pool.

Each test works in a space of its own, so its default worker pool is empty (the built-in worker) and no
other test's workers or targets are in the way.
"""

from __future__ import annotations

import socket
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from test_agent_cli import agent, configuration, connect, error_line, new_agent, ok, thumbprint
from test_agents import listening_endpoint, server_thumbprint

from conftest import AgentProcess, ServerProcess, free_port, run_script, unique


def new_space(server: ServerProcess) -> dict[str, Any]:
    response = server.client.post("/api/spaces", json={"Name": unique("targets")})
    assert response.status_code == 201, response.text
    space: dict[str, Any] = response.json()
    return space


def new_environment(server: ServerProcess, space: str) -> dict[str, Any]:
    response = server.client.post(f"/api/{space}/environments", json={"Name": unique("env")})
    assert response.status_code == 201, response.text
    environment: dict[str, Any] = response.json()
    return environment


def targets_of(server: ServerProcess, home: Path, space: str) -> list[dict[str, Any]]:
    response = server.client.get(f"/api/{space}/machines/all", params={"thumbprint": thumbprint(home)})
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()
    return found


def wait_for_target(client: httpx.Client, space: str, machine_id: str, *wanted: str) -> dict[str, Any]:
    """Polls the API (bounded) for a health the server reaches on its own: nobody asks for a check."""
    machine: dict[str, Any] = {}
    for _ in range(600):
        machine = client.get(f"/api/{space}/machines/{machine_id}").json()
        if machine["HealthStatus"] in wanted:
            return machine
        time.sleep(0.05)
    raise AssertionError(f"{machine_id} stayed {machine.get('HealthStatus')}: {machine.get('StatusSummary')}")


def closed_port() -> int:
    with socket.socket() as probe:  # a port nobody listens on once the probe is closed
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize("style", ["TentaclePassive", "TentacleActive"])
def test_an_agent_registered_with_register_with_turns_healthy_on_its_own(
    style: str, server: ServerProcess, tmp_path: Path
) -> None:
    space = new_space(server)
    environment, other = new_environment(server, space["Id"]), new_environment(server, space["Id"])
    port = free_port()
    home = new_agent(
        tmp_path, *(["--listen-port", str(port)] if style == "TentaclePassive" else ["--no-listen"])
    )
    name = unique("target")
    done = ok(
        agent(
            home,
            "register-with",
            *connect(server),
            "--space",
            space["Name"],
            "--name",
            name,
            "--comms-style",
            style,
            "--environment",
            environment["Name"].upper(),
            "--env",
            other["Id"],
            "--role",
            "web",
            "-r",
            "api",
        )
    )
    [target] = targets_of(server, home, space["Id"])
    assert target["Name"] == name and target["Id"].startswith("Machines-")
    assert target["EnvironmentIds"] == [environment["Id"], other["Id"]] and target["Roles"] == ["web", "api"]
    assert target["Endpoint"]["CommunicationStyle"] == style
    assert target["Endpoint"]["Thumbprint"] == thumbprint(home)
    assert f"Registered deployment target {name} ({target['Id']})" in done.stdout
    assert "Roles: web, api" in done.stdout and f"Server comms port: {server.comms_port}" in done.stdout
    assert [t["thumbprint"] for t in configuration(home)["trusted"]] == [server_thumbprint(server.client)]
    assert server.client.get(f"/api/{space['Id']}/workers/all").json() == []  # a target, not a worker

    process = AgentProcess(home, thumbprint(home), port).start()
    try:
        healthy = wait_for_target(server.client, space["Id"], target["Id"], "Healthy")
        assert healthy["HasLatestCalamari"] is True
        listed = server.client.get(f"/api/{space['Id']}/environments/{other['Id']}/machines").json()
        assert [m["Id"] for m in listed["Items"]] == [target["Id"]]
    finally:
        process.stop()


def test_register_with_refuses_a_taken_name_unless_forced(server: ServerProcess, tmp_path: Path) -> None:
    space = new_space(server)
    dev, prod = new_environment(server, space["Id"]), new_environment(server, space["Id"])
    home = new_agent(tmp_path, "--listen-port", str(free_port()))
    name = unique("web")
    where = [*connect(server), "--space", space["Id"], "--name", name]
    ok(agent(home, "register-with", *where, "--environment", dev["Slug"], "--role", "web"))
    [first] = targets_of(server, home, space["Id"])

    again = agent(
        home, "register-with", *where[:-1], name.upper(), "--environment", dev["Id"], "--role", "web"
    )
    assert error_line(again) == (
        f"error: A machine named '{name.upper()}' already exists in space '{space['Name']}'; "
        "use --force to update it"
    )
    policy = server.client.get(f"/api/{space['Id']}/machinepolicies/all").json()[0]
    forced = ok(
        agent(
            home,
            "register-with",
            *where,
            "--environment",
            prod["Name"],
            "--role",
            "db",
            "--policy",
            policy["Name"].lower(),
            "--force",
        )
    )
    assert f"Updated deployment target {name}" in forced.stdout
    [updated] = targets_of(server, home, space["Id"])
    assert (updated["Id"], updated["EnvironmentIds"], updated["Roles"]) == (first["Id"], [prod["Id"]], ["db"])

    missing = agent(home, "register-with", *where, "--environment", "Nowhere", "--role", "web", "--force")
    assert "'Nowhere'" in error_line(missing) and "environment" in error_line(missing)
    no_role = agent(home, "register-with", *where, "--environment", dev["Id"])
    assert no_role.returncode == 2 and "--role" in no_role.stderr


def test_one_polling_agent_is_a_worker_and_a_target(server: ServerProcess, tmp_path: Path) -> None:
    """Both registrations share the agent's certificate and its one subscription: one link serves both,
    and its arrival checks both."""
    space = new_space(server)
    environment = new_environment(server, space["Id"])
    pool = server.client.post(f"/api/{space['Id']}/workerpools", json={"Name": unique("pool")}).json()
    home = new_agent(tmp_path, "--no-listen")
    name = unique("both")
    common = [*connect(server), "--space", space["Name"], "--name", name, "--comms-style", "TentacleActive"]
    ok(agent(home, "register-worker", *common, "--worker-pool", pool["Name"]))
    ok(agent(home, "register-with", *common, "--environment", environment["Name"], "--role", "app"))
    [worker] = server.client.get(
        f"/api/{space['Id']}/workers/all", params={"thumbprint": thumbprint(home)}
    ).json()
    [target] = targets_of(server, home, space["Id"])
    assert worker["Name"] == target["Name"] == name
    assert worker["Endpoint"]["Uri"] == target["Endpoint"]["Uri"]  # one subscription
    assert {entry["subscription_id"] for entry in configuration(home)["polling"]} == {
        target["Endpoint"]["Uri"]
    }

    process = AgentProcess(home, thumbprint(home)).start()
    try:
        wait_for_target(server.client, space["Id"], target["Id"], "Healthy")
        checked = server.client.get(f"/api/{space['Id']}/workers/{worker['Id']}").json()
        for _ in range(600):
            if checked["HealthStatus"] == "Healthy":
                break
            time.sleep(0.05)
            checked = server.client.get(f"/api/{space['Id']}/workers/{worker['Id']}").json()
        assert checked["HealthStatus"] == "Healthy", checked["StatusSummary"]
        task = run_script(server.client, "echo the worker runs it", space["Id"], WorkerPoolIds=[pool["Id"]])
        assert task["State"] == "Success"
    finally:
        process.stop()


def test_a_cloud_region_target_is_checked_through_a_worker_of_its_pool(
    server: ServerProcess, agent_factory: Any
) -> None:
    c = server.client
    space = new_space(server)["Id"]
    environment = new_environment(server, space)["Id"]

    def region(pool: str | None) -> str:
        endpoint = {"CommunicationStyle": "None", "DefaultWorkerPoolId": pool}
        body = {
            "Name": unique("region"),
            "EnvironmentIds": [environment],
            "Roles": ["cloud"],
            "Endpoint": endpoint,
        }
        response = c.post(f"/api/{space}/machines", json=body)
        assert response.status_code == 201, response.text
        return str(response.json()["Id"])

    # The space's default pool is empty: the built-in worker runs its steps, so it checks the target.
    on_built_in = wait_for_target(c, space, region(None), "Healthy")
    assert "built-in worker" in on_built_in["StatusSummary"]

    broken = c.post(f"/api/{space}/workerpools", json={"Name": unique("broken")}).json()
    dead = {
        "CommunicationStyle": "TentaclePassive",
        "Uri": f"https://127.0.0.1:{closed_port()}/",
        "Thumbprint": "AB" * 20,
    }
    added = c.post(
        f"/api/{space}/workers",
        json={"Name": unique("dead"), "WorkerPoolIds": [broken["Id"]], "Endpoint": dead},
    )
    assert added.status_code == 201, added.text
    stranded = wait_for_target(c, space, region(broken["Id"]), "Unavailable", "Unhealthy")
    assert f"'{broken['Name']}'" in stranded["StatusSummary"], stranded["StatusSummary"]

    live = agent_factory(trust=[server_thumbprint(c)])
    working = c.post(f"/api/{space}/workerpools", json={"Name": unique("working")}).json()
    worker_name = unique("live")
    body = {"Name": worker_name, "WorkerPoolIds": [working["Id"]], "Endpoint": listening_endpoint(live)}
    assert c.post(f"/api/{space}/workers", json=body).status_code == 201
    reached = wait_for_target(c, space, region(working["Id"]), "Healthy")
    assert (
        f"'{worker_name}'" in reached["StatusSummary"] and f"'{working['Name']}'" in reached["StatusSummary"]
    )


def test_the_policy_interval_checks_deployment_targets(server_factory: Any) -> None:
    """A target nobody asked to check (``SkipInitialHealthCheck``) is checked by its policy's schedule."""
    srv = server_factory()
    c = srv.client
    check = {"HealthCheckInterval": "00:00:01", "HealthCheckTimeout": "00:00:05"}
    policy = c.post("/api/machinepolicies", json={"Name": "Every second", "MachineHealthCheckPolicy": check})
    assert policy.status_code == 201, policy.text
    environment = new_environment(srv, "Spaces-1")["Id"]
    body = {
        "Name": "scheduled",
        "EnvironmentIds": [environment],
        "Roles": ["cloud"],
        "MachinePolicyId": policy.json()["Id"],
        "SkipInitialHealthCheck": True,
        "Endpoint": {"CommunicationStyle": "None"},
    }
    target = c.post("/api/machines", json=body)
    assert target.status_code == 201 and target.json()["HealthStatus"] == "Unknown", target.text
    wait_for_target(c, "Spaces-1", target.json()["Id"], "Healthy")
    checks = c.get("/api/tasks", params={"name": "Health", "take": 100}).json()["Items"]
    assert any(
        "Every second" in t["Description"] and target.json()["Id"] in t["Arguments"]["MachineIds"]
        for t in checks
    )
