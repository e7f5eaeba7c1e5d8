"""What a user may do: the union of the roles their teams hold (``domain.permissions`` decides).

Read from the store on every request (two or three indexed queries), so a change to a team, a role or a scoped
role takes effect on the caller's next request, on every node of a cluster, with nothing to invalidate.
"""

from __future__ import annotations

from sqlalchemy import select

from argonaut.domain.permissions import ADMINISTRATORS_TEAM, Grant, Grants, grants_of_role
from argonaut.store import teams_repo
from argonaut.store.connection import Conn
from argonaut.store.tables import users


async def is_administrator(conn: Conn, user_id: int) -> bool:
    """A member of the system team "Octopus Administrators" (``users.is_admin`` is kept equal to it)."""
    return (await effective_grants(conn, user_id)).is_admin


async def effective_grants(conn: Conn, user_id: int) -> Grants:
    items: set[Grant] = set()
    for row in await teams_repo.roles_of_user(conn, user_id):
        items.update(
            grants_of_role(
                row["space_permissions"] or [],
                row["system_permissions"] or [],
                row["space_id"],
                row["project_ids"] or [],
                row["environment_ids"] or [],
                row["project_group_ids"] or [],
                row["tenant_ids"] or [],
            )
        )
    teams = await teams_repo.teams_of_user(conn, user_id)
    is_admin = any(t["space_id"] is None and t["name"] == ADMINISTRATORS_TEAM for t in teams)
    if not is_admin:  # the column, for users made before the team existed (kept equal at every start)
        flag = (await conn.execute(select(users.c.is_admin).where(users.c.id == user_id))).first()
        is_admin = bool(flag is not None and flag[0])
    return Grants(is_admin, frozenset(items), frozenset(int(t["id"]) for t in teams))
