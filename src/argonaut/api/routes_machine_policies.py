"""``/api/{spaceId}/machinepolicies``: health-check, connectivity, cleanup and update rules for machines."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import Field, StringConstraints

from argonaut.api import resources
from argonaut.api.auth import Caller, Scope, authorize
from argonaut.api.collections import add_named_list_routes
from argonaut.api.errors import bad_request, not_found
from argonaut.api.inputs import ApiInput, canonical_keys
from argonaut.domain.ids import Collection, parse_id
from argonaut.domain.permissions import Permission
from argonaut.domain.policies import default_document, merge_document, validate_document
from argonaut.store import policies_repo

PolicyName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
_SUB_POLICIES = (
    "MachineHealthCheckPolicy",
    "MachineConnectivityPolicy",
    "MachineCleanupPolicy",
    "MachineUpdatePolicy",
)


class PolicyInput(ApiInput):
    Name: PolicyName | None = None
    Description: str | None = Field(None, max_length=4000)
    IsDefault: bool | None = None
    PollingRequestQueueTimeout: str | None = None
    ConnectionRetrySleepInterval: str | None = None
    ConnectionRetryCountLimit: int | None = None
    ConnectionRetryTimeLimit: str | None = None
    ConnectionConnectTimeout: str | None = None
    MachineHealthCheckPolicy: dict[str, Any] | None = None
    MachineConnectivityPolicy: dict[str, Any] | None = None
    MachineCleanupPolicy: dict[str, Any] | None = None
    MachineUpdatePolicy: dict[str, Any] | None = None


def _document_changes(body: PolicyInput) -> dict[str, Any]:
    defaults = default_document()
    changes: dict[str, Any] = {}
    for key in body.model_fields_set:
        if key in ("Name", "Description", "IsDefault"):
            continue
        value = getattr(body, key)
        if value is None:
            continue
        if key in _SUB_POLICIES:
            value = canonical_keys(value, list(defaults[key]))
            for script_key in ("BashHealthCheckPolicy", "PowerShellHealthCheckPolicy"):
                if isinstance(value.get(script_key), dict):
                    value[script_key] = canonical_keys(value[script_key], ["RunType", "ScriptBody"])
        changes[key] = value
    return changes


def _checked(document: dict[str, Any]) -> dict[str, Any]:
    errors = validate_document(document)
    if errors:
        raise bad_request("The machine policy is not valid", errors)
    return document


def build(scope: Scope) -> APIRouter:  # noqa: C901 - a route factory; each route inside is simple
    router = APIRouter(tags=["MachinePolicies"])
    view = authorize(Permission.MACHINE_POLICY_VIEW, scope)
    edit = authorize(Permission.MACHINE_POLICY_EDIT, scope)

    async def load(caller: Caller, policy_id: str) -> dict[str, Any]:
        assert caller.space_id is not None
        number = parse_id(Collection.MACHINE_POLICIES, policy_id)
        async with caller.services.store.transaction() as conn:
            row = await policies_repo.get(conn, caller.space_id, number) if number is not None else None
        if row is None:
            raise not_found(policy_id)
        return resources.machine_policy(row)

    add_named_list_routes(
        router,
        segment="machinepolicies",
        item_type="MachinePolicy",
        collection=Collection.MACHINE_POLICIES,
        default_take=30,
        view=view,
        lister=policies_repo.list_policies,
        shape=resources.machine_policy,
        noun="machine policies",
    )

    @router.get("/machinepolicies/template", summary="The defaults a new machine policy starts from")
    async def template(caller: Caller = Depends(view)) -> dict[str, Any]:
        return {"Name": None, "Description": None, "IsDefault": False, **default_document()}

    @router.post("/machinepolicies", status_code=201, summary="Create a machine policy")
    async def create_policy(body: PolicyInput, caller: Caller = Depends(edit)) -> dict[str, Any]:
        assert caller.space_id is not None
        if not body.Name:
            raise bad_request("Name is required", ["Name: Field required"])
        document = _checked(merge_document(default_document(), _document_changes(body)))
        async with caller.services.store.transaction() as conn:
            number = await policies_repo.create_policy(
                conn,
                caller.space_id,
                body.Name,
                body.Description,
                bool(body.IsDefault),
                document,
                caller.username,
            )
            row = await policies_repo.get(conn, caller.space_id, number)
        assert row is not None
        return resources.machine_policy(row)

    @router.get("/machinepolicies/{id}", summary="Get a machine policy")
    async def get_policy(id: str, caller: Caller = Depends(view)) -> dict[str, Any]:  # noqa: A002
        return await load(caller, id)

    @router.put("/machinepolicies/{id}", summary="Modify a machine policy")
    async def update_policy(id: str, body: PolicyInput, caller: Caller = Depends(edit)) -> dict[str, Any]:  # noqa: A002
        assert caller.space_id is not None
        number = parse_id(Collection.MACHINE_POLICIES, id)
        async with caller.services.store.transaction() as conn:
            row = await policies_repo.get(conn, caller.space_id, number) if number is not None else None
            if row is None or number is None:
                raise not_found(id)
            values: dict[str, Any] = {
                "document": _checked(merge_document(row["document"], _document_changes(body)))
            }
            if body.Name is not None:
                values["name"] = body.Name
            if "Description" in body.model_fields_set:
                values["description"] = body.Description
            if body.IsDefault is not None:
                values["is_default"] = body.IsDefault
            await policies_repo.update_policy(conn, caller.space_id, number, values, caller.username)
        return await load(caller, id)

    @router.delete("/machinepolicies/{id}", summary="Delete a machine policy (not the default one)")
    async def delete_policy(id: str, caller: Caller = Depends(edit)) -> dict[str, Any]:  # noqa: A002
        assert caller.space_id is not None
        current = await load(caller, id)
        number = parse_id(Collection.MACHINE_POLICIES, current["Id"])
        assert number is not None
        async with caller.services.store.transaction() as conn:
            await policies_repo.delete_policy(conn, caller.space_id, number)
        return current

    return router
