"""The pure parts of a machine's connection history and of a pool's health summary."""

from __future__ import annotations

from argonaut.domain.connection_history import connection_status, health_change
from argonaut.domain.pool_summary import summarize


def test_only_a_change_to_a_known_status_is_history() -> None:
    assert health_change("w1", "Healthy", "Healthy", "fine") is None
    assert health_change("w1", "Healthy", "Unknown", "changed") is None
    assert health_change("w1", "Unknown", "HasWarnings", "low disk") == (
        "MachineHasWarnings",
        "w1 has warnings (was Unknown): low disk",
    )


def test_the_connection_status_reads_versions_from_the_last_checks_details() -> None:
    machine = {
        "Id": "Workers-3",
        "HealthStatus": "Healthy",
        "StatusSummary": "ok",
        "HasLatestCalamari": True,
        "Links": {"Connection": "/api/Spaces-1/workers/Workers-3/connection"},
    }
    history = [{"category": "MachineUnavailable", "message": "gone", "occurred": "2026-01-01T00:00:00+00:00"}]
    status = connection_status(machine, {"AgentVersion": "0.1.0", "RunnerVersion": "1.1.0"}, history)
    assert status["CurrentTentacleVersion"] == "0.1.0" and status["CurrentRunnerVersion"] == "1.1.0"
    assert status["LastChecked"] is None
    assert status["Logs"] == [
        {
            "Category": "MachineUnavailable",
            "Status": "Unavailable",
            "OccurredAt": "2026-01-01T00:00:00+00:00",
            "MessageText": "gone",
        }
    ]


def test_disabled_workers_are_counted_apart_from_their_health() -> None:
    pools = [{"Id": "WorkerPools-1", "_number": 1}, {"Id": "WorkerPools-2", "_number": 2}]
    counts = [(1, "Healthy", False, "TentacleActive", 2), (1, "Healthy", True, "Ssh", 1)]
    summary = summarize(pools, counts)
    first, second = summary["WorkerPoolSummaries"]
    assert first["WorkerPool"] == {"Id": "WorkerPools-1"}
    assert first["TotalMachines"] == 3 and first["TotalDisabledMachines"] == 1
    assert first["MachineHealthStatusSummaries"]["Healthy"] == 2
    assert first["MachineEndpointSummaries"] == {"TentacleActive": 2, "Ssh": 1}
    assert second["TotalMachines"] == 0 and summary["TotalMachines"] == 3
