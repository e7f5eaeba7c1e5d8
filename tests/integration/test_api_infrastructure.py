"""Worker pools, workers and machine policies over real HTTP."""

from __future__ import annotations

import json
import threading

import httpx
import pytest

from conftest import ServerProcess, unique

pytestmark = pytest.mark.databases("SQLite", "PostgreSQL")

THUMB = "1234567890ABCDEF1234567890ABCDEF12345678"


def new_space(client: httpx.Client) -> str:
    response = client.post("/api/spaces", json={"Name": unique("Infra")})
    assert response.status_code == 201, response.text
    return str(response.json()["Id"])


def listening(name: str, pools: list[str], host: str = "127.0.0.1") -> dict[str, object]:
    """A made-up listening worker. It is health-checked as soon as it is added, so it points at a
    loopback port where nothing listens: a made-up host name would send a lookup off the machine."""
    return {
        "Name": name,
        "WorkerPoolIds": pools,
        "Endpoint": {
            "CommunicationStyle": "TentaclePassive",
            "Uri": f"https://{host}:1/",
            "Thumbprint": THUMB,
        },
    }


def test_pool_crud_and_one_default_per_space(server: ServerProcess) -> None:
    c = server.client
    space = new_space(c)
    original = c.get(f"/api/{space}/workerpools/all").json()[0]
    made = c.post(f"/api/{space}/workerpools", json={"Name": "Linux", "Description": "x"})
    assert made.status_code == 201
    pool = made.json()
    assert pool["Id"].startswith("WorkerPools-") and pool["WorkerPoolType"] == "StaticWorkerPool"
    assert c.get(f"/api/{space}/workerpools/{pool['Id']}").json()["Name"] == "Linux"
    assert c.post(f"/api/{space}/workerpools", json={"Name": "linux"}).status_code == 409

    moved = c.put(f"/api/{space}/workerpools/{pool['Id']}", json={**pool, "IsDefault": True})
    assert moved.status_code == 200 and moved.json()["IsDefault"] is True
    defaults = [p["Id"] for p in c.get(f"/api/{space}/workerpools/all").json() if p["IsDefault"]]
    assert defaults == [pool["Id"]]

    refused = c.delete(f"/api/{space}/workerpools/{pool['Id']}")
    assert refused.status_code == 400 and "default" in refused.json()["ErrorMessage"]
    assert c.delete(f"/api/{space}/workerpools/{original['Id']}").status_code == 200
    assert c.get(f"/api/{space}/workerpools/{original['Id']}").status_code == 404


def test_pool_paging_defaults_to_ten_and_filters_by_partial_name(server: ServerProcess) -> None:
    c = server.client
    space = new_space(c)
    for n in range(11):
        assert c.post(f"/api/{space}/workerpools", json={"Name": f"Pool {n:02d}"}).status_code == 201
    page = c.get(f"/api/{space}/workerpools").json()
    assert (page["ItemsPerPage"], page["TotalResults"], len(page["Items"]), page["NumberOfPages"]) == (
        10,
        12,
        10,
        2,
    )
    assert page["ItemType"] == "WorkerPool"
    found = c.get(f"/api/{space}/workerpools", params={"partialName": "pool 1"}).json()
    assert [p["Name"] for p in found["Items"]] == ["Pool 10"]


