"""Users and their API keys (keys stored only as hashes, passwords only as argon2 hashes)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.engine import RowMapping

from argonaut.store.common import conflict_if_taken, paged
from argonaut.store.connection import Conn
from argonaut.store.tables import api_keys, sessions, users
from argonaut.store.timeutil import utcnow


async def create_user(
    conn: Conn,
    username: str,
    display_name: str,
    is_admin: bool,
    *,
    email_address: str | None = None,
    is_active: bool = True,
    is_service: bool = False,
    password_hash: str | None = None,
) -> int:
    with conflict_if_taken(f"A user with the user name '{username}' already exists."):
        result = await conn.execute(
            insert(users).values(
                username=username,
                display_name=display_name,
                is_admin=is_admin,
                email_address=email_address,
                is_active=is_active,
                is_service=is_service,
                password_hash=password_hash,
                created=utcnow(),
            )
        )
    return int(result.inserted_primary_key[0])  # type: ignore[index]


async def update_user(conn: Conn, user_id: int, values: Mapping[str, Any]) -> None:
    if not values:
        return
    name = values.get("username", "")
    with conflict_if_taken(f"A user with the user name '{name}' already exists."):
        await conn.execute(update(users).where(users.c.id == user_id).values(**values))


async def delete_user(conn: Conn, user_id: int) -> None:
    await conn.execute(delete(api_keys).where(api_keys.c.user_id == user_id))
    await conn.execute(delete(sessions).where(sessions.c.user_id == user_id))
    await conn.execute(delete(users).where(users.c.id == user_id))


async def find_by_username(conn: Conn, username: str) -> RowMapping | None:
    """The user of that name, compared case-insensitively (the described system's user names are)."""
    query = select(users).where(func.lower(users.c.username) == username.lower()).order_by(users.c.id)
    return (await conn.execute(query)).mappings().first()


async def list_users(
    conn: Conn, skip: int, take: int, ids: Sequence[int] | None, partial_name: str | None
) -> tuple[int, Sequence[RowMapping]]:
    query = select(users).order_by(users.c.id)
    if ids is not None:
        query = query.where(users.c.id.in_(ids))
    if partial_name:
        pattern = f"%{partial_name.lower()}%"
        query = query.where(
            func.lower(users.c.username).like(pattern) | func.lower(users.c.display_name).like(pattern)
        )
    return await paged(conn, query, skip, take)


async def count_active_admins(conn: Conn) -> int:
    query = (
        select(func.count()).select_from(users).where(users.c.is_admin.is_(True), users.c.is_active.is_(True))
    )
    return int((await conn.execute(query)).scalar_one())


async def add_api_key(
    conn: Conn, user_id: int, purpose: str, key_hash: str, expires: dt.datetime | None = None
) -> int:
    result = await conn.execute(
        insert(api_keys).values(
            user_id=user_id, purpose=purpose, key_hash=key_hash, created=utcnow(), expires=expires
        )
    )
    return int(result.inserted_primary_key[0])  # type: ignore[index]


async def api_keys_of(conn: Conn, user_id: int) -> Sequence[RowMapping]:
    query = select(api_keys).where(api_keys.c.user_id == user_id).order_by(api_keys.c.id)
    return (await conn.execute(query)).mappings().all()


async def get_api_key(conn: Conn, user_id: int, key_id: int) -> RowMapping | None:
    query = select(api_keys).where(api_keys.c.id == key_id, api_keys.c.user_id == user_id)
    return (await conn.execute(query)).mappings().first()


async def delete_api_key(conn: Conn, key_id: int) -> None:
    await conn.execute(delete(api_keys).where(api_keys.c.id == key_id))


async def user_by_key_hash(conn: Conn, key_hash: str) -> RowMapping | None:
    """The key's user with the key's expiry as ``key_expires``."""
    query = (
        select(users, api_keys.c.expires.label("key_expires"))
        .join(api_keys, api_keys.c.user_id == users.c.id)
        .where(api_keys.c.key_hash == key_hash)
    )
    return (await conn.execute(query)).mappings().first()


async def get(conn: Conn, user_id: int) -> RowMapping | None:
    return (await conn.execute(select(users).where(users.c.id == user_id))).mappings().first()


async def any_user(conn: Conn) -> bool:
    return (await conn.execute(select(users.c.id).limit(1))).first() is not None
