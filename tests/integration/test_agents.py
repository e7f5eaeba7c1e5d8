"""External workers on real agent processes over real TLS on 127.0.0.1: listening and polling."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from conftest import (
    AgentProcess,
    ServerProcess,
    assert_process_gone,
    eventually,
    follow,
    run_script,
    script_task,
    unique,
    wait_for_health,
    wait_for_log_line,
)


def server_thumbprint(client: httpx.Client) -> str:
    return str(client.get("/api/configuration/certificates/certificate-global").json()["Thumbprint"])


def new_subscription(prefix: str) -> str:
    """A poll:// subscription id (20 characters, like an agent's own) that no other test uses."""
    return "poll://" + unique(prefix).replace("-", "")[:20].ljust(20, "x") + "/"


def polling_to(server: Any, subscription: str, comms_port: int | None = None) -> dict[str, Any]:
    """The agent.json entry that polls ``server`` (through ``comms_port`` if given, e.g. a proxy)."""
    return {
        "url": server.url,
        "host": "127.0.0.1",
        "comms_port": comms_port or server.comms_port,
        "subscription_id": subscription,
        "thumbprint": server_thumbprint(server.client),
    }


def add_worker(
    client: httpx.Client, name: str, pools: list[str], endpoint: dict[str, Any], space: str = "Spaces-1"
) -> str:
    response = client.post(
        f"/api/{space}/workers", json={"Name": name, "WorkerPoolIds": pools, "Endpoint": endpoint}
    )
    assert response.status_code == 201, response.text
    return str(response.json()["Id"])


def listening_endpoint(agent: AgentProcess, thumbprint: str | None = None) -> dict[str, Any]:
    return {
        "CommunicationStyle": "TentaclePassive",
        "Uri": agent.uri,
        "Thumbprint": thumbprint or agent.thumbprint,
    }


def check_health(client: httpx.Client, worker_id: str, space: str = "Spaces-1") -> dict[str, Any]:
    task = client.post(
        f"/api/{space}/tasks", json={"Name": "Health", "Arguments": {"MachineIds": [worker_id]}}
    )
    assert task.status_code == 201, task.text
    follow(client, task.json()["Id"])
    worker: dict[str, Any] = client.get(f"/api/{space}/workers/{worker_id}").json()
    return worker


def new_pool(client: httpx.Client, space: str = "Spaces-1") -> str:
    return str(client.post(f"/api/{space}/workerpools", json={"Name": unique("Agents")}).json()["Id"])


def test_listening_agent_health_and_scripts(server: ServerProcess, agent_factory: Any) -> None:
    agent = agent_factory(trust=[server_thumbprint(server.client)])
    pool = new_pool(server.client)
    worker = add_worker(server.client, unique("listener"), [pool], listening_endpoint(agent))
    assert server.client.get(f"/api/workers/{worker}").json()["HealthStatus"] == "Unknown"
    checked = check_health(server.client, worker)
    assert checked["HealthStatus"] == "Healthy", checked["StatusSummary"]
    assert checked["HasLatestCalamari"] is True and checked["OperatingSystem"] == "Linux"

    task = run_script(
        server.client,
        "echo from the agent; echo $PPID > /dev/null; set_octopusvariable Where agent\n"
        "printf 'agent artifact' > out.txt; new_octopusartifact out.txt",
        WorkerPoolIds=[pool],
    )
    assert task["State"] == "Success", server.client.get(f"/api/tasks/{task['Id']}/raw").text
    details = server.client.get(f"/api/tasks/{task['Id']}/details").json()
    run = details["ActivityLogs"][0]["Children"][0]
    assert run["Name"].startswith("Run script on listener")
    assert "from the agent" in [e["MessageText"] for e in run["LogElements"]]
    assert details["OutputVariables"][0]["Name"] == "Where"
    artifacts = server.client.get("/api/artifacts", params={"regarding": task["Id"]}).json()["Items"]
    content = server.client.get(f"/api/artifacts/{artifacts[0]['Id']}/content").content
    assert content == b"agent artifact"


