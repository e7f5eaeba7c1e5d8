"""The projects section in a real browser: a project built in the process editor (a script and a manual
intervention), a variable scoped to an environment, a release, the preview of what runs where, the
deployment landing on its task, the dashboard showing it, and the server's errors beside their fields."""

from __future__ import annotations

import re
from typing import Any

import httpx

from conftest import ServerProcess, sign_in, unique, wait_for_log_line


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, (response.request.method, response.request.url, response.text)
    return response.json()


def new_space(client: httpx.Client) -> tuple[str, str]:
    """A space of the test's own with one environment; its default pool is empty, so the built-in worker
    runs the scripts."""
    space = ok(client.post("/api/spaces", json={"Name": unique("Projects")}), 201)["Id"]
    dev = ok(client.post(f"/api/{space}/environments", json={"Name": "Dev"}), 201)["Id"]
    return space, dev


def test_a_project_is_built_released_previewed_and_deployed_in_the_portal(
    page: Any, server: ServerProcess
) -> None:
    space, dev = new_space(server.client)
    name = unique("Shop")
    sign_in(page, path=f"/app/{space}/projects")

    page.get_by_role("button", name="Add project").click()
    page.get_by_label("Name").fill(name)
    page.get_by_role("button", name="Create project").click()
    page.get_by_role("heading", name=name).wait_for()

    # The process: a script step, then a manual intervention.
    page.get_by_role("button", name="Add a script step").click()
    page.get_by_label("Step name").fill("Say hello")
    page.get_by_label("Script body").fill('echo "Hello #{Greeting}"')
    page.get_by_role("button", name="Add a manual intervention step").click()
    page.get_by_label("Step name").fill("Approve")
    page.get_by_label("Instructions").fill("Check the greeting")
    page.get_by_role("button", name="Save process").click()
    page.get_by_role("status").filter(has_text="Saved").wait_for()
    steps = page.get_by_role("list", name="Steps").get_by_role("listitem")
    assert [re.sub(r"\s+", " ", t) for t in steps.locator("strong").all_inner_texts()] == [
        "1. Say hello",
        "2. Approve",
    ]

    # A variable scoped to the environment.
    page.get_by_role("tab", name="Variables").click()
    page.get_by_role("button", name="Add variable").click()
    variable = page.get_by_role("group", name="Variable 1")
    variable.get_by_label("Name").fill("Greeting")
    variable.get_by_label("Value").fill("from Dev")
    variable.get_by_label("Scope: Environments").select_option(label="Dev")
    page.get_by_role("button", name="Save variables").click()
    page.get_by_role("status").filter(has_text="Saved").wait_for()
    project = ok(server.client.get(f"/api/{space}/projects/all"))[0]
    saved = ok(server.client.get(f"/api/{space}/projects/{project['Id']}/variables"))["Variables"]
    assert [(v["Name"], v["Value"], v["Scope"]) for v in saved] == [
        ("Greeting", "from Dev", {"Environment": [dev]})
    ]

    # A release, the preview of what runs where, and the deployment.
    page.get_by_role("tab", name="Releases").click()
    page.get_by_label("Version").fill("1.0.0")
    page.get_by_role("button", name="Create release").click()
    page.get_by_role("heading", name="Release 1.0.0", exact=True).wait_for()
    preview = page.get_by_role("region", name="Preview")
    preview.get_by_role("cell", name="the built-in worker").wait_for()
    preview.get_by_role("cell", name="the server").wait_for()
    page.get_by_role("button", name="Deploy").click()
    page.wait_for_url(re.compile(rf"/app/{space}/tasks/ServerTasks-\d+$"))
    task_id = page.url.rsplit("/", 1)[1]
    try:
        wait_for_log_line(server.client, task_id, "Hello from Dev")
        # The dashboard shows the deployment, waiting for a person at the manual step.
        page.get_by_role("link", name="Dashboard").click()
        row = page.get_by_role("row").filter(has=page.get_by_role("link", name=name))
        row.get_by_text("1.0.0").wait_for()
        row.get_by_text("Waiting for a person").wait_for()
    finally:
        server.client.post(f"/api/tasks/{task_id}/cancel")


def test_the_servers_errors_are_shown_beside_their_fields(page: Any, server: ServerProcess) -> None:
    space, _ = new_space(server.client)
    taken = unique("Taken")
    ok(server.client.post(f"/api/{space}/projects", json={"Name": taken}), 201)
    sign_in(page, path=f"/app/{space}/projects")

    page.get_by_role("button", name="Add project").click()
    page.get_by_label("Name").fill(taken)
    page.get_by_role("button", name="Create project").click()
    name_field = page.locator(".field").filter(has=page.get_by_label("Name"))
    name_field.get_by_role("alert").wait_for()
    assert taken in name_field.get_by_role("alert").inner_text()

    # A script step without a script: the process is refused, and the reason sits beside the script.
    page.get_by_label("Name").fill(unique("Fresh"))
    page.get_by_role("button", name="Create project").click()
    page.get_by_role("button", name="Add a script step").click()
    page.get_by_role("button", name="Save process").click()
    body = page.locator(".field").filter(has=page.get_by_label("Script body"))
    body.get_by_role("alert").wait_for()
    assert "ScriptBody" in body.get_by_role("alert").inner_text()
    assert page.get_by_label("Script body").get_attribute("aria-invalid") == "true"


