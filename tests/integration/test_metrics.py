"""``GET /metrics``: the Prometheus text format, scraped from a real server after real work.

Each test starts its own node, so the node-wide counters (scripts run, lines written) move only with
what the test does.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from test_agents import add_worker, check_health, new_pool, new_subscription, polling_to, server_thumbprint

from conftest import (
    ServerProcess,
    eventually,
    follow,
    run_script,
    script_task,
    unique,
    wait_for_health,
    wait_for_log_line,
)

pytestmark = pytest.mark.databases("SQLite", "PostgreSQL")

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(client: httpx.Client) -> tuple[set[str], Samples]:
    """The family names and every sample (name, sorted labels) -> value of one scrape."""
    response = client.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    families = list(text_string_to_metric_families(response.text))
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value for family in families for s in family.samples
    }
    return {f.name for f in families}, samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def items(client: httpx.Client, path: str) -> list[dict[str, Any]]:
    response = client.get(path, params={"take": 1000})
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()["Items"]
    return found


def test_a_script_shows_in_the_metrics(server_factory: Any) -> None:
    srv: ServerProcess = server_factory("--task-cap", "5")
    _, before = scrape(srv.client)

    task = run_script(srv.client, "echo one; echo two; echo three")
    assert task["State"] == "Success", task

    names, after = scrape(srv.client)
    assert {
        "argonaut_tasks",
        "argonaut_task_claim_latency_seconds",
        "argonaut_script_duration_seconds",
        "argonaut_lease_wait_seconds",
        "argonaut_agents_connected",
        "argonaut_machines_health",
        "argonaut_task_log_lines",
        "argonaut_node_heartbeats",
        "argonaut_node_last_heartbeat_timestamp_seconds",
        "process_resident_memory_bytes",
        "process_cpu_seconds",
    } <= names
    count = "argonaut_script_duration_seconds_count"
    assert value(after, count, kind="BuiltIn") == value(before, count, kind="BuiltIn") + 1
    assert value(after, "argonaut_script_duration_seconds_sum", kind="BuiltIn") > 0
    claims = "argonaut_task_claim_latency_seconds_count"
    assert value(after, claims, type="AdHocScript") >= value(before, claims, type="AdHocScript") + 1
    # At least the script's three lines and the task's summary line, written by this node.
    assert value(after, "argonaut_task_log_lines_total") >= value(before, "argonaut_task_log_lines_total") + 4
    assert value(after, "argonaut_node_heartbeats_total") >= 1
    assert value(after, "argonaut_node_last_heartbeat_timestamp_seconds") > 0
    assert value(after, "process_resident_memory_bytes") > 0
    # No agents on this node: both styles are there, at zero.
    assert value(after, "argonaut_agents_connected", style="polling") == 0
    assert ("argonaut_agents_connected", (("style", "listening"),)) in after
    # Nothing is left unfinished.
    assert not [k for k in after if k[0] == "argonaut_tasks" and after[k]]


def test_agents_show_by_style_and_their_scripts_and_lease_waits(
    server_factory: Any, agent_factory: Any, tmp_path: Path
) -> None:
    srv: ServerProcess = server_factory()
    pool = new_pool(srv.client)
    listening = agent_factory(trust=[server_thumbprint(srv.client)])
    endpoint = {
        "CommunicationStyle": "TentaclePassive",
        "Uri": listening.uri,
        "Thumbprint": listening.thumbprint,
    }
    listener = add_worker(srv.client, unique("listener"), [pool], endpoint)
    assert check_health(srv.client, listener)["HealthStatus"] == "Healthy"

    subscription = new_subscription("metrics")
    polling = agent_factory(listen=False, start=False)
    endpoint = {"CommunicationStyle": "TentacleActive", "Uri": subscription, "Thumbprint": polling.thumbprint}
    poller = add_worker(srv.client, unique("poller"), [new_pool(srv.client)], endpoint)
    agent_factory(listen=False, home=polling.home, polling=[polling_to(srv, subscription)])
    wait_for_health(srv.client, poller, "Healthy")

    _, samples = scrape(srv.client)
    assert value(samples, "argonaut_agents_connected", style="listening") == 1
    assert value(samples, "argonaut_agents_connected", style="polling") == 1

    # Two scripts that each take the listening agent alone: the second waits for the first's lease.
    gate = tmp_path / "go"
    body = f"echo holding; while [ ! -e {gate} ]; do sleep 0.05; done"
    alone = script_task(body, WorkerPoolIds=[pool], Isolation="FullIsolation")
    first = srv.client.post("/api/Spaces-1/tasks", json=alone).json()["Id"]
    wait_for_log_line(srv.client, first, "holding")
    second = srv.client.post("/api/Spaces-1/tasks", json=alone).json()["Id"]
    eventually(
        "the second script waits for the agent",
        lambda: "Waiting: " in srv.client.get(f"/api/tasks/{second}/raw").text,
    )
    gate.touch()
    assert [follow(srv.client, t)["State"] for t in (first, second)] == ["Success", "Success"]

    _, samples = scrape(srv.client)
    assert value(samples, "argonaut_script_duration_seconds_count", kind="Agent") == 2
    assert value(samples, "argonaut_lease_wait_seconds_count", lease="worker") == 1
    assert value(samples, "argonaut_lease_wait_seconds_sum", lease="worker") > 0


def test_health_counts_match_the_workers(server_factory: Any) -> None:
    srv: ServerProcess = server_factory()
    # A worker that has never been checked (Unknown), beside whatever the node starts with.
    pool = items(srv.client, "/api/Spaces-1/workerpools")[0]["Id"]
    added = srv.client.post(
        "/api/Spaces-1/workers",
        json={
            "Name": unique("worker"),
            "WorkerPoolIds": [pool],
            "Endpoint": {
                "CommunicationStyle": "TentaclePassive",
                "Uri": "https://127.0.0.1:1/",
                "Thumbprint": "A" * 40,
            },
        },
    )
    assert added.status_code == 201, added.text
    spaces = [s["Id"] for s in items(srv.client, "/api/spaces")]

    def in_the_api() -> dict[tuple[str, str], int]:
        found: Counter[tuple[str, str]] = Counter()
        for space in spaces:
            for kind, path in (("Worker", "workers"), ("Target", "machines")):
                for machine in items(srv.client, f"/api/{space}/{path}"):
                    if not machine["IsDisabled"]:
                        found[(kind, machine["HealthStatus"])] += 1
        return dict(found)

    def in_the_metrics() -> dict[tuple[str, str], int]:
        _, samples = scrape(srv.client)
        return {
            (dict(labels)["kind"], dict(labels)["status"]): int(v)
            for (name, labels), v in samples.items()
            if name == "argonaut_machines_health"
        }

    # The new worker is checked at once (it ends Unavailable: nothing listens on port 1), so the two
    # reads agree once that check has landed.
    def agree() -> bool:
        api = in_the_api()
        return api == in_the_metrics() and sum(api.values()) >= 1

    eventually("the health counts match the workers", agree)
    assert sum(in_the_metrics().values()) >= 1


def test_a_task_behind_the_cap_shows_as_queued(server_factory: Any, tmp_path: Path) -> None:
    srv: ServerProcess = server_factory("--task-cap", "1")
    gate = tmp_path / "go"
    body = f"echo waiting; while [ ! -e {gate} ]; do sleep 0.05; done; echo done"
    first = srv.client.post("/api/Spaces-1/tasks", json=script_task(body))
    assert first.status_code == 201, first.text
    wait_for_log_line(srv.client, first.json()["Id"], "waiting")
    second = srv.client.post("/api/Spaces-1/tasks", json=script_task("echo behind"))
    assert second.status_code == 201, second.text

    _, samples = scrape(srv.client)
    assert value(samples, "argonaut_tasks", state="Executing", type="AdHocScript", space="Spaces-1") == 1
    assert value(samples, "argonaut_tasks", state="Queued", type="AdHocScript", space="Spaces-1") == 1

    gate.touch()
    assert follow(srv.client, first.json()["Id"])["State"] == "Success"
    assert follow(srv.client, second.json()["Id"])["State"] == "Success"
    _, samples = scrape(srv.client)
    assert not [k for k in samples if k[0] == "argonaut_tasks" and samples[k]]


def test_scraping_needs_a_key_with_administer_system(server: ServerProcess) -> None:
    with httpx.Client(base_url=server.url, timeout=30) as anonymous:
        refused = anonymous.get("/metrics")
        assert refused.status_code == 401, refused.text
        assert set(refused.json()) == {"ErrorMessage", "Errors"}
        # Prometheus's own ways of sending a key: a bearer token, or a query parameter.
        assert (
            anonymous.get("/metrics", headers={"Authorization": f"Bearer {server.api_key}"}).status_code
            == 200
        )
        assert anonymous.get("/metrics", params={"apikey": server.api_key}).status_code == 200
        wrong = anonymous.get(
            "/metrics", headers={"Authorization": "Bearer API-NOTAKEYNOTAKEYNOTAKEY0000000"}
        )
        assert wrong.status_code == 401, wrong.text

    user = server.client.post("/api/users", json={"Username": unique("scraper"), "IsService": True})
    assert user.status_code == 201, user.text
    key = server.client.post(f"/api/users/{user.json()['Id']}/apikeys", json={"Purpose": "scrape"})
    assert key.status_code == 201, key.text
    with httpx.Client(base_url=server.url, headers={"X-Octopus-ApiKey": key.json()["ApiKey"]}) as plain:
        forbidden = plain.get("/metrics")
        assert forbidden.status_code == 403, forbidden.text
        assert "AdministerSystem" in forbidden.json()["ErrorMessage"]
        assert set(forbidden.json()) == {"ErrorMessage", "Errors"}
