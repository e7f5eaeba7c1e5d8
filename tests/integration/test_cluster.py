"""Several server nodes on one PostgreSQL database: real nodes, a real agent, a throwaway cluster."""

from __future__ import annotations

import base64
import os
import secrets
import subprocess
import time
from pathlib import Path
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

from conftest import (
    ARGONAUT,
    AgentProcess,
    assert_process_gone,
    eventually,
    follow,
    free_port,
    make_api_key,
    run_script,
    script_task,
    unique,
    wait_for_health,
    wait_for_log_line,
)

pytestmark = pytest.mark.databases("PostgreSQL")

OFFLINE_AFTER_S = "3"


def cluster(postgres: Any, server_factory: Any, names: list[str], **env: str) -> list[Any]:
    """Nodes sharing one database and one master key, as the README tells operators to set them up."""
    database = postgres.create_database(f"cluster_{secrets.token_hex(4)}")
    shared = {
        "ARGONAUT_MASTER_KEY": base64.b64encode(os.urandom(32)).decode(),
        "ARGONAUT_NODE_OFFLINE_AFTER_S": OFFLINE_AFTER_S,
        **env,
    }
    key = make_api_key()
    return [
        server_factory("--database", database, "--node-name", name, api_key=key, env=shared) for name in names
    ]


def nodes(node: Any) -> dict[str, dict[str, Any]]:
    return {n["Name"]: n for n in node.client.get("/api/octopusservernodes/all").json()}


def set_node(node: Any, name: str, **changes: object) -> dict[str, Any]:
    target = nodes(node)[name]
    response = node.client.put(f"/api/octopusservernodes/{target['Id']}", json=changes)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def draining(node: Any, wanted: bool) -> None:
    """Wait until the node has applied its maintenance mode (at its next heartbeat)."""
    eventually("the node applying its maintenance mode", lambda: node.client.get("/api/health").json()[
        "IsInMaintenanceMode"] is wanted)  # fmt: skip


def begun_on_alpha(a: Any, b: Any, body: str) -> dict[str, Any]:
    """A built-in script that alpha claims (beta drains meanwhile), once it has said "begun"."""
    set_node(a, "beta", IsInMaintenanceMode=True)
    draining(b, True)
    task: dict[str, Any] = a.client.post(
        "/api/tasks", json=script_task(body, TargetType="OctopusServer")
    ).json()
    wait_for_log_line(a.client, task["Id"], "begun")
    return task


def test_nodes_are_listed_and_a_draining_node_claims_nothing(postgres: Any, server_factory: Any) -> None:
    a, b = cluster(postgres, server_factory, ["alpha", "beta"])
    listed = nodes(a)
    assert set(listed) == {"alpha", "beta"}
    assert all(not n["IsOffline"] and n["MaxConcurrentTasks"] == 5 for n in listed.values())
    # Drain both: a task stays queued; let beta claim again and beta runs it.
    for name in ("alpha", "beta"):
        assert set_node(a, name, IsInMaintenanceMode=True)["IsInMaintenanceMode"] is True
    draining(b, True)  # set through alpha; beta takes it up at its next heartbeat
    task = a.client.post("/api/tasks", json=script_task("echo drained")).json()
    time.sleep(1.0)  # nobody claims it meanwhile
    assert a.client.get(f"/api/tasks/{task['Id']}").json()["State"] == "Queued"
    set_node(b, "beta", IsInMaintenanceMode=False, MaxConcurrentTasks=2)
    # Followed through alpha while beta runs it: the stream reads what beta stores.
    with a.client.stream("GET", f"/api/tasks/{task['Id']}/stream", timeout=60) as stream:
        said = [line for line in stream.iter_lines() if line]
    assert '"MessageText":"drained"' in said[0] and said[-1].startswith('{"Type":"Task"')
    final = a.client.get(f"/api/tasks/{task['Id']}").json()
    assert final["State"] == "Success" and final["ServerNode"] == "beta"
    assert nodes(a)["beta"]["MaxConcurrentTasks"] == 2
    b.stop()
    eventually("beta shown offline once it stopped", lambda: nodes(a)["beta"]["IsOffline"])


