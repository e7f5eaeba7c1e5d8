"""``/api/{spaceId}/lifecycles``: the phases a release goes through; the rules are in
``service/lifecycles.py``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from argonaut.api import resources_projects as shapes
from argonaut.api.auth import Caller, Scope, authorize
from argonaut.api.collections import add_named_list_routes
from argonaut.api.crud import SpaceResources
from argonaut.api.inputs_projects import LifecycleInput, sent
from argonaut.domain.ids import Collection
from argonaut.domain.paging import MAX_TAKE
from argonaut.domain.permissions import Permission
from argonaut.service import lifecycles
from argonaut.store import lifecycles_repo, projects_repo

_LIFECYCLES = SpaceResources(Collection.LIFECYCLES, lifecycles_repo.get, shapes.lifecycle)


def build(scope: Scope) -> APIRouter:
    router = APIRouter(tags=["Lifecycles"])
    view = authorize(Permission.LIFECYCLE_VIEW, scope)
    create = authorize(Permission.LIFECYCLE_CREATE, scope)
    edit = authorize(Permission.LIFECYCLE_EDIT, scope)
    remove = authorize(Permission.LIFECYCLE_DELETE, scope)

    add_named_list_routes(
        router,
        segment="lifecycles",
        item_type="Lifecycle",
        collection=Collection.LIFECYCLES,
        default_take=30,
        view=view,
        lister=lifecycles_repo.list_lifecycles,
        shape=shapes.lifecycle,
        noun="lifecycles",
    )

    @router.post("/lifecycles", status_code=201, summary="Create a lifecycle")
    async def create_lifecycle(body: LifecycleInput, caller: Caller = Depends(create)) -> dict[str, Any]:
        assert caller.space_id is not None
        async with caller.services.store.transaction() as conn:
            number = await lifecycles.create_lifecycle(conn, caller.space_id, sent(body), caller.username)
            return await _LIFECYCLES.resource(conn, caller, number)

    @router.get("/lifecycles/{id}", summary="Get a lifecycle")
    async def get_lifecycle(id: str, caller: Caller = Depends(view)) -> dict[str, Any]:  # noqa: A002
        async with caller.services.store.transaction() as conn:
            return _LIFECYCLES.shape(await _LIFECYCLES.row(conn, caller, id))

    @router.put("/lifecycles/{id}", summary="Modify a lifecycle; fields left out are kept")
    async def update_lifecycle(
        id: str, body: LifecycleInput, caller: Caller = Depends(edit)
    ) -> dict[str, Any]:  # noqa: A002
        assert caller.space_id is not None
        async with caller.services.store.transaction() as conn:
            number = await _LIFECYCLES.number(conn, caller, id)
            await lifecycles.update_lifecycle(conn, caller.space_id, number, sent(body), caller.username)
            return await _LIFECYCLES.resource(conn, caller, number)

    @router.delete(
        "/lifecycles/{id}", summary="Delete a lifecycle no project or channel uses (not the default)"
    )
    async def delete_lifecycle(id: str, caller: Caller = Depends(remove)) -> dict[str, Any]:  # noqa: A002
        assert caller.space_id is not None
        async with caller.services.store.transaction() as conn:
            row = await _LIFECYCLES.row(conn, caller, id)
            number = int(row["id"])
            resource = _LIFECYCLES.shape(row)
            await lifecycles.delete_lifecycle(conn, caller.space_id, number)
        return resource

    @router.get("/lifecycles/{id}/projects", summary="The projects that follow a lifecycle (plain array)")
    async def lifecycle_projects(id: str, caller: Caller = Depends(view)) -> list[dict[str, Any]]:  # noqa: A002
        assert caller.space_id is not None
        async with caller.services.store.transaction() as conn:
            number = await _LIFECYCLES.number(conn, caller, id)
            _, rows = await projects_repo.list_projects(
                conn, caller.space_id, 0, MAX_TAKE, lifecycle_id=number
            )
        return [shapes.project(row) for row in rows]

    return router