def test_polling_agent_turns_healthy_on_its_own_and_runs_scripts(
    server: ServerProcess, agent_factory: Any
) -> None:
    subscription = new_subscription("sub")
    agent = agent_factory(listen=False, start=False)
    pool = new_pool(server.client)
    endpoint = {"CommunicationStyle": "TentacleActive", "Uri": subscription, "Thumbprint": agent.thumbprint}
    worker = add_worker(server.client, unique("poller"), [pool], endpoint)
    agent = agent_factory(
        listen=False,
        home=agent.home,
        polling=[polling_to(server, subscription)],
    )
    wait_for_health(server.client, worker, "Healthy")  # no manual check: the agent's arrival triggers one
    task = run_script(server.client, "echo polled; exit 0", WorkerPoolIds=[pool])
    assert task["State"] == "Success"
    assert "polled" in server.client.get(f"/api/tasks/{task['Id']}/raw").text


def test_a_wrong_certificate_is_refused_both_ways(server: ServerProcess, agent_factory: Any) -> None:
    trusted = server_thumbprint(server.client)
    # The server pins the agent: an agent presenting another certificate is refused.
    impostor = agent_factory(trust=[trusted])
    worker = add_worker(
        server.client,
        unique("impostor"),
        [new_pool(server.client)],
        listening_endpoint(impostor, thumbprint="AB" * 20),
    )
    refused = check_health(server.client, worker)
    assert refused["HealthStatus"] == "Unhealthy"  # it answered, but it is not the machine registered
    assert impostor.thumbprint in refused["StatusSummary"] and "AB" * 20 in refused["StatusSummary"]
    # The agent pins the server: an agent that does not trust this server refuses it.
    distrustful = agent_factory(trust=["CD" * 20])
    worker = add_worker(
        server.client, unique("distrustful"), [new_pool(server.client)], listening_endpoint(distrustful)
    )
    assert check_health(server.client, worker)["HealthStatus"] == "Unavailable"
    assert any("not trusted" in line for line in distrustful.output)
    # A polling agent whose certificate is not registered for its subscription is refused by the server.
    stranger = agent_factory(
        listen=False,
        polling=[
            {
                "url": server.url,
                "host": "127.0.0.1",
                "comms_port": server.comms_port,
                "subscription_id": "poll://nobodyregisteredthis/",
                "thumbprint": trusted,
            }
        ],
    )
    for _ in range(200):
        if any("refused" in line for line in stranger.output):
            break
        time.sleep(0.05)
    assert any("refused" in line for line in stranger.output), stranger.output


def test_cancel_reaches_the_agent_and_kills_the_process_group(
    server: ServerProcess, agent_factory: Any
) -> None:
    agent = agent_factory(trust=[server_thumbprint(server.client)])
    pool = new_pool(server.client)
    worker = add_worker(server.client, unique("cancel"), [pool], listening_endpoint(agent))
    assert check_health(server.client, worker)["HealthStatus"] == "Healthy"
    pid_file = agent.home / "child.pid"
    body = f"sleep 1000 & echo $! > {pid_file}\necho started\nwait"
    created = server.client.post("/api/tasks", json=script_task(body, WorkerPoolIds=[pool])).json()
    wait_for_log_line(server.client, created["Id"], "started")
    child = int(pid_file.read_text())
    server.client.post(f"/api/tasks/{created['Id']}/cancel")
    assert follow(server.client, created["Id"])["State"] == "Canceled"
    assert_process_gone(child, "the script's child on the agent")


