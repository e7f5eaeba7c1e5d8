"""The task queue of a real node: task cap, restart survival, clean shutdown, built-in worker switches."""

from __future__ import annotations

import os
import pwd
import shutil
import sqlite3
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from conftest import follow, run_script, script_task


def test_task_cap_is_held_exactly_under_30_concurrent_tasks(server_factory: object, tmp_path: Path) -> None:
    srv = server_factory("--task-cap", "3")  # type: ignore[operator]
    shared = tmp_path / "running"
    shared.mkdir()
    os.chmod(tmp_path, 0o777)
    os.chmod(shared, 0o777)
    # Each script counts the scripts running beside it (under a lock) before it sleeps a little.
    body = (
        f"exec 9>{shared}/lock; flock 9; touch {shared}/run.$$; "
        f"ls {shared} | grep -c '^run' >> {shared}/counts; "
        f"flock -u 9; sleep 0.3; rm {shared}/run.$$"
    )
    ids = []
    for _ in range(30):
        response = srv.client.post("/api/tasks", json=script_task(body))
        assert response.status_code == 201
        ids.append(response.json()["Id"])
    states = [follow(srv.client, task_id)["State"] for task_id in ids]
    assert states == ["Success"] * 30
    counts = [int(n) for n in (shared / "counts").read_text().split()]
    assert len(counts) == 30
    assert max(counts) == 3, counts  # never more than the cap, and the cap was reached


def test_queued_tasks_survive_a_restart_and_a_killed_task_is_marked_failed(server_factory: object) -> None:
    srv = server_factory("--task-cap", "1")  # type: ignore[operator]
    running = srv.client.post("/api/tasks", json=script_task("echo working; sleep 60")).json()
    with srv.client.stream("GET", f"/api/tasks/{running['Id']}/stream") as stream:
        for line in stream.iter_lines():
            if '"working"' in line:
                break
    queued = [
        srv.client.post("/api/tasks", json=script_task(f"echo after restart {n}")).json() for n in range(3)
    ]
    assert {srv.client.get(f"/api/tasks/{t['Id']}").json()["State"] for t in queued} == {"Queued"}
    number = int(running["Id"].split("-")[1])
    for _ in range(200):  # lines reach the database in batches; wait until this one is stored
        with sqlite3.connect(srv.home / "argonaut.db") as db:
            if db.execute("select count(*) from task_log where task_id = ?", (number,)).fetchone()[0]:
                break
        time.sleep(0.05)
    srv.kill()  # SIGKILL: no chance to clean up

    again = server_factory("--task-cap", "1", home=srv.home, api_key=srv.api_key)  # type: ignore[operator]
    died = again.client.get(f"/api/tasks/{running['Id']}").json()
    assert died["State"] == "Failed" and "stopped while this task was running" in died["ErrorMessage"]
    raw = again.client.get(f"/api/tasks/{running['Id']}/raw").text
    assert "working" in raw and "stopped while this task was running" in raw
    for n, task in enumerate(queued):
        final = follow(again.client, task["Id"])
        assert final["State"] == "Success"
        assert f"after restart {n}" in again.client.get(f"/api/tasks/{task['Id']}/raw").text


def test_sigterm_shuts_down_cleanly_and_state_is_kept(server_factory: object) -> None:
    srv = server_factory("--shutdown-grace", "0.5")  # type: ignore[operator]
    done = run_script(srv.client, "echo kept")
    pool = srv.client.post("/api/workerpools", json={"Name": "Kept pool"}).json()
    long = srv.client.post("/api/tasks", json=script_task("sleep 60")).json()
    assert srv.stop() == 0
    again = server_factory(home=srv.home, api_key=srv.api_key)  # type: ignore[operator]
    assert again.client.get(f"/api/tasks/{done['Id']}").json()["State"] == "Success"
    assert again.client.get(f"/api/workerpools/{pool['Id']}").json()["Name"] == "Kept pool"
    ended = again.client.get(f"/api/tasks/{long['Id']}").json()
    assert ended["State"] == "Failed" and "shut down" in ended["ErrorMessage"]


def test_without_the_built_in_worker_the_default_pool_has_no_worker(server_factory: object) -> None:
    srv = server_factory("--no-built-in-worker")  # type: ignore[operator]
    task = run_script(srv.client, "echo hi")
    assert task["State"] == "Failed"
    assert "no healthy worker available in pool 'Default Worker Pool'" in task["ErrorMessage"]


def _ensure_user(name: str) -> None:
    try:
        pwd.getpwnam(name)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", name], check=True)


def test_built_in_worker_runs_scripts_as_another_user(
    server_factory: object, request: pytest.FixtureRequest
) -> None:
    if os.geteuid() != 0:
        if os.environ.get("CI") == "true":
            pytest.fail("running scripts as another user needs root, and CI runs as root")
        pytest.skip("needs root to switch users")
    _ensure_user("argonaut-script")
    # pytest's own temporary folders are private to root; the script user must be able to reach its folder.
    home = Path(tempfile.mkdtemp(prefix="argonaut-runas-"))
    os.chmod(home, 0o711)
    srv = server_factory("--built-in-worker-user", "argonaut-script", home=home / "home")  # type: ignore[operator]
    request.addfinalizer(lambda: shutil.rmtree(home, ignore_errors=True))
    task = run_script(srv.client, "id -un; touch here && echo wrote")
    assert task["State"] == "Success", srv.client.get(f"/api/tasks/{task['Id']}/raw").text
    raw = srv.client.get(f"/api/tasks/{task['Id']}/raw").text
    assert "|   argonaut-script" in raw and "|   wrote" in raw
    denied = run_script(srv.client, f"cat {srv.home}/master.key")
    assert denied["State"] == "Failed"  # the script user cannot read the server's secrets
