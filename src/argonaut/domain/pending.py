"""Why a task that has not finished is still waiting: the ``PendingReason`` of the task resource.

A user looking at a queued task sees nothing happen and cannot tell a full cluster from a broken one, so
the API says why, in one short sentence: every node is at its task cap (or in maintenance mode, or no node
runs at all), the task waits for a person to answer an interruption, or a running task waits for a worker,
a busy deployment target or a child task (its executor says so with a ``Wait`` line, which stays its last
line until the wait ends). Pure: the service layer gathers the facts, this module decides.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from argonaut.domain.interruptions import InterruptionType
from argonaut.domain.tasks import TaskState

MAX_REASON = 300  # a reason is a sentence, not a log: a Wait line longer than this is cut
AHEAD_CAP = 1000  # older queued tasks are counted up to this many ("1000 or more")


@dataclass(frozen=True, slots=True)
class NodeLoad:
    """One server node as the queue sees it: may it claim a task now?"""

    name: str
    task_cap: int
    running: int  # tasks holding a slot on it
    draining: bool = False  # maintenance mode: claims nothing new
    online: bool = True

    @property
    def full(self) -> bool:
        return self.running >= self.task_cap


@dataclass(frozen=True, slots=True)
class TaskFacts:
    """What decides a task's reason; only the parts that apply to its state need be filled in."""

    state: TaskState
    pending_interruptions: Sequence[str] = ()
    nodes: Sequence[NodeLoad] = ()
    queued_ahead: int = 0  # older queued tasks, claimed first
    last_line: tuple[str, str] | None = None  # (category, text) of the task's newest log line


def pending_reason(facts: TaskFacts) -> str | None:
    """The sentence saying why the task waits, or None when it does not (finished, or simply working)."""
    if facts.state.is_completed or facts.state is TaskState.CANCELLING:
        return None
    if facts.state is TaskState.QUEUED:
        return _queued(facts)
    return _executing(facts)


def _queued(facts: TaskFacts) -> str:
    online = [n for n in facts.nodes if n.online]
    if not online:
        return "No server node is running to pick up tasks"
    claiming = [n for n in online if not n.draining]
    if not claiming:
        return "Every server node is in maintenance mode, so none picks up new tasks"
    if all(n.full for n in claiming):
        if len(claiming) == 1:
            node = claiming[0]
            return (
                f"The task cap is reached: node '{node.name}' runs {node.running} of "
                f"{node.task_cap} tasks at once; this task starts when one of them ends"
            )
        running = sum(n.running for n in claiming)
        cap = sum(n.task_cap for n in claiming)
        return (
            f"The task cap is reached on all {len(claiming)} nodes ({running} of {cap} tasks running); "
            "this task starts when one of them ends"
        )
    if facts.queued_ahead:
        count = f"{AHEAD_CAP} or more" if facts.queued_ahead >= AHEAD_CAP else str(facts.queued_ahead)
        plural = "task" if facts.queued_ahead == 1 else "tasks"
        return f"Queued behind {count} older {plural}; a node picks them up in order"
    return "Waiting for a server node to pick it up"


def _executing(facts: TaskFacts) -> str | None:
    types = set(facts.pending_interruptions)
    if InterruptionType.MANUAL_INTERVENTION.value in types:
        return "Waiting for someone to take responsibility for and approve or abort a manual intervention"
    if InterruptionType.GUIDED_FAILURE.value in types:
        return "Waiting for someone to guide a failed step: fail, retry, ignore or exclude the machine"
    if types:
        return "Waiting for someone to answer an interruption"
    if facts.last_line is not None:
        category, text = facts.last_line
        if category == "Wait":
            text = " ".join(text.split())
            return text if len(text) <= MAX_REASON else text[: MAX_REASON - 1] + "…"
    return None
