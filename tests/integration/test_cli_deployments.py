"""``argonaut environment|project|release`` as a pipeline runs them: the real CLI against a real server.

Each test works in a space of its own on the shared server, so the Default Lifecycle (one phase per
environment of the space, in sort order) sees only the test's environments, whatever other tests made.
The deployment process is built with ``project add-step``, as a newcomer following README.md would.
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

    def add_step(self, project: str, name: str, body: str, *options: str) -> Any:
        return self.json(
            "project", "add-step", "--project", project, "--name", name, "--body", body, *options
        )


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
    cli.add_step(name, "Say", "echo hello from #{Octopus.Environment.Name}")

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


def test_project_add_step_builds_the_process_that_release_deploy_runs(
    server: ServerProcess, tmp_path: Path
) -> None:
    cli = Cli(server)
    dev = unique("Dev")
    cli.ok("environment", "create", dev)
    name = unique("shop")
    cli.json("project", "create", name)
    assert "no steps yet" in cli.ok("project", "steps", "--project", name).stderr
    pool = cli.json("worker-pool", "list")[0]

    added = cli.ok(
        "project",
        "add-step",
        "--project",
        name.upper(),
        "--name",
        "Hello",
        "--body",
        "echo hello from #{Octopus.Environment.Name}",
        "--pool",
        pool["Name"].lower(),
    )
    assert added.stdout.strip() == f"Added step 1 'Hello' to project {name}: it runs once on a worker"
    script = tmp_path / "report.py"
    script.write_text('print("python on #{Octopus.Environment.Name}")\n', encoding="utf-8")
    cli.ok(
        "project",
        "add-step",
        "--project",
        name,
        "--name",
        "Report",
        "--file",
        str(script),
        "--start-with-previous",
    )
    web = ("--role", "web", "--role", "frontend", "--on-worker", "--max-parallelism", "2")
    cli.add_step(name, "Web", "echo deploying the web tier", *web)
    cli.add_step(name, "Doomed", "echo doomed")
    process = cli.add_step(name, "Cleanup", "echo cleaning up", "--condition", "FAILURE")

    hello, report, web_step, _, cleanup = process["Steps"]
    hello_action = hello["Actions"][0]
    assert hello_action["ActionType"] == "Octopus.Script" and hello_action["WorkerPoolId"] == pool["Id"]
    assert hello_action["Properties"]["Octopus.Action.RunOnServer"] == "true"  # implied without --role
    assert hello_action["Properties"]["Octopus.Action.Script.Syntax"] == "Bash"
    assert "Octopus.Action.TargetRoles" not in hello["Properties"]
    assert report["Actions"][0]["Properties"]["Octopus.Action.Script.Syntax"] == "Python"  # from .py
    assert report["StartTrigger"] == "StartWithPrevious" and hello["StartTrigger"] == "StartAfterPrevious"
    assert web_step["Properties"]["Octopus.Action.TargetRoles"] == "web,frontend"
    assert web_step["Properties"]["Octopus.Action.MaxParallelism"] == "2"
    assert web_step["Actions"][0]["Properties"]["Octopus.Action.RunOnServer"] == "true"
    assert cleanup["Condition"] == "Failure" and hello["Condition"] == "Success"

    table = cli.ok("project", "steps", "--project", name).stdout.splitlines()
    rows = {line.split()[1]: line.split() for line in table[1:]}
    assert [line.split()[1] for line in table[1:]] == ["Hello", "Report", "Web", "Doomed", "Cleanup"]
    assert rows["Hello"][:4] == ["1", "Hello", "worker", "Success"]
    assert "web, frontend (on a worker)" in table[3] and "with previous" in table[2]
    assert rows["Cleanup"][:4] == ["5", "Cleanup", "worker", "Failure"]

    removed = cli.ok("project", "remove-step", "--project", name, "--name", "doomed")
    assert removed.stdout.strip() == f"Removed step 'Doomed' from project {name}"
    steps = cli.json("project", "steps", "--project", name)
    assert [step["Name"] for step in steps] == ["Hello", "Report", "Web", "Cleanup"]

    cli.ok("release", "create", "--project", name, "--version", "1.0.0")
    deployed = cli.run(
        "release", "deploy", "--project", name, "--version", "1.0.0", "--environment", dev, "--wait"
    )
    assert deployed.returncode == 0, deployed.stderr
    lines = deployed.stdout.splitlines()
    assert f"hello from {dev}" in lines and f"python on {dev}" in lines
    assert "Skipping step 'Web'" in deployed.stdout and "role(s) 'web', 'frontend'" in deployed.stdout
    assert "deploying the web tier" not in deployed.stdout
    assert "cleaning up" not in deployed.stdout  # only after a failure
    assert "doomed" not in deployed.stdout.lower()


def test_steps_the_server_refuses_are_one_error_line_and_change_nothing(
    server: ServerProcess, tmp_path: Path
) -> None:
    cli = Cli(server)
    name = unique("dup")
    cli.json("project", "create", name)
    cli.add_step(name, "Hello", "echo hi")
    add = ("project", "add-step", "--project", name)

    duplicate = cli.run(*add, "--name", "HELLO", "--body", "echo again")
    assert duplicate.returncode == 1
    assert "the step name 'HELLO' is used more than once" in one_error_line(duplicate)
    script = tmp_path / "deploy.ps1"
    script.write_text("Write-Host hi\n", encoding="utf-8")
    powershell = cli.run(*add, "--name", "Ps", "--file", str(script))  # PowerShell, from the suffix
    assert powershell.returncode == 1 and "PowerShell scripts cannot run" in one_error_line(powershell)
    pool = cli.run(*add, "--name", "Pooled", "--body", "echo hi", "--pool", "nowhere")
    assert pool.returncode == 1 and "no worker pool 'nowhere'" in one_error_line(pool)
    window = cli.run(*add, "--name", "Wide", "--body", "echo hi", "--max-parallelism", "3")
    assert window.returncode == 2 and "needs --role" in window.stderr
    neither = cli.run(*add, "--name", "Empty")
    assert neither.returncode == 2 and "exactly one of --file FILE or --body TEXT" in neither.stderr
    ghost = cli.run("project", "remove-step", "--project", name, "--name", "nope")
    assert ghost.returncode == 1 and "no step 'nope'" in one_error_line(ghost)
    assert "(known: Hello)" in one_error_line(ghost)

    assert [step["Name"] for step in cli.json("project", "steps", "--project", name)] == ["Hello"]


def test_a_failing_step_fails_deploy_wait_and_skipping_it_succeeds(server: ServerProcess) -> None:
    cli = Cli(server)
    dev = unique("Dev")
    cli.ok("environment", "create", dev)
    name = unique("api")
    cli.json("project", "create", name)
    cli.add_step(name, "Say", "echo saying")
    cli.add_step(name, "Break", "echo breaking; exit 3")
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
