"""Lifecycles, project groups, projects, channels, deployment processes and variable sets over real HTTP."""

from __future__ import annotations

import base64
import re
import sqlite3

import httpx
import pytest

from argonaut.security.master_key import SecretBox
from conftest import ServerProcess, unique

pytestmark = pytest.mark.databases("SQLite", "PostgreSQL")

STALE_PROCESS = (
    "Changes to this deployment process could not be saved, because another user has made changes since "
    "you opened it. Please refresh and try again."
)


def new_space(client: httpx.Client) -> str:
    response = client.post("/api/spaces", json={"Name": unique("Projects")})
    assert response.status_code == 201, response.text
    return str(response.json()["Id"])


def named(client: httpx.Client, path: str, name: str) -> dict[str, object]:
    found = [item for item in client.get(path).json() if item["Name"] == name]
    assert len(found) == 1, found
    return found[0]


def new_project(client: httpx.Client, space: str, **fields: object) -> dict[str, object]:
    made = client.post(f"/api/{space}/projects", json={"Name": unique("Web"), **fields})
    assert made.status_code == 201, made.text
    return dict(made.json())


def script_step(name: str, **action: object) -> dict[str, object]:
    return {
        "Name": name,
        "Properties": {"Octopus.Action.TargetRoles": "web"},
        "Actions": [
            {
                "Name": name,
                "ActionType": "Octopus.Script",
                "Properties": {
                    "Octopus.Action.Script.ScriptBody": "echo hi",
                    "Octopus.Action.RunOnServer": True,
                },
                **action,
            }
        ],
    }


def stored_secrets(server: ServerProcess, variable_set_id: str) -> list[str]:
    """The sensitive values a variable set holds in the store, decrypted with the node's master key: what
    the store keeps is ciphertext only, and this proves what it keeps."""
    if server.database_url is None:
        with sqlite3.connect(f"file:{server.home / 'argonaut.db'}?mode=ro", uri=True) as db:
            (text,) = db.execute(
                "SELECT variables FROM variable_sets WHERE id = ?", (variable_set_id,)
            ).fetchone()
    else:
        assert server.postgres is not None
        rows = server.postgres.rows_as_text(server.database_url).splitlines()
        text = next(row for row in rows if row.startswith(f"({variable_set_id},"))
    box = SecretBox(base64.b64decode((server.home / "master.key").read_text()))
    return [box.decrypt(token) for token in re.findall(r"enc1:[A-Za-z0-9+/=]+", text)]


