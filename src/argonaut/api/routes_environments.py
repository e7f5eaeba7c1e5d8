"""``/api/{spaceId}/environments``: where releases are deployed, in their dashboard order, and the
deployment targets in each."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends
from pydantic import Field, StringConstraints

from argonaut.api import resources_machines
from argonaut.api.auth import Caller, Scope, authorize, require_visible
from argonaut.api.collections import SkipQuery, add_named_list_routes, take_query
from argonaut.api.errors import not_found
from argonaut.api.inputs import ApiInput
from argonaut.api.routes_machines import MachineQueries, machine_page
from argonaut.domain.ids import Collection, format_id, parse_id
from argonaut.domain.permissions import Permission
from argonaut.service import environments as service
from argonaut.store import environments_repo

EnvironmentName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Tag = Annotated[str, StringConstraints(max_length=200)]


class EnvironmentCreate(ApiInput):
    Name: EnvironmentName
    Description: str | None = Field(None, max_length=4000)
    SortOrder: int | None = Field(None, ge=0, le=1_000_000)
    UseGuidedFailure: bool = False
    AllowDynamicInfrastructure: bool = False
    EnvironmentTags: list[Tag] = Field(default_factory=list, max_length=100)
    ExtensionSettings: list[Any] = Field(default_factory=list, max_length=20)


class EnvironmentUpdate(ApiInput):
    Name: EnvironmentName | None = None
    Description: str | None = Field(None, max_length=4000)
    SortOrder: int | None = Field(None, ge=0, le=1_000_000)
    UseGuidedFailure: bool | None = None
    AllowDynamicInfrastructure: bool | None = None
    EnvironmentTags: list[Tag] | None = Field(None, max_length=100)
    ExtensionSettings: list[Any] | None = Field(None, max_length=20)


_CHANGES = {
    "Name": "name",
    "SortOrder": "sort_order",
    "UseGuidedFailure": "use_guided_failure",
    "AllowDynamicInfrastructure": "allow_dynamic_infrastructure",
    "EnvironmentTags": "environment_tags",
    "ExtensionSettings": "extension_settings",
}


def build(scope: Scope) -> APIRouter:
    router = APIRouter(tags=["Environments"])
    view = authorize(Permission.ENVIRONMENT_VIEW, scope)
    create = authorize(Permission.ENVIRONMENT_CREATE, scope)
    edit = authorize(Permission.ENVIRONMENT_EDIT, scope)
    remove = authorize(Permission.ENVIRONMENT_DELETE, scope)
    see_machines = authorize(Permission.MACHINE_VIEW, scope)

    async def load(
        caller: Caller, environment_id: str, seen_with: Permission | None = Permission.ENVIRONMENT_VIEW
    ) -> dict[str, Any]:
        """The environment, or 404 when it is not there or ``seen_with`` does not reach it (grants restricted
        to environments)."""
        assert caller.space_id is not None
        number = parse_id(Collection.ENVIRONMENTS, environment_id)
        async with caller.services.store.transaction() as conn:
            row = await environments_repo.get(conn, caller.space_id, number) if number is not None else None
            if row is not None and seen_with is not None:
                await require_visible(caller, conn, seen_with, environment_id, None, int(row["id"]))
        if row is None:
            raise not_found(environment_id)
        return resources_machines.environment(row)

    add_named_list_routes(
        router,
        segment="environments",
        item_type="Environment",
        collection=Collection.ENVIRONMENTS,
        default_take=30,
        view=view,
        lister=environments_repo.list_environments,
        shape=resources_machines.environment,
        noun="environments (in their sort order)",
        seen_as="environments",
        seen_with=Permission.ENVIRONMENT_VIEW,
    )

    @router.post("/environments", status_code=201, summary="Create an environment (last in the sort order)")
    async def create_environment(body: EnvironmentCreate, caller: Caller = Depends(create)) -> dict[str, Any]:
        assert caller.space_id is not None
        fields = service.EnvironmentFields(
            name=body.Name,
            description=body.Description,
            sort_order=body.SortOrder,
            use_guided_failure=body.UseGuidedFailure,
            allow_dynamic_infrastructure=body.AllowDynamicInfrastructure,
            environment_tags=body.EnvironmentTags,
            extension_settings=body.ExtensionSettings,
        )
        async with caller.services.store.transaction() as conn:
            number = await service.create_environment(conn, caller.space_id, fields, caller.username)
        return await load(caller, format_id(Collection.ENVIRONMENTS, number), None)

    @router.put(
        "/environments/sortorder",
        summary="Reorder environments: the body is an array of environment ids, first to last",
    )
    async def sort_environments(
        caller: Caller = Depends(edit), body: list[str] = Body(..., max_length=10_000)
    ) -> list[dict[str, Any]]:
        assert caller.space_id is not None
        async with caller.services.store.transaction() as conn:
            await service.reorder(conn, caller.space_id, body)
            rows = await environments_repo.all_in_space(conn, caller.space_id)
        return [resources_machines.environment(r) for r in rows]

    @router.get("/environments/{id}", summary="Get an environment")
    async def get_environment(id: str, caller: Caller = Depends(view)) -> dict[str, Any]:  # noqa: A002
        return await load(caller, id)

    @router.put("/environments/{id}", summary="Modify an environment")
    async def update_environment(
        id: str,  # noqa: A002
        body: EnvironmentUpdate,
        caller: Caller = Depends(edit),
    ) -> dict[str, Any]:
        assert caller.space_id is not None
        current = await load(caller, id)
        number = parse_id(Collection.ENVIRONMENTS, current["Id"])
        assert number is not None
        caller.require(Permission.ENVIRONMENT_EDIT, environment_id=current["Id"])
        changes = {
            key: getattr(body, field) for field, key in _CHANGES.items() if getattr(body, field) is not None
        }
        if "Description" in body.model_fields_set:
            changes["description"] = body.Description
        async with caller.services.store.transaction() as conn:
            await service.update_environment(conn, caller.space_id, number, changes, caller.username)
        return await load(caller, id)

    @router.delete(
        "/environments/{id}", summary="Delete an environment with no targets that no lifecycle names"
    )
    async def delete_environment(id: str, caller: Caller = Depends(remove)) -> dict[str, Any]:  # noqa: A002
        assert caller.space_id is not None
        current = await load(caller, id)
        number = parse_id(Collection.ENVIRONMENTS, current["Id"])
        assert number is not None
        caller.require(Permission.ENVIRONMENT_DELETE, environment_id=current["Id"])
        async with caller.services.store.transaction() as conn:
            await service.delete_environment(conn, caller.space_id, number)
        return current

    @router.get("/environments/{id}/machines", summary="The deployment targets of an environment (paged)")
    async def environment_machines(
        id: str,  # noqa: A002
        caller: Caller = Depends(see_machines),
        skip: int = SkipQuery,
        take: int = take_query(30),
        queries: MachineQueries = Depends(),
    ) -> dict[str, Any]:
        current = await load(caller, id, Permission.MACHINE_VIEW)
        number = parse_id(Collection.ENVIRONMENTS, current["Id"])
        assert number is not None
        filt = queries.to_filter(environment_ids=[number])
        path = f"/api/{current['SpaceId']}/environments/{current['Id']}/machines"
        return await machine_page(caller, filt, skip, take, path)

    return router
