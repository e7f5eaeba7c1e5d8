"""``/api/events`` (every space and the system) and ``/api/{spaceId}/events`` (one space): the audit
trail, newest first, in the described system's ``EventResource`` shape; ``/api/events/categories``.

Filters: ``users`` (user ids; ours also takes usernames), ``regarding``/``regardingAny`` (related document
ids), ``eventCategories``, ``from``/``to`` (ISO 8601; a time without a zone is UTC), ``ids``, ``skip``,
``take``. Events are written by the audit middleware (``api/audit.py``) and the sign-in routes; the API
cannot add, change or delete them.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Depends, Query

from argonaut.api.auth import Caller, Scope, authorize, forbidden
from argonaut.api.collections import (
    IdsQuery,
    SkipQuery,
    envelope,
    parse_ids,
    space_path,
    split_list,
    take_query,
)
from argonaut.api.errors import not_found
from argonaut.api.resources import Row, iso
from argonaut.domain import audit
from argonaut.domain.ids import Collection, format_id, parse_id
from argonaut.domain.paging import Page
from argonaut.domain.permissions import Permission
from argonaut.store import events_repo


def event(row: Row) -> dict[str, Any]:
    rid = format_id(Collection.EVENTS, int(row["id"]))
    sid = format_id(Collection.SPACES, int(row["space_id"])) if row["space_id"] is not None else None
    uid = format_id(Collection.USERS, int(row["user_id"])) if row["user_id"] is not None else None
    details = row["change_details"]
    return {
        "Id": rid,
        "SpaceId": sid,
        "Category": row["category"],
        "UserId": uid,
        "Username": row["username"],
        "IsService": False,
        "IdentityEstablishedWith": (details or {}).get("IdentityEstablishedWith", ""),
        "UserAgent": (details or {}).get("UserAgent"),
        "IpAddress": row["ip_address"],
        "Occurred": iso(row["occurred"]),
        "Message": row["message"],
        "MessageHtml": None,
        "MessageReferences": [],
        "Comments": None,
        "Details": None,
        "RelatedDocumentIds": list(row["related_document_ids"] or []),
        "ChangeDetails": {
            "DocumentContext": (details or {}).get("DocumentContext"),
            "Differences": (details or {}).get("Differences"),
        },
        "Links": {"Self": f"/api/events/{rid}"},
    }


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def _visible_spaces(caller: Caller, scope: Scope) -> list[int | None] | None:
    """The spaces whose events the caller may read (None in the list: system events); None: all.

    ``/api/events`` shows administrators and holders of a system-wide EventView everything, anyone else the
    events of each space they hold EventView in; ``/api/{spaceId}/events`` that one space's (checked by
    the route's dependency)."""
    if scope != "any":
        return [caller.space_id]
    if caller.is_admin or caller.may(Permission.EVENT_VIEW):
        return None
    spaces: list[int | None] = [
        s for s in sorted(caller.grants.spaces()) if caller.may(Permission.EVENT_VIEW, space_id=s)
    ]
    if not spaces:
        raise forbidden(Permission.EVENT_VIEW)
    return spaces


def _build(scope: Scope) -> APIRouter:
    router = APIRouter(tags=["Events"])
    # Unscoped, the route decides which spaces' events the caller sees (``_visible_spaces``).
    view = authorize(Permission.EVENT_VIEW, scope)

    @router.get("/events", summary="The audit trail, newest first")
    async def list_events(
        caller: Caller = Depends(view),
        skip: int = SkipQuery,
        take: int = take_query(30),
        users: list[str] | None = Query(None, description="User ids (or usernames), comma-separated"),
        regarding: list[str] | None = Query(None, description="Related document ids, comma-separated"),
        regardingAny: list[str] | None = Query(None, description="Same as regarding"),  # noqa: N803
        eventCategories: list[str] | None = Query(None, description="Categories, comma-separated"),  # noqa: N803
        from_: dt.datetime | None = Query(None, alias="from", description="Occurred at or after (ISO 8601)"),
        to: dt.datetime | None = Query(None, description="Occurred at or before (ISO 8601)"),
        ids: list[str] | None = IdsQuery,
    ) -> dict[str, Any]:
        user_texts = split_list(users)
        user_ids = [n for t in user_texts or () if (n := parse_id(Collection.USERS, t)) is not None]
        usernames = [t for t in user_texts or () if parse_id(Collection.USERS, t) is None]
        documents = (split_list(regarding) or []) + (split_list(regardingAny) or [])
        async with caller.services.store.transaction() as conn:
            total, rows = await events_repo.list_events(
                conn,
                skip,
                take,
                space_ids=_visible_spaces(caller, scope),
                user_ids=user_ids if user_texts else None,
                usernames=usernames if user_texts else None,
                regarding=documents or None,
                categories=split_list(eventCategories),
                occurred_from=_utc(from_),
                occurred_to=_utc(to),
                ids=parse_ids(Collection.EVENTS, ids),
            )
        path = "/api/events" if scope == "any" else f"{space_path(caller.space_id)}/events"
        query = {
            "users": ",".join(user_texts) if user_texts else None,
            "regarding": ",".join(documents) if documents else None,
            "eventCategories": ",".join(split_list(eventCategories) or []) or None,
            "from": from_.isoformat() if from_ else None,
            "to": to.isoformat() if to else None,
        }
        return envelope("Event", [event(r) for r in rows], Page(skip, take, total), path, query)

    if scope == "any":

        @router.get("/events/categories", summary="The event categories")
        async def categories(caller: Caller = Depends(view)) -> list[dict[str, str]]:
            async with caller.services.store.transaction() as conn:
                used = await events_repo.categories_in_use(conn)
            known = list(dict.fromkeys([*audit.CATEGORIES, *used]))
            return [{"Id": c, "Name": c} for c in known]

    @router.get("/events/{id}", summary="Get an event")
    async def get_event(id: str, caller: Caller = Depends(view)) -> dict[str, Any]:  # noqa: A002
        number = parse_id(Collection.EVENTS, id)
        async with caller.services.store.transaction() as conn:
            row = await events_repo.get(conn, number) if number is not None else None
        visible = _visible_spaces(caller, scope)
        if row is None or (visible is not None and row["space_id"] not in visible):
            raise not_found(id)
        return event(row)

    return router


system_router = _build("any")
space_router = _build("path")
