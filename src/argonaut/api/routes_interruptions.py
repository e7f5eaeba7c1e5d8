"""``/api/{spaceId}/interruptions``: what running tasks wait for a person to answer.

List (newest first; ``regarding`` any related document id, ``pendingOnly``, ``ids``), read, see or take
responsibility, submit. The rules live in ``service.interruptions``.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query
from pydantic import Field

from argonaut.api import resources_interruptions as shapes
from argonaut.api.auth import Caller, Scope, authorize, require_place_visible, restricted, visible
from argonaut.api.collections import IdsQuery, SkipQuery, envelope, parse_ids, take_query
from argonaut.api.errors import not_found
from argonaut.api.inputs import ApiInput
from argonaut.domain.ids import Collection, format_id, parse_id
from argonaut.domain.interruptions import MAX_NOTES
from argonaut.domain.paging import Page
from argonaut.domain.permissions import Permission
from argonaut.service import interruptions as service
from argonaut.store import interruptions_repo
from argonaut.store.connection import Conn


class InterruptionSubmit(ApiInput):
    """A manual intervention's ``{Notes, Result}`` or guided failure's ``{Notes, Guidance}``; the
    ``Instructions``, ``Id`` and ``SpaceId`` clients echo back are ignored."""

    Notes: str | None = Field(None, max_length=MAX_NOTES)
    Result: str | None = Field(None, max_length=100)
    Guidance: str | None = Field(None, max_length=100)


def build(scope: Scope) -> APIRouter:
    router = APIRouter(tags=["Interruptions"])
    view = authorize(Permission.INTERRUPTION_VIEW, scope)
    submit = authorize(Permission.INTERRUPTION_SUBMIT, scope)

    def number_of(interruption_id: str) -> int:
        number = parse_id(Collection.INTERRUPTIONS, interruption_id)
        if number is None:
            raise not_found(interruption_id)
        return number

    def shape(caller: Caller, row: Any) -> dict[str, Any]:
        mine = row["responsible_user_id"] is not None and int(row["responsible_user_id"]) == caller.user_id
        return shapes.interruption(
            row, service.can_take_responsibility(row, caller.user_id, caller.grants), mine
        )

    async def check(caller: Caller, conn: Conn, row: Any, what: str, act: Permission | None = None) -> None:
        """404 unless InterruptionView reaches the project and environment among the interruption's
        related documents; 403 unless ``act`` does too. No query for unrestricted grants."""
        view_perm = Permission.INTERRUPTION_VIEW
        if not restricted(caller, view_perm) and (act is None or not restricted(caller, act)):
            return
        related = [str(d) for d in row["related_document_ids"] or []]
        project = next(
            (n for n in (parse_id(Collection.PROJECTS, d) for d in related) if n is not None), None
        )
        env = next(
            (n for n in (parse_id(Collection.ENVIRONMENTS, d) for d in related) if n is not None), None
        )
        place = (project, env) if project is not None and env is not None else None
        await require_place_visible(caller, conn, view_perm, what, place, act)

    @router.get("/interruptions", summary="List interruptions, newest first")
    async def list_interruptions(
        caller: Caller = Depends(view),
        skip: int = SkipQuery,
        take: int = take_query(30),
        regarding: str | None = Query(None, max_length=200, description="A related document id"),
        pendingOnly: bool = Query(False),  # noqa: N803 - the described system's parameter name
        ids: list[str] | None = IdsQuery,
    ) -> dict[str, Any]:
        assert caller.space_id is not None
        numbers = parse_ids(Collection.INTERRUPTIONS, ids)
        async with caller.services.store.transaction() as conn:
            places = None
            if restricted(caller, Permission.INTERRUPTION_VIEW):  # in the query, so the counts hold
                seen = await visible(caller, conn, Permission.INTERRUPTION_VIEW)
                places = (seen.projects(None), seen.environments(None))
            total, rows = await interruptions_repo.list_for(
                conn,
                caller.space_id,
                skip,
                take,
                regarding=regarding,
                pending_only=pendingOnly,
                ids=numbers,
                places=places,
            )
        path = f"/api/{format_id(Collection.SPACES, caller.space_id)}/interruptions"
        query = {"regarding": regarding, "pendingOnly": pendingOnly or None}
        return envelope(
            "Interruption", [shape(caller, r) for r in rows], Page(skip, take, total), path, query
        )

    @router.get("/interruptions/{id}", summary="Get an interruption")
    async def get_interruption(id: str, caller: Caller = Depends(view)) -> dict[str, Any]:  # noqa: A002
        assert caller.space_id is not None
        async with caller.services.store.transaction() as conn:
            row = await service.get(conn, caller.space_id, number_of(id))
            await check(caller, conn, row, id)
        return shape(caller, row)

    @router.get("/interruptions/{id}/responsible", summary="The user responsible for an interruption")
    async def get_responsible(id: str, caller: Caller = Depends(view)) -> dict[str, Any] | None:  # noqa: A002
        assert caller.space_id is not None
        async with caller.services.store.transaction() as conn:
            row = await service.get(conn, caller.space_id, number_of(id))
            await check(caller, conn, row, id)
            user = await service.responsible_user(conn, row)
        return shapes.user(user) if user is not None else None

    @router.put("/interruptions/{id}/responsible", summary="Take responsibility for an interruption")
    async def take_responsibility(id: str, caller: Caller = Depends(submit)) -> dict[str, Any]:  # noqa: A002
        assert caller.space_id is not None
        async with caller.services.store.transaction() as conn:
            row = await service.get(conn, caller.space_id, number_of(id))
            await check(caller, conn, row, id, Permission.INTERRUPTION_SUBMIT)
            user = await service.take_responsibility(conn, caller.space_id, number_of(id), caller.user_id)
        return shapes.user(user)

    @router.post("/interruptions/{id}/submit", summary="Submit an interruption's form")
    async def submit_interruption(
        id: str,  # noqa: A002
        body: InterruptionSubmit,
        caller: Caller = Depends(submit),
    ) -> dict[str, Any]:
        assert caller.space_id is not None
        values = body.model_dump(exclude_none=True)
        async with caller.services.store.transaction() as conn:
            row = await service.get(conn, caller.space_id, number_of(id))
            await check(caller, conn, row, id, Permission.INTERRUPTION_SUBMIT)
            row = await service.submit(
                conn, caller.space_id, number_of(id), caller.user_id, values, caller.services.signals
            )
        return shape(caller, row)

    return router
