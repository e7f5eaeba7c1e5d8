"""Required prompted variables over real HTTP: a runbook run or a deployment without a value for one is
refused with a message naming it (the portal shows it beside that variable's input), by
``/runbooks/{id}/run``, ``/runbookRuns`` and ``/deployments``; a value given, a stored default, or a scope
to another environment lets it run."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from conftest import ServerProcess, follow, unique

pytestmark = pytest.mark.databases("SQLite", "PostgreSQL")


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def refused(response: httpx.Response) -> list[str]:
    assert response.status_code == 400, response.text
    return list(response.json()["Errors"])


def test_a_required_prompted_variable_needs_a_value_where_it_applies(server: ServerProcess) -> None:
    c = server.client
    space = ok(c.post("/api/spaces", json={"Name": unique("Prompts")}), 201)["Id"]
    dev, prod = (
        ok(c.post(f"/api/{space}/environments", json={"Name": n}), 201)["Id"] for n in ("Dev", "Prod")
    )
    project = ok(c.post(f"/api/{space}/projects", json={"Name": unique("Ops")}), 201)
    variables_url = f"/api/{space}/variables/{project['VariableSetId']}"
    variables = ok(c.get(variables_url))
    variables["Variables"] = [
        {"Name": "Reason", "Value": "", "Prompt": {"Label": "Why now?", "Required": True}},
        {"Name": "Ticket", "Value": "", "Prompt": {"Required": True}, "Scope": {"Environment": [prod]}},
        {"Name": "Window", "Value": "night", "Prompt": {"Required": True}},
        {"Name": "Note", "Value": "", "Prompt": {"Required": False}},
    ]
    ok(c.put(variables_url, json=variables))
    runbook = ok(
        c.post(f"/api/{space}/runbooks", json={"Name": unique("Fix"), "ProjectId": project["Id"]}), 201
    )
    process_url = f"/api/{space}/runbookProcesses/{runbook['RunbookProcessId']}"
    process = ok(c.get(process_url))
    body = "echo 'because #{Reason} in #{Window}'"
    script = {"Octopus.Action.RunOnServer": "true", "Octopus.Action.Script.ScriptBody": body}
    process["Steps"] = [
        {"Name": "Say", "Actions": [{"Name": "Say", "ActionType": "Octopus.Script", "Properties": script}]}
    ]
    ok(c.put(process_url, json=process))
    run_url = f"/api/{space}/runbooks/{runbook['Id']}/run"
    draft = {"UseDefaultSnapshot": False}

    (problem,) = refused(c.post(run_url, json={**draft, "EnvironmentIds": [dev]}))
    assert problem == "FormValues: the prompted variable 'Reason' (Why now?) requires a value"
    both = refused(
        c.post(run_url, json={**draft, "EnvironmentIds": [dev, prod], "FormValues": {"Reason": " "}})
    )
    assert [p.split("'")[1] for p in both] == ["Reason", "Ticket"]
    assert ok(c.get(f"/api/{space}/runbookRuns", params={"runbooks": runbook["Id"]}))["Items"] == []

    (run,) = ok(
        c.post(run_url, json={**draft, "EnvironmentIds": [dev], "FormValues": {"Reason": "an outage"}}), 201
    )
    assert follow(c, run["TaskId"])["State"] == "Success"
    assert "because an outage in night" in c.get(f"/api/tasks/{run['TaskId']}/raw").text

    # The same rule for a snapshot run by id.
    by_id = {"RunbookId": runbook["Id"], "RunbookSnapshotId": run["RunbookSnapshotId"], "EnvironmentId": prod}
    assert [p.split("'")[1] for p in refused(c.post(f"/api/{space}/runbookRuns", json=by_id))] == [
        "Reason",
        "Ticket",
    ]
    values = {"Reason": "a release", "Ticket": "OPS-1"}
    made = ok(c.post(f"/api/{space}/runbookRuns", json={**by_id, "FormValues": values}), 201)
    assert follow(c, made["TaskId"])["State"] == "Success"


def test_a_deployment_needs_a_value_for_a_required_prompted_variable(server: ServerProcess) -> None:
    c = server.client
    space = ok(c.post("/api/spaces", json={"Name": unique("Prompts")}), 201)["Id"]
    dev = ok(c.post(f"/api/{space}/environments", json={"Name": "Dev"}), 201)["Id"]
    project = ok(c.post(f"/api/{space}/projects", json={"Name": unique("Web")}), 201)
    variables_url = f"/api/{space}/variables/{project['VariableSetId']}"
    variables = ok(c.get(variables_url))
    variables["Variables"] = [{"Name": "Approver", "Value": "", "Prompt": {"Required": True}}]
    ok(c.put(variables_url, json=variables))
    process_url = f"/api/{space}/deploymentprocesses/{project['DeploymentProcessId']}"
    process = ok(c.get(process_url))
    script = {
        "Octopus.Action.RunOnServer": "true",
        "Octopus.Action.Script.ScriptBody": "echo 'by #{Approver}'",
    }
    process["Steps"] = [
        {"Name": "Say", "Actions": [{"Name": "Say", "ActionType": "Octopus.Script", "Properties": script}]}
    ]
    ok(c.put(process_url, json=process))
    release = ok(c.post(f"/api/{space}/releases", json={"ProjectId": project["Id"], "Version": "1.0.0"}), 201)

    body = {"ReleaseId": release["Id"], "EnvironmentId": dev}
    assert refused(c.post(f"/api/{space}/deployments", json=body)) == [
        "FormValues: the prompted variable 'Approver' requires a value"
    ]
    deployment = ok(
        c.post(f"/api/{space}/deployments", json={**body, "FormValues": {"Approver": "ana"}}), 201
    )
    assert follow(c, deployment["TaskId"])["State"] == "Success"
    assert "by ana" in c.get(f"/api/tasks/{deployment['TaskId']}/raw").text
