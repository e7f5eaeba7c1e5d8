"""``GET /dashboard`` (the latest deployment per project and environment, only what the caller may see)
and ``GET /releases/{id}/deployments/preview/{environmentId}`` (what would run where, planned as the
engine plans it)."""

from __future__ import annotations

from typing import Any

import httpx

from conftest import ServerProcess, follow, unique

THUMB = "A" * 40


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, (response.request.method, response.request.url, response.text)
    return response.json()


def script(name: str, body: str = "echo hi", roles: str = "") -> dict[str, Any]:
    step_properties = {"Octopus.Action.TargetRoles": roles} if roles else {}
    action = {
        "Octopus.Action.Script.ScriptBody": body,
        "Octopus.Action.RunOnServer": "false" if roles else "true",
    }
    return {
        "Name": name,
        "Properties": step_properties,
        "Actions": [{"Name": name, "ActionType": "Octopus.Script", "Properties": action}],
    }


def manual(name: str) -> dict[str, Any]:
    action = {"Octopus.Action.Manual.Instructions": "Look at it"}
    return {"Name": name, "Actions": [{"Name": name, "ActionType": "Octopus.Manual", "Properties": action}]}


class Space:
    def __init__(self, client: httpx.Client, environments: list[str]) -> None:
        self.client = client
        self.id = ok(client.post("/api/spaces", json={"Name": unique("space")}), 201)["Id"]
        self.env = {
            name: ok(client.post(self.url("/environments"), json={"Name": name}), 201)["Id"]
            for name in environments
        }

    def url(self, path: str) -> str:
        return f"/api/{self.id}{path}"

    def project(self, steps: list[dict[str, Any]]) -> dict[str, Any]:
        project = ok(self.client.post(self.url("/projects"), json={"Name": unique("project")}), 201)
        process_url = self.url(f"/projects/{project['Id']}/deploymentprocesses")
        process = ok(self.client.get(process_url))
        ok(self.client.put(process_url, json={**process, "Steps": steps}))
        return dict(project)

    def release(self, project: dict[str, Any], version: str) -> dict[str, Any]:
        body = {"ProjectId": project["Id"], "Version": version}
        return dict(ok(self.client.post(self.url("/releases"), json=body), 201))

    def deploy(self, release: dict[str, Any], environment: str) -> str:
        body = {"ReleaseId": release["Id"], "EnvironmentId": self.env[environment]}
        task_id = ok(self.client.post(self.url("/deployments"), json=body), 201)["TaskId"]
        assert follow(self.client, task_id)["State"] == "Success"
        return str(task_id)


def test_the_dashboard_shows_the_latest_deployment_per_project_and_environment(server: ServerProcess) -> None:
    space = Space(server.client, ["Dev", "Test"])
    one, two = space.project([script("Say hi")]), space.project([script("Say hi")])
    first, second = space.release(one, "1.0.0"), space.release(one, "1.0.1")
    space.deploy(first, "Dev")
    space.deploy(first, "Test")
    latest_dev = space.deploy(second, "Dev")

    board = ok(server.client.get(space.url("/dashboard")))
    assert [e["Name"] for e in board["Environments"]] == ["Dev", "Test"]
    assert {p["Id"] for p in board["Projects"]} == {one["Id"], two["Id"]}
    cells = {(i["ProjectId"], i["EnvironmentId"]): i for i in board["Items"]}
    assert set(cells) == {(one["Id"], space.env["Dev"]), (one["Id"], space.env["Test"])}
    dev = cells[(one["Id"], space.env["Dev"])]
    assert (dev["ReleaseVersion"], dev["State"], dev["TaskId"]) == ("1.0.1", "Success", latest_dev)
    assert dev["CompletedTime"] and dev["IsCompleted"]
    assert cells[(one["Id"], space.env["Test"])]["ReleaseVersion"] == "1.0.0"

    # A viewer of one project sees that project's row only.
    user = ok(server.client.post("/api/users", json={"Username": unique("viewer"), "IsService": True}), 201)
    key = ok(server.client.post(f"/api/users/{user['Id']}/apikeys", json={"Purpose": "tests"}), 201)["ApiKey"]
    team = ok(
        server.client.post(space.url("/teams"), json={"Name": unique("team"), "MemberUserIds": [user["Id"]]}),
        201,
    )
    roles = ok(server.client.get("/api/userroles", params={"take": 1000}))["Items"]
    viewer = next(r["Id"] for r in roles if r["Name"] == "Project Viewer")
    scoped = {"UserRoleId": viewer, "SpaceId": space.id, "ProjectIds": [two["Id"]]}
    ok(server.client.post(f"/api/teams/{team['Id']}/scopeduserroles", json=scoped), 201)
    with httpx.Client(base_url=server.url, headers={"X-Octopus-ApiKey": key}, timeout=30) as theirs:
        seen = ok(theirs.get(space.url("/dashboard")))
    assert [p["Id"] for p in seen["Projects"]] == [two["Id"]]
    assert seen["Items"] == []


def test_the_preview_says_what_runs_where_as_the_engine_would(server: ServerProcess) -> None:
    space = Space(server.client, ["Dev", "Test"])
    target = {
        "Name": unique("web"),
        "EnvironmentIds": [space.env["Dev"]],
        "Roles": ["web"],
        "Endpoint": {
            "CommunicationStyle": "TentaclePassive",
            "Uri": "https://127.0.0.1:1/",
            "Thumbprint": THUMB,
        },
    }
    ok(server.client.post(space.url("/machines"), json=target), 201)
    project = space.project([script("Build"), script("Install", roles="web"), manual("Approve")])
    release = space.release(project, "1.0.0")

    dev = ok(
        server.client.get(space.url(f"/releases/{release['Id']}/deployments/preview/{space.env['Dev']}"))
    )
    steps = {s["ActionName"]: s for s in dev["StepsToExecute"]}
    assert [s["ActionNumber"] for s in dev["StepsToExecute"]] == ["1", "2", "3"]
    assert [p["Label"] for p in steps["Build"]["Placements"]] == ["the built-in worker"]
    assert [m["Name"] for m in steps["Install"]["Machines"]] == [target["Name"]]
    assert steps["Install"]["Roles"] == ["web"]
    assert [p["Kind"] for p in steps["Approve"]["Placements"]] == ["Server"]

    # No target has the role in Test: the planner skips the step there, and the preview says so.
    test = ok(
        server.client.get(space.url(f"/releases/{release['Id']}/deployments/preview/{space.env['Test']}"))
    )
    install = next(s for s in test["StepsToExecute"] if s["ActionName"] == "Install")
    assert install["IsSkipped"] and "'web'" in install["SkipReason"]
    assert install["HasNoApplicableMachines"]

    missing = server.client.get(
        space.url(f"/releases/{release['Id']}/deployments/preview/Environments-999999")
    )
    assert missing.status_code == 404
    assert server.client.get(space.url("/releases/Releases-999999/deployments/preview/x")).status_code == 404
