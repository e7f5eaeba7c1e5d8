"""Authentication and authorization in one dependency: ``Depends(authorize(Permission.X))``.

The API key comes from ``X-Octopus-ApiKey`` (or the ``apikey`` query parameter, as the described system
allows for simple requests). The space comes from the ``{spaceId}`` path segment, or is the default space
for the unscoped aliases. Verified key hashes are cached, so a request costs one hash and a dict lookup.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal

from fastapi import Path, Request

from argonaut.api.errors import ApiError, not_found
from argonaut.api.services import Services
from argonaut.domain.ids import Collection, parse_id
from argonaut.domain.permissions import Permission, is_granted
from argonaut.security.api_keys import hash_api_key
from argonaut.store import spaces_repo, users_repo

API_KEY_HEADER = "X-Octopus-ApiKey"


@dataclass(frozen=True, slots=True)
class Caller:
    user_id: int
    username: str
    is_admin: bool
    space_id: int | None  # None for system routes
    space_name: str | None
    services: Services


async def _user(request: Request, svc: Services) -> tuple[int, str, bool]:
    return await user_for_key(svc, request.headers.get(API_KEY_HEADER) or request.query_params.get("apikey"))


async def user_for_key(svc: Services, key: str | None) -> tuple[int, str, bool]:
    """The (user id, username, is administrator) an API key belongs to; ApiError 401 if none.

    Also used before a request's body is read (``gate.py``), so a caller without a key costs a hash.
    """
    if not key:
        raise ApiError(
            401,
            "You must be logged in to perform this action. Send an API key in the X-Octopus-ApiKey header.",
        )
    digest = hash_api_key(key.strip())
    cached = svc.key_cache.get(digest)
    if cached is not None:
        return cached
    async with svc.store.transaction() as conn:
        user = await users_repo.user_by_key_hash(conn, digest)
    if user is None:
        raise ApiError(
            401, "The API key you provided was not valid. Please double-check your API key and try again."
        )
    found = (int(user["id"]), str(user["username"]), bool(user["is_admin"]))
    svc.key_cache[digest] = found
    return found


Scope = Literal["path", "default", "system"]


async def _space(svc: Services, scope: Scope, text: str | None) -> tuple[int | None, str | None]:
    if scope == "system":
        return None, None
    key = text.lower() if text is not None else None
    cached = svc.space_cache.get(key)
    if cached is not None:
        return cached
    async with svc.store.transaction() as conn:
        if key is None:
            row = await spaces_repo.default_space(conn)
            if row is None:
                raise ApiError(
                    404, "There is no default space; use a space-scoped route like /api/Spaces-2/..."
                )
        else:
            number = parse_id(Collection.SPACES, key)
            row = await spaces_repo.get(conn, number) if number is not None else None
            if row is None and number is None:
                # The command routes (``/api/{space}/releases/create/v1``) take a space's name too, as the
                # described system's CI integrations send it.
                row = await spaces_repo.find_by_name(conn, text or "")
            if row is None:
                raise not_found(text or "")
    found = (int(row["id"]), str(row["name"]))
    svc.space_cache[key] = found
    return found


async def _admit(request: Request, permission: Permission, scope: Scope, space_text: str | None) -> Caller:
    svc: Services = request.app.state.services
    user_id, username, is_admin = await _user(request, svc)
    space_id, space_name = await _space(svc, scope, space_text)
    if not is_granted(is_admin, (), permission, space_id):
        raise ApiError(
            403, f"You do not have permission to perform this action ({permission.value} is missing)."
        )
    return Caller(user_id, username, is_admin, space_id, space_name, svc)


def authorize(permission: Permission, scope: Scope) -> Callable[..., Awaitable[Caller]]:
    """A dependency that admits the caller only if it holds ``permission`` in the request's space.

    ``path`` reads the space from the ``{spaceId}`` segment, ``default`` is the unscoped alias acting on the
    default space, ``system`` is for routes outside any space.
    """
    if scope == "path":

        async def in_space(request: Request, space_id: str = Path(alias="spaceId")) -> Caller:
            return await _admit(request, permission, scope, space_id)

        return in_space

    async def outside(request: Request) -> Caller:
        return await _admit(request, permission, scope, None)

    return outside
