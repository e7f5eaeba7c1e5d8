"""What a node does the first time it opens an empty store: the default space, an admin and a key.

The admin key is printed once and only its hash is kept; ``ARGONAUT_ADMIN_API_KEY`` lets automation
choose the key instead of scraping it from the console. The admin has no password (it cannot log in with
one) unless ``ARGONAUT_ADMIN_PASSWORD`` is set at first start.
"""

from __future__ import annotations

import asyncio

from argonaut.security.api_keys import hash_api_key, is_api_key, new_api_key
from argonaut.security.passwords import hash_password
from argonaut.service.errors import Invalid
from argonaut.service.users import check_password
from argonaut.store import spaces_repo, users_repo
from argonaut.store.connection import Conn


class BadAdminKey(ValueError):
    pass


async def first_start(conn: Conn, chosen_key: str | None, admin_password: str | None = None) -> str | None:
    """Seed an empty store; answers the admin API key when one was created now, else None."""
    if await users_repo.any_user(conn):
        return None
    if chosen_key is not None and not is_api_key(chosen_key):
        raise BadAdminKey(
            "ARGONAUT_ADMIN_API_KEY must look like API- followed by 26 or more upper-case letters and digits"
        )
    password_hash = None
    if admin_password:
        try:
            check_password("admin", admin_password)
        except Invalid as bad:
            raise BadAdminKey(f"ARGONAUT_ADMIN_PASSWORD: {bad.message}") from bad
        password_hash = await asyncio.to_thread(hash_password, admin_password)
    if await spaces_repo.default_space(conn) is None:
        await spaces_repo.create_space(conn, "Default", None, True, "system")
    user_id = await users_repo.create_user(
        conn, "admin", "Administrator", is_admin=True, password_hash=password_hash
    )
    key = chosen_key or new_api_key()
    await users_repo.add_api_key(conn, user_id, "Created at first start", hash_api_key(key))
    return key