def test_workers_crud_filters_and_pool_membership(server: ServerProcess) -> None:
    c = server.client
    space = new_space(c)
    default_pool = c.get(f"/api/{space}/workerpools/all").json()[0]["Id"]
    other = c.post(f"/api/{space}/workerpools", json={"Name": "Other"}).json()["Id"]

    made = c.post(f"/api/{space}/workers", json=listening("Web 01", [default_pool], host="LOCALHOST"))
    assert made.status_code == 201, made.text
    worker = made.json()
    assert worker["Id"].startswith("Workers-")
    assert worker["Endpoint"]["Uri"] == "https://localhost:1/"  # host names are lower-cased
    assert (worker["Thumbprint"], worker["HealthStatus"], worker["IsInProcess"]) == (THUMB, "Unknown", False)
    assert "health check" in worker["StatusSummary"]
    policy = c.get(f"/api/{space}/machinepolicies/all").json()[0]["Id"]
    assert worker["MachinePolicyId"] == policy

    polling = {
        "name": "Poller",
        "workerpoolids": [other],
        "endpoint": {
            "communicationstyle": "TentacleActive",
            "uri": "poll://abcdefghijklmnopqrst/",
            "thumbprint": THUMB.lower(),
        },
    }
    made_polling = c.post(f"/api/{space}/workers", json=polling)
    assert made_polling.status_code == 201, made_polling.text
    assert made_polling.json()["Endpoint"]["Thumbprint"] == THUMB

    assert c.post(f"/api/{space}/workers", json=listening("web 01", [default_pool])).status_code == 409
    by_pool = c.get(f"/api/{space}/workers", params={"workerPoolIds": other}).json()
    assert [w["Name"] for w in by_pool["Items"]] == ["Poller"]
    by_name = c.get(f"/api/{space}/workers", params={"partialName": "web"}).json()
    assert [w["Name"] for w in by_name["Items"]] == ["Web 01"]
    by_health = c.get(f"/api/{space}/workers", params={"healthStatuses": "Unknown"}).json()
    assert by_health["TotalResults"] == 2
    assert c.get(f"/api/{space}/workers", params={"healthStatuses": "Healthy"}).json()["TotalResults"] == 0
    assert c.get(f"/api/{space}/workers", params={"isDisabled": "true"}).json()["TotalResults"] == 0
    by_thumb = c.get(f"/api/{space}/workers/all", params={"thumbprint": THUMB}).json()
    assert sorted(w["Name"] for w in by_thumb) == ["Poller", "Web 01"]
    in_pool = c.get(f"/api/{space}/workerpools/{other}/workers").json()
    assert [w["Name"] for w in in_pool["Items"]] == ["Poller"]

    # A client PUTs back what it read, read-only fields included.
    changed = c.put(
        f"/api/{space}/workers/{worker['Id']}", json={**worker, "IsDisabled": True, "WorkerPoolIds": [other]}
    )
    assert changed.status_code == 200, changed.text
    assert (changed.json()["IsDisabled"], changed.json()["WorkerPoolIds"], changed.json()["Status"]) == (
        True,
        [other],
        "Disabled",
    )

    refused = c.delete(f"/api/{space}/workerpools/{other}")
    assert refused.status_code == 400 and "2 workers" in refused.json()["ErrorMessage"]
    assert c.delete(f"/api/{space}/workers/{worker['Id']}").status_code == 200
    assert c.get(f"/api/{space}/workers/{worker['Id']}").status_code == 404


def test_invalid_workers_are_refused_with_reasons(server: ServerProcess) -> None:
    c = server.client
    space = new_space(c)
    pool = c.get(f"/api/{space}/workerpools/all").json()[0]["Id"]
    bad_endpoints = [
        {"CommunicationStyle": "TentaclePassive", "Uri": "http://web:10933/", "Thumbprint": THUMB},
        {"CommunicationStyle": "TentaclePassive", "Uri": "https://web:10933/", "Thumbprint": "123"},
        {"CommunicationStyle": "TentacleActive", "Uri": "https://web/", "Thumbprint": THUMB},
        {"CommunicationStyle": "Ssh", "Host": "", "Port": 22, "AccountId": "Accounts-1"},
        {"CommunicationStyle": "Carrier pigeon"},
    ]
    for endpoint in bad_endpoints:
        response = c.post(
            f"/api/{space}/workers", json={"Name": unique("w"), "WorkerPoolIds": [pool], "Endpoint": endpoint}
        )
        assert response.status_code == 400, (endpoint, response.text)
        assert response.json()["Errors"]
    no_pool = c.post(f"/api/{space}/workers", json={**listening("x", []), "WorkerPoolIds": []})
    assert no_pool.status_code == 400
    elsewhere = c.post(f"/api/{space}/workers", json=listening("y", ["WorkerPools-999999"]))
    assert elsewhere.status_code == 400 and "WorkerPools-999999" in elsewhere.json()["ErrorMessage"]
    account = c.post(
        "/api/" + space + "/accounts",
        json={
            "Name": unique("acct"),
            "AccountType": "UsernamePassword",
            "Username": "u",
            "Password": {"HasValue": True, "NewValue": "pw"},
        },
    ).json()["Id"]
    ssh = c.post(
        f"/api/{space}/workers",
        json={
            "Name": unique("ssh"),
            "WorkerPoolIds": [pool],
            "Endpoint": {
                "CommunicationStyle": "Ssh",
                "Host": "127.0.0.1",
                "Port": 2222,
                "AccountId": account,
            },
        },
    )
    assert ssh.status_code == 201 and ssh.json()["Endpoint"]["Uri"] == "ssh://127.0.0.1:2222/"