def test_a_node_with_another_master_key_refuses_to_start(
    postgres: Any, server_factory: Any, tmp_path: Path
) -> None:
    [a] = cluster(postgres, server_factory, ["alpha"])
    database = a.args[a.args.index("--database") + 1]
    done = subprocess.run(
        [str(ARGONAUT), "server", "--home", str(tmp_path / "other"), "--listen", "127.0.0.1:0",
         "--comms-port", "0", "--database", database, "--node-name", "intruder"],
        capture_output=True, text=True, timeout=60, env={**os.environ, "ARGONAUT_ADMIN_API_KEY": a.api_key},
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert "master key" in done.stderr and "ARGONAUT_MASTER_KEY" in done.stderr
    assert "Traceback" not in done.stderr
    assert "intruder" not in nodes(a)


def test_a_killed_nodes_agent_script_finishes_on_another_node_with_every_line_once(
    postgres: Any, server_factory: Any, agent_factory: Any, tmp_path: Path
) -> None:
    a, b = cluster(postgres, server_factory, ["alpha", "beta"])
    agent = agent_factory(trust=[server_thumbprint(a.client), server_thumbprint(b.client)])
    pool = new_pool(a.client)
    worker = add_worker(a.client, unique("shared"), [pool], listening_endpoint(agent))
    wait_for_health(a.client, worker, "Healthy")
    set_node(a, "beta", IsInMaintenanceMode=True)  # so that alpha claims the task
    draining(b, True)
    marker = tmp_path / "runs"
    os.chmod(tmp_path, 0o777)
    body = f"echo run >> {marker}; for i in $(seq 1 40); do echo line $i; sleep 0.05; done; exit 3"
    task = a.client.post("/api/tasks", json=script_task(body, WorkerPoolIds=[pool])).json()
    wait_for_log_line(a.client, task["Id"], "line 5")
    set_node(a, "beta", IsInMaintenanceMode=False)
    draining(b, False)
    a.kill()  # SIGKILL: beta finds alpha offline and takes the task over
    final = follow(b.client, task["Id"], timeout_s=60)
    raw = b.client.get(f"/api/tasks/{task['Id']}/raw").text
    assert final["State"] == "Failed" and "exited with code 3" in str(final["ErrorMessage"]), raw
    assert final["ServerNode"] == "beta"
    lines = [line.split("|   ", 1)[1] for line in raw.splitlines() if "|   line " in line]
    assert lines == [f"line {i}" for i in range(1, 41)], raw  # none lost, none twice
    assert marker.read_text() == "run\n"  # the script ran once
    assert "'alpha' stopped; 'beta' took the task over" in raw


def test_a_killed_nodes_built_in_script_is_failed_honestly_by_another_node(
    postgres: Any, server_factory: Any
) -> None:
    a, b = cluster(postgres, server_factory, ["alpha", "beta"])
    task = begun_on_alpha(a, b, "echo begun; sleep 30")
    set_node(a, "beta", IsInMaintenanceMode=False)
    draining(b, False)
    a.kill()
    final = follow(b.client, task["Id"], timeout_s=60)
    assert final["State"] == "Failed"
    assert "alpha" in str(final["ErrorMessage"]) and "outcome is unknown" in str(final["ErrorMessage"])
    assert run_script(b.client, "echo beta still works")["State"] == "Success"


@pytest.fixture(autouse=True)
def _needs_postgres(postgres: Any) -> None:
    """Every test here runs on the shared throwaway PostgreSQL cluster."""


def test_cancel_on_one_node_stops_a_script_running_under_another(postgres: Any, server_factory: Any) -> None:
    a, b = cluster(postgres, server_factory, ["alpha", "beta"])
    task = begun_on_alpha(a, b, "echo begun; sleep 60")
    [run] = list(a.work_root.iterdir())
    pid = int((run / "out").read_text().split()[1])  # the wrapper's first line: its pid
    answer = b.client.post(f"/api/tasks/{task['Id']}/cancel")
    assert answer.status_code == 200 and answer.json()["State"] == "Cancelling", answer.text
    final = follow(b.client, task["Id"])
    assert final["State"] == "Canceled"
    assert_process_gone(pid, "the script canceled from another node")


def test_a_space_deleted_on_one_node_is_gone_on_the_others(postgres: Any, server_factory: Any) -> None:
    a, b = cluster(postgres, server_factory, ["alpha", "beta"])
    space = a.client.post("/api/spaces", json={"Name": unique("Short-lived")}).json()["Id"]
    assert b.client.get(f"/api/{space}/workerpools").status_code == 200  # beta has it cached now
    assert a.client.delete(f"/api/spaces/{space}").status_code == 200
    eventually(
        "beta forgetting the space", lambda: b.client.get(f"/api/{space}/workerpools").status_code == 404
    )


def test_scheduled_health_checks_run_once_per_cluster(
    postgres: Any, server_factory: Any, agent_factory: Any
) -> None:
    a, b = cluster(postgres, server_factory, ["alpha", "beta"])
    agent = agent_factory(trust=[server_thumbprint(a.client), server_thumbprint(b.client)])
    # Checks every second that take two: one scheduler never has two pending, two schedulers would.
    policy = a.client.post(
        "/api/machinepolicies",
        json={
            "Name": unique("Slow checks"),
            "MachineHealthCheckPolicy": {
                "HealthCheckInterval": "00:00:01",
                "HealthCheckTimeout": "00:00:10",
                "BashHealthCheckPolicy": {"RunType": "Inline", "ScriptBody": "sleep 2"},
            },
        },
    ).json()
    worker = {
        "Name": unique("checked"),
        "WorkerPoolIds": [new_pool(a.client)],
        "MachinePolicyId": policy["Id"],
    }
    a.client.post("/api/workers", json={**worker, "Endpoint": listening_endpoint(agent)})

    def scheduled() -> list[dict[str, Any]]:
        found = a.client.get("/api/tasks", params={"name": "Health", "take": 100}).json()["Items"]
        return [t for t in found if policy["Name"] in t["Description"]]

    eventually("three scheduled checks", lambda: len([t for t in scheduled() if t["IsCompleted"]]) >= 3, 60)
    windows = sorted((t["QueueTime"], t["CompletedTime"] or "9999") for t in scheduled())
    for (_, ended), (queued, _) in zip(windows, windows[1:], strict=False):
        assert queued >= ended, windows  # each queued only once the one before had finished


@pytest.mark.parametrize("style", ["TentaclePassive", "TentacleActive"])
def test_an_agent_registered_with_one_node_serves_every_node(
    style: str, postgres: Any, server_factory: Any, tmp_path: Path
) -> None:
    """register-worker learns the cluster's nodes: a polling agent polls each, a listening one trusts each."""
    from test_agent_cli import agent as agent_verb
    from test_agent_cli import connect, new_agent, ok
    from test_agent_cli import thumbprint as thumbprint_of

    a, b = cluster(postgres, server_factory, ["alpha", "beta"])
    listen = ["--listen-port", str(free_port())] if style == "TentaclePassive" else ["--no-listen"]
    home = new_agent(tmp_path, *listen)
    pool = new_pool(a.client)
    name = unique("clustered")
    done = ok(
        agent_verb(
            home, "register-worker", *connect(a), "--name", name, "--pool", pool, "--comms-style", style
        )
    )
    assert server_thumbprint(b.client) in done.stdout  # it learnt the other node too
    running = AgentProcess(home, thumbprint_of(home)).start()  # as `argonaut agent run` set up by the CLI
    try:
        worker = next(w for w in a.client.get("/api/workers/all").json() if w["Name"] == name)
        wait_for_health(a.client, worker["Id"], "Healthy")
        for busy, idle, name_of_idle in ((a, b, "beta"), (b, a, "alpha")):
            set_node(busy, "alpha" if busy is a else "beta", IsInMaintenanceMode=True)
            set_node(busy, name_of_idle, IsInMaintenanceMode=False)
            draining(busy, True)
            draining(idle, False)
            task = run_script(idle.client, f"echo through {name_of_idle}", WorkerPoolIds=[pool])
            raw = idle.client.get(f"/api/tasks/{task['Id']}/raw").text
            assert task["State"] == "Success" and task["ServerNode"] == name_of_idle, raw
            assert f"through {name_of_idle}" in raw
    finally:
        running.stop()


def test_an_artifact_collected_by_one_node_is_served_by_every_node(
    postgres: Any, server_factory: Any
) -> None:
    import hashlib

    a, b = cluster(postgres, server_factory, ["alpha", "beta"])
    set_node(a, "alpha", IsInMaintenanceMode=True)  # beta runs the script and keeps the file
    draining(a, True)
    body = "head -c 2621440 /dev/urandom > big.bin; sha256sum big.bin; new_octopusartifact big.bin"
    task = run_script(b.client, body, TargetType="OctopusServer")
    raw = b.client.get(f"/api/tasks/{task['Id']}/raw").text
    assert task["State"] == "Success" and task["ServerNode"] == "beta", raw
    digest = next(
        line.split("|   ", 1)[1].split()[0]
        for line in raw.splitlines()
        if "big.bin" in line and "|   " in line
    )
    [artifact] = a.client.get("/api/artifacts", params={"regarding": task["Id"]}).json()["Items"]
    served = a.client.get(f"/api/artifacts/{artifact['Id']}/content")  # through alpha, which has no file
    assert served.status_code == 200 and len(served.content) == 2621440
    assert hashlib.sha256(served.content).hexdigest() == digest


def test_a_polling_agent_linked_to_one_node_is_reached_from_another_through_it(
    postgres: Any, server_factory: Any, agent_factory: Any
) -> None:
    """An agent that polls alpha only (beta joined after it registered): beta relays its calls via alpha."""
    a, b = cluster(postgres, server_factory, ["alpha", "beta"])
    subscription = new_subscription("relay")
    agent = agent_factory(listen=False, start=False)
    endpoint = {"CommunicationStyle": "TentacleActive", "Uri": subscription, "Thumbprint": agent.thumbprint}
    pool = new_pool(a.client)
    worker = add_worker(a.client, unique("polls-alpha"), [pool], endpoint)
    polling = polling_to(a, subscription)
    agent_factory(listen=False, home=agent.home, polling=[polling])
    wait_for_health(a.client, worker, "Healthy")
    set_node(a, "alpha", IsInMaintenanceMode=True)  # beta claims; it has no link of its own
    draining(a, True)
    task = run_script(
        b.client, "echo relayed; for i in $(seq 1 20); do echo line $i; done", WorkerPoolIds=[pool]
    )
    raw = b.client.get(f"/api/tasks/{task['Id']}/raw").text
    assert task["State"] == "Success" and task["ServerNode"] == "beta", raw
    lines = [line.split("|   ", 1)[1] for line in raw.splitlines() if "|   line " in line]
    assert "relayed" in raw and lines == [f"line {i}" for i in range(1, 21)]
    checked = b.client.post(
        "/api/tasks", json={"Name": "Health", "Arguments": {"MachineIds": [worker]}}
    ).json()
    assert follow(b.client, checked["Id"])["State"] == "Success"  # beta's own check, through alpha


def test_three_nodes_share_the_work_each_within_its_own_cap(postgres: Any, server_factory: Any) -> None:
    nodes_ = cluster(postgres, server_factory, ["alpha", "beta", "gamma"])
    for node in nodes_:
        set_node(nodes_[0], node.args[node.args.index("--node-name") + 1], MaxConcurrentTasks=2)
    eventually("every node applying its cap", lambda: all(n.client.get("/api/health").json()["TaskCap"] == 2
                                                          for n in nodes_))  # fmt: skip
    ids = [
        nodes_[n % 3]
        .client.post("/api/tasks", json=script_task("sleep 0.3", TargetType="OctopusServer"))
        .json()["Id"]
        for n in range(24)
    ]
    finished = [follow(nodes_[0].client, task_id, timeout_s=120) for task_id in ids]
    assert {t["State"] for t in finished} == {"Success"}
    by_node: dict[str, list[tuple[str, str]]] = {}
    for task in finished:
        by_node.setdefault(str(task["ServerNode"]), []).append(
            (str(task["StartTime"]), str(task["CompletedTime"]))
        )
    assert set(by_node) == {"alpha", "beta", "gamma"}, by_node  # all three took a share
    for node, windows in by_node.items():
        events = sorted([(start, 1) for start, _ in windows] + [(end, -1) for _, end in windows])
        running = peak = 0
        for _, change in events:
            running += change
            peak = max(peak, running)
        assert peak <= 2, (node, windows)  # never more than its cap at once
