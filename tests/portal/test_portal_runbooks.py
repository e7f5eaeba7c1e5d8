"""Runbooks in a real browser: made with a script step, published, run in an environment, scheduled,
and the server's errors shown beside the fields they are about. Each test has a space of its own whose
default pool is empty, so the built-in worker runs the scripts."""

from __future__ import annotations

import re
from typing import Any

import httpx

from conftest import ServerProcess, follow, sign_in, unique


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def make_project(client: httpx.Client) -> tuple[str, str, str]:
    """A space of its own with one environment and a project: (space id, environment id, project id)."""
    space = ok(client.post("/api/spaces", json={"Name": unique("Runbooks")}), 201)["Id"]
    environment = ok(client.post(f"/api/{space}/environments", json={"Name": "Production"}), 201)["Id"]
    project = ok(client.post(f"/api/{space}/projects", json={"Name": unique("Ops")}), 201)["Id"]
    return space, environment, project


def test_a_runbook_is_made_published_run_and_scheduled(page: Any, server: ServerProcess) -> None:
    space, environment, project = make_project(server.client)
    name = unique("Restart")
    sign_in(page, path=f"/app/{space}/projects/{project}/runbooks")
    page.get_by_text("This project has no runbooks yet.").wait_for()

    page.get_by_role("button", name="Add runbook").click()
    page.get_by_role("textbox", name="Name", exact=True).fill(name)
    page.get_by_label("Description").fill("Restarts the service")
    page.get_by_role("button", name="Create runbook").click()
    page.get_by_role("heading", name=name).wait_for()
    runbook = ok(server.client.get(f"/api/{space}/projects/{project}/runbooks")).get("Items")[0]
    assert runbook["Name"] == name and runbook["Description"] == "Restarts the service"

    # The process tab is the projects section's editor, on the runbook's process.
    page.get_by_role("button", name="Add a script step").click()
    page.get_by_label("Script body").fill("echo 'hello from a runbook'")
    page.get_by_role("button", name="Save process").click()
    page.get_by_role("status").filter(has_text="Saved").wait_for()

    page.get_by_role("tab", name="Snapshots", exact=True).click()
    page.get_by_label("Snapshot name").fill("First")
    page.get_by_role("button", name="Publish", exact=True).click()
    page.get_by_role("row").filter(has_text="First").filter(has_text="Published").wait_for()
    published = ok(server.client.get(f"/api/{space}/runbooks/{runbook['Id']}"))["PublishedRunbookSnapshotId"]
    assert published is not None

    page.get_by_role("tab", name="Run", exact=True).click()
    page.get_by_label("Production").check()
    assert "published snapshot (First)" in page.get_by_label("What to run").inner_text()
    page.get_by_role("button", name="Run", exact=True).click()
    page.wait_for_url(re.compile(rf"/app/{space}/tasks/ServerTasks-\d+$"))
    task_id = page.url.rsplit("/", 1)[1]
    assert follow(server.client, task_id)["State"] == "Success"
    runs = ok(server.client.get(f"/api/{space}/runbookRuns", params={"runbooks": runbook["Id"]}))["Items"]
    assert [(r["TaskId"], r["EnvironmentId"], r["RunbookSnapshotId"]) for r in runs] == [
        (task_id, environment, published)
    ]

    # The runs tab lists the run with its task's state.
    page.goto(f"/app/{space}/projects/{project}/runbooks/{runbook['Id']}?tab=runs")
    row = page.get_by_role("row").filter(has_text="Production")
    row.filter(has_text="Success").wait_for()
    assert "First" in row.inner_text()

    page.get_by_role("tab", name="Schedules", exact=True).click()
    page.get_by_role("button", name="Add schedule").click()
    page.get_by_role("textbox", name="Name", exact=True).fill("Nightly")
    page.get_by_label("Production").check()
    page.get_by_label("Schedule", exact=True).select_option(label="Cron expression")
    page.get_by_label("Cron expression").fill("0 0 3 * * *")
    page.get_by_label("Time zone").fill("UTC")
    page.get_by_role("button", name="Create schedule").click()
    listed = page.get_by_role("row").filter(has_text="Nightly")
    listed.filter(has_text="Cron 0 0 3 * * * (UTC)").wait_for()
    (trigger,) = ok(server.client.get(f"/api/{space}/projecttriggers", params={"runbooks": runbook["Id"]}))[
        "Items"
    ]
    assert trigger["Action"]["EnvironmentIds"] == [environment] and trigger["NextRun"]
    # The next run the server computed is shown.
    assert listed.locator(f'time[datetime="{trigger["NextRun"]}"]').count() == 1


