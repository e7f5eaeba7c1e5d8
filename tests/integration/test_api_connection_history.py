"""A machine's connection history and discovery before it is added: what the portal's worker and target
pages and its add-worker wizard read (``/connection``, ``/discover?type=TentaclePassive``)."""

from __future__ import annotations

from typing import Any

import httpx

from conftest import ServerProcess, eventually, follow, free_port, unique


def _space(client: httpx.Client) -> str:
    return str(client.post("/api/spaces", json={"Name": unique("History")}).json()["Id"])


def _thumbprint(client: httpx.Client) -> str:
    return str(client.get("/api/configuration/certificates/certificate-global").json()["Thumbprint"])


def _check(client: httpx.Client, space: str, machine_id: str) -> None:
    task = client.post(
        f"/api/{space}/tasks", json={"Name": "Health", "Arguments": {"MachineIds": [machine_id]}}
    )
    assert task.status_code == 201, task.text
    follow(client, str(task.json()["Id"]))


def test_discovery_reads_a_listening_agents_thumbprint_and_says_when_nothing_answers(
    server: ServerProcess, agent_factory: Any
) -> None:
    c = server.client
    space = _space(c)
    agent = agent_factory(trust=[_thumbprint(c)])
    for path in ("workers", "machines"):
        found = c.get(
            f"/api/{space}/{path}/discover",
            params={"host": "127.0.0.1", "port": agent.listen_port, "type": "TentaclePassive"},
        )
        assert found.status_code == 200, found.text
        endpoint = found.json()["Endpoint"]
        assert endpoint["Thumbprint"] == agent.thumbprint
        assert endpoint["Uri"] == f"https://127.0.0.1:{agent.listen_port}/"
    closed = c.get(
        f"/api/{space}/workers/discover",
        params={"host": "127.0.0.1", "port": free_port(), "type": "TentaclePassive"},
    )
    assert closed.status_code == 400
    assert "Cannot connect to 127.0.0.1" in closed.json()["ErrorMessage"]
    wrong = c.get(f"/api/{space}/machines/discover", params={"host": "127.0.0.1", "type": "Carrier"})
    assert wrong.status_code == 400 and "Ssh or TentaclePassive" in wrong.json()["ErrorMessage"]


def test_health_changes_are_the_connection_history_of_workers_and_targets(
    server: ServerProcess, agent_factory: Any
) -> None:
    c = server.client
    space = _space(c)
    agent = agent_factory(trust=[_thumbprint(c)])
    pool = c.post(f"/api/{space}/workerpools", json={"Name": unique("Pool")}).json()["Id"]
    endpoint = {"CommunicationStyle": "TentaclePassive", "Uri": agent.uri, "Thumbprint": agent.thumbprint}
    worker = c.post(
        f"/api/{space}/workers", json={"Name": unique("w"), "WorkerPoolIds": [pool], "Endpoint": endpoint}
    ).json()["Id"]
    environment = c.post(f"/api/{space}/environments", json={"Name": unique("Env")}).json()["Id"]
    target = c.post(
        f"/api/{space}/machines",
        json={"Name": unique("t"), "EnvironmentIds": [environment], "Roles": ["web"], "Endpoint": endpoint},
    ).json()["Id"]

    _check(c, space, worker)
    _check(c, space, target)
    _check(c, space, worker)  # the same health again: no new entry
    for kind, machine in (("workers", worker), ("machines", target)):
        status = c.get(f"/api/{space}/{kind}/{machine}/connection").json()
        assert status["MachineId"] == machine and status["Status"] == "Healthy"
        assert status["CurrentTentacleVersion"] and status["CurrentRunnerVersion"] and status["LastChecked"]
        assert [log["Category"] for log in status["Logs"]] == ["MachineHealthy"]

    agent.stop()
    _check(c, space, worker)
    logs = c.get(f"/api/{space}/workers/{worker}/connection").json()["Logs"]
    assert [log["Status"] for log in logs] == ["Unavailable", "Healthy"]  # newest first
    assert "is unavailable (was Healthy)" in logs[0]["MessageText"]
    # The audit log shows the same changes, regarding the machine.
    events = c.get("/api/events", params={"regarding": worker, "spaces": space}).json()["Items"]
    assert {"MachineHealthy", "MachineUnavailable"} <= {e["Category"] for e in events}
    assert c.get(f"/api/{space}/workers/Workers-999999/connection").status_code == 404


def test_the_pool_summary_counts_workers_by_health_and_disabled(server: ServerProcess) -> None:
    c = server.client
    space = _space(c)
    pools = [
        c.post(f"/api/{space}/workerpools", json={"Name": unique("Pool")}).json()["Id"] for _ in range(2)
    ]
    dead = {"CommunicationStyle": "TentaclePassive", "Uri": "https://127.0.0.1:1/", "Thumbprint": "AB" * 20}
    for name, disabled in (("a", False), ("b", True)):
        body = {"Name": unique(name), "WorkerPoolIds": pools[:1], "Endpoint": dead, "IsDisabled": disabled}
        assert c.post(f"/api/{space}/workers", json=body).status_code == 201
    summary: dict[str, Any] = {}

    def counted() -> bool:
        nonlocal summary
        summary = c.get(f"/api/{space}/workerpools/summary", params={"take": 100}).json()
        first = next(s for s in summary["WorkerPoolSummaries"] if s["WorkerPool"]["Id"] == pools[0])
        return bool(first["MachineHealthStatusSummaries"]["Unavailable"] == 1)

    eventually("the enabled worker found unavailable", counted)
    by_pool = {s["WorkerPool"]["Id"]: s for s in summary["WorkerPoolSummaries"]}
    assert by_pool[pools[0]]["TotalMachines"] == 2 and by_pool[pools[0]]["TotalDisabledMachines"] == 1
    assert by_pool[pools[1]]["TotalMachines"] == 0
    assert summary["TotalMachines"] == 2 and summary["MachineEndpointSummaries"] == {"TentaclePassive": 2}
    assert summary["TotalPools"] == 3  # and the space's default pool
    assert c.get(f"/api/{space}/workerpools/summary", params={"take": -1}).status_code == 400
