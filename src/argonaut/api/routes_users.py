"""``/api/users``: people and service accounts, login sessions, and each user's API keys.

Everyone may read and change their own details and keys; ``UserView`` shows others, ``UserEdit``
creates, changes and deletes them and manages anyone's keys. Login answers the user and sets the
session cookie (HttpOnly) and the CSRF cookie (readable, to be echoed in ``X-Octopus-Csrf-Token``).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from pydantic import Field, StringConstraints
from sqlalchemy.exc import IntegrityError

from argonaut.api import resources_users
from argonaut.api.auth import Caller, authorize, forbidden
from argonaut.api.collections import IdsQuery, PartialNameQuery, SkipQuery, envelope, parse_ids, take_query
from argonaut.api.errors import ApiError, error_body, not_found
from argonaut.api.identity import CSRF_COOKIE, SESSION_COOKIE
from argonaut.api.inputs import ApiInput
from argonaut.api.services import CACHES, Services
from argonaut.domain.ids import Collection, parse_id
from argonaut.domain.paging import MAX_TAKE, Page
from argonaut.domain.permissions import Permission
from argonaut.service import sessions, users
from argonaut.store import users_repo

UserName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
PasswordText = Annotated[str, StringConstraints(max_length=1000)]


class UserCreate(ApiInput):
    Username: UserName
    DisplayName: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] | None = None
    EmailAddress: str | None = Field(None, max_length=400)
    Password: PasswordText | None = None
    IsService: bool = False
    IsActive: bool = True


class PasswordChangeInput(ApiInput):
    NewPassword: PasswordText
    OldPassword: PasswordText | None = None


class UserUpdate(ApiInput):
    Username: UserName | None = None
    DisplayName: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] | None = None
    EmailAddress: str | None = Field(None, max_length=400)
    IsService: bool | None = None
    IsActive: bool | None = None
    Password: PasswordText | None = None  # the new password
    OldPassword: PasswordText | None = None  # needed unless the caller has UserEdit
    PasswordChange: PasswordChangeInput | None = None  # the same, nested


class Login(ApiInput):
    Username: Annotated[str, StringConstraints(max_length=200)]
    Password: PasswordText
    RememberMe: bool = False


class ApiKeyCreate(ApiInput):
    Purpose: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    Expires: dt.datetime | None = None


router = APIRouter(tags=["Users"])
# Every signed-in user may reach these; each route checks UserView/UserEdit unless it acts on the caller.
_signed_in = authorize(Permission.USER_VIEW, "any")


def _actor(caller: Caller, request: Request) -> users.Actor:
    return users.Actor(caller.user_id, caller.username, caller.may(Permission.USER_EDIT), _address(request))


def _address(request: Request) -> str | None:
    return request.client.host if request.client else None


def _number(user_id: str) -> int:
    number = parse_id(Collection.USERS, user_id)
    if number is None:
        raise not_found(user_id)
    return number


def _may_manage(caller: Caller, number: int, permission: Permission) -> None:
    if number != caller.user_id and not caller.may(permission):
        raise forbidden(permission)


async def _load(svc: Services, number: int, caller: Caller, what: str) -> dict[str, Any]:
    async with svc.store.transaction() as conn:
        row = await users_repo.get(conn, number)
    if row is None:
        raise not_found(what)
    return resources_users.user(row, caller.user_id)


async def _forget_keys(svc: Services, conn: Any) -> None:
    """Cached keys may now be wrong (revoked, or their user disabled): every node drops its cache."""
    await svc.signals.send(conn, CACHES)


@router.post("/api/users/login", summary="Log in with a user name and password; sets the session cookies")
async def login(body: Login, request: Request) -> Response:
    svc: Services = request.app.state.services
    settings = svc.settings
    throttle = sessions.Throttle(
        settings.login_failures,
        settings.login_address_failures,
        settings.login_window_s,
        settings.login_lock_s,
    )
    for attempt in range(2):  # two first failures at once on PostgreSQL: one insert loses, count again
        try:
            async with svc.store.transaction() as conn:
                result = await sessions.login(
                    conn, body.Username, body.Password, _address(request), throttle, settings.session_hours
                )
            break
        except IntegrityError:
            if attempt:
                raise
    if result.retry_after_s:
        message = f"Too many failed login attempts. Try again in {result.retry_after_s} seconds."
        return JSONResponse(
            error_body(message, [message]),
            status_code=429,
            headers={"Retry-After": str(result.retry_after_s)},
        )
    if result.user is None:
        raise ApiError(400, sessions.FAILED, [sessions.FAILED])
    answer = JSONResponse(resources_users.user(result.user, int(result.user["id"])))
    secure = request.url.scheme == "https"
    max_age = int(settings.session_hours * 3600) if body.RememberMe else None
    answer.set_cookie(
        SESSION_COOKIE, result.token, max_age=max_age, path="/", secure=secure, httponly=True, samesite="lax"
    )
    answer.set_cookie(
        CSRF_COOKIE,
        result.csrf_token,
        max_age=max_age,
        path="/",
        secure=secure,
        httponly=False,
        samesite="lax",
    )
    return answer


@router.post("/api/users/logout", summary="End the login session of the cookie sent")
async def logout(request: Request) -> Response:
    svc: Services = request.app.state.services
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        async with svc.store.transaction() as conn:
            await sessions.logout(conn, token)
    answer = JSONResponse({})
    answer.delete_cookie(SESSION_COOKIE, path="/")
    answer.delete_cookie(CSRF_COOKIE, path="/")
    return answer


@router.get("/api/users/me", summary="The signed-in user (by API key or session)")
async def me(caller: Caller = Depends(_signed_in)) -> dict[str, Any]:
    return await _load(caller.services, caller.user_id, caller, "me")


@router.get("/api/users", summary="List users (paged)")
async def list_users(
    caller: Caller = Depends(_signed_in),
    skip: int = SkipQuery,
    take: int = take_query(30),
    ids: list[str] | None = IdsQuery,
    partialName: str | None = PartialNameQuery,  # noqa: N803 - the described system's parameter name
) -> dict[str, Any]:
    caller.require(Permission.USER_VIEW)
    numbers = parse_ids(Collection.USERS, ids)
    async with caller.services.store.transaction() as conn:
        total, rows = await users_repo.list_users(conn, skip, take, numbers, partialName)
    items = [resources_users.user(r, caller.user_id) for r in rows]
    return envelope("User", items, Page(skip, take, total), "/api/users", {"partialName": partialName})


@router.get("/api/users/all", summary="All users as a plain array")
async def all_users(caller: Caller = Depends(_signed_in)) -> list[dict[str, Any]]:
    caller.require(Permission.USER_VIEW)
    async with caller.services.store.transaction() as conn:
        _, rows = await users_repo.list_users(conn, 0, MAX_TAKE, None, None)
    return [resources_users.user(r, caller.user_id) for r in rows]


@router.post("/api/users", status_code=201, summary="Create a user or service account")
async def create_user(
    body: UserCreate, request: Request, caller: Caller = Depends(_signed_in)
) -> dict[str, Any]:
    caller.require(Permission.USER_EDIT)
    details = users.UserDetails(
        body.Username, body.DisplayName or body.Username, body.EmailAddress, body.IsService, body.IsActive
    )
    async with caller.services.store.transaction() as conn:
        number = await users.create_user(conn, details, body.Password, _actor(caller, request))
    return await _load(caller.services, number, caller, body.Username)


@router.get("/api/users/{userId}", summary="Get a user")
async def get_user(userId: str, caller: Caller = Depends(_signed_in)) -> dict[str, Any]:  # noqa: N803
    number = _number(userId)
    _may_manage(caller, number, Permission.USER_VIEW)
    return await _load(caller.services, number, caller, userId)


@router.put("/api/users/{userId}", summary="Change a user's details or password")
async def update_user(
    userId: str,  # noqa: N803
    body: UserUpdate,
    request: Request,
    caller: Caller = Depends(_signed_in),
) -> dict[str, Any]:
    number = _number(userId)
    _may_manage(caller, number, Permission.USER_EDIT)
    await _load(caller.services, number, caller, userId)
    changes: dict[str, Any] = {}
    for field, column in (
        ("Username", "username"),
        ("DisplayName", "display_name"),
        ("IsService", "is_service"),
        ("IsActive", "is_active"),
    ):
        value = getattr(body, field)
        if value is not None and (field != "DisplayName" or value):
            changes[column] = value
    if "EmailAddress" in body.model_fields_set:
        changes["email_address"] = body.EmailAddress
    actor = _actor(caller, request)
    if not actor.is_admin and ("is_service" in changes or "is_active" in changes):
        async with caller.services.store.transaction() as conn:
            row = await users_repo.get(conn, number)
        assert row is not None
        if any(row[c] != changes[c] for c in ("is_service", "is_active") if c in changes):
            raise forbidden(Permission.USER_EDIT)
    new_password = body.PasswordChange.NewPassword if body.PasswordChange else body.Password
    old_password = body.PasswordChange.OldPassword if body.PasswordChange else body.OldPassword
    svc = caller.services
    async with svc.store.transaction() as conn:
        sign_in_changed = await users.update_user(conn, number, changes, new_password, old_password, actor)
        if sign_in_changed:
            await _forget_keys(svc, conn)
    if sign_in_changed:
        svc.forget_cached()
    return await _load(svc, number, caller, userId)


@router.delete("/api/users/{userId}", summary="Delete a user (not yourself, not the last administrator)")
async def delete_user(
    userId: str,  # noqa: N803
    request: Request,
    caller: Caller = Depends(_signed_in),
) -> dict[str, Any]:
    number = _number(userId)
    caller.require(Permission.USER_EDIT)
    current = await _load(caller.services, number, caller, userId)
    svc = caller.services
    async with svc.store.transaction() as conn:
        await users.delete_user(conn, number, _actor(caller, request))
        await _forget_keys(svc, conn)
    svc.forget_cached()
    return current


@router.get("/api/users/{userId}/apikeys", summary="A user's API keys (never the keys themselves)")
async def list_api_keys(
    userId: str,  # noqa: N803
    caller: Caller = Depends(_signed_in),
    skip: int = SkipQuery,
    take: int = take_query(30),
) -> dict[str, Any]:
    number = _number(userId)
    _may_manage(caller, number, Permission.USER_EDIT)
    await _load(caller.services, number, caller, userId)
    async with caller.services.store.transaction() as conn:
        rows = await users_repo.api_keys_of(conn, number)
    items = [resources_users.api_key(r) for r in rows]
    page = Page(skip, take, len(items))
    return envelope("ApiKey", items[skip : skip + take], page, f"/api/users/{userId}/apikeys", {})


@router.post("/api/users/{userId}/apikeys", status_code=201, summary="Create an API key (shown only now)")
async def create_api_key(
    userId: str,  # noqa: N803
    body: ApiKeyCreate,
    request: Request,
    caller: Caller = Depends(_signed_in),
) -> dict[str, Any]:
    number = _number(userId)
    _may_manage(caller, number, Permission.USER_EDIT)
    await _load(caller.services, number, caller, userId)
    async with caller.services.store.transaction() as conn:
        key_id, key = await users.create_api_key(
            conn, number, body.Purpose, body.Expires, _actor(caller, request)
        )
        row = await users_repo.get_api_key(conn, number, key_id)
    assert row is not None
    return resources_users.api_key(row, key)


@router.get("/api/users/{userId}/apikeys/{keyId}", summary="One of a user's API keys (never the key)")
async def get_api_key(
    userId: str,  # noqa: N803
    keyId: str,  # noqa: N803
    caller: Caller = Depends(_signed_in),
) -> dict[str, Any]:
    number = _number(userId)
    _may_manage(caller, number, Permission.USER_EDIT)
    key_number = parse_id(Collection.API_KEYS, keyId)
    async with caller.services.store.transaction() as conn:
        row = await users_repo.get_api_key(conn, number, key_number) if key_number is not None else None
    if row is None:
        raise not_found(keyId)
    return resources_users.api_key(row)


@router.delete("/api/users/{userId}/apikeys/{keyId}", summary="Revoke an API key, at once on every node")
async def delete_api_key(
    userId: str,  # noqa: N803
    keyId: str,  # noqa: N803
    request: Request,
    caller: Caller = Depends(_signed_in),
) -> dict[str, Any]:
    number = _number(userId)
    _may_manage(caller, number, Permission.USER_EDIT)
    key_number = parse_id(Collection.API_KEYS, keyId)
    if key_number is None:
        raise not_found(keyId)
    svc = caller.services
    async with svc.store.transaction() as conn:
        row = await users_repo.get_api_key(conn, number, key_number)
        if row is None:
            raise not_found(keyId)
        await users.delete_api_key(conn, number, key_number, _actor(caller, request))
        await _forget_keys(svc, conn)
    svc.forget_cached()
    return resources_users.api_key(row)
