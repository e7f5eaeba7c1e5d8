"""Takes the portal screenshots in this folder: `make screenshots`.

Starts a real server with a throwaway home, gives it something to show (environments, a polling agent
as a worker, a project with a script and a manual step, two deployments, an ad-hoc script), then signs
in with headless Debian chromium and photographs the main pages. Nothing here is a test: the pictures
are for the README and for reviewers, and are committed when the pages change.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests"))
from _server import running_node  # noqa: E402
from browser import CHROMIUM_ARGS  # noqa: E402

PASSWORD = "screenshots-" + os.urandom(4).hex()
ARGONAUT = str(Path(sys.executable).with_name("argonaut"))
MIGRATE = """echo "Migrating #{Octopus.Environment.Name}"
for i in 1 2 3; do echo "migration $i applied"; done
set_octopusvariable "SchemaVersion" "42"
"""


def ok(response: httpx.Response) -> Any:
    if response.status_code >= 400:
        raise SystemExit(f"{response.request.method} {response.request.url}: {response.text}")
    return response.json() if response.content else None


def wait(what: str, check: Any, timeout_s: float = 60) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.3)
    raise SystemExit(f"timed out waiting for {what}")


def seed(api: httpx.Client, url: str, key: str, agent_home: Path) -> dict[str, str]:
    space = "Spaces-1"
    envs = [
        ok(api.post(f"/api/{space}/environments", json={"Name": n}))["Id"]
        for n in ("Dev", "Test", "Production")
    ]
    pool = ok(api.post(f"/api/{space}/workerpools", json={"Name": "Linux workers"}))
    subprocess.run(
        [ARGONAUT, "agent", "create-instance", "--home", str(agent_home), "--no-listen"],
        check=True,
        capture_output=True,
    )
    subprocess.run(
        [
            ARGONAUT,
            "agent",
            "register-worker",
            "--home",
            str(agent_home),
            "--server",
            url,
            "--api-key",
            key,
            "--name",
            "linux-01",
            "--comms-style",
            "TentacleActive",
            "--pool",
            "Linux workers",
        ],
        check=True,
        capture_output=True,
    )
    agent = subprocess.Popen(
        [ARGONAUT, "agent", "run", "--home", str(agent_home)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    worker = wait("the worker", lambda: next(iter(ok(api.get(f"/api/{space}/workers/all"))), None))
    wait(
        "a healthy worker",
        lambda: ok(api.get(f"/api/{space}/workers/{worker['Id']}"))["HealthStatus"] == "Healthy",
    )
    ok(
        api.post(
            f"/api/{space}/workers",
            json={
                "Name": "linux-02",
                "WorkerPoolIds": [pool["Id"]],
                "Endpoint": {
                    "CommunicationStyle": "TentaclePassive",
                    "Uri": "https://127.0.0.1:1/",
                    "Thumbprint": "A" * 40,
                },
            },
        )
    )
    project = ok(api.post(f"/api/{space}/projects", json={"Name": "Web app"}))
    process_url = f"/api/{space}/deploymentprocesses/{project['DeploymentProcessId']}"
    process = ok(api.get(process_url))
    process["Steps"] = [
        {
            "Name": "Migrate database",
            "Actions": [
                {
                    "Name": "Migrate database",
                    "ActionType": "Octopus.Script",
                    "WorkerPoolId": pool["Id"],
                    "Properties": {
                        "Octopus.Action.RunOnServer": "true",
                        "Octopus.Action.Script.ScriptBody": MIGRATE,
                        "Octopus.Action.Script.Syntax": "Bash",
                    },
                }
            ],
        },
        {
            "Name": "Approve go-live",
            "Actions": [
                {
                    "Name": "Approve go-live",
                    "ActionType": "Octopus.Manual",
                    "Properties": {
                        "Octopus.Action.Manual.Instructions": "Check the smoke tests, then approve.",
                        "Octopus.Action.RunOnServer": "true",
                    },
                }
            ],
        },
    ]
    ok(api.put(process_url, json=process))
    tasks: dict[str, str] = {"project": project["Id"], "worker": worker["Id"], "space": space}
    for version, env in (("1.0.0", envs[0]), ("1.0.1", envs[0])):
        release = ok(
            api.post(f"/api/{space}/releases", json={"ProjectId": project["Id"], "Version": version})
        )
        deployment = ok(
            api.post(f"/api/{space}/deployments", json={"ReleaseId": release["Id"], "EnvironmentId": env})
        )
        task_id = tasks["deploy"] = deployment["TaskId"]
        pending = wait(
            "the approval",
            lambda: ok(
                api.get(
                    f"/api/{space}/interruptions",
                    params={"regarding": task_id, "pendingOnly": "true"},  # noqa: B023 - called at once
                )
            )["Items"],
        )
        if version == "1.0.0":
            interruption = pending[0]
            ok(api.put(f"/api/{space}/interruptions/{interruption['Id']}/responsible"))
            ok(
                api.post(
                    f"/api/{space}/interruptions/{interruption['Id']}/submit",
                    json={"Instructions": None, "Notes": "Smoke tests green", "Result": "Proceed"},
                )
            )
            wait("the deployment", lambda: ok(api.get(f"/api/tasks/{task_id}"))["IsCompleted"])  # noqa: B023
    script = ok(
        api.post(
            f"/api/{space}/tasks",
            json={
                "Name": "AdHocScript",
                "Description": "Disk usage on the workers",
                "Arguments": {
                    "ScriptBody": "df -h / | tail -1\necho done",
                    "Syntax": "Bash",
                    "WorkerPoolId": pool["Id"],
                },
            },
        )
    )
    wait("the script", lambda: ok(api.get(f"/api/tasks/{script['Id']}"))["IsCompleted"])
    tasks["agent_pid"] = str(agent.pid)
    return tasks


def main() -> None:
    from playwright.sync_api import sync_playwright

    os.environ["ARGONAUT_ADMIN_PASSWORD"] = PASSWORD
    with running_node() as node, tempfile.TemporaryDirectory() as tmp:
        api = httpx.Client(base_url=node.url, headers={"X-Octopus-ApiKey": node.key}, timeout=30)
        seeded = seed(api, node.url, node.key, Path(tmp) / "agent")
        space = seeded["space"]
        pages = {
            "dashboard": f"/app/{space}/dashboard",
            "worker-pools": f"/app/{space}/infrastructure/workerpools",
            "worker": f"/app/{space}/infrastructure/workers/{seeded['worker']}",
            "process-editor": f"/app/{space}/projects/{seeded['project']}",
            "task-waiting-for-approval": f"/app/{space}/tasks/{seeded['deploy']}",
            "tasks": f"/app/{space}/tasks",
            "audit": f"/app/{space}/audit",
        }
        try:
            with sync_playwright() as playwright:
                chromium = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
                context = chromium.new_context(base_url=node.url, viewport={"width": 1360, "height": 860})
                tab = context.new_page()
                tab.goto("/app")
                tab.get_by_label("User name").fill("admin")
                tab.get_by_label("Password").fill(PASSWORD)
                tab.get_by_role("button", name="Sign in").click()
                tab.get_by_role("button", name="Sign out").wait_for()
                for name, path in pages.items():
                    tab.goto(path)
                    tab.locator('section.page[data-ready="true"]').wait_for()
                    tab.wait_for_timeout(400)  # let live parts (log lines, badges) settle for the picture
                    tab.screenshot(path=str(HERE / f"{name}.png"))
                    print(f"docs/screenshots/{name}.png")
                chromium.close()
        finally:
            os.kill(int(seeded["agent_pid"]), 15)


if __name__ == "__main__":
    main()
