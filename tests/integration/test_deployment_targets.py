"""Where deployment steps run, on real machines: listening and polling agents over real TLS, an OpenSSH
sshd and a Cloud Region target, each step placed by the execution-location rules (on each target with a
role, once on a worker, once per target on a worker on behalf of it), the rolling window held, and a
target running one deployment step at a time."""

from __future__ import annotations

import base64
import concurrent.futures
from pathlib import Path
from typing import Any

import httpx
import pytest
from test_agents import new_subscription, polling_to, server_thumbprint
from test_ssh import host_fingerprint

from conftest import AgentProcess, ServerProcess, follow, unique
from sshd import KEY_USER, Sshd, make_sshd


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


class Space:
    """A space of its own per test: its default pool is empty (the built-in worker) and its Default
    Lifecycle spans only this test's environment."""

    def __init__(self, client: httpx.Client) -> None:
        self.client = client
        self.id = ok(client.post("/api/spaces", json={"Name": unique("deploy")}), 201)["Id"]
        self.environment = ok(client.post(f"/api/{self.id}/environments", json={"Name": "Production"}), 201)

    def target(self, name: str, roles: list[str], endpoint: dict[str, Any]) -> dict[str, Any]:
        body = {
            "Name": name,
            "Roles": roles,
            "EnvironmentIds": [self.environment["Id"]],
            "Endpoint": endpoint,
        }
        return dict(ok(self.client.post(f"/api/{self.id}/machines", json=body), 201))

    def project(self, steps: list[dict[str, Any]]) -> dict[str, Any]:
        project = ok(self.client.post(f"/api/{self.id}/projects", json={"Name": unique("app")}), 201)
        url = f"/api/{self.id}/deploymentprocesses/{project['DeploymentProcessId']}"
        process = ok(self.client.get(url))
        process["Steps"] = steps
        ok(self.client.put(url, json=process))
        return dict(project)

    def deploy(self, project: dict[str, Any]) -> str:
        release = ok(
            self.client.post(
                f"/api/{self.id}/releases", json={"ProjectId": project["Id"], "Version": "1.0.0"}
            ),
            201,
        )
        body = {"ReleaseId": release["Id"], "EnvironmentId": self.environment["Id"]}
        return str(ok(self.client.post(f"/api/{self.id}/deployments", json=body), 201)["TaskId"])

    def deploy_and_wait(self, project: dict[str, Any]) -> tuple[dict[str, Any], str]:
        task_id = self.deploy(project)
        task = follow(self.client, task_id, timeout_s=120)
        return task, self.client.get(f"/api/tasks/{task_id}/raw").text


def step(name: str, body: str, roles: str = "", on_server: bool = False, **properties: str) -> dict[str, Any]:
    step_properties = {"Octopus.Action.TargetRoles": roles} if roles else {}
    step_properties |= properties
    action_properties = {"Octopus.Action.Script.ScriptBody": body}
    if on_server:
        action_properties["Octopus.Action.RunOnServer"] = "true"
    return {
        "Name": name,
        "Properties": step_properties,
        "Actions": [{"Name": name, "ActionType": "Octopus.Script", "Properties": action_properties}],
    }


def listening(agent: AgentProcess) -> dict[str, Any]:
    return {"CommunicationStyle": "TentaclePassive", "Uri": agent.uri, "Thumbprint": agent.thumbprint}


def test_steps_run_on_each_target_on_a_worker_for_each_and_once_with_the_window_held(
    server: ServerProcess, agent_factory: Any, tmp_path: Path
) -> None:
    space = Space(server.client)
    trust = [server_thumbprint(server.client)]
    names = [unique("web") for _ in range(3)]
    for name in names:
        space.target(name, ["web"], listening(agent_factory(trust=trust)))
    window = tmp_path / "window"
    # Each run takes the "window" folder while it runs: two at once and the second one's mkdir fails.
    rolling = (
        f'mkdir {window} || {{ echo "two runs at once"; exit 9; }}\n'
        'echo "rolling on #{Octopus.Machine.Name} with roles #{Octopus.Machine.Roles}"\n'
        'set_octopusvariable Seen "seen-#{Octopus.Machine.Name}"\n'
        f"sleep 0.3; rmdir {window}"
    )
    project = space.project(
        [
            step("Roll", rolling, roles="web", **{"Octopus.Action.MaxParallelism": "1"}),
            step("For each", 'echo "worker for #{Octopus.Machine.Name}"', roles="web", on_server=True),
            step(
                "Once",
                f'echo "once, after #{{Octopus.Action[Roll].Output[{names[0]}].Seen}}"',
                on_server=True,
            ),
            step("Database", "echo never", roles="db"),
        ]
    )
    task, raw = space.deploy_and_wait(project)
    assert task["State"] == "Success", raw
    assert "two runs at once" not in raw
    for name in names:
        assert f"rolling on {name} with roles web" in raw
        assert f"worker for {name}" in raw  # on the built-in worker, with the target's variables
    assert raw.count("worker for ") == 3 and raw.count("once, after ") == 1
    assert f"once, after seen-{names[0]}" in raw  # the output of that one machine
    assert "no deployment target in this environment has the role(s) 'db'" in raw and "never" not in raw

    details = ok(server.client.get(f"/api/tasks/{task['Id']}/details"))
    steps = details["ActivityLogs"][0]["Children"]
    assert [s["Name"] for s in steps] == [
        "Step 1: Roll",
        "Step 2: For each",
        "Step 3: Once",
        "Step 4: Database",
    ]
    assert sorted(child["Name"] for child in steps[0]["Children"]) == sorted(names)
    assert steps[3]["Status"] == "Skipped"


