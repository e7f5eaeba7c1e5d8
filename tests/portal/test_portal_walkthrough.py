"""Issue 12's walk through the portal, as one deployer's morning, on a server of its own.

Sign in; add a polling worker by running the command the wizard shows and see it Healthy; run a script
and watch its lines arrive while it runs; build a project of two steps; release and deploy it; approve
its manual intervention; find it all in the audit log. Then a second person, who holds a role in one
space only, does not see the other.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
from pathlib import Path
from typing import Any

import pytest

from conftest import ARGONAUT, ServerProcess, sign_in, unique


@pytest.mark.timeout(400)
def test_a_deployer_walks_the_portal_from_a_new_worker_to_an_approved_deployment(
    browser: Any, server_factory: Any, tmp_path: Path
) -> None:
    srv: ServerProcess = server_factory()
    api = srv.client
    context = browser.new_context(base_url=srv.url, viewport={"width": 1400, "height": 900})
    context.set_default_timeout(30_000)
    page = context.new_page()
    agent: subprocess.Popen[bytes] | None = None
    try:
        sign_in(page)
        sections = page.get_by_role("navigation", name="Sections")

        # A polling worker for the default pool, added by running the command the wizard shows.
        sections.get_by_role("link", name="Infrastructure").click()
        page.get_by_role("navigation", name="Infrastructure").get_by_role("link", name="Workers").click()
        page.get_by_role("link", name="Add worker").click()
        page.get_by_label("Polling agent").check()
        worker = unique("poller")
        page.get_by_label("Worker name").fill(worker)
        page.get_by_label("Worker pools").select_option(label="Default Worker Pool")
        page.get_by_role("button", name="Show the command").click()
        command = page.locator(".copybox code").inner_text()
        env = {**os.environ, "PATH": f"{ARGONAUT.parent}{os.pathsep}{os.environ.get('PATH', '')}"}
        with (tmp_path / "agent.log").open("w") as log:
            agent = subprocess.Popen(
                command,
                shell=True,
                cwd=tmp_path,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        page.get_by_text(f"{worker} is healthy and ready.").wait_for(timeout=90_000)

        # A script on it, its lines shown while it runs: the second waits for a file the test writes.
        flag = tmp_path / "go-on"
        sections.get_by_role("link", name="Tasks").click()
        page.get_by_role("link", name="Run a script").click()
        page.get_by_label("Description").fill("Check the disks")
        page.get_by_label("Script", exact=True).fill(
            f"echo 'disks fine on this worker'\nwhile [ ! -f '{flag}' ]; do sleep 0.1; done\necho 'all done'"
        )
        page.get_by_role("button", name="Run").click()
        log_view = page.get_by_role("log", name="Task log")
        log_view.get_by_text("disks fine on").wait_for()
        assert log_view.get_by_text("all done").count() == 0
        flag.touch()
        log_view.get_by_text("all done").wait_for()
        page.locator(".task-facts").get_by_text("Success").wait_for()
        page.get_by_text(f"Run script on {worker}").first.wait_for()  # it ran on the new agent

        # An environment, and a project of two steps: a script, then a person's approval.
        sections.get_by_role("link", name="Infrastructure").click()
        page.get_by_role("navigation", name="Infrastructure").get_by_role("link", name="Environments").click()
        page.get_by_label("Environment name").fill("Production")
        page.get_by_role("button", name="Add environment").click()
        page.get_by_role("link", name="Production").wait_for()
        project = unique("Checkout")
        sections.get_by_role("link", name="Projects").click()
        page.get_by_role("button", name="Add project").click()
        page.get_by_label("Name").fill(project)
        page.get_by_role("button", name="Create project").click()
        page.get_by_role("heading", name=project).wait_for()
        page.get_by_role("button", name="Add a script step").click()
        page.get_by_label("Step name").fill("Migrate")
        page.get_by_label("Script body").fill('echo "migrating #{Octopus.Environment.Name}"')
        page.get_by_role("button", name="Add a manual intervention step").click()
        page.get_by_label("Step name").fill("Go live")
        page.get_by_label("Instructions").fill("Check the dashboards, then approve.")
        page.get_by_role("button", name="Save process").click()
        page.get_by_role("status").filter(has_text="Saved").wait_for()

        # Release, see where it would run, deploy.
        page.get_by_role("tab", name="Releases").click()
        page.get_by_label("Version").fill("1.0.0")
        page.get_by_role("button", name="Create release").click()
        page.get_by_role("heading", name="Release 1.0.0", exact=True).wait_for()
        page.get_by_role("region", name="Preview").get_by_text(worker).first.wait_for()
        page.get_by_role("button", name="Deploy").click()
        page.wait_for_url(re.compile(r"/app/Spaces-1/tasks/ServerTasks-\d+$"))
        page.get_by_role("log", name="Task log").get_by_text("migrating Production").wait_for()

        # Approve the manual intervention on the task's page; the deployment finishes.
        panel = page.get_by_role("region", name="Interruption Go live")
        panel.get_by_text("Check the dashboards, then approve.").wait_for()
        panel.get_by_role("button", name="Take responsibility").click()
        panel.get_by_label("Notes").fill("dashboards are green")
        panel.get_by_role("button", name="Proceed").click()
        page.locator(".task-facts").get_by_text("Success").wait_for()

        # The audit log has it, by who did it.
        sections.get_by_role("link", name="Audit").click()
        page.get_by_role("heading", name="Audit log").wait_for()
        entry = page.locator(".audit-entry").filter(has_text=project).first
        entry.wait_for()
        assert "admin" in entry.inner_text()

        # Someone who holds a role in the default space only does not see another space.
        other = api.post("/api/spaces", json={"Name": unique("Finance")}).json()
        name, password = unique("dev"), "dev-password-1"
        body = {"Username": name, "DisplayName": name, "Password": password, "IsService": False}
        user = api.post("/api/users", json=body).json()
        team = api.post("/api/Spaces-1/teams", json={"Name": unique("Devs"), "MemberUserIds": [user["Id"]]})
        roles = api.get("/api/userroles", params={"take": 1000}).json()["Items"]
        deployer = next(r["Id"] for r in roles if r["Name"] == "Project Deployer")
        scoped = {"UserRoleId": deployer, "SpaceId": "Spaces-1"}
        api.post(f"/api/teams/{team.json()['Id']}/scopeduserroles", json=scoped).raise_for_status()
        second = browser.new_context(base_url=srv.url)
        try:
            them = second.new_page()
            sign_in(them, name, password)
            assert them.get_by_label("Space").locator("option").all_inner_texts() == ["Default"]
            them.get_by_role("link", name=project).first.wait_for()  # the dashboard shows what they may see
            them.goto(f"/app/{other['Id']}/projects")
            them.get_by_text(f"There is no space '{other['Id']}' that you can see").wait_for()
        finally:
            second.close()
    finally:
        context.close()
        if agent is not None:
            os.killpg(agent.pid, signal.SIGTERM)
            try:
                agent.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(agent.pid, signal.SIGKILL)
                agent.wait(5)
