"""Answering interruptions: taking responsibility for one, and submitting it.

The described system's rules: only the responsible user submits (so a client takes responsibility
first, then submits); a submitted interruption changes no more; the answer must be one the form offers
(a required step's guided failure offers no Ignore). Both changes are compare-and-sets in the store, so
two people acting at once, through any nodes, never both win. A submission wakes the waiting step at
once: the ``interruption`` signal goes out in the submitting transaction (on PostgreSQL every node hears
it after the commit); the step also reads the store every half second, whichever comes first.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.engine import RowMapping

from argonaut.domain.ids import Collection, format_id
from argonaut.domain.interruptions import FORM_ERRORS, FormErrors, check_submission
from argonaut.domain.permissions import Grants
from argonaut.orchestrator.interruption_waits import SIGNAL
from argonaut.service.errors import Invalid, NotFound
from argonaut.service.permissions import effective_grants
from argonaut.store import interruptions_repo, users_repo
from argonaut.store.connection import Conn
from argonaut.store.signals import Signals
from argonaut.store.timeutil import utcnow

ALREADY_SUBMITTED = "The interruption has already been submitted."
TAKE_FIRST = "You must take responsibility for this interruption before you can submit it."
SOMEONE_ELSE = (
    "Someone else has taken responsibility for this interruption. "
    "Take responsibility for it yourself before you submit it."
)
NOT_IN_TEAM = "Only members of the teams responsible for this interruption can take responsibility for it."


async def get(conn: Conn, space_id: int, number: int) -> RowMapping:
    row = await interruptions_repo.get(conn, space_id, number)
    if row is None:
        raise NotFound(format_id(Collection.INTERRUPTIONS, number))
    return row


def can_take_responsibility(row: Mapping[Any, Any], user_id: int, grants: Grants) -> bool:
    """Whether ``user_id`` (holding ``grants``) may take the interruption: pending, and, when it names
    responsible teams, a member of one of them or an administrator."""
    if not row["is_pending"]:
        return False
    teams = [str(t) for t in row["responsible_team_ids"] or []]
    if not teams or grants.is_admin:
        return True
    mine = {format_id(Collection.TEAMS, t) for t in grants.team_ids}
    return any(t in mine for t in teams)


async def responsible_user(conn: Conn, row: Mapping[Any, Any]) -> RowMapping | None:
    user_id = row["responsible_user_id"]
    return await users_repo.get(conn, int(user_id)) if user_id is not None else None


async def take_responsibility(conn: Conn, space_id: int, number: int, user_id: int) -> RowMapping:
    """Make the caller responsible (taking it over from whoever had it); answers the caller's user row."""
    row = await get(conn, space_id, number)
    if not row["is_pending"]:
        raise Invalid(ALREADY_SUBMITTED)
    if not can_take_responsibility(row, user_id, await effective_grants(conn, user_id)):
        raise Invalid(NOT_IN_TEAM)
    if await interruptions_repo.set_responsible(conn, number, user_id) is None:
        raise Invalid(ALREADY_SUBMITTED)  # submitted between the read and the write
    user = await users_repo.get(conn, user_id)
    assert user is not None  # the caller's key belongs to them
    return user


async def submit(
    conn: Conn, space_id: int, number: int, user_id: int, values: Mapping[str, Any], signals: Signals
) -> RowMapping:
    """Record the responsible user's answer and wake the step waiting for it; answers the row."""
    row = await get(conn, space_id, number)
    if not row["is_pending"]:
        raise Invalid(ALREADY_SUBMITTED)
    if row["responsible_user_id"] is None:
        raise Invalid(TAKE_FIRST)
    if int(row["responsible_user_id"]) != user_id:
        raise Invalid(SOMEONE_ELSE)
    try:
        answer = check_submission(str(row["type"]), row["form"] or {}, values)
    except FormErrors as exc:
        raise Invalid(FORM_ERRORS, exc.errors) from exc
    user = await users_repo.get(conn, user_id)
    assert user is not None
    submitted = {
        answer.field: answer.value,
        "Notes": answer.notes,
        "UserId": format_id(Collection.USERS, user_id),
        "Username": str(user["username"]),
        "DisplayName": str(user["display_name"] or user["username"]),
        "EmailAddress": "",  # users have no e-mail address yet
        "SubmittedOn": utcnow().isoformat(),
    }
    changed = await interruptions_repo.submit(
        conn, number, user_id, {"Notes": answer.notes, answer.field: answer.value}, submitted
    )
    if changed is None:  # answered or taken over between the read and the write
        current = await get(conn, space_id, number)
        raise Invalid(ALREADY_SUBMITTED if not current["is_pending"] else SOMEONE_ELSE)
    await signals.send(conn, SIGNAL, str(number))
    return changed