def test_a_target_runs_one_deployment_step_at_a_time(
    server: ServerProcess, agent_factory: Any, tmp_path: Path
) -> None:
    space = Space(server.client)
    space.target(unique("db"), ["db"], listening(agent_factory(trust=[server_thumbprint(server.client)])))
    lock = tmp_path / "lock"
    body = f'mkdir {lock} || {{ echo "another step was running"; exit 9; }}; sleep 1; rmdir {lock}; echo done'
    projects = [space.project([step("Migrate", body, roles="db")]) for _ in range(2)]
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        task_ids = [space.deploy(p) for p in projects]
        results = list(pool.map(lambda t: follow(space.client, t, timeout_s=120), task_ids))
    raws = [space.client.get(f"/api/tasks/{t}/raw").text for t in task_ids]
    assert [r["State"] for r in results] == ["Success", "Success"], raws
    assert any("another deployment step is running on it" in raw for raw in raws), raws


def test_steps_share_a_target_when_the_project_bypasses_the_mutex(
    server: ServerProcess, agent_factory: Any, tmp_path: Path
) -> None:
    space = Space(server.client)
    space.target(unique("db"), ["db"], listening(agent_factory(trust=[server_thumbprint(server.client)])))
    # Each deployment marks its arrival and waits (up to 30 s) for the other's: one at a time, they fail.
    wait = "touch {me}; for i in $(seq 1 300); do [ -e {other} ] && break; sleep 0.1; done; [ -e {other} ]"
    projects = []
    for me, other in (("a", "b"), ("b", "a")):
        project = space.project(
            [step("Side by side", wait.format(me=tmp_path / me, other=tmp_path / other), roles="db")]
        )
        url = f"/api/{space.id}/variables/{project['VariableSetId']}"
        variables = ok(space.client.get(url))
        variables["Variables"] = [{"Name": "OctopusBypassDeploymentMutex", "Value": "True"}]
        ok(space.client.put(url, json=variables))
        projects.append(project)
    task_ids = [space.deploy(p) for p in projects]
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda t: follow(space.client, t, timeout_s=120), task_ids))
    assert [r["State"] for r in results] == ["Success", "Success"]


@pytest.fixture
def sshd(tmp_path: Path) -> Any:
    daemon = make_sshd(tmp_path / "sshd").start()
    yield daemon
    daemon.stop()


def test_polling_ssh_and_cloud_region_targets_in_one_deployment(
    server: ServerProcess, agent_factory: Any, sshd: Sshd
) -> None:
    space = Space(server.client)
    trust = [server_thumbprint(server.client)]
    subscription = new_subscription("deploy")
    poller = agent_factory(trust=trust, listen=False, polling=[polling_to(server, subscription)], start=False)
    polling = space.target(
        unique("poller"),
        ["app"],
        {"CommunicationStyle": "TentacleActive", "Uri": subscription, "Thumbprint": poller.thumbprint},
    )
    poller.start()
    account = ok(
        server.client.post(
            f"/api/{space.id}/accounts",
            json={
                "Name": unique("ssh-key"),
                "AccountType": "SshKeyPair",
                "Username": KEY_USER,
                "PrivateKeyFile": {
                    "HasValue": True,
                    "NewValue": base64.b64encode(sshd.client_key.read_bytes()).decode(),
                },
            },
        ),
        201,
    )["Id"]
    ssh = space.target(
        unique("ssh"),
        ["app"],
        {
            "CommunicationStyle": "Ssh",
            "Host": "127.0.0.1",
            "Port": sshd.port,
            "Fingerprint": host_fingerprint(sshd),
            "AccountId": account,
        },
    )
    # A Cloud Region target runs its steps on a worker of its own default pool: here a listening agent.
    pool = ok(server.client.post(f"/api/{space.id}/workerpools", json={"Name": unique("cloud-pool")}), 201)
    worker_agent = agent_factory(trust=trust)
    ok(
        server.client.post(
            f"/api/{space.id}/workers",
            json={
                "Name": unique("cloud-worker"),
                "WorkerPoolIds": [pool["Id"]],
                "Endpoint": listening(worker_agent),
            },
        ),
        201,
    )
    cloud = space.target(
        unique("cloud"), ["cloud"], {"CommunicationStyle": "None", "DefaultWorkerPoolId": pool["Id"]}
    )
    project = space.project(
        [
            step("App", 'echo "app step on #{Octopus.Machine.Name}"', roles="app"),
            step(
                "Cloud",
                'echo "cloud step for #{Octopus.Machine.Name} in #{Octopus.WorkerPool.Name}"',
                roles="cloud",
            ),
        ]
    )
    task, raw = space.deploy_and_wait(project)
    assert task["State"] == "Success", raw
    assert f"app step on {polling['Name']}" in raw and f"app step on {ssh['Name']}" in raw
    assert f"cloud step for {cloud['Name']} in {pool['Name']}" in raw
