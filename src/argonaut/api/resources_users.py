"""Users and API keys in the described system's shapes; never a password or a key's hash."""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import RowMapping

from argonaut.api.resources import iso
from argonaut.domain.ids import Collection, format_id


def user(row: RowMapping, caller_id: int) -> dict[str, Any]:
    uid = format_id(Collection.USERS, int(row["id"]))
    return {
        "Id": uid,
        "Username": row["username"],
        "DisplayName": row["display_name"],
        "EmailAddress": row["email_address"],
        "IsActive": bool(row["is_active"]),
        "IsService": bool(row["is_service"]),
        "IsRequestor": int(row["id"]) == caller_id,
        "CanPasswordBeEdited": not row["is_service"],
        "HasPassword": row["password_hash"] is not None,
        "Identities": [],
        "Links": {
            "Self": f"/api/users/{uid}",
            "Permissions": f"/api/users/{uid}/permissions",
            "ApiKeys": f"/api/users/{uid}/apikeys{{/id}}{{?skip,take}}",
        },
    }


def api_key(row: RowMapping, key: str | None = None) -> dict[str, Any]:
    kid = format_id(Collection.API_KEYS, int(row["id"]))
    uid = format_id(Collection.USERS, int(row["user_id"]))
    shape: dict[str, Any] = {
        "Id": kid,
        "Purpose": row["purpose"],
        "UserId": uid,
        "Created": iso(row["created"]),
        "Expires": iso(row["expires"]),
        "Links": {"Self": f"/api/users/{uid}/apikeys/{kid}"},
    }
    if key is not None:
        shape["ApiKey"] = key  # shown this once; only its hash is kept
    return shape
