"""``/api/{spaceId}/workerpools``: pools group workers; each space has exactly one default pool."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import Field, StringConstraints

from argonaut.api import resources
from argonaut.api.auth import Caller, Scope, authorize
from argonaut.api.collections import PartialNameQuery, SkipQuery, add_named_list_routes, take_query
from argonaut.api.crud import SpaceResources
from argonaut.api.errors import bad_request
from argonaut.api.inputs import ApiInput
from argonaut.api.routes_workers import worker_page
from argonaut.domain.ids import Collection, parse_id
from argonaut.domain.permissions import Permission
from argonaut.domain.pool_summary import summarize
from argonaut.store import pool_health_repo, pools_repo, workers_repo

PoolName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class PoolCreate(ApiInput):
    Name: PoolName
    Description: str | None = Field(None, max_length=4000)
    IsDefault: bool = False
    SortOrder: int | None = Field(None, ge=0, le=1_000_000)
    WorkerPoolType: str = "StaticWorkerPool"


class PoolUpdate(ApiInput):
    Name: PoolName | None = None
    Description: str | None = Field(None, max_length=4000)
    IsDefault: bool | None = None
    SortOrder: int | None = Field(None, ge=0, le=1_000_000)


def _check_type(pool_type: str) -> None:
    if pool_type != "StaticWorkerPool":
        raise bad_request(
            f"WorkerPoolType '{pool_type}' is not supported: this server has static worker pools only"
        )


_POOLS = SpaceResources(Collection.WORKER_POOLS, pools_repo.get, resources.worker_pool)


def build(scope: Scope) -> APIRouter:  # noqa: C901 - a route factory; each route inside is simple
    router = APIRouter(tags=["WorkerPools"])
    view = authorize(Permission.WORKER_VIEW, scope)
    edit = authorize(Permission.WORKER_EDIT, scope)

    add_named_list_routes(
        router,
        segment="workerpools",
        item_type="WorkerPool",
        collection=Collection.WORKER_POOLS,
        default_take=10,
        view=view,
        lister=pools_repo.list_pools,
        shape=resources.worker_pool,
        noun="worker pools",
    )

    @router.get(
        "/workerpools/summary",
        summary="Worker pools (paged like the list) with how many workers are in each health status",
    )
    async def pool_summary(
        caller: Caller = Depends(view),
        skip: int = SkipQuery,
        take: int = take_query(30),
        partialName: str | None = PartialNameQuery,  # noqa: N803 - the described system's parameter name
    ) -> dict[str, Any]:
        assert caller.space_id is not None
        async with caller.services.store.transaction() as conn:
            total, rows = await pools_repo.list_pools(
                conn, caller.space_id, skip, take, None, partialName, None
            )
            counts = await pool_health_repo.health_counts(conn, caller.space_id, [r["id"] for r in rows])
        pools = [{**resources.worker_pool(r), "_number": r["id"]} for r in rows]
        return {**summarize(pools, counts), "TotalPools": total, "Skip": skip, "Take": take}

    @router.post("/workerpools", status_code=201, summary="Create a worker pool")
    async def create_pool(body: PoolCreate, caller: Caller = Depends(edit)) -> dict[str, Any]:
        assert caller.space_id is not None
        _check_type(body.WorkerPoolType)
        async with caller.services.store.transaction() as conn:
            number = await pools_repo.create_pool(
                conn,
                caller.space_id,
                body.Name,
                body.Description,
                body.IsDefault,
                caller.username,
                body.SortOrder,
            )
            return await _POOLS.resource(conn, caller, number)

    @router.get("/workerpools/{id}", summary="Get a worker pool")
    async def get_pool(id: str, caller: Caller = Depends(view)) -> dict[str, Any]:  # noqa: A002
        return await _POOLS.load(caller, id)

    @router.put(
        "/workerpools/{id}", summary="Modify a worker pool; IsDefault true moves the default flag here"
    )
    async def update_pool(id: str, body: PoolUpdate, caller: Caller = Depends(edit)) -> dict[str, Any]:  # noqa: A002
        assert caller.space_id is not None
        current = await _POOLS.load(caller, id)
        number = parse_id(Collection.WORKER_POOLS, current["Id"])
        assert number is not None
        values: dict[str, Any] = {}
        if body.Name is not None:
            values["name"] = body.Name
        if "Description" in body.model_fields_set:
            values["description"] = body.Description
        if body.IsDefault is not None:
            values["is_default"] = body.IsDefault
        if body.SortOrder is not None:
            values["sort_order"] = body.SortOrder
        async with caller.services.store.transaction() as conn:
            await pools_repo.update_pool(conn, caller.space_id, number, values, caller.username)
        return await _POOLS.load(caller, id)

    @router.delete("/workerpools/{id}", summary="Delete an empty, non-default worker pool")
    async def delete_pool(id: str, caller: Caller = Depends(edit)) -> dict[str, Any]:  # noqa: A002
        assert caller.space_id is not None
        current = await _POOLS.load(caller, id)
        number = parse_id(Collection.WORKER_POOLS, current["Id"])
        assert number is not None
        async with caller.services.store.transaction() as conn:
            await pools_repo.delete_pool(conn, caller.space_id, number)
        return current

    @router.get("/workerpools/{id}/workers", summary="The workers of a pool (paged)")
    async def pool_workers(
        id: str,  # noqa: A002
        caller: Caller = Depends(view),
        skip: int = SkipQuery,
        take: int = take_query(30),
    ) -> dict[str, Any]:
        assert caller.space_id is not None
        current = await _POOLS.load(caller, id)
        number = parse_id(Collection.WORKER_POOLS, current["Id"])
        assert number is not None
        return await worker_page(
            caller,
            workers_repo.WorkerFilter(pool_ids=[number]),
            skip,
            take,
            f"/api/{current['SpaceId']}/workerpools/{current['Id']}/workers",
        )

    return router
