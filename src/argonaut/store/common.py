"""Helpers shared by the repository modules: name keys, slugs, paged selects."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.engine import RowMapping
from sqlalchemy.exc import IntegrityError

from argonaut.store.connection import Conn
from argonaut.store.database import is_unique_violation


def name_key(name: str) -> str:
    """Names are unique case-insensitively, as the described system's registration looks them up."""
    return name.strip().casefold()


def slugify(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.strip().lower()).strip("-") or "item"


async def paged(conn: Conn, query: Select[Any], skip: int, take: int) -> tuple[int, Sequence[RowMapping]]:
    total = (
        await conn.execute(select(func.count()).select_from(query.order_by(None).subquery()))
    ).scalar_one()
    rows = (await conn.execute(query.offset(skip).limit(take))).mappings().all()
    return int(total), rows


class Conflict(Exception):
    """A uniqueness rule was broken (a name already taken); the API answers 409... or 400 with the message."""


@contextmanager
def conflict_if_taken(message: str) -> Iterator[None]:
    """Around the write of a unique name: the index's refusal becomes the ``Conflict`` the check before
    the write gives.

    Check and write are two statements. SQLite's transactions take turns, so the check is enough there;
    on PostgreSQL two requests both found the name free, and the one whose insert the unique index then
    refused answered 500 instead of 409.
    """
    try:
        yield
    except IntegrityError as exc:
        if not is_unique_violation(exc):
            raise
        raise Conflict(message) from exc


class Refused(Exception):
    """A change the rules forbid (deleting a default pool, a pool with workers)."""
