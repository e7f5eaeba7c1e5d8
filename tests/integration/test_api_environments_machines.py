"""Environments and deployment targets (``/environments``, ``/machines``) over real HTTP."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from conftest import ServerProcess, follow, unique

pytestmark = pytest.mark.databases("SQLite", "PostgreSQL")

THUMB = "1234567890ABCDEF1234567890ABCDEF12345678"


def new_space(client: httpx.Client) -> str:
    response = client.post("/api/spaces", json={"Name": unique("Deploy")})
    assert response.status_code == 201, response.text
    return str(response.json()["Id"])


def made(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def environment(client: httpx.Client, space: str, name: str, **fields: object) -> dict[str, Any]:
    return made(client.post(f"/api/{space}/environments", json={"Name": name, **fields}))


def listening(name: str, environments: list[str], roles: list[str], **fields: object) -> dict[str, Any]:
    """A made-up listening target. It is checked as soon as it is added, so it points at a loopback port
    where nothing listens: a made-up host name would send a lookup off the machine."""
    return {
        "Name": name,
        "EnvironmentIds": environments,
        "Roles": roles,
        "Endpoint": {
            "CommunicationStyle": "TentaclePassive",
            "Uri": "https://127.0.0.1:1/",
            "Thumbprint": THUMB,
        },
        **fields,
    }


def cloud(name: str, environments: list[str], pool: str | None = None) -> dict[str, Any]:
    endpoint = {"CommunicationStyle": "None", "DefaultWorkerPoolId": pool}
    return {"Name": name, "EnvironmentIds": environments, "Roles": ["cloud"], "Endpoint": endpoint}


def refused(response: httpx.Response, status: int = 400) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"ErrorMessage", "Errors"} and body["Errors"], body
    return str(body["ErrorMessage"]) + " | " + " | ".join(body["Errors"])


def test_environments_crud_in_sort_order(server: ServerProcess) -> None:
    c = server.client
    space = new_space(c)
    dev = environment(c, space, "Dev", Description="first")
    test = environment(c, space, "Test", UseGuidedFailure=True)
    prod = environment(c, space, "Production", EnvironmentTags=["live"])
    assert dev["Id"].startswith("Environments-") and dev["SpaceId"] == space
    assert [e["SortOrder"] for e in (dev, test, prod)] == [0, 1, 2]  # each new one goes last
    assert (dev["Slug"], dev["Description"], test["UseGuidedFailure"]) == ("dev", "first", True)
    assert (prod["AllowDynamicInfrastructure"], prod["EnvironmentTags"], prod["ExtensionSettings"]) == (
        False,
        ["live"],
        [],
    )
    assert prod["Links"]["Self"] == f"/api/{space}/environments/{prod['Id']}"
    assert prod["Links"]["Machines"].startswith(f"/api/{space}/environments/{prod['Id']}/machines{{")

    page = c.get(f"/api/{space}/environments").json()
    assert (page["ItemType"], page["TotalResults"], page["ItemsPerPage"]) == ("Environment", 3, 30)
    assert [e["Name"] for e in page["Items"]] == ["Dev", "Test", "Production"]
    assert [e["Name"] for e in c.get(f"/api/{space}/environments/all").json()] == [
        "Dev",
        "Test",
        "Production",
    ]
    assert [
        e["Name"] for e in c.get(f"/api/{space}/environments", params={"partialName": "T"}).json()["Items"]
    ] == [
        "Test",
        "Production",
    ]
    assert c.get(f"/api/{space}/environments", params={"name": "dev"}).json()["Items"][0]["Id"] == dev["Id"]
    by_ids = c.get(f"/api/{space}/environments", params={"ids": f"{prod['Id']},{dev['Id']}"}).json()
    assert [e["Name"] for e in by_ids["Items"]] == ["Dev", "Production"]
    assert (
        c.get(f"/api/{space}/environments", params={"skip": 2, "take": 1}).json()["Items"][0]["Name"]
        == "Production"
    )

    # A client PUTs back what it read, read-only fields included.
    renamed = c.put(f"/api/{space}/environments/{dev['Id']}", json={**dev, "Name": "Development"})
    assert renamed.status_code == 200, renamed.text
    assert (renamed.json()["Name"], renamed.json()["Slug"], renamed.json()["Description"]) == (
        "Development",
        "development",
        "first",
    )
    cleared = c.put(f"/api/{space}/environments/{dev['Id']}", json={"Description": None}).json()
    assert cleared["Description"] is None and cleared["Name"] == "Development"

    assert refused(c.post(f"/api/{space}/environments", json={"Name": "production"}), 409)
    assert refused(c.post(f"/api/{space}/environments", json={"Name": "  "}))
    assert refused(c.post(f"/api/{space}/environments", json={}))
    assert c.get(f"/api/{space}/environments/Environments-999999").status_code == 404
    assert c.get(f"/api/{space}/environments/Machines-1").status_code == 404


def test_environment_sort_order(server: ServerProcess) -> None:
    c = server.client
    space = new_space(c)
    a, b, z = (environment(c, space, n)["Id"] for n in ("A", "B", "C"))
    answer = c.put(f"/api/{space}/environments/sortorder", json=[z, a])
    assert answer.status_code == 200, answer.text
    assert [(e["Name"], e["SortOrder"]) for e in answer.json()] == [("C", 0), ("A", 1), ("B", 2)]
    assert [e["Name"] for e in c.get(f"/api/{space}/environments").json()["Items"]] == ["C", "A", "B"]
    # A new environment still goes last.
    assert environment(c, space, "D")["SortOrder"] == 3

    assert "Environments-999999" in refused(
        c.put(f"/api/{space}/environments/sortorder", json=[a, "Environments-999999"])
    )
    assert "nonsense" in refused(c.put(f"/api/{space}/environments/sortorder", json=["nonsense"]))
    refused(c.put(f"/api/{space}/environments/sortorder", json={"Ids": [a]}))
    assert [e["Name"] for e in c.get(f"/api/{space}/environments/all").json()] == ["C", "A", "B", "D"]
    # SortOrder is writeable on its own too.
    moved = c.put(f"/api/{space}/environments/{b}", json={"SortOrder": 0}).json()
    assert moved["SortOrder"] == 0
    assert [e["Name"] for e in c.get(f"/api/{space}/environments/all").json()][:2] == ["B", "C"]  # ties by id


def test_machines_crud_filters_and_environment_machines(server: ServerProcess) -> None:
    c = server.client
    space = new_space(c)
    dev, prod = environment(c, space, "Dev")["Id"], environment(c, space, "Prod")["Id"]
    policy = c.get(f"/api/{space}/machinepolicies/all").json()[0]["Id"]

    web = made(
        c.post(f"/api/{space}/machines", json=listening("Web 01", [dev, prod], [" web ", "WEB", "api"]))
    )
    assert web["Id"].startswith("Machines-") and web["SpaceId"] == space
    assert web["EnvironmentIds"] == [dev, prod]
    assert web["Roles"] == ["web", "api"]  # trimmed, each once
    assert (web["MachinePolicyId"], web["IsDisabled"], web["TenantedDeploymentParticipation"]) == (
        policy,
        False,
        "Untenanted",
    )
    assert (web["TenantIds"], web["TenantTags"], web["IsInProcess"], web["Thumbprint"]) == (
        [],
        [],
        False,
        THUMB,
    )
    assert web["Endpoint"] == {
        "CommunicationStyle": "TentaclePassive",
        "Uri": "https://127.0.0.1:1/",
        "Thumbprint": THUMB,
        "ProxyId": None,
        "Id": None,
    }
    assert web["Uri"] == "https://127.0.0.1:1/" and web["HealthStatus"] in ("Unknown", "Unavailable")
    assert set(web["Links"]) >= {"Self", "Environments", "Connection", "TasksTemplate"}
    assert web["Links"]["Self"] == f"/api/{space}/machines/{web['Id']}"
    for field in ("HasLatestCalamari", "Status", "StatusSummary", "Slug", "Name"):
        assert field in web

    poll = {
        "name": "Poller",
        "environmentids": [dev.lower()],
        "roles": ["db"],
        "endpoint": {
            "communicationstyle": "TentacleActive",
            "uri": "poll://abcdefghijklmnopqrst/",
            "thumbprint": THUMB.lower(),
        },
    }
    poller = made(c.post(f"/api/{space}/machines", json=poll))
    assert (poller["EnvironmentIds"], poller["Endpoint"]["Thumbprint"]) == ([dev], THUMB)
    region = made(c.post(f"/api/{space}/machines", json=cloud("Region", [prod])))
    assert region["Endpoint"] == {"CommunicationStyle": "None", "DefaultWorkerPoolId": None, "Id": None}
    pool = c.get(f"/api/{space}/workerpools/all").json()[0]["Id"]
    pinned = made(c.post(f"/api/{space}/machines", json=cloud("Pinned", [prod], pool.lower())))
    assert pinned["Endpoint"]["DefaultWorkerPoolId"] == pool
    assert (
        made(c.post(f"/api/{space}/machines", json={**cloud("Off", [prod]), "IsDisabled": True}))["Status"]
        == "Disabled"
    )

    def names(path: str = "machines", **params: object) -> list[str]:
        page = c.get(f"/api/{space}/{path}", params=params)
        assert page.status_code == 200, page.text
        return [m["Name"] for m in page.json()["Items"]]

    assert names() == ["Off", "Pinned", "Poller", "Region", "Web 01"]
    assert c.get(f"/api/{space}/machines").json()["ItemType"] == "DeploymentTarget"
    assert names(roles="WEB") == ["Web 01"]  # roles match case-insensitively
    assert names(roles="db,api") == ["Poller", "Web 01"]
    assert names(roles="we") == []  # a whole role, not part of one
    assert names(environmentIds=dev) == ["Poller", "Web 01"]
    assert names(environmentIds=[dev, prod]) == ["Off", "Pinned", "Poller", "Region", "Web 01"]
    assert names(commStyles="none") == ["Off", "Pinned", "Region"]
    assert names(commStyles="TentacleActive,TentaclePassive") == ["Poller", "Web 01"]
    assert names(isDisabled="true") == ["Off"]
    assert names(partialName="E") == ["Pinned", "Poller", "Region", "Web 01"]
    assert names(name="region") == ["Region"]
    assert names(ids=f"{poller['Id']},{region['Id']}") == ["Poller", "Region"]
    assert names(thumbprint=THUMB.lower()) == ["Poller", "Web 01"]
    assert names(healthStatuses="Healthy,Unknown,Unavailable,Unhealthy,HasWarnings") == names()
    refused(c.get(f"/api/{space}/machines", params={"healthStatuses": "Fine"}))
    refused(c.get(f"/api/{space}/machines", params={"environmentIds": "Dev"}))
    everyone = c.get(f"/api/{space}/machines/all", params={"roles": "cloud"}).json()
    assert sorted(m["Name"] for m in everyone) == ["Off", "Pinned", "Region"]
    assert names(f"environments/{dev}/machines") == ["Poller", "Web 01"]
    assert names(f"environments/{prod}/machines", roles="cloud", isDisabled="false") == ["Pinned", "Region"]
    assert c.get(f"/api/{space}/environments/Environments-999999/machines").status_code == 404

    # A client PUTs back what it read; a rename keeps the rest, an unchanged endpoint keeps its health.
    current = c.get(f"/api/{space}/machines/{web['Id']}").json()
    renamed = c.put(
        f"/api/{space}/machines/{web['Id']}", json={**current, "Name": "Web 02", "Roles": ["web"]}
    )
    assert renamed.status_code == 200, renamed.text
    after = renamed.json()
    assert (after["Name"], after["Roles"], after["EnvironmentIds"], after["Id"]) == (
        "Web 02",
        ["web"],
        [dev, prod],
        web["Id"],
    )
    moved = c.put(
        f"/api/{space}/machines/{pinned['Id']}",
        json={"EnvironmentIds": [dev], "Endpoint": cloud("x", [])["Endpoint"]},
    ).json()
    assert (moved["EnvironmentIds"], moved["Endpoint"]["DefaultWorkerPoolId"]) == ([dev], None)

    # A worker and a target may share a name: one agent is often both.
    worker = {"Name": "Web 02", "WorkerPoolIds": [pool], "Endpoint": listening("", [], [])["Endpoint"]}
    assert c.post(f"/api/{space}/workers", json=worker).status_code == 201
    assert refused(c.post(f"/api/{space}/machines", json=listening("web 02", [dev], [])), 409)

    deleted = c.delete(f"/api/{space}/machines/{poller['Id']}")
    assert deleted.status_code == 200 and deleted.json()["Name"] == "Poller"
    assert c.get(f"/api/{space}/machines/{poller['Id']}").status_code == 404
    assert c.delete(f"/api/{space}/machines/{poller['Id']}").status_code == 404


def test_machine_validation_names_what_is_wrong(server: ServerProcess) -> None:
    c = server.client
    space = new_space(c)
    dev = environment(c, space, "Dev")["Id"]
    other_space = new_space(c)
    elsewhere = environment(c, other_space, "Elsewhere")["Id"]

    def post(body: dict[str, Any]) -> str:
        return refused(c.post(f"/api/{space}/machines", json=body))

    assert "at least one environment" in post(listening("a", [], ["web"]))
    assert "Environments-999999" in post(listening("a", [dev, "Environments-999999"], ["web"]))
    assert elsewhere in post(listening("a", [elsewhere], ["web"]))  # another space's environment
    assert "'Dev'" in post(listening("a", ["Dev"], ["web"]))
    assert "comma" in post(listening("a", [dev], ["web,api"]))
    assert "200" in post(listening("a", [dev], ["x" * 201]))
    assert "Roles" in post(listening("a", [dev], ["  "]))
    assert "Roles" in post(listening("a", [dev], [7]))
    assert "WorkerPools-999999" in post(cloud("a", [dev], "WorkerPools-999999"))
    assert "DefaultWorkerPoolId" in post(cloud("a", [dev], "Default Worker Pool"))
    assert "CommunicationStyle" in post(
        {**listening("a", [dev], []), "Endpoint": {"CommunicationStyle": "Kubernetes"}}
    )
    assert "Thumbprint" in post(
        {
            **listening("a", [dev], []),
            "Endpoint": {"CommunicationStyle": "TentaclePassive", "Uri": "https://h/"},
        }
    )
    assert "AccountId" in post(
        {**listening("a", [dev], []), "Endpoint": {"CommunicationStyle": "Ssh", "Host": "h"}}
    )
    assert "Accounts-999999" in post(
        {
            **listening("a", [dev], []),
            "Endpoint": {"CommunicationStyle": "Ssh", "Host": "h", "AccountId": "Accounts-999999"},
        }
    )
    assert "MachinePoliciesX" in post(listening("a", [dev], [], MachinePolicyId="MachinePoliciesX-1"))
    assert "TenantIds" in post(listening("a", [dev], [], TenantIds=["Tenants-1"]))
    assert "TenantedDeploymentParticipation" in post(
        listening("a", [dev], [], TenantedDeploymentParticipation="Maybe")
    )
    assert "Name" in post({**listening("a", [dev], []), "Name": ""})
    assert "Endpoint" in post({"Name": "a", "EnvironmentIds": [dev]})
    assert c.get(f"/api/{space}/machines/all").json() == []  # nothing was half made

    target = made(c.post(f"/api/{space}/machines", json=listening("ok", [dev], ["web"])))
    put = c.put(f"/api/{space}/machines/{target['Id']}", json={"EnvironmentIds": []})
    assert "at least one environment" in refused(put)
    assert "Environments-999999" in refused(
        c.put(f"/api/{space}/machines/{target['Id']}", json={"EnvironmentIds": ["Environments-999999"]})
    )
    assert c.get(f"/api/{space}/machines/{target['Id']}").json()["EnvironmentIds"] == [dev]


def test_deleting_an_environment_is_refused_while_targets_or_lifecycles_use_it(server: ServerProcess) -> None:
    c = server.client
    space = new_space(c)
    staging = environment(c, space, "Staging")["Id"]
    target = made(c.post(f"/api/{space}/machines", json=listening("stage-web", [staging], ["web"])))
    message = refused(c.delete(f"/api/{space}/environments/{staging}"))
    assert "'stage-web'" in message and "'Staging'" in message

    assert c.delete(f"/api/{space}/machines/{target['Id']}").status_code == 200
    phases = [{"Name": "Only", "OptionalDeploymentTargets": [staging]}]
    lifecycle = made(c.post(f"/api/{space}/lifecycles", json={"Name": "Careful", "Phases": phases}))
    assert "'Careful'" in refused(c.delete(f"/api/{space}/environments/{staging}"))

    assert (
        c.put(f"/api/{space}/lifecycles/{lifecycle['Id']}", json={**lifecycle, "Phases": []}).status_code
        == 200
    )
    gone = c.delete(f"/api/{space}/environments/{staging}")
    assert gone.status_code == 200 and gone.json()["Name"] == "Staging"
    assert c.get(f"/api/{space}/environments/{staging}").status_code == 404


def test_another_spaces_target_is_not_found(server: ServerProcess) -> None:
    c = server.client
    space, other = new_space(c), new_space(c)
    target = made(c.post(f"/api/{space}/machines", json=cloud("mine", [environment(c, space, "Dev")["Id"]])))
    url = f"/api/{other}/machines/{target['Id']}"
    assert c.get(url).status_code == 404
    assert c.put(url, json={"Name": "stolen"}).status_code == 404
    assert c.delete(url).status_code == 404
    assert c.get(f"/api/{other}/machines/all").json() == []
    assert c.get(f"/api/{space}/machines/{target['Id']}").json()["Name"] == "mine"
    # Workers and targets share numbers, not routes.
    number = target["Id"].split("-")[1]
    assert c.get(f"/api/{space}/workers/Workers-{number}").status_code == 404


def test_a_health_task_checks_an_environments_targets(server: ServerProcess) -> None:
    """``EnvironmentId`` and ``Machines-n`` in a Health task's arguments pick deployment targets; a
    Cloud Region in a space whose default pool is empty is checked through the built-in worker."""
    c = server.client
    space = new_space(c)
    dev = environment(c, space, "Dev")["Id"]
    region = made(
        c.post(f"/api/{space}/machines", json={**cloud("Region", [dev]), "SkipInitialHealthCheck": True})
    )
    assert region["HealthStatus"] == "Unknown"
    for arguments in (
        {"EnvironmentId": dev},
        {"MachineIds": [region["Id"]]},
        {"RestrictedTo": "DeploymentTargets"},
    ):
        task = made(c.post(f"/api/{space}/tasks", json={"Name": "Health", "Arguments": arguments}))
        assert follow(c, task["Id"])["State"] == "Success"
        raw = c.get(f"/api/tasks/{task['Id']}/raw").text
        assert "Region: Healthy" in raw and "built-in worker" in raw
    checked = c.get(f"/api/{space}/machines/{region['Id']}").json()
    assert checked["HealthStatus"] == "Healthy" and "built-in worker" in checked["StatusSummary"]
    task = made(
        c.post(f"/api/{space}/tasks", json={"Name": "Health", "Arguments": {"RestrictedTo": "Workers"}})
    )
    assert "no enabled machines" in c.get(f"/api/tasks/{follow(c, task['Id'])['Id']}/raw").text
    refused(
        c.post(
            f"/api/{space}/tasks",
            json={"Name": "Health", "Arguments": {"EnvironmentId": "Environments-999999"}},
        )
    )
    refused(
        c.post(
            f"/api/{space}/tasks", json={"Name": "Health", "Arguments": {"MachineIds": ["Machines-999999"]}}
        )
    )
    refused(c.post(f"/api/{space}/tasks", json={"Name": "Health", "Arguments": {"RestrictedTo": "Tenants"}}))
