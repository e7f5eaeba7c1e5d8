"""Deployment targets: the rules for adding and changing them, shared by the API and the portal.

A target is a machine with environments and roles. Its endpoint is checked as a worker's is (agents and
SSH, ``domain.endpoints``), or it is a Cloud Region (``None``), which runs nothing itself: its steps and
its health check run on a worker of its ``DefaultWorkerPoolId`` pool (null: the space's default pool).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import RowMapping

from argonaut.domain.endpoints import check_endpoint
from argonaut.domain.ids import Collection, format_id, parse_id
from argonaut.domain.placement import TargetInfo
from argonaut.domain.workers import CommunicationStyle, HealthStatus
from argonaut.service.environments import environment_numbers
from argonaut.service.errors import Invalid
from argonaut.store import accounts_repo, machines_repo, policies_repo, pools_repo
from argonaut.store.connection import Conn

MAX_ROLE_LENGTH = 200
MAX_ROLES = 100
PARTICIPATION = ("Untenanted", "TenantedOrUntenanted", "Tenanted")
NOUN = "deployment target"


@dataclass(frozen=True, slots=True)
class TargetFields:
    """A new target as a client describes it; the endpoint's keys already in canonical PascalCase."""

    name: str
    endpoint: Mapping[str, Any]
    environment_ids: Sequence[str]
    roles: Sequence[str] = ()
    machine_policy_id: str | None = None  # None: the space's default policy
    is_disabled: bool = False
    tenanted_participation: str = "Untenanted"
    tenant_ids: Sequence[str] = ()
    tenant_tags: Sequence[str] = ()


async def create_target(conn: Conn, space_id: int, fields: TargetFields, by: str) -> int:
    _check_tenancy(fields.tenant_ids, fields.tenant_tags, fields.tenanted_participation)
    values = {
        "name": fields.name,
        "endpoint": await checked_endpoint(conn, space_id, fields.endpoint),
        "environment_ids": await _environment_ids(conn, space_id, fields.environment_ids),
        "roles": clean_roles(fields.roles),
        "machine_policy_id": await policy_number(conn, space_id, fields.machine_policy_id),
        "is_disabled": fields.is_disabled,
        "tenanted_participation": fields.tenanted_participation,
    }
    return await machines_repo.create_target(conn, space_id, values, by)


async def update_target(
    conn: Conn, space_id: int, target_id: int, changes: Mapping[str, Any], by: str
) -> bool:
    """Apply the fields the client sent (``changes``, by their ``TargetFields`` names); answers whether
    the endpoint changed."""
    _check_tenancy(
        changes.get("tenant_ids") or (),
        changes.get("tenant_tags") or (),
        changes.get("tenanted_participation") or "Untenanted",
    )
    values: dict[str, Any] = {}
    if changes.get("name") is not None:
        values["name"] = changes["name"]
    if changes.get("endpoint") is not None:
        values["endpoint"] = await checked_endpoint(conn, space_id, changes["endpoint"])
    if changes.get("environment_ids") is not None:
        values["environment_ids"] = await _environment_ids(conn, space_id, changes["environment_ids"])
    if changes.get("roles") is not None:
        values["roles"] = clean_roles(changes["roles"])
    if changes.get("machine_policy_id") is not None:
        values["machine_policy_id"] = await policy_number(conn, space_id, changes["machine_policy_id"])
    if changes.get("is_disabled") is not None:
        values["is_disabled"] = bool(changes["is_disabled"])
    if changes.get("tenanted_participation") is not None:
        values["tenanted_participation"] = changes["tenanted_participation"]
    return await machines_repo.update_target(conn, space_id, target_id, values, by)


async def delete_target(conn: Conn, space_id: int, target_id: int) -> None:
    await machines_repo.delete_target(conn, space_id, target_id)