def test_the_servers_errors_are_shown_beside_their_fields(page: Any, server: ServerProcess) -> None:
    space, _, project = make_project(server.client)
    sign_in(page, path=f"/app/{space}/projects/{project}/runbooks")
    page.get_by_role("button", name="Add runbook").click()
    page.get_by_role("button", name="Create runbook").click()
    name_field = page.locator(".field", has=page.get_by_role("textbox", name="Name", exact=True))
    name_field.get_by_role("alert").filter(has_text="Name").wait_for()

    page.get_by_role("textbox", name="Name", exact=True).fill(unique("Backup"))
    page.get_by_label("Runs to keep per environment").fill("0")
    page.get_by_role("button", name="Create runbook").click()
    kept = page.locator(".field", has=page.get_by_label("Runs to keep per environment"))
    kept.get_by_role("alert").filter(has_text="QuantityToKeep must be at least 1").wait_for()
    page.get_by_label("Keep every run forever").check()
    page.get_by_role("button", name="Create runbook").click()
    page.get_by_role("tab", name="Schedules", exact=True).click()

    # A cron expression the server cannot read: its message beside the cron field.
    page.get_by_role("button", name="Add schedule").click()
    page.get_by_role("textbox", name="Name", exact=True).fill("Broken")
    page.get_by_label("Production").check()
    page.get_by_label("Schedule", exact=True).select_option(label="Cron expression")
    page.get_by_label("Cron expression").fill("every night please")
    page.get_by_role("button", name="Create schedule").click()
    cron = page.locator(".field", has=page.get_by_label("Cron expression"))
    cron.get_by_role("alert").filter(has_text="Filter.CronExpression").wait_for()

    # Running in no environment: the server's refusal beside the environments.
    page.get_by_role("tab", name="Run", exact=True).click()
    assert page.get_by_label("What to run").input_value() == "(draft)"  # nothing is published yet
    page.get_by_label("Production").uncheck()  # the only environment in scope starts chosen
    page.get_by_role("button", name="Run", exact=True).click()
    environments = page.get_by_role("group", name="Environments")
    environments.get_by_role("alert").filter(has_text="Please name the environment").wait_for()
    page.get_by_role("tab", name="Runs", exact=True).click()
    page.get_by_text("This runbook has not run yet.").wait_for()


def test_a_draft_runs_with_prompted_values_and_a_schedule_is_edited_and_deleted(
    page: Any, server: ServerProcess
) -> None:
    space, environment, project_id = make_project(server.client)
    client = server.client
    project = ok(client.get(f"/api/{space}/projects/{project_id}"))
    variables_url = f"/api/{space}/variables/{project['VariableSetId']}"
    variables = ok(client.get(variables_url))
    prompt = {"Label": "Greeting", "Description": "What the runbook says", "Required": True}
    variables["Variables"] = [{"Name": "Greeting", "Value": "", "Prompt": prompt}]
    ok(client.put(variables_url, json=variables))
    body = {"Name": unique("Greet"), "ProjectId": project_id}
    runbook = ok(client.post(f"/api/{space}/runbooks", json=body), 201)
    process_url = f"/api/{space}/runbookProcesses/{runbook['RunbookProcessId']}"
    process = ok(client.get(process_url))
    say = "echo 'said #{Greeting}'"
    script = {"Octopus.Action.RunOnServer": "true", "Octopus.Action.Script.ScriptBody": say}
    action = {"Name": "Say", "ActionType": "Octopus.Script", "Properties": script}
    process["Steps"] = [{"Name": "Say", "Actions": [action]}]
    ok(client.put(process_url, json=process))

    sign_in(page, path=f"/app/{space}/projects/{project_id}/runbooks")
    page.get_by_role("link", name=f"Run {runbook['Name']}").click()
    assert page.get_by_label("What to run").input_value() == "(draft)"
    page.get_by_role("button", name="Run", exact=True).click()  # no value yet for a required prompt
    greeting = page.locator(".field", has=page.get_by_label("Greeting"))
    greeting.get_by_role("alert").filter(has_text="'Greeting' requires a value").wait_for()
    page.get_by_label("Greeting").fill("good morning")
    page.get_by_role("button", name="Run", exact=True).click()
    page.wait_for_url(re.compile(rf"/app/{space}/tasks/ServerTasks-\d+$"))
    task_id = page.url.rsplit("/", 1)[1]
    assert follow(client, task_id)["State"] == "Success"
    assert "said good morning" in client.get(f"/api/tasks/{task_id}/raw").text

    page.goto(f"/app/{space}/projects/{project_id}/runbooks/{runbook['Id']}?tab=schedules")
    page.get_by_role("button", name="Add schedule").click()
    page.get_by_role("textbox", name="Name", exact=True).fill("Weekdays")
    page.get_by_label("Production").check()
    page.get_by_label("Start time").fill("06:30")
    page.get_by_label("Saturday").uncheck()  # weekdays are chosen to begin with; Saturday is not one
    page.get_by_label("Friday").uncheck()
    page.get_by_label("Time zone").fill("Europe/Paris")
    page.get_by_role("button", name="Create schedule").click()
    page.get_by_role("row").filter(has_text="At 06:30 on Mon, Tue, Wed, Thu (Europe/Paris)").wait_for()

    page.get_by_role("button", name="Edit Weekdays").click()
    page.get_by_label("Disabled: do not run on this schedule").check()
    page.get_by_role("button", name="Save schedule").click()
    page.get_by_role("row").filter(has_text="Weekdays").filter(has_text="Disabled").wait_for()
    (trigger,) = ok(client.get(f"/api/{space}/projecttriggers", params={"runbooks": runbook["Id"]}))["Items"]
    assert trigger["IsDisabled"] and trigger["NextRun"] is None
    assert trigger["Filter"]["DaysOfWeek"] == ["Monday", "Tuesday", "Wednesday", "Thursday"]

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("row").filter(has_text="Weekdays").get_by_role("button", name="Delete").click()
    page.get_by_text("No schedule runs this runbook.").wait_for()
    assert ok(client.get(f"/api/{space}/projecttriggers", params={"runbooks": runbook["Id"]}))["Items"] == []
