"""Artifacts collected from scripts; their bytes live in files under the home folder."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import insert, select
from sqlalchemy.engine import RowMapping

from argonaut.store.common import paged
from argonaut.store.connection import Conn
from argonaut.store.tables import artifacts
from argonaut.store.timeutil import utcnow


async def add(conn: Conn, space_id: int, task_id: int, filename: str, length: int, stored_name: str) -> int:
    result = await conn.execute(
        insert(artifacts).values(
            space_id=space_id,
            task_id=task_id,
            filename=filename,
            length=length,
            stored_name=stored_name,
            created=utcnow(),
        )
    )
    return int(result.inserted_primary_key[0])  # type: ignore[index]


async def get(conn: Conn, space_id: int, artifact_id: int) -> RowMapping | None:
    query = select(artifacts).where(artifacts.c.space_id == space_id, artifacts.c.id == artifact_id)
    return (await conn.execute(query)).mappings().first()


async def list_for(
    conn: Conn, space_id: int, task_id: int | None, skip: int, take: int
) -> tuple[int, Sequence[RowMapping]]:
    query = select(artifacts).where(artifacts.c.space_id == space_id).order_by(artifacts.c.id)
    if task_id is not None:
        query = query.where(artifacts.c.task_id == task_id)
    return await paged(conn, query, skip, take)
