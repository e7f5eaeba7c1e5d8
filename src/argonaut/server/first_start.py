"""What a node does the first time it opens an empty store: the default space, an admin and a key.

The admin key and password are printed once and only their hashes are kept: a newcomer can sign in to
the portal and script the API from the first minute. ``ARGONAUT_ADMIN_API_KEY`` and
``ARGONAUT_ADMIN_PASSWORD`` let automation choose them instead of scraping them from the console (a
chosen password is not printed).
"""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass

from argonaut.security.api_keys import hash_api_key, is_api_key, new_api_key
from argonaut.security.passwords import hash_password
from argonaut.service.errors import Invalid
from argonaut.service.users import check_password
from argonaut.store import spaces_repo, users_repo
from argonaut.store.connection import Conn


class BadAdminKey(ValueError):
    pass


@dataclass(frozen=True)
class Seeded:
    """What a first start created that only the console is told: the key, and a generated password."""

    api_key: str
    password: str | None  # None when ARGONAUT_ADMIN_PASSWORD chose it


async def first_start(conn: Conn, chosen_key: str | None, admin_password: str | None = None) -> Seeded | None:
    """Seed an empty store; answers what to print when it was seeded now, else None."""
    if await users_repo.any_user(conn):
        return None
    if chosen_key is not None and not is_api_key(chosen_key):
        raise BadAdminKey(
            "ARGONAUT_ADMIN_API_KEY must look like API- followed by 26 or more upper-case letters and digits"
        )
    generated = None if admin_password else secrets.token_urlsafe(15)
    if admin_password:
        try:
            check_password("admin", admin_password)
        except Invalid as bad:
            raise BadAdminKey(f"ARGONAUT_ADMIN_PASSWORD: {bad.message}") from bad
    password_hash = await asyncio.to_thread(hash_password, admin_password or str(generated))
    if await spaces_repo.default_space(conn) is None:
        await spaces_repo.create_space(conn, "Default", None, True, "system")
    user_id = await users_repo.create_user(
        conn, "admin", "Administrator", is_admin=True, password_hash=password_hash
    )
    key = chosen_key or new_api_key()
    await users_repo.add_api_key(conn, user_id, "Created at first start", hash_api_key(key))
    return Seeded(key, generated)
