"""The runbook rules without a server: settings defaults and checks, where a runbook may run, which old
runs retention lets go, and the ids of runbook processes."""

from __future__ import annotations

from argonaut.domain.owned_ids import canonical_runbook_process, runbook_process_id
from argonaut.domain.runbooks import PastRun, merged_document, retention_victims, scope_refusal


def test_a_new_runbook_gets_the_described_systems_defaults() -> None:
    document, errors = merged_document({}, {})
    assert errors == []
    assert document["EnvironmentScope"] == "All"
    assert document["RunRetentionPolicy"]["QuantityToKeep"] == 100
    assert document["ConnectivityPolicy"]["AllowDeploymentsToNoTargets"] is True


def test_nested_settings_merge_and_every_problem_is_reported() -> None:
    current, _ = merged_document({"RunRetentionPolicy": {"QuantityToKeep": 5}}, {})
    document, errors = merged_document({"RunRetentionPolicy": {"ShouldKeepForever": True}}, current)
    assert document["RunRetentionPolicy"]["QuantityToKeep"] == 5 and errors == []
    _, errors = merged_document(
        {"EnvironmentScope": "Nowhere", "RunRetentionPolicy": {"QuantityToKeep": 0, "Unit": "Days"}}, {}
    )
    assert len(errors) == 3


def test_scope_decides_where_a_runbook_runs() -> None:
    specified = {"EnvironmentScope": "Specified", "Environments": ["Environments-1"]}
    assert scope_refusal("R", specified, "environments-1", "Dev", set()) is None
    assert "'Prod'" in (scope_refusal("R", specified, "Environments-2", "Prod", set()) or "")
    lifecycles = {"EnvironmentScope": "FromProjectLifecycles"}
    assert scope_refusal("R", lifecycles, "Environments-2", "Prod", {"Environments-2"}) is None
    assert scope_refusal("R", lifecycles, "Environments-3", "Ops", {"Environments-2"}) is not None
    assert scope_refusal("R", {"EnvironmentScope": "All"}, "Environments-9", "Any", set()) is None


def test_retention_keeps_the_newest_and_every_unfinished_run() -> None:
    runs = [
        PastRun(5, 50, False),
        PastRun(4, 40, True),
        PastRun(3, 30, False),
        PastRun(2, 20, True),
        PastRun(1, None, True),
    ]
    assert [r.run_id for r in retention_victims(runs, {"QuantityToKeep": 2})] == [2, 1]
    assert retention_victims(runs, {"QuantityToKeep": 2, "ShouldKeepForever": True}) == []
    assert retention_victims(runs, {"QuantityToKeep": 10}) == []


def test_runbook_process_ids_are_read_in_any_case() -> None:
    assert runbook_process_id(4) == "RunbookProcess-Runbooks-4"
    assert canonical_runbook_process("runbookprocess-runbooks-4") == "RunbookProcess-Runbooks-4"
    assert (
        canonical_runbook_process("RunbookProcess-Runbooks-4-s-2-ab12c")
        == "RunbookProcess-Runbooks-4-s-2-AB12C"
    )
    assert canonical_runbook_process("deploymentprocess-Projects-4") is None
