"""Ad-hoc script tasks on the built-in worker: logs, output variables, artifacts, cancel, errors."""

from __future__ import annotations

import json
import os
from pathlib import Path

from conftest import (
    ServerProcess,
    assert_process_gone,
    follow,
    run_script,
    script_task,
    unique,
    wait_for_log_line,
)


def test_script_output_lands_in_the_log_in_order(server: ServerProcess) -> None:
    task = run_script(server.client, "echo first; echo second >&2; sleep 0.2; echo third")
    assert (task["State"], task["IsCompleted"], task["FinishedSuccessfully"]) == ("Success", True, True)
    assert task["StartTime"] and task["CompletedTime"] and task["Duration"]
    details = server.client.get(f"/api/tasks/{task['Id']}/details").json()
    run = details["ActivityLogs"][0]["Children"][0]
    assert "built-in worker" in run["Name"] and run["Status"] == "Success"
    lines = [(e["Category"], e["MessageText"]) for e in run["LogElements"]]
    # Two pipes: order within each is exact, across them it is the order lines were read.
    assert set(lines[:2]) == {("Info", "first"), ("Error", "second")}
    assert lines[2] == ("Info", "third")
    numbers = [e["Number"] for e in run["LogElements"]]
    assert numbers == sorted(numbers)
    raw = server.client.get(f"/api/tasks/{task['Id']}/raw")
    assert raw.headers["content-type"].startswith("text/plain")
    assert raw.text.index("|   first") < raw.text.index("|   third") and "|   second" in raw.text
    assert "Task status:    Success" in raw.text


def test_python_scripts_and_helpers(server: ServerProcess) -> None:
    body = (
        "print('from python')\n"
        "set_octopusvariable('Colour', 'blue')\n"
        "print(get_octopusvariable('Octopus.Task.Id'))"
    )
    task = run_script(server.client, body, Syntax="Python")
    assert task["State"] == "Success"
    raw = server.client.get(f"/api/tasks/{task['Id']}/raw").text
    assert "from python" in raw and task["Id"] in raw
    outputs = server.client.get(f"/api/tasks/{task['Id']}/details").json()["OutputVariables"]
    assert [(o["Name"], o["Value"], o["IsSensitive"]) for o in outputs] == [("Colour", "blue", False)]


def test_sensitive_values_are_masked_everywhere(server: ServerProcess) -> None:
    tag = unique("s")
    secret = f"hunter2-{tag}"  # built at run time below, so the script body never holds it
    script = (
        f'S="$(echo 2retnuh | rev)-{tag}"\n'
        'set_octopusvariable Password "$S" -sensitive\n'
        "echo the password is $S"
    )
    task = run_script(server.client, script)
    assert task["State"] == "Success"
    raw = server.client.get(f"/api/tasks/{task['Id']}/raw").text
    details = server.client.get(f"/api/tasks/{task['Id']}/details?verbose=true").text
    assert secret not in raw and secret not in details
    assert "the password is ********" in raw
    outputs = json.loads(details)["OutputVariables"]
    assert outputs == [
        {"Name": "Password", "Value": "********", "IsSensitive": True, "Machine": outputs[0]["Machine"]}
    ]
    stored = b"".join(p.read_bytes() for p in server.home.glob("argonaut.db*"))
    assert secret.encode() not in stored


def test_failing_scripts_fail_the_task(server: ServerProcess) -> None:
    exited = run_script(server.client, "echo before; exit 3")
    assert exited["State"] == "Failed" and "exited with code 3" in exited["ErrorMessage"]
    assert exited["FinishedSuccessfully"] is False and exited["HasWarningsOrErrors"] is True
    failed = run_script(server.client, "fail_step 'the database is down'")
    assert failed["State"] == "Failed" and "the database is down" in failed["ErrorMessage"]


def test_artifacts_are_stored_and_downloadable(server: ServerProcess) -> None:
    task = run_script(
        server.client, "printf 'report body' > report.txt\nnew_octopusartifact report.txt summary.txt"
    )
    assert task["State"] == "Success", task
    listing = server.client.get("/api/Spaces-1/artifacts", params={"regarding": task["Id"]}).json()
    assert listing["TotalResults"] == 1
    artifact = listing["Items"][0]
    assert (artifact["Filename"], artifact["Length"], artifact["ServerTaskId"]) == (
        "summary.txt",
        11,
        task["Id"],
    )
    content = server.client.get(f"/api/Spaces-1/artifacts/{artifact['Id']}/content")
    assert content.status_code == 200 and content.content == b"report body"


def test_each_script_gets_its_own_folder_removed_afterwards(server: ServerProcess) -> None:
    task = run_script(server.client, "pwd; touch marker")
    raw = server.client.get(f"/api/tasks/{task['Id']}/raw").text
    folder = next(
        line.split("|", 1)[1].strip()
        for line in raw.splitlines()
        if "/work/" in line and "marker" not in line
    )
    assert folder.startswith(str(server.home / "work"))
    assert not Path(folder).exists()


