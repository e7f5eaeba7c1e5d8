"""Task states and the only legal moves between them.

Every state change in the orchestrator passes through :func:`transition`, so a task can never leave a
final state or skip ``Executing``: the described system's users lose trust when a finished task flips.
"""

from __future__ import annotations

from enum import StrEnum


class TaskState(StrEnum):
    QUEUED = "Queued"
    EXECUTING = "Executing"
    CANCELLING = "Cancelling"
    SUCCESS = "Success"
    FAILED = "Failed"
    CANCELED = "Canceled"
    TIMED_OUT = "TimedOut"

    @property
    def is_completed(self) -> bool:
        return self in FINAL_STATES


FINAL_STATES = frozenset({TaskState.SUCCESS, TaskState.FAILED, TaskState.CANCELED, TaskState.TIMED_OUT})

_ALLOWED: dict[TaskState, frozenset[TaskState]] = {
    TaskState.QUEUED: frozenset(
        {TaskState.EXECUTING, TaskState.CANCELED, TaskState.FAILED, TaskState.TIMED_OUT}
    ),
    TaskState.EXECUTING: frozenset(
        {TaskState.SUCCESS, TaskState.FAILED, TaskState.CANCELLING, TaskState.CANCELED, TaskState.TIMED_OUT}
    ),
    TaskState.CANCELLING: frozenset(
        {TaskState.CANCELED, TaskState.FAILED, TaskState.SUCCESS, TaskState.TIMED_OUT}
    ),
}


class IllegalTransition(ValueError):
    def __init__(self, current: TaskState, target: TaskState) -> None:
        super().__init__(f"A task cannot move from {current.value} to {target.value}")
        self.current = current
        self.target = target


def can_transition(current: TaskState, target: TaskState) -> bool:
    return target in _ALLOWED.get(current, frozenset())


def transition(current: TaskState, target: TaskState) -> TaskState:
    if not can_transition(current, target):
        raise IllegalTransition(current, target)
    return target


class TaskType(StrEnum):
    AD_HOC_SCRIPT = "AdHocScript"
    HEALTH = "Health"
    UPDATE_CALAMARI = "UpdateCalamari"
    DEPLOY = "Deploy"
    RUNBOOK_RUN = "RunbookRun"


def describe_duration(seconds: float) -> str:
    """Human text for ``Duration``, as the described system shows it ("4 seconds", "1 minute")."""
    whole = int(seconds)
    if whole < 1:
        return "less than a second"
    for size, unit in ((86400, "day"), (3600, "hour"), (60, "minute"), (1, "second")):
        if whole >= size:
            count = whole // size
            return f"{count} {unit}{'' if count == 1 else 's'}"
    return "less than a second"  # pragma: no cover - loop always returns