def test_a_line_from_an_agent_reaches_the_log_while_the_script_goes_on(
    server: ServerProcess, agent_factory: Any
) -> None:
    """The agent may hold a line a moment to send the script's end with it, never until the end."""
    agent = agent_factory(trust=[server_thumbprint(server.client)])
    pool = new_pool(server.client)
    add_worker(server.client, unique("live"), [pool], listening_endpoint(agent))
    flag = agent.home / "seen-by-the-test"
    # The script goes on only once the test has seen its first line, or gives up after 8 s: sooner than
    # the server's long poll (10 s) gives up waiting, so a line held to the end of a poll fails here.
    body = f"echo started\nfor i in $(seq 160); do [ -e {flag} ] && echo went on && exit 0; sleep 0.05; done"
    created = server.client.post("/api/tasks", json=script_task(body, WorkerPoolIds=[pool])).json()
    wait_for_log_line(server.client, created["Id"], "started")
    flag.touch()
    assert follow(server.client, created["Id"])["State"] == "Success"
    assert "went on" in server.client.get(f"/api/tasks/{created['Id']}/raw").text


def test_health_follows_the_agent_going_away_and_coming_back(
    server: ServerProcess, agent_factory: Any
) -> None:
    agent = agent_factory(trust=[server_thumbprint(server.client)])
    worker = add_worker(server.client, unique("flaky"), [new_pool(server.client)], listening_endpoint(agent))
    assert check_health(server.client, worker)["HealthStatus"] == "Healthy"
    agent.stop()
    down = check_health(server.client, worker)
    assert down["HealthStatus"] == "Unavailable" and "cannot connect" in down["StatusSummary"]
    agent.start()
    assert check_health(server.client, worker)["HealthStatus"] == "Healthy"


def test_built_in_worker_leaves_the_default_pool_and_comes_back(
    server_factory: Any, agent_factory: Any
) -> None:
    srv = server_factory()
    agent = agent_factory(trust=[server_thumbprint(srv.client)])
    default_pool = srv.client.get("/api/workerpools/all").json()[0]["Id"]
    before = run_script(srv.client, "echo where")
    assert "built-in worker" in srv.client.get(f"/api/tasks/{before['Id']}/raw").text
    worker = add_worker(srv.client, "external", [default_pool], listening_endpoint(agent))
    assert check_health(srv.client, worker)["HealthStatus"] == "Healthy"
    during = run_script(srv.client, "echo where")
    raw = srv.client.get(f"/api/tasks/{during['Id']}/raw").text
    assert "Run script on external" in raw and "built-in worker" not in raw
    srv.client.delete(f"/api/workers/{worker}")
    after = run_script(srv.client, "echo where")
    assert "built-in worker" in srv.client.get(f"/api/tasks/{after['Id']}/raw").text


def test_one_agent_serves_two_spaces(server: ServerProcess, agent_factory: Any) -> None:
    agent = agent_factory(trust=[server_thumbprint(server.client)])
    spaces = [
        server.client.post("/api/spaces", json={"Name": unique("Shared")}).json()["Id"] for _ in range(2)
    ]
    workers = {}
    for space in spaces:
        pool = server.client.get(f"/api/{space}/workerpools/all").json()[0]["Id"]
        workers[space] = add_worker(
            server.client, "shared-agent", [pool], listening_endpoint(agent), space=space
        )
        assert check_health(server.client, workers[space], space=space)["HealthStatus"] == "Healthy"
    for space in spaces:
        task = run_script(server.client, "echo shared", space=space)
        assert (
            task["State"] == "Success"
            and "shared-agent" in server.client.get(f"/api/tasks/{task['Id']}/raw").text
        )
    server.client.delete(f"/api/{spaces[0]}/workers/{workers[spaces[0]]}")
    task = run_script(server.client, "echo still here", space=spaces[1])
    assert task["State"] == "Success"


