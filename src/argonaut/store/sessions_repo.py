"""Signed-in browser sessions (the cookie's token stored only as its SHA-256) and failed-login counters."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import RowMapping

from argonaut.store.connection import Conn
from argonaut.store.tables import login_attempts, sessions, users
from argonaut.store.timeutil import utcnow


async def create(conn: Conn, token_hash: str, user_id: int, csrf_token: str, expires: dt.datetime) -> None:
    await conn.execute(
        insert(sessions).values(
            token_hash=token_hash, user_id=user_id, csrf_token=csrf_token, created=utcnow(), expires=expires
        )
    )


async def user_by_token_hash(conn: Conn, token_hash: str) -> RowMapping | None:
    """The session's user with the session's ``csrf_token`` and ``session_expires``."""
    query = (
        select(users, sessions.c.csrf_token, sessions.c.expires.label("session_expires"))
        .join(sessions, sessions.c.user_id == users.c.id)
        .where(sessions.c.token_hash == token_hash)
    )
    return (await conn.execute(query)).mappings().first()


async def delete_session(conn: Conn, token_hash: str) -> None:
    await conn.execute(delete(sessions).where(sessions.c.token_hash == token_hash))


async def delete_expired(conn: Conn) -> None:
    await conn.execute(delete(sessions).where(sessions.c.expires < utcnow()))


async def attempts(conn: Conn, key: str) -> RowMapping | None:
    query = select(login_attempts).where(login_attempts.c.key == key)
    return (await conn.execute(query)).mappings().first()


async def save_attempts(
    conn: Conn,
    key: str,
    failures: int,
    first_failure: dt.datetime,
    locked_until: dt.datetime | None,
    *,
    new: bool,
) -> None:
    values = {"failures": failures, "first_failure": first_failure, "locked_until": locked_until}
    if new:
        await conn.execute(insert(login_attempts).values(key=key, **values))
    else:
        await conn.execute(update(login_attempts).where(login_attempts.c.key == key).values(**values))


async def clear_attempts(conn: Conn, key: str) -> None:
    await conn.execute(delete(login_attempts).where(login_attempts.c.key == key))