def test_the_process_editor_saves_locations_conditions_and_order_as_the_api_expects(
    page: Any, server: ServerProcess
) -> None:
    space, _ = new_space(server.client)
    project = ok(server.client.post(f"/api/{space}/projects", json={"Name": unique("Editor")}), 201)
    pool = ok(server.client.get(f"/api/{space}/workerpools/all"))[0]
    team = ok(server.client.post(f"/api/{space}/teams", json={"Name": unique("Approvers")}), 201)
    sign_in(page, path=f"/app/{space}/projects/{project['Id']}")

    page.get_by_role("button", name="Add a script step").click()
    page.get_by_label("Step name").fill("Install")
    page.get_by_label("Execution location").select_option("workerForTargets")
    page.get_by_label("Target roles").fill("web, api")
    page.get_by_label("Worker pool").select_option(label=pool["Name"])
    page.get_by_label("Maximum parallelism").fill("2")
    page.get_by_label("Script syntax").select_option("Python")
    page.get_by_label("Script body").fill("print('hi')")
    page.get_by_role("button", name="Add a manual intervention step").click()
    page.get_by_label("Instructions").fill("Approve it")
    page.get_by_label("Responsible teams").select_option(label=team["Name"])
    page.get_by_role("button", name="Add an email step").click()
    page.get_by_label("To", exact=True).fill("ops@example.com")
    page.get_by_label("Subject").fill("Deployed")
    page.get_by_label("Run condition").select_option("Variable")
    page.get_by_label("Condition expression").fill("#{Notify}")
    page.get_by_label("Start trigger").select_option("StartWithPrevious")
    page.get_by_role("button", name="Move step Send an email up").click()
    page.get_by_role("button", name="Save process").click()
    page.get_by_role("status").filter(has_text="Saved").wait_for()

    process = ok(server.client.get(f"/api/{space}/projects/{project['Id']}/deploymentprocesses"))
    install, email, manual = process["Steps"]
    assert [install["Name"], email["Name"], manual["Name"]] == [
        "Install",
        "Send an email",
        "Manual intervention",
    ]
    action = install["Actions"][0]
    assert install["Properties"]["Octopus.Action.TargetRoles"] == "web, api"
    assert install["Properties"]["Octopus.Action.MaxParallelism"] == "2"
    assert action["Properties"]["Octopus.Action.RunOnServer"] == "true"
    assert action["Properties"]["Octopus.Action.Script.Syntax"] == "Python"
    assert action["WorkerPoolId"] == pool["Id"]
    assert (email["Condition"], email["StartTrigger"]) == ("Variable", "StartWithPrevious")
    assert email["Properties"]["Octopus.Step.ConditionVariableExpression"] == "#{Notify}"
    assert email["Actions"][0]["Properties"]["Octopus.Action.Email.To"] == "ops@example.com"
    assert manual["Actions"][0]["Properties"]["Octopus.Action.Manual.ResponsibleTeamIds"] == team["Id"]


def test_sensitive_values_are_write_only_in_the_variables_editor(page: Any, server: ServerProcess) -> None:
    space, _ = new_space(server.client)
    project = ok(server.client.post(f"/api/{space}/projects", json={"Name": unique("Secrets")}), 201)
    url = f"/api/{space}/projects/{project['Id']}/variables"
    current = ok(server.client.get(url))
    secret = {"Name": "Password", "Value": "hunter2-" + unique("x"), "IsSensitive": True}
    ok(server.client.put(url, json={**current, "Variables": [secret]}))
    sign_in(page, path=f"/app/{space}/projects/{project['Id']}?tab=variables")

    variable = page.get_by_role("group", name="Variable 1")
    assert variable.get_by_label("Value").input_value() == ""
    assert secret["Value"] not in page.content()
    variable.get_by_label("Name").fill("DbPassword")
    page.get_by_role("button", name="Save variables").click()
    page.get_by_role("status").filter(has_text="Saved").wait_for()
    (kept,) = ok(server.client.get(url))["Variables"]
    assert (kept["Name"], kept["IsSensitive"], kept["Value"]) == ("DbPassword", True, None)


def test_the_deploy_form_asks_for_prompted_variables_and_the_script_gets_the_answer(
    page: Any, server: ServerProcess
) -> None:
    space, _ = new_space(server.client)
    c = server.client
    project = ok(c.post(f"/api/{space}/projects", json={"Name": unique("Prompted")}), 201)
    process_url = f"/api/{space}/projects/{project['Id']}/deploymentprocesses"
    process = ok(c.get(process_url))
    script = {
        "Octopus.Action.RunOnServer": "true",
        "Octopus.Action.Script.ScriptBody": 'echo "why: #{Reason}"',
    }
    process["Steps"] = [
        {"Name": "Say", "Actions": [{"Name": "Say", "ActionType": "Octopus.Script", "Properties": script}]}
    ]
    ok(c.put(process_url, json=process))
    variables_url = f"/api/{space}/projects/{project['Id']}/variables"
    variables = ok(c.get(variables_url))
    prompt = {"Label": "Why deploy now?", "Description": "Goes in the log", "Required": True}
    variables["Variables"] = [{"Name": "Reason", "Value": "", "Prompt": prompt}]
    ok(c.put(variables_url, json=variables))
    release = ok(c.post(f"/api/{space}/releases", json={"ProjectId": project["Id"], "Version": "1.0.0"}), 201)

    sign_in(page, path=f"/app/{space}/projects/{project['Id']}/releases/{release['Id']}")
    answer = page.get_by_label("Why deploy now?")
    answer.wait_for()
    page.get_by_role("button", name="Deploy").click()
    # Refused by the server while the person is still on the form, with the message beside the field.
    page.locator(".field.has-error").get_by_label("Why deploy now?").wait_for()
    answer.fill("the fix for the checkout bug")
    page.get_by_role("button", name="Deploy").click()
    page.wait_for_url(re.compile(rf"/app/{space}/tasks/ServerTasks-\d+$"))
    wait_for_log_line(c, page.url.rsplit("/", 1)[1], "why: the fix for the checkout bug")
