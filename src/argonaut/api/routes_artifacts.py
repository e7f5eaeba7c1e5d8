"""``/api/{spaceId}/artifacts``: files scripts collected with ``new_octopusartifact``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query
from fastapi.responses import FileResponse, Response, StreamingResponse

from argonaut.api import resources
from argonaut.api.auth import Caller, Scope, authorize, require_task_visible, restricted, visible
from argonaut.api.collections import SkipQuery, envelope, take_query
from argonaut.api.errors import bad_request, not_found
from argonaut.domain.ids import Collection, format_id, parse_id
from argonaut.domain.paging import Page
from argonaut.domain.permissions import Permission
from argonaut.store import artifacts_repo


def build(scope: Scope) -> APIRouter:  # noqa: C901 - a route factory; each route inside is simple
    router = APIRouter(tags=["Artifacts"])
    view = authorize(Permission.ARTIFACT_VIEW, scope)

    async def load(caller: Caller, artifact_id: str) -> dict[str, Any]:
        assert caller.space_id is not None
        number = parse_id(Collection.ARTIFACTS, artifact_id)
        async with caller.services.store.transaction() as conn:
            row = await artifacts_repo.get(conn, caller.space_id, number) if number is not None else None
            if row is None:
                raise not_found(artifact_id)
            # An artifact of a task of a project/environment the caller may not see is 404.
            await require_task_visible(
                caller, conn, Permission.ARTIFACT_VIEW, artifact_id, int(row["task_id"]), caller.space_id
            )
        return dict(row)

    @router.get("/artifacts", summary="List artifacts, optionally of one task (regarding=ServerTasks-N)")
    async def list_artifacts(
        caller: Caller = Depends(view),
        skip: int = SkipQuery,
        take: int = take_query(30),
        regarding: str | None = Query(None, max_length=100),
    ) -> dict[str, Any]:
        assert caller.space_id is not None
        task_id = None
        if regarding:
            task_id = parse_id(Collection.SERVER_TASKS, regarding)
            if task_id is None:
                raise bad_request(f"regarding: '{regarding}' is not a task id like ServerTasks-1")
        async with caller.services.store.transaction() as conn:
            places = None
            if restricted(caller, Permission.ARTIFACT_VIEW):
                seen = await visible(caller, conn, Permission.ARTIFACT_VIEW)
                places = (seen.projects(None), seen.environments(None))
            total, rows = await artifacts_repo.list_for(conn, caller.space_id, task_id, skip, take, places)
        path = f"/api/{format_id(Collection.SPACES, caller.space_id)}/artifacts"
        return envelope(
            "Artifact",
            [resources.artifact(r) for r in rows],
            Page(skip, take, total),
            path,
            {"regarding": regarding},
        )

    @router.get("/artifacts/{id}", summary="Get an artifact")
    async def get_artifact(id: str, caller: Caller = Depends(view)) -> dict[str, Any]:  # noqa: A002
        return resources.artifact(await load(caller, id))

    @router.get("/artifacts/{id}/content", summary="Download an artifact's bytes")
    async def content(id: str, caller: Caller = Depends(view)) -> Response:  # noqa: A002
        row = await load(caller, id)
        path = caller.services.artifacts_dir / row["stored_name"]
        if path.is_file():  # collected by this node
            return FileResponse(path, filename=row["filename"], media_type="application/octet-stream")
        store = caller.services.store
        async with store.transaction() as conn:
            first = await artifacts_repo.chunk(conn, row["stored_name"], 0)
        if first is None and row["length"]:
            raise not_found(f"{id}/content")

        async def chunks() -> AsyncIterator[bytes]:  # collected by another node: from the store
            data, seq = first, 0
            while data is not None:
                yield data
                seq += 1
                async with store.transaction() as conn:
                    data = await artifacts_repo.chunk(conn, row["stored_name"], seq)

        disposition = f"attachment; filename*=UTF-8''{quote(str(row['filename']))}"
        return StreamingResponse(
            chunks(),
            media_type="application/octet-stream",
            headers={"Content-Disposition": disposition, "Content-Length": str(row["length"])},
        )

    return router
