"""Structured logs of a real server node (``--log-format json``): a line logged while a task's script
was dispatched names the task, its space and the worker, and every line the node writes to stderr is
one JSON object (uvicorn's and Python warnings included), while stdout keeps its plain start lines."""

from __future__ import annotations

import json
from typing import Any

from test_agents import add_worker, check_health, listening_endpoint, new_pool, server_thumbprint

from conftest import ServerProcess, eventually, run_script, unique

# What the node prints to stdout for people and the test fixtures (its banner, the first start's admin
# key, its addresses); the fixture merges stdout and stderr into one stream, so these are the only lines
# that may not be log objects.
STDOUT_LINES = (
    "Argonaut ",
    "Server certificate thumbprint: ",
    "First start: ",
    "Admin API key ",
    "Admin password ",
    "Listening on ",
    "Web portal: ",
    "Add a worker: ",
    "Comms port for polling agents: ",
)


def log_entries(node: ServerProcess) -> list[dict[str, Any]]:
    entries = []
    for line in list(node.output):
        if not line or line.startswith(STDOUT_LINES):
            continue
        entry = json.loads(line)  # every other line must be a JSON object
        assert isinstance(entry, dict), line
        assert {"ts", "level", "logger", "message"} <= set(entry), line
        entries.append(entry)
    return entries


def test_a_worker_that_cannot_be_reached_is_logged_with_the_task_and_worker_ids(
    server_factory: Any, agent_factory: Any
) -> None:
    node: ServerProcess = server_factory("--log-format", "json")
    client = node.client
    agent = agent_factory(trust=[server_thumbprint(client)])
    pool = new_pool(client)
    name = unique("gone")
    worker = add_worker(client, name, [pool], listening_endpoint(agent))
    assert check_health(client, worker)["HealthStatus"] == "Healthy"

    def health_checks(states: str) -> int:
        found = client.get("/api/Spaces-1/tasks", params={"states": states, "name": "Health"}).json()
        return int(found["TotalResults"])

    # Adding the worker also queued a prompt check of its own (a moment later, batched): once both
    # checks have run, nothing checks the worker again before the script, which finds it Healthy in the
    # store and is dispatched to it.
    eventually(
        "the added worker's own health check has run",
        lambda: health_checks("Success,Failed") >= 2 and health_checks("Queued,Executing") == 0,
    )
    agent.stop()  # still Healthy in the store, so the next script is dispatched to it and fails there

    secret = "hunter2-" + unique("s")  # a script body is the user's: it never reaches the node's log
    task = run_script(client, f"echo {secret}", WorkerPoolIds=[pool])
    assert task["State"] == "Failed"

    def logged() -> list[dict[str, Any]]:
        return [e for e in log_entries(node) if e.get("task_id") == task["Id"] and e.get("worker_id")]

    eventually("the failed dispatch is logged with its task", logged)
    entry = logged()[0]
    assert entry["level"] == "WARNING"
    assert entry["worker_id"] == worker and entry["worker_name"] == name
    assert entry["space_id"] == "Spaces-1"
    assert f"Worker '{name}' cannot be contacted" in entry["message"]
    assert node.stop() == 0
    assert not any(secret in line for line in node.output)
    log_entries(node)  # the lines of the shutdown parse too