def test_a_script_survives_a_cut_connection_with_its_log_whole(
    server: ServerProcess, agent_factory: Any
) -> None:
    from tcp_proxy import cuttable_proxy

    agent = agent_factory(trust=[server_thumbprint(server.client)])
    with cuttable_proxy(agent.listen_port) as proxy:
        endpoint = {
            "CommunicationStyle": "TentaclePassive",
            "Uri": f"https://127.0.0.1:{proxy.port}/",
            "Thumbprint": agent.thumbprint,
        }
        pool = new_pool(server.client)
        worker = add_worker(server.client, unique("cut"), [pool], endpoint)
        assert check_health(server.client, worker)["HealthStatus"] == "Healthy"
        marker = agent.home / "runs"
        body = f"echo run >> {marker}\nfor i in $(seq 1 20); do echo line $i; sleep 0.05; done"
        created = server.client.post("/api/tasks", json=script_task(body, WorkerPoolIds=[pool])).json()
        with server.client.stream("GET", f"/api/tasks/{created['Id']}/stream") as stream:
            for line in stream.iter_lines():
                if '"line 5"' in line:
                    proxy.cut()  # mid-script: the server must reconnect and carry on from where it was
                    break
        final = follow(server.client, created["Id"])
    assert final["State"] == "Success", server.client.get(f"/api/tasks/{created['Id']}/raw").text
    raw = server.client.get(f"/api/tasks/{created['Id']}/raw").text
    lines = [line.split("|", 1)[1].strip() for line in raw.splitlines() if "|   line " in line]
    assert lines == [f"line {i}" for i in range(1, 21)]  # none lost, none repeated
    assert marker.read_text() == "run\n"  # started exactly once


def test_policy_interval_checks_follow_an_agent_stopping_and_starting(
    server: ServerProcess, agent_factory: Any
) -> None:
    c = server.client
    policy = c.post(
        "/api/machinepolicies",
        json={
            "Name": unique("Every second"),
            "MachineHealthCheckPolicy": {"HealthCheckInterval": "00:00:01", "HealthCheckTimeout": "00:00:05"},
        },
    ).json()["Id"]
    agent = agent_factory(trust=[server_thumbprint(c)])
    response = c.post(
        "/api/workers",
        json={
            "Name": unique("scheduled"),
            "WorkerPoolIds": [new_pool(c)],
            "MachinePolicyId": policy,
            "Endpoint": listening_endpoint(agent),
        },
    )
    worker = response.json()["Id"]
    wait_for_health(c, worker, "Healthy")  # nobody asked: the policy's interval did
    agent.stop()
    wait_for_health(c, worker, "Unavailable")
    agent.start()
    wait_for_health(c, worker, "Healthy")
    checks = c.get("/api/tasks", params={"name": "Health", "take": 100}).json()["Items"]
    assert any("policy" in t["Description"] for t in checks)


@pytest.mark.parametrize("how", ["killed", "stopped"])
def test_a_script_on_an_agent_outlives_a_server_restart(
    how: str, server_factory: Any, agent_factory: Any
) -> None:
    srv = server_factory("--shutdown-grace", "0.2")
    agent = agent_factory(trust=[server_thumbprint(srv.client)])
    pool = new_pool(srv.client)
    worker = add_worker(srv.client, "survivor", [pool], listening_endpoint(agent))
    assert check_health(srv.client, worker)["HealthStatus"] == "Healthy"
    marker = agent.home / "runs"
    body = f"echo run >> {marker}\nfor i in $(seq 1 40); do echo line $i; sleep 0.05; done"
    created = srv.client.post("/api/tasks", json=script_task(body, WorkerPoolIds=[pool])).json()
    with srv.client.stream("GET", f"/api/tasks/{created['Id']}/stream") as stream:
        for line in stream.iter_lines():
            if '"line 8"' in line:
                break
    if how == "killed":
        srv.kill()  # SIGKILL: lines not yet stored are fetched again from the agent
    else:
        assert srv.stop() == 0  # SIGTERM: the node hands the task over instead of failing it
    again = server_factory(home=srv.home, api_key=srv.api_key)
    final = follow(again.client, created["Id"])
    raw = again.client.get(f"/api/tasks/{created['Id']}/raw").text
    assert final["State"] == "Success", raw
    lines = [line.split("|", 1)[1].strip() for line in raw.splitlines() if "|   line " in line]
    assert lines == [f"line {i}" for i in range(1, 41)]  # none lost, none repeated
    assert marker.read_text() == "run\n"  # the script ran once
    assert "following 1 running script(s)" in raw


def _older_runner(agent_home: Any) -> None:
    """Give an agent home the runner an older server would have pushed."""
    from argonaut.runner import PACKAGE_BUNDLE, RunnerBundle, save_bundle

    save_bundle(agent_home / "runner" / "current", RunnerBundle("0.9.0", dict(PACKAGE_BUNDLE.files)))


