"""``/api/{spaceId}/accounts``: credentials for SSH machines, written once and never read back.

Secret fields use the described system's sensitive-value shape: written as ``{HasValue: true,
NewValue: "…"}``, read back as ``{HasValue: true}`` only. Values are encrypted with the master key
before they reach the store; leaving ``NewValue`` out on an update keeps the stored secret.
"""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends
from pydantic import Field, StringConstraints

from argonaut.api.auth import Caller, Scope, authorize
from argonaut.api.collections import add_named_list_routes
from argonaut.api.errors import bad_request, not_found
from argonaut.api.inputs import ApiInput
from argonaut.api.resources import iso
from argonaut.domain.ids import Collection, format_id, parse_id
from argonaut.domain.permissions import Permission
from argonaut.ssh.keys import BadKey, load_private_key
from argonaut.store import accounts_repo

AccountName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
AccountTypeName = Literal["UsernamePassword", "SshKeyPair"]
SECRET_FIELDS: dict[str, tuple[str, ...]] = {
    "UsernamePassword": ("Password",),
    "SshKeyPair": ("PrivateKeyFile", "PrivateKeyPassphrase"),
}


class SensitiveValue(ApiInput):
    HasValue: bool = False
    NewValue: str | None = Field(None, max_length=100_000)


class AccountInput(ApiInput):
    Name: AccountName | None = None
    Description: str | None = Field(None, max_length=4000)
    AccountType: AccountTypeName | None = None
    Username: str | None = Field(None, max_length=200)
    Password: SensitiveValue | None = None
    PrivateKeyFile: SensitiveValue | None = None
    PrivateKeyPassphrase: SensitiveValue | None = None


def account_resource(row: Any) -> dict[str, Any]:
    sid = format_id(Collection.SPACES, row["space_id"])
    aid = format_id(Collection.ACCOUNTS, row["id"])
    stored = row["secrets"] or {}
    resource = {
        "Id": aid,
        "SpaceId": sid,
        "Name": row["name"],
        "Description": row["description"],
        "AccountType": row["account_type"],
        "Username": row["username"],
        "LastModifiedOn": iso(row["last_modified_on"]),
        "LastModifiedBy": row["last_modified_by"],
        "Links": {"Self": f"/api/{sid}/accounts/{aid}"},
    }
    for field in SECRET_FIELDS[row["account_type"]]:
        resource[field] = {"HasValue": field in stored}
    return resource


def _secrets(
    caller: Caller, account_type: str, body: AccountInput, current: dict[str, str]
) -> dict[str, str]:
    """The encrypted secrets after this write: a NewValue replaces, none keeps, HasValue false clears."""
    box = caller.services.secrets
    result = dict(current)
    for field in SECRET_FIELDS[account_type]:
        value: SensitiveValue | None = getattr(body, field)
        if value is None:
            continue
        if value.NewValue is not None:
            result[field] = box.encrypt(value.NewValue)
        elif not value.HasValue:
            result.pop(field, None)
    plain = {k: box.decrypt(v) for k, v in result.items()}
    if account_type == "UsernamePassword" and not plain.get("Password"):
        raise bad_request("A UsernamePassword account needs Password.NewValue")
    if account_type == "SshKeyPair":
        if not plain.get("PrivateKeyFile"):
            raise bad_request(
                "An SshKeyPair account needs PrivateKeyFile.NewValue: the base64 of the key file"
            )
        try:
            key = base64.b64decode(plain["PrivateKeyFile"], validate=True)
        except (binascii.Error, ValueError):
            raise bad_request("PrivateKeyFile.NewValue must be the base64 of the private key file") from None
        try:
            load_private_key(key, plain.get("PrivateKeyPassphrase"))
        except BadKey as exc:
            raise bad_request(f"PrivateKeyFile: {exc}") from None
    return result


def build(scope: Scope) -> APIRouter:  # noqa: C901 - a route factory; each route inside is simple
    router = APIRouter(tags=["Accounts"])
    view = authorize(Permission.ACCOUNT_VIEW, scope)
    edit = authorize(Permission.ACCOUNT_EDIT, scope)

    async def load(caller: Caller, account_id: str) -> Any:
        assert caller.space_id is not None
        number = parse_id(Collection.ACCOUNTS, account_id)
        async with caller.services.store.transaction() as conn:
            row = await accounts_repo.get(conn, caller.space_id, number) if number is not None else None
        if row is None:
            raise not_found(account_id)
        return row

    add_named_list_routes(
        router,
        segment="accounts",
        item_type="Account",
        collection=Collection.ACCOUNTS,
        default_take=30,
        view=view,
        lister=accounts_repo.list_accounts,
        shape=account_resource,
        noun="accounts",
    )

    @router.post("/accounts", status_code=201, summary="Create an account")
    async def create_account(body: AccountInput, caller: Caller = Depends(edit)) -> dict[str, Any]:
        assert caller.space_id is not None
        if not body.Name or not body.AccountType or not body.Username:
            raise bad_request("Name, AccountType (UsernamePassword or SshKeyPair) and Username are required")
        secrets = _secrets(caller, body.AccountType, body, {})
        values = {
            "name": body.Name,
            "description": body.Description,
            "account_type": body.AccountType,
            "username": body.Username,
            "secrets": secrets,
        }
        async with caller.services.store.transaction() as conn:
            number = await accounts_repo.create_account(conn, caller.space_id, values, caller.username)
            row = await accounts_repo.get(conn, caller.space_id, number)
        return account_resource(row)

    @router.get("/accounts/{id}", summary="Get an account (secrets show only whether they are set)")
    async def get_account(id: str, caller: Caller = Depends(view)) -> dict[str, Any]:  # noqa: A002
        return account_resource(await load(caller, id))

    @router.put("/accounts/{id}", summary="Modify an account; a secret without NewValue is kept")
    async def update_account(id: str, body: AccountInput, caller: Caller = Depends(edit)) -> dict[str, Any]:  # noqa: A002
        assert caller.space_id is not None
        row = await load(caller, id)
        if body.AccountType and body.AccountType != row["account_type"]:
            raise bad_request("An account's AccountType cannot change: create a new account instead")
        values: dict[str, Any] = {
            "secrets": _secrets(caller, row["account_type"], body, dict(row["secrets"] or {}))
        }
        if body.Name is not None:
            values["name"] = body.Name
        if body.Username is not None:
            values["username"] = body.Username
        if "Description" in body.model_fields_set:
            values["description"] = body.Description
        async with caller.services.store.transaction() as conn:
            await accounts_repo.update_account(conn, caller.space_id, int(row["id"]), values, caller.username)
        return account_resource(await load(caller, id))

    @router.delete("/accounts/{id}", summary="Delete an account no worker uses")
    async def delete_account(id: str, caller: Caller = Depends(edit)) -> dict[str, Any]:  # noqa: A002
        assert caller.space_id is not None
        row = await load(caller, id)
        async with caller.services.store.transaction() as conn:
            await accounts_repo.delete_account(conn, caller.space_id, int(row["id"]))
        return account_resource(row)

    return router
