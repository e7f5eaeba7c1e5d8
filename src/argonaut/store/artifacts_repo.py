"""Artifacts collected from scripts. Their bytes live in a file under the collecting node's home folder
and, when nodes share the database, in ``artifact_chunks`` too, so any node can serve them."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import bindparam, insert, select
from sqlalchemy.engine import RowMapping

from argonaut.store.common import paged
from argonaut.store.connection import Conn
from argonaut.store.tables import artifact_chunks, artifacts
from argonaut.store.tasks_repo import in_places
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
    conn: Conn,
    space_id: int,
    task_id: int | None,
    skip: int,
    take: int,
    places: tuple[Sequence[int] | None, Sequence[int] | None] | None = None,
) -> tuple[int, Sequence[RowMapping]]:
    """``places``: only artifacts of tasks of deployments and runbook runs in these (projects,
    environments), for a caller whose view is restricted."""
    query = select(artifacts).where(artifacts.c.space_id == space_id).order_by(artifacts.c.id)
    if places is not None:
        query = query.where(in_places(artifacts.c.task_id, *places))
    if task_id is not None:
        query = query.where(artifacts.c.task_id == task_id)
    return await paged(conn, query, skip, take)


CHUNK_BYTES = 1024 * 1024
_CHUNK = select(artifact_chunks.c.data).where(
    artifact_chunks.c.stored_name == bindparam("stored_name"), artifact_chunks.c.seq == bindparam("seq")
)


async def add_chunk(conn: Conn, stored_name: str, seq: int, data: bytes) -> None:
    await conn.execute(insert(artifact_chunks).values(stored_name=stored_name, seq=seq, data=data))


async def chunk(conn: Conn, stored_name: str, seq: int) -> bytes | None:
    """The ``seq``-th megabyte of an artifact, or None past its end (or when it was never shared)."""
    found = (await conn.execute(_CHUNK, {"stored_name": stored_name, "seq": seq})).scalar()
    return bytes(found) if found is not None else None
