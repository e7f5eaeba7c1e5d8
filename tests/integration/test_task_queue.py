"""The task queue of a real node: task cap, restart survival, clean shutdown, built-in worker switches."""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest
from test_agents import add_worker, listening_endpoint, new_pool, server_thumbprint

from conftest import (
    ServerProcess,
    assert_process_gone,
    eventually,
    follow,
    run_script,
    script_task,
    spawn_helpers,
    unique,
    wait_for_health,
    wait_for_log_line,
)

pytestmark = pytest.mark.databases("SQLite", "PostgreSQL")


def test_task_cap_is_held_exactly_under_30_concurrent_tasks(server_factory: object, tmp_path: Path) -> None:
    # On PostgreSQL claims lock rows: SKIP LOCKED in a CTE, not a subquery per row (see tasks_repo).
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


def test_an_exclusive_step_gets_its_worker_alone_however_many_ask_at_once(
    server: ServerProcess, agent_factory: Any
) -> None:
    c = server.client
    agent = agent_factory(trust=[server_thumbprint(c)])
    pool = new_pool(c)
    wait_for_health(c, add_worker(c, unique("solo"), [pool], listening_endpoint(agent)), "Healthy")
    body = "echo alone; sleep 0.05"
    exclusive = script_task(body, WorkerPoolIds=[pool], Isolation="FullIsolation")
    ids = [c.post("/api/tasks", json=exclusive).json()["Id"] for _ in range(6)]
    assert [follow(c, task_id)["State"] for task_id in ids] == ["Success"] * 6
    raws = [c.get(f"/api/tasks/{task_id}/raw").text for task_id in ids]
    # The server leased the worker to one step at a time and made the others wait for it; the agent
    # never saw two at once (it would have had to hold one back itself, and say so).
    assert sum("Waiting: " in raw for raw in raws) >= 1
    assert not any("Waiting for other scripts to finish" in raw for raw in raws), raws


def _lines(raw: str, prefix: str) -> list[str]:
    return [line.split("|   ", 1)[1] for line in raw.splitlines() if f"|   {prefix}" in line]


def test_a_killed_node_loses_no_line_and_records_the_real_outcome_of_its_built_in_script(
    server_factory: object,
) -> None:
    srv = server_factory("--task-cap", "1")  # type: ignore[operator]
    # 120 numbered lines over ~1.2 s, then a failing exit: the node is killed in the middle.
    body = "for i in $(seq 1 120); do echo line $i; sleep 0.01; done; echo finished; exit 3"
    running = srv.client.post("/api/tasks", json=script_task(body)).json()
    wait_for_log_line(srv.client, running["Id"], "line 20")
    queued = [
        srv.client.post("/api/tasks", json=script_task(f"echo after restart {n}")).json() for n in range(3)
    ]
    assert {srv.client.get(f"/api/tasks/{t['Id']}").json()["State"] for t in queued} == {"Queued"}
    srv.kill()  # SIGKILL: no chance to hand anything over, flush a line or reap a child

    again = server_factory("--task-cap", "1", home=srv.home, api_key=srv.api_key)  # type: ignore[operator]
    final = follow(again.client, running["Id"])
    raw = again.client.get(f"/api/tasks/{running['Id']}/raw").text
    # The script went on without the node; the restarted node followed it to its real end.
    assert final["State"] == "Failed" and "exited with code 3" in str(final["ErrorMessage"]), raw
    assert _lines(raw, "line ") == [f"line {i}" for i in range(1, 121)], raw  # each line exactly once
    assert "finished" in raw
    for n, task in enumerate(queued):
        assert follow(again.client, task["Id"])["State"] == "Success"
        assert f"after restart {n}" in again.client.get(f"/api/tasks/{task['Id']}/raw").text
    assert not any(srv.work_root.iterdir())  # every script's folder went with its outcome


def test_a_built_in_script_whose_process_died_with_the_node_fails_honestly(server_factory: object) -> None:
    srv = server_factory()  # type: ignore[operator]
    running = srv.client.post("/api/tasks", json=script_task("echo started; sleep 60; exit 0")).json()
    wait_for_log_line(srv.client, running["Id"], "started")
    scripts = [p for p in srv.work_root.iterdir()]
    assert len(scripts) == 1
    # The script's process, as the wrapper around it announced it on its first stdout line.
    first = (scripts[0] / "out").read_text().splitlines()[0]
    assert first.startswith("##argonaut-pid-")
    pid = int(first.split()[1])
    assert srv.proc is not None
    helpers = spawn_helpers(srv.proc.pid)  # the script's parent, which would write how it ended
    assert helpers
    srv.kill()
    # As a reboot would: the script and its parent die too, before either can say how it ended.
    for helper in helpers:
        os.kill(helper, signal.SIGKILL)
    os.killpg(pid, signal.SIGKILL)
    assert_process_gone(pid, "the script")

    again = server_factory(home=srv.home, api_key=srv.api_key)  # type: ignore[operator]
    final = follow(again.client, running["Id"])
    assert final["State"] == "Failed"
    assert "outcome is unknown" in str(final["ErrorMessage"])
    # Released just after the outcome is stored (never before): moments after a follower sees it.
    eventually("the script's folder to be removed", lambda: not scripts[0].exists(), timeout_s=10)


def test_sigterm_hands_a_running_built_in_script_over_to_the_next_start(server_factory: object) -> None:
    srv = server_factory("--shutdown-grace", "0.5")  # type: ignore[operator]
    done = run_script(srv.client, "echo kept")
    pool = srv.client.post("/api/workerpools", json={"Name": "Kept pool"}).json()
    long = srv.client.post("/api/tasks", json=script_task("echo begun; sleep 2; echo ended well")).json()
    wait_for_log_line(srv.client, long["Id"], "begun")
    assert srv.stop() == 0
    assert any("handed over" in line for line in srv.output)
    again = server_factory(home=srv.home, api_key=srv.api_key)  # type: ignore[operator]
    assert again.client.get(f"/api/tasks/{done['Id']}").json()["State"] == "Success"
    assert again.client.get(f"/api/workerpools/{pool['Id']}").json()["Name"] == "Kept pool"
    ended = follow(again.client, long["Id"])
    raw = again.client.get(f"/api/tasks/{long['Id']}/raw").text
    assert ended["State"] == "Success", raw
    assert raw.count("begun") == 1 and "ended well" in raw


def test_leftover_working_folders_are_removed_at_start(server_factory: object) -> None:
    srv = server_factory()  # type: ignore[operator]
    assert run_script(srv.client, "echo hi")["State"] == "Success"
    root = srv.work_root
    srv.stop()
    stray = root / "run-left-by-an-old-version"
    stray.mkdir(parents=True)
    (stray / "script.sh").write_text("echo old")
    server_factory(home=srv.home, api_key=srv.api_key)  # type: ignore[operator]
    assert not stray.exists()


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
