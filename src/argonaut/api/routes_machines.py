"""``/api/{spaceId}/machines``: deployment targets. The rules are ``service.machines``; this module
translates HTTP to them and rows to ``MachineResource``s."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import Field, StringConstraints

from argonaut.api import connection_status, machine_discovery, resources_machines
from argonaut.api.auth import Caller, Scope, authorize, restricted, visible
from argonaut.api.collections import (
    IdsQuery,
    NameQuery,
    PartialNameQuery,
    SkipQuery,
    envelope,
    parse_ids,
    split_list,
    take_query,
)
from argonaut.api.errors import bad_request, not_found
from argonaut.api.inputs import ApiInput, canonical_keys
from argonaut.domain.ids import Collection, format_id, parse_id
from argonaut.domain.paging import MAX_TAKE, Page
from argonaut.domain.permissions import Permission
from argonaut.domain.workers import CommunicationStyle, HealthStatus
from argonaut.service import machines as service
from argonaut.store import machines_repo
from argonaut.store.connection import Conn

MachineName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Reference = Annotated[str, StringConstraints(max_length=300)]
ENDPOINT_FIELDS = [
    "CommunicationStyle",
    "Uri",
    "Thumbprint",
    "ProxyId",
    "Host",
    "Port",
    "Fingerprint",
    "AccountId",
    "DotNetCorePlatform",
    "DefaultWorkerPoolId",
    "Id",
    "TentacleVersionDetails",
]


class MachineCreate(ApiInput):
    Name: MachineName
    Endpoint: dict[str, Any]
    EnvironmentIds: list[Reference] = Field(max_length=1000)
    Roles: list[Any] = Field(default_factory=list, max_length=1000)
    MachinePolicyId: str | None = None
    IsDisabled: bool = False
    TenantedDeploymentParticipation: str = "Untenanted"
    TenantIds: list[Reference] = Field(default_factory=list, max_length=1000)
    TenantTags: list[Reference] = Field(default_factory=list, max_length=1000)
    SkipInitialHealthCheck: bool = False


class MachineUpdate(ApiInput):
    Name: MachineName | None = None
    Endpoint: dict[str, Any] | None = None
    EnvironmentIds: list[Reference] | None = Field(None, max_length=1000)
    Roles: list[Any] | None = Field(None, max_length=1000)
    MachinePolicyId: str | None = None
    IsDisabled: bool | None = None
    TenantedDeploymentParticipation: str | None = None
    TenantIds: list[Reference] | None = Field(None, max_length=1000)
    TenantTags: list[Reference] | None = Field(None, max_length=1000)


_CHANGES = {
    "Name": "name",
    "EnvironmentIds": "environment_ids",
    "Roles": "roles",
    "MachinePolicyId": "machine_policy_id",
    "IsDisabled": "is_disabled",
    "TenantedDeploymentParticipation": "tenanted_participation",
    "TenantIds": "tenant_ids",
    "TenantTags": "tenant_tags",
}


def _choices(values: list[str] | None, known: list[str], name: str) -> list[str] | None:
    """A list query parameter whose values come from a fixed set, matched case-insensitively."""
    texts = split_list(values)
    if texts is None:
        return None
    lookup = {k.lower(): k for k in known}
    wrong = [t for t in texts if t.lower() not in lookup]
    if wrong:
        raise bad_request(f"{name}: '{wrong[0]}' is not one of {', '.join(known)}")
    return [lookup[t.lower()] for t in texts]


class MachineQueries:
    """The described system's ``/machines`` filters, shared by ``/machines`` and an environment's list."""

    def __init__(
        self,
        ids: list[str] | None = IdsQuery,
        partialName: str | None = PartialNameQuery,  # noqa: N803 - the described system's parameter names
        name: str | None = NameQuery,
        roles: list[str] | None = Query(None, description="Roles, repeated or comma-separated"),
        isDisabled: bool | None = Query(None),  # noqa: N803
        healthStatuses: list[str] | None = Query(None),  # noqa: N803
        commStyles: list[str] | None = Query(None),  # noqa: N803
        environmentIds: list[str] | None = Query(None),  # noqa: N803
        thumbprint: str | None = Query(None, max_length=100),
    ) -> None:
        self.ids = parse_ids(Collection.MACHINES, ids)
        self.partial_name = partialName
        self.name = name
        self.roles = split_list(roles)
        self.is_disabled = isDisabled
        self.health = _choices(healthStatuses, [h.value for h in HealthStatus], "healthStatuses")
        self.comm_styles = _choices(commStyles, [c.value for c in CommunicationStyle], "commStyles")
        self.environment_ids = parse_ids(Collection.ENVIRONMENTS, environmentIds, "environmentIds")
        self.thumbprint = thumbprint

    def to_filter(self, environment_ids: list[int] | None = None) -> machines_repo.MachineFilter:
        return machines_repo.MachineFilter(
            ids=self.ids,
            partial_name=self.partial_name,
            name=self.name,
            roles=self.roles,
            environment_ids=environment_ids if environment_ids is not None else self.environment_ids,
            health_statuses=self.health,
            comm_styles=self.comm_styles,
            is_disabled=self.is_disabled,
            thumbprint=self.thumbprint,
        )

    def link_query(self) -> dict[str, Any]:
        return {"partialName": self.partial_name, "name": self.name}


async def machine_page(
    caller: Caller,
    filt: machines_repo.MachineFilter,
    skip: int,
    take: int,
    path: str,
    query: dict[str, Any] | None = None,
) -> dict[str, Any]:
    assert caller.space_id is not None
    async with caller.services.store.transaction() as conn:
        filt = await _reachable(caller, conn, filt)
        total, rows = await machines_repo.list_targets(conn, caller.space_id, filt, skip, take)
    items = [resources_machines.machine(r) for r in rows]
    return envelope("DeploymentTarget", items, Page(skip, take, total), path, query)


async def _reachable(
    caller: Caller, conn: Conn, filt: machines_repo.MachineFilter
) -> machines_repo.MachineFilter:
    """A list narrowed to the environments the caller's MachineView reaches (unrestricted: unchanged,
    with no query)."""
    if not restricted(caller, Permission.MACHINE_VIEW):
        return filt
    reach = await visible(caller, conn, Permission.MACHINE_VIEW)
    if reach.environment_ids is None:
        return filt
    return replace(filt, environment_ids=reach.environments(filt.environment_ids))


async def _require_reachable(caller: Caller, conn: Conn, row: Any, what: str) -> None:
    """404 for a target in none of the environments the caller's MachineView reaches."""
    if not restricted(caller, Permission.MACHINE_VIEW):
        return
    reach = await visible(caller, conn, Permission.MACHINE_VIEW)
    if reach.environment_ids is None:
        return
    mine = {parse_id(Collection.ENVIRONMENTS, str(e)) for e in row["environment_ids"] or []}
    if not mine & reach.environment_ids:
        raise not_found(what)


