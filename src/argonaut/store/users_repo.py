"""Users and their API keys (stored only as hashes)."""

from __future__ import annotations

from sqlalchemy import insert, select
from sqlalchemy.engine import RowMapping

from argonaut.store.connection import Conn
from argonaut.store.tables import api_keys, users
from argonaut.store.timeutil import utcnow


async def create_user(conn: Conn, username: str, display_name: str, is_admin: bool) -> int:
    result = await conn.execute(
        insert(users).values(username=username, display_name=display_name, is_admin=is_admin)
    )
    return int(result.inserted_primary_key[0])  # type: ignore[index]


async def add_api_key(conn: Conn, user_id: int, purpose: str, key_hash: str) -> int:
    result = await conn.execute(
        insert(api_keys).values(user_id=user_id, purpose=purpose, key_hash=key_hash, created=utcnow())
    )
    return int(result.inserted_primary_key[0])  # type: ignore[index]


async def user_by_key_hash(conn: Conn, key_hash: str) -> RowMapping | None:
    query = (
        select(users).join(api_keys, api_keys.c.user_id == users.c.id).where(api_keys.c.key_hash == key_hash)
    )
    return (await conn.execute(query)).mappings().first()


async def get(conn: Conn, user_id: int) -> RowMapping | None:
    return (await conn.execute(select(users).where(users.c.id == user_id))).mappings().first()


async def any_user(conn: Conn) -> bool:
    return (await conn.execute(select(users.c.id).limit(1))).first() is not None
