"""Pure domain rules: ids, paging, task transitions, time spans, worker choice, endpoints, policies."""

from __future__ import annotations

import pytest

from argonaut.domain.endpoints import check_endpoint, normalise_thumbprint
from argonaut.domain.ids import Collection, format_id, parse_id
from argonaut.domain.paging import Page
from argonaut.domain.policies import default_document, merge_document, validate_document
from argonaut.domain.tasks import IllegalTransition, TaskState, describe_duration, transition
from argonaut.domain.timespan import InvalidTimeSpan, format_timespan, parse_timespan
from argonaut.domain.workers import BuiltInWorker, HealthStatus, NoWorker, WorkerCandidate, choose_worker

THUMB = "A" * 40


@pytest.mark.parametrize(
    ("collection", "text", "expected"),
    [
        (Collection.SPACES, "Spaces-1", 1),
        (Collection.SPACES, "spaces-12", 12),
        (Collection.SERVER_TASKS, "ServerTasks-7", 7),
        (Collection.SERVER_TASKS, "Tasks-7", None),
        (Collection.WORKERS, "Workers-0", None),
        (Collection.WORKERS, "Workers-", None),
        (Collection.WORKERS, "Workers-1x", None),
        (Collection.WORKERS, "WorkerPools-1", None),
        (Collection.WORKERS, "Workers-2147483647", 2147483647),  # the largest the store holds
        (Collection.WORKERS, "Workers-2147483648", None),
        (Collection.WORKERS, "Workers-99999999999", None),
    ],
)
def test_parse_id(collection: Collection, text: str, expected: int | None) -> None:
    assert parse_id(collection, text) == expected


def test_format_id_round_trips() -> None:
    assert format_id(Collection.WORKER_POOLS, 83) == "WorkerPools-83"
    assert parse_id(Collection.WORKER_POOLS, format_id(Collection.WORKER_POOLS, 83)) == 83


@pytest.mark.parametrize(
    ("skip", "take", "total", "pages", "last", "has_next"),
    [
        (0, 30, 42, 2, 1, True),
        (30, 30, 42, 2, 1, False),
        (0, 30, 0, 1, 0, False),
        (0, 10, 10, 1, 0, False),
        (0, 10, 11, 2, 1, True),
        (0, 0, 5, 1, 0, False),
    ],
)
def test_paging(skip: int, take: int, total: int, pages: int, last: int, has_next: bool) -> None:
    page = Page(skip, take, total)
    assert (page.number_of_pages, page.last_page_number, page.has_next) == (pages, last, has_next)


@pytest.mark.parametrize(
    ("current", "target", "legal"),
    [
        (TaskState.QUEUED, TaskState.EXECUTING, True),
        (TaskState.QUEUED, TaskState.CANCELED, True),
        (TaskState.EXECUTING, TaskState.SUCCESS, True),
        (TaskState.EXECUTING, TaskState.CANCELLING, True),
        (TaskState.CANCELLING, TaskState.CANCELED, True),
        (TaskState.SUCCESS, TaskState.FAILED, False),
        (TaskState.CANCELED, TaskState.EXECUTING, False),
        (TaskState.QUEUED, TaskState.SUCCESS, False),
    ],
)
def test_task_transitions(current: TaskState, target: TaskState, legal: bool) -> None:
    if legal:
        assert transition(current, target) is target
    else:
        with pytest.raises(IllegalTransition):
            transition(current, target)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0.2, "less than a second"), (1, "1 second"), (4.9, "4 seconds"), (61, "1 minute"), (7200, "2 hours")],
)
def test_describe_duration(seconds: float, text: str) -> None:
    assert describe_duration(seconds) == text


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("00:02:00", 120.0),
        ("1.00:00:00", 86400.0),
        ("01:00:00", 3600.0),
        ("00:00:01.5", 1.5),
        ("2.03:04:05", 183845.0),
    ],
)
def test_timespan_round_trip(text: str, seconds: float) -> None:
    assert parse_timespan(text) == seconds
    assert parse_timespan(format_timespan(seconds)) == seconds


@pytest.mark.parametrize("text", ["", "2 minutes", "00:60:00", "1:2", "-00:01:00"])
def test_timespan_rejects(text: str) -> None:
    with pytest.raises(InvalidTimeSpan):
        parse_timespan(text)


def w(
    wid: int, health: HealthStatus = HealthStatus.HEALTHY, leases: int = 0, disabled: bool = False
) -> WorkerCandidate:
    return WorkerCandidate(f"Workers-{wid}", f"w{wid}", health, disabled, active_leases=leases)


