"""The portal's People pages in a real browser: users, teams and their roles, one's own API keys, the
audit log, and the server's errors shown beside the fields they are about."""

from __future__ import annotations

import re
from typing import Any

import httpx

from conftest import ServerProcess, sign_in, unique


def _space(server: ServerProcess) -> dict[str, Any]:
    created = server.client.post("/api/spaces", json={"Name": unique("People")})
    created.raise_for_status()
    space: dict[str, Any] = created.json()
    return space


def _user(server: ServerProcess, password: str, space: dict[str, Any] | None = None) -> dict[str, Any]:
    """A new user; with ``space``, a Project Viewer there (through a team of that space)."""
    admin = server.client
    name = unique("person")
    body = {"Username": name, "DisplayName": name, "Password": password, "IsService": False}
    created = admin.post("/api/users", json=body)
    created.raise_for_status()
    user: dict[str, Any] = created.json()
    if space is not None:
        team = admin.post(
            f"/api/{space['Id']}/teams", json={"Name": unique("Viewers"), "MemberUserIds": [user["Id"]]}
        )
        roles = admin.get("/api/userroles", params={"take": 1000}).json()["Items"]
        viewer = next(r["Id"] for r in roles if r["Name"] == "Project Viewer")
        held = {"UserRoleId": viewer, "SpaceId": space["Id"]}
        admin.post(f"/api/teams/{team.json()['Id']}/scopeduserroles", json=held).raise_for_status()
    return user


def _field(page: Any, label: str) -> Any:
    """The form field (label, input, help and errors) whose input has this label."""
    return page.locator(".field").filter(has=page.get_by_label(label))


def test_a_user_given_a_team_role_in_a_space_sees_only_that_space(
    page: Any, browser: Any, server: ServerProcess
) -> None:
    space = _space(server)
    environment = server.client.post(f"/api/{space['Id']}/environments", json={"Name": unique("Staging")})
    staging = environment.json()["Name"]
    sign_in(page, path=f"/app/{space['Id']}/people/users/new")
    name, display, password = unique("newcomer"), unique("New Comer"), "newcomer-password-1"
    page.get_by_label("User name").fill(name)
    page.get_by_label("Display name").fill(display)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Create user").click()
    page.get_by_role("heading", name=f"{display} ({name})").wait_for()

    page.get_by_role("navigation", name="People").get_by_role("link", name="Teams").click()
    page.get_by_role("button", name="Add team").click()
    team = unique("Deployers")
    page.get_by_label("Team name").fill(team)
    page.get_by_role("button", name="Create team").click()
    page.get_by_role("heading", name=team).wait_for()
    page.get_by_label("Members").select_option(label=f"{display} ({name})")
    page.get_by_role("button", name="Save").click()
    page.get_by_role("status").filter(has_text="Saved.").wait_for()
    page.get_by_label("Role").select_option(label="Project Viewer")
    page.get_by_label("Environments").select_option(label=staging)
    page.get_by_role("button", name="Give role").click()
    roles = page.get_by_role("table", name="Roles this team holds")
    held = roles.get_by_role("row").filter(has_text="Project Viewer").filter(has_text=space["Name"])
    held.filter(has_text=f"Environments: {staging}").wait_for()

    # The new user, in a browser of their own, sees that space and nothing else.
    context = browser.new_context(base_url=server.url)
    context.set_default_timeout(20_000)
    try:
        theirs = context.new_page()
        sign_in(theirs, name, password)
        assert theirs.url.endswith(f"/app/{space['Id']}/dashboard")
        assert theirs.get_by_label("Space").locator("option").all_inner_texts() == [space["Name"]]
        sections = theirs.get_by_role("navigation", name="Sections")
        assert sections.get_by_role("link", name="People").count() == 0
    finally:
        context.close()


