"""``/api/spaces``: the hard-walled tenants."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import Field, StringConstraints

from argonaut.api import resources
from argonaut.api.auth import Caller, authorize
from argonaut.api.collections import (
    IdsQuery,
    NameQuery,
    PartialNameQuery,
    SkipQuery,
    envelope,
    parse_ids,
    take_query,
)
from argonaut.api.errors import not_found
from argonaut.api.inputs import ApiInput
from argonaut.api.services import CACHES
from argonaut.domain.ids import Collection, parse_id
from argonaut.domain.paging import MAX_TAKE, Page
from argonaut.domain.permissions import SPACE_PERMISSIONS, Permission, can_see_space
from argonaut.service import teams
from argonaut.store import spaces_repo

SpaceName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50)]


class SpaceCreate(ApiInput):
    Name: SpaceName
    Description: str | None = Field(None, max_length=4000)
    IsDefault: bool = False


class SpaceUpdate(ApiInput):
    Name: SpaceName | None = None
    Description: str | None = Field(None, max_length=4000)
    IsDefault: bool | None = None
    TaskQueueStopped: bool | None = None


router = APIRouter(tags=["Spaces"])
_view = authorize(Permission.SPACE_VIEW, "system")
_create = authorize(Permission.SPACE_CREATE, "system")
_edit = authorize(Permission.SPACE_EDIT, "system")
_delete = authorize(Permission.SPACE_DELETE, "system")


async def _load(caller: Caller, space_id: str) -> dict[str, Any]:
    number = parse_id(Collection.SPACES, space_id)
    async with caller.services.store.transaction() as conn:
        row = await spaces_repo.get(conn, number) if number is not None else None
    if row is None or not can_see_space(caller.grants, int(row["id"])):
        raise not_found(space_id)
    return resources.space(row)


def _visible(caller: Caller, numbers: list[int] | None) -> list[int] | None:
    """The ids a list may show: only the spaces the caller holds a permission in (unless they reach all)."""
    if caller.grants.is_admin or any(
        g.space_id is None and g.permission in SPACE_PERMISSIONS for g in caller.grants.items
    ):
        return numbers
    mine = caller.grants.spaces()
    return sorted(mine if numbers is None else mine & set(numbers))


@router.get("/api/spaces", summary="List spaces (paged)")
async def list_spaces(
    request: Request,
    caller: Caller = Depends(_view),
    skip: int = SkipQuery,
    take: int = take_query(30),
    ids: list[str] | None = IdsQuery,
    partialName: str | None = PartialNameQuery,  # noqa: N803 - the described system's parameter name
    name: str | None = NameQuery,
) -> dict[str, Any]:
    numbers = _visible(caller, parse_ids(Collection.SPACES, ids))
    async with caller.services.store.transaction() as conn:
        total, rows = await spaces_repo.list_spaces(conn, skip, take, numbers, partialName, name)
    items = [resources.space(r) for r in rows]
    return envelope(
        "Space", items, Page(skip, take, total), "/api/spaces", {"partialName": partialName, "name": name}
    )


@router.get("/api/spaces/all", summary="All spaces as a plain array")
async def all_spaces(
    caller: Caller = Depends(_view), ids: list[str] | None = IdsQuery
) -> list[dict[str, Any]]:
    numbers = _visible(caller, parse_ids(Collection.SPACES, ids))
    async with caller.services.store.transaction() as conn:
        _, rows = await spaces_repo.list_spaces(conn, 0, MAX_TAKE, numbers, None)
    return [resources.space(r) for r in rows]


@router.post("/api/spaces", status_code=201, summary="Create a space with its default pool and policy")
async def create_space(body: SpaceCreate, caller: Caller = Depends(_create)) -> dict[str, Any]:
    async with caller.services.store.transaction() as conn:
        number = await spaces_repo.create_space(conn, body.Name, body.Description, False, caller.username)
        await teams.ensure_space_managers(conn, number)
        if body.IsDefault:
            await spaces_repo.update_space(conn, number, {"is_default": True}, caller.username)
        row = await spaces_repo.get(conn, number)
        await caller.services.signals.send(conn, CACHES)
    assert row is not None
    return resources.space(row)


@router.get("/api/spaces/{spaceId}", summary="Get a space")
async def get_space(spaceId: str, caller: Caller = Depends(_view)) -> dict[str, Any]:  # noqa: N803
    return await _load(caller, spaceId)


@router.put("/api/spaces/{spaceId}", summary="Modify a space")
async def update_space(spaceId: str, body: SpaceUpdate, caller: Caller = Depends(_edit)) -> dict[str, Any]:  # noqa: N803
    current = await _load(caller, spaceId)
    number = parse_id(Collection.SPACES, current["Id"])
    assert number is not None
    values: dict[str, Any] = {}
    if body.Name is not None:
        values["name"] = body.Name
    if "Description" in body.model_fields_set:
        values["description"] = body.Description
    if body.IsDefault is not None:
        values["is_default"] = body.IsDefault
    if body.TaskQueueStopped is not None:
        values["task_queue_stopped"] = body.TaskQueueStopped
    async with caller.services.store.transaction() as conn:
        await spaces_repo.update_space(conn, number, values, caller.username)
        await caller.services.signals.send(conn, CACHES)
    return await _load(caller, spaceId)


@router.delete("/api/spaces/{spaceId}", summary="Delete a space and everything in it")
async def delete_space(spaceId: str, caller: Caller = Depends(_delete)) -> dict[str, Any]:  # noqa: N803
    current = await _load(caller, spaceId)
    number = parse_id(Collection.SPACES, current["Id"])
    assert number is not None
    async with caller.services.store.transaction() as conn:
        await spaces_repo.delete_space(conn, number)
        await caller.services.signals.send(conn, CACHES)
    return current
