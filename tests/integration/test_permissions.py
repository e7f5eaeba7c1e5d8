"""The permission matrix: spaces are walls, viewers cannot change, scoped roles reach only their scope.

A user holds a role in Space 2 only (a team of Space 2); every route family of Space 1 answers 404 to
them (reads, writes, streams, artifacts, the unscoped task routes), Space 2 answers reads and refuses
writes with 403.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from conftest import ServerProcess, unique

pytestmark = pytest.mark.databases("SQLite", "PostgreSQL")


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, (response.request.method, response.request.url, response.text)
    return response.json()


def new_user(server: ServerProcess) -> tuple[str, httpx.Client]:
    """A user with no team, and a client signed in with a key of theirs."""
    user = ok(server.client.post("/api/users", json={"Username": unique("user"), "IsService": True}), 201)
    key = ok(server.client.post(f"/api/users/{user['Id']}/apikeys", json={"Purpose": "tests"}), 201)["ApiKey"]
    return user["Id"], httpx.Client(base_url=server.url, headers={"X-Octopus-ApiKey": key}, timeout=30)


def role_id(server: ServerProcess, name: str) -> str:
    roles = ok(server.client.get("/api/userroles", params={"take": 1000}))["Items"]
    return next(r["Id"] for r in roles if r["Name"] == name)


def team_with(server: ServerProcess, space: str, user_id: str, role: str, **scope: list[str]) -> str:
    team = ok(
        server.client.post(f"/api/{space}/teams", json={"Name": unique("team"), "MemberUserIds": [user_id]}),
        201,
    )
    body = {"UserRoleId": role_id(server, role), "SpaceId": space, **scope}
    ok(server.client.post(f"/api/teams/{team['Id']}/scopeduserroles", json=body), 201)
    return str(team["Id"])


class Space:
    """A space with one of everything the matrix reads."""

    def __init__(self, server: ServerProcess) -> None:
        c = server.client
        self.id = ok(c.post("/api/spaces", json={"Name": unique("Perm")}), 201)["Id"]
        s = self.id
        self.env = ok(c.post(f"/api/{s}/environments", json={"Name": "Dev"}), 201)["Id"]
        self.other_env = ok(c.post(f"/api/{s}/environments", json={"Name": "Prod"}), 201)["Id"]
        self.project = ok(c.post(f"/api/{s}/projects", json={"Name": unique("Web")}), 201)
        pid = self.project["Id"]
        process = ok(c.get(f"/api/{s}/projects/{pid}/deploymentprocesses"))
        process["Steps"] = [
            {
                "Name": "Hello",
                "Actions": [
                    {
                        "Name": "Hello",
                        "ActionType": "Octopus.Script",
                        "Properties": {
                            "Octopus.Action.Script.ScriptBody": "echo hi",
                            "Octopus.Action.RunOnServer": True,
                        },
                    }
                ],
            }
        ]
        ok(c.put(f"/api/{s}/projects/{pid}/deploymentprocesses", json=process))
        self.release = ok(c.post(f"/api/{s}/releases", json={"ProjectId": pid, "Version": "1.0.0"}), 201)[
            "Id"
        ]
        self.pool = ok(c.get(f"/api/{s}/workerpools/all"))[0]["Id"]
        self.policy = ok(c.get(f"/api/{s}/machinepolicies/all"))[0]["Id"]
        self.lifecycle = ok(c.get(f"/api/{s}/lifecycles/all"))[0]["Id"]
        task = {"Name": "AdHocScript", "Arguments": {"ScriptBody": "echo hi", "Syntax": "Bash"}}
        self.task = ok(c.post(f"/api/{s}/tasks", json=task), 201)["Id"]

    def reads(self) -> list[str]:
        s, pid = self.id, self.project["Id"]
        return [
            f"/api/{s}/workerpools",
            f"/api/{s}/workerpools/{self.pool}",
            f"/api/{s}/workers",
            f"/api/{s}/machines",
            f"/api/{s}/environments",
            f"/api/{s}/environments/{self.env}",
            f"/api/{s}/lifecycles/{self.lifecycle}",
            f"/api/{s}/projects/{pid}",
            f"/api/{s}/projects/{pid}/deploymentprocesses",
            f"/api/{s}/projects/{pid}/variables",
            f"/api/{s}/releases/{self.release}",
            f"/api/{s}/deployments",
            f"/api/{s}/runbooks",
            f"/api/{s}/runbookRuns",
            f"/api/{s}/interruptions",
            f"/api/{s}/accounts",
            f"/api/{s}/machinepolicies/{self.policy}",
            f"/api/{s}/tasks",
            f"/api/{s}/tasks/{self.task}",
            f"/api/{s}/tasks/{self.task}/raw",
            f"/api/{s}/tasks/{self.task}/details",
            f"/api/{s}/tasks/{self.task}/stream",
            f"/api/{s}/artifacts",
            f"/api/{s}/teams",
            # The unscoped task routes reach a task of any space.
            f"/api/tasks/{self.task}",
            f"/api/tasks/{self.task}/raw",
            f"/api/tasks/{self.task}/details",
            f"/api/tasks/{self.task}/stream",
        ]

    def writes(self) -> list[tuple[str, str, dict[str, Any]]]:
        s, pid = self.id, self.project["Id"]
        return [
            ("POST", f"/api/{s}/workerpools", {"Name": unique("pool")}),
            ("POST", f"/api/{s}/environments", {"Name": unique("env")}),
            ("PUT", f"/api/{s}/environments/{self.env}", {"Name": "Dev"}),
            ("POST", f"/api/{s}/lifecycles", {"Name": unique("lc")}),
            ("POST", f"/api/{s}/projects", {"Name": unique("p")}),
            ("DELETE", f"/api/{s}/projects/{pid}", {}),
            ("PUT", f"/api/{s}/projects/{pid}/variables", {"Variables": []}),
            ("POST", f"/api/{s}/releases", {"ProjectId": pid, "Version": "9.9.9"}),
            ("POST", f"/api/{s}/deployments", {"ReleaseId": self.release, "EnvironmentId": self.env}),
            ("POST", f"/api/{s}/machinepolicies", {"Name": unique("mp")}),
            ("POST", f"/api/{s}/tasks", {"Name": "AdHocScript", "Arguments": {"ScriptBody": "echo x"}}),
            ("POST", f"/api/{s}/tasks/{self.task}/cancel", {}),
            ("POST", f"/api/tasks/{self.task}/cancel", {}),
            ("POST", f"/api/{s}/teams", {"Name": unique("t")}),
        ]


@pytest.fixture
def spaces(server: ServerProcess) -> tuple[Space, Space]:
    return Space(server), Space(server)


def send(client: httpx.Client, method: str, path: str, body: dict[str, Any]) -> httpx.Response:
    return client.request(method, path, json=body if method != "DELETE" else None)


def test_a_viewer_in_space_2_sees_nothing_of_space_1_and_changes_nothing(
    server: ServerProcess, spaces: tuple[Space, Space]
) -> None:
    one, two = spaces
    user_id, viewer = new_user(server)
    with viewer:
        # No team yet: no space exists for them.
        assert viewer.get(f"/api/{two.id}/projects").status_code == 404
        team_with(server, two.id, user_id, "Project Viewer")
        for path in one.reads():
            assert viewer.get(path).status_code == 404, path
        for method, path, body in one.writes():
            assert send(viewer, method, path, body).status_code == 404, (method, path)
        for path in two.reads():
            if path == f"/api/{two.id}/teams":
                continue  # Project Viewer holds no TeamView
            assert viewer.get(path).status_code == 200, path
        for method, path, body in two.writes():
            answer = send(viewer, method, path, body)
            assert answer.status_code == 403, (method, path, answer.text)
            assert "You do not have permission to perform this action" in answer.json()["ErrorMessage"]
        # Spaces are listed only where the user holds something.
        assert [sp["Id"] for sp in ok(viewer.get("/api/spaces/all"))] == [two.id]
        assert viewer.get(f"/api/spaces/{one.id}").status_code == 404
        assert ok(viewer.get(f"/api/spaces/{two.id}"))["Id"] == two.id
        # The default space's (Spaces-1) unscoped aliases are another space too.
        assert viewer.get("/api/projects").status_code == 404
        assert viewer.get("/api/Spaces-1/tasks").status_code == 404


def test_a_deployer_scoped_to_one_environment_deploys_there_only(
    server: ServerProcess, spaces: tuple[Space, Space]
) -> None:
    _, two = spaces
    user_id, deployer = new_user(server)
    with deployer:
        team_with(server, two.id, user_id, "Project Deployer", EnvironmentIds=[two.env])
        there = deployer.post(
            f"/api/{two.id}/deployments", json={"ReleaseId": two.release, "EnvironmentId": two.env}
        )
        assert there.status_code == 201, there.text
        elsewhere = deployer.post(
            f"/api/{two.id}/deployments", json={"ReleaseId": two.release, "EnvironmentId": two.other_env}
        )
        assert elsewhere.status_code == 403, elsewhere.text
        assert "DeploymentCreate is missing" in elsewhere.json()["ErrorMessage"]
        listed = ok(server.client.get(f"/api/{two.id}/deployments"))["Items"]
        assert [d["EnvironmentId"] for d in listed] == [two.env]  # the refused one left nothing behind


def test_team_changes_take_effect_on_the_next_request(
    server: ServerProcess, spaces: tuple[Space, Space]
) -> None:
    _, two = spaces
    user_id, user = new_user(server)
    with user:
        team = team_with(server, two.id, user_id, "Project Viewer")
        assert user.get(f"/api/{two.id}/projects").status_code == 200
        assert user.post(f"/api/{two.id}/environments", json={"Name": unique("e")}).status_code == 403
        managers = ok(server.client.get(f"/api/{two.id}/teams"))["Items"]
        space_managers = next(t for t in managers if t["Name"] == "Space Managers" and t["SpaceId"] == two.id)
        ok(
            server.client.put(
                f"/api/teams/{space_managers['Id']}", json={**space_managers, "MemberUserIds": [user_id]}
            )
        )
        assert user.post(f"/api/{two.id}/environments", json={"Name": unique("e")}).status_code == 201
        ok(
            server.client.put(
                f"/api/teams/{space_managers['Id']}", json={**space_managers, "MemberUserIds": []}
            )
        )
        ok(server.client.delete(f"/api/teams/{team}"))
        assert user.get(f"/api/{two.id}/projects").status_code == 404


def test_permissions_and_teams_of_a_user(server: ServerProcess, spaces: tuple[Space, Space]) -> None:
    _, two = spaces
    user_id, user = new_user(server)
    with user:
        team = team_with(server, two.id, user_id, "Project Deployer", EnvironmentIds=[two.env])
        mine = ok(user.get(f"/api/users/{user_id}/permissions"))
        assert mine["SystemPermissions"] == []
        entries = mine["SpacePermissions"]["DeploymentCreate"]
        assert entries == [
            {
                "SpaceId": two.id,
                "RestrictedToProjectIds": [],
                "RestrictedToEnvironmentIds": [two.env],
                "RestrictedToProjectGroupIds": [],
                "RestrictedToTenantIds": [],
            }
        ]
        assert [t["Id"] for t in mine["Teams"]] == [team]
        assert [t["Id"] for t in ok(user.get(f"/api/users/{user_id}/teams"))] == [team]
        admin = ok(server.client.get("/api/users/me"))["Id"]
        assert user.get(f"/api/users/{admin}/permissions").status_code == 403
        everything = ok(server.client.get(f"/api/users/{admin}/permissions"))
        assert "AdministerSystem" in everything["SystemPermissions"]


def test_built_in_roles_are_read_only_and_custom_roles_work(
    server: ServerProcess, spaces: tuple[Space, Space]
) -> None:
    _, two = spaces
    c = server.client
    viewer = role_id(server, "Project Viewer")
    assert c.put(f"/api/userroles/{viewer}", json={"Name": "Project Viewer"}).status_code == 400
    assert c.delete(f"/api/userroles/{viewer}").status_code == 400
    wrong = c.post("/api/userroles", json={"Name": unique("r"), "GrantedSpacePermissions": ["Fly"]})
    assert wrong.status_code == 400
    role = ok(
        c.post(
            "/api/userroles",
            json={"Name": unique("env-reader"), "GrantedSpacePermissions": ["EnvironmentView"]},
        ),
        201,
    )
    user_id, user = new_user(server)
    with user:
        team_with(server, two.id, user_id, role["Name"])
        assert user.get(f"/api/{two.id}/environments").status_code == 200
        assert user.get(f"/api/{two.id}/projects").status_code == 403
        # A space team cannot hold a role with system permissions (no way to make an administrator).
        space_team = ok(c.post(f"/api/{two.id}/teams", json={"Name": unique("t")}), 201)["Id"]
        admin_role = role_id(server, "System Administrator")
        refused = c.post(f"/api/teams/{space_team}/scopeduserroles", json={"UserRoleId": admin_role})
        assert refused.status_code == 400
        ok(c.delete(f"/api/userroles/{role['Id']}"))
        assert user.get(f"/api/{two.id}/environments").status_code == 404


def test_administrators_team_is_the_admin_flag(server: ServerProcess) -> None:
    teams = ok(server.client.get("/api/teams"))["Items"]
    admins = next(t for t in teams if t["Name"] == "Octopus Administrators")
    me = ok(server.client.get("/api/users/me"))["Id"]
    assert me in admins["MemberUserIds"] and not admins["CanBeDeleted"]
    assert server.client.delete(f"/api/teams/{admins['Id']}").status_code == 400


def test_only_responsible_teams_take_a_manual_intervention(server: ServerProcess) -> None:
    from test_deployments import Project
    from test_interruptions import deploy, manual_step, pending

    project = Project(server.client, ["Dev"])
    outsider_id, outsider = new_user(server)
    member_id, member = new_user(server)
    team_with(server, project.space, outsider_id, "Project Deployer")
    approvers = team_with(server, project.space, member_id, "Project Deployer")
    properties = {
        "Octopus.Action.Manual.Instructions": "approve",
        "Octopus.Action.Manual.ResponsibleTeamIds": approvers,
    }
    step = manual_step("Approve", "approve")
    step["Actions"][0]["Properties"] = properties
    project.set_steps([step])
    deployment = deploy(project, "Dev")
    with outsider, member:
        (asked,) = pending(project, deployment["Id"])
        url = f"/api/{project.space}/interruptions/{asked['Id']}"
        assert ok(outsider.get(url))["CanTakeResponsibility"] is False
        assert outsider.put(f"{url}/responsible").status_code == 400
        assert ok(member.get(url))["CanTakeResponsibility"] is True
        ok(member.put(f"{url}/responsible"))
        ok(member.post(f"{url}/submit", json={"Result": "Proceed", "Instructions": None, "Notes": "ok"}))


def test_a_contributor_restricted_to_one_project_edits_only_its_variables(
    server: ServerProcess, spaces: tuple[Space, Space]
) -> None:
    _, two = spaces
    other = ok(server.client.post(f"/api/{two.id}/projects", json={"Name": unique("Other")}), 201)
    user_id, user = new_user(server)
    with user:
        team_with(server, two.id, user_id, "Project Contributor", ProjectIds=[two.project["Id"]])
        mine = ok(user.get(f"/api/{two.id}/projects/{two.project['Id']}/variables"))
        ok(user.put(f"/api/{two.id}/projects/{two.project['Id']}/variables", json=mine))
        # A project the user cannot see is 404, read or write, as another space's.
        theirs = ok(server.client.get(f"/api/{two.id}/projects/{other['Id']}/variables"))
        assert user.get(f"/api/{two.id}/projects/{other['Id']}/variables").status_code == 404
        refused = user.put(f"/api/{two.id}/projects/{other['Id']}/variables", json=theirs)
        assert refused.status_code == 404, refused.text


def second_project(server: ServerProcess, space: Space) -> tuple[dict[str, Any], str, str]:
    """Project B of ``space``: a process, a release, a deployment to Dev (project, release, deployment)."""
    c, s = server.client, space.id
    project = ok(c.post(f"/api/{s}/projects", json={"Name": unique("B")}), 201)
    process = ok(c.get(f"/api/{s}/projects/{project['Id']}/deploymentprocesses"))
    process["Steps"] = ok(c.get(f"/api/{s}/projects/{space.project['Id']}/deploymentprocesses"))["Steps"]
    for step in process["Steps"]:
        step.pop("Id", None)
        for action in step["Actions"]:
            action.pop("Id", None)
    ok(c.put(f"/api/{s}/projects/{project['Id']}/deploymentprocesses", json=process))
    release = ok(c.post(f"/api/{s}/releases", json={"ProjectId": project["Id"], "Version": "1.0.0"}), 201)[
        "Id"
    ]
    deployment = ok(
        c.post(f"/api/{s}/deployments", json={"ReleaseId": release, "EnvironmentId": space.env}), 201
    )["Id"]
    return project, release, deployment


def test_a_viewer_restricted_to_one_project_sees_only_that_project(
    server: ServerProcess, spaces: tuple[Space, Space]
) -> None:
    _, two = spaces
    s, a = two.id, two.project["Id"]
    b, b_release, b_deployment = second_project(server, two)
    a_deployment = ok(
        server.client.post(
            f"/api/{s}/deployments", json={"ReleaseId": two.release, "EnvironmentId": two.env}
        ),
        201,
    )["Id"]
    user_id, viewer = new_user(server)
    with viewer:
        team_with(server, s, user_id, "Project Viewer", ProjectIds=[a])
        assert [p["Id"] for p in ok(viewer.get(f"/api/{s}/projects"))["Items"]] == [a]
        assert ok(viewer.get(f"/api/{s}/projects"))["TotalResults"] == 1
        assert [p["Id"] for p in ok(viewer.get(f"/api/{s}/projects/all"))] == [a]
        assert [p["Id"] for p in ok(viewer.get(f"/api/{s}/projects", params={"ids": b["Id"]}))["Items"]] == []
        group = two.project["ProjectGroupId"]
        listed = ok(viewer.get(f"/api/{s}/projectgroups/{group}/projects"))["Items"]
        assert [p["Id"] for p in listed] == [a]
        for path in [
            f"/api/{s}/projects/{a}",
            f"/api/{s}/projects/{a}/deploymentprocesses",
            f"/api/{s}/projects/{a}/releases",
            f"/api/{s}/releases/{two.release}",
            f"/api/{s}/deployments/{a_deployment}",
        ]:
            assert viewer.get(path).status_code == 200, path
        for path in [
            f"/api/{s}/projects/{b['Id']}",
            f"/api/{s}/projects/{b['Slug']}",
            f"/api/{s}/projects/{b['Id']}/deploymentprocesses",
            f"/api/{s}/deploymentprocesses/{b['DeploymentProcessId']}",
            f"/api/{s}/projects/{b['Id']}/variables",
            f"/api/{s}/projects/{b['Id']}/channels",
            f"/api/{s}/projects/{b['Id']}/releases",
            f"/api/{s}/projects/{b['Id']}/releases/1.0.0",
            f"/api/{s}/releases/{b_release}",
            f"/api/{s}/releases/{b_release}/deployments",
            f"/api/{s}/deployments/{b_deployment}",
            f"/api/{s}/projects/{b['Id']}/runbooks",
            f"/api/{s}/projects/{b['Id']}/runbookRuns",
            f"/api/{s}/projects/{b['Id']}/triggers",
        ]:
            assert viewer.get(path).status_code == 404, path
        assert [r["Id"] for r in ok(viewer.get(f"/api/{s}/releases"))["Items"]] == [two.release]
        assert {c["ProjectId"] for c in ok(viewer.get(f"/api/{s}/channels/all"))} == {a}
        assert [d["Id"] for d in ok(viewer.get(f"/api/{s}/deployments"))["Items"]] == [a_deployment]
        # Seen but not changed: 403.
        assert viewer.put(f"/api/{s}/projects/{a}", json={"Name": unique("x")}).status_code == 403
        # Without the restriction nothing is hidden.
        assert ok(server.client.get(f"/api/{s}/projects"))["TotalResults"] == 2
    # Restricted to the project group, both projects of the group are seen.
    group_user, in_group = new_user(server)
    with in_group:
        team_with(server, s, group_user, "Project Viewer", ProjectGroupIds=[group])
        assert sorted(p["Id"] for p in ok(in_group.get(f"/api/{s}/projects/all"))) == sorted([a, b["Id"]])
        ok(in_group.get(f"/api/{s}/projects/{b['Id']}/deploymentprocesses"))
        ok(in_group.get(f"/api/{s}/deployments/{b_deployment}"))
    # Restricted to Prod, deployments to Dev are neither listed nor found.
    prod_user, in_prod = new_user(server)
    with in_prod:
        team_with(server, s, prod_user, "Project Deployer", EnvironmentIds=[two.other_env])
        assert ok(in_prod.get(f"/api/{s}/deployments"))["Items"] == []
        assert in_prod.get(f"/api/{s}/deployments/{a_deployment}").status_code == 404
        ok(in_prod.get(f"/api/{s}/projects/{b['Id']}"))  # projects are not restricted


def test_a_contributor_restricted_to_one_project_edits_only_its_process(
    server: ServerProcess, spaces: tuple[Space, Space]
) -> None:
    _, two = spaces
    s, a = two.id, two.project["Id"]
    b, _, _ = second_project(server, two)
    user_id, user = new_user(server)
    with user:
        team_with(server, s, user_id, "Project Contributor", ProjectIds=[a])
        mine = ok(user.get(f"/api/{s}/projects/{a}/deploymentprocesses"))
        ok(user.put(f"/api/{s}/projects/{a}/deploymentprocesses", json=mine))
        ok(
            user.put(
                f"/api/{s}/deploymentprocesses/{mine['Id']}",
                json=ok(user.get(f"/api/{s}/deploymentprocesses/{mine['Id']}")),
            )
        )
        theirs = ok(server.client.get(f"/api/{s}/projects/{b['Id']}/deploymentprocesses"))
        for path in [
            f"/api/{s}/projects/{b['Id']}/deploymentprocesses",
            f"/api/{s}/deploymentprocesses/{theirs['Id']}",
        ]:
            refused = user.put(path, json=theirs)
            assert refused.status_code == 404, (path, refused.text)
        assert user.put(f"/api/{s}/projects/{b['Id']}", json={"Name": unique("x")}).status_code == 404
        created = user.post(f"/api/{s}/releases", json={"ProjectId": b["Id"], "Version": "2.0.0"})
        assert created.status_code == 404, created.text
        ok(user.post(f"/api/{s}/releases", json={"ProjectId": a, "Version": "2.0.0"}), 201)
        assert (
            ok(server.client.get(f"/api/{s}/deploymentprocesses/{theirs['Id']}"))["Version"]
            == theirs["Version"]
        )


def test_an_environment_viewer_restricted_to_one_environment_sees_only_it(
    server: ServerProcess, spaces: tuple[Space, Space]
) -> None:
    _, two = spaces
    s = two.id
    user_id, user = new_user(server)
    with user:
        team_with(server, s, user_id, "Environment Viewer", EnvironmentIds=[two.env])
        assert [e["Id"] for e in ok(user.get(f"/api/{s}/environments"))["Items"]] == [two.env]
        assert [e["Id"] for e in ok(user.get(f"/api/{s}/environments/all"))] == [two.env]
        ok(user.get(f"/api/{s}/environments/{two.env}"))
        assert user.get(f"/api/{s}/environments/{two.other_env}").status_code == 404
        assert user.get(f"/api/{s}/environments/{two.other_env}/machines").status_code == 404
        assert len(ok(server.client.get(f"/api/{s}/environments/all"))) == 2
        # Deployment targets follow their environments: one in each, the other one's is hidden.
        cloud = {"CommunicationStyle": "None", "DefaultWorkerPoolId": None}
        targets = {
            env: ok(
                server.client.post(
                    f"/api/{s}/machines",
                    json={"Name": unique("t"), "EnvironmentIds": [env], "Roles": ["web"], "Endpoint": cloud},
                ),
                201,
            )["Id"]
            for env in (two.env, two.other_env)
        }
        seen = [m["Id"] for m in ok(user.get(f"/api/{s}/machines"))["Items"]]
        assert targets[two.env] in seen and targets[two.other_env] not in seen
        assert [m["Id"] for m in ok(user.get(f"/api/{s}/machines/all"))] == seen
        ok(user.get(f"/api/{s}/machines/{targets[two.env]}"))
        assert user.get(f"/api/{s}/machines/{targets[two.other_env]}").status_code == 404


def test_a_team_is_found_only_through_its_own_space(
    server: ServerProcess, spaces: tuple[Space, Space]
) -> None:
    one, two = spaces
    team = ok(server.client.post(f"/api/{one.id}/teams", json={"Name": unique("t")}), 201)["Id"]
    ok(server.client.get(f"/api/{one.id}/teams/{team}"))
    ok(server.client.get(f"/api/teams/{team}"))
    assert server.client.get(f"/api/{two.id}/teams/{team}").status_code == 404
    assert server.client.get(f"/api/spaces/{two.id}/teams/{team}").status_code == 404
    body = {"Name": unique("t")}
    assert server.client.put(f"/api/{two.id}/teams/{team}", json=body).status_code == 404
    assert server.client.delete(f"/api/{two.id}/teams/{team}").status_code == 404
    ok(server.client.get(f"/api/{one.id}/teams/{team}"))  # still there


def test_a_viewer_restricted_to_one_project_sees_only_its_tasks_and_interruptions(
    server: ServerProcess, spaces: tuple[Space, Space]
) -> None:
    from test_deployments import Project
    from test_interruptions import deploy, manual_step, pending

    c = server.client
    _, two = spaces
    s, a = two.id, two.project["Id"]
    _, _, b_deployment = second_project(server, two)
    a_deployment = ok(
        c.post(f"/api/{s}/deployments", json={"ReleaseId": two.release, "EnvironmentId": two.env}), 201
    )
    a_task = a_deployment["TaskId"]
    b_task = ok(c.get(f"/api/{s}/deployments/{b_deployment}"))["TaskId"]
    user_id, viewer = new_user(server)
    with viewer:
        team_with(server, s, user_id, "Project Viewer", ProjectIds=[a])
        ok(viewer.get(f"/api/{s}/tasks/{a_task}"))
        ok(viewer.get(f"/api/tasks/{a_task}"))
        for path in [
            f"/api/{s}/tasks/{b_task}",
            f"/api/{s}/tasks/{b_task}/raw",
            f"/api/{s}/tasks/{b_task}/details",
            f"/api/{s}/tasks/{b_task}/stream",
            f"/api/tasks/{b_task}",
            f"/api/tasks/{b_task}/raw",
            f"/api/tasks/{b_task}/details",
        ]:
            assert viewer.get(path).status_code == 404, path
        listed = ok(viewer.get(f"/api/{s}/tasks", params={"take": 100}))
        assert [t["Id"] for t in listed["Items"]] == [a_task] and listed["TotalResults"] == 1
        assert b_task in {t["Id"] for t in ok(c.get(f"/api/{s}/tasks", params={"take": 100}))["Items"]}
        ok(viewer.get(f"/api/{s}/artifacts", params={"regarding": b_task}))  # the restricted query runs
        # A task of no project (an ad-hoc script) needs an unrestricted grant.
        script = {"Name": "AdHocScript", "Arguments": {"ScriptBody": "echo hi", "MachineIds": []}}
        adhoc = ok(c.post(f"/api/{s}/tasks", json=script), 201)["Id"]
        assert viewer.get(f"/api/{s}/tasks/{adhoc}").status_code == 404
        ok(c.get(f"/api/{s}/tasks/{adhoc}"))

    # An interruption of project B is not there for a viewer of project A.
    project = Project(c, ["Dev"])
    project.set_steps([manual_step("Approve", "ok?")])
    other = ok(c.post(f"/api/{project.space}/projects", json={"Name": unique("A")}), 201)["Id"]
    deployment = deploy(project, "Dev")
    (asked,) = pending(project, deployment["Id"])
    user_id, viewer = new_user(server)
    with viewer:
        team_with(server, project.space, user_id, "Project Viewer", ProjectIds=[other])
        url = f"/api/{project.space}/interruptions/{asked['Id']}"
        assert viewer.get(url).status_code == 404
        assert viewer.get(f"{url}/responsible").status_code == 404
        assert ok(viewer.get(f"/api/{project.space}/interruptions"))["TotalResults"] == 0
        assert viewer.get(f"/api/{project.space}/tasks/{deployment['TaskId']}").status_code == 404
    ok(c.put(f"/api/{project.space}/interruptions/{asked['Id']}/responsible"))
    ok(c.post(f"/api/{project.space}/interruptions/{asked['Id']}/submit", json={"Result": "Proceed"}))
