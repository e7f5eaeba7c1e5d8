"""``/api/{spaceId}/channels`` and ``/projects/{id}/channels``: a project's release channels, exactly one of
them the default (``service/channels.py``). Channels are part of their project, so they take the
project permissions, as in the described system."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from sqlalchemy.engine import RowMapping

from argonaut.api import resources_projects as shapes
from argonaut.api.auth import Caller, Scope, authorize, require_in_project, require_visible, visible_project
from argonaut.api.collections import PartialNameQuery, SkipQuery, add_named_list_routes, envelope, take_query
from argonaut.api.inputs_projects import ChannelInput, sent
from argonaut.domain.ids import Collection, format_id
from argonaut.domain.paging import Page
from argonaut.domain.permissions import Permission
from argonaut.service import channels
from argonaut.store import projects_repo
from argonaut.store.connection import Conn


def build(scope: Scope) -> APIRouter:
    router = APIRouter(tags=["Channels"])
    view = authorize(Permission.PROJECT_VIEW, scope)
    edit = authorize(Permission.PROJECT_EDIT, scope)

    add_named_list_routes(
        router,
        segment="channels",
        item_type="Channel",
        collection=Collection.CHANNELS,
        default_take=30,
        view=view,
        lister=projects_repo.list_channels,
        shape=shapes.channel,
        noun="channels",
        seen_as="of projects",
        seen_with=Permission.PROJECT_VIEW,
    )

    async def channel_of(caller: Caller, conn: Conn, id: str) -> RowMapping:  # noqa: A002
        """A channel by id, or 404 when ProjectView does not reach its project."""
        assert caller.space_id is not None
        row = await channels.find_channel(conn, caller.space_id, id)
        await require_visible(caller, conn, Permission.PROJECT_VIEW, id, int(row["project_id"]))
        return row

    @router.post("/channels", status_code=201, summary="Create a channel in a project")
    async def create_channel(body: ChannelInput, caller: Caller = Depends(edit)) -> dict[str, Any]:
        assert caller.space_id is not None
        async with caller.services.store.transaction() as conn:
            number = await channels.create_channel(conn, caller.space_id, sent(body), caller.username)
            row = await projects_repo.get_channel(conn, caller.space_id, number)
            assert row is not None
            # Checked on what was created (the project may be named by id or slug); a refusal rolls it back.
            project = int(row["project_id"])
            await require_visible(caller, conn, Permission.PROJECT_VIEW, body.ProjectId or "", project)
            await require_in_project(caller, conn, Permission.PROJECT_EDIT, project)
        return shapes.channel(row)

    @router.get("/channels/{id}", summary="Get a channel")
    async def get_channel(id: str, caller: Caller = Depends(view)) -> dict[str, Any]:  # noqa: A002
        assert caller.space_id is not None
        async with caller.services.store.transaction() as conn:
            return shapes.channel(await channel_of(caller, conn, id))

    @router.put(
        "/channels/{id}", summary="Modify a channel; IsDefault true makes it the project's default channel"
    )
    async def update_channel(id: str, body: ChannelInput, caller: Caller = Depends(edit)) -> dict[str, Any]:  # noqa: A002
        assert caller.space_id is not None
        async with caller.services.store.transaction() as conn:
            channel = await channel_of(caller, conn, id)
            await require_in_project(caller, conn, Permission.PROJECT_EDIT, int(channel["project_id"]))
            await channels.update_channel(conn, caller.space_id, channel, sent(body), caller.username)
            row = await projects_repo.get_channel(conn, caller.space_id, int(channel["id"]))
        assert row is not None
        return shapes.channel(row)

    @router.delete("/channels/{id}", summary="Delete a channel without releases (not the default)")
    async def delete_channel(id: str, caller: Caller = Depends(edit)) -> dict[str, Any]:  # noqa: A002
        assert caller.space_id is not None
        async with caller.services.store.transaction() as conn:
            channel = await channel_of(caller, conn, id)
            await require_in_project(caller, conn, Permission.PROJECT_EDIT, int(channel["project_id"]))
            await channels.delete_channel(conn, channel)
        return shapes.channel(channel)

    @router.get("/projects/{id}/channels", summary="The channels of a project (paged)")
    async def project_channels(
        id: str,  # noqa: A002
        caller: Caller = Depends(view),
        skip: int = SkipQuery,
        take: int = take_query(30),
        partialName: str | None = PartialNameQuery,  # noqa: N803 - the described system's parameter name
    ) -> dict[str, Any]:
        assert caller.space_id is not None
        async with caller.services.store.transaction() as conn:
            project = await visible_project(caller, conn, id)
            total, rows = await projects_repo.list_channels(
                conn, caller.space_id, skip, take, None, partialName, project_id=int(project["id"])
            )
        sid = format_id(Collection.SPACES, caller.space_id)
        path = f"/api/{sid}/projects/{format_id(Collection.PROJECTS, int(project['id']))}/channels"
        page = Page(skip, take, total)
        return envelope(
            "Channel", [shapes.channel(r) for r in rows], page, path, {"partialName": partialName}
        )

    return router
