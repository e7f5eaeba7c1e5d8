"""``/api/{spaceId}/actiontemplates``: step templates, imported from the community library or made here,
each edit a new version (``…/versions/{version}``); the rules are in ``service/action_templates.py``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from argonaut.api import resources_templates as shapes
from argonaut.api.auth import Caller, Scope, authorize
from argonaut.api.collections import add_named_list_routes
from argonaut.api.inputs import ApiInput
from argonaut.api.inputs_projects import sent
from argonaut.domain.ids import Collection, format_id
from argonaut.domain.permissions import Permission
from argonaut.service import action_templates
from argonaut.store import action_templates_repo
from argonaut.store.connection import Conn


class ActionTemplateInput(ApiInput):
    """Typed loosely, so the service names every problem of a pasted library export at once; the
    export's other fields (``$Meta``, ``Category``, ``Version``, ``LastModifiedBy``…) are ignored."""

    Id: Any = None
    Name: Any = None
    Description: Any = None
    ActionType: Any = None
    CommunityActionTemplateId: Any = None
    Properties: Any = None
    Parameters: Any = None
    Packages: Any = None


async def _resource(conn: Conn, space_id: int, number: int) -> dict[str, Any]:
    row = await action_templates_repo.get(conn, space_id, number)
    assert row is not None
    return shapes.action_template(row)


def build(scope: Scope) -> APIRouter:
    router = APIRouter(tags=["ActionTemplates"])
    view = authorize(Permission.ACTION_TEMPLATE_VIEW, scope)
    create = authorize(Permission.ACTION_TEMPLATE_CREATE, scope)
    edit = authorize(Permission.ACTION_TEMPLATE_EDIT, scope)
    remove = authorize(Permission.ACTION_TEMPLATE_DELETE, scope)

    add_named_list_routes(
        router,
        segment="actiontemplates",
        item_type="ActionTemplate",
        collection=Collection.ACTION_TEMPLATES,
        default_take=30,
        view=view,
        lister=action_templates_repo.list_templates,
        shape=shapes.action_template,
        noun="step templates",
    )

    @router.post(
        "/actiontemplates",
        status_code=201,
        summary="Create a step template, or import one exported from the community library as it is",
    )
    async def create_template(body: ActionTemplateInput, caller: Caller = Depends(create)) -> dict[str, Any]:
        assert caller.space_id is not None
        async with caller.services.store.transaction() as conn:
            number = await action_templates.create_template(
                conn, caller.space_id, sent(body), caller.services.secrets, caller.username
            )
            return await _resource(conn, caller.space_id, number)

    @router.get("/actiontemplates/{id}", summary="Get a step template (its current version)")
    async def get_template(id: str, caller: Caller = Depends(view)) -> dict[str, Any]:  # noqa: A002
        assert caller.space_id is not None
        async with caller.services.store.transaction() as conn:
            return shapes.action_template(await action_templates.find_template(conn, caller.space_id, id))

    @router.put(
        "/actiontemplates/{id}",
        summary="Save a step template as its next version; fields left out are kept",
    )
    async def update_template(
        id: str,  # noqa: A002
        body: ActionTemplateInput,
        caller: Caller = Depends(edit),
    ) -> dict[str, Any]:
        assert caller.space_id is not None
        async with caller.services.store.transaction() as conn:
            row = await action_templates.find_template(conn, caller.space_id, id)
            await action_templates.update_template(
                conn, caller.space_id, row, sent(body), caller.services.secrets, caller.username
            )
            return await _resource(conn, caller.space_id, int(row["id"]))

    @router.delete("/actiontemplates/{id}", summary="Delete a step template no live process uses")
    async def delete_template(id: str, caller: Caller = Depends(remove)) -> dict[str, Any]:  # noqa: A002
        assert caller.space_id is not None
        async with caller.services.store.transaction() as conn:
            row = await action_templates.find_template(conn, caller.space_id, id)
            resource = shapes.action_template(row)
            await action_templates.delete_template(conn, caller.space_id, row)
        return resource

    @router.get("/actiontemplates/{id}/versions/{version}", summary="A step template as it was at a version")
    async def get_version(id: str, version: str, caller: Caller = Depends(view)) -> dict[str, Any]:  # noqa: A002
        assert caller.space_id is not None
        async with caller.services.store.transaction() as conn:
            template = await action_templates.find_template(conn, caller.space_id, id)
            found = await action_templates.find_version(conn, template, version)
        return shapes.action_template_version(template, found)

    @router.get("/actiontemplates/{id}/usage", summary="The steps of live processes that use a step template")
    async def get_usage(id: str, caller: Caller = Depends(view)) -> list[dict[str, Any]]:  # noqa: A002
        assert caller.space_id is not None
        async with caller.services.store.transaction() as conn:
            row = await action_templates.find_template(conn, caller.space_id, id)
            users = await action_templates.template_usage(conn, caller.space_id, int(row["id"]))
        template_id = format_id(Collection.ACTION_TEMPLATES, int(row["id"]))
        return [shapes.usage(template_id, caller.space_id, entry) for entry in users]

    return router
