"""``argonaut environment|project|release`` as a pipeline runs them: the real CLI against a real server.

Each test works in a space of its own on the shared server, so the Default Lifecycle (one phase per
environment of the space, in sort order) sees only the test's environments, whatever other tests made.
The deployment process is set through the REST API, as the CLI has no verb for it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from conftest import ServerProcess, unique

ARGONAUT = Path(sys.executable).with_name("argonaut")


def say(name: str, body: str) -> dict[str, Any]:
    properties = {"Octopus.Action.RunOnServer": "true", "Octopus.Action.Script.ScriptBody": body}
    return {
        "Name": name,
        "Actions": [{"Name": name, "ActionType": "Octopus.Script", "Properties": properties}],
    }


class Cli:
    """The CLI in one space, with --server and --api-key given as a person would type them."""

    def __init__(self, server: ServerProcess) -> None:
        self.server = server
        self.space_name = unique("deploys")
        self.space = self.json("space", "create", self.space_name, space=False)

    def run(self, *args: str, space: bool = True) -> subprocess.CompletedProcess[str]:
        connection = ["--server", self.server.url, "--api-key", self.server.api_key]
        where = ["--space", self.space_name] if space else []
        env = {k: v for k, v in os.environ.items() if not k.startswith("ARGONAUT_")}
        return subprocess.run(
            [str(ARGONAUT), *args, *connection, *where],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    def ok(self, *args: str, space: bool = True) -> subprocess.CompletedProcess[str]:
        done = self.run(*args, space=space)
        assert done.returncode == 0, (args, done.stdout, done.stderr)
        return done

    def json(self, *args: str, space: bool = True) -> Any:
        return json.loads(self.ok(*args, "--json", space=space).stdout)

    def set_steps(self, project: dict[str, Any], steps: list[dict[str, Any]]) -> None:
        url = f"/api/{self.space['Id']}/deploymentprocesses/{project['DeploymentProcessId']}"
        got = self.server.client.get(url)
        assert got.status_code == 200, got.text
        process = got.json()
        process["Steps"] = steps
        put = self.server.client.put(url, json=process)
        assert put.status_code == 200, put.text


def one_error_line(done: subprocess.CompletedProcess[str]) -> str:
    lines = done.stderr.strip().splitlines()
    assert lines and lines[-1].startswith("error: "), done.stderr
    assert "Traceback" not in done.stderr
    return lines[-1]


def test_release_create_and_deploy_wait_follow_the_lifecycle_with_the_live_log(server: ServerProcess) -> None:
    cli = Cli(server)
    dev, prod = unique("Dev"), unique("Prod")
    created = cli.ok("environment", "create", dev, "--description", "first")
    assert dev in created.stdout
    cli.ok("environment", "create", prod)
    environments = cli.json("environment", "list")
    assert [e["Name"] for e in environments] == [dev, prod]  # the sort order the lifecycle follows

    name = unique("web")
    project = cli.json(
        "project",
        "create",
        name,
        "-d",
        "the shop",
        "--group",
        "default project group",
        "--lifecycle",
        "DEFAULT LIFECYCLE",
    )
    assert project["Name"] == name and project["DeploymentProcessId"] and project["VariableSetId"]
    assert name in cli.ok("project", "list").stdout
    cli.set_steps(project, [say("Say", "echo hello from #{Octopus.Environment.Name}")])

    release = cli.ok(
        "release", "create", "--project", name.upper(), "--version", "1.0.0", "--notes", "first cut"
    )
    assert "1.0.0" in release.stdout and "Releases-" in release.stdout
    listed = cli.json("release", "list", "--project", name)
    assert [r["Version"] for r in listed] == ["1.0.0"]

    refused = cli.run(
        "release", "deploy", "--project", name, "--version", "1.0.0", "--environment", prod, "--wait"
    )
    assert refused.returncode != 0
    assert dev in one_error_line(refused)  # the server's reason names the environment that comes first
    assert "hello from" not in refused.stdout

    first = cli.run(
        "release", "deploy", "--project", name, "--version", "1.0.0", "--environment", dev, "--wait"
    )
    assert first.returncode == 0, first.stderr
    assert f"hello from {dev}" in first.stdout.splitlines()
    assert "Success" in first.stdout

    second = cli.run(
        "release", "deploy", "--project", name, "--version", "1.0.0", "--environment", prod.lower(), "--wait"
    )
    assert second.returncode == 0, second.stderr
    assert f"hello from {prod}" in second.stdout.splitlines()


def test_a_failing_step_fails_deploy_wait_and_skipping_it_succeeds(server: ServerProcess) -> None:
    cli = Cli(server)
    dev = unique("Dev")
    cli.ok("environment", "create", dev)
    name = unique("api")
    project = cli.json("project", "create", name)
    cli.set_steps(project, [say("Say", "echo saying"), say("Break", "echo breaking; exit 3")])
    cli.ok("release", "create", "--project", name, "--version", "2.0.0")
    deploy = ("release", "deploy", "--project", name, "--version", "2.0.0", "--environment", dev)

    failed = cli.run(*deploy, "--wait")
    assert failed.returncode != 0
    assert "breaking" in failed.stdout
    assert "Failed" in failed.stderr

    skipped = cli.run(*deploy, "--wait", "--skip-step", "break")
    assert skipped.returncode == 0, skipped.stderr
    assert "saying" in skipped.stdout and "breaking" not in skipped.stdout

    queued = cli.json(*deploy)  # without --wait: the deployments and their tasks, nothing followed
    assert len(queued) == 1 and queued[0]["Id"].startswith("Deployments-")
    assert queued[0]["TaskId"].startswith("ServerTasks-")
    plain = cli.ok(*deploy)
    assert plain.stdout.split()[0].startswith("Deployments-") and plain.stdout.split()[1].startswith(
        "ServerTasks-"
    )


def test_unknown_names_are_one_error_line_and_create_nothing(server: ServerProcess) -> None:
    cli = Cli(server)
    dev = unique("Dev")
    cli.ok("environment", "create", dev)
    name = unique("svc")
    cli.json("project", "create", name)
    cli.ok("release", "create", "--project", name, "--version", "1.0.0")

    ghost = cli.run("release", "deploy", "--project", name, "--version", "1.0.0", "--environment", "nowhere")
    assert ghost.returncode == 1 and "no environment 'nowhere'" in one_error_line(ghost)
    missing = cli.run("release", "deploy", "--project", name, "--version", "9.9.9", "--environment", dev)
    assert missing.returncode == 1 and "9.9.9" in one_error_line(missing)
    step = cli.run(
        "release",
        "deploy",
        "--project",
        name,
        "--version",
        "1.0.0",
        "--environment",
        dev,
        "--skip-step",
        "nope",
    )
    assert step.returncode == 1 and "no step named 'nope'" in one_error_line(step)
    assert cli.run("project", "create", unique("x"), "--lifecycle", "nope").returncode == 1
    assert cli.run("release", "list", "--project", "nope").returncode == 1

    deleted = cli.ok("environment", "delete", dev.upper())
    assert dev in deleted.stdout
    assert cli.json("environment", "list") == []
