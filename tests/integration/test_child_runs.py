"""Steps that start other work and wait for it, at task cap 1 and on one machine: the parent holds no
task-cap slot and no worker or target while its child runs, so neither deadlocks (the described
system's OctopusDeploy/Issues#8531, #7598 and OctopusDeploy/Library#892)."""

from __future__ import annotations

from typing import Any

import httpx
from test_agents import server_thumbprint

from conftest import ServerProcess, follow, unique


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


class Space:
    def __init__(self, client: httpx.Client) -> None:
        self.client = client
        self.id = ok(client.post("/api/spaces", json={"Name": unique("children")}), 201)["Id"]
        self.dev = ok(client.post(f"/api/{self.id}/environments", json={"Name": "Dev"}), 201)["Id"]

    def project(self, name: str, steps: list[dict[str, Any]]) -> dict[str, Any]:
        project = ok(self.client.post(f"/api/{self.id}/projects", json={"Name": name}), 201)
        url = f"/api/{self.id}/deploymentprocesses/{project['DeploymentProcessId']}"
        process = ok(self.client.get(url))
        process["Steps"] = steps
        ok(self.client.put(url, json=process))
        return dict(project)

    def release(self, project: dict[str, Any], version: str) -> dict[str, Any]:
        body = {"ProjectId": project["Id"], "Version": version}
        return dict(ok(self.client.post(f"/api/{self.id}/releases", json=body), 201))

    def deploy(self, release: dict[str, Any]) -> tuple[dict[str, Any], str]:
        body = {"ReleaseId": release["Id"], "EnvironmentId": self.dev}
        deployment = ok(self.client.post(f"/api/{self.id}/deployments", json=body), 201)
        task = follow(self.client, deployment["TaskId"], timeout_s=120)
        return task, self.client.get(f"/api/tasks/{deployment['TaskId']}/raw").text


def script(name: str, body: str, roles: str = "") -> dict[str, Any]:
    action: dict[str, Any] = {"Octopus.Action.Script.ScriptBody": body}
    if not roles:
        action["Octopus.Action.RunOnServer"] = "true"
    return {
        "Name": name,
        "Properties": {"Octopus.Action.TargetRoles": roles} if roles else {},
        "Actions": [{"Name": name, "ActionType": "Octopus.Script", "Properties": action}],
    }


def deploy_release(name: str, project: dict[str, Any], condition: str = "Always") -> dict[str, Any]:
    properties = {
        "Octopus.Action.DeployRelease.ProjectId": project["Id"],
        "Octopus.Action.DeployRelease.DeploymentCondition": condition,
        "Octopus.Action.DeployRelease.Variables": "Greeting=hello from the parent",
    }
    return {
        "Name": name,
        "Actions": [{"Name": name, "ActionType": "Octopus.DeployRelease", "Properties": properties}],
    }


def test_a_parent_deploys_a_child_release_at_task_cap_1_and_reads_its_outputs(server_factory: Any) -> None:
    srv: ServerProcess = server_factory("--task-cap", "1")
    space = Space(srv.client)
    child = space.project(
        unique("child"),
        [script("Child step", 'echo "child says #{Greeting}"; set_octopusvariable Colour blue')],
    )
    space.release(child, "1.0.0")
    parent = space.project(
        unique("parent"),
        [
            deploy_release("Deploy child", child, condition="IfNotCurrentVersion"),
            script(
                "After",
                'echo "the child left #{Octopus.Action[Deploy child].Output.Deployment[Child step].Colour}"',
            ),
        ],
    )
    task, raw = space.deploy(space.release(parent, "1.0.0"))
    assert task["State"] == "Success", raw
    assert "the child left blue" in raw
    deployments = ok(srv.client.get(f"/api/{space.id}/deployments", params={"projects": child["Id"]}))
    (child_deployment,) = deployments["Items"]
    child_raw = srv.client.get(f"/api/tasks/{child_deployment['TaskId']}/raw").text
    assert "child says hello from the parent" in child_raw  # the parent's variables reach the child

    # IfNotCurrentVersion: the child runs 1.0.0 there already, so a second parent deploys nothing.
    task, raw = space.deploy(space.release(parent, "1.0.1"))
    assert task["State"] == "Success", raw
    assert "1.0.0 is already the current version there" in raw
    assert (
        ok(srv.client.get(f"/api/{space.id}/deployments", params={"projects": child["Id"]}))["TotalResults"]
        == 1
    )