def test_machine_policies(server: ServerProcess) -> None:
    c = server.client
    space = new_space(c)
    template = c.get(f"/api/{space}/machinepolicies/template").json()
    assert template["MachineHealthCheckPolicy"]["HealthCheckInterval"] == "01:00:00"
    made = c.post(
        f"/api/{space}/machinepolicies",
        json={"Name": "Fast checks", "machineHealthCheckPolicy": {"healthCheckInterval": "00:00:05"}},
    )
    assert made.status_code == 201, made.text
    policy = made.json()
    assert policy["MachineHealthCheckPolicy"]["HealthCheckInterval"] == "00:00:05"
    assert policy["MachineHealthCheckPolicy"]["HealthCheckType"] == "RunScript"  # the rest keeps its default
    assert policy["PollingRequestQueueTimeout"] == "00:02:00"

    bad = c.put(f"/api/{space}/machinepolicies/{policy['Id']}", json={"PollingRequestQueueTimeout": "soon"})
    assert bad.status_code == 400 and any("PollingRequestQueueTimeout" in e for e in bad.json()["Errors"])
    assert (
        c.get(f"/api/{space}/machinepolicies/{policy['Id']}").json()["PollingRequestQueueTimeout"]
        == "00:02:00"
    )

    listed = c.get(f"/api/{space}/machinepolicies").json()
    assert listed["ItemType"] == "MachinePolicy" and listed["TotalResults"] == 2
    default = next(p for p in listed["Items"] if p["IsDefault"])
    refused = c.delete(f"/api/{space}/machinepolicies/{default['Id']}")
    assert refused.status_code == 400
    assert c.delete(f"/api/{space}/machinepolicies/{policy['Id']}").status_code == 200


def test_names_in_any_script_are_kept_and_unique_whatever_their_case(server: ServerProcess) -> None:
    """Names are unique by their case-folded form, which can be longer than the name ("ß" folds to
    "ss", "ﬃ" to "ffi", "İ" lowers to two characters): the longest names allowed still fit."""
    c = server.client
    space = c.post("/api/spaces", json={"Name": "ß" * 45 + unique("")[-5:]})
    assert space.status_code == 201, space.text
    pools = f"/api/{space.json()['Id']}/workerpools"
    for name, spelled in (("ﬃ" * 200, "ﬃ" * 200), ("İ" * 200, "İ" * 200), ("Straße", "STRASSE")):
        made = c.post(pools, json={"Name": name})
        assert made.status_code == 201, made.text
        found = c.get(pools, params={"name": spelled}).json()["Items"]
        assert [p["Name"] for p in found] == [name]
        taken = c.post(pools, json={"Name": spelled})
        assert taken.status_code == 409 and "already exists" in taken.json()["ErrorMessage"]


def test_lists_sort_names_by_their_case_folded_characters(server: ServerProcess) -> None:
    """The same order on every database, whatever collation PostgreSQL was set up with: characters
    compared one by one (as Python sorts ``str.casefold``), so punctuation and accents count."""
    prefix = unique("Order")
    names = [f"{prefix} 10", f"{prefix}-1", f"{prefix}1", f"{prefix}_2", f"{prefix}Zeta", f"{prefix}éclair"]
    names += [f"{prefix}Eclair"]
    for name in names:
        assert server.client.post("/api/spaces", json={"Name": name}).status_code == 201
    listed = server.client.get("/api/spaces", params={"partialName": prefix, "take": 100}).json()["Items"]
    assert [s["Name"] for s in listed] == sorted(names, key=str.casefold)


def test_unscoped_routes_act_on_the_default_space(server: ServerProcess) -> None:
    c = server.client
    name = unique("Unscoped")
    made = c.post("/api/workerpools", json={"Name": name})
    assert made.status_code == 201 and made.json()["SpaceId"] == "Spaces-1"
    assert c.get(f"/api/Spaces-1/workerpools/{made.json()['Id']}").json()["Name"] == name
    assert c.delete(f"/api/workerpools/{made.json()['Id']}").status_code == 200


def test_spaces_are_walled(server: ServerProcess) -> None:
    c = server.client
    a, b = new_space(c), new_space(c)
    pool_a = c.get(f"/api/{a}/workerpools/all").json()[0]["Id"]
    assert c.get(f"/api/{b}/workerpools/{pool_a}").status_code == 404
    assert c.post(f"/api/{b}/workers", json=listening("w", [pool_a])).status_code == 400


