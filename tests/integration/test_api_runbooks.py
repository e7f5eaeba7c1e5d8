"""Runbooks over real HTTP: a runbook comes with its process, edited under ``Version``; snapshots freeze
the process and variables and may be published; runs are ``RunbookRun`` tasks made by id, by
``/runbooks/{id}/run`` and by names, only where the runbook's scope allows, and old runs are trimmed by
its retention policy."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from conftest import ServerProcess, follow, unique

pytestmark = pytest.mark.databases("SQLite", "PostgreSQL")

STALE_PROCESS = (
    "Changes to this deployment process could not be saved, because another user has made changes since "
    "you opened it. Please refresh and try again."
)


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def refused(response: httpx.Response, status: int = 400) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["Errors"], body
    return str(body["ErrorMessage"])


def problems(response: httpx.Response) -> str:
    """The message and every listed problem of a 400, as one text to look in."""
    assert response.status_code == 400, response.text
    body = response.json()
    return " | ".join([body["ErrorMessage"], *body["Errors"]])


def script_step(name: str, body: str) -> dict[str, Any]:
    """One inline Bash action run on the built-in worker."""
    properties = {"Octopus.Action.RunOnServer": "true", "Octopus.Action.Script.ScriptBody": body}
    return {
        "Name": name,
        "Actions": [{"Name": name, "ActionType": "Octopus.Script", "Properties": properties}],
    }


class Setup:
    """A space of its own with environments and a project, made as a user would."""

    def __init__(self, client: httpx.Client, environments: list[str], **project: Any) -> None:
        self.c = client
        self.space_name = unique("Runbooks")
        self.space = ok(client.post("/api/spaces", json={"Name": self.space_name}), 201)["Id"]
        self.env = {
            name: ok(client.post(self.url("environments"), json={"Name": name}), 201)["Id"]
            for name in environments
        }
        self.project = ok(client.post(self.url("projects"), json={"Name": unique("Ops"), **project}), 201)

    def url(self, path: str) -> str:
        return f"/api/{self.space}/{path}"

    def runbook(self, **fields: Any) -> dict[str, Any]:
        body = {"Name": unique("Restart"), "ProjectId": self.project["Id"], **fields}
        return dict(ok(self.c.post(self.url("runbooks"), json=body), 201))

    def set_steps(self, runbook: dict[str, Any], steps: list[dict[str, Any]]) -> dict[str, Any]:
        url = self.url(f"runbookProcesses/{runbook['RunbookProcessId']}")
        process = ok(self.c.get(url))
        process["Steps"] = steps
        return dict(ok(self.c.put(url, json=process)))

    def set_variables(self, variables: list[dict[str, Any]]) -> None:
        url = self.url(f"variables/{self.project['VariableSetId']}")
        current = ok(self.c.get(url))
        current["Variables"] = variables
        ok(self.c.put(url, json=current))

    def snapshot(self, runbook: dict[str, Any], publish: bool = False, **fields: Any) -> dict[str, Any]:
        body = {"ProjectId": self.project["Id"], "RunbookId": runbook["Id"], **fields}
        path = "runbookSnapshots" + ("?publish=true" if publish else "")
        return dict(ok(self.c.post(self.url(path), json=body), 201))

    def get_runbook(self, runbook: dict[str, Any]) -> dict[str, Any]:
        return dict(ok(self.c.get(self.url(f"runbooks/{runbook['Id']}"))))

    def run(self, runbook: dict[str, Any], snapshot: dict[str, Any], environment: str) -> dict[str, Any]:
        body = {
            "RunbookId": runbook["Id"],
            "RunbookSnapshotId": snapshot["Id"],
            "EnvironmentId": self.env[environment],
        }
        return dict(ok(self.c.post(self.url("runbookRuns"), json=body), 201))


def test_a_runbook_comes_with_its_process_and_names_are_unique_per_project(server: ServerProcess) -> None:
    s = Setup(server.client, ["Dev"])
    runbook = s.runbook(Description="restart the shop")
    number = runbook["Id"].split("-")[1]
    assert runbook["Id"] == f"Runbooks-{number}"
    assert runbook["RunbookProcessId"] == f"RunbookProcess-Runbooks-{number}"
    assert runbook["ProjectId"] == s.project["Id"]
    assert runbook["EnvironmentScope"] == "All" and runbook["Environments"] == []
    assert runbook["RunRetentionPolicy"]["QuantityToKeep"] == 100
    assert runbook["RunRetentionPolicy"]["ShouldKeepForever"] is False
    assert runbook["ConnectivityPolicy"]["AllowDeploymentsToNoTargets"] is True
    assert runbook["PublishedRunbookSnapshotId"] is None

    process = ok(s.c.get(s.url(f"runbookProcesses/{runbook['RunbookProcessId']}")))
    assert process["Id"] == runbook["RunbookProcessId"]
    assert (process["RunbookId"], process["ProjectId"]) == (runbook["Id"], s.project["Id"])
    assert (process["Version"], process["Steps"], process["LastSnapshotId"]) == (0, [], None)
    by_project = s.url(f"projects/{s.project['Id']}/runbookProcesses/{runbook['RunbookProcessId'].lower()}")
    assert ok(s.c.get(by_project))["Id"] == runbook["RunbookProcessId"]
    # A project's deployment process is not a runbook process, and the reverse.
    assert s.c.get(s.url(f"runbookProcesses/{s.project['DeploymentProcessId']}")).status_code == 404
    assert s.c.get(s.url(f"deploymentprocesses/{runbook['RunbookProcessId']}")).status_code == 404

    taken = s.c.post(s.url("runbooks"), json={"Name": runbook["Name"].upper(), "ProjectId": s.project["Id"]})
    assert "already exists in this project" in refused(taken, 409)
    other = ok(s.c.post(s.url("projects"), json={"Name": unique("Other")}), 201)
    twin = ok(s.c.post(s.url("runbooks"), json={"Name": runbook["Name"], "ProjectId": other["Id"]}), 201)

    listed = ok(s.c.get(s.url(f"runbooks?projectIds={s.project['Id']}")))
    assert [r["Id"] for r in listed["Items"]] == [runbook["Id"]] and listed["ItemType"] == "Runbook"
    assert {r["Id"] for r in ok(s.c.get(s.url("runbooks/all")))} == {runbook["Id"], twin["Id"]}
    assert [r["Id"] for r in ok(s.c.get(s.url(f"projects/{other['Id']}/runbooks")))["Items"]] == [twin["Id"]]
    assert "EnvironmentScope" in problems(
        s.c.post(s.url("runbooks"), json={**runbook, "EnvironmentScope": "Some"})
    )
    assert "QuantityToKeep" in refused(
        s.c.put(s.url(f"runbooks/{runbook['Id']}"), json={"RunRetentionPolicy": {"QuantityToKeep": 0}})
    )

    ok(s.c.delete(s.url(f"runbooks/{twin['Id']}")))
    assert s.c.get(s.url(f"runbookProcesses/{twin['RunbookProcessId']}")).status_code == 404
    assert s.c.get(s.url(f"runbooks/{twin['Id']}")).status_code == 404


def test_a_stale_version_is_refused_and_changes_nothing(server: ServerProcess) -> None:
    s = Setup(server.client, ["Dev"])
    runbook = s.runbook()
    url = s.url(f"runbookProcesses/{runbook['RunbookProcessId']}")
    first = ok(s.c.get(url))
    saved = s.set_steps(runbook, [script_step("Restart", "echo restart")])
    assert saved["Version"] == 1 and saved["Steps"][0]["Name"] == "Restart"
    stale = s.c.put(url, json={**first, "Steps": [script_step("Other", "echo other")]})
    assert refused(stale) == STALE_PROCESS
    again = ok(s.c.get(url))
    assert again["Version"] == 1 and [step["Name"] for step in again["Steps"]] == ["Restart"]
    missing = s.c.put(url, json={"Steps": []})
    assert "Version" in refused(missing)
    # The same step rules as deployment processes.
    duplicate = s.c.put(url, json={"Version": 1, "Steps": [script_step("A", "x"), script_step("a", "y")]})
    assert refused(duplicate)


def test_a_snapshot_freezes_the_process_and_variables_and_may_be_published(server: ServerProcess) -> None:
    s = Setup(server.client, ["Dev"])
    runbook = s.runbook()
    s.set_steps(runbook, [script_step("Restart", "echo before")])
    s.set_variables([{"Name": "Colour", "Value": "grey"}])
    template = ok(s.c.get(s.url(f"runbooks/{runbook['Id']}/runbookSnapshotTemplate")))
    assert template["RunbookProcessId"] == runbook["RunbookProcessId"]
    assert template["NextNameIncrement"] == "Snapshot 1"

    first = s.snapshot(runbook, Name=template["NextNameIncrement"], Notes="first")
    assert first["Id"].startswith("RunbookSnapshots-") and first["Name"] == "Snapshot 1"
    assert first["RunbookId"] == runbook["Id"] and first["ProjectId"] == s.project["Id"]
    assert first["FrozenRunbookProcessId"].startswith(f"{runbook['RunbookProcessId']}-s-1-")
    assert first["FrozenProjectVariableSetId"] == first["ProjectVariableSetSnapshotId"]
    assert first["FrozenProjectVariableSetId"].startswith(f"{s.project['VariableSetId']}-s-1-")
    assert first["LibraryVariableSetSnapshotIds"] == [] and first["SelectedPackages"] == []
    assert first["Assembled"]
    assert s.get_runbook(runbook)["PublishedRunbookSnapshotId"] is None  # not published without asking
    live = ok(s.c.get(s.url(f"runbookProcesses/{runbook['RunbookProcessId']}")))
    assert live["LastSnapshotId"] == first["FrozenRunbookProcessId"]

    # Editing afterwards leaves the snapshot alone.
    s.set_steps(runbook, [script_step("Restart", "echo after")])
    s.set_variables([{"Name": "Colour", "Value": "green"}])
    frozen_url = s.url(f"runbookProcesses/{first['FrozenRunbookProcessId']}")
    frozen = ok(s.c.get(frozen_url))
    assert frozen["Steps"][0]["Actions"][0]["Properties"]["Octopus.Action.Script.ScriptBody"] == "echo before"
    assert frozen["RunbookId"] == runbook["Id"]
    assert "frozen" in refused(s.c.put(frozen_url, json=frozen))
    variables = ok(s.c.get(s.url(f"variables/{first['FrozenProjectVariableSetId']}")))
    assert [v["Value"] for v in variables["Variables"]] == ["grey"]

    second = s.snapshot(runbook, publish=True)  # no name: the next increment
    assert second["Name"] == "Snapshot 2"
    assert s.get_runbook(runbook)["PublishedRunbookSnapshotId"] == second["Id"]
    assert "already exists" in refused(
        s.c.post(s.url("runbookSnapshots"), json={"RunbookId": runbook["Id"], "Name": "snapshot 2"}), 409
    )

    # The project's route publishes with the body's Publish, and finds snapshots by id or name.
    project_path = f"projects/{s.project['Id']}/runbookSnapshots"
    third = ok(
        s.c.post(s.url(project_path), json={"RunbookId": runbook["Id"], "Name": "Third", "Publish": "yes"}),
        201,
    )
    assert s.get_runbook(runbook)["PublishedRunbookSnapshotId"] == third["Id"]
    assert ok(s.c.get(s.url(f"{project_path}/Third")))["Id"] == third["Id"]
    assert ok(s.c.get(s.url(f"{project_path}/{first['Id']}")))["Name"] == "Snapshot 1"
    assert s.c.get(s.url(f"{project_path}/Nothing")).status_code == 404
    listed = ok(s.c.get(s.url(f"runbooks/{runbook['Id']}/runbookSnapshots")))
    assert [x["Name"] for x in listed["Items"]] == ["Third", "Snapshot 2", "Snapshot 1"]

    # PUT publishes one of its own snapshots only.
    republished = ok(
        s.c.put(s.url(f"runbooks/{runbook['Id']}"), json={"PublishedRunbookSnapshotId": first["Id"]})
    )
    assert republished["PublishedRunbookSnapshotId"] == first["Id"]
    other = s.runbook()
    foreign = s.snapshot(other)
    wrong = s.c.put(s.url(f"runbooks/{runbook['Id']}"), json={"PublishedRunbookSnapshotId": foreign["Id"]})
    assert "is not a snapshot of the runbook" in refused(wrong)

    # Deleting the published snapshot leaves the runbook with none.
    ok(s.c.delete(s.url(f"runbookSnapshots/{first['Id']}")))
    assert s.get_runbook(runbook)["PublishedRunbookSnapshotId"] is None
    assert s.c.get(frozen_url).status_code == 404


def test_runs_by_id_and_by_run_make_runbook_run_tasks(server: ServerProcess) -> None:
    s = Setup(server.client, ["Dev", "Prod"])
    runbook = s.runbook()
    s.set_steps(runbook, [script_step("Say", 'echo "hello from #{Octopus.Environment.Name}"')])
    snapshot = s.snapshot(runbook, publish=True)

    run = s.run(runbook, snapshot, "Dev")
    assert run["Id"].startswith("RunbookRuns-") and run["Name"] == "Run on Dev"
    assert (run["RunbookId"], run["RunbookSnapshotId"]) == (runbook["Id"], snapshot["Id"])
    assert run["FrozenRunbookProcessId"] == snapshot["FrozenRunbookProcessId"]
    assert (run["EnvironmentId"], run["ProjectId"]) == (s.env["Dev"], s.project["Id"])
    assert run["TaskId"].startswith("ServerTasks-") and run["Created"] and run["DeployedBy"]
    assert run["SkipActions"] == [] and run["FormValues"] == {} and run["UseGuidedFailure"] is False
    assert run["Links"]["Task"] == f"/api/tasks/{run['TaskId']}"
    assert run["Links"]["Runbook"].endswith(f"/runbooks/{runbook['Id']}")
    assert run["Links"]["Environment"].endswith(f"/environments/{s.env['Dev']}")
    assert run["Links"]["Interruptions"].endswith(f"regarding={run['Id']}")
    events = ok(s.c.get("/api/events", params={"regarding": run["Id"]}))["Items"]
    assert [e["Category"] for e in events] == ["RunbookRunQueued"], events  # once, with the run
    assert {run["Id"], run["TaskId"], runbook["Id"], s.project["Id"], s.env["Dev"]} <= set(
        events[0]["RelatedDocumentIds"]
    )
    task = ok(s.c.get(f"/api/tasks/{run['TaskId']}"))
    assert task["Name"] == "RunbookRun"
    assert task["Arguments"] == {"RunbookRunId": run["Id"]}
    assert task["Description"] == f"Run {runbook['Name']} in Dev"
    finished = follow(s.c, run["TaskId"])
    raw = s.c.get(f"/api/tasks/{run['TaskId']}/raw").text
    assert finished["State"] == "Success", raw
    assert "hello from Dev" in raw

    runs = ok(
        s.c.post(
            s.url(f"runbooks/{runbook['Id']}/run"), json={"EnvironmentIds": [s.env["Dev"], s.env["Prod"]]}
        ),
        201,
    )
    assert [r["Name"] for r in runs] == ["Run on Dev", "Run on Prod"]
    assert {r["RunbookSnapshotId"] for r in runs} == {snapshot["Id"]}  # the published one by default
    named = ok(
        s.c.post(
            s.url(f"runbooks/{runbook['Id']}/run"),
            json={"EnvironmentId": s.env["Prod"], "RunbookSnapshotNameOrId": snapshot["Name"]},
        ),
        201,
    )
    assert named[0]["RunbookSnapshotId"] == snapshot["Id"]
    for each in [*runs, *named]:
        assert ok(s.c.get(f"/api/tasks/{each['TaskId']}"))["Arguments"] == {"RunbookRunId": each["Id"]}

    listed = ok(s.c.get(s.url(f"runbookRuns?runbooks={runbook['Id']}&environments={s.env['Prod']}")))
    assert [r["Id"] for r in listed["Items"]] == [named[0]["Id"], runs[1]["Id"]]
    in_project = ok(s.c.get(s.url(f"projects/{s.project['Id']}/runbookRuns")))
    assert in_project["TotalResults"] == 4 and in_project["ItemType"] == "RunbookRun"
    assert ok(s.c.get(s.url(f"runbookRuns/{run['Id']}")))["TaskId"] == run["TaskId"]
    ok(s.c.delete(s.url(f"runbookRuns/{run['Id']}")))
    assert s.c.get(s.url(f"runbookRuns/{run['Id']}")).status_code == 404
    assert ok(s.c.get(f"/api/tasks/{run['TaskId']}"))["Id"] == run["TaskId"]  # its task stays


def test_without_a_published_snapshot_run_refuses_and_the_draft_runs_through_a_snapshot(
    server: ServerProcess,
) -> None:
    s = Setup(server.client, ["Dev"])
    runbook = s.runbook()
    s.set_steps(runbook, [script_step("Say", "echo draft one")])
    run_url = s.url(f"runbooks/{runbook['Id']}/run")
    assert (
        refused(s.c.post(run_url, json={"EnvironmentId": s.env["Dev"]}))
        == "Runbook has no published snapshot"
    )
    assert refused(s.c.post(run_url, json={"EnvironmentId": s.env["Dev"], "UseDefaultSnapshot": True})) == (
        "Runbook has no published snapshot"
    )

    draft = {"EnvironmentId": s.env["Dev"], "UseDefaultSnapshot": False}
    (first,) = ok(s.c.post(run_url, json=draft), 201)
    made = ok(s.c.get(s.url(f"runbookSnapshots/{first['RunbookSnapshotId']}")))
    assert made["RunbookId"] == runbook["Id"]
    assert s.get_runbook(runbook)["PublishedRunbookSnapshotId"] is None  # a draft run publishes nothing
    (again,) = ok(s.c.post(run_url, json=draft), 201)
    assert again["RunbookSnapshotId"] == first["RunbookSnapshotId"]  # nothing changed: the same snapshot
    s.set_steps(runbook, [script_step("Say", "echo draft two")])
    (edited,) = ok(s.c.post(run_url, json=draft), 201)
    assert edited["RunbookSnapshotId"] != first["RunbookSnapshotId"]
    frozen = ok(s.c.get(s.url(f"runbookProcesses/{edited['FrozenRunbookProcessId']}")))
    assert (
        frozen["Steps"][0]["Actions"][0]["Properties"]["Octopus.Action.Script.ScriptBody"] == "echo draft two"
    )


def test_a_runbook_runs_only_where_its_environment_scope_allows(server: ServerProcess) -> None:
    s = Setup(server.client, ["Dev", "Test", "Prod"])
    specified = s.runbook(EnvironmentScope="Specified", Environments=[s.env["Dev"]])
    snapshot = s.snapshot(specified, publish=True)
    s.run(specified, snapshot, "Dev")
    body = {"RunbookId": specified["Id"], "RunbookSnapshotId": snapshot["Id"], "EnvironmentId": s.env["Prod"]}
    message = refused(s.c.post(s.url("runbookRuns"), json=body))
    assert "'Prod'" in message and "Specified" in message
    both = {"EnvironmentIds": [s.env["Dev"], s.env["Prod"]]}
    assert "'Prod'" in refused(s.c.post(s.url(f"runbooks/{specified['Id']}/run"), json=both))
    assert ok(s.c.get(s.url(f"runbookRuns?runbooks={specified['Id']}")))["TotalResults"] == 1  # all or none
    unknown = s.c.post(
        s.url("runbooks"),
        json={"Name": "x", "ProjectId": s.project["Id"], "Environments": ["Environments-999999"]},
    )
    assert "Environments-999999" in refused(unknown)

    # FromProjectLifecycles: the environments of the project's lifecycle (runs ignore its order).
    phases = [{"Name": "Early", "OptionalDeploymentTargets": [s.env["Dev"], s.env["Test"]]}]
    lifecycle = ok(s.c.post(s.url("lifecycles"), json={"Name": unique("Early"), "Phases": phases}), 201)
    project = ok(
        s.c.post(s.url("projects"), json={"Name": unique("Scoped"), "LifecycleId": lifecycle["Id"]}), 201
    )
    scoped = ok(
        s.c.post(
            s.url("runbooks"),
            json={"Name": "Scoped", "ProjectId": project["Id"], "EnvironmentScope": "FromProjectLifecycles"},
        ),
        201,
    )
    scoped_snapshot = s.snapshot(scoped, publish=True, ProjectId=project["Id"])
    s.run(scoped, scoped_snapshot, "Test")  # the lifecycle's second environment, never deployed to
    body = {
        "RunbookId": scoped["Id"],
        "RunbookSnapshotId": scoped_snapshot["Id"],
        "EnvironmentId": s.env["Prod"],
    }
    message = refused(s.c.post(s.url("runbookRuns"), json=body))
    assert "'Prod'" in message and "FromProjectLifecycles" in message
    # The default scope, All, runs anywhere.
    anywhere = s.runbook()
    s.run(anywhere, s.snapshot(anywhere), "Prod")


def test_runbook_runs_by_names(server: ServerProcess) -> None:
    s = Setup(server.client, ["Dev", "Prod"])
    runbook = s.runbook()
    s.set_steps(runbook, [script_step("First", "echo 1"), script_step("Second", "echo 2")])
    command = f"/api/{s.space_name}/runbook-runs/create/v1"  # the space by its name, as CI tools send it
    body = {
        "ProjectName": s.project["Name"],
        "RunbookName": runbook["Name"],
        "EnvironmentNames": ["Dev", "Prod"],
    }
    message = refused(s.c.post(command, json=body))
    assert message.startswith("Runbook has no published snapshot") and runbook["Name"] in message

    published = s.snapshot(runbook, publish=True)
    answer = ok(s.c.post(command, json=body))
    tasks = answer["RunbookRunServerTasks"]
    assert len(tasks) == 2
    for entry, environment in zip(tasks, ["Dev", "Prod"], strict=True):
        run = ok(s.c.get(s.url(f"runbookRuns/{entry['RunbookRunId']}")))
        assert run["TaskId"] == entry["ServerTaskId"] and run["EnvironmentId"] == s.env[environment]
        assert run["RunbookSnapshotId"] == published["Id"]
        task = ok(s.c.get(f"/api/tasks/{entry['ServerTaskId']}"))
        assert task["Name"] == "RunbookRun" and task["Arguments"] == {"RunbookRunId": entry["RunbookRunId"]}

    older = s.snapshot(runbook, Name="Older")
    named = {
        **body,
        "EnvironmentNames": ["Dev"],
        "Snapshot": "Older",
        "SkipStepNames": ["Second"],
        "Variables": {"Why": "test"},
    }
    (entry,) = ok(s.c.post(command, json=named))["RunbookRunServerTasks"]
    run = ok(s.c.get(s.url(f"runbookRuns/{entry['RunbookRunId']}")))
    assert run["RunbookSnapshotId"] == older["Id"]
    assert len(run["SkipActions"]) == 1 and run["FormValues"] == {"Why": "test"}
    assert "no runbook named" in refused(s.c.post(command, json={**body, "RunbookName": "Nope"}))
    assert "no snapshot 'Nope'" in refused(s.c.post(command, json={**body, "Snapshot": "Nope"}))
    assert "no environment named" in refused(s.c.post(command, json={**body, "EnvironmentNames": ["Nope"]}))


def test_retention_keeps_the_newest_runs_per_environment_with_their_tasks(server: ServerProcess) -> None:
    s = Setup(server.client, ["Dev", "Prod"])
    runbook = s.runbook(RunRetentionPolicy={"QuantityToKeep": 2, "ShouldKeepForever": False})
    assert runbook["RunRetentionPolicy"]["QuantityToKeep"] == 2
    snapshot = s.snapshot(runbook, publish=True)
    prod = s.run(runbook, snapshot, "Prod")
    follow(s.c, prod["TaskId"])
    made = []
    for _ in range(4):
        run = s.run(runbook, snapshot, "Dev")
        follow(s.c, run["TaskId"])  # only finished runs are ever deleted
        made.append(run)
    dev = ok(s.c.get(s.url(f"runbookRuns?runbooks={runbook['Id']}&environments={s.env['Dev']}")))
    assert [r["Id"] for r in dev["Items"]] == [made[3]["Id"], made[2]["Id"]]
    for gone in made[:2]:
        assert s.c.get(s.url(f"runbookRuns/{gone['Id']}")).status_code == 404
        assert s.c.get(f"/api/tasks/{gone['TaskId']}").status_code == 404  # its task and log went too
    assert ok(s.c.get(s.url(f"runbookRuns/{prod['Id']}")))["Id"] == prod["Id"]  # per environment

    # Keep forever keeps them all.
    ok(s.c.put(s.url(f"runbooks/{runbook['Id']}"), json={"RunRetentionPolicy": {"ShouldKeepForever": True}}))
    for _ in range(2):
        follow(s.c, s.run(runbook, snapshot, "Dev")["TaskId"])
    dev = ok(s.c.get(s.url(f"runbookRuns?runbooks={runbook['Id']}&environments={s.env['Dev']}")))
    assert dev["TotalResults"] == 4