def test_an_older_runner_is_replaced_before_the_next_script(
    server: ServerProcess, agent_factory: Any
) -> None:
    from argonaut.runner import RUNNER_VERSION

    c = server.client
    agent = agent_factory(trust=[server_thumbprint(c)], start=False)
    _older_runner(agent.home)
    agent.start()
    pool = new_pool(c)
    worker = add_worker(c, unique("old-runner"), [pool], listening_endpoint(agent))
    assert check_health(c, worker)["HasLatestCalamari"] is False
    task = run_script(c, "echo on the new runner", WorkerPoolIds=[pool])
    assert task["State"] == "Success"
    verbose = c.get(f"/api/tasks/{task['Id']}/details", params={"verbose": "true"}).text
    assert "updated from 0.9.0" in verbose
    assert c.get(f"/api/workers/{worker}").json()["HasLatestCalamari"] is True
    assert (agent.home / "runner" / "current" / "VERSION").read_text() == RUNNER_VERSION
    assert check_health(c, worker)["HasLatestCalamari"] is True  # the agent itself now reports it


def test_update_calamari_task_updates_named_workers(server: ServerProcess, agent_factory: Any) -> None:
    c = server.client
    agent = agent_factory(trust=[server_thumbprint(c)], start=False)
    _older_runner(agent.home)
    agent.start()
    worker = add_worker(c, unique("update-me"), [new_pool(c)], listening_endpoint(agent))
    assert check_health(c, worker)["HasLatestCalamari"] is False
    task = c.post("/api/tasks", json={"Name": "UpdateCalamari", "Arguments": {"MachineIds": [worker]}}).json()
    assert follow(c, task["Id"])["State"] == "Success"
    assert "Updated the runner from 0.9.0" in c.get(f"/api/tasks/{task['Id']}/raw").text
    assert c.get(f"/api/workers/{worker}").json()["HasLatestCalamari"] is True


def test_a_check_of_an_offline_polling_agent_cancels_at_once(server: ServerProcess) -> None:
    c = server.client
    endpoint = {
        "CommunicationStyle": "TentacleActive",
        "Uri": "poll://offlineagentxxxxxxxx/",
        "Thumbprint": "EF" * 20,
    }
    worker = add_worker(c, unique("offline"), [new_pool(c)], endpoint)
    task = c.post(
        "/api/tasks", json={"Name": "Health", "Arguments": {"MachineIds": [worker], "Timeout": "00:05:00"}}
    )
    task_id = task.json()["Id"]
    for _ in range(200):  # wait until it is really waiting for the agent
        if c.get(f"/api/tasks/{task_id}").json()["State"] == "Executing":
            break
        time.sleep(0.02)
    c.post(f"/api/tasks/{task_id}/cancel")
    assert follow(c, task_id)["State"] == "Canceled"  # not after the 2-minute polling queue timeout


def test_a_policy_can_delete_machines_that_stay_unavailable(server: ServerProcess) -> None:
    c = server.client
    policy = c.post(
        "/api/machinepolicies",
        json={
            "Name": unique("Tidy"),
            "MachineCleanupPolicy": {
                "DeleteMachinesBehavior": "DeleteUnavailableMachines",
                "DeleteMachinesElapsedTimeSpan": "00:00:00",
            },
        },
    ).json()["Id"]
    endpoint = {
        "CommunicationStyle": "TentaclePassive",
        "Uri": "https://127.0.0.1:1/",
        "Thumbprint": "AB" * 20,
    }
    gone = c.post(
        "/api/workers",
        json={
            "Name": unique("gone"),
            "WorkerPoolIds": [new_pool(c)],
            "MachinePolicyId": policy,
            "Endpoint": endpoint,
        },
    ).json()["Id"]
    kept = add_worker(c, unique("kept"), [new_pool(c)], endpoint)  # default policy: never deleted
    # Each is checked as it is added (no manual Health task: that raced the one for "gone", which could
    # already have deleted it, and then answered 400 for a machine that no longer exists).
    eventually("the unavailable worker deleted", lambda: c.get(f"/api/workers/{gone}").status_code == 404)
    eventually(
        "the other one found Unavailable and kept",
        lambda: c.get(f"/api/workers/{kept}").json()["HealthStatus"] == "Unavailable",
    )