def test_the_worker_sharing_script_runs_unchanged(server: ServerProcess) -> None:
    """The described system's published "share workers across spaces" runbook, call for call: its
    spellings (``workerPools``, ``machinePolicies``), the ``/api/spaces/{id}/…`` alias, and a POST whose
    body PowerShell sends as form-encoded, carrying read-only fields and ``EndPoint``."""
    c = server.client
    pool_name = unique("AWS Worker Pool TF")
    initial, remaining = new_space(c), new_space(c)
    for space in (initial, remaining):
        assert c.post(f"/api/{space}/workerpools", json={"Name": pool_name}).status_code == 201
    pool_id = next(p["Id"] for p in c.get(f"/api/{initial}/workerpools/all").json() if p["Name"] == pool_name)
    assert c.post(f"/api/{initial}/workers", json=listening(unique("shared"), [pool_id])).status_code == 201

    # Get space list (page after page: the shared server may hold more spaces than one page)
    page = c.get("/api/spaces?skip=0").json()
    spaces = page["Items"]
    while len(spaces) < page["TotalResults"]:
        page = c.get(f"/api/spaces?skip={len(spaces)}").json()
        assert page["Items"], page
        spaces += page["Items"]
    assert {initial, remaining} <= {s["Id"] for s in spaces}
    for space in (initial, remaining):
        pools = c.get(f"/api/{space}/workerPools?skip=0")
        assert pools.status_code == 200, pools.text
        assert pool_name in [p["Name"] for p in pools.json()["Items"]]
    # Wait for workers to register themselves
    pool = next(p for p in c.get(f"/api/{initial}/workerpools/all").json() if p["Name"] == pool_name)
    registered = c.get(f"/api/{initial}/workerpools/{pool['Id']}/workers").json()["Items"]
    assert len(registered) == 1
    # Add workers to remaining spaces
    initial_pool = next(
        p for p in c.get(f"/api/{initial}/workerPools?skip=0").json()["Items"] if p["Name"] == pool_name
    )
    workers = c.get(f"/api/{initial}/workerPools/{initial_pool['Id']}/workers?skip=0").json()["Items"]
    target_pool = next(
        p for p in c.get(f"/api/{remaining}/workerPools?skip=0").json()["Items"] if p["Name"] == pool_name
    )
    policy = next(
        p
        for p in c.get(f"/api/{remaining}/machinepolicies?skip=0").json()["Items"]
        if p["Name"] == "Default Machine Policy"
    )
    for worker in workers:
        payload = {
            "Name": worker["Name"],
            "MachinePolicyId": policy["Id"],
            "IsDisabled": worker["IsDisabled"],
            "HealthStatus": worker["HealthStatus"],
            "HasLatestCalamari": worker["HasLatestCalamari"],
            "IsInProcess": True,
            "EndPoint": worker["Endpoint"],
            "WorkerPoolIds": [target_pool["Id"]],
        }
        added = c.post(
            f"/api/{remaining}/workers",
            content=json.dumps(payload),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert added.status_code == 201, added.text

    shared = c.get(f"/api/spaces/{remaining}/Workers/all").json()
    assert [(w["Name"], w["WorkerPoolIds"]) for w in shared] == [(workers[0]["Name"], [target_pool["Id"]])]
    assert c.get(f"/api/spaces/{remaining.lower()}/machinePolicies/all").json()[0]["Id"] == policy["Id"]
    # The spaces resource itself is still the space, under any spelling.
    assert c.get(f"/API/Spaces/{remaining}").json()["Id"] == remaining


def _all_at_once(server: ServerProcess, path: str, body: dict[str, object], clients: int = 8) -> list[int]:
    """POST one body from many clients released together; answers their status codes."""
    barrier = threading.Barrier(clients)
    statuses: list[int] = []

    def post() -> None:
        with httpx.Client(base_url=server.url, headers={"X-Octopus-ApiKey": server.api_key}) as client:
            barrier.wait()
            statuses.append(client.post(path, json=body).status_code)

    threads = [threading.Thread(target=post) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sorted(statuses)


def test_a_name_many_clients_take_at_once_is_one_201_and_the_rest_409(server: ServerProcess) -> None:
    """Names are checked, then written: clients racing for one name must all get the answers they would
    get one after the other, never a server error."""
    space = new_space(server.client)
    for path in (f"/api/{space}/workerpools", f"/api/{space}/machinepolicies", "/api/spaces"):
        assert _all_at_once(server, path, {"Name": unique("Race")}) == [201] + [409] * 7, path
