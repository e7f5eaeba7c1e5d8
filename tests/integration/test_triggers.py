"""Scheduled triggers through the REST API on real servers: what ``/projecttriggers`` accepts and
refuses, a trigger that runs its runbook each second, one whose runbook cannot run, and two nodes on one
database firing each due time once between them.

Each scheduled run says in its ``Comments`` which due time made it, so "once per due time" is checked
by counting: as many runs as distinct due times. Disabling a trigger is a compare-and-set the scheduler
respects, so once the PUT has answered, the runs are final and no timing enters the assertions.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from test_cluster import cluster

from conftest import eventually, unique

pytestmark = pytest.mark.databases("SQLite", "PostgreSQL")

EVERY_SECOND = {"FilterType": "CronExpressionSchedule", "CronExpression": "* * * * * *", "Timezone": "UTC"}
DUE = re.compile(r"for (\S+)$")


def number(resource: dict[str, Any]) -> int:
    return int(str(resource["Id"]).rsplit("-", 1)[1])


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


class Ops:
    """A space of its own with an environment, a project and a published one-step runbook."""

    def __init__(self, client: httpx.Client, publish: bool = True, **runbook: Any) -> None:
        self.client = client
        self.space = ok(client.post("/api/spaces", json={"Name": unique("space")}), 201)["Id"]
        self.env = ok(client.post(f"/api/{self.space}/environments", json={"Name": "Dev"}), 201)["Id"]
        self.other_env = ok(client.post(f"/api/{self.space}/environments", json={"Name": "Prod"}), 201)["Id"]
        self.project = ok(client.post(f"/api/{self.space}/projects", json={"Name": unique("ops")}), 201)["Id"]
        self.runbook = self.add_runbook("Rotate logs", publish, **runbook)

    def add_runbook(self, name: str, publish: bool = True, project: str | None = None, **fields: Any) -> str:
        body = {"Name": name, "ProjectId": project or self.project, **fields}
        runbook = ok(self.client.post(f"/api/{self.space}/runbooks", json=body), 201)
        url = f"/api/{self.space}/runbookProcesses/{runbook['RunbookProcessId']}"
        process = ok(self.client.get(url))
        properties = {
            "Octopus.Action.RunOnServer": "true",
            "Octopus.Action.Script.ScriptBody": "echo rotated",
        }
        process["Steps"] = [
            {
                "Name": "Rotate",
                "Actions": [{"Name": "Rotate", "ActionType": "Octopus.Script", "Properties": properties}],
            }
        ]
        ok(self.client.put(url, json=process))
        if publish:
            snapshot = {"ProjectId": runbook["ProjectId"], "RunbookId": runbook["Id"], "Name": "1"}
            ok(self.client.post(f"/api/{self.space}/runbookSnapshots?publish=true", json=snapshot), 201)
        return str(runbook["Id"])

    def trigger_body(self, name: str = "Nightly", **changes: Any) -> dict[str, Any]:
        body = {
            "Name": name,
            "ProjectId": self.project,
            "Filter": {
                "FilterType": "OnceDailySchedule",
                "StartTime": "2024-03-22T02:00:00",
                "DaysOfWeek": ["Monday"],
            },
            "Action": {"ActionType": "RunRunbook", "RunbookId": self.runbook, "EnvironmentIds": [self.env]},
        }
        return body | changes

    def create(self, **changes: Any) -> dict[str, Any]:
        return dict(
            ok(self.client.post(f"/api/{self.space}/projecttriggers", json=self.trigger_body(**changes)), 201)
        )

    def refusal(self, body: dict[str, Any]) -> list[str]:
        response = self.client.post(f"/api/{self.space}/projecttriggers", json=body)
        assert response.status_code == 400, response.text
        errors: list[str] = response.json()["Errors"]
        return errors

    def set_disabled(self, trigger: dict[str, Any], disabled: bool) -> dict[str, Any]:
        url = f"/api/{self.space}/projecttriggers/{trigger['Id']}"
        return dict(ok(self.client.put(url, json=trigger | {"IsDisabled": disabled})))

    def runs(self, runbook: str | None = None) -> list[dict[str, Any]]:
        params = {"runbooks": runbook or self.runbook, "take": 1000}
        items: list[dict[str, Any]] = ok(self.client.get(f"/api/{self.space}/runbookRuns", params=params))[
            "Items"
        ]
        return items

    def succeeded(self, run: dict[str, Any]) -> bool:
        return bool(self.client.get(f"/api/tasks/{run['TaskId']}").json()["State"] == "Success")


def test_triggers_are_created_listed_changed_and_deleted(server: Any) -> None:
    ops = Ops(server.client)
    daily = {"filtertype": "OnceDailySchedule", "starttime": "09:30", "daysofweek": "mon, Friday"}
    trigger = ops.create(Description="Runs the rotation", Filter=daily | {"timezone": "Europe/London"})
    assert re.fullmatch(r"ProjectTriggers-\d+", trigger["Id"])
    assert trigger["SpaceId"] == ops.space and trigger["ProjectId"] == ops.project
    assert trigger["Filter"] == {
        "FilterType": "OnceDailySchedule",
        "Timezone": "Europe/London",
        "StartTime": "09:30",
        "DaysOfWeek": ["Monday", "Friday"],
    }
    assert trigger["Action"] == {
        "ActionType": "RunRunbook",
        "RunbookId": ops.runbook,
        "EnvironmentIds": [ops.env],
        "TenantIds": [],
        "TenantTags": [],
    }
    assert trigger["IsDisabled"] is False and trigger["NextRun"] is not None and trigger["LastRun"] is None
    assert trigger["NextRun"].endswith(("08:30:00.000+00:00", "09:30:00.000+00:00"))  # GMT or BST

    weekdays = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"]
    hourly = {"FilterType": "ContinuousDailySchedule", "RunAfter": "08:00", "RunUntil": "18:00"}
    other = ops.create(Name="Hourly", Filter=hourly | {"HourInterval": 2, "DaysOfWeek": weekdays})
    base = f"/api/{ops.space}"
    listed = ok(ops.client.get(f"{base}/projecttriggers"))
    assert listed["ItemType"] == "ProjectTrigger" and [t["Name"] for t in listed["Items"]] == [
        "Hourly",
        "Nightly",
    ]
    assert (
        ok(ops.client.get(f"{base}/projecttriggers", params={"runbooks": ops.runbook}))["TotalResults"] == 2
    )
    assert (
        ok(ops.client.get(f"{base}/projecttriggers", params={"runbooks": "Runbooks-999999"}))["Items"] == []
    )
    assert (
        ok(ops.client.get(f"{base}/projecttriggers", params={"projectIds": ops.project}))["TotalResults"] == 2
    )
    assert [
        t["Id"] for t in ok(ops.client.get(f"{base}/projecttriggers", params={"ids": other["Id"]}))["Items"]
    ] == [other["Id"]]
    assert ok(ops.client.get(f"{base}/projects/{ops.project}/triggers"))["TotalResults"] == 2
    assert ok(ops.client.get(f"{base}/projecttriggers/{trigger['Id']}")) == trigger

    disabled = ops.set_disabled(trigger, True)
    assert disabled["IsDisabled"] is True and disabled["NextRun"] is None
    enabled = ops.set_disabled(disabled, False)
    assert enabled["NextRun"] == trigger["NextRun"]
    renamed = ok(ops.client.put(f"{base}/projecttriggers/{trigger['Id']}", json=enabled | {"Name": "Daily"}))
    assert renamed["Name"] == "Daily" and renamed["Filter"] == trigger["Filter"]

    taken = ops.client.post(f"{base}/projecttriggers", json=ops.trigger_body("hourly"))
    assert taken.status_code == 409, taken.text
    assert ok(ops.client.delete(f"{base}/projecttriggers/{other['Id']}"))["Id"] == other["Id"]
    assert ops.client.get(f"{base}/projecttriggers/{other['Id']}").status_code == 404


def test_what_a_trigger_may_not_say_is_refused_with_every_reason(server: Any) -> None:
    ops = Ops(server.client)
    elsewhere = ok(ops.client.post(f"/api/{ops.space}/projects", json={"Name": unique("other")}), 201)["Id"]
    foreign = ops.add_runbook("Foreign", project=elsewhere)
    scoped = ops.add_runbook("Prod only", EnvironmentScope="Specified", Environments=[ops.other_env])
    deploy = {
        "ActionType": "DeployLatestRelease",
        "SourceEnvironmentId": ops.env,
        "DestinationEnvironmentId": ops.env,
    }
    run = {"ActionType": "RunRunbook", "RunbookId": ops.runbook, "EnvironmentIds": [ops.env]}
    cases = [
        (ops.trigger_body(Action=deploy), "Only RunRunbook triggers are supported"),
        (ops.trigger_body(Filter={"FilterType": "MachineFilter"}), "Filter.FilterType must be one of"),
        (ops.trigger_body(Filter=EVERY_SECOND | {"CronExpression": "61 * * * * *"}), "is not a valid cron"),
        (ops.trigger_body(Filter=EVERY_SECOND | {"Timezone": "Atlantis/Capital"}), "is not a time zone"),
        (ops.trigger_body(Filter=EVERY_SECOND | {"CronExpression": "0 0 0 1 1 ? 2001"}), "never fires again"),
        (ops.trigger_body(Action=run | {"RunbookId": foreign}), "belongs to another project"),
        (ops.trigger_body(Action=run | {"RunbookId": "Runbooks-999999"}), "does not exist in this space"),
        (ops.trigger_body(Action=run | {"EnvironmentIds": ["Environments-999999"]}), "Environments-999999"),
        (ops.trigger_body(Action=run | {"EnvironmentIds": []}), "must name at least one environment"),
        (ops.trigger_body(Action=run | {"RunbookId": scoped}), "its EnvironmentScope is Specified"),
        (ops.trigger_body(Action=run | {"TenantIds": ["Tenants-1"]}), "Action.TenantIds"),
        (ops.trigger_body(ProjectId="Projects-999999"), "does not exist in this space"),
        (ops.trigger_body(Name=" "), "Name"),
    ]  # fmt: skip
    for body, reason in cases:
        errors = ops.refusal(body)
        assert any(reason in e for e in errors), (reason, errors)
    # Every problem at once, each naming its field.
    errors = ops.refusal(
        ops.trigger_body(Filter={"FilterType": "OnceDailySchedule"}, Action=run | {"EnvironmentIds": []})
    )
    assert (
        len(errors) == 3 and any("StartTime" in e for e in errors) and any("DaysOfWeek" in e for e in errors)
    )
    assert ops.client.get(f"/api/{ops.space}/projecttriggers").json()["TotalResults"] == 0
    # A trigger keeps its project.
    trigger = ops.create()
    moved = ops.client.put(
        f"/api/{ops.space}/projecttriggers/{trigger['Id']}", json=trigger | {"ProjectId": elsewhere}
    )
    assert moved.status_code == 400 and "cannot move to another project" in moved.text


def test_a_trigger_runs_its_published_runbook_on_schedule_and_stops_when_disabled(server: Any) -> None:
    ops = Ops(server.client)
    unpublished = ops.add_runbook("Never published", publish=False)
    trigger = ops.create(Name="Every second", Filter=EVERY_SECOND)
    stuck = ops.create(Name="Cannot run", Filter=EVERY_SECOND, Action={
        "ActionType": "RunRunbook", "RunbookId": unpublished, "EnvironmentIds": [ops.env]})  # fmt: skip
    eventually("two scheduled runs that succeeded", lambda: sum(ops.succeeded(r) for r in ops.runs()) >= 2)
    eventually(
        "the trigger without a published snapshot moving past a due time",
        lambda: (
            ops.client.get(f"/api/{ops.space}/projecttriggers/{stuck['Id']}").json()["LastRun"] is not None
        ),
    )
    final = ops.set_disabled(ok(ops.client.get(f"/api/{ops.space}/projecttriggers/{trigger['Id']}")), True)
    ops.set_disabled(ok(ops.client.get(f"/api/{ops.space}/projecttriggers/{stuck['Id']}")), True)

    runs = ops.runs()
    dues = [DUE.search(str(run["Comments"])) for run in runs]
    assert all(dues), [run["Comments"] for run in runs]
    assert len({m.group(1) for m in dues if m}) == len(runs)  # each due time once
    assert all(run["DeployedBy"] == "Every second" and run["EnvironmentId"] == ops.env for run in runs)
    assert all(f"'Every second' ({trigger['Id']})" in str(run["Comments"]) for run in runs)
    latest = max(runs, key=number)
    assert final["LastRun"] is not None and final["NextRun"] is None
    assert str(latest["Comments"]).endswith(final["LastRun"].replace(".000", ""))
    assert ops.runs(unpublished) == []
    assert any("did not run" in line and "no published snapshot" in line for line in server.output)


@pytest.mark.databases("PostgreSQL")
def test_two_nodes_fire_each_due_time_once(postgres: Any, server_factory: Any) -> None:
    a, b = cluster(postgres, server_factory, ["alpha", "beta"])
    ops = Ops(a.client)
    trigger = ops.create(Name="Every second", Filter=EVERY_SECOND)
    eventually("three scheduled runs that succeeded", lambda: sum(ops.succeeded(r) for r in ops.runs()) >= 3)
    ops.client = b.client  # disabled through the other node
    ops.set_disabled(ok(b.client.get(f"/api/{ops.space}/projecttriggers/{trigger['Id']}")), True)

    runs = sorted(ops.runs(), key=number)
    dues = [m.group(1) for m in (DUE.search(str(run["Comments"])) for run in runs) if m]
    assert len(dues) == len(runs) >= 3
    assert len(set(dues)) == len(runs), dues  # no due time fired twice, whichever node fired it
    assert dues == sorted(dues)  # and they fired in order
