"""Why a task waits: the rules of domain/pending.py, as a table."""

from __future__ import annotations

import pytest

from argonaut.domain.pending import AHEAD_CAP, MAX_REASON, NodeLoad, TaskFacts, pending_reason
from argonaut.domain.tasks import TaskState

Q, X = TaskState.QUEUED, TaskState.EXECUTING
FULL = NodeLoad("node-a", 1, 1)
FREE = NodeLoad("node-b", 2, 1)


@pytest.mark.parametrize(
    ("facts", "expected"),
    [
        (TaskFacts(TaskState.SUCCESS, nodes=[FULL]), None),
        (TaskFacts(TaskState.CANCELLING, pending_interruptions=["ManualIntervention"]), None),
        (TaskFacts(Q, nodes=[]), "No server node is running to pick up tasks"),
        (TaskFacts(Q, nodes=[NodeLoad("a", 5, 0, online=False)]), "No server node is running"),
        (TaskFacts(Q, nodes=[NodeLoad("a", 5, 0, draining=True)]), "Every server node is in maintenance"),
        (TaskFacts(Q, nodes=[FULL]), "The task cap is reached: node 'node-a' runs 1 of 1 tasks"),
        (
            TaskFacts(Q, nodes=[FULL, NodeLoad("node-c", 2, 3)]),
            "The task cap is reached on all 2 nodes (4 of 3 tasks running)",
        ),
        # A draining node's free slots do not count; an offline node's neither.
        (TaskFacts(Q, nodes=[FULL, NodeLoad("d", 9, 0, draining=True)]), "The task cap is reached: node"),
        (TaskFacts(Q, nodes=[FULL, FREE], queued_ahead=3), "Queued behind 3 older tasks"),
        (TaskFacts(Q, nodes=[FREE], queued_ahead=1), "Queued behind 1 older task;"),
        (TaskFacts(Q, nodes=[FREE]), "Waiting for a server node to pick it up"),
        (TaskFacts(Q, nodes=[FREE], queued_ahead=AHEAD_CAP), "Queued behind 1000 or more older tasks"),
        (
            TaskFacts(X, pending_interruptions=["ManualIntervention"]),
            "Waiting for someone to take responsibility",
        ),
        (TaskFacts(X, pending_interruptions=["GuidedFailure"]), "Waiting for someone to guide a failed step"),
        (
            TaskFacts(X, last_line=("Wait", "Waiting: pool 'P' is busy")),
            "Waiting: pool 'P' is busy",
        ),
        (TaskFacts(X, last_line=("Info", "Waiting for nothing: a script said so")), None),
        (TaskFacts(X), None),
    ],
)
def test_the_reason_a_task_waits(facts: TaskFacts, expected: str | None) -> None:
    reason = pending_reason(facts)
    if expected is None:
        assert reason is None
    else:
        assert reason is not None and reason.startswith(expected), reason


def test_a_long_wait_line_is_cut_to_a_sentence() -> None:
    reason = pending_reason(TaskFacts(X, last_line=("Wait", "Waiting\n for " + "x" * 1000)))
    assert reason is not None and len(reason) == MAX_REASON and reason.startswith("Waiting for x")