def test_a_project_comes_with_its_process_variables_and_default_channel(server: ServerProcess) -> None:
    c = server.client
    space = new_space(c)
    group = named(c, f"/api/{space}/projectgroups/all", "Default Project Group")
    lifecycle = named(c, f"/api/{space}/lifecycles/all", "Default Lifecycle")
    project = new_project(c, space, Description="the shop")
    pid = project["Id"]
    assert re.fullmatch(r"Projects-\d+", str(pid))
    assert project["DeploymentProcessId"] == f"deploymentprocess-{pid}"
    assert project["VariableSetId"] == f"variableset-{pid}"
    assert (project["ProjectGroupId"], project["LifecycleId"]) == (group["Id"], lifecycle["Id"])
    assert project["SpaceId"] == space and project["IsDisabled"] is False
    assert project["DefaultGuidedFailureMode"] == "EnvironmentDefault"
    assert project["ProjectConnectivityPolicy"] == {
        "SkipMachineBehavior": "None",
        "TargetRoles": [],
        "AllowDeploymentsToNoTargets": False,
        "ExcludeUnhealthyTargets": False,
    }
    assert (
        project["TenantedDeploymentMode"] == "Untenanted" and project["IncludedLibraryVariableSetIds"] == []
    )
    assert project["IsVersionControlled"] is False and project["PersistenceSettings"] == {"Type": "Database"}
    assert "#{Octopus.Version.NextPatch}" in str(project["VersioningStrategy"])  # type: ignore[index]
    links = project["Links"]
    assert isinstance(links, dict) and {
        "Self",
        "Channels",
        "Releases",
        "DeploymentProcess",
        "Variables",
    } <= set(links)

    process = c.get(f"/api/{space}/deploymentprocesses/deploymentprocess-{pid}").json()
    assert (process["Id"], process["ProjectId"], process["Version"], process["Steps"]) == (
        f"deploymentprocess-{pid}",
        pid,
        0,
        [],
    )
    assert c.get(f"/api/{space}/projects/{pid}/deploymentprocesses").json()["Id"] == process["Id"]
    variables = c.get(f"/api/{space}/variables/variableset-{pid}").json()
    assert (variables["OwnerId"], variables["Version"], variables["Variables"]) == (pid, 0, [])
    assert variables["ScopeValues"]["Processes"] == [
        {"Id": pid, "Name": project["Name"], "ProcessType": "Deployment"}
    ]
    channels = c.get(f"/api/{space}/projects/{pid}/channels").json()
    assert channels["ItemType"] == "Channel" and channels["TotalResults"] == 1
    (channel,) = channels["Items"]
    assert (channel["Name"], channel["IsDefault"], channel["ProjectId"], channel["LifecycleId"]) == (
        "Default",
        True,
        pid,
        None,
    )
    assert re.fullmatch(r"Channels-\d+", channel["Id"])

    by_slug = c.get(f"/api/{space}/projects/{project['Slug']}")
    assert by_slug.status_code == 200 and by_slug.json()["Id"] == pid
    page = c.get(f"/api/{space}/projects", params={"partialName": str(project["Name"])[-6:]}).json()
    assert (page["ItemType"], [p["Id"] for p in page["Items"]]) == ("Project", [pid])
    assert set(page) == {
        "ItemType",
        "TotalResults",
        "ItemsPerPage",
        "NumberOfPages",
        "LastPageNumber",
        "Items",
        "Links",
    }
    assert [p["Id"] for p in c.get(f"/api/{space}/projectgroups/{group['Id']}/projects").json()["Items"]] == [
        pid
    ]
    assert [p["Id"] for p in c.get(f"/api/{space}/lifecycles/{lifecycle['Id']}/projects").json()] == [pid]
    assert c.post(f"/api/{space}/projects", json={"Name": str(project["Name"]).upper()}).status_code == 409

    # Deleting the project takes its process, variables and channels with it.
    assert c.delete(f"/api/{space}/projects/{pid}").status_code == 200
    assert c.get(f"/api/{space}/projects/{pid}").status_code == 404
    assert c.get(f"/api/{space}/deploymentprocesses/deploymentprocess-{pid}").status_code == 404
    assert c.get(f"/api/{space}/channels/{channel['Id']}").status_code == 404


def test_projects_name_their_group_and_lifecycle_and_another_space_sees_nothing(
    server: ServerProcess,
) -> None:
    c = server.client
    space, other = new_space(c), new_space(c)
    group = c.post(f"/api/{space}/projectgroups", json={"Name": "Shop"}).json()
    lifecycle = c.post(f"/api/{space}/lifecycles", json={"Name": "Fast"}).json()
    project = new_project(c, space, ProjectGroupId=group["Id"], LifecycleId=lifecycle["Id"])
    assert (project["ProjectGroupId"], project["LifecycleId"]) == (group["Id"], lifecycle["Id"])
    foreign = c.post(f"/api/{other}/projects", json={"Name": "x", "ProjectGroupId": group["Id"]})
    assert foreign.status_code == 400 and group["Id"] in foreign.json()["ErrorMessage"]
    bad = c.post(f"/api/{space}/projects", json={"Name": "y", "LifecycleId": "Lifecycles-999999"})
    assert bad.status_code == 400

    pid = project["Id"]
    for path in (
        f"/projects/{pid}",
        f"/projects/{project['Slug']}",
        f"/deploymentprocesses/deploymentprocess-{pid}",
        f"/projects/{pid}/deploymentprocesses",
        f"/variables/variableset-{pid}",
        f"/projects/{pid}/channels",
    ):
        assert c.get(f"/api/{space}{path}").status_code == 200, path
        missing = c.get(f"/api/{other}{path}")
        assert missing.status_code == 404, path
        assert set(missing.json()) == {"ErrorMessage", "Errors"}
    put = c.put(f"/api/{other}/deploymentprocesses/deploymentprocess-{pid}", json={"Version": 0, "Steps": []})
    assert put.status_code == 404

    # Moving the project, and groups or lifecycles in use.
    moved = c.put(f"/api/{space}/projects/{pid}", json={**project, "Name": "Renamed", "IsDisabled": True})
    assert moved.status_code == 200, moved.text
    assert (moved.json()["Name"], moved.json()["IsDisabled"], moved.json()["Slug"]) == (
        "Renamed",
        True,
        project["Slug"],
    )
    assert c.delete(f"/api/{space}/projectgroups/{group['Id']}").status_code == 400
    assert c.delete(f"/api/{space}/lifecycles/{lifecycle['Id']}").status_code == 400


