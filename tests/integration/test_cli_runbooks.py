"""``argonaut runbook`` and ``argonaut interruption``: the real CLI against the shared server.

Each test works in a space of its own. Runbooks are built, published and run with the CLI alone; the
manual intervention step is put into the deployment process through the REST API (the CLI adds script
steps only), and the deployments waiting on it are answered with ``interruption approve|abort``.
"""

from __future__ import annotations

import time
from typing import Any

from test_cli_deployments import Cli, one_error_line

from conftest import ServerProcess, unique

FINAL_STATES = {"Success", "Failed", "Canceled", "TimedOut"}


def test_runbooks_are_created_edited_published_and_run_by_the_cli(server: ServerProcess) -> None:
    cli = Cli(server)
    dev = unique("Dev")
    cli.ok("environment", "create", dev)
    project = unique("ops")
    cli.json("project", "create", project)
    assert "no runbooks yet" in cli.ok("runbook", "list", "--project", project).stderr

    created = cli.ok("runbook", "create", "--project", project, "Backup", "-d", "nightly dump")
    assert "Created runbook Backup (Runbooks-" in created.stdout
    (listed,) = cli.json("runbook", "list", "--project", project.upper())
    assert listed["Name"] == "Backup" and listed["Description"] == "nightly dump"
    assert listed["PublishedRunbookSnapshotId"] is None

    body = 'echo "dump of #{Octopus.Environment.Name} by #{Octopus.Runbook.Name} for #{Who}"'
    added = cli.ok(
        "runbook", "add-step", "--project", project, "--runbook", "backup", "--name", "Dump", "--body", body
    )
    assert added.stdout.strip() == "Added step 1 'Dump' to runbook Backup: it runs once on a worker"

    backup = ("--project", project, "--runbook", "Backup")
    before = cli.run("runbook", "run", *backup, "--environment", dev, "--wait")
    assert before.returncode == 1
    line = one_error_line(before)
    assert "Runbook has no published snapshot" in line and "--draft" in line
    assert "dump of" not in before.stdout

    published = cli.ok("runbook", "publish", *backup, "--notes", "first")
    assert "Published snapshot" in published.stdout and "of runbook Backup" in published.stdout
    (listed,) = cli.json("runbook", "list", "--project", project)
    assert str(listed["PublishedRunbookSnapshotId"]).startswith("RunbookSnapshots-")

    ran = cli.run("runbook", "run", *backup, "--environment", dev.lower(), "--variable", "Who=ops", "--wait")
    assert ran.returncode == 0, ran.stderr
    assert f"dump of {dev} by Backup for ops" in ran.stdout.splitlines()
    assert "Success" in ran.stdout

    # An edit reaches the draft at once; the published snapshot keeps what it froze.
    cli.ok("runbook", "add-step", *backup, "--name", "Extra", "--body", "echo extra step")
    draft = cli.run("runbook", "run", *backup, "--environment", dev, "--draft", "--wait")
    assert draft.returncode == 0, draft.stderr
    assert "extra step" in draft.stdout.splitlines()
    again = cli.run("runbook", "run", *backup, "--environment", dev, "--wait")
    assert again.returncode == 0, again.stderr
    assert "extra step" not in again.stdout and f"dump of {dev} by Backup for " in again.stdout

    (queued,) = cli.json("runbook", "run", *backup, "--environment", dev, "--draft")
    assert queued["RunbookId"] == listed["Id"] and str(queued["TaskId"]).startswith("ServerTasks-")

    both = cli.run("runbook", "run", *backup, "--environment", dev, "--draft", "--snapshot", "Snapshot 1")
    assert both.returncode == 2 and "--draft" in both.stderr


def _set_steps(server: ServerProcess, space_id: str, project: dict[str, Any], steps: list[Any]) -> None:
    url = f"/api/{space_id}/deploymentprocesses/{project['DeploymentProcessId']}"
    process = server.client.get(url).json()
    process["Steps"] = steps
    response = server.client.put(url, json=process)
    assert response.status_code == 200, response.text


def _pending(server: ServerProcess, space_id: str, regarding: str) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        params = {"regarding": regarding, "pendingOnly": "true"}
        found = server.client.get(f"/api/{space_id}/interruptions", params=params).json()
        if found["Items"]:
            item: dict[str, Any] = found["Items"][0]
            return item
        time.sleep(0.1)
    raise AssertionError(f"no interruption regarding {regarding} came up")


def _finished(server: ServerProcess, task_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        task: dict[str, Any] = server.client.get(f"/api/tasks/{task_id}").json()
        if task["State"] in FINAL_STATES:
            return task
        time.sleep(0.1)
    raise AssertionError(f"{task_id} did not finish")


def test_interruptions_are_listed_approved_and_aborted_by_the_cli(server: ServerProcess) -> None:
    cli = Cli(server)
    space_id = str(cli.space["Id"])
    dev = unique("Dev")
    cli.ok("environment", "create", dev)
    name = unique("gated")
    project = cli.json("project", "create", name)
    manual = {"Octopus.Action.Manual.Instructions": "Say yes"}
    approve_step = {
        "Name": "Approve",
        "Actions": [{"Name": "Approve", "ActionType": "Octopus.Manual", "Properties": manual}],
    }
    _set_steps(server, space_id, project, [approve_step])
    cli.add_step(name, "After", "echo after the approval")
    cli.ok("release", "create", "--project", name, "--version", "1.0.0")

    def deploy() -> dict[str, Any]:
        (deployment,) = cli.json(
            "release", "deploy", "--project", name, "--version", "1.0.0", "--environment", dev
        )
        return dict(deployment)

    first = deploy()
    waiting = _pending(server, space_id, first["Id"])
    listed = cli.ok("interruption", "list", "--regarding", first["TaskId"]).stdout.splitlines()
    header, *rows = listed
    assert header.split()[:4] == ["Id", "Type", "Title", "Task"] and "Responsible" in header
    (row,) = rows
    assert row.split()[:2] == [waiting["Id"], "ManualIntervention"] and first["TaskId"] in row
    assert waiting["Id"] in cli.ok("interruption", "list").stdout

    wrong = cli.run("interruption", "guide", waiting["Id"], "--retry")
    assert wrong.returncode == 1 and "interruption approve" in one_error_line(wrong)

    approved = cli.ok("interruption", "approve", waiting["Id"], "--notes", "ok")
    assert approved.stdout.startswith(f"Approved {waiting['Id']}")
    assert _finished(server, first["TaskId"])["State"] == "Success"
    (answered,) = cli.json("interruption", "list", "--regarding", first["Id"], "--all")
    assert answered["IsPending"] is False and answered["HasResponsibility"] is True
    assert cli.json("interruption", "list", "--regarding", first["Id"]) == []

    twice = cli.run("interruption", "approve", waiting["Id"])
    assert twice.returncode == 1 and "already been submitted" in one_error_line(twice)

    second = deploy()
    waiting = _pending(server, space_id, second["Id"])
    aborted = cli.ok("interruption", "abort", waiting["Id"], "--notes", "not today")
    assert aborted.stdout.startswith(f"Aborted {waiting['Id']}")
    assert _finished(server, second["TaskId"])["State"] == "Failed"
