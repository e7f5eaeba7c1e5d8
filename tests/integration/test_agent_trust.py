"""Trust is checked on every call, not only when a connection opens.

A worker registered with the address (or subscription) of a live agent but another thumbprint must
never reach that agent, however many links to it the server already holds: its health check says
Unhealthy naming both thumbprints, and a script step aimed at it fails with that message and runs
nothing. Real server, real agents, real TLS; the real agent's own worker keeps working throughout.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from test_agents import new_subscription, polling_to, server_thumbprint

from conftest import ServerProcess, follow, run_script, unique, wait_for_health

WRONG = "AB" * 20


def new_space(client: httpx.Client) -> str:
    return str(client.post("/api/spaces", json={"Name": unique("Trust")}).json()["Id"])


def new_pool(client: httpx.Client, space: str) -> str:
    response = client.post(f"/api/{space}/workerpools", json={"Name": unique("Pool")})
    assert response.status_code == 201, response.text
    return str(response.json()["Id"])


def add_worker(client: httpx.Client, space: str, pool: str, style: str, uri: str, thumbprint: str) -> str:
    endpoint = {"CommunicationStyle": style, "Uri": uri, "Thumbprint": thumbprint}
    response = client.post(
        f"/api/{space}/workers", json={"Name": unique("w"), "WorkerPoolIds": [pool], "Endpoint": endpoint}
    )
    assert response.status_code == 201, response.text
    return str(response.json()["Id"])


def check_health(client: httpx.Client, space: str, worker: str) -> dict[str, Any]:
    task = client.post(f"/api/{space}/tasks", json={"Name": "Health", "Arguments": {"MachineIds": [worker]}})
    assert task.status_code == 201, task.text
    follow(client, task.json()["Id"])
    found: dict[str, Any] = client.get(f"/api/{space}/workers/{worker}").json()
    return found


def change_thumbprint(client: httpx.Client, space: str, worker: str, thumbprint: str) -> None:
    """Re-register a worker's certificate: what was known of its health no longer holds."""
    current = client.get(f"/api/{space}/workers/{worker}").json()
    endpoint = {**current["Endpoint"], "Thumbprint": thumbprint}
    response = client.put(f"/api/{space}/workers/{worker}", json={**current, "Endpoint": endpoint})
    assert response.status_code == 200, response.text
    changed = client.get(f"/api/{space}/workers/{worker}").json()
    assert changed["Endpoint"]["Thumbprint"] == thumbprint
    assert changed["HealthStatus"] in ("Unknown", "Unhealthy"), changed  # never Healthy on old news


def assert_refused_by_name(summary: str, presented: str) -> None:
    assert presented in summary and WRONG in summary, summary


def assert_never_runs(client: httpx.Client, space: str, pool: str, marker: Path, presented: str) -> None:
    """A worker re-registered with the wrong thumbprint, beside the real agent's live link: the step
    checks it again, fails naming both thumbprints, and runs nothing."""
    task = run_script(client, f"echo ran > {marker}", space=space, WorkerPoolIds=[pool])
    raw = client.get(f"/api/tasks/{task['Id']}/raw").text
    assert task["State"] == "Failed", raw
    assert "is Unhealthy" in raw
    # The step's own check names both thumbprints; if a check the agent's reconnection set off got there
    # first, the step refuses the Unhealthy worker at once and the worker's status names them instead.
    workers = client.get(f"/api/{space}/workerpools/{pool}/workers").json()["Items"]
    assert_refused_by_name(raw + "".join(w["StatusSummary"] for w in workers), presented)
    assert not marker.exists()


def test_listening_wrong_thumbprint_beside_a_connected_agent(
    server: ServerProcess, agent_factory: Any, tmp_path: Path
) -> None:
    c = server.client
    agent = agent_factory(trust=[server_thumbprint(c)])
    good_pool = new_pool(c, "Spaces-1")
    good = add_worker(c, "Spaces-1", good_pool, "TentaclePassive", agent.uri, agent.thumbprint)
    assert check_health(c, "Spaces-1", good)["HealthStatus"] == "Healthy"  # a link to the address is open

    for space in ("Spaces-1", new_space(c)):
        pool = new_pool(c, space)
        wrong = add_worker(c, space, pool, "TentaclePassive", agent.uri, WRONG)
        checked = check_health(c, space, wrong)
        assert checked["HealthStatus"] == "Unhealthy", checked["StatusSummary"]
        assert_refused_by_name(checked["StatusSummary"], agent.thumbprint)

        # Registered right, checked Healthy, then re-registered with the wrong certificate.
        edited = add_worker(c, space, pool, "TentaclePassive", agent.uri, agent.thumbprint)
        assert check_health(c, space, edited)["HealthStatus"] == "Healthy"
        change_thumbprint(c, space, edited, WRONG)
        assert_never_runs(c, space, pool, tmp_path / f"ran-{space}", agent.thumbprint)

        good_run = run_script(c, "echo good", WorkerPoolIds=[good_pool])
        assert good_run["State"] == "Success", c.get(f"/api/tasks/{good_run['Id']}/raw").text
    assert check_health(c, "Spaces-1", good)["HealthStatus"] == "Healthy"


def test_polling_wrong_thumbprint_beside_a_connected_agent(
    server: ServerProcess, agent_factory: Any, tmp_path: Path
) -> None:
    c = server.client
    subscription = new_subscription("trust")
    agent = agent_factory(listen=False, start=False)
    good_pool = new_pool(c, "Spaces-1")
    good = add_worker(c, "Spaces-1", good_pool, "TentacleActive", subscription, agent.thumbprint)
    polling = polling_to(server, subscription)
    agent_factory(listen=False, home=agent.home, polling=[polling])
    wait_for_health(c, good, "Healthy")  # the agent is connected and polling

    for space in ("Spaces-1", new_space(c)):
        pool = new_pool(c, space)
        wrong = add_worker(c, space, pool, "TentacleActive", subscription, WRONG)
        checked = check_health(c, space, wrong)
        assert checked["HealthStatus"] == "Unhealthy", checked["StatusSummary"]
        assert_refused_by_name(checked["StatusSummary"], agent.thumbprint)

        edited = add_worker(c, space, pool, "TentacleActive", subscription, agent.thumbprint)
        assert check_health(c, space, edited)["HealthStatus"] == "Healthy"
        change_thumbprint(c, space, edited, WRONG)
        assert_never_runs(c, space, pool, tmp_path / f"ran-{space}", agent.thumbprint)

        good_run = run_script(c, "echo good", WorkerPoolIds=[good_pool])
        assert good_run["State"] == "Success", c.get(f"/api/tasks/{good_run['Id']}/raw").text
    assert check_health(c, "Spaces-1", good)["HealthStatus"] == "Healthy"