def test_defaults_cannot_be_deleted(server: ServerProcess) -> None:
    c = server.client
    space = new_space(c)
    group = named(c, f"/api/{space}/projectgroups/all", "Default Project Group")
    lifecycle = named(c, f"/api/{space}/lifecycles/all", "Default Lifecycle")
    for path in (f"/projectgroups/{group['Id']}", f"/lifecycles/{lifecycle['Id']}"):
        refused = c.delete(f"/api/{space}{path}")
        assert refused.status_code == 400 and "Default" in refused.json()["ErrorMessage"], refused.text
    pid = new_project(c, space)["Id"]
    default = c.get(f"/api/{space}/projects/{pid}/channels").json()["Items"][0]
    refused = c.delete(f"/api/{space}/channels/{default['Id']}")
    assert refused.status_code == 400 and "default channel" in refused.json()["ErrorMessage"]
    assert c.put(f"/api/{space}/channels/{default['Id']}", json={"IsDefault": False}).status_code == 400

    # Another channel can take the flag; then the old default may go.
    hotfix = c.post(f"/api/{space}/channels", json={"ProjectId": pid, "Name": "Hotfix", "IsDefault": True})
    assert hotfix.status_code == 201, hotfix.text
    assert c.post(f"/api/{space}/channels", json={"ProjectId": pid, "Name": "hotfix"}).status_code == 409
    flags = {
        ch["Name"]: ch["IsDefault"] for ch in c.get(f"/api/{space}/projects/{pid}/channels").json()["Items"]
    }
    assert flags == {"Default": False, "Hotfix": True}
    assert c.delete(f"/api/{space}/channels/{default['Id']}").status_code == 200
    assert (
        c.post(f"/api/{space}/channels", json={"ProjectId": "Projects-999999", "Name": "x"}).status_code
        == 400
    )
    lifecycle_bad = c.put(
        f"/api/{space}/channels/{hotfix.json()['Id']}", json={"LifecycleId": "Lifecycles-999999"}
    )
    assert lifecycle_bad.status_code == 400


def test_lifecycle_phases_are_validated_and_normalised(server: ServerProcess) -> None:
    c = server.client
    space = new_space(c)
    dev = c.post(f"/api/{space}/environments", json={"Name": "Dev"})
    assert dev.status_code == 201, dev.text
    dev_id = dev.json()["Id"]
    made = c.post(
        f"/api/{space}/lifecycles",
        json={
            "Name": "Two phases",
            "Phases": [
                {"Name": "Development", "AutomaticDeploymentTargets": [dev_id.lower()]},
                {"Name": "Everything else", "IsOptionalPhase": True},
            ],
            "ReleaseRetentionPolicy": {"QuantityToKeep": 3, "Unit": "Days"},
        },
    )
    assert made.status_code == 201, made.text
    lifecycle = made.json()
    first, second = lifecycle["Phases"]
    assert first["AutomaticDeploymentTargets"] == [dev_id] and first["Id"]
    assert (first["MinimumEnvironmentsBeforePromotion"], second["IsOptionalPhase"]) == (0, True)
    assert lifecycle["ReleaseRetentionPolicy"] == {
        "Strategy": "Count",
        "QuantityToKeep": 3,
        "Unit": "Days",
        "ShouldKeepForever": False,
    }
    assert lifecycle["TentacleRetentionPolicy"]["ShouldKeepForever"] is True

    bad = c.put(
        f"/api/{space}/lifecycles/{lifecycle['Id']}",
        json={
            "Phases": [
                {"Name": "A", "AutomaticDeploymentTargets": ["Environments-999999"]},
                {"Name": "a", "MinimumEnvironmentsBeforePromotion": -1},
                {"OptionalDeploymentTargets": [dev_id]},
            ],
            "TentacleRetentionPolicy": {"Unit": "Weeks"},
        },
    )
    assert bad.status_code == 400
    errors = bad.json()["Errors"]
    assert len(errors) >= 5, errors
    assert any("Environments-999999" in e for e in errors) and any("Weeks" in e for e in errors)
    assert c.get(f"/api/{space}/lifecycles/{lifecycle['Id']}").json()["Phases"] == lifecycle["Phases"]
    renamed = c.put(f"/api/{space}/lifecycles/{lifecycle['Id']}", json={**lifecycle, "Name": "Renamed"})
    assert renamed.status_code == 200 and renamed.json()["Phases"] == lifecycle["Phases"]
    page = c.get(f"/api/{space}/lifecycles", params={"take": 1}).json()
    assert (page["ItemType"], page["TotalResults"], page["NumberOfPages"]) == ("Lifecycle", 2, 2)
    assert c.delete(f"/api/{space}/lifecycles/{lifecycle['Id']}").status_code == 200


