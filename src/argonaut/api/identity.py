"""Who a request is: an API key (``X-Octopus-ApiKey`` or ``apikey``) or a login session's cookie.

- A key is checked by its SHA-256 against the store once, then from ``Services.key_cache`` (a dict
  lookup). A key with an expiry is cached only until then; revoking a key, or disabling its user, clears
  the cache on this node at once and on every node through the ``caches`` signal.
- A session cookie (``OctopusIdentificationToken``) is looked up in the store on every request, so
  logout, expiry and a disabled user take effect at once. A cookie-authenticated request that changes
  state (POST, PUT, DELETE, PATCH) must also send ``X-Octopus-Csrf-Token`` equal to the session's CSRF
  token (the readable ``Octopus-Csrf-Token`` cookie): another site can make a browser send the cookie,
  but cannot read it to send the header. API-key requests need no CSRF token.

Either way the answer is ``(user id, username, is administrator)``, or ApiError 401 (403 for a missing
CSRF token).
"""

from __future__ import annotations

import secrets
import time

from argonaut.api.errors import ApiError
from argonaut.api.services import Services
from argonaut.security.api_keys import hash_api_key
from argonaut.service import sessions
from argonaut.store import users_repo
from argonaut.store.timeutil import as_utc, utcnow

SESSION_COOKIE = "OctopusIdentificationToken"
CSRF_COOKIE = "Octopus-Csrf-Token"
CSRF_HEADER = "X-Octopus-Csrf-Token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "DELETE", "PATCH"})

Identity = tuple[int, str, bool]

_NO_CREDENTIALS = (
    "You must be logged in to perform this action. Send an API key in the X-Octopus-ApiKey header, "
    "or log in (POST /api/users/login) and send the session cookie."
)
_DISABLED = "This user account is disabled. Ask an administrator to enable it."


async def identify(
    svc: Services, key: str | None, session_token: str | None, method: str, csrf_token: str | None
) -> Identity:
    """The caller: by API key when one is sent, else by session cookie (with the CSRF rule)."""
    if key:
        return await user_for_key(svc, key)
    if session_token:
        return await user_for_session(svc, session_token, method, csrf_token, check_csrf=True)
    raise ApiError(401, _NO_CREDENTIALS)


async def user_for_key(svc: Services, key: str | None) -> Identity:
    """The (user id, username, is administrator) an API key belongs to; ApiError 401 if none.

    Also used before a request's body is read (``gate.py``), so a caller without a key costs a hash.
    """
    if not key:
        raise ApiError(401, _NO_CREDENTIALS)
    digest = hash_api_key(key.strip())
    cached = svc.key_cache.get(digest)
    if cached is not None:
        until = svc.key_expiry.get(digest)
        if until is None or time.time() < until:
            return cached
        svc.key_cache.pop(digest, None)  # expired since it was cached: the store says so below
    async with svc.store.transaction() as conn:
        user = await users_repo.user_by_key_hash(conn, digest)
    if user is None:
        raise ApiError(
            401, "The API key you provided was not valid. Please double-check your API key and try again."
        )
    expires = as_utc(user["key_expires"])
    if expires is not None and expires <= utcnow():
        raise ApiError(401, "The API key you provided has expired. Create a new one and try again.")
    if not user["is_active"]:
        raise ApiError(401, _DISABLED)
    found = (int(user["id"]), str(user["username"]), bool(user["is_admin"]))
    svc.key_cache[digest] = found
    if expires is not None:
        svc.key_expiry[digest] = expires.timestamp()
    return found


async def user_for_session(
    svc: Services, token: str, method: str, csrf_token: str | None, *, check_csrf: bool
) -> Identity:
    async with svc.store.transaction() as conn:
        user = await sessions.session_user(conn, token)
    if user is None:
        raise ApiError(401, "Your login session is not valid or has ended. Please log in again.")
    expires = as_utc(user["session_expires"])
    if expires is None or expires <= utcnow():
        raise ApiError(401, "Your login session has expired. Please log in again.")
    if not user["is_active"]:
        raise ApiError(401, _DISABLED)
    if check_csrf and method.upper() in UNSAFE_METHODS:
        expected = str(user["csrf_token"])
        if not csrf_token or not secrets.compare_digest(csrf_token.encode(), expected.encode()):
            raise ApiError(
                403,
                f"This request uses a login session and changes something, so it must send the session's "
                f"CSRF token (the {CSRF_COOKIE} cookie) in the {CSRF_HEADER} header.",
            )
    return int(user["id"]), str(user["username"]), bool(user["is_admin"])
