"""``PendingReason`` on the task resource, through the REST API and the CLI on a real server: a task queued
behind the task cap says so (and stops saying anything once it runs), a deployment waiting for a manual
intervention says who it waits for, one waiting for a worker busy with an exclusive step says which
pool; and the task list's ``project`` and ``environment`` filters."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import httpx
from test_agents import add_worker, listening_endpoint, new_pool, server_thumbprint

from conftest import ARGONAUT, ServerProcess, eventually, follow, script_task, unique, wait_for_health


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def queue(client: httpx.Client, body: str, space: str = "Spaces-1") -> str:
    return str(ok(client.post(f"/api/{space}/tasks", json=script_task(body)), 201)["Id"])


def test_a_task_behind_the_task_cap_says_why_it_waits(server_factory: Any, tmp_path: Path) -> None:
    node: ServerProcess = server_factory("--task-cap", "1")
    client = node.client
    flag = tmp_path / "go"
    blocker = queue(client, f"echo holding; while [ ! -f '{flag}' ]; do sleep 0.1; done")
    eventually("the first task runs", lambda: ok(client.get(f"/api/tasks/{blocker}"))["State"] == "Executing")
    waiting = queue(client, "echo done")
    try:
        task = ok(client.get(f"/api/tasks/{waiting}"))
        assert task["State"] == "Queued"
        assert task["PendingReason"].startswith("The task cap is reached: node '")
        assert "runs 1 of 1 tasks" in task["PendingReason"]
        # A running task that waits for nothing has no reason; the list carries the same reasons.
        assert ok(client.get(f"/api/tasks/{blocker}"))["PendingReason"] is None
        listed = {t["Id"]: t for t in ok(client.get("/api/Spaces-1/tasks", params={"take": 5}))["Items"]}
        assert listed[waiting]["PendingReason"] == task["PendingReason"]
        # The client's task output shows it.
        env = {**os.environ, "ARGONAUT_SERVER": node.url, "ARGONAUT_API_KEY": node.api_key}
        shown = subprocess.run(
            [str(ARGONAUT), "task", "show", waiting], env=env, capture_output=True, text=True, timeout=60
        )
        assert shown.returncode == 0, shown.stderr
        assert "Waiting because" in shown.stdout and "The task cap is reached" in shown.stdout
    finally:
        flag.touch()
    assert follow(client, waiting)["PendingReason"] is None


def deploy_manual(client: httpx.Client) -> tuple[str, str, str, str]:
    """A project whose one step is a manual intervention, deployed: (space, project, environment, task)."""
    space = ok(client.post("/api/spaces", json={"Name": unique("pending")}), 201)["Id"]
    environment = ok(client.post(f"/api/{space}/environments", json={"Name": unique("Dev")}), 201)["Id"]
    project = ok(client.post(f"/api/{space}/projects", json={"Name": unique("project")}), 201)
    url = f"/api/{space}/deploymentprocesses/{project['DeploymentProcessId']}"
    process = ok(client.get(url))
    action = {"Octopus.Action.Manual.Instructions": "Approve it"}
    process["Steps"] = [
        {
            "Name": "Ask",
            "Properties": {},
            "Actions": [{"Name": "Ask", "ActionType": "Octopus.Manual", "Properties": action}],
        }
    ]
    ok(client.put(url, json=process))
    release = ok(
        client.post(f"/api/{space}/releases", json={"ProjectId": project["Id"], "Version": "1.0.0"}), 201
    )
    body = {"ReleaseId": release["Id"], "EnvironmentId": environment}
    deployment = ok(client.post(f"/api/{space}/deployments", json=body), 201)
    return space, str(project["Id"]), str(environment), str(deployment["TaskId"])


def test_a_deployment_waiting_for_a_person_says_so_and_the_list_filters_by_project(
    server: ServerProcess,
) -> None:
    client = server.client
    space, project, environment, task_id = deploy_manual(client)
    script = queue(client, "echo not a deployment", space)
    eventually(
        "the manual intervention is raised",
        lambda: ok(client.get(f"/api/tasks/{task_id}"))["HasPendingInterruptions"],
    )
    try:
        reason = ok(client.get(f"/api/tasks/{task_id}"))["PendingReason"]
        assert reason.startswith("Waiting for someone to take responsibility for and approve or abort")

        def ids(**params: str) -> list[str]:
            return [t["Id"] for t in ok(client.get(f"/api/{space}/tasks", params=params))["Items"]]

        assert set(ids()) == {task_id, script}
        assert ids(project=project) == [task_id]
        assert ids(environment=environment) == [task_id]
        assert ids(project=project, states="Success") == []
        assert ids(project="Projects-999999") == []
        wrong = client.get(f"/api/{space}/tasks", params={"environment": "Dev"})
        assert wrong.status_code == 400
        assert wrong.json()["ErrorMessage"] == "environment: 'Dev' is not an id like Environments-1"
    finally:
        ok(client.post(f"/api/tasks/{task_id}/cancel"))
    assert follow(client, task_id)["PendingReason"] is None


def test_a_script_waiting_for_a_busy_worker_names_the_pool(
    server: ServerProcess, agent_factory: Any, tmp_path: Path
) -> None:
    client = server.client
    agent = agent_factory(trust=[server_thumbprint(client)])
    pool = new_pool(client)
    worker = add_worker(client, unique("solo"), [pool], listening_endpoint(agent))
    wait_for_health(client, worker, "Healthy")
    flag = tmp_path / "go"
    body = f"echo alone; while [ ! -f '{flag}' ]; do sleep 0.1; done"
    exclusive = script_task(body, WorkerPoolIds=[pool], Isolation="FullIsolation")
    first = ok(client.post("/api/Spaces-1/tasks", json=exclusive), 201)["Id"]
    try:
        eventually("the first script runs", lambda: "alone" in client.get(f"/api/tasks/{first}/raw").text)
        second = ok(client.post("/api/Spaces-1/tasks", json=exclusive), 201)["Id"]
        pool_name = ok(client.get(f"/api/Spaces-1/workerpools/{pool}"))["Name"]

        def says_busy() -> bool:
            reason = ok(client.get(f"/api/tasks/{second}"))["PendingReason"]
            return reason == f"Waiting: every healthy worker in pool '{pool_name}' is busy"

        eventually("the second task says the worker is busy", says_busy)
    finally:
        flag.touch()
    assert follow(client, second)["PendingReason"] is None


def test_the_details_view_says_why_the_task_waits_as_the_task_does(server: ServerProcess) -> None:
    client = server.client
    _, _, _, task_id = deploy_manual(client)
    eventually(
        "the manual intervention is raised",
        lambda: ok(client.get(f"/api/tasks/{task_id}"))["HasPendingInterruptions"],
    )
    try:
        reason = ok(client.get(f"/api/tasks/{task_id}"))["PendingReason"]
        assert reason.startswith("Waiting for someone to take responsibility for")
        details = ok(client.get(f"/api/tasks/{task_id}/details"))
        assert details["Task"]["PendingReason"] == reason
        assert (
            ok(client.get(f"/api/tasks/{task_id}/details", params={"tail": 1}))["Task"]["PendingReason"]
            == reason
        )
    finally:
        ok(client.post(f"/api/tasks/{task_id}/cancel"))
    follow(client, task_id)
    assert ok(client.get(f"/api/tasks/{task_id}/details"))["Task"]["PendingReason"] is None
