"""Interruptions end to end through the REST API, on a real server: a manual intervention keeps its
deployment Executing until a person takes responsibility and answers it (Proceed, with notes later steps
read, or Abort); a waiting deployment holds no task-cap slot; guided failure asks what to do about a
failed action (Retry, Ignore, Exclude, Fail) and offers a required step no Ignore."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from test_deployments import Project, ok, script_step

from conftest import ServerProcess, follow, run_script, unique

pytestmark = pytest.mark.databases("SQLite", "PostgreSQL")

TAKE_FIRST = "You must take responsibility for this interruption before you can submit it."


def manual_step(name: str, instructions: str, **extra: Any) -> dict[str, Any]:
    properties = {"Octopus.Action.Manual.Instructions": instructions}
    return {
        "Name": name,
        "Properties": {},
        "Actions": [{"Name": name, "ActionType": "Octopus.Manual", "Properties": properties, **extra}],
    }


def deploy(project: Project, environment: str, guided: bool = False) -> dict[str, Any]:
    body = {
        "ReleaseId": project.release("1.0.0")["Id"],
        "EnvironmentId": project.environments[environment],
        "UseGuidedFailure": guided,
    }
    return dict(ok(project.client.post(f"/api/{project.space}/deployments", json=body), 201))


def pending(project: Project, regarding: str, count: int = 1) -> list[dict[str, Any]]:
    """Wait until ``count`` interruptions regarding a document are pending; answers them, newest first."""
    url = f"/api/{project.space}/interruptions"
    for _ in range(600):
        found = ok(project.client.get(url, params={"regarding": regarding, "pendingOnly": "true"}))
        if found["TotalResults"] >= count:
            return list(found["Items"])
        time.sleep(0.1)
    raise AssertionError(f"no pending interruption regarding {regarding}")


def answer(client: httpx.Client, interruption: dict[str, Any], **values: str) -> dict[str, Any]:
    ok(client.put(interruption["Links"]["Responsible"]))
    return dict(ok(client.post(interruption["Links"]["Submit"], json=values)))


def buttons(interruption: dict[str, Any], name: str) -> list[str]:
    (element,) = [e for e in interruption["Form"]["Elements"] if e["Name"] == name]
    return [b["Value"] for b in element["Control"]["Buttons"]]


def refused(response: httpx.Response) -> str:
    assert response.status_code == 400, response.text
    return str(response.json()["ErrorMessage"])


def test_a_manual_step_waits_for_a_person_and_later_steps_read_the_notes(server: ServerProcess) -> None:
    client = server.client
    project = Project(client, [unique("Dev")])
    (dev,) = project.environments
    project.set_steps(
        [
            manual_step("Approve", "Check #{Octopus.Environment.Name} first"),
            script_step(
                "After",
                'echo "notes: #{Octopus.Action[Approve].Output.Manual.Notes} '
                'by #{Octopus.Action[Approve].Output.Manual.ResponsibleUser.Username}"',
            ),
        ]
    )
    deployment = deploy(project, dev)
    (interruption,) = pending(project, deployment["Id"])

    task = ok(client.get(f"/api/tasks/{deployment['TaskId']}"))
    assert task["State"] == "Executing"
    assert task["HasPendingInterruptions"] is True
    assert task["PendingInterruptionTypes"] == ["ManualIntervention"]
    assert interruption["Type"] == "ManualIntervention" and interruption["Title"] == "Approve"
    assert interruption["IsPending"] is True and interruption["TaskId"] == deployment["TaskId"]
    related = interruption["RelatedDocumentIds"]
    assert {deployment["Id"], deployment["TaskId"], project.project["Id"], project.environments[dev]} <= set(
        related
    )
    form = interruption["Form"]
    assert [e["Name"] for e in form["Elements"]] == ["Instructions", "Notes", "Result"]
    assert [e["Control"]["Type"] for e in form["Elements"]] == ["Paragraph", "TextArea", "SubmitButtonGroup"]
    assert form["Elements"][0]["Control"]["Text"] == f"Check {dev} first"  # substituted
    assert buttons(interruption, "Result") == ["Proceed", "Abort"]
    assert interruption["CanTakeResponsibility"] is True and interruption["HasResponsibility"] is False
    assert interruption["ResponsibleUserId"] is None
    # ``regarding`` matches any related id, case-insensitively.
    assert pending(project, deployment["TaskId"].lower())[0]["Id"] == interruption["Id"]

    links = interruption["Links"]
    assert refused(client.post(links["Submit"], json={"Result": "Proceed"})) == TAKE_FIRST
    assert client.get(links["Responsible"]).json() is None
    me = ok(client.get("/api/users/me"))
    taken = ok(client.put(links["Responsible"]))
    assert taken["Id"] == me["Id"] and taken["Username"] == me["Username"]
    assert ok(client.get(links["Responsible"]))["Id"] == me["Id"]
    mine = ok(client.get(links["Self"]))
    assert mine["HasResponsibility"] is True and mine["ResponsibleUserId"] == me["Id"]
    wrong = client.post(links["Submit"], json={"Result": "Maybe"})
    assert refused(wrong) == "There were errors with the form."
    assert "Maybe" in wrong.json()["Errors"][0]

    submitted = ok(client.post(links["Submit"], json={"Notes": "looks good", "Result": "Proceed"}))
    assert submitted["IsPending"] is False and submitted["Form"]["Values"]["Result"] == "Proceed"
    assert refused(client.post(links["Submit"], json={"Result": "Abort"})) == (
        "The interruption has already been submitted."
    )
    assert refused(client.put(links["Responsible"])) == "The interruption has already been submitted."

    finished = follow(client, deployment["TaskId"])
    raw = client.get(f"/api/tasks/{deployment['TaskId']}/raw").text
    assert finished["State"] == "Success", raw
    assert f"notes: looks good by {me['Username']}" in raw
    assert finished["HasPendingInterruptions"] is False and finished["PendingInterruptionTypes"] == []
    remaining = ok(
        client.get(
            f"/api/{project.space}/interruptions",
            params={"regarding": deployment["Id"], "pendingOnly": "true"},
        )
    )
    assert remaining["TotalResults"] == 0
    everything = ok(client.get(f"/api/{project.space}/interruptions", params={"regarding": deployment["Id"]}))
    assert [i["Id"] for i in everything["Items"]] == [interruption["Id"]]


def test_abort_fails_the_deployment_and_skips_later_success_steps(server: ServerProcess) -> None:
    project = Project(server.client, ["Dev"])
    project.set_steps([manual_step("Approve", "Go?"), script_step("After", "echo after ran")])
    deployment = deploy(project, "Dev")
    (interruption,) = pending(project, deployment["Id"])
    answer(server.client, interruption, Result="Abort", Notes="not today")

    task = follow(server.client, deployment["TaskId"])
    raw = server.client.get(f"/api/tasks/{deployment['TaskId']}/raw").text
    assert task["State"] == "Failed", raw
    assert "Manual intervention was aborted by" in str(task["ErrorMessage"])
    assert "not today" in str(task["ErrorMessage"])
    assert "after ran" not in raw and "Skipping step 'After'" in raw


def test_cancelling_a_waiting_deployment_closes_its_interruption(server: ServerProcess) -> None:
    project = Project(server.client, ["Dev"])
    project.set_steps([manual_step("Approve", "Go?")])
    deployment = deploy(project, "Dev")
    (interruption,) = pending(project, deployment["Id"])
    ok(server.client.post(f"/api/tasks/{deployment['TaskId']}/cancel"))

    task = follow(server.client, deployment["TaskId"])
    assert task["State"] == "Canceled" and task["HasPendingInterruptions"] is False
    closed = ok(server.client.get(interruption["Links"]["Self"]))
    assert closed["IsPending"] is False and closed["CanTakeResponsibility"] is False


def test_a_deployment_waiting_for_a_person_holds_no_task_slot(server_factory: object) -> None:
    srv: ServerProcess = server_factory("--task-cap", "1")  # type: ignore[operator]
    project = Project(srv.client, ["Dev"])
    project.set_steps([manual_step("Approve", "Go?"), script_step("After", "echo after ran")])
    deployment = deploy(project, "Dev")
    (interruption,) = pending(project, deployment["Id"])

    # The only slot is free while the deployment waits: another task runs to its end meanwhile.
    other = run_script(srv.client, "echo the other task ran", space=project.space)
    assert other["State"] == "Success"
    assert ok(srv.client.get(f"/api/tasks/{deployment['TaskId']}"))["State"] == "Executing"

    answer(srv.client, interruption, Result="Proceed")
    task = follow(srv.client, deployment["TaskId"])
    assert task["State"] == "Success"
    assert "after ran" in srv.client.get(f"/api/tasks/{deployment['TaskId']}/raw").text


def test_guided_failure_retry_runs_the_failed_action_again(server: ServerProcess, tmp_path: Path) -> None:
    marker = tmp_path / "tried-once"
    project = Project(server.client, ["Dev"])
    body = (
        f'if [ -f "{marker}" ]; then echo "second try"; else touch "{marker}"; echo "first try"; exit 3; fi'
    )
    project.set_steps([script_step("Flaky", body), script_step("After", "echo after ran")])
    deployment = deploy(project, "Dev", guided=True)
    (interruption,) = pending(project, deployment["Id"])

    task = ok(server.client.get(f"/api/tasks/{deployment['TaskId']}"))
    assert task["State"] == "Executing" and task["PendingInterruptionTypes"] == ["GuidedFailure"]
    assert interruption["Type"] == "GuidedFailure"
    assert interruption["Title"].endswith("requires failure guidance")
    assert [e["Name"] for e in interruption["Form"]["Elements"]] == ["Instructions", "Notes", "Guidance"]
    assert "'Flaky'" in interruption["Form"]["Elements"][0]["Control"]["Text"]
    # Not required, and run on a worker rather than a deployment target: nothing to exclude.
    assert buttons(interruption, "Guidance") == ["Fail", "Retry", "Ignore"]
    answer(server.client, interruption, Guidance="Retry", Notes="try again")

    task = follow(server.client, deployment["TaskId"])
    raw = server.client.get(f"/api/tasks/{deployment['TaskId']}/raw").text
    assert task["State"] == "Success", raw
    assert "first try" in raw and "second try" in raw and "after ran" in raw


def test_guided_failure_ignore_carries_on_and_a_required_step_cannot_be_ignored(
    server: ServerProcess,
) -> None:
    project = Project(server.client, ["Dev"])
    required = script_step("Required", "echo required failed; exit 4")
    required["Actions"][0]["IsRequired"] = True
    project.set_steps([script_step("Optional", "echo optional failed; exit 2"), required])
    deployment = deploy(project, "Dev", guided=True)

    (first,) = pending(project, deployment["Id"])
    assert "'Optional'" in first["Form"]["Elements"][0]["Control"]["Text"]
    answer(server.client, first, Guidance="Ignore")

    second = next(i for i in pending(project, deployment["Id"]) if i["Id"] != first["Id"])
    assert buttons(second, "Guidance") == ["Fail", "Retry"]  # a required step: no Ignore, no Exclude
    ok(server.client.put(second["Links"]["Responsible"]))
    assert refused(server.client.post(second["Links"]["Submit"], json={"Guidance": "Ignore"})) == (
        "There were errors with the form."
    )
    ok(server.client.post(second["Links"]["Submit"], json={"Guidance": "Fail"}))

    task = follow(server.client, deployment["TaskId"])
    raw = server.client.get(f"/api/tasks/{deployment['TaskId']}/raw").text
    assert task["State"] == "Failed", raw
    assert "required failed" in raw and "was ignored" in raw
    assert "Required" in str(task["ErrorMessage"]) and "Optional" not in str(task["ErrorMessage"])


def test_guided_failure_ignore_makes_the_deployment_succeed_with_a_warning(server: ServerProcess) -> None:
    project = Project(server.client, ["Dev"])
    project.set_steps([script_step("Break", "echo broke; exit 2"), script_step("After", "echo after ran")])
    deployment = deploy(project, "Dev", guided=True)
    (interruption,) = pending(project, deployment["Id"])
    answer(server.client, interruption, Guidance="Ignore", Notes="known problem")

    task = follow(server.client, deployment["TaskId"])
    raw = server.client.get(f"/api/tasks/{deployment['TaskId']}/raw").text
    assert task["State"] == "Success", raw
    assert task["HasWarningsOrErrors"] is True
    assert "was ignored" in raw and "after ran" in raw


def test_guided_failure_exclude_drops_the_target_from_later_steps(server: ServerProcess) -> None:
    project = Project(server.client, ["Dev"])
    names = [unique("alpha"), unique("beta")]
    for name in names:
        body = {
            "Name": name,
            "Roles": ["web"],
            "EnvironmentIds": [project.environments["Dev"]],
            # Cloud Region targets: their steps run on a worker of their pool, here the built-in worker.
            "Endpoint": {"CommunicationStyle": "None", "DefaultWorkerPoolId": None},
        }
        ok(server.client.post(f"/api/{project.space}/machines", json=body), 201)
    alpha, beta = names
    web = {"Octopus.Action.TargetRoles": "web"}
    project.set_steps(
        [
            script_step(
                "Web",
                f'if [ "#{{Octopus.Machine.Name}}" = "{alpha}" ]; then exit 5; fi; '
                'echo "web on #{Octopus.Machine.Name}"',
                properties=web,
            ),
            script_step("Again", 'echo "again on #{Octopus.Machine.Name}"', properties=web),
        ]
    )
    deployment = deploy(project, "Dev", guided=True)
    (interruption,) = pending(project, deployment["Id"])
    assert buttons(interruption, "Guidance") == ["Fail", "Retry", "Ignore", "Exclude"]
    assert alpha in interruption["Form"]["Elements"][0]["Control"]["Text"]
    answer(server.client, interruption, Guidance="Exclude")

    task = follow(server.client, deployment["TaskId"])
    raw = server.client.get(f"/api/tasks/{deployment['TaskId']}/raw").text
    assert task["State"] == "Success", raw
    assert f"web on {beta}" in raw and f"again on {beta}" in raw
    assert f"again on {alpha}" not in raw and "excluded" in raw


def test_a_node_restarted_while_a_deployment_waits_asks_nobody_twice(server_factory: object) -> None:
    srv: ServerProcess = server_factory()  # type: ignore[operator]
    project = Project(srv.client, ["Dev"])
    project.set_steps([manual_step("Approve", "Go?"), script_step("After", "echo after ran")])
    deployment = deploy(project, "Dev")
    (interruption,) = pending(project, deployment["Id"])
    srv.kill()  # SIGKILL while the deployment waits

    again: ServerProcess = server_factory(home=srv.home, api_key=srv.api_key)  # type: ignore[operator]
    project.client = again.client
    # The resumed step finds the interruption it raised rather than raising a second one.
    assert ok(again.client.get(f"/api/tasks/{deployment['TaskId']}"))["HasPendingInterruptions"] is True
    answer(again.client, interruption, Result="Proceed")
    task = follow(again.client, deployment["TaskId"])
    assert task["State"] == "Success"
    everything = ok(
        again.client.get(f"/api/{project.space}/interruptions", params={"regarding": deployment["Id"]})
    )
    assert [i["Id"] for i in everything["Items"]] == [interruption["Id"]]
    assert "after ran" in again.client.get(f"/api/tasks/{deployment['TaskId']}/raw").text
