"""The routers' quick "not here" guard never changes which route serves a request."""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette.routing import Match

from argonaut.api.app import add_api
from argonaut.api.route_index import guard_included_routers
from argonaut.portal import routes as portal


def build(guarded: bool) -> FastAPI:
    app = FastAPI(openapi_url="/api/openapi.json", docs_url="/api/docs", redoc_url=None)
    add_api(app)
    app.include_router(portal.build())
    if guarded:
        assert guard_included_routers(app) > 40
    return app


def served_by(app: FastAPI, method: str, path: str) -> tuple[str, Any]:
    """What Starlette's router would pick: the first full match, else the first partial (405), else 404."""
    scope: dict[str, Any] = {"type": "http", "method": method, "path": path, "root_path": ""}
    partial = None
    for route in app.router.routes:
        match, child = route.matches(scope)
        if match == Match.FULL:
            return "full", (route, child)
        if match == Match.PARTIAL and partial is None:
            partial = (route, child)
    return ("partial", partial) if partial else ("none", None)


def sample_paths(app: FastAPI) -> list[tuple[str, str]]:
    """A concrete request for every route and method, and near misses (other case, extra segment)."""
    paths: list[tuple[str, str]] = []
    routes: list[Any] = []
    for top in app.router.routes:
        contexts = getattr(top, "effective_route_contexts", None)
        routes += list(contexts()) if contexts else [top]
    for route in routes:
        if not isinstance(getattr(route, "original_route", route), APIRoute):
            continue
        concrete = re.sub(r"\{[^}:]+(:path)?\}", lambda m: "a/b" if m.group(1) else "Things-1", route.path)
        for method in sorted(route.methods):
            paths += [(method, concrete), (method, concrete + "/extra"), (method, concrete.upper())]
        paths.append(("PATCH", concrete))  # no route takes PATCH: a 405 or a 404, as before
    return paths + [("GET", "/"), ("GET", "/nowhere"), ("GET", "/api/Spaces-1/nowhere")]


def test_every_request_is_served_by_the_same_route_with_and_without_the_guard() -> None:
    plain, guarded = build(False), build(True)
    requests = sample_paths(plain)
    assert len(requests) > 1000
    for method, path in requests:
        before, after = served_by(plain, method, path), served_by(guarded, method, path)
        assert before[0] == after[0], (method, path)
        if before[1] is not None:
            assert plain.router.routes.index(before[1][0]) == guarded.router.routes.index(after[1][0])
            assert before[1][1] == after[1][1], (method, path)