@pytest.mark.parametrize(
    ("is_default", "workers", "built_in", "expected"),
    [
        (True, [], True, "builtin"),
        (True, [], False, "none"),
        (False, [], True, "none"),
        (True, [w(1, HealthStatus.UNAVAILABLE)], True, "none"),  # unhealthy workers never fall back
        (True, [w(1), w(2)], True, "Workers-1"),
        (False, [w(1, leases=2), w(2, leases=1)], True, "Workers-2"),
        (False, [w(1, disabled=True), w(2, leases=5)], True, "Workers-2"),
        (False, [w(3, HealthStatus.HAS_WARNINGS), w(2, HealthStatus.UNKNOWN)], True, "Workers-3"),
        (False, [w(10), w(9)], True, "Workers-9"),
    ],
)
def test_choose_worker(
    is_default: bool, workers: list[WorkerCandidate], built_in: bool, expected: str
) -> None:
    choice = choose_worker("Pool A", is_default, workers, built_in)
    if expected == "builtin":
        assert isinstance(choice, BuiltInWorker)
    elif expected == "none":
        assert isinstance(choice, NoWorker)
        assert "'Pool A'" in choice.reason
    else:
        assert isinstance(choice, WorkerCandidate) and choice.id == expected


def test_exclusive_lease_needs_an_idle_worker() -> None:
    choice = choose_worker("P", False, [w(1, leases=1), w(2)], True, exclusive=True)
    assert isinstance(choice, WorkerCandidate) and choice.id == "Workers-2"
    busy = choose_worker("P", False, [w(1, leases=1)], True, exclusive=True)
    assert isinstance(busy, NoWorker) and "busy" in busy.reason


@pytest.mark.parametrize(
    ("raw", "ok", "uri"),
    [
        (
            {"CommunicationStyle": "TentaclePassive", "Uri": "https://Web01:10933", "Thumbprint": THUMB},
            True,
            "https://web01:10933/",
        ),
        (
            {"CommunicationStyle": "TentaclePassive", "Uri": "https://web01", "Thumbprint": THUMB},
            True,
            "https://web01:10933/",
        ),
        (
            {"CommunicationStyle": "TentaclePassive", "Uri": "http://web01:10933/", "Thumbprint": THUMB},
            False,
            None,
        ),
        (
            {
                "CommunicationStyle": "TentacleActive",
                "Uri": "poll://abcdefghijklmnopqrst/",
                "Thumbprint": THUMB,
            },
            True,
            "poll://abcdefghijklmnopqrst/",
        ),
        ({"CommunicationStyle": "TentacleActive", "Uri": "https://x/", "Thumbprint": THUMB}, False, None),
        ({"CommunicationStyle": "TentacleActive", "Uri": "poll://abc/", "Thumbprint": "nothex"}, False, None),
        (
            {"CommunicationStyle": "Ssh", "Host": "Box", "Port": 22, "AccountId": "Accounts-1"},
            True,
            "ssh://box:22/",
        ),
        ({"CommunicationStyle": "Ssh", "Host": "box", "Port": 70000, "AccountId": "Accounts-1"}, False, None),
        ({"CommunicationStyle": "Kubernetes"}, False, None),
        ({}, False, None),
    ],
)
def test_check_endpoint(raw: dict[str, object], ok: bool, uri: str | None) -> None:
    check = check_endpoint(raw)
    assert (not check.errors) is ok
    if ok:
        assert check.endpoint["Uri"] == uri


def test_thumbprint_normalised() -> None:
    assert normalise_thumbprint("ab:" * 19 + "ab") == "AB" * 20
    assert normalise_thumbprint("12") is None


def test_policy_defaults_are_valid_and_merge_keeps_the_rest() -> None:
    base = default_document()
    assert validate_document(base) == []
    merged = merge_document(base, {"MachineHealthCheckPolicy": {"HealthCheckInterval": "00:00:30"}})
    assert merged["MachineHealthCheckPolicy"]["HealthCheckInterval"] == "00:00:30"
    assert merged["MachineHealthCheckPolicy"]["HealthCheckType"] == "RunScript"
    assert base["MachineHealthCheckPolicy"]["HealthCheckInterval"] == "01:00:00"


def test_policy_rejects_bad_values() -> None:
    doc = merge_document(
        default_document(),
        {
            "PollingRequestQueueTimeout": "two minutes",
            "MachineCleanupPolicy": {"DeleteMachinesBehavior": "Sometimes"},
        },
    )
    errors = validate_document(doc)
    assert any("PollingRequestQueueTimeout" in e for e in errors)
    assert any("DeleteMachinesBehavior" in e for e in errors)
