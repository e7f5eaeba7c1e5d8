"""Deployments end to end through the REST API, on a real server: releases freeze the project, the
lifecycle decides where a release may go, steps run in order (or side by side), conditions hold, output
variables flow to later steps, and a node killed mid-deployment resumes at the step where it stopped."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from conftest import ServerProcess, follow, unique, wait_for_log_line

pytestmark = pytest.mark.databases("SQLite", "PostgreSQL")


def script_step(name: str, body: str, **extra: Any) -> dict[str, Any]:
    """A step with one inline Bash action that runs once on a worker (here: the built-in worker)."""
    properties = {"Octopus.Action.RunOnServer": "true", "Octopus.Action.Script.ScriptBody": body}
    properties |= extra.pop("action_properties", {})
    return {
        "Name": name,
        "Properties": extra.pop("properties", {}),
        "Actions": [{"Name": name, "ActionType": "Octopus.Script", "Properties": properties}],
        **extra,
    }


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


class Project:
    """A project made through the API, as a user would: environments, the project, its process and
    variables."""

    def __init__(self, client: httpx.Client, environments: list[str]) -> None:
        self.client = client
        # A space of its own: the Default Lifecycle spans every environment of a space, and tests share
        # one server.
        self.space_name = unique("space")
        self.space = ok(client.post("/api/spaces", json={"Name": self.space_name}), 201)["Id"]
        self.environments = {
            name: ok(client.post(f"/api/{self.space}/environments", json={"Name": name}), 201)["Id"]
            for name in environments
        }
        self.project = ok(client.post(f"/api/{self.space}/projects", json={"Name": unique("project")}), 201)

    def set_steps(self, steps: list[dict[str, Any]]) -> dict[str, Any]:
        url = f"/api/{self.space}/deploymentprocesses/{self.project['DeploymentProcessId']}"
        process = ok(self.client.get(url))
        process["Steps"] = steps
        return dict(ok(self.client.put(url, json=process)))

    def set_variables(self, variables: list[dict[str, Any]]) -> None:
        url = f"/api/{self.space}/variables/{self.project['VariableSetId']}"
        current = ok(self.client.get(url))
        current["Variables"] = variables
        ok(self.client.put(url, json=current))

    def release(self, version: str) -> dict[str, Any]:
        body = {"ProjectId": self.project["Id"], "Version": version}
        return dict(ok(self.client.post(f"/api/{self.space}/releases", json=body), 201))

    def deploy(self, release: dict[str, Any], environment: str) -> dict[str, Any]:
        body = {"ReleaseId": release["Id"], "EnvironmentId": self.environments[environment]}
        return dict(ok(self.client.post(f"/api/{self.space}/deployments", json=body), 201))

    def deploy_and_wait(self, release: dict[str, Any], environment: str) -> tuple[dict[str, Any], str]:
        deployment = self.deploy(release, environment)
        task = follow(self.client, deployment["TaskId"])
        raw = self.client.get(f"/api/tasks/{deployment['TaskId']}/raw").text
        return task, raw


def test_steps_run_in_order_with_scoped_variables_outputs_and_masking(server: ServerProcess) -> None:
    project = Project(server.client, [unique("Dev")])
    (dev,) = project.environments
    project.set_variables(
        [
            {"Name": "Colour", "Value": "grey"},
            {"Name": "Colour", "Value": "green", "Scope": {"Environment": [project.environments[dev]]}},
            {"Name": "Password", "Value": "hunter2-secret", "IsSensitive": True},
        ]
    )
    project.set_steps(
        [
            script_step(
                "Say hello", 'echo "colour is #{Colour | ToUpper}"; set_octopusvariable Greeting hi-there'
            ),
            script_step(
                "Use it",
                'echo "got #{Octopus.Action[Say hello].Output.Greeting} in #{Octopus.Environment.Name}"\n'
                'echo "password $(get_octopusvariable Password)"\n'
                'echo "step #{Octopus.Step.Number} of release #{Octopus.Release.Number}"\n'
                'echo "literally ##{Colour}"',
            ),
            script_step("Only on failure", "echo should not run", Condition="Failure"),
        ]
    )
    task, raw = project.deploy_and_wait(project.release("1.0.0"), dev)
    assert task["State"] == "Success", raw
    assert "colour is GREEN" in raw  # the environment-scoped value beats the unscoped one
    assert f"got hi-there in {dev}" in raw  # an output variable of step 1, read by step 2
    assert "password ********" in raw and "hunter2-secret" not in raw
    assert "step 2 of release 1.0.0" in raw
    assert "literally #{Colour}" in raw  # the escape, substituted once
    assert "should not run" not in raw
    assert "Skipping step 'Only on failure'" in raw
    details = ok(server.client.get(f"/api/tasks/{task['Id']}/details"))
    steps = [a["Name"] for a in details["ActivityLogs"][0]["Children"]]
    assert steps == ["Step 1: Say hello", "Step 2: Use it", "Step 3: Only on failure"]
    statuses = [a["Status"] for a in details["ActivityLogs"][0]["Children"]]
    assert statuses == ["Success", "Success", "Skipped"]
    # Audited once, with what it concerns (written in the transaction that queued it).
    deployment_id = task["Arguments"]["DeploymentId"]
    events = ok(server.client.get("/api/events", params={"regarding": deployment_id}))["Items"]
    assert [e["Category"] for e in events] == ["DeploymentQueued"], events
    assert deployment_id in events[0]["Message"] and events[0]["Username"] == "admin"
    related = set(events[0]["RelatedDocumentIds"])
    assert {deployment_id, task["Id"], project.project["Id"], project.environments[dev]} <= related
    assert project.space in related


def test_a_failed_step_skips_success_steps_and_runs_failure_and_always_steps(server: ServerProcess) -> None:
    project = Project(server.client, [unique("Dev")])
    (dev,) = project.environments
    project.set_steps(
        [
            script_step("Break", "echo breaking; exit 4"),
            script_step("Carry on", "echo carried on"),
            script_step(
                "Clean up", 'echo "cleaning after: #{Octopus.Deployment.Error}"', Condition="Failure"
            ),
            script_step("Report", "echo reported", Condition="Always"),
            script_step(
                "Conditional",
                "echo conditional ran",
                Condition="Variable",
                properties={
                    "Octopus.Step.ConditionVariableExpression": "#{if Octopus.Deployment.Error}yes#{/if}"
                },
            ),
        ]
    )
    task, raw = project.deploy_and_wait(project.release("1.0.0"), dev)
    assert task["State"] == "Failed", raw
    assert "exited with code 4" in str(task["ErrorMessage"])
    assert "carried on" not in raw
    assert "cleaning after: Step 'Break' failed" in raw
    assert "reported" in raw
    assert "conditional ran" in raw


def test_steps_started_with_the_previous_one_run_side_by_side(server: ServerProcess, tmp_path: Path) -> None:
    project = Project(server.client, [unique("Dev")])
    (dev,) = project.environments
    meet = tmp_path / "meet"
    # Each step waits (up to 30 s) for the other's mark: run one after the other, the first would fail.
    wait_for = 'for i in $(seq 1 300); do [ -e "{mark}" ] && break; sleep 0.1; done; [ -e "{mark}" ]'
    project.set_steps(
        [
            script_step(
                "Left", f"touch {meet}-left; " + wait_for.format(mark=f"{meet}-right") + "; echo left met"
            ),
            script_step(
                "Right",
                f"touch {meet}-right; " + wait_for.format(mark=f"{meet}-left") + "; echo right met",
                StartTrigger="StartWithPrevious",
            ),
        ]
    )
    task, raw = project.deploy_and_wait(project.release("1.0.0"), dev)
    assert task["State"] == "Success", raw
    assert "left met" in raw and "right met" in raw


def test_a_release_keeps_the_process_and_variables_it_was_created_with(server: ServerProcess) -> None:
    project = Project(server.client, [unique("Dev")])
    (dev,) = project.environments
    project.set_variables([{"Name": "Word", "Value": "before"}])
    project.set_steps([script_step("Say", 'echo "first process says #{Word}"')])
    frozen = project.release("1.0.0")
    project.set_variables([{"Name": "Word", "Value": "after"}])
    project.set_steps([script_step("Say", 'echo "second process says #{Word}"')])

    task, raw = project.deploy_and_wait(frozen, dev)
    assert task["State"] == "Success" and "first process says before" in raw, raw
    snapshot = frozen["ProjectDeploymentProcessSnapshotId"]
    assert "-s-" in snapshot
    refused = server.client.put(
        f"/api/{project.space}/deploymentprocesses/{snapshot}",
        json=ok(server.client.get(f"/api/{project.space}/deploymentprocesses/{snapshot}")),
    )
    assert refused.status_code == 400 and "frozen" in refused.json()["ErrorMessage"]

    task, raw = project.deploy_and_wait(project.release("1.0.1"), dev)
    assert task["State"] == "Success" and "second process says after" in raw, raw


def test_the_lifecycle_refuses_a_deployment_naming_the_environment_that_comes_first(
    server: ServerProcess,
) -> None:
    srv = server
    project = Project(srv.client, ["Dev", "Test"])
    project.set_steps([script_step("Say", "echo hello")])
    release = project.release("1.0.0")
    refused = srv.client.post(
        f"/api/{project.space}/deployments",
        json={"ReleaseId": release["Id"], "EnvironmentId": project.environments["Test"]},
    )
    assert refused.status_code == 400, refused.text
    assert "'Dev'" in refused.json()["ErrorMessage"] and "'Test'" in refused.json()["ErrorMessage"]
    template = ok(srv.client.get(f"/api/{project.space}/releases/{release['Id']}/deployments/template"))
    assert [e["Name"] for e in template["PromoteTo"]] == ["Dev"]

    task, raw = project.deploy_and_wait(release, "Dev")
    assert task["State"] == "Success", raw
    task, raw = project.deploy_and_wait(release, "Test")  # now allowed
    assert task["State"] == "Success", raw


def test_ci_integrations_create_releases_and_deployments_by_names(server: ServerProcess) -> None:
    srv = server
    project = Project(srv.client, ["Dev"])
    project.set_steps([script_step("Say", 'echo "deployed #{Octopus.Release.Number}"')])
    name = project.project["Name"]
    created = ok(
        srv.client.post(
            f"/api/{project.space_name}/releases/create/v1",
            json={"ProjectName": name, "ReleaseVersion": "2.0.0"},
        )
    )
    assert created["ReleaseVersion"] == "2.0.0" and created["ReleaseId"].startswith("Releases-")
    again = srv.client.post(
        f"/api/{project.space_name}/releases/create/v1",
        json={"ProjectName": name, "ReleaseVersion": "2.0.0", "IgnoreIfAlreadyExists": True},
    )
    assert ok(again)["ReleaseId"] == created["ReleaseId"]
    deployed = ok(
        srv.client.post(
            f"/api/{project.space}/deployments/create/untenanted/v1",
            json={"ProjectName": name, "ReleaseVersion": "2.0.0", "EnvironmentNames": ["Dev"]},
        )
    )
    (pair,) = deployed["DeploymentServerTasks"]
    assert follow(srv.client, pair["ServerTaskId"])["State"] == "Success"
    assert "deployed 2.0.0" in srv.client.get(f"/api/tasks/{pair['ServerTaskId']}/raw").text
    missing = srv.client.post(
        f"/api/{project.space_name}/deployments/create/untenanted/v1",
        json={"ProjectName": name, "ReleaseVersion": "9.9.9", "EnvironmentNames": ["Dev"]},
    )
    assert missing.status_code == 400 and "9.9.9" in missing.json()["ErrorMessage"]


def test_a_node_killed_at_step_2_of_3_resumes_there_without_running_step_1_again(
    server_factory: object, tmp_path: Path
) -> None:
    srv: ServerProcess = server_factory()  # type: ignore[operator]
    project = Project(srv.client, ["Dev"])
    ran = tmp_path / "step-one-ran"
    project.set_steps(
        [
            script_step("One", f"echo one >> {ran}; echo step one done"),
            script_step("Two", "echo step two started; sleep 3; echo step two finished"),
            script_step("Three", "echo step three done"),
        ]
    )
    deployment = project.deploy(project.release("1.0.0"), "Dev")
    wait_for_log_line(srv.client, deployment["TaskId"], "step two started")
    srv.kill()  # SIGKILL, halfway through step 2

    again: ServerProcess = server_factory(home=srv.home, api_key=srv.api_key)  # type: ignore[operator]
    task = follow(again.client, deployment["TaskId"])
    raw = again.client.get(f"/api/tasks/{deployment['TaskId']}/raw").text
    assert task["State"] == "Success", raw
    assert ran.read_text().splitlines() == ["one"]  # step 1 ran once
    assert raw.count("step two started") == 1 and "step two finished" in raw
    assert "step three done" in raw


def test_a_deployment_runs_on_the_targets_it_names_and_skips_the_steps_it_is_told_to(
    server: ServerProcess,
) -> None:
    project = Project(server.client, ["Dev"])
    targets = []
    for name in ("alpha", "beta", "gamma"):
        body = {
            "Name": unique(name),
            "Roles": ["web"],
            "EnvironmentIds": [project.environments["Dev"]],
            # Cloud Region targets: their steps run on a worker of their pool, here the built-in worker.
            "Endpoint": {"CommunicationStyle": "None", "DefaultWorkerPoolId": None},
        }
        targets.append(ok(server.client.post(f"/api/{project.space}/machines", json=body), 201))
    process = project.set_steps(
        [
            script_step(
                "Web",
                'echo "web on #{Octopus.Machine.Name}"',
                properties={"Octopus.Action.TargetRoles": "web"},
            ),
            script_step("Optional", "echo optional ran"),
        ]
    )
    optional_action = process["Steps"][1]["Actions"][0]["Id"]
    release = project.release("1.0.0")
    alpha, beta, gamma = targets

    body = {
        "ReleaseId": release["Id"],
        "EnvironmentId": project.environments["Dev"],
        "ExcludedMachineIds": [beta["Id"]],
        "SkipActions": [optional_action],
    }
    deployment = ok(server.client.post(f"/api/{project.space}/deployments", json=body), 201)
    assert deployment["ExcludedMachineIds"] == [beta["Id"]] and deployment["SkipActions"] == [optional_action]
    assert follow(server.client, deployment["TaskId"])["State"] == "Success"
    raw = server.client.get(f"/api/tasks/{deployment['TaskId']}/raw").text
    assert f"web on {alpha['Name']}" in raw and f"web on {gamma['Name']}" in raw
    assert f"web on {beta['Name']}" not in raw
    assert "optional ran" not in raw and "skipped by request" in raw

    body = {
        "ReleaseId": release["Id"],
        "EnvironmentId": project.environments["Dev"],
        "SpecificMachineIds": [beta["Id"]],
    }
    deployment = ok(server.client.post(f"/api/{project.space}/deployments", json=body), 201)
    assert follow(server.client, deployment["TaskId"])["State"] == "Success"
    raw = server.client.get(f"/api/tasks/{deployment['TaskId']}/raw").text
    assert f"web on {beta['Name']}" in raw and raw.count("web on ") == 1
    assert "optional ran" in raw

    unknown = {**body, "SpecificMachineIds": ["Machines-999999"]}
    refused = server.client.post(f"/api/{project.space}/deployments", json=unknown)
    assert refused.status_code == 400 and "Machines-999999" in refused.json()["ErrorMessage"]
