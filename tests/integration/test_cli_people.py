"""The people verbs of the client: ``argonaut login`` stores an API key (never the password) that the
other verbs then use; ``user``, ``team`` and ``events`` work with it."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

from conftest import unique

ARGONAUT = Path(sys.executable).with_name("argonaut")
PASSWORD = "correct-horse-" + "battery-staple"


def run(config: Path, server: Any, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """The CLI with no key in its environment: only the credentials file under ``config`` gives one."""
    env = {k: v for k, v in os.environ.items() if k not in ("ARGONAUT_API_KEY", "ARGONAUT_SPACE")}
    env.update({"XDG_CONFIG_HOME": str(config), "ARGONAUT_SERVER": server.url})
    return subprocess.run(
        [str(ARGONAUT), *args], env=env, input=stdin, capture_output=True, text=True, timeout=120
    )


def run_json(config: Path, server: Any, *args: str) -> Any:
    done = run(config, server, *args, "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_login_stores_a_key_the_other_verbs_use(server_factory: Any, tmp_path: Path) -> None:
    server = server_factory(env={"ARGONAUT_ADMIN_PASSWORD": PASSWORD})
    config = tmp_path / "config"

    # Without a key, verbs fail with a hint at login.
    refused = run(config, server, "user", "list")
    assert refused.returncode == 1 and "argonaut login" in refused.stderr

    wrong = run(config, server, "login", "--username", "admin", "--password-stdin", stdin="nope-nope-nope\n")
    assert wrong.returncode == 1 and wrong.stderr.startswith("error: ") and "Traceback" not in wrong.stderr

    done = run(config, server, "login", "--username", "admin", "--password-stdin", stdin=PASSWORD + "\n")
    assert done.returncode == 0, done.stderr
    stored = config / "argonaut" / "credentials.json"
    assert str(stored) in done.stdout
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600
    assert stat.S_IMODE(stored.parent.stat().st_mode) == 0o700
    text = stored.read_text()
    assert PASSWORD not in text
    entry = json.loads(text)["Servers"][server.url]
    assert entry["Username"] == "admin" and entry["ApiKey"].startswith("API-")
    keys = server.client.get(f"/api/users/{entry['UserId']}/apikeys").json()["Items"]
    assert entry["ApiKeyId"] in {k["Id"] for k in keys}

    # user create / list / show, with the stored key.
    name = unique("dana")
    created = run_json(config, server, "user", "create", name, "--password-stdin", "--email", "d@example.com")
    assert created["Username"] == name and created["EmailAddress"] == "d@example.com"
    assert name in {u["Username"] for u in run_json(config, server, "user", "list")}
    assert run_json(config, server, "user", "show", name)["Id"] == created["Id"]

    # team create / add-member / add-role / list.
    team_name = unique("Deployers")
    team = run_json(config, server, "team", "create", team_name, "-d", "ships things")
    assert team["Name"] == team_name and team["SpaceId"] == "Spaces-1"
    member = run(config, server, "team", "add-member", team_name, name)
    assert member.returncode == 0, member.stderr
    role = run_json(config, server, "team", "add-role", team["Id"], "Project Deployer")
    assert role["SpaceId"] == "Spaces-1" and role["UserRoleId"].startswith("UserRoles-")
    listed = {t["Name"]: t for t in run_json(config, server, "team", "list")}
    assert listed[team_name]["MemberUserIds"] == [created["Id"]]

    # events: the audit trail of what was just done, filtered.
    trail = run_json(config, server, "events", "--user", "admin", "--regarding", team["Id"])
    assert trail and all(e["Username"] == "admin" for e in trail)
    assert {"Created", "Modified"} <= {e["Category"] for e in trail}
    logins = run_json(config, server, "events", "--category", "LoginSucceeded", "--take", "5")
    assert logins and logins[0]["Username"] == "admin"
    table = run(config, server, "events", "--regarding", team["Id"], "--take", "1")
    assert table.returncode == 0 and "admin" in table.stdout
