"""The audit trail: every create, modify, delete, run and cancel through the API writes one event in
the described system's shape, with the differences of a modification (sensitive values only marked as
changed); ``/api/events`` filters by user, document, category and date; retention deletes old events
once per cluster."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import pytest
from sqlalchemy import insert

from argonaut.orchestrator.retention import EventRetention
from argonaut.service import events as service_events
from argonaut.store import Store
from argonaut.store.tables import events
from conftest import ServerProcess, follow, script_task, unique

pytestmark = pytest.mark.databases("SQLite", "PostgreSQL")


def events_of(client: httpx.Client, **query: Any) -> list[dict[str, Any]]:
    response = client.get("/api/events", params={"take": 100, **query})
    assert response.status_code == 200, response.text
    return list(response.json()["Items"])


def only(client: httpx.Client, regarding: str, category: str) -> dict[str, Any]:
    found = events_of(client, regarding=regarding, eventCategories=category)
    assert len(found) == 1, found
    return found[0]


def test_environment_lifecycle_is_audited(server: ServerProcess) -> None:
    c = server.client
    name = unique("Dev")
    made = c.post("/api/Spaces-1/environments", json={"Name": name, "Description": "first"})
    assert made.status_code == 201, made.text
    env = made.json()
    created = only(c, env["Id"], "Created")
    assert created["Username"] == "admin" and created["UserId"] == "Users-1"
    assert created["Message"] == f"admin created the environment {name} ({env['Id']})"
    assert created["SpaceId"] == "Spaces-1" and created["IdentityEstablishedWith"] == "API key"
    assert set(created["RelatedDocumentIds"]) >= {env["Id"], "Spaces-1"}
    assert created["Id"].startswith("Events-") and created["Occurred"] and created["IpAddress"]
    assert created["MessageReferences"] == [] and created["Links"]["Self"] == f"/api/events/{created['Id']}"
    assert c.get(f"/api/events/{created['Id']}").json() == created

    renamed = unique("Dev")
    changed = c.put(
        f"/api/Spaces-1/environments/{env['Id']}", json={**env, "Name": renamed, "Description": "second"}
    )
    assert changed.status_code == 200, changed.text
    modified = only(c, env["Id"], "Modified")
    differences = {d["path"]: d for d in modified["ChangeDetails"]["Differences"]}
    assert differences["/Name"] == {"op": "replace", "path": "/Name", "value": renamed}
    assert differences["/Description"]["value"] == "second"
    assert "/Links" not in differences and modified["Message"].startswith("admin modified the environment")
    assert modified["ChangeDetails"]["DocumentContext"]["Id"] == env["Id"]

    assert c.delete(f"/api/Spaces-1/environments/{env['Id']}").status_code in (200, 204)
    deleted = only(c, env["Id"], "Deleted")
    assert deleted["Message"] == f"admin deleted the environment {renamed} ({env['Id']})"
    # Newest first; the space route shows the same events.
    trail = events_of(c, regarding=env["Id"])
    assert [e["Category"] for e in trail] == ["Deleted", "Modified", "Created"]
    in_space = c.get("/api/Spaces-1/events", params={"regarding": env["Id"]}).json()["Items"]
    assert [e["Id"] for e in in_space] == [e["Id"] for e in trail]

    # A failed change writes nothing.
    assert c.post("/api/Spaces-1/environments", json={"Name": ""}).status_code == 400
    assert len(events_of(c, regarding=env["Id"])) == 3


def test_a_sensitive_variable_is_shown_as_changed_only(server: ServerProcess) -> None:
    c = server.client
    project = c.post("/api/Spaces-1/projects", json={"Name": unique("Web")}).json()
    url = f"/api/Spaces-1/variables/variableset-{project['Id']}"
    first, second = "s3cret-" + unique("a"), "s3cret-" + unique("b")
    body = {
        "Version": 0,
        "Variables": [
            {"Name": "Password", "Value": first, "IsSensitive": True},
            {"Name": "Greeting", "Value": "hello"},
        ],
    }
    saved = c.put(url, json=body)
    assert saved.status_code == 200, saved.text
    variables = saved.json()["Variables"]
    update = [{**v, "Value": second} if v["Name"] == "Password" else {**v, "Value": "hi"} for v in variables]
    again = c.put(url, json={"Version": saved.json()["Version"], "Variables": update})
    assert again.status_code == 200, again.text
    trail = events_of(c, regarding=f"variableset-{project['Id']}", eventCategories="Modified")
    assert len(trail) == 2
    text = str(trail)
    assert first not in text and second not in text
    latest = {d["path"]: d for d in trail[0]["ChangeDetails"]["Differences"]}
    index = [v["Name"] for v in variables].index("Password")
    assert latest[f"/Variables/{index}/Value"] == {
        "op": "replace",
        "path": f"/Variables/{index}/Value",
        "Sensitive": True,
    }
    greeting = 1 - index
    assert latest[f"/Variables/{greeting}/Value"]["value"] == "hi"


def test_user_and_api_key_events_have_the_shape_of_every_event(server: ServerProcess) -> None:
    c = server.client
    env = c.post("/api/Spaces-1/environments", json={"Name": unique("Shape")}).json()
    edited = c.put(f"/api/Spaces-1/environments/{env['Id']}", json={**env, "Description": "edited"})
    assert edited.status_code == 200, edited.text
    reference = only(c, env["Id"], "Modified")["ChangeDetails"]

    name, first, second = unique("shaped"), unique("pw-first-"), unique("pw-second-")
    user = c.post("/api/users", json={"Username": name, "Password": first}).json()
    changed = c.put(f"/api/users/{user['Id']}", json={"Password": second, "DisplayName": "Renamed"})
    assert changed.status_code == 200, changed.text
    key = c.post(f"/api/users/{user['Id']}/apikeys", json={"Purpose": "shape"})
    assert key.status_code == 201, key.text
    modified = only(c, user["Id"], "Modified")
    issued = only(c, key.json()["Id"], "Created")
    assert modified["Message"] == f"User {name} was modified"
    assert issued["Message"] == f"API key 'shape' was created for {name}"

    for details in (reference, modified["ChangeDetails"], issued["ChangeDetails"]):
        assert set(details) == {"DocumentContext", "Differences"}
        assert isinstance(details["DocumentContext"], dict) and details["DocumentContext"]["Id"]
        assert details["Differences"] and all(
            d["op"] in ("add", "replace", "remove")
            and d["path"].startswith("/")
            and set(d) <= {"op", "path", "value", "Sensitive"}
            for d in details["Differences"]
        )
    assert modified["ChangeDetails"]["DocumentContext"] == {"Id": user["Id"], "Name": name}
    assert issued["ChangeDetails"]["DocumentContext"]["Id"] == key.json()["Id"]
    password = {d["path"]: d for d in modified["ChangeDetails"]["Differences"]}
    assert password["/Password"] == {"op": "replace", "path": "/Password", "Sensitive": True}
    assert password["/DisplayName"]["value"] == "Renamed"
    issuing = {d["path"]: d for d in issued["ChangeDetails"]["Differences"]}
    assert issuing["/Purpose"] == {"op": "add", "path": "/Purpose", "value": "shape"}
    assert issuing["/ApiKey"] == {"op": "add", "path": "/ApiKey", "Sensitive": True}
    told = str(events_of(c, regarding=user["Id"])) + str(issued)
    for secret in (first, second, key.json()["ApiKey"], "$argon2"):
        assert secret not in told


def test_queuing_and_cancelling_a_task_are_audited(server: ServerProcess) -> None:
    c = server.client
    queued = c.post("/api/Spaces-1/tasks", json=script_task("sleep 30"))
    assert queued.status_code == 201, queued.text
    task_id = queued.json()["Id"]
    event = only(c, task_id, "TaskQueued")
    assert event["Message"].startswith("admin queued the task") and task_id in event["Message"]
    # Written with the task (on PostgreSQL in its insert, before the task's row could be read back): it
    # names the task the answer is.
    assert event["RelatedDocumentIds"] == [task_id, "Spaces-1"]
    assert event["ChangeDetails"]["DocumentContext"] == {
        "Id": task_id,
        "Name": queued.json()["Name"],
        "SpaceId": "Spaces-1",
    }
    assert c.post(f"/api/tasks/{task_id}/cancel").status_code == 200
    follow(c, task_id)
    canceled = only(c, task_id, "TaskCanceled")
    assert canceled["SpaceId"] == "Spaces-1" and canceled["Username"] == "admin"
    assert {e["Id"] for e in events_of(c, eventCategories="TaskQueued,TaskCanceled", regarding=task_id)} == {
        event["Id"],
        canceled["Id"],
    }


def test_filters_by_user_category_and_date(server: ServerProcess) -> None:
    c = server.client
    name = unique("Filtered")
    env = c.post("/api/Spaces-1/environments", json={"Name": name}).json()
    event = only(c, env["Id"], "Created")
    assert event["Id"] in {e["Id"] for e in events_of(c, users="Users-1")}
    assert event["Id"] in {e["Id"] for e in events_of(c, users="admin")}  # ours: a username works too
    assert events_of(c, users="Users-999999") == []
    assert events_of(c, regarding=env["Id"], eventCategories="Deleted") == []
    occurred = dt.datetime.fromisoformat(event["Occurred"])
    before = (occurred - dt.timedelta(seconds=1)).isoformat()
    after = (occurred + dt.timedelta(seconds=1)).isoformat()
    assert [e["Id"] for e in events_of(c, regarding=env["Id"], **{"from": before, "to": after})] == [
        event["Id"]
    ]
    assert events_of(c, regarding=env["Id"], **{"from": after}) == []
    assert events_of(c, regarding=env["Id"], to=before) == []
    page = c.get("/api/events", params={"take": 1, "skip": 0}).json()
    assert page["ItemType"] == "Event" and len(page["Items"]) == 1 and page["TotalResults"] >= 1
    categories = c.get("/api/events/categories").json()
    assert {"Created", "Modified", "Deleted", "TaskQueued", "TaskCanceled"} <= {x["Id"] for x in categories}
    assert c.get("/api/events/Events-999999").status_code == 404
    assert c.get("/api/events", params={"from": "not a date"}).status_code == 400


async def test_retention_deletes_old_events_once_per_cluster(store: Store) -> None:
    now = dt.datetime.now(dt.UTC)
    async with store.transaction() as conn:
        for age_days in (200, 100, 91, 10, 0):
            await conn.execute(
                insert(events).values(
                    category="Created",
                    message=f"{age_days} days old",
                    occurred=now - dt.timedelta(days=age_days),
                    related_document_ids=[],
                )
            )

    def purge(conn: Any) -> Any:
        return service_events.purge_older_than(conn, 90)

    one = EventRetention(store, "node-1", purge, batch=2)
    other = EventRetention(store, "node-2", purge, batch=2)
    assert await other.tick() == 3  # whoever holds the lease deletes everything past 90 days, batch by batch
    assert await one.tick() == 0  # the other node holds the lease
    async with store.transaction() as conn:
        left = (await conn.execute(events.select().order_by(events.c.id))).mappings().all()
    assert [row["message"] for row in left] == ["10 days old", "0 days old"]


def test_a_user_sees_the_events_of_the_spaces_they_may_view(server: ServerProcess) -> None:
    admin = server.client
    space = admin.post("/api/spaces", json={"Name": unique("Other")})
    assert space.status_code == 201, space.text
    other = space.json()["Id"]
    hidden = admin.post(f"/api/{other}/environments", json={"Name": unique("Hidden")}).json()
    shown = admin.post("/api/Spaces-1/environments", json={"Name": unique("Shown")}).json()

    user = admin.post("/api/users", json={"Username": unique("viewer"), "Password": "long-enough-1"}).json()
    key = admin.post(f"/api/users/{user['Id']}/apikeys", json={"Purpose": "test"}).json()["ApiKey"]
    viewer = httpx.Client(base_url=server.url, headers={"X-Octopus-ApiKey": key}, timeout=30)
    assert viewer.get("/api/events").status_code == 403  # no EventView anywhere yet

    roles = admin.get("/api/userroles", params={"take": 100}).json()["Items"]
    role = next(r for r in roles if r["Name"] == "Project Viewer")
    team = admin.post("/api/Spaces-1/teams", json={"Name": unique("Viewers"), "MemberUserIds": [user["Id"]]})
    assert team.status_code == 201, team.text
    held = admin.post(
        f"/api/teams/{team.json()['Id']}/scopeduserroles",
        json={"UserRoleId": role["Id"], "SpaceId": "Spaces-1"},
    )
    assert held.status_code == 201, held.text

    seen = viewer.get("/api/events", params={"take": 1000}).json()["Items"]
    assert seen and {e["SpaceId"] for e in seen} == {"Spaces-1"}
    ids = {e["Id"] for e in seen}
    assert only(admin, shown["Id"], "Created")["Id"] in ids
    hidden_event = only(admin, hidden["Id"], "Created")
    assert hidden_event["Id"] not in ids
    assert viewer.get(f"/api/events/{hidden_event['Id']}").status_code == 404
    assert viewer.get(f"/api/{other}/events").status_code in (403, 404)
    assert viewer.get("/api/Spaces-1/events").status_code == 200
