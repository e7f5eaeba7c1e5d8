"""Authentication, the root document, and spaces over real HTTP."""

from __future__ import annotations

import httpx
import pytest

from conftest import ServerProcess, unique

pytestmark = pytest.mark.databases("SQLite", "PostgreSQL")


def test_root_and_health_need_no_key(server: ServerProcess) -> None:
    root = httpx.get(f"{server.url}/api").json()
    assert root["ApiVersion"] == "3.0.0"
    assert root["Links"]["Swagger"] == "/api/openapi.json"
    assert root["CommsPort"] == server.comms_port  # the bound port, though the server was given 0
    assert httpx.get(f"{server.url}/api/openapi.json").json()["openapi"].startswith("3.")
    assert httpx.get(f"{server.url}/api/health").json()["Status"] == "Healthy"


def test_every_other_route_needs_a_valid_key(server: ServerProcess) -> None:
    missing = httpx.get(f"{server.url}/api/spaces")
    assert missing.status_code == 401
    assert set(missing.json()) == {"ErrorMessage", "Errors"}
    wrong = httpx.get(
        f"{server.url}/api/Spaces-1/workers", headers={"X-Octopus-ApiKey": "API-WRONGWRONGWRONGWRONGWRONGWR"}
    )
    assert wrong.status_code == 401
    assert "not valid" in wrong.json()["ErrorMessage"]
    by_query = httpx.get(f"{server.url}/api/spaces", params={"apikey": server.api_key})
    assert by_query.status_code == 200


def test_first_start_created_the_default_space_pool_and_policy(server: ServerProcess) -> None:
    space = server.client.get("/api/spaces/Spaces-1").json()
    assert (space["Name"], space["IsDefault"]) == ("Default", True)
    pools = server.client.get("/api/Spaces-1/workerpools/all").json()
    assert [p["Name"] for p in pools if p["IsDefault"]] == ["Default Worker Pool"]
    policies = server.client.get("/api/machinepolicies/all").json()
    assert [p["Name"] for p in policies if p["IsDefault"]] == ["Default Machine Policy"]
    assert server.client.get("/api/users/me").json()["Username"] == "admin"


def test_key_is_stored_only_as_a_hash(server: ServerProcess) -> None:
    content = server.stored_content()
    assert b"Default Worker Pool" in content  # the check reads the real database
    assert server.api_key.encode() not in content
    assert oct((server.home / "master.key").stat().st_mode & 0o777) == "0o600"


def test_space_crud_and_its_own_defaults(server: ServerProcess) -> None:
    name = unique("Team")
    created = server.client.post(
        "/api/spaces", json={"name": name, "description": "ours"}
    )  # lower-case fields
    assert created.status_code == 201, created.text
    space = created.json()
    assert space["Id"].startswith("Spaces-") and space["Description"] == "ours" and not space["IsDefault"]
    pools = server.client.get(f"/api/{space['Id']}/workerpools/all").json()
    assert [(p["Name"], p["IsDefault"], p["SpaceId"]) for p in pools] == [
        ("Default Worker Pool", True, space["Id"])
    ]
    assert server.client.get(f"/api/{space['Id']}/machinepolicies/all").json()[0]["IsDefault"] is True

    renamed = server.client.put(f"/api/spaces/{space['Id']}", json={**space, "Name": name + "-x"})
    assert renamed.status_code == 200 and renamed.json()["Name"] == name + "-x"
    duplicate = server.client.post("/api/spaces", json={"Name": name + "-X"})
    assert duplicate.status_code == 409
    assert "already exists" in duplicate.json()["ErrorMessage"]

    assert server.client.delete(f"/api/spaces/{space['Id']}").status_code == 200
    gone = server.client.get(f"/api/spaces/{space['Id']}")
    assert gone.status_code == 404 and gone.json()["Errors"]
    assert server.client.get(f"/api/{space['Id']}/workerpools").status_code == 404


def test_default_space_cannot_be_deleted(server: ServerProcess) -> None:
    refused = server.client.delete("/api/spaces/Spaces-1")
    assert refused.status_code == 400
    assert "default space" in refused.json()["ErrorMessage"]
    assert server.client.get("/api/spaces/Spaces-1").status_code == 200


def test_spaces_page_by_skip_and_all_is_a_plain_array(server: ServerProcess) -> None:
    prefix = unique("Paged")
    for n in range(3):
        assert server.client.post("/api/spaces", json={"Name": f"{prefix}-{n}"}).status_code == 201
    first = server.client.get("/api/spaces", params={"partialName": prefix, "take": 2}).json()
    assert (
        first["TotalResults"],
        first["ItemsPerPage"],
        first["NumberOfPages"],
        first["LastPageNumber"],
    ) == (3, 2, 2, 1)
    assert first["ItemType"] == "Space" and "Page.Next" in first["Links"]
    second = server.client.get("/api/spaces", params={"partialname": prefix, "take": 2, "skip": 2}).json()
    names = [s["Name"] for s in first["Items"] + second["Items"]]
    assert names == [f"{prefix}-0", f"{prefix}-1", f"{prefix}-2"]
    everything = server.client.get("/api/spaces/all").json()
    assert isinstance(everything, list) and {f"{prefix}-2", "Default"} <= {s["Name"] for s in everything}


def test_bad_input_is_a_4xx_with_the_error_shape(server: ServerProcess) -> None:
    cases = [
        server.client.post("/api/spaces", content=b"{not json"),
        server.client.post("/api/spaces", json={"Name": ""}),
        server.client.post("/api/spaces", json=["a list"]),
        server.client.get("/api/spaces", params={"skip": -1}),
        server.client.get("/api/spaces", params={"ids": "Workers-1"}),
        server.client.get("/api/spaces/not-an-id"),
        # Past what the store's integer ids hold (2**31 - 1): no such resource, not a database error.
        server.client.get("/api/spaces/Spaces-99999999999"),
        server.client.get("/api/tasks/ServerTasks-2147483648"),
        server.client.get("/api/Spaces-1/workers", params={"ids": "Workers-99999999999"}),
        server.client.get("/api/Spaces-1/artifacts", params={"regarding": "ServerTasks-99999999999"}),
        server.client.get("/api/nowhere/workers"),
    ]
    for response in cases:
        assert 400 <= response.status_code < 500, (response.request.url, response.status_code, response.text)
        body = response.json()
        assert isinstance(body["ErrorMessage"], str) and body["ErrorMessage"]
        assert isinstance(body["Errors"], list) and body["Errors"]