async def checked_endpoint(conn: Conn, space_id: int, raw: Mapping[str, Any]) -> dict[str, Any]:
    """The endpoint normalised, with what it names (an SSH account, a Cloud Region's pool) in this space."""
    check = check_endpoint(raw, noun=NOUN, cloud_region=True)
    if check.errors:
        raise Invalid(f"The {NOUN}'s endpoint is not valid", check.errors)
    endpoint = check.endpoint
    style = endpoint["CommunicationStyle"]
    if style == CommunicationStyle.SSH.value:
        number = parse_id(Collection.ACCOUNTS, str(endpoint["AccountId"]))
        if number is None or await accounts_repo.get(conn, space_id, number) is None:
            raise Invalid(
                f"Endpoint.AccountId: the account '{endpoint['AccountId']}' does not exist in this space"
            )
    elif style == CommunicationStyle.NONE.value and endpoint["DefaultWorkerPoolId"] is not None:
        pool = parse_id(Collection.WORKER_POOLS, str(endpoint["DefaultWorkerPoolId"]))
        if pool is None or await pools_repo.get(conn, space_id, pool) is None:
            raise Invalid(
                f"Endpoint.DefaultWorkerPoolId: the worker pool '{endpoint['DefaultWorkerPoolId']}' "
                "does not exist in this space"
            )
    return endpoint


async def _environment_ids(conn: Conn, space_id: int, texts: Sequence[str]) -> list[str]:
    if not texts:
        raise Invalid(f"A {NOUN} needs at least one environment: EnvironmentIds is empty")
    numbers = await environment_numbers(conn, space_id, texts)
    return [format_id(Collection.ENVIRONMENTS, n) for n in numbers]


def clean_roles(roles: Sequence[Any]) -> list[str]:
    """Trimmed, each once (case-insensitively, as steps match them), in the order given.

    No commas, since steps list their roles comma-separated (``Octopus.Action.TargetRoles``), so such a
    role could never be deployed to; and no double quotes, which lets the store match roles exactly.
    """
    seen: dict[str, str] = {}
    errors: list[str] = []
    for role in roles:
        text = role.strip() if isinstance(role, str) else None
        if not text:
            errors.append(f"Roles: {role!r} is not a role: give a non-empty text")
        elif len(text) > MAX_ROLE_LENGTH:
            errors.append(f"Roles: '{text[:40]}…' is longer than {MAX_ROLE_LENGTH} characters")
        elif "," in text or '"' in text:
            errors.append(f"Roles: '{text}' may not contain a comma or a double quote")
        else:
            seen.setdefault(text.casefold(), text)
    if len(seen) > MAX_ROLES:
        errors.append(f"Roles: a {NOUN} may have at most {MAX_ROLES} roles")
    if errors:
        raise Invalid("The roles are not valid", errors)
    return list(seen.values())


async def policy_number(conn: Conn, space_id: int, text: str | None) -> int:
    """The machine policy by id, or the space's default when none is named."""
    if text is None:
        row = await policies_repo.default_policy(conn, space_id)
    else:
        number = parse_id(Collection.MACHINE_POLICIES, text)
        row = await policies_repo.get(conn, space_id, number) if number is not None else None
        if row is None:
            raise Invalid(f"MachinePolicyId: the machine policy '{text}' does not exist in this space")
    if row is None:  # every space is created with a default policy
        raise Invalid("This space has no default machine policy: name one in MachinePolicyId")
    return int(row["id"])


def _check_tenancy(tenant_ids: Sequence[str], tenant_tags: Sequence[str], participation: str) -> None:
    if participation not in PARTICIPATION:
        raise Invalid(f"TenantedDeploymentParticipation must be one of {', '.join(PARTICIPATION)}")
    if tenant_ids or tenant_tags:
        raise Invalid("This server has no tenants yet: TenantIds and TenantTags must be empty")


def target_info(row: RowMapping | Mapping[str, Any]) -> TargetInfo:
    """A target row as the deployment planner sees it."""
    endpoint = row["endpoint"] or {}
    return TargetInfo(
        id=format_id(Collection.MACHINES, int(row["id"])),
        name=str(row["name"]),
        roles=frozenset(row["roles"] or ()),
        environment_ids=frozenset(row["environment_ids"] or ()),
        is_disabled=bool(row["is_disabled"]),
        health=HealthStatus(row["health_status"]),
        communication_style=str(row["communication_style"]),
        default_worker_pool_id=endpoint.get("DefaultWorkerPoolId"),
    )