def test_process_steps_are_normalised_and_versioned(server: ServerProcess) -> None:
    c = server.client
    space = new_space(c)
    pid = new_project(c, space)["Id"]
    pool = named(c, f"/api/{space}/workerpools/all", "Default Worker Pool")["Id"]
    url = f"/api/{space}/deploymentprocesses/deploymentprocess-{pid}"
    saved = c.put(url, json={"Version": 0, "Steps": [script_step("Say hi", WorkerPoolId=pool.lower())]})
    assert saved.status_code == 200, saved.text
    process = saved.json()
    assert process["Version"] == 1
    (step,) = process["Steps"]
    (action,) = step["Actions"]
    assert re.fullmatch(r"[0-9a-f-]{36}", step["Id"]) and re.fullmatch(r"[0-9a-f-]{36}", action["Id"])
    assert (step["Condition"], step["StartTrigger"], step["PackageRequirement"]) == (
        "Success",
        "StartAfterPrevious",
        "LetOctopusDecide",
    )
    assert action["WorkerPoolId"] == pool and action["Properties"]["Octopus.Action.RunOnServer"] == "True"
    assert (action["IsDisabled"], action["Environments"], action["Channels"]) == (False, [], [])

    # Someone else saved in between: the stale Version is refused and nothing changes.
    stale = c.put(url, json={"Version": 0, "Steps": []})
    assert stale.status_code == 400 and stale.json()["ErrorMessage"] == STALE_PROCESS
    assert c.get(url).json() == process
    # Sending back what was read (ids included) keeps the ids; the project route is the same document.
    again = c.put(f"/api/{space}/projects/{pid}/deploymentprocesses", json=process)
    assert again.status_code == 200 and again.json()["Version"] == 2
    assert again.json()["Steps"][0]["Actions"][0]["Id"] == action["Id"]

    invalid = c.put(
        url,
        json={
            "Version": 2,
            "Steps": [
                {"Actions": []},
                script_step("Pwsh", WorkerPoolId="WorkerPools-999999", Environments=["Environments-999999"]),
                script_step("Chan", Channels=["Channels-999999"], Condition="Sometimes"),
            ],
        },
    )
    assert invalid.status_code == 400
    errors = invalid.json()["Errors"]
    for expected in ("no Name", "no actions", "WorkerPools-999999", "Environments-999999", "Channels-999999"):
        assert any(expected in e for e in errors), (expected, errors)
    assert c.get(url).json()["Version"] == 2
    assert c.put(url, json={"Steps": []}).status_code == 400  # no Version: nothing to compare