def _endpoint(raw: dict[str, Any]) -> dict[str, Any]:
    return canonical_keys(raw, ENDPOINT_FIELDS)


def build(scope: Scope) -> APIRouter:  # noqa: C901 - a route factory; each route inside is simple
    router = APIRouter(tags=["DeploymentTargets"])
    view = authorize(Permission.MACHINE_VIEW, scope)
    create = authorize(Permission.MACHINE_CREATE, scope)
    edit = authorize(Permission.MACHINE_EDIT, scope)
    remove = authorize(Permission.MACHINE_DELETE, scope)

    async def load(caller: Caller, machine_id: str) -> dict[str, Any]:
        assert caller.space_id is not None
        number = parse_id(Collection.MACHINES, machine_id)
        async with caller.services.store.transaction() as conn:
            row = await machines_repo.get(conn, caller.space_id, number) if number is not None else None
            if row is None:
                raise not_found(machine_id)
            await _require_reachable(caller, conn, row, machine_id)
        return resources_machines.machine(row)

    @router.get("/machines", summary="List deployment targets (paged)")
    async def list_machines(
        caller: Caller = Depends(view),
        skip: int = SkipQuery,
        take: int = take_query(30),
        queries: MachineQueries = Depends(),
    ) -> dict[str, Any]:
        path = f"/api/{format_id(Collection.SPACES, caller.space_id or 0)}/machines"
        return await machine_page(caller, queries.to_filter(), skip, take, path, queries.link_query())

    @router.get("/machines/all", summary="All deployment targets as a plain array (same filters)")
    async def all_machines(
        caller: Caller = Depends(view), queries: MachineQueries = Depends()
    ) -> list[dict[str, Any]]:
        assert caller.space_id is not None
        async with caller.services.store.transaction() as conn:
            filt = await _reachable(caller, conn, queries.to_filter())
            _, rows = await machines_repo.list_targets(conn, caller.space_id, filt, 0, MAX_TAKE)
        return [resources_machines.machine(r) for r in rows]

    @router.post("/machines", status_code=201, summary="Add a deployment target")
    async def create_machine(body: MachineCreate, caller: Caller = Depends(create)) -> dict[str, Any]:
        assert caller.space_id is not None
        fields = service.TargetFields(
            name=body.Name,
            endpoint=_endpoint(body.Endpoint),
            environment_ids=body.EnvironmentIds,
            roles=body.Roles,
            machine_policy_id=body.MachinePolicyId,
            is_disabled=body.IsDisabled,
            tenanted_participation=body.TenantedDeploymentParticipation,
            tenant_ids=body.TenantIds,
            tenant_tags=body.TenantTags,
        )
        async with caller.services.store.transaction() as conn:
            number = await service.create_target(conn, caller.space_id, fields, caller.username)
        if not body.SkipInitialHealthCheck and not body.IsDisabled:
            # Checked at once, as workers are: a target is usable seconds after it is added.
            caller.services.checks.request(caller.space_id, [number], "were added")
        return await load(caller, format_id(Collection.MACHINES, number))

    @router.get(
        "/machines/discover",
        summary="Discover a machine before adding it: a listening agent's certificate thumbprint "
        "(type=TentaclePassive) or an SSH host's key fingerprint (type=Ssh), to confirm",
    )
    async def discover(
        caller: Caller = Depends(create),
        host: str = Query(..., min_length=1, max_length=255),
        port: int | None = Query(None, ge=1, le=65535),
        type: str = Query("TentaclePassive", max_length=40),  # noqa: A002 - the described system's name
    ) -> dict[str, Any]:
        found = await machine_discovery.discover(caller.services, host, port, type)
        return {**found, "EnvironmentIds": [], "Roles": []}

    @router.get("/machines/{id}/connection", summary="A target's connection status and health history")
    async def machine_connection(id: str, caller: Caller = Depends(view)) -> dict[str, Any]:  # noqa: A002
        return await connection_status.connection(caller, await load(caller, id), Collection.MACHINES)

    @router.get("/machines/{id}", summary="Get a deployment target")
    async def get_machine(id: str, caller: Caller = Depends(view)) -> dict[str, Any]:  # noqa: A002
        return await load(caller, id)

    @router.put("/machines/{id}", summary="Modify a deployment target")
    async def update_machine(id: str, body: MachineUpdate, caller: Caller = Depends(edit)) -> dict[str, Any]:  # noqa: A002
        assert caller.space_id is not None
        current = await load(caller, id)
        number = parse_id(Collection.MACHINES, current["Id"])
        assert number is not None
        changes = {
            key: getattr(body, field) for field, key in _CHANGES.items() if getattr(body, field) is not None
        }
        if body.Endpoint is not None:
            changes["endpoint"] = _endpoint(body.Endpoint)
        async with caller.services.store.transaction() as conn:
            await service.update_target(conn, caller.space_id, number, changes, caller.username)
        if not changes.get("is_disabled", current["IsDisabled"]):
            caller.services.checks.request(caller.space_id, [number], "were changed")
        return await load(caller, id)

    @router.delete("/machines/{id}", summary="Delete a deployment target")
    async def delete_machine(id: str, caller: Caller = Depends(remove)) -> dict[str, Any]:  # noqa: A002
        assert caller.space_id is not None
        current = await load(caller, id)
        number = parse_id(Collection.MACHINES, current["Id"])
        assert number is not None
        async with caller.services.store.transaction() as conn:
            await service.delete_target(conn, caller.space_id, number)
        return current

    return router