def test_a_user_creates_and_revokes_their_own_api_key(page: Any, server: ServerProcess) -> None:
    password = "key-holder-password-1"
    user = _user(server, password, _space(server))
    sign_in(page, user["Username"], password)
    page.get_by_role("link", name=user["DisplayName"]).click()
    page.get_by_role("heading", name="Your profile").wait_for()
    page.get_by_text("You have no API keys.").wait_for()

    purpose = unique("build server")
    page.get_by_label("Purpose").fill(purpose)
    page.get_by_role("button", name="Create API key").click()
    shown = page.locator(".copybox code")
    shown.wait_for()
    key = shown.inner_text().strip()
    assert key.startswith("API-")
    assert page.get_by_role("button", name="Copy key").is_visible()
    with httpx.Client(base_url=server.url, headers={"X-Octopus-ApiKey": key}) as holder:
        assert holder.get("/api/users/me").json()["Id"] == user["Id"]

        page.once("dialog", lambda dialog: dialog.accept())
        page.get_by_role("button", name=f"Revoke {purpose}").click()
        page.get_by_text("You have no API keys.").wait_for()
        assert holder.get("/api/users/me").status_code == 401


def test_the_audit_log_shows_a_change_just_made_in_the_portal(page: Any, server: ServerProcess) -> None:
    space = _space(server)
    sign_in(page, path=f"/app/{space['Id']}/people/teams")
    team = unique("Auditors")
    page.get_by_role("button", name="Add team").click()
    page.get_by_label("Team name").fill(team)
    page.get_by_role("button", name="Create team").click()
    page.get_by_role("heading", name=team).wait_for()

    page.get_by_role("navigation", name="Sections").get_by_role("link", name="Audit").click()
    page.get_by_role("heading", name="Audit log").wait_for()
    entry = page.locator(".audit-entry").filter(has_text=team).first
    entry.wait_for()
    assert "admin" in entry.inner_text()
    assert re.search(r"\bCreated\b", entry.inner_text())
    # A filter narrows the log to what the user asked for: nothing regarding an unknown document.
    page.get_by_label("Regarding").fill("Projects-999999")
    page.get_by_role("button", name="Filter").click()
    page.get_by_text("No events match.").wait_for()


def test_the_servers_errors_show_beside_their_fields(page: Any, server: ServerProcess) -> None:
    taken = _user(server, "taken-password-1")
    space = _space(server)
    sign_in(page, path=f"/app/{space['Id']}/people/users/new")

    page.get_by_label("User name").fill(taken["Username"])
    page.get_by_label("Password").fill("a-long-enough-password")
    page.get_by_role("button", name="Create user").click()
    beside = _field(page, "User name").get_by_role("alert")
    beside.filter(has_text="already exists").wait_for()
    assert _field(page, "User name").get_by_label("User name").get_attribute("aria-invalid") == "true"

    page.get_by_label("User name").fill(unique("short"))
    page.get_by_label("Password").fill("abc")
    page.get_by_role("button", name="Create user").click()
    _field(page, "Password").get_by_role("alert").filter(has_text="at least 8 characters").wait_for()
    assert _field(page, "User name").get_by_role("alert").count() == 0


def test_a_user_changes_their_password_and_an_administrator_disables_them(
    page: Any, browser: Any, server: ServerProcess
) -> None:
    space = _space(server)
    old, new = "first-password-1", "second-password-2"
    user = _user(server, old, space)
    context = browser.new_context(base_url=server.url)
    context.set_default_timeout(20_000)
    try:
        theirs = context.new_page()
        sign_in(theirs, user["Username"], old, path="/app/profile")
        theirs.get_by_label("Current password").fill("not-my-password")
        theirs.get_by_label("New password").fill(new)
        theirs.get_by_role("button", name="Change password").click()
        _field(theirs, "Current password").get_by_role("alert").filter(has_text="not correct").wait_for()
        theirs.get_by_label("Current password").fill(old)
        theirs.get_by_role("button", name="Change password").click()
        theirs.get_by_role("status").filter(has_text="Password changed.").wait_for()
    finally:
        context.close()
    with httpx.Client(base_url=server.url) as anonymous:
        login = {"Username": user["Username"], "Password": new}
        assert anonymous.post("/api/users/login", json=login).status_code == 200

        sign_in(page, path=f"/app/{space['Id']}/people/users/{user['Id']}")
        page.get_by_role("button", name="Disable").click()
        page.get_by_text("This user is disabled").wait_for()
        assert anonymous.post("/api/users/login", json=login).status_code == 400
        page.get_by_role("button", name="Enable").click()
        page.get_by_role("button", name="Disable").wait_for()
        assert anonymous.post("/api/users/login", json=login).status_code == 200