def test_snapshots_are_frozen(server: ServerProcess) -> None:
    c = server.client
    space = new_space(c)
    pid = new_project(c, space)["Id"]
    url = f"/api/{space}/deploymentprocesses/deploymentprocess-{pid}"
    assert c.put(url, json={"Version": 0, "Steps": [script_step("Only")]}).status_code == 200
    for missing in (f"deploymentprocess-{pid}-s-1-ABCDE", "deploymentprocess-Projects-x", "nonsense"):
        assert c.get(f"/api/{space}/deploymentprocesses/{missing}").status_code == 404
        assert c.put(f"/api/{space}/deploymentprocesses/{missing}", json={"Version": 0}).status_code == 404
        assert (
            c.get(f"/api/{space}/variables/{missing.replace('deploymentprocess', 'variableset')}").status_code
            == 404
        )

    release = c.post(f"/api/{space}/releases", json={"ProjectId": pid, "Version": "1.0.0"})
    assert release.status_code == 201, release.text
    snapshot_id = release.json()["ProjectDeploymentProcessSnapshotId"]
    assert re.fullmatch(rf"deploymentprocess-{pid}-s-1-[A-Z0-9]{{5}}", snapshot_id)
    assert c.get(url).json()["LastSnapshotId"] == snapshot_id
    snapshot = c.get(f"/api/{space}/deploymentprocesses/{snapshot_id.lower()}")
    assert snapshot.status_code == 200 and snapshot.json()["Id"] == snapshot_id
    frozen = c.put(f"/api/{space}/deploymentprocesses/{snapshot_id}", json={**snapshot.json(), "Steps": []})
    assert frozen.status_code == 400
    assert frozen.json()["ErrorMessage"] == "You cannot modify this deployment process because it is frozen"
    variables_id = release.json()["ProjectVariableSetSnapshotId"]
    assert re.fullmatch(rf"variableset-{pid}-s-0-[A-Z0-9]{{5}}", variables_id)
    frozen_set = c.put(f"/api/{space}/variables/{variables_id}", json={"Version": 0, "Variables": []})
    assert frozen_set.status_code == 400 and "frozen" in frozen_set.json()["ErrorMessage"]
    # Later edits leave the snapshot alone.
    assert c.put(url, json={"Version": 1, "Steps": []}).status_code == 200
    assert len(c.get(f"/api/{space}/deploymentprocesses/{snapshot_id}").json()["Steps"]) == 1
    # A project with releases still goes whole.
    assert c.delete(f"/api/{space}/projects/{pid}").status_code == 200
    assert c.get(f"/api/{space}/deploymentprocesses/{snapshot_id}").status_code == 404


def test_sensitive_variables_are_never_returned(server: ServerProcess) -> None:
    c = server.client
    space = new_space(c)
    pid = new_project(c, space)["Id"]
    set_id = f"variableset-{pid}"
    url = f"/api/{space}/variables/{set_id}"
    secret = "s3cret-" + unique("v")
    body = {
        "Version": 0,
        "Variables": [
            {"Name": "Password", "Value": secret, "IsSensitive": True},
            {"Name": "Greeting", "Value": "hello", "Type": "String"},
        ],
    }
    saved = c.put(url, json=body)
    assert saved.status_code == 200, saved.text
    assert secret not in saved.text and secret not in c.get(url).text
    variables = {v["Name"]: v for v in saved.json()["Variables"]}
    password = variables["Password"]
    assert (password["Value"], password["Type"], password["IsSensitive"]) == (None, "Sensitive", True)
    assert variables["Greeting"]["Value"] == "hello" and variables["Password"]["Id"]
    assert stored_secrets(server, set_id) == [secret]
    assert secret.encode() not in server.stored_content()

    # A client PUTs back what it read: null keeps the secret.
    kept = c.put(
        url, json={**saved.json(), "Variables": [*saved.json()["Variables"], {"Name": "New", "Value": "x"}]}
    )
    assert kept.status_code == 200 and kept.json()["Version"] == 2
    assert stored_secrets(server, set_id) == [secret]
    stale = c.put(url, json=saved.json())
    assert stale.status_code == 400 and "another user has made changes" in stale.json()["ErrorMessage"]

    # "" clears it.
    cleared = [{**v, "Value": ""} if v["Name"] == "Password" else v for v in kept.json()["Variables"]]
    assert c.put(url, json={"Version": 2, "Variables": cleared}).status_code == 200
    assert stored_secrets(server, set_id) == []
    assert c.get(f"/api/{space}/projects/{pid}/variables").json()["Version"] == 3


