"""Users, passwords, login sessions with CSRF, failed-login throttling and API keys, over real HTTP."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import httpx
import pytest

from conftest import ServerProcess, unique

pytestmark = pytest.mark.databases("SQLite", "PostgreSQL")

SESSION = "OctopusIdentificationToken"
CSRF = "Octopus-Csrf-Token"


def _create_user(server: ServerProcess, password: str | None = None) -> tuple[dict[str, Any], str]:
    name = unique("user")
    password = password or unique("pw-secret-")
    created = server.client.post(
        "/api/users",
        json={
            "Username": name,
            "DisplayName": "Some One",
            "EmailAddress": "a@example.com",
            "Password": password,
        },
    )
    assert created.status_code == 201, created.text
    assert password not in created.text and "Hash" not in created.text.replace("HasPassword", "")
    return created.json(), password


def _login(server: ServerProcess, username: str, password: str) -> httpx.Client:
    client = httpx.Client(base_url=server.url, timeout=30)
    answer = client.post("/api/users/login", json={"Username": username, "Password": password})
    assert answer.status_code == 200, answer.text
    return client


def test_login_sets_cookies_and_csrf_guards_changes(server: ServerProcess) -> None:
    user, password = _create_user(server)
    assert user["Id"].startswith("Users-") and user["IsActive"] and not user["IsService"]
    assert (user["Identities"], user["CanPasswordBeEdited"], user["IsRequestor"]) == ([], True, False)
    browser = httpx.Client(base_url=server.url, timeout=30)
    login = browser.post(
        "/api/users/login", json={"Username": user["Username"], "Password": password, "RememberMe": True}
    )
    assert login.status_code == 200, login.text
    assert login.json()["Id"] == user["Id"] and password not in login.text
    cookies = {c.split("=", 1)[0]: c.lower() for c in login.headers.get_list("set-cookie")}
    assert "httponly" in cookies[SESSION] and "samesite=lax" in cookies[SESSION]
    assert "httponly" not in cookies[CSRF] and "samesite=lax" in cookies[CSRF]
    token, csrf = browser.cookies[SESSION], browser.cookies[CSRF]

    me = browser.get("/api/users/me")
    assert me.status_code == 200 and me.json()["Username"] == user["Username"] and me.json()["IsRequestor"]

    keys = f"/api/users/{user['Id']}/apikeys"
    refused = browser.post(keys, json={"Purpose": "from the browser"})
    assert refused.status_code == 403
    assert "X-Octopus-Csrf-Token" in refused.json()["ErrorMessage"]
    wrong = browser.post(keys, json={"Purpose": "from the browser"}, headers={"X-Octopus-Csrf-Token": "nope"})
    assert wrong.status_code == 403
    made = browser.post(keys, json={"Purpose": "from the browser"}, headers={"X-Octopus-Csrf-Token": csrf})
    assert made.status_code == 201, made.text
    # An API-key request needs no CSRF token; the user's own key works for the user.
    with httpx.Client(base_url=server.url, headers={"X-Octopus-ApiKey": made.json()["ApiKey"]}) as by_key:
        assert by_key.post(keys, json={"Purpose": "by key"}).status_code == 201
        # Not an administrator: others' keys and users are not theirs to manage.
        assert by_key.get("/api/users").status_code == 403
        assert by_key.post("/api/users/Users-1/apikeys", json={"Purpose": "x"}).status_code == 403

    assert browser.post("/api/users/logout", headers={"X-Octopus-Csrf-Token": csrf}).status_code == 200
    assert browser.get("/api/users/me").status_code == 401
    ended = httpx.get(f"{server.url}/api/users/me", cookies={SESSION: token})
    assert ended.status_code == 401 and "log in again" in ended.json()["ErrorMessage"]
    # The gate refuses a body sent with an ended session before reading it.
    late = httpx.post(
        f"{server.url}{keys}",
        json={"Purpose": "late"},
        cookies={SESSION: token},
        headers={"X-Octopus-Csrf-Token": csrf},
    )
    assert late.status_code == 401


def test_password_rules_and_user_changes(server: ServerProcess) -> None:
    name = unique("rules")
    short = server.client.post("/api/users", json={"Username": name, "Password": "short"})
    assert short.status_code == 400 and "8 characters" in short.json()["ErrorMessage"]
    same = server.client.post("/api/users", json={"Username": name + "xyz", "Password": name + "xyz"})
    assert same.status_code == 400 and "user name" in same.json()["ErrorMessage"]
    service = server.client.post(
        "/api/users", json={"Username": name, "IsService": True, "Password": "p" * 12}
    )
    assert service.status_code == 400
    service = server.client.post("/api/users", json={"Username": name, "IsService": True})
    assert service.status_code == 201 and service.json()["CanPasswordBeEdited"] is False
    duplicate = server.client.post("/api/users", json={"Username": name.upper(), "IsService": True})
    assert duplicate.status_code == 400 and "already exists" in duplicate.json()["ErrorMessage"]

    user, password = _create_user(server)
    browser = _login(server, user["Username"], password)
    csrf = {"X-Octopus-Csrf-Token": browser.cookies[CSRF]}
    url = f"/api/users/{user['Id']}"
    no_old = browser.put(url, json={**user, "Password": "a-new-password"}, headers=csrf)
    assert no_old.status_code == 400 and "current" in no_old.json()["ErrorMessage"]
    bad_old = browser.put(
        url, json={**user, "Password": "a-new-password", "OldPassword": "wrong!!!"}, headers=csrf
    )
    assert bad_old.status_code == 400
    changed = browser.put(
        url,
        json={**user, "DisplayName": "Renamed", "Password": "a-new-password", "OldPassword": password},
        headers=csrf,
    )
    assert changed.status_code == 200 and changed.json()["DisplayName"] == "Renamed"
    assert browser.put(url, json={**user, "IsActive": False}, headers=csrf).status_code == 403
    _login(server, user["Username"], "a-new-password")
    # An administrator sets a password without the old one.
    reset = server.client.put(url, json={"Password": "admin-chosen-pw"})
    assert reset.status_code == 200
    _login(server, user["Username"], "admin-chosen-pw")

    me = server.client.get("/api/users/me").json()
    yourself = server.client.delete(f"/api/users/{me['Id']}")
    assert yourself.status_code == 400 and "your own" in yourself.json()["ErrorMessage"]
    listed = server.client.get("/api/users", params={"partialName": user["Username"]}).json()
    assert [u["Id"] for u in listed["Items"]] == [user["Id"]]
    assert server.client.delete(url).status_code == 200
    assert server.client.get(url).status_code == 404


def test_failed_logins_are_throttled_per_user(server: ServerProcess) -> None:
    user, password = _create_user(server)
    unknown = httpx.post(
        f"{server.url}/api/users/login", json={"Username": unique("nobody"), "Password": "x" * 9}
    )
    for _ in range(5):
        wrong = httpx.post(
            f"{server.url}/api/users/login", json={"Username": user["Username"], "Password": "x" * 9}
        )
        assert wrong.status_code == 400
        assert wrong.json() == unknown.json()  # the same whether the user exists or not
    locked = httpx.post(
        f"{server.url}/api/users/login", json={"Username": user["Username"], "Password": password}
    )
    assert locked.status_code == 429
    assert 0 < int(locked.headers["Retry-After"]) <= 60
    assert "Too many failed login attempts" in locked.json()["ErrorMessage"]


def test_failed_logins_are_throttled_per_address(server_factory: Any) -> None:
    server: ServerProcess = server_factory(env={"ARGONAUT_LOGIN_ADDRESS_FAILURES": "6"})
    (first, _), (second, _), (third, password) = (_create_user(server) for _ in range(3))
    for name, times in ((first["Username"], 4), (second["Username"], 2)):
        for _ in range(times):
            answer = httpx.post(f"{server.url}/api/users/login", json={"Username": name, "Password": "x" * 9})
            assert answer.status_code == 400
    other = httpx.post(
        f"{server.url}/api/users/login", json={"Username": third["Username"], "Password": password}
    )
    assert other.status_code == 429 and int(other.headers["Retry-After"]) > 0


def test_api_keys_are_shown_once_and_revoked_at_once(server: ServerProcess) -> None:
    user, password = _create_user(server)
    keys = f"/api/users/{user['Id']}/apikeys"
    created = server.client.post(keys, json={"Purpose": "CI"})
    assert created.status_code == 201, created.text
    key = created.json()
    assert key["Id"].startswith("APIKeys-") and key["UserId"] == user["Id"] and key["Expires"] is None
    assert key["ApiKey"].startswith("API-") and key["Purpose"] == "CI" and key["Created"]
    listed = server.client.get(keys).json()["Items"]
    assert [k["Id"] for k in listed] == [key["Id"]] and "ApiKey" not in listed[0]
    assert key["ApiKey"] not in server.client.get(keys).text
    one = server.client.get(f"{keys}/{key['Id']}")
    assert one.status_code == 200 and one.json()["Purpose"] == "CI" and "ApiKey" not in one.json()

    with httpx.Client(base_url=server.url, headers={"X-Octopus-ApiKey": key["ApiKey"]}) as by_key:
        for _ in range(2):  # the second answer comes from the node's cache of verified keys
            assert by_key.get("/api/users/me").json()["Username"] == user["Username"]
        assert server.client.delete(f"{keys}/{key['Id']}").status_code == 200
        revoked = by_key.get("/api/users/me")
        assert revoked.status_code == 401 and "not valid" in revoked.json()["ErrorMessage"]
    assert server.client.get(f"{keys}/{key['Id']}").status_code == 404

    past = (dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)).isoformat()
    assert server.client.post(keys, json={"Purpose": "old", "Expires": past}).status_code == 400
    soon = (dt.datetime.now(dt.UTC) + dt.timedelta(seconds=2)).isoformat()
    short_lived = server.client.post(keys, json={"Purpose": "brief", "Expires": soon}).json()
    assert short_lived["Expires"] is not None
    with httpx.Client(base_url=server.url, headers={"X-Octopus-ApiKey": short_lived["ApiKey"]}) as by_key:
        assert by_key.get("/api/users/me").status_code == 200
        expires = dt.datetime.fromisoformat(short_lived["Expires"])
        time.sleep(max(0.0, (expires - dt.datetime.now(dt.UTC)).total_seconds()) + 0.2)  # just past it
        expired = by_key.get("/api/users/me")
        assert expired.status_code == 401 and "expired" in expired.json()["ErrorMessage"]

    # A disabled user's keys stop working at once too.
    lasting = server.client.post(keys, json={"Purpose": "lasting"}).json()["ApiKey"]
    assert httpx.get(f"{server.url}/api/users/me", headers={"X-Octopus-ApiKey": lasting}).status_code == 200
    assert server.client.put(f"/api/users/{user['Id']}", json={"IsActive": False}).status_code == 200
    disabled = httpx.get(f"{server.url}/api/users/me", headers={"X-Octopus-ApiKey": lasting})
    assert disabled.status_code == 401 and "disabled" in disabled.json()["ErrorMessage"]
    refused = httpx.post(
        f"{server.url}/api/users/login", json={"Username": user["Username"], "Password": password}
    )
    assert refused.status_code == 400

    # Neither passwords nor keys are kept or told anywhere: not in the database, not in the events.
    content = server.stored_content()
    assert b"LoginFailed" in content
    for secret in (password, key["ApiKey"], lasting):
        assert secret.encode() not in content
    events = server.client.get("/api/events", params={"take": 1000})
    if events.status_code == 200:
        assert password not in events.text and key["ApiKey"] not in events.text


def test_session_cookie_events_and_no_password_in_store(server: ServerProcess) -> None:
    user, password = _create_user(server)
    browser = _login(server, user["Username"], password)
    assert browser.get("/api/users/me").status_code == 200
    content = server.stored_content()
    assert b"LoginSucceeded" in content and password.encode() not in content
    assert browser.cookies[SESSION].encode() not in content  # only the token's hash is kept


def test_first_start_prints_a_generated_admin_password_once(server_factory: Any) -> None:
    # Without ARGONAUT_ADMIN_PASSWORD the first start makes one up and prints it, once, for the portal.
    fresh: ServerProcess = server_factory(env={"ARGONAUT_ADMIN_PASSWORD": ""})
    printed = [line for line in fresh.output if line.startswith("Admin password for the portal")]
    assert len(printed) == 1
    password = printed[0].rsplit(": ", 1)[1].strip()
    me = _login(fresh, "admin", password).get("/api/users/me").json()
    assert me["Username"] == "admin" and me["HasPassword"] is True
    assert password not in fresh.stored_content().decode("latin-1")
    fresh.stop()
    before = len(fresh.output)
    fresh.start()  # a restart seeds nothing and prints no password
    assert not [line for line in fresh.output[before:] if "Admin password" in line]


def test_first_start_takes_a_chosen_admin_password_without_printing_it(server_factory: Any) -> None:
    with_password: ServerProcess = server_factory(env={"ARGONAUT_ADMIN_PASSWORD": "first-start-pw"})
    assert not [line for line in with_password.output if "Admin password" in line]
    browser = _login(with_password, "admin", "first-start-pw")
    me = browser.get("/api/users/me").json()
    assert me["Username"] == "admin" and me["HasPassword"] is True
    assert "first-start-pw" not in with_password.stored_content().decode("latin-1")
    wrong = {"Username": "admin", "Password": "nope!"}
    refused = httpx.post(f"{with_password.url}/api/users/login", json=wrong)
    assert refused.status_code == 400
