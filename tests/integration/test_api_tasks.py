"""Ad-hoc script tasks on the built-in worker: logs, output variables, artifacts, cancel, errors."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import httpx
import pytest

from conftest import (
    ServerProcess,
    assert_process_gone,
    follow,
    run_script,
    script_task,
    unique,
    wait_for_log_line,
)

pytestmark = pytest.mark.databases("SQLite", "PostgreSQL")


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
    stored = server.stored_content()
    assert b"the password is ********" in stored  # the check reads the real log
    assert secret.encode() not in stored


def test_a_script_printing_nul_bytes_completes_and_shows_them_as_replacement_characters(
    server: ServerProcess,
) -> None:
    """PostgreSQL's text cannot hold U+0000, which SQLite stores: the store writes U+FFFD on both, as a
    decoder shows bytes it cannot read, so the log reads the same whichever database holds it."""
    task = run_script(server.client, "printf 'binary\\0data\\n'; echo after")
    raw = server.client.get(f"/api/tasks/{task['Id']}/raw").text
    assert task["State"] == "Success", raw
    assert "|   binary\ufffddata" in raw and "|   after" in raw
    pool = server.client.post(
        "/api/workerpools", json={"Name": unique("nul\x00pool"), "Description": "a\x00b"}
    )
    assert pool.status_code == 201, pool.text
    assert "\x00" not in pool.text and pool.json()["Description"] == "a\ufffdb"
    found = server.client.get("/api/workerpools", params={"name": pool.json()["Name"]}).json()
    assert [p["Id"] for p in found["Items"]] == [pool.json()["Id"]]


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


def test_an_artifact_keeps_a_long_name(server: ServerProcess) -> None:
    name = "report-" + "n" * 600 + ".txt"  # the script names it; nothing bounds a name it gives
    task = run_script(server.client, f"printf 'body' > r.txt\nnew_octopusartifact r.txt {name}")
    assert task["State"] == "Success", task
    listing = server.client.get("/api/Spaces-1/artifacts", params={"regarding": task["Id"]}).json()
    assert [a["Filename"] for a in listing["Items"]] == [name]


def test_built_in_scripts_never_see_the_servers_own_variables(server: ServerProcess) -> None:
    # Every test server is given its admin key as ARGONAUT_ADMIN_API_KEY; a script must not read it.
    task = run_script(server.client, 'echo "key:${ARGONAUT_ADMIN_API_KEY-unset} path:${PATH:+set}"')
    raw = server.client.get(f"/api/tasks/{task['Id']}/raw").text
    assert "key:unset path:set" in raw, raw
    assert server.api_key not in raw


def test_each_script_gets_its_own_folder_removed_afterwards(server: ServerProcess) -> None:
    task = run_script(server.client, "pwd; touch marker")
    raw = server.client.get(f"/api/tasks/{task['Id']}/raw").text
    folder = next(
        line.split("|", 1)[1].strip()
        for line in raw.splitlines()
        if str(server.work_root) in line and "marker" not in line
    )
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


def _stream(
    client: httpx.Client, task_id: str, since: int = 0
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    with client.stream(
        "GET", f"/api/tasks/{task_id}/stream", params={"since": since}, timeout=60
    ) as response:
        events = [json.loads(line) for line in response.iter_lines() if line]
    assert events[-1]["Type"] == "Task" and all(e["Type"] == "Log" for e in events[:-1])
    return events[:-1], events[-1]["Task"]


def test_a_log_of_many_pages_reads_whole_in_every_view(server: ServerProcess) -> None:
    """Logs are read out of the store a page at a time (250 lines): no line lost or doubled at the
    seams, Verbose lines left out in the query, tails read from the end, in every view."""
    c = server.client
    body = (
        'for i in $(seq 1 2345); do echo "line $i"; done\n'
        "echo '##octopus[stdout-verbose]'\n"
        'for i in $(seq 1 700); do echo "quiet $i"; done\n'
        "echo '##octopus[stdout-default]'\n"
        "echo last"
    )
    task = run_script(c, body)
    assert task["State"] == "Success", task
    expected = [f"line {i}" for i in range(1, 2346)] + [f"quiet {i}" for i in range(1, 701)] + ["last"]

    raw = c.get(f"/api/tasks/{task['Id']}/raw")
    assert raw.headers["transfer-encoding"] == "chunked"
    shown = [line.split("|   ", 1)[1] for line in raw.text.splitlines() if "|   " in line]
    assert [t for t in shown if t.startswith(("line ", "quiet ", "last"))] == expected

    loud = c.get(f"/api/tasks/{task['Id']}/details", params={"verbose": "true"})
    assert loud.headers["transfer-encoding"] == "chunked"
    run = loud.json()["ActivityLogs"][0]["Children"][0]
    texts = [e["MessageText"] for e in run["LogElements"]]
    assert [t for t in texts if t.startswith(("line ", "quiet ", "last"))] == expected
    numbers = [e["Number"] for e in run["LogElements"]]
    assert numbers == sorted(set(numbers))
    quiet = c.get(f"/api/tasks/{task['Id']}/details").json()
    quiet_texts = [e["MessageText"] for e in quiet["ActivityLogs"][0]["Children"][0]["LogElements"]]
    assert "quiet 1" not in quiet_texts and quiet_texts[-1] == "last" and "line 2345" in quiet_texts
    # PhysicalLogSize is the whole stored log's, whatever the view shows.
    assert quiet["PhysicalLogSize"] == loud.json()["PhysicalLogSize"] > sum(len(t) + 1 for t in expected)

    tails = {
        (verbose, n): [
            e["MessageText"]
            for e in c.get(f"/api/tasks/{task['Id']}/details", params={"verbose": verbose, "tail": n}).json()[
                "ActivityLogs"
            ][0]["Children"][0]["LogElements"]
        ]
        for verbose in ("true", "false")
        for n in (0, 3)
    }
    assert tails[("true", 3)] == ["quiet 699", "quiet 700", "last"]
    assert tails[("false", 3)] == ["line 2344", "line 2345", "last"]
    assert tails[("true", 0)] == tails[("false", 0)] == []

    lines, final = _stream(c, str(task["Id"]))
    assert [e["Number"] for e in lines] == list(range(len(lines)))
    assert [
        e["MessageText"] for e in lines if e["MessageText"].startswith(("line ", "quiet ", "last"))
    ] == expected
    assert final["State"] == "Success"
    later, _ = _stream(c, str(task["Id"]), since=1000)
    assert later == lines[1000:]


def test_views_of_a_running_task_join_stored_and_live_lines(server: ServerProcess, tmp_path: Path) -> None:
    """While a task runs, its recent lines are partly in memory only: every view joins them to the
    stored ones without gaps or repeats, and a stream started mid-task carries on live to the end."""
    c = server.client
    flag = tmp_path / "go-on"
    body = (
        'for i in $(seq 1 1500); do echo "early $i"; done\necho started\n'
        f"while [ ! -e {flag} ]; do sleep 0.05; done\n"
        'for i in $(seq 1 600); do echo "late $i"; done'
    )
    created = c.post("/api/Spaces-1/tasks", json=script_task(body)).json()
    wait_for_log_line(c, created["Id"], "started")

    run = c.get(f"/api/tasks/{created['Id']}/details", params={"tail": 2}).json()["ActivityLogs"][0]
    assert [e["MessageText"] for e in run["Children"][0]["LogElements"]] == ["early 1500", "started"]
    raw = c.get(f"/api/tasks/{created['Id']}/raw").text
    assert "Task status:    Executing" in raw and raw.index("|   early 1500") < raw.index("|   started")
    with c.stream("GET", f"/api/tasks/{created['Id']}/stream", timeout=60) as response:
        lines = response.iter_lines()
        first = [json.loads(next(lines)) for _ in range(1000)]
        flag.touch()
        rest = [json.loads(line) for line in lines if line]
    events = first + rest
    assert events[-1]["Type"] == "Task" and events[-1]["Task"]["State"] == "Success"
    numbers = [e["Number"] for e in events[:-1]]
    assert numbers == list(range(len(numbers)))
    texts = [e["MessageText"] for e in events[:-1]]
    assert texts.index("early 1") < texts.index("started") < texts.index("late 1") < texts.index("late 600")
