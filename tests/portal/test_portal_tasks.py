"""The portal's Tasks section in a real browser against a real server: the script console, a task's log
arriving line by line while it runs, cancel, artifacts and output variables, answering a manual
intervention, why a queued task waits (the task cap), and the task list's filters."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from conftest import ServerProcess, eventually, follow, script_task, sign_in, unique


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def new_space(client: httpx.Client) -> str:
    return str(ok(client.post("/api/spaces", json={"Name": unique("Tasks")}), 201)["Id"])


def queue_script(client: httpx.Client, space: str, body: str, description: str | None = None) -> str:
    task = script_task(body)
    if description:
        task["Description"] = description
    return str(ok(client.post(f"/api/{space}/tasks", json=task), 201)["Id"])


def waits_for(flag: Path) -> str:
    return f"while [ ! -f '{flag}' ]; do sleep 0.1; done"


def test_a_script_run_from_the_console_shows_its_lines_as_they_come(
    page: Any, server: ServerProcess, tmp_path: Path
) -> None:
    space = new_space(server.client)
    flag = tmp_path / "go"
    sign_in(page, path=f"/app/{space}/tasks")
    page.get_by_role("link", name="Run a script").click()
    page.get_by_label("Description").fill("Say two things")
    page.get_by_label("Script", exact=True).fill(f"echo 'first line'\n{waits_for(flag)}\necho 'second line'")
    page.get_by_role("button", name="Run").click()

    page.get_by_role("heading", name="Say two things").wait_for()
    log = page.get_by_role("log", name="Task log")
    log.get_by_text("first line").wait_for()
    page.locator(".task-facts").get_by_text("Executing").wait_for()
    # The first line is there while the script still waits for the flag: it came live, not with the
    # finished task.
    assert log.get_by_text("second line").count() == 0
    flag.touch()
    log.get_by_text("second line").wait_for()
    page.locator(".task-facts").get_by_text("Success").wait_for()
    assert "/tasks/ServerTasks-" in page.url


def test_the_console_shows_the_servers_error_beside_the_script(page: Any, server: ServerProcess) -> None:
    space = new_space(server.client)
    sign_in(page, path=f"/app/{space}/tasks/script")
    page.get_by_role("button", name="Run").click()
    # The API's own message about the empty script, shown where the script goes.
    page.locator(".field.has-error").get_by_label("Script", exact=True).wait_for()


def test_a_running_task_is_canceled_from_its_page(page: Any, server: ServerProcess) -> None:
    space = new_space(server.client)
    task_id = queue_script(server.client, space, "echo 'about to sleep'; sleep 300")
    sign_in(page, path=f"/app/{space}/tasks/{task_id}")
    page.get_by_role("log", name="Task log").get_by_text("about to sleep").wait_for()
    page.get_by_role("button", name="Cancel task").click()
    page.locator(".task-facts").get_by_text("Canceled").wait_for()
    assert ok(server.client.get(f"/api/tasks/{task_id}"))["State"] == "Canceled"
    assert page.get_by_role("button", name="Cancel task").count() == 0


def test_a_finished_task_offers_its_artifacts_and_output_variables(
    page: Any, server: ServerProcess, tmp_path: Path
) -> None:
    space = new_space(server.client)
    body = (
        "printf 'report body' > report.txt\nnew_octopusartifact report.txt\n"
        "set_octopusvariable Colour blue\necho done"
    )
    task_id = queue_script(server.client, space, body)
    assert follow(server.client, task_id)["State"] == "Success"
    sign_in(page, path=f"/app/{space}/tasks/{task_id}")
    # The whole log of a finished task, and what it left behind.
    page.get_by_role("log", name="Task log").get_by_text("done", exact=True).wait_for()
    variables = page.get_by_role("table", name="Output variables")
    variables.get_by_role("cell", name="Colour").wait_for()
    assert variables.get_by_role("cell", name="blue").is_visible()
    with page.expect_download() as download:
        page.get_by_role("link", name="report.txt").click()
    saved = tmp_path / "saved.txt"
    download.value.save_as(saved)
    assert saved.read_text() == "report body"


def manual_project(client: httpx.Client) -> tuple[str, str]:
    """A space with one environment and a project whose process is a manual step, then a script."""
    space = new_space(client)
    environment = ok(client.post(f"/api/{space}/environments", json={"Name": unique("Dev")}), 201)["Id"]
    project = ok(client.post(f"/api/{space}/projects", json={"Name": unique("project")}), 201)
    url = f"/api/{space}/deploymentprocesses/{project['DeploymentProcessId']}"
    process = ok(client.get(url))
    manual = {"Octopus.Action.Manual.Instructions": "Check the change window first"}
    script = {
        "Octopus.Action.RunOnServer": "true",
        "Octopus.Action.Script.ScriptBody": "echo 'after approval'",
    }
    process["Steps"] = [
        {
            "Name": "Approve",
            "Properties": {},
            "Actions": [{"Name": "Approve", "ActionType": "Octopus.Manual", "Properties": manual}],
        },
        {
            "Name": "After",
            "Properties": {},
            "Actions": [{"Name": "After", "ActionType": "Octopus.Script", "Properties": script}],
        },
    ]
    ok(client.put(url, json=process))
    release = ok(
        client.post(f"/api/{space}/releases", json={"ProjectId": project["Id"], "Version": "1.0.0"}), 201
    )
    deployment = ok(
        client.post(
            f"/api/{space}/deployments", json={"ReleaseId": release["Id"], "EnvironmentId": environment}
        ),
        201,
    )
    return space, str(deployment["TaskId"])


def test_a_manual_intervention_is_taken_and_approved_in_the_browser(page: Any, server: ServerProcess) -> None:
    space, task_id = manual_project(server.client)
    sign_in(page, path=f"/app/{space}/tasks/{task_id}")
    panel = page.get_by_role("region", name="Interruption Approve")
    panel.get_by_text("Check the change window first").wait_for()
    page.get_by_text("Waiting for someone to take responsibility").wait_for()
    panel.get_by_role("button", name="Take responsibility").click()
    panel.get_by_label("Notes").fill("window is open")
    panel.get_by_role("button", name="Proceed").click()
    page.get_by_role("log", name="Task log").get_by_text("after approval").wait_for()
    page.locator(".task-facts").get_by_text("Success").wait_for()
    assert follow(server.client, task_id)["State"] == "Success"


def test_a_task_queued_behind_the_task_cap_says_why_it_waits(
    browser: Any, server_factory: Any, tmp_path: Path
) -> None:
    node: ServerProcess = server_factory("--task-cap", "1")
    flag = tmp_path / "go"
    blocker = queue_script(node.client, "Spaces-1", waits_for(flag), "Hold the only slot")
    eventually(
        "the first task runs", lambda: ok(node.client.get(f"/api/tasks/{blocker}"))["State"] == "Executing"
    )
    queued = queue_script(node.client, "Spaces-1", "echo 'my turn'", "Wait for a slot")
    context = browser.new_context(base_url=node.url, viewport={"width": 1400, "height": 900})
    context.set_default_timeout(20_000)
    try:
        tab = context.new_page()
        sign_in(tab, path=f"/app/Spaces-1/tasks/{queued}")
        reason = tab.locator(".task-facts").get_by_role("status")
        reason.get_by_text("The task cap is reached").wait_for()
        assert "1 of 1" in reason.inner_text()
        # The list says it too, beside the task.
        tab.goto("/app/Spaces-1/tasks")
        row = tab.get_by_role("row").filter(has_text="Wait for a slot")
        row.get_by_text("The task cap is reached").wait_for()
        flag.touch()
        tab.goto(f"/app/Spaces-1/tasks/{queued}")
        tab.get_by_role("log", name="Task log").get_by_text("my turn").wait_for()
        assert tab.locator(".task-facts").get_by_role("status").count() == 0
    finally:
        flag.touch()
        context.close()


def test_the_task_list_filters_by_state(page: Any, server: ServerProcess) -> None:
    space = new_space(server.client)
    good = queue_script(server.client, space, "echo fine", "A good script")
    bad = queue_script(server.client, space, "echo broken; exit 3", "A bad script")
    follow(server.client, good)
    follow(server.client, bad)
    sign_in(page, path=f"/app/{space}/tasks")
    table = page.get_by_role("table", name="Tasks")
    table.get_by_role("link", name="A good script").wait_for()
    assert table.get_by_role("link", name="A bad script").is_visible()
    page.get_by_label("State").select_option(label="Failed")
    table.get_by_role("link", name="A good script").wait_for(state="detached")
    assert table.get_by_role("link", name="A bad script").is_visible()
    assert "states=Failed" in page.url
    page.get_by_role("link", name="A bad script").click()
    page.get_by_role("heading", name="A bad script").wait_for()
