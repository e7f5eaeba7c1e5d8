"""What an audited request means (``domain.audit``): its category and message, and the differences a
modification made, sensitive values only ever marked as changed."""

from __future__ import annotations

import pytest

from argonaut.domain import audit


@pytest.mark.parametrize(
    ("method", "path", "category", "noun", "path_id"),
    [
        ("POST", "/api/Spaces-1/environments", "Created", "environment", None),
        ("PUT", "/api/Spaces-1/environments/Environments-3", "Modified", "environment", "Environments-3"),
        ("DELETE", "/api/workerpools/WorkerPools-2", "Deleted", "worker pool", "WorkerPools-2"),
        ("POST", "/api/Spaces-1/tasks", "TaskQueued", "task", None),
        ("POST", "/api/tasks/ServerTasks-9/cancel", "TaskCanceled", "task", "ServerTasks-9"),
        ("POST", "/api/Spaces-1/deployments", "DeploymentQueued", "deployment", None),
        ("POST", "/api/Spaces-1/deployments/create/untenanted/v1", "DeploymentQueued", "deployment", None),
        ("POST", "/api/Spaces-1/runbookruns", "RunbookRunQueued", "runbook run", None),
        ("POST", "/api/Spaces-1/runbooks/Runbooks-1/run", "RunbookRunQueued", "runbook run", None),
        ("POST", "/api/Spaces-1/runbook-runs/create/v1", "RunbookRunQueued", "runbook run", None),
        (
            "PUT",
            "/api/Spaces-1/variables/variableset-Projects-1",
            "Modified",
            "variable set",
            "variableset-Projects-1",
        ),
        (
            "POST",
            "/api/Spaces-1/interruptions/Interruptions-2/submit",
            "InterruptionSubmitted",
            "interruption",
            "Interruptions-2",
        ),
        ("PUT", "/api/spaces/Spaces-2", "Modified", "space", "Spaces-2"),
    ],
)
def test_requests_are_classified(
    method: str, path: str, category: str, noun: str, path_id: str | None
) -> None:
    action = audit.classify(method, path)
    assert action is not None
    assert (action.category, action.noun, action.path_id) == (category, noun, path_id)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/Spaces-1/environments"),
        ("POST", "/api/users/login"),
        ("POST", "/api/users/logout"),
        ("POST", "/api/Spaces-1/workers/discover"),
        ("POST", "/not-api/thing"),
    ],
)
def test_reads_and_sign_ins_are_not_audited_here(method: str, path: str) -> None:
    assert audit.classify(method, path) is None


def test_messages_name_the_resource() -> None:
    action = audit.classify("POST", "/api/Spaces-1/environments")
    assert action is not None
    assert (
        audit.message("admin", action, "Environments-1", "Dev")
        == "admin created the environment Dev (Environments-1)"
    )
    assert (
        audit.message("admin", action, "Environments-1", None)
        == "admin created the environment Environments-1"
    )


def test_differences_are_field_by_field_json_patch() -> None:
    before = {"Name": "Dev", "Tags": ["a", "b"], "Links": {"Self": "x"}, "Nested": {"A": 1}}
    after = {"Name": "Test", "Tags": ["a"], "Links": {"Self": "y"}, "Nested": {"A": 1, "B": 2}}
    assert audit.differences(before, after) == [
        {"op": "replace", "path": "/Name", "value": "Test"},
        {"op": "remove", "path": "/Tags/1"},
        {"op": "add", "path": "/Nested/B", "value": 2},
    ]


def test_sensitive_values_are_only_marked_as_changed() -> None:
    before = {
        "Password": "old",
        "Token": {"HasValue": True, "NewValue": None},
        "Variables": [{"Name": "P", "Value": "plain", "IsSensitive": False}, {"Name": "Q", "Value": "x"}],
        "SecretKey": "a",
    }
    after = {
        "Password": "new",
        "Token": {"HasValue": False, "NewValue": None},
        "Variables": [{"Name": "P", "Value": None, "IsSensitive": True}],
        "SecretKey": "b",
    }
    found = audit.differences(before, after)
    text = str(found)
    assert "old" not in text and "new" not in text and "plain" not in text and "'b'" not in text
    by_path = {d["path"]: d for d in found}
    assert by_path["/Password"] == {"op": "replace", "path": "/Password", "Sensitive": True}
    assert by_path["/Token"]["Sensitive"] is True and by_path["/SecretKey"]["Sensitive"] is True
    assert by_path["/Variables/0/Value"] == {"op": "replace", "path": "/Variables/0/Value", "Sensitive": True}
    assert by_path["/Variables/0/IsSensitive"]["value"] is True
    assert by_path["/Variables/1"] == {"op": "remove", "path": "/Variables/1"}
    # An added sensitive variable is named, never shown.
    added = audit.differences({"V": []}, {"V": [{"Name": "S", "Value": "v", "IsSensitive": True}]})
    assert added == [{"op": "add", "path": "/V/0", "Sensitive": True}]


def test_a_request_writing_a_secret_counts_as_a_change() -> None:
    body = {
        "Variables": [{"Name": "P", "Value": "hunter2", "IsSensitive": True}, {"Name": "Q", "Value": "q"}],
        "Password": {"HasValue": True, "NewValue": "pw"},
        "Unchanged": {"HasValue": True, "NewValue": None},
    }
    writes = audit.sensitive_writes(body)
    assert writes == [
        {"op": "replace", "path": "/Variables/0/Value", "Sensitive": True},
        {"op": "replace", "path": "/Password", "Sensitive": True},
    ]
    merged = audit.merge([{"op": "replace", "path": "/Password", "Sensitive": True}], writes)
    assert [d["path"] for d in merged] == ["/Password", "/Variables/0/Value"]
