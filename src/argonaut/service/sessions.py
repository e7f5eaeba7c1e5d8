"""Login sessions and failed-login throttling.

A login checks the password against its argon2 hash and, when it matches, opens a session: a random
token for the cookie (stored only as its SHA-256) and a CSRF token that state-changing requests must
echo in a header. Sessions last ``session_hours`` from login (no sliding renewal).

Throttling counts failed logins per user name and per client address in ``login_attempts`` (so it
holds across nodes). ``max_failures`` failures within ``window_s`` lock the name (or address) for
``lock_s``; each further failure before the count lapses doubles the lock, up to an hour. While locked,
every attempt is refused, even with the right password. A success clears the user name's count (not the
address's, or one known account would reset an address's guessing). A failed login reads the same
whether the user exists or not, and takes as long (a dummy hash is verified).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import math
import secrets
from dataclasses import dataclass

from sqlalchemy.engine import RowMapping

from argonaut.domain.audit import change_details
from argonaut.domain.ids import Collection, format_id
from argonaut.security.passwords import hash_password, needs_rehash, verify_password
from argonaut.service import events
from argonaut.store import sessions_repo, users_repo
from argonaut.store.connection import Conn
from argonaut.store.timeutil import as_utc, utcnow

MAX_LOCK_S = 3600.0
FAILED = "Invalid username or password."


@dataclass(frozen=True, slots=True)
class Throttle:
    max_failures: int = 5
    address_failures: int = 20
    window_s: float = 300.0
    lock_s: float = 60.0


@dataclass(frozen=True, slots=True)
class LoginResult:
    user: RowMapping | None = None  # set when the login succeeded
    token: str = ""  # the cookie's value, known only to the client once answered
    csrf_token: str = ""
    expires: dt.datetime | None = None
    retry_after_s: int = 0  # above 0: refused, locked for this long


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _keys(username: str, address: str | None) -> list[tuple[str, str]]:
    keys = [("user", "user:" + username.strip().lower()[:250])]
    if address:
        keys.append(("address", "address:" + address[:250]))
    return keys


async def _locked_for(conn: Conn, keys: list[tuple[str, str]], now: dt.datetime) -> int:
    longest = 0.0
    for _, key in keys:
        row = await sessions_repo.attempts(conn, key)
        until = as_utc(row["locked_until"]) if row is not None else None
        if until is not None and until > now:
            longest = max(longest, (until - now).total_seconds())
    return math.ceil(longest)


async def _count_failure(conn: Conn, key: str, limit: int, throttle: Throttle, now: dt.datetime) -> None:
    row = await sessions_repo.attempts(conn, key)
    window = dt.timedelta(seconds=throttle.window_s)
    failures, first = 1, now
    if row is not None:
        counted_since = as_utc(row["first_failure"]) or now
        until = as_utc(row["locked_until"])
        # The count lapses once its window has passed and it has been quiet a window since any lock.
        lapsed = now - counted_since > window and (until is None or now - until > window)
        if not lapsed:
            failures, first = int(row["failures"]) + 1, counted_since
    locked_until = None
    if failures >= limit:
        lock = min(throttle.lock_s * 2 ** min(failures - limit, 20), MAX_LOCK_S)
        locked_until = now + dt.timedelta(seconds=lock)
    await sessions_repo.save_attempts(conn, key, failures, first, locked_until, new=row is None)


async def login(
    conn: Conn,
    username: str,
    password: str,
    address: str | None,
    throttle: Throttle,
    session_hours: float,
) -> LoginResult:
    """Check the credentials and open a session; records LoginSucceeded or LoginFailed. Never raises for
    wrong credentials, so the caller's transaction keeps the failure's count and event."""
    now = utcnow()
    keys = _keys(username, address)
    locked = await _locked_for(conn, keys, now)
    if locked:
        return LoginResult(retry_after_s=locked)
    user = await users_repo.find_by_username(conn, username)
    stored = user["password_hash"] if user is not None else None
    ok = await asyncio.to_thread(verify_password, stored, password)
    if user is None or not ok or not user["is_active"] or user["is_service"]:
        for kind, key in keys:
            limit = throttle.max_failures if kind == "user" else throttle.address_failures
            await _count_failure(conn, key, limit, throttle, now)
        await events.record(
            conn,
            "LoginFailed",
            f"Failed login attempt for user name {username}",
            user_id=int(user["id"]) if user is not None else None,
            username=username,
            ip_address=address,
            change_details=_login_details(user),
        )
        return LoginResult()
    await sessions_repo.clear_attempts(conn, keys[0][1])
    if stored is not None and needs_rehash(stored):
        rehashed = await asyncio.to_thread(hash_password, password)
        await users_repo.update_user(conn, int(user["id"]), {"password_hash": rehashed})
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    expires = now + dt.timedelta(hours=session_hours)
    await sessions_repo.delete_expired(conn)
    await sessions_repo.create(conn, token_hash(token), int(user["id"]), csrf, expires)
    await events.record(
        conn,
        "LoginSucceeded",
        f"User {user['username']} logged in",
        user_id=int(user["id"]),
        username=str(user["username"]),
        ip_address=address,
        change_details=_login_details(user),
    )
    return LoginResult(user=user, token=token, csrf_token=csrf, expires=expires)


def _login_details(user: RowMapping | None) -> dict[str, object]:
    """A sign-in's ``ChangeDetails``: the user it was for (None for an unknown name), no differences."""
    document = (
        {"Id": format_id(Collection.USERS, int(user["id"])), "Name": str(user["username"])} if user else None
    )
    return {**change_details(document, None), "IdentityEstablishedWith": "Username/password"}


async def logout(conn: Conn, token: str) -> None:
    await sessions_repo.delete_session(conn, token_hash(token))


async def session_user(conn: Conn, token: str) -> RowMapping | None:
    """The session's user row with ``csrf_token`` and ``session_expires``; None for an unknown token."""
    return await sessions_repo.user_by_token_hash(conn, token_hash(token))