def test_one_polling_agent_serves_two_spaces(server: ServerProcess, agent_factory: Any) -> None:
    c = server.client
    subscription = new_subscription("two")
    agent = agent_factory(listen=False, start=False)
    spaces = [c.post("/api/spaces", json={"Name": unique("PollShared")}).json()["Id"] for _ in range(2)]
    workers = {}
    for space in spaces:
        pool = c.get(f"/api/{space}/workerpools/all").json()[0]["Id"]
        endpoint = {
            "CommunicationStyle": "TentacleActive",
            "Uri": subscription,
            "Thumbprint": agent.thumbprint,
        }
        workers[space] = add_worker(c, "one-agent", [pool], endpoint, space=space)
    agent_factory(
        listen=False,
        home=agent.home,
        polling=[polling_to(server, subscription)],
    )
    for space in spaces:
        wait_for_health(c, workers[space], "Healthy", space=space)
        assert run_script(c, "echo from the shared poller", space=space)["State"] == "Success"
    c.delete(f"/api/{spaces[0]}/workers/{workers[spaces[0]]}")
    assert run_script(c, "echo still serving", space=spaces[1])["State"] == "Success"


def test_an_exclusive_step_waits_for_its_worker_instead_of_failing(
    server: ServerProcess, agent_factory: Any
) -> None:
    c = server.client
    agent = agent_factory(trust=[server_thumbprint(c)])
    pool = new_pool(c)
    worker = add_worker(c, unique("exclusive"), [pool], listening_endpoint(agent))
    assert check_health(c, worker)["HealthStatus"] == "Healthy"
    record = agent.home / "spans"
    body = f"echo start $(date +%s%N) >> {record}; sleep 0.4; echo end $(date +%s%N) >> {record}"
    ids = [
        c.post("/api/tasks", json=script_task(body, WorkerPoolIds=[pool], Isolation="FullIsolation")).json()[
            "Id"
        ]
        for _ in range(2)
    ]
    assert [follow(c, task_id)["State"] for task_id in ids] == ["Success", "Success"]
    assert any("Waiting:" in c.get(f"/api/tasks/{task_id}/raw").text for task_id in ids)
    edges = [line.split() for line in record.read_text().splitlines()]
    assert [edge for edge, _ in edges] == ["start", "end", "start", "end"]  # one after the other
    assert c.get("/api/workers/" + worker).json()["HealthStatus"] == "Healthy"


def test_scripts_see_the_worker_and_pool_they_run_on(server: ServerProcess, agent_factory: Any) -> None:
    """As on the described system's workers: Octopus.Machine.* and Octopus.WorkerPool.* are set."""
    agent = agent_factory(trust=[server_thumbprint(server.client)])
    pool_name = unique("Where")
    pool = server.client.post("/api/workerpools", json={"Name": pool_name}).json()["Id"]
    name = unique("seen")
    worker = add_worker(server.client, name, [pool], listening_endpoint(agent))
    wait_for_health(server.client, worker, "Healthy")
    body = (
        'echo "substituted #{Octopus.Machine.Id} #{Octopus.Machine.Name} #{Octopus.WorkerPool.Id}"\n'
        'echo "helper $(get_octopusvariable Octopus.WorkerPool.Name)"'
    )
    for arguments in ({"WorkerPoolIds": [pool]}, {"TargetType": "Workers", "MachineIds": [worker]}):
        task = run_script(server.client, body, **arguments)
        raw = server.client.get(f"/api/tasks/{task['Id']}/raw").text
        assert task["State"] == "Success", raw
        assert f"substituted {worker} {name} {pool}" in raw
        assert f"helper {pool_name}" in raw
