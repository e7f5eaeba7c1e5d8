"""Queuing and following a task outside FastAPI changes nothing a client sees: the same route serves the
same paths, the answers are the same bytes, and every refusal is FastAPI's own."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncGenerator
from typing import Any

import httpx
import pytest
from test_route_index import build, sample_paths, served_by

from argonaut.api.hot_routes import _stream, claimed
from conftest import ServerProcess, follow, script_task

pytestmark = pytest.mark.databases("SQLite", "PostgreSQL")

_CHANGING = {"Id", "QueueTime", "LastUpdatedTime", "StartTime", "CompletedTime", "Duration", "Links"}


@pytest.mark.databases("SQLite")
def test_every_path_served_outside_fastapi_is_one_fastapi_serves_with_the_same_route() -> None:
    app = build(True)
    requests = sample_paths(app) + [
        ("POST", "/api/tasks"),
        ("POST", "/api/Spaces-1/tasks"),
        ("POST", "/api/spaces-12/tasks"),
        ("GET", "/api/tasks/ServerTasks-7/stream"),
        ("GET", "/api/Spaces-3/tasks/ServerTasks-7/stream"),
        ("GET", "/api/tasks/not-a-task/stream"),
    ]
    served = 0
    for method, path in requests:
        if not claimed(method, path):
            continue
        served += 1
        kind, found = served_by(app, method, path)
        assert kind == "full", (method, path)
        scope = {"type": "http", "method": method, "path": path, "root_path": ""}
        _, _, route, _ = found[0]._match(scope)  # the route within the router FastAPI picked
        endpoint = route.endpoint
        assert (endpoint.__module__, endpoint.__name__) in {
            ("argonaut.api.routes_tasks", "create_task"),
            ("argonaut.api.routes_tasks", "stream"),
        }, (method, path)
    assert served >= 6
    # A space by name, another method, another collection: all FastAPI's.
    for method, path in [
        ("POST", "/api/Default/tasks"),
        ("PUT", "/api/Spaces-1/tasks"),
        ("GET", "/api/Spaces-1/tasks"),
        ("POST", "/api/Spaces-1/tasks/ServerTasks-1/stream"),
        ("GET", "/api/Spaces-1/workers/ServerTasks-1/stream"),
    ]:
        assert not claimed(method, path), (method, path)


def _same(fast: dict[str, Any], slow: dict[str, Any]) -> None:
    assert list(fast) == list(slow)  # same fields, same order
    assert {k: v for k, v in fast.items() if k not in _CHANGING} == {
        k: v for k, v in slow.items() if k not in _CHANGING
    }


def test_a_task_queued_and_followed_through_either_door_answers_the_same(server: ServerProcess) -> None:
    """The API key in its header takes the short way; in the query (as some clients send it) FastAPI's."""
    body = script_task("echo 'héllo ✓'")
    key = server.api_key
    with httpx.Client(base_url=server.url, timeout=60) as c:
        fast = c.post("/api/Spaces-1/tasks", json=body, headers={"X-Octopus-ApiKey": key})
        slow = c.post("/api/Spaces-1/tasks", params={"apikey": key}, json=body)
        assert (fast.status_code, slow.status_code) == (201, 201), (fast.text, slow.text)
        assert fast.headers["content-type"] == slow.headers["content-type"] == "application/json"
        _same(fast.json(), slow.json())
        streams = []
        for task, auth in ((fast.json(), {"headers": {"X-Octopus-ApiKey": key}}), (slow.json(), {})):
            params = {} if auth else {"apikey": key}
            got = c.get(f"/api/tasks/{task['Id']}/stream", params=params, **auth)  # type: ignore[arg-type]
            assert got.status_code == 200 and got.headers["content-type"] == "application/x-ndjson"
            streams.append([json.loads(line) for line in got.text.splitlines()])
    for lines in streams:
        assert "héllo ✓" in [line["MessageText"] for line in lines if line["Type"] == "Log"]
        assert lines[-1]["Type"] == "Task" and lines[-1]["Task"]["State"] == "Success"
    _same(streams[0][-1]["Task"], streams[1][-1]["Task"])
    # Either way the task is audited once, with the same event (written in the statement that queues it).
    audited = []
    for task in (fast.json(), slow.json()):
        events = server.client.get("/api/events", params={"regarding": task["Id"]}).json()["Items"]
        assert [e["Category"] for e in events] == ["TaskQueued"] and events[0]["Username"] == "admin"
        event = {k: v for k, v in events[0].items() if k not in ("Id", "Occurred", "Links")}
        audited.append(json.loads(json.dumps(event).replace(task["Id"], "<task>")))
    assert audited[0] == audited[1]
    assert audited[0]["RelatedDocumentIds"] == ["<task>", "Spaces-1"] and "<task>" in audited[0]["Message"]