def test_a_child_needing_the_parents_target_to_itself_runs_while_the_parent_waits(
    server_factory: Any, agent_factory: Any
) -> None:
    srv: ServerProcess = server_factory("--task-cap", "1")
    space = Space(srv.client)
    agent = agent_factory(trust=[server_thumbprint(srv.client)])
    endpoint = {"CommunicationStyle": "TentaclePassive", "Uri": agent.uri, "Thumbprint": agent.thumbprint}
    body = {"Name": unique("app"), "Roles": ["app"], "EnvironmentIds": [space.dev], "Endpoint": endpoint}
    ok(srv.client.post(f"/api/{space.id}/machines", json=body), 201)
    # A target runs one deployment step at a time: the child's step takes it exclusively.
    child = space.project(unique("child"), [script("On the target", "echo child on the target", roles="app")])
    space.release(child, "1.0.0")
    parent = space.project(
        unique("parent"),
        [
            script("Before", "echo parent before", roles="app"),
            deploy_release("Deploy child", child),
            script("After", "echo parent after", roles="app"),
        ],
    )
    task, raw = space.deploy(space.release(parent, "1.0.0"))
    assert task["State"] == "Success", raw
    assert "parent before" in raw and "parent after" in raw and "child deployment" in raw


def test_a_parent_runs_a_runbook_at_task_cap_1_and_waits_for_it(server_factory: Any) -> None:
    srv: ServerProcess = server_factory("--task-cap", "1")
    space = Space(srv.client)
    project = space.project(unique("ops"), [])
    runbook = ok(
        srv.client.post(f"/api/{space.id}/runbooks", json={"Name": "Purge", "ProjectId": project["Id"]}), 201
    )
    url = f"/api/{space.id}/runbookProcesses/{runbook['RunbookProcessId']}"
    process = ok(srv.client.get(url))
    process["Steps"] = [script("Purge caches", 'echo "purging for #{Reason} in #{Octopus.Environment.Name}"')]
    ok(srv.client.put(url, json=process))
    body = {"ProjectId": project["Id"], "RunbookId": runbook["Id"], "Name": "first"}
    ok(srv.client.post(f"/api/{space.id}/runbookSnapshots?publish=true", json=body), 201)

    properties = {
        "Argonaut.Action.RunRunbook.RunbookId": "Purge",  # by name, in this project
        "Argonaut.Action.RunRunbook.PromptedVariables": "Reason=release 1.0.0",
    }
    steps = [
        {
            "Name": "Run purge",
            "Actions": [{"Name": "Run purge", "ActionType": "Argonaut.RunRunbook", "Properties": properties}],
        },
        script("After", "echo after the runbook"),
    ]
    url = f"/api/{space.id}/deploymentprocesses/{project['DeploymentProcessId']}"
    process = ok(srv.client.get(url))
    process["Steps"] = steps
    ok(srv.client.put(url, json=process))
    task, raw = space.deploy(space.release(project, "1.0.0"))
    assert task["State"] == "Success", raw
    assert "after the runbook" in raw and "The runbook run RunbookRuns-" in raw
    runs = ok(srv.client.get(f"/api/{space.id}/runbookRuns", params={"runbooks": runbook["Id"]}))
    (run,) = runs["Items"]
    run_raw = srv.client.get(f"/api/tasks/{run['TaskId']}/raw").text
    assert "purging for release 1.0.0 in Dev" in run_raw
