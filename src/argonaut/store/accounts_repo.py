"""Accounts: credentials machines are reached with. Secret fields are stored encrypted, by the caller."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.engine import RowMapping

from argonaut.domain.ids import Collection, format_id
from argonaut.store.common import Refused, name_key, paged
from argonaut.store.connection import Conn
from argonaut.store.named import SpaceScoped
from argonaut.store.tables import accounts, workers
from argonaut.store.timeutil import utcnow

_accounts = SpaceScoped(accounts, "account")
get = _accounts.get
find_by_name = _accounts.find_by_name


async def create_account(conn: Conn, space_id: int, values: dict[str, Any], by: str) -> int:
    await _accounts.ensure_name_free(conn, space_id, values["name"])
    return await _accounts.insert(
        conn,
        dict(
            space_id=space_id,
            name=values["name"].strip(),
            name_key=name_key(values["name"]),
            description=values.get("description"),
            account_type=values["account_type"],
            username=values.get("username"),
            secrets=values.get("secrets", {}),
            last_modified_on=utcnow(),
            last_modified_by=by,
        ),
    )


async def list_accounts(
    conn: Conn,
    space_id: int,
    skip: int,
    take: int,
    ids: Sequence[int] | None = None,
    partial_name: str | None = None,
    name: str | None = None,
) -> tuple[int, Sequence[RowMapping]]:
    query = select(accounts).where(accounts.c.space_id == space_id).order_by(accounts.c.name_key)
    return await paged(conn, _accounts.filtered(query, ids, partial_name, name), skip, take)


async def update_account(conn: Conn, space_id: int, account_id: int, values: dict[str, Any], by: str) -> None:
    await _accounts.prepare_update(conn, space_id, account_id, values)
    values.update(last_modified_on=utcnow(), last_modified_by=by)
    await _accounts.update(conn, account_id, values)


async def delete_account(conn: Conn, space_id: int, account_id: int) -> None:
    """Refused while an SSH worker logs in with it: deleting would strand that worker."""
    account_text = format_id(Collection.ACCOUNTS, account_id)
    rows = (
        await conn.execute(
            select(workers.c.name, workers.c.endpoint).where(
                workers.c.space_id == space_id, workers.c.communication_style == "Ssh"
            )
        )
    ).all()
    using = [row.name for row in rows if (row.endpoint or {}).get("AccountId") == account_text]
    if using:
        raise Refused(f"The account is used by worker(s) {', '.join(sorted(using))}: change them first")
    await conn.execute(delete(accounts).where(accounts.c.space_id == space_id, accounts.c.id == account_id))


async def by_id(conn: Conn, account_id: int) -> RowMapping | None:
    """An account by its global id (workers name accounts by id alone)."""
    return (await conn.execute(select(accounts).where(accounts.c.id == account_id))).mappings().first()