def test_cancel_kills_the_whole_process_group(server: ServerProcess, tmp_path: Path) -> None:
    pid_file = tmp_path / "child.pid"
    body = f"sleep 1000 & echo $! > {pid_file}\necho started\nwait"
    created = server.client.post("/api/Spaces-1/tasks", json=script_task(body)).json()
    wait_for_log_line(server.client, created["Id"], "started")
    child = int(pid_file.read_text())
    os.kill(child, 0)  # alive while the task runs
    cancelled = server.client.post(f"/api/tasks/{created['Id']}/cancel")
    assert cancelled.status_code == 200 and cancelled.json()["State"] in ("Cancelling", "Canceled")
    final = follow(server.client, created["Id"])
    assert final["State"] == "Canceled"
    assert_process_gone(child, "the script's background child")


def test_cancel_a_queued_task(server_factory: object) -> None:
    srv = server_factory("--task-cap", "1")  # type: ignore[operator]
    blocker = srv.client.post("/api/tasks", json=script_task("sleep 30")).json()
    queued = srv.client.post("/api/tasks", json=script_task("echo never")).json()
    assert srv.client.get(f"/api/tasks/{queued['Id']}").json()["State"] == "Queued"
    assert srv.client.post(f"/api/tasks/{queued['Id']}/cancel").json()["State"] == "Canceled"
    srv.client.post(f"/api/tasks/{blocker['Id']}/cancel")
    assert follow(srv.client, blocker["Id"])["State"] == "Canceled"
    raw = srv.client.get(f"/api/tasks/{queued['Id']}/raw").text
    assert "never" not in raw


def test_task_list_filters_and_lookup(server: ServerProcess) -> None:
    ok = run_script(server.client, "true")
    bad = run_script(server.client, "false")
    listing = server.client.get("/api/Spaces-1/tasks", params={"states": "Failed", "take": 100}).json()
    ids = [t["Id"] for t in listing["Items"]]
    assert bad["Id"] in ids and ok["Id"] not in ids
    assert listing["ItemType"] == "Task"
    newest = server.client.get("/api/tasks", params={"take": 2}).json()["Items"]
    assert int(newest[0]["Id"].split("-")[1]) > int(newest[1]["Id"].split("-")[1])
    assert server.client.get(f"/api/Spaces-1/tasks/{ok['Id']}").json()["State"] == "Success"
    assert server.client.get("/api/tasks/ServerTasks-999999").status_code == 404
    assert server.client.get("/api/tasks", params={"states": "Sleeping"}).status_code == 400


def test_bad_task_requests_are_refused(server: ServerProcess) -> None:
    cases = [
        {"Name": "AdHocScript", "Arguments": {"Syntax": "Bash"}},
        {"Name": "AdHocScript", "Arguments": {"ScriptBody": "x", "Syntax": "Cobol"}},
        {"Name": "AdHocScript", "Arguments": {"ScriptBody": "x", "TargetType": "Moon"}},
        {"Name": "AdHocScript", "Arguments": {"ScriptBody": "x", "WorkerPoolIds": ["WorkerPools-99999"]}},
        {"Name": "AdHocScript", "Arguments": {"ScriptBody": "x", "TargetType": "Workers", "MachineIds": []}},
        {"Name": "Reticulate", "Arguments": {}},
        {"Arguments": {"ScriptBody": "x"}},
    ]
    for body in cases:
        response = server.client.post("/api/tasks", json=body)
        assert response.status_code == 400, (body, response.text)
        assert response.json()["ErrorMessage"] and response.json()["Errors"]


def test_a_pool_with_only_unhealthy_workers_fails_naming_the_pool(server: ServerProcess) -> None:
    c = server.client
    pool = c.post("/api/workerpools", json={"Name": unique("Unreached")}).json()
    endpoint = {
        "CommunicationStyle": "TentaclePassive",
        "Uri": "https://127.0.0.1:1/",
        "Thumbprint": "A" * 40,
    }
    assert (
        c.post(
            "/api/workers", json={"Name": unique("w"), "WorkerPoolIds": [pool["Id"]], "Endpoint": endpoint}
        ).status_code
        == 201
    )
    task = run_script(c, "echo hi", WorkerPoolIds=[pool["Id"]])
    assert task["State"] == "Failed"
    assert f"no healthy worker available in pool '{pool['Name']}'" in task["ErrorMessage"]


def test_script_runs_once_per_selected_pool(server: ServerProcess) -> None:
    task = run_script(server.client, "echo ran", TargetType="OctopusServer")
    details = server.client.get(f"/api/tasks/{task['Id']}/details").json()
    assert len(details["ActivityLogs"][0]["Children"]) == 1
