"""Users and their API keys: the rules the API (and the coming portal) share.

Passwords: at least 8 characters and not the user name; service accounts have none (API keys only).
Changing one's own password needs the old one; an administrator may set anyone's without it. Nobody
deletes themselves, and the last active administrator cannot be deleted or disabled. Every change is
an audit event in the one ``ChangeDetails`` shape of ``domain.audit`` (a ``DocumentContext`` object,
JSON Patch ``Differences``); passwords and keys appear there only as changed (``Sensitive: true``):
their hashes go into ``differences``, which never gives a secret-named field's value.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass
from typing import Any

from argonaut.domain import audit
from argonaut.domain.ids import Collection, format_id
from argonaut.security.api_keys import hash_api_key, new_api_key
from argonaut.security.passwords import hash_password, verify_password
from argonaut.service import events
from argonaut.service.errors import Invalid, NotFound
from argonaut.store import users_repo
from argonaut.store.common import Refused
from argonaut.store.connection import Conn
from argonaut.store.timeutil import as_utc, utcnow

MIN_PASSWORD = 8


@dataclass(frozen=True, slots=True)
class Actor:
    user_id: int
    username: str
    is_admin: bool
    ip_address: str | None = None


@dataclass(frozen=True, slots=True)
class UserDetails:
    username: str
    display_name: str
    email_address: str | None
    is_service: bool
    is_active: bool


def check_password(username: str, password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise Invalid(f"The password must be at least {MIN_PASSWORD} characters long.")
    if password.strip().lower() == username.strip().lower():
        raise Invalid("The password must not be the user name.")


async def _record(
    conn: Conn,
    category: str,
    message: str,
    actor: Actor,
    document: dict[str, Any],
    before: dict[str, Any],
    after: dict[str, Any],
) -> None:
    """One event about ``document`` (``Id`` and ``Name``), its differences from ``before`` to ``after``."""
    await events.record(
        conn,
        category,
        message,
        user_id=actor.user_id,
        username=actor.username,
        ip_address=actor.ip_address,
        related_document_ids=[document["Id"]],
        change_details=audit.change_details(document, audit.differences(before, after)),
    )


def _user_document(user_id: int, username: str) -> dict[str, Any]:
    return {"Id": format_id(Collection.USERS, user_id), "Name": username}


def _key_document(key_id: int, purpose: str) -> dict[str, Any]:
    return {"Id": format_id(Collection.API_KEYS, key_id), "Name": purpose}


async def create_user(conn: Conn, details: UserDetails, password: str | None, actor: Actor) -> int:
    if details.is_service and password:
        raise Invalid("A service account has no password; it signs in with API keys.")
    password_hash = None
    if password:
        check_password(details.username, password)
        password_hash = await asyncio.to_thread(hash_password, password)
    if await users_repo.find_by_username(conn, details.username) is not None:
        raise Invalid(f"A user with the user name '{details.username}' already exists.")
    user_id = await users_repo.create_user(
        conn,
        details.username,
        details.display_name,
        False,
        email_address=details.email_address,
        is_active=details.is_active,
        is_service=details.is_service,
        password_hash=password_hash,
    )
    after: dict[str, Any] = {
        "Username": details.username,
        "DisplayName": details.display_name,
        "EmailAddress": details.email_address,
        "IsActive": details.is_active,
        "IsService": details.is_service,
    }
    if password_hash is not None:
        after["Password"] = password_hash  # ``differences`` shows it only as changed
    document = _user_document(user_id, details.username)
    await _record(conn, "Created", f"User {details.username} was created", actor, document, {}, after)
    return user_id


async def _user(conn: Conn, user_id: int) -> Any:
    row = await users_repo.get(conn, user_id)
    if row is None:
        raise NotFound(format_id(Collection.USERS, user_id))
    return row


async def update_user(
    conn: Conn,
    user_id: int,
    changes: dict[str, Any],
    new_password: str | None,
    old_password: str | None,
    actor: Actor,
) -> bool:
    """Apply ``changes`` (column -> value) and a new password; answers whether the user's sign-in
    changed (disabled, made a service account, password changed), so cached keys must be forgotten."""
    row = await _user(conn, user_id)
    values = {k: v for k, v in changes.items() if row[k] != v}
    username = str(values.get("username", row["username"]))
    is_service = bool(values.get("is_service", row["is_service"]))
    if "username" in values:
        other = await users_repo.find_by_username(conn, username)
        if other is not None and int(other["id"]) != user_id:
            raise Invalid(f"A user with the user name '{username}' already exists.")
    if values.get("is_active") is False:
        if user_id == actor.user_id:
            raise Refused("You cannot disable your own account.")
        if row["is_admin"] and await users_repo.count_active_admins(conn) <= 1:
            raise Refused("The last administrator cannot be disabled.")
    before = {_API_NAMES[k]: row[k] for k in values if k in _API_NAMES}
    after = {_API_NAMES[k]: v for k, v in values.items() if k in _API_NAMES}
    if is_service and row["password_hash"] is not None:
        values["password_hash"] = None  # a service account signs in with keys only
    if new_password:
        if is_service:
            raise Invalid("A service account has no password; it signs in with API keys.")
        check_password(username, new_password)
        if not actor.is_admin:  # an administrator may set anyone's password without the old one
            if not old_password:
                raise Invalid("Changing the password needs the current one (OldPassword).")
            if not await asyncio.to_thread(verify_password, row["password_hash"], old_password):
                raise Invalid("The current password is not correct.")
        values["password_hash"] = await asyncio.to_thread(hash_password, new_password)
    if not values:
        return False
    # The hashes, when they differ: ``differences`` shows only that they do, never a value.
    before["Password"], after["Password"] = (
        row["password_hash"],
        values.get("password_hash", row["password_hash"]),
    )
    await users_repo.update_user(conn, user_id, values)
    document = _user_document(user_id, username)
    await _record(conn, "Modified", f"User {username} was modified", actor, document, before, after)
    return bool({"is_active", "is_service", "password_hash"} & values.keys())


_API_NAMES = {
    "username": "Username",
    "display_name": "DisplayName",
    "email_address": "EmailAddress",
    "is_active": "IsActive",
    "is_service": "IsService",
}


async def delete_user(conn: Conn, user_id: int, actor: Actor) -> None:
    row = await _user(conn, user_id)
    if user_id == actor.user_id:
        raise Refused("You cannot delete your own account.")
    if row["is_admin"] and row["is_active"] and await users_repo.count_active_admins(conn) <= 1:
        raise Refused("The last administrator cannot be deleted.")
    await users_repo.delete_user(conn, user_id)
    document = _user_document(user_id, str(row["username"]))
    before = {"Username": row["username"], "DisplayName": row["display_name"]}
    await _record(conn, "Deleted", f"User {row['username']} was deleted", actor, document, before, {})


async def create_api_key(
    conn: Conn, user_id: int, purpose: str, expires: dt.datetime | None, actor: Actor
) -> tuple[int, str]:
    """A new key for the user: (key id, the key), the key shown this once and stored only as a hash."""
    row = await _user(conn, user_id)
    expires = as_utc(expires)
    if expires is not None and expires <= utcnow():
        raise Invalid("Expires must be in the future.")
    key = new_api_key()
    key_hash = hash_api_key(key)
    key_id = await users_repo.add_api_key(conn, user_id, purpose, key_hash, expires)
    after = {
        "Purpose": purpose,
        "UserId": format_id(Collection.USERS, user_id),
        "Expires": _iso(expires),
        "ApiKey": key_hash,  # ``differences`` shows it only as changed
    }
    message = f"API key '{purpose}' was created for {row['username']}"
    await _record(conn, "Created", message, actor, _key_document(key_id, purpose), {}, after)
    return key_id, key


async def delete_api_key(conn: Conn, user_id: int, key_id: int, actor: Actor) -> None:
    key = await users_repo.get_api_key(conn, user_id, key_id)
    if key is None:
        raise NotFound(format_id(Collection.API_KEYS, key_id))
    await users_repo.delete_api_key(conn, key_id)
    document = _key_document(key_id, str(key["purpose"]))
    before = {"Purpose": key["purpose"], "UserId": format_id(Collection.USERS, user_id)}
    await _record(conn, "Deleted", f"API key '{key['purpose']}' was revoked", actor, document, before, {})


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None
