"""Raising an interruption and waiting, without a task-cap slot, until a person answers it.

Both steps that wait for a person (``Octopus.Manual`` and guided failure) go through
:func:`raise_and_wait`. The answer may be submitted through any node of a cluster, so the waiting step
reads its interruption from the store every :data:`POLL_S`; an answer submitted through this node (or
announced by the ``interruption`` signal, which PostgreSQL delivers to every node after the submitting
transaction commits) wakes it at once through :class:`InterruptionWaits`. The store stays the truth: a
wake-up only makes the next read come sooner, so a lost signal costs at most one poll.

A node that restarts (or takes the task over) runs the waiting step again; the step finds the
interruption it raised by (task, correlation id) instead of raising a second one, and an answer given
meanwhile counts. A task canceled (or failed by its node stopping) while it waits closes its
interruption, so nobody is asked about a task that no longer listens.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from sqlalchemy.engine import RowMapping

from argonaut.domain.ids import Collection, format_id
from argonaut.orchestrator.queue import StopReason
from argonaut.store import interruptions_repo
from argonaut.store.signals import EVERYTHING

if TYPE_CHECKING:
    from argonaut.orchestrator.process_run import ProcessRun

log = logging.getLogger(__name__)

SIGNAL = "interruption"  # detail: the interruption's number; sent in the transaction that answers it
POLL_S = 0.5


class InterruptionWaits:
    """The interruptions this node's steps wait for, and a way to wake them when one is answered."""

    def __init__(self) -> None:
        self._waiting: dict[int, set[asyncio.Event]] = {}

    def wake(self, detail: str) -> None:
        """The handler of the ``interruption`` signal (``*``: signals may have been missed)."""
        if detail == EVERYTHING:
            events = [e for found in self._waiting.values() for e in found]
        else:
            events = list(self._waiting.get(int(detail), ())) if detail.isdigit() else []
        for event in events:
            event.set()

    @contextlib.contextmanager
    def watch(self, interruption_id: int) -> Iterator[asyncio.Event]:
        event = asyncio.Event()
        self._waiting.setdefault(interruption_id, set()).add(event)
        try:
            yield event
        finally:
            found = self._waiting.get(interruption_id)
            if found is not None:
                found.discard(event)
                if not found:
                    del self._waiting[interruption_id]


@runtime_checkable
class RelatedDocuments(Protocol):
    """A process source that can name the documents its run is about (a deployment's Deployments-n,
    Projects-n, Environments-n; a runbook run's own): ``?regarding=`` finds interruptions by them."""

    @property
    def related_document_ids(self) -> Sequence[str]: ...


def related_documents(process: ProcessRun) -> list[str]:
    task = format_id(Collection.SERVER_TASKS, process.run.task_id)
    source = process.source
    found = list(source.related_document_ids) if isinstance(source, RelatedDocuments) else []
    return found if task in found else [*found, task]


@dataclass(frozen=True, slots=True)
class Interruption:
    """What to ask a person: the type, title and form, who may answer, and which part of the run asks."""

    kind: str
    title: str
    form: Mapping[str, Any]
    correlation_id: str
    responsible_team_ids: Sequence[str] = field(default_factory=tuple)


async def raise_and_wait(
    process: ProcessRun,
    waits: InterruptionWaits,
    asked: Interruption,
    activity: str,
    answers: str,
    cli: str | None = None,
) -> RowMapping:
    """Raise ``asked`` (or find it, raised before a restart) and wait until it is answered; answers the
    answered row. The Wait line says who may answer and how: ``answers`` names the submitted values
    (``"Result": "Proceed" or "Abort"``), ``cli`` the client's verbs, given the interruption's id."""
    run = process.run
    row = await _raise(process, asked)
    number = int(row["id"])
    if row["is_pending"]:
        run.log.write(activity, "Wait", _wait_line(process, asked, number, answers, cli))
    try:
        async with run.waiting():
            return await _until_answered(process, waits, number)
    except asyncio.CancelledError:
        if run.stop is not StopReason.HAND_OVER:  # handed over: the next node waits for the same one
            why = "The task was canceled" if run.stop is StopReason.USER_CANCEL else "The task stopped"
            await _close(process, number, why)
        raise


def _wait_line(process: ProcessRun, asked: Interruption, number: int, answers: str, cli: str | None) -> str:
    shown = format_id(Collection.INTERRUPTIONS, number)
    url = f"/api/{format_id(Collection.SPACES, process.source.space_id)}/interruptions/{shown}"
    teams = ", ".join(asked.responsible_team_ids)
    who = f"a member of {teams}" if teams else "anyone allowed to submit interruptions"
    line = (
        f"Waiting for {who} to answer '{asked.title}' ({shown}): take responsibility "
        f'(PUT {url}/responsible), then submit {{{answers}, "Notes": "…"}} (POST {url}/submit)'
    )
    return f"{line}; or run '{cli.format(id=shown)}'" if cli else line


async def _raise(process: ProcessRun, asked: Interruption) -> RowMapping:
    store = process.tools.store
    task_id = process.run.task_id
    async with store.transaction() as conn:
        found = await interruptions_repo.by_correlation(conn, task_id, asked.correlation_id)
        if found is not None and (found["is_pending"] or _answered(found)):
            return found
        return await interruptions_repo.create(
            conn,
            space_id=process.source.space_id,
            task_id=task_id,
            kind=asked.kind,
            title=asked.title,
            form=asked.form,
            related_document_ids=related_documents(process),
            responsible_team_ids=asked.responsible_team_ids,
            correlation_id=asked.correlation_id,
        )


def _answered(row: Mapping[Any, Any]) -> bool:
    return not row["is_pending"] and "UserId" in (row["submitted"] or {})


async def _until_answered(process: ProcessRun, waits: InterruptionWaits, number: int) -> RowMapping:
    store = process.tools.store
    with waits.watch(number) as woken:
        while True:
            woken.clear()  # before the read: a wake-up during it makes the next read come at once
            try:
                async with store.transaction() as conn:
                    row = await interruptions_repo.get(conn, None, number)
            except Exception:  # the store may be briefly unavailable: the person's answer will keep
                log.exception("reading interruption %s failed; reading again", number)
                row = None
            else:
                if row is None:
                    raise RuntimeError(f"{format_id(Collection.INTERRUPTIONS, number)} no longer exists")
                if not row["is_pending"]:
                    return row
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(woken.wait(), POLL_S)


async def _close(process: ProcessRun, number: int, reason: str) -> None:
    try:
        async with process.tools.store.transaction() as conn:
            await interruptions_repo.close(conn, number, reason)
    except Exception:
        log.exception("closing interruption %s failed", number)


def submitted_by(row: Mapping[Any, Any]) -> tuple[str, str]:
    """Who answered (their display name) and the notes they left."""
    submitted = row["submitted"] or {}
    return str(submitted.get("DisplayName") or submitted.get("Username") or "someone"), str(
        submitted.get("Notes") or ""
    )