def test_variable_scopes_must_exist(server: ServerProcess) -> None:
    c = server.client
    space = new_space(c)
    project = new_project(c, space)
    pid = project["Id"]
    env = c.post(f"/api/{space}/environments", json={"Name": "Production"}).json()["Id"]
    process = c.put(
        f"/api/{space}/deploymentprocesses/deploymentprocess-{pid}",
        json={"Version": 0, "Steps": [script_step("Go")]},
    ).json()
    action_id = process["Steps"][0]["Actions"][0]["Id"]
    channel = c.get(f"/api/{space}/projects/{pid}/channels").json()["Items"][0]["Id"]
    url = f"/api/{space}/variables/variableset-{pid}"
    scope = {
        "Environment": [env.lower()],
        "Action": [action_id.upper()],
        "Channel": [channel],
        "ProcessOwner": [pid],
        "Role": ["web", "db"],
    }
    saved = c.put(url, json={"Version": 0, "Variables": [{"Name": "Conn", "Value": "a", "Scope": scope}]})
    assert saved.status_code == 200, saved.text
    stored = saved.json()["Variables"][0]["Scope"]
    assert stored == {
        "Environment": [env],
        "Action": [action_id],
        "Channel": [channel],
        "ProcessOwner": [pid],
        "Role": ["db", "web"],
    }
    values = saved.json()["ScopeValues"]
    assert values["Environments"] == [{"Id": env, "Name": "Production"}]
    assert values["Actions"] == [{"Id": action_id, "Name": "Go"}]
    assert {"Id": "web", "Name": "web"} in values["Roles"] and values["Channels"][0]["Id"] == channel

    bad = c.put(
        url,
        json={
            "Version": 1,
            "Variables": [
                {"Name": "A", "Value": "1", "Scope": {"Environment": ["Environments-999999"]}},
                {"Name": "B", "Value": "1", "Scope": {"Machine": ["Machines-999999"]}},
                {"Name": "C", "Value": "1", "Scope": {"Action": ["not-a-step"]}},
                {"Name": "D", "Value": "1", "Scope": {"ProcessOwner": ["Projects-999999"]}},
                {"Name": "E", "Value": "1", "Scope": {"Channel": ["Channels-999999"]}},
                {"Name": "F", "Value": "1", "Scope": {"Planet": ["Mars"]}},
                {"Value": "no name"},
            ],
        },
    )
    assert bad.status_code == 400
    errors = bad.json()["Errors"]
    assert len(errors) == 7, errors
    for expected in ("Environments-999999", "Machines-999999", "not-a-step", "Projects-999999", "Planet"):
        assert any(expected in e for e in errors), (expected, errors)
    assert c.get(url).json()["Version"] == 1


def test_sensitive_step_properties_are_encrypted_and_kept(server: ServerProcess) -> None:
    c = server.client
    space = new_space(c)
    pid = new_project(c, space)["Id"]
    url = f"/api/{space}/deploymentprocesses/deploymentprocess-{pid}"
    secret = "token-" + unique("p")
    step = script_step("Call")
    step["Actions"][0]["Properties"]["Api.Token"] = {"HasValue": True, "NewValue": secret}  # type: ignore[index]
    saved = c.put(url, json={"Version": 0, "Steps": [step]})
    assert saved.status_code == 200, saved.text
    shown = saved.json()["Steps"][0]["Actions"][0]["Properties"]["Api.Token"]
    assert shown == {"HasValue": True, "NewValue": None, "Hint": None}
    assert secret not in saved.text and secret.encode() not in server.stored_content()
    again = c.put(url, json=saved.json())
    assert again.json()["Steps"][0]["Actions"][0]["Properties"]["Api.Token"]["HasValue"] is True
    cleared = again.json()
    cleared["Steps"][0]["Actions"][0]["Properties"]["Api.Token"] = {"HasValue": False}
    after = c.put(url, json=cleared)
    assert after.json()["Steps"][0]["Actions"][0]["Properties"]["Api.Token"]["HasValue"] is False


def test_channels_list_across_the_space(server: ServerProcess) -> None:
    c = server.client
    space = new_space(c)
    first, second = new_project(c, space)["Id"], new_project(c, space)["Id"]
    made = c.post(f"/api/{space}/channels", json={"ProjectId": first, "Name": "Beta", "Description": "b"})
    assert made.status_code == 201, made.text
    channel = made.json()
    assert (channel["IsDefault"], channel["ProjectId"], channel["Rules"]) == (False, first, [])
    assert c.post(f"/api/{space}/channels", json={"ProjectId": second, "Name": "Beta"}).status_code == 201
    page = c.get(f"/api/{space}/channels", params={"partialName": "bet"}).json()
    assert (page["ItemType"], page["TotalResults"]) == ("Channel", 2)
    assert len(c.get(f"/api/{space}/channels/all").json()) == 4
    moved = c.put(f"/api/{space}/channels/{channel['Id']}", json={**channel, "ProjectId": second})
    assert moved.status_code == 400
    rules = c.put(f"/api/{space}/channels/{channel['Id']}", json={"Rules": [{"VersionRange": "[1.0,2.0)"}]})
    assert rules.status_code == 400 and "packages" in rules.json()["ErrorMessage"]
    renamed = c.put(f"/api/{space}/channels/{channel['Id']}", json={**channel, "Name": "Gamma"})
    assert renamed.status_code == 200 and renamed.json()["Name"] == "Gamma"
    assert c.delete(f"/api/{space}/channels/{channel['Id']}").status_code == 200
