"""The portal's infrastructure section in a real browser: adding a polling worker by running the
command the wizard shows, a listening one by confirming the thumbprint the server discovered, a pool's
health summary, disabling and enabling a worker, and the server's error beside the field it is about."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path
from typing import Any

import httpx

from conftest import ARGONAUT, ServerProcess, eventually, sign_in, unique


def _space(client: httpx.Client) -> str:
    return str(client.post("/api/spaces", json={"Name": unique("Infra")}).json()["Id"])


def _pool(client: httpx.Client, space: str, name: str | None = None) -> dict[str, Any]:
    response = client.post(f"/api/{space}/workerpools", json={"Name": name or unique("Pool")})
    assert response.status_code == 201, response.text
    return dict(response.json())


def _server_thumbprint(client: httpx.Client) -> str:
    return str(client.get("/api/configuration/certificates/certificate-global").json()["Thumbprint"])


def endpoint_of(client: httpx.Client, space: str, worker: str) -> dict[str, Any]:
    return dict(client.get(f"/api/{space}/workers/{worker}").json()["Endpoint"])


def _health(client: httpx.Client, space: str, worker: str) -> str:
    return str(client.get(f"/api/{space}/workers/{worker}").json()["HealthStatus"])


def test_every_infrastructure_page_renders_without_errors(page: Any, server: ServerProcess) -> None:
    space = _space(server.client)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    sign_in(page, path=f"/app/{space}/infrastructure")
    for link in [
        "Environments",
        "Deployment targets",
        "Worker pools",
        "Workers",
        "Machine policies",
        "Accounts",
    ]:
        page.get_by_role("navigation", name="Infrastructure").get_by_role("link", name=link).click()
        page.locator('section.page[data-ready="true"]').wait_for()
        assert page.get_by_role("heading", level=1).inner_text() == link
    page.get_by_role("navigation", name="Infrastructure").get_by_role("link", name="Machine policies").click()
    page.get_by_role("link", name="Default Machine Policy").click()
    page.get_by_label("Check every").wait_for()
    page.get_by_role("navigation", name="Infrastructure").get_by_role("link", name="Accounts").click()
    page.get_by_role("link", name="Add account").click()
    page.get_by_label("Account name").fill(unique("deploy"))
    page.get_by_label("User name").fill("deploy")
    page.get_by_label("Password").fill("s3cret-value")
    page.get_by_role("button", name="Add account").click()
    page.get_by_text("Set. Leave empty to keep it; it is never shown.").wait_for()
    assert page.get_by_label("Password").input_value() == ""
    assert not errors, errors


def test_a_polling_worker_added_by_running_the_wizards_command_turns_healthy(
    page: Any, server: ServerProcess, tmp_path: Path
) -> None:
    space = _space(server.client)
    pool = _pool(server.client, space)
    name = unique("poller")
    sign_in(page, path=f"/app/{space}/infrastructure/workers/new")
    page.get_by_label("Polling agent").check()
    page.get_by_label("Worker name").fill(name)
    page.get_by_label("Worker pools").select_option(label=pool["Name"])
    page.get_by_role("button", name="Show the command").click()
    command = page.locator(".copybox code").inner_text()
    assert _server_thumbprint(server.client) in page.get_by_text("Its thumbprint").inner_text()
    assert "--api-key API-" in command and f"--space {space}" in command
    page.get_by_text(f"Waiting for {name} to register").wait_for()

    # A fresh machine with argonaut on its PATH runs the copied line as it is, in a folder of its own.
    env = {**os.environ, "PATH": f"{ARGONAUT.parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    log = (tmp_path / "agent.log").open("w")
    agent = subprocess.Popen(
        command,
        shell=True,
        cwd=tmp_path,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        page.get_by_text(f"{name} is healthy and ready.").wait_for(timeout=60_000)
        page.get_by_role("link", name=name).click()
        page.locator(".machine-health").get_by_text("Healthy").wait_for()
        assert page.get_by_text("Polling agent").count() == 1
        page.get_by_role("table", name="Connection history").get_by_text("Healthy", exact=True).wait_for()
    finally:
        os.killpg(agent.pid, signal.SIGTERM)
        try:
            agent.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(agent.pid, signal.SIGKILL)
            agent.wait(5)
        log.close()
    assert (tmp_path / f"argonaut-agent-{name.lower()}").is_dir()


def test_a_listening_worker_is_added_with_the_discovered_thumbprint_then_disabled_and_enabled(
    page: Any, server: ServerProcess, agent_factory: Any
) -> None:
    c = server.client
    space = _space(c)
    pool = _pool(c, space)
    agent = agent_factory(trust=[_server_thumbprint(c)])
    sign_in(page, path=f"/app/{space}/infrastructure/workerpools")
    page.get_by_role("link", name=pool["Name"]).click()
    page.get_by_role("link", name="Add worker").click()
    page.get_by_label("Listening agent").check()
    page.get_by_label("Host").fill("127.0.0.1")
    page.get_by_label("Port").fill(str(agent.listen_port))
    page.get_by_role("button", name="Discover the certificate thumbprint").click()
    assert page.locator(".discovered").inner_text() == agent.thumbprint
    page.get_by_label("Worker name").fill("listener")
    page.get_by_role("button", name="Add worker").click()

    page.locator(".machine-health").get_by_text("Healthy").wait_for()
    page.get_by_role("table", name="Connection history").get_by_text("Healthy", exact=True).wait_for()
    worker = page.url.rsplit("/", 1)[1]
    assert c.get(f"/api/{space}/workers/{worker}").json()["WorkerPoolIds"] == [pool["Id"]]

    # Settings: a name another worker has is refused beside the field; a free one renames it.
    other = c.post(
        f"/api/{space}/workers",
        json={
            "Name": unique("other"),
            "WorkerPoolIds": [pool["Id"]],
            "Endpoint": {**endpoint_of(c, space, worker)},
        },
    ).json()["Name"]
    page.get_by_text("Settings").click()
    page.get_by_label("Worker name").fill(other)
    page.get_by_role("button", name="Save").click()
    error = page.locator(f"#{page.get_by_label('Worker name').get_attribute('id')}-err")
    error.wait_for()
    assert f"A worker named '{other}' already exists" in error.inner_text()
    page.get_by_label("Worker name").fill("listener-renamed")
    page.get_by_role("button", name="Save").click()
    page.get_by_role("heading", name="listener-renamed").wait_for()

    page.get_by_role("button", name="Check health now").click()
    page.locator(".check-now").get_by_text("Success").wait_for()

    page.get_by_role("button", name="Disable", exact=True).click()
    page.locator(".machine-health").get_by_text("Disabled").wait_for()
    assert c.get(f"/api/{space}/workers/{worker}").json()["IsDisabled"] is True
    page.get_by_role("button", name="Enable", exact=True).click()
    page.locator(".machine-health").get_by_text("Healthy").wait_for()

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Delete", exact=True).click()
    page.get_by_role("heading", name="Workers").wait_for()
    assert c.get(f"/api/{space}/workers/{worker}").status_code == 404


def test_a_listening_agent_that_does_not_answer_shows_the_servers_message_beside_the_host(
    page: Any, server: ServerProcess
) -> None:
    space = _space(server.client)
    sign_in(page, path=f"/app/{space}/infrastructure/targets/new")
    page.get_by_label("Listening agent").check()
    page.get_by_label("Host").fill("127.0.0.1")
    page.get_by_label("Port").fill("1")
    page.get_by_role("button", name="Discover the certificate thumbprint").click()
    host = page.get_by_label("Host")
    error = page.locator(f"#{host.get_attribute('id')}-err")
    error.wait_for()
    assert "Cannot connect to 127.0.0.1:1" in error.inner_text()
    assert host.get_attribute("aria-invalid") == "true"


def test_worker_pools_show_a_health_summary_per_pool(
    page: Any, server: ServerProcess, agent_factory: Any
) -> None:
    c = server.client
    space = _space(c)
    pool = _pool(c, space)
    agent = agent_factory(trust=[_server_thumbprint(c)])

    def add(name: str, endpoint: dict[str, Any], disabled: bool = False) -> str:
        body = {"Name": name, "WorkerPoolIds": [pool["Id"]], "Endpoint": endpoint, "IsDisabled": disabled}
        response = c.post(f"/api/{space}/workers", json=body)
        assert response.status_code == 201, response.text
        return str(response.json()["Id"])

    listening = {"CommunicationStyle": "TentaclePassive", "Uri": agent.uri, "Thumbprint": agent.thumbprint}
    gone = {"CommunicationStyle": "TentaclePassive", "Uri": "https://127.0.0.1:1/", "Thumbprint": "AB" * 20}
    healthy, unavailable = add("healthy", listening), add("gone", gone)
    add("resting", listening, disabled=True)
    eventually("the new workers checked", lambda: _health(c, space, healthy) == "Healthy")
    eventually("the dead worker checked", lambda: _health(c, space, unavailable) == "Unavailable")

    sign_in(page, path=f"/app/{space}/infrastructure/workerpools")
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name=pool["Name"]))
    for text in ("Healthy 1", "Unavailable 1", "Disabled 1"):
        row.get_by_text(text).wait_for()
    assert row.get_by_role("cell").nth(1).inner_text() == "3"


def test_a_duplicate_pool_name_is_shown_beside_the_name_field(page: Any, server: ServerProcess) -> None:
    space = _space(server.client)
    taken = _pool(server.client, space)["Name"]
    sign_in(page, path=f"/app/{space}/infrastructure/workerpools")
    page.get_by_label("Pool name").fill(taken)
    page.get_by_role("button", name="Add pool").click()
    name = page.get_by_label("Pool name")
    error = page.locator(f"#{name.get_attribute('id')}-err")
    error.wait_for()
    assert f"A worker pool named '{taken}' already exists" in error.inner_text()
    # A fresh name is added and listed.
    fresh = unique("Pool")
    name.fill(fresh)
    page.get_by_role("button", name="Add pool").click()
    page.get_by_role("link", name=fresh).wait_for()


def test_an_ssh_worker_is_added_with_the_discovered_host_key_and_an_account_made_on_the_way(
    page: Any, server: ServerProcess, tmp_path: Path
) -> None:
    import subprocess as run

    from sshd import PASSWORD, PASSWORD_USER, make_sshd

    daemon = make_sshd(tmp_path / "sshd").start()
    try:
        space = _space(server.client)
        pool = _pool(server.client, space)
        listed = run.run(["ssh-keygen", "-lf", f"{daemon.host_key}.pub"], capture_output=True, text=True)
        fingerprint = listed.stdout.split()[1]
        sign_in(page, path=f"/app/{space}/infrastructure/workers/new")
        page.get_by_label("SSH").check()
        page.get_by_label("Host").fill("127.0.0.1")
        page.get_by_label("Port").fill(str(daemon.port))
        page.get_by_role("button", name="Discover the host key fingerprint").click()
        assert page.locator(".discovered").inner_text() == fingerprint

        # No account yet: make one (its password write-only) and come back to the wizard.
        page.get_by_role("link", name="Create an account").click()
        account = unique("ssh-login")
        page.get_by_label("Account name").fill(account)
        page.get_by_label("User name").fill(PASSWORD_USER)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Add account").click()
        page.get_by_role("heading", name="Add a worker").wait_for()
        page.get_by_label("SSH").check()
        page.get_by_label("Host").fill("127.0.0.1")
        page.get_by_label("Port").fill(str(daemon.port))
        page.get_by_role("button", name="Discover the host key fingerprint").click()
        page.get_by_label("Worker name").fill(unique("ssh"))
        page.get_by_label("Worker pools").select_option(label=pool["Name"])
        page.get_by_label("Account").select_option(label=f"{account} ({PASSWORD_USER})")
        page.get_by_role("button", name="Add worker").click()
        page.locator(".machine-health").get_by_text("Healthy").wait_for(timeout=60_000)
        assert page.get_by_text(fingerprint).count() == 1
    finally:
        daemon.stop()


def test_a_listening_target_is_added_to_an_environment_and_listed_there(
    page: Any, server: ServerProcess, agent_factory: Any
) -> None:
    c = server.client
    space = _space(c)
    environment = c.post(f"/api/{space}/environments", json={"Name": unique("Staging")}).json()
    agent = agent_factory(trust=[_server_thumbprint(c)])
    sign_in(page, path=f"/app/{space}/infrastructure/environments")
    page.get_by_role("link", name=environment["Name"]).click()
    page.get_by_text("No deployment targets here.").wait_for()
    page.get_by_role("link", name="Add deployment target").click()
    page.get_by_label("Listening agent").check()
    page.get_by_label("Host").fill("127.0.0.1")
    page.get_by_label("Port").fill(str(agent.listen_port))
    page.get_by_role("button", name="Discover the certificate thumbprint").click()
    assert page.locator(".discovered").inner_text() == agent.thumbprint
    page.get_by_label("Deployment target name").fill("web-1")
    page.get_by_label("Roles").fill("web, api")
    page.get_by_role("button", name="Add deployment target").click()
    page.locator(".machine-health").get_by_text("Healthy").wait_for()
    assert page.get_by_text("web, api").count() == 1

    page.get_by_role("link", name=environment["Name"]).click()
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name="web-1"))
    row.get_by_text("Healthy", exact=True).wait_for()


def test_environments_are_added_renamed_and_deleted_in_the_portal(page: Any, server: ServerProcess) -> None:
    space = _space(server.client)
    sign_in(page, path=f"/app/{space}/infrastructure/environments")
    page.get_by_label("Environment name").fill("Staging")
    page.get_by_role("button", name="Add environment").click()
    page.get_by_role("link", name="Staging").wait_for()
    # The same name again: the server's message, beside the name.
    page.get_by_label("Environment name").fill("Staging")
    page.get_by_role("button", name="Add environment").click()
    page.locator(".field.has-error").get_by_label("Environment name").wait_for()

    page.get_by_role("link", name="Staging").click()
    page.get_by_label("Environment name").fill("Pre-production")
    page.get_by_label("Use guided failure").check()
    page.get_by_role("button", name="Save environment").click()
    page.get_by_role("heading", name="Pre-production").wait_for()
    saved = server.client.get(f"/api/{space}/environments/all").json()
    assert [(e["Name"], e["UseGuidedFailure"]) for e in saved] == [("Pre-production", True)]

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Delete environment").click()
    page.get_by_role("heading", name="Environments", exact=True).wait_for()
    assert server.client.get(f"/api/{space}/environments/all").json() == []
