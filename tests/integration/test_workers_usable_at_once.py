"""A worker is usable seconds after it is added, by any route: no waiting for the policy's hourly check."""

from __future__ import annotations

from typing import Any

import pytest
from test_agents import (
    add_worker,
    listening_endpoint,
    new_pool,
    new_subscription,
    polling_to,
    server_thumbprint,
)

from conftest import ServerProcess, follow, run_script, script_task, unique, wait_for_health

pytestmark = pytest.mark.databases("SQLite", "PostgreSQL")


def test_a_worker_added_through_the_api_is_checked_at_once(server: ServerProcess, agent_factory: Any) -> None:
    agent = agent_factory(trust=[server_thumbprint(server.client)])
    worker = add_worker(
        server.client, unique("listener"), [new_pool(server.client)], listening_endpoint(agent)
    )
    checked = wait_for_health(server.client, worker, "Healthy")  # nobody asked for a check
    assert checked["HasLatestCalamari"] is True
    # Clients PUT the whole resource back to rename a worker: an unchanged endpoint keeps its health.
    renamed = server.client.put(f"/api/workers/{worker}", json={**checked, "Name": unique("renamed")}).json()
    assert renamed["HealthStatus"] == "Healthy"


def test_a_step_checks_a_worker_nobody_has_checked_yet_instead_of_failing(
    server_factory: Any, agent_factory: Any
) -> None:
    # One task at a time: the step holds the only slot, so it cannot wait on a queued check; it checks.
    srv = server_factory("--task-cap", "1")
    agent = agent_factory(trust=[server_thumbprint(srv.client)])
    pool = new_pool(srv.client)
    add_worker(srv.client, unique("fresh"), [pool], listening_endpoint(agent))
    task = run_script(srv.client, "echo ran on a fresh worker", WorkerPoolIds=[pool])
    raw = srv.client.get(f"/api/tasks/{task['Id']}/raw").text
    assert task["State"] == "Success", raw
    assert "ran on a fresh worker" in raw


def test_no_healthy_worker_names_each_worker_and_how_to_check_it(server: ServerProcess) -> None:
    c = server.client
    pool = c.post("/api/workerpools", json={"Name": unique("Broken")}).json()
    dead = {"CommunicationStyle": "TentaclePassive", "Uri": "https://127.0.0.1:9/", "Thumbprint": "A" * 40}
    gone = add_worker(c, unique("gone"), [pool["Id"]], dead)
    wait_for_health(c, gone, "Unavailable")
    off = add_worker(c, unique("off"), [pool["Id"]], dead)
    c.put(f"/api/workers/{off}", json={"IsDisabled": True})
    task = run_script(c, "echo never", WorkerPoolIds=[pool["Id"]])
    message = str(task["ErrorMessage"])
    assert task["State"] == "Failed"
    gone_name = c.get(f"/api/workers/{gone}").json()["Name"]
    off_name = c.get(f"/api/workers/{off}").json()["Name"]
    assert f"no healthy worker available in pool '{pool['Name']}'" in message
    assert f"'{gone_name}' is Unavailable" in message and f"'{off_name}' is disabled" in message
    assert "argonaut worker check-health" in message


def test_a_connected_polling_agent_added_to_another_space_is_healthy_there(
    server: ServerProcess, agent_factory: Any
) -> None:
    c = server.client
    subscription = new_subscription("sub")
    agent = agent_factory(listen=False, start=False)
    endpoint = {"CommunicationStyle": "TentacleActive", "Uri": subscription, "Thumbprint": agent.thumbprint}
    first = add_worker(c, unique("poller"), [new_pool(c)], endpoint)
    polling = polling_to(server, subscription)
    agent_factory(listen=False, home=agent.home, polling=[polling])
    wait_for_health(c, first, "Healthy")
    space = c.post("/api/spaces", json={"Name": unique("Team")}).json()["Id"]
    second = add_worker(c, unique("poller"), [new_pool(c, space)], endpoint, space=space)
    wait_for_health(c, second, "Healthy", space=space)  # the agent is connected already: checked at once
    task = c.post(f"/api/{space}/tasks", json=script_task("echo in the second space", TargetType="Workers",
                                                          MachineIds=[second]))  # fmt: skip
    assert follow(c, task.json()["Id"])["State"] == "Success"
