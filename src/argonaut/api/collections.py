"""Collection envelopes and the query parameters every list route shares.

Ids in ``ids`` may be repeated (``ids=a&ids=b``) or comma-separated (``ids=a,b``): both are seen in the
described system's clients.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query

from argonaut.api.auth import Caller, visible
from argonaut.api.errors import bad_request
from argonaut.domain.ids import Collection, format_id, parse_id
from argonaut.domain.paging import MAX_TAKE, Page
from argonaut.domain.permissions import Permission
from argonaut.store.connection import Conn


def envelope(
    item_type: str,
    items: list[dict[str, Any]],
    page: Page,
    path: str,
    extra_query: dict[str, Any] | None = None,
) -> dict[str, Any]:
    query = {k: v for k, v in (extra_query or {}).items() if v is not None}

    def link(skip: int) -> str:
        return f"{path}?{urlencode({**query, 'skip': skip, 'take': page.take}, doseq=True)}"

    links = {
        "Self": link(page.skip),
        "Template": path + "{?skip,take,ids,partialName}",
        "Page.All": f"{path}/all",
        "Page.Current": link(page.skip),
        "Page.Last": link(page.last_skip),
    }
    if page.has_next:
        links["Page.Next"] = link(page.next_skip)
    return {
        "ItemType": item_type,
        "TotalResults": page.total,
        "ItemsPerPage": page.take,
        "NumberOfPages": page.number_of_pages,
        "LastPageNumber": page.last_page_number,
        "Items": items,
        "Links": links,
    }


def split_list(values: Sequence[str] | None) -> list[str] | None:
    if not values:
        return None
    result = [part.strip() for value in values for part in value.split(",") if part.strip()]
    return result or None


def parse_ids(collection: Collection, values: Sequence[str] | None, field: str = "ids") -> list[int] | None:
    """Parse ``ids``; an id of the wrong shape is a 400, an unknown one simply matches nothing."""
    texts = split_list(values)
    if texts is None:
        return None
    numbers = []
    for text in texts:
        number = parse_id(collection, text)
        if number is None:
            raise bad_request(f"'{text}' in {field} is not a {collection.value} id like {collection.value}-1")
        numbers.append(number)
    return numbers


def body_id(collection: Collection, text: str, field: str) -> int:
    """An id a request body names: one of the wrong shape is a 400 naming the field."""
    number = parse_id(collection, text)
    if number is None:
        raise bad_request(f"{field}: '{text}' is not a {collection.value} id like {collection.value}-1")
    return number


def body_ids(collection: Collection, texts: list[str], field: str) -> list[int]:
    return [body_id(collection, t, field) for t in texts]


def space_path(space_id: int | None) -> str:
    """``/api/Spaces-N``, the prefix of every path inside a space."""
    return f"/api/{format_id(Collection.SPACES, space_id or 0)}"


SkipQuery = Query(0, ge=0, le=2147483647, description="Number of items to skip")
IdsQuery = Query(None, description="Ids, repeated or comma-separated")
PartialNameQuery = Query(None, max_length=200, description="Case-insensitive substring of the name")
NameQuery = Query(None, max_length=200, description="Exact name, case-insensitive")


def take_query(default: int) -> Any:
    return Query(default, ge=0, le=2147483647, description=f"Items per page (default {default})")


Lister = Callable[..., Awaitable[tuple[int, Sequence[Any]]]]


async def id_filtered_page(
    caller: Any,
    *,
    segment: str,
    item_type: str,
    collection: Collection,
    skip: int,
    take: int,
    ids: list[str] | None,
    lister: Lister,
    shape: Callable[[Any], dict[str, Any]],
) -> dict[str, Any]:
    """The body of ``GET /{segment}`` for a space's resources filtered by ``ids`` alone:
    ``lister(conn, space_id, skip, take, ids)`` answers ``(total, rows)``."""
    numbers = parse_ids(collection, ids)
    async with caller.services.store.transaction() as conn:
        total, rows = await lister(conn, caller.space_id, skip, take, numbers)
    path = f"{space_path(caller.space_id)}/{segment}"
    return envelope(item_type, [shape(r) for r in rows], Page(skip, take, total), path)


def add_named_list_routes(
    router: APIRouter,
    *,
    segment: str,
    item_type: str,
    collection: Collection,
    default_take: int,
    view: Callable[..., Awaitable[Any]],
    lister: Lister,
    shape: Callable[[Any], dict[str, Any]],
    noun: str,
    seen_as: Literal["projects", "environments", "of projects"] | None = None,
    seen_with: Permission | None = None,
) -> None:
    """``GET /{segment}`` (paged, ids/partialName/name) and ``GET /{segment}/all`` (plain array) for a
    named resource of a space: the same two routes, with the same filters, for every such family.

    ``lister(conn, space_id, skip, take, ids, partial_name, name)`` answers ``(total, rows)``. Grants
    restricted to some projects or environments narrow the list to those ``seen_with`` (the view
    permission) reaches: ``seen_as`` says whether the rows are projects or environments (``ids`` is
    narrowed) or belong to projects (the lister takes ``project_ids=``).
    """

    async def listed(
        caller: Caller, conn: Conn, skip: int, take: int, numbers: list[int] | None, *names: str | None
    ) -> tuple[int, Sequence[Any]]:
        if seen_as is None or seen_with is None:
            return await lister(conn, caller.space_id, skip, take, numbers, *names)
        seen = await visible(caller, conn, seen_with)
        if seen_as == "of projects":
            owners = seen.projects(None)
            if owners is None:
                return await lister(conn, caller.space_id, skip, take, numbers, *names)
            return await lister(conn, caller.space_id, skip, take, numbers, *names, project_ids=owners)
        narrowed = seen.projects(numbers) if seen_as == "projects" else seen.environments(numbers)
        return await lister(conn, caller.space_id, skip, take, narrowed, *names)

    @router.get(f"/{segment}", summary=f"List {noun} (paged, {default_take} per page by default)")
    async def list_items(
        caller: Any = Depends(view),
        skip: int = SkipQuery,
        take: int = take_query(default_take),
        ids: list[str] | None = IdsQuery,
        partialName: str | None = PartialNameQuery,  # noqa: N803 - the described system's parameter name
        name: str | None = NameQuery,
    ) -> dict[str, Any]:
        numbers = parse_ids(collection, ids)
        async with caller.services.store.transaction() as conn:
            total, rows = await listed(caller, conn, skip, take, numbers, partialName, name)
        path = f"/api/{format_id(Collection.SPACES, caller.space_id)}/{segment}"
        query = {"partialName": partialName, "name": name}
        return envelope(item_type, [shape(r) for r in rows], Page(skip, take, total), path, query)

    @router.get(f"/{segment}/all", summary=f"All {noun} as a plain array")
    async def all_items(
        caller: Any = Depends(view), ids: list[str] | None = IdsQuery
    ) -> list[dict[str, Any]]:
        numbers = parse_ids(collection, ids)
        async with caller.services.store.transaction() as conn:
            _, rows = await listed(caller, conn, 0, MAX_TAKE, numbers, None, None)
        return [shape(r) for r in rows]
