"""The portal's shell in a real browser: served at /app, signing in and out, the space switcher, and
the server's error shown where the user typed."""

from __future__ import annotations

import re
from typing import Any

import httpx

from conftest import ServerProcess, sign_in, unique


def test_the_portal_asks_for_a_login_and_signs_in_and_out(page: Any, server: ServerProcess) -> None:
    page.goto("/app")
    page.get_by_label("User name").fill("admin")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    # The server's own message, not a generic one, and the user stays on the login form.
    page.get_by_role("alert").filter(has_text="Invalid username or password").first.wait_for()
    sign_in(page)
    assert page.url.endswith("/dashboard")
    page.get_by_role("button", name="Sign out").click()
    page.get_by_role("button", name="Sign in").wait_for()
    # The session is gone on the server too: the API refuses the old cookie.
    page.goto("/app/Spaces-1/dashboard")
    page.get_by_role("button", name="Sign in").wait_for()


def test_the_space_switcher_lists_only_spaces_the_user_can_see(page: Any, server: ServerProcess) -> None:
    admin = server.client
    mine = admin.post("/api/spaces", json={"Name": unique("Mine")}).json()
    theirs = admin.post("/api/spaces", json={"Name": unique("Theirs")}).json()
    name, password = unique("viewer"), "viewer-password-1"
    user = admin.post(
        "/api/users", json={"Username": name, "DisplayName": name, "Password": password, "IsService": False}
    ).json()
    members = {"Name": unique("Viewers"), "MemberUserIds": [user["Id"]]}
    team = admin.post(f"/api/{mine['Id']}/teams", json=members)
    roles = admin.get("/api/userroles", params={"take": 1000}).json()["Items"]
    viewer = next(r["Id"] for r in roles if r["Name"] == "Project Viewer")
    admin.post(
        f"/api/teams/{team.json()['Id']}/scopeduserroles", json={"UserRoleId": viewer, "SpaceId": mine["Id"]}
    ).raise_for_status()

    sign_in(page, name, password, path=f"/app/{mine['Id']}/dashboard")
    options = page.get_by_label("Space").locator("option").all_inner_texts()
    assert mine["Name"] in options
    assert theirs["Name"] not in options
    # A link to the other space's page does not show it either.
    page.goto(f"/app/{theirs['Id']}/dashboard")
    page.get_by_text(f"There is no space '{theirs['Id']}' that you can see").wait_for()


def test_portal_files_are_served_by_the_node_with_a_strict_policy(server: ServerProcess) -> None:
    with httpx.Client(base_url=server.url) as anonymous:
        page = anonymous.get("/app/Spaces-1/tasks/ServerTasks-1")
        assert page.status_code == 200
        assert "default-src 'self'" in page.headers["content-security-policy"]
        script = anonymous.get("/app/static/app.js")
        assert script.status_code == 200 and script.headers["content-type"].startswith("text/javascript")
        again = anonymous.get("/app/static/app.js", headers={"If-None-Match": script.headers["etag"]})
        assert again.status_code == 304
        assert anonymous.get("/app/static/nothing.js").status_code == 404
        # The page names its files under a prefix that changes with them, so browsers keep them for good.
        named = re.search(r'src="(/app/static/[0-9a-f]{12}/app.js)"', page.text)
        assert named is not None
        kept = anonymous.get(named.group(1))
        assert kept.content == script.content and "immutable" in kept.headers["cache-control"]
        assert anonymous.get("/").headers.get("location") == "/app"


def test_a_user_in_no_team_sees_no_space_but_reaches_their_profile(page: Any, server: ServerProcess) -> None:
    name, password = unique("loner"), "loner-password-1"
    body = {"Username": name, "DisplayName": name, "Password": password, "IsService": False}
    server.client.post("/api/users", json=body).raise_for_status()
    sign_in(page, name, password)
    page.wait_for_url("**/app/profile")
    assert page.get_by_label("Space").count() == 0
    assert page.get_by_role("link", name="Infrastructure").count() == 0


def test_the_portal_is_usable_by_keyboard_alone(page: Any, server: ServerProcess) -> None:
    from conftest import ADMIN_PASSWORD

    page.goto("/app")
    page.get_by_label("User name").wait_for()
    # Sign in without a pointer: Tab into the form, type, Enter submits.
    focused = ""
    for _ in range(5):
        page.keyboard.press("Tab")
        focused = page.evaluate("document.activeElement && document.activeElement.name")
        if focused == "Username":
            break
    assert focused == "Username"
    page.keyboard.type("admin")
    page.keyboard.press("Tab")
    page.keyboard.type(ADMIN_PASSWORD)
    page.keyboard.press("Enter")
    page.get_by_role("button", name="Sign out").wait_for()

    # Tab walks the skip link and the sections, each a link that Enter follows.
    seen: list[str] = []
    for _ in range(25):
        page.keyboard.press("Tab")
        seen.append(
            page.evaluate("document.activeElement.tagName === 'A' ? document.activeElement.textContent : ''")
        )
        if seen[-1] == "Tasks":
            break
    assert "Skip to content" in seen and seen[-1] == "Tasks", seen
    page.keyboard.press("Enter")
    page.wait_for_url("**/tasks")
    page.get_by_role("heading", name="Tasks", exact=True).wait_for()
    # Following a link puts the keyboard at the new page's content; what has focus there is outlined.
    assert page.evaluate("document.activeElement.id") == "main"
    page.keyboard.press("Tab")
    assert page.evaluate("document.getElementById('main').contains(document.activeElement)")
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") != "none"