def test_refusals_on_the_short_way_are_fastapis_answers(server: ServerProcess) -> None:
    c = server.client
    missing = c.post("/api/Spaces-1/tasks", json={"Arguments": {}})
    assert missing.status_code == 400 and missing.json()["ErrorMessage"], missing.text
    assert any("Name" in e for e in missing.json()["Errors"]), missing.text
    not_json = c.post("/api/Spaces-1/tasks", content=b"Name=AdHocScript")
    assert not_json.status_code == 400 and not_json.json()["Errors"], not_json.text
    unknown = c.post("/api/Spaces-1/tasks", json={"Name": "NoSuchTask"})
    assert unknown.status_code == 400 and "NoSuchTask" in unknown.json()["ErrorMessage"]
    elsewhere = c.post("/api/Spaces-999/tasks", json=script_task("echo no"))
    assert elsewhere.status_code == 404 and elsewhere.json()["Errors"]
    bad_key = httpx.post(
        f"{server.url}/api/Spaces-1/tasks",
        json=script_task("echo no"),
        headers={"X-Octopus-ApiKey": "API-NOPE"},
    )
    assert bad_key.status_code == 401 and "API key" in bad_key.json()["ErrorMessage"]
    assert c.get("/api/tasks/ServerTasks-999999/stream").status_code == 404
    assert c.get("/api/tasks/ServerTasks-1/stream", params={"since": "-1"}).status_code == 400
    # Nothing refused was queued.
    names = [t["Description"] for t in c.get("/api/Spaces-1/tasks", params={"take": 200}).json()["Items"]]
    assert "NoSuchTask" not in names


def test_following_from_a_line_number_skips_the_lines_before_it(server: ServerProcess) -> None:
    c = server.client
    task = c.post("/api/Spaces-1/tasks", json=script_task("echo one; echo two; echo three")).json()
    follow(c, task["Id"])
    everything = c.get(f"/api/tasks/{task['Id']}/stream").text.splitlines()
    numbers = [json.loads(line)["Number"] for line in everything if '"Type":"Log"' in line]
    later = c.get(f"/api/tasks/{task['Id']}/stream", params={"since": numbers[-1]}).text.splitlines()
    assert [json.loads(line)["Number"] for line in later if '"Type":"Log"' in line] == [numbers[-1]]


@pytest.mark.databases("SQLite")
async def test_a_client_that_goes_stops_the_following_at_once() -> None:
    """A task may run for hours: its follower ends when the client goes, not when the task does."""
    released = asyncio.Event()
    sent: list[dict[str, Any]] = []

    async def endless() -> AsyncGenerator[bytes, None]:
        try:
            yield b"first\n"
            await asyncio.Event().wait()  # the task runs on and on
            yield b"never\n"
        finally:
            released.set()

    received = asyncio.Queue[dict[str, Any]]()
    received.put_nowait({"type": "http.request", "body": b"", "more_body": False})

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)
        if message.get("body") == b"first\n":
            received.put_nowait({"type": "http.disconnect"})

    await asyncio.wait_for(_stream(endless(), received.get, send), 5)  # type: ignore[arg-type]
    assert released.is_set()
    assert [m.get("body") for m in sent if m["type"] == "http.response.body"] == [b"first\n"]
