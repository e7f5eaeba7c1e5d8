"""``/api/{spaceId}/variables/{id}`` and ``/projects/{id}/variables``: a project's variable set, read and
written whole with ``Version`` as optimistic concurrency. Sensitive values go in and never come out
(``service/variables.py``)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from sqlalchemy.engine import RowMapping

from argonaut.api import resources_projects as shapes
from argonaut.api.auth import Caller, Scope, authorize, require_in_project, require_visible, visible_project
from argonaut.api.inputs_projects import VariableSetInput, sent
from argonaut.domain.permissions import Permission
from argonaut.service import variables
from argonaut.store.connection import Conn


async def _project_set(caller: Caller, conn: Conn, project_id: str) -> RowMapping:
    assert caller.space_id is not None
    project = await visible_project(caller, conn, project_id, Permission.VARIABLE_VIEW)
    number = variables.variable_set_id_of(int(project["id"]))
    return await variables.find_variable_set(conn, caller.space_id, number)


async def _set(caller: Caller, conn: Conn, id: str) -> RowMapping:  # noqa: A002
    """A variable set by id, or 404 when VariableView does not reach its project."""
    assert caller.space_id is not None
    row = await variables.find_variable_set(conn, caller.space_id, id)
    await require_visible(caller, conn, Permission.VARIABLE_VIEW, id, int(row["project_id"]))
    return row


async def _resource(conn: Conn, space_id: int, row: RowMapping) -> dict[str, Any]:
    return shapes.variable_set(row, await variables.scope_values(conn, space_id, row))


def build(scope: Scope) -> APIRouter:
    router = APIRouter(tags=["Variables"])
    view = authorize(Permission.VARIABLE_VIEW, scope)
    edit = authorize(Permission.VARIABLE_EDIT, scope)

    async def save(caller: Caller, row: RowMapping, body: VariableSetInput, conn: Conn) -> dict[str, Any]:
        assert caller.space_id is not None
        await require_in_project(caller, conn, Permission.VARIABLE_EDIT, int(row["project_id"]))
        saved = await variables.update_variables(
            conn, caller.space_id, row, sent(body), caller.services.secrets, caller.username
        )
        return await _resource(conn, caller.space_id, saved)

    @router.get("/variables/{id}", summary="Get a variable set (sensitive values show as null)")
    async def get_variables(id: str, caller: Caller = Depends(view)) -> dict[str, Any]:  # noqa: A002
        assert caller.space_id is not None
        async with caller.services.store.transaction() as conn:
            return await _resource(conn, caller.space_id, await _set(caller, conn, id))

    @router.put(
        "/variables/{id}",
        summary="Replace a variable set's variables; Version must be the one read (stale: 400); "
        "a sensitive Value null keeps the stored value",
    )
    async def update_variables(
        id: str, body: VariableSetInput, caller: Caller = Depends(edit)
    ) -> dict[str, Any]:  # noqa: A002
        assert caller.space_id is not None
        async with caller.services.store.transaction() as conn:
            return await save(caller, await _set(caller, conn, id), body, conn)

    @router.get("/projects/{id}/variables", summary="Get a project's variable set")
    async def get_project_variables(id: str, caller: Caller = Depends(view)) -> dict[str, Any]:  # noqa: A002
        assert caller.space_id is not None
        async with caller.services.store.transaction() as conn:
            return await _resource(conn, caller.space_id, await _project_set(caller, conn, id))

    @router.put("/projects/{id}/variables", summary="Replace a project's variables (as PUT /variables/{id})")
    async def update_project_variables(
        id: str,  # noqa: A002
        body: VariableSetInput,
        caller: Caller = Depends(edit),
    ) -> dict[str, Any]:
        assert caller.space_id is not None
        async with caller.services.store.transaction() as conn:
            return await save(caller, await _project_set(caller, conn, id), body, conn)

    return router
