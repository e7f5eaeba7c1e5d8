"""A quick "not here" for each included router, so a request is matched against its own router only.

FastAPI (0.165) matches a request by asking every included router in turn, and each router tries each of
its routes in Python, juggling scope keys per route; then it matches again inside the router it chose.
With ~370 routes in ~60 routers, ``POST /api/Spaces-1/tasks`` took ~0.5 ms of matching on the benchmark
machine before any work began, and space-scoped routes are the last routers tried.

Each router gets one compiled pattern, the union of its routes' own path patterns, and answers "no
match" at once when the path does not fit it. That cannot change which route serves a request: a router
whose every route would have answered NONE answers NONE, and every other router is asked as before, in
the same order, through FastAPI's own matching.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute, Match, Route, compile_path
from starlette.types import Scope

_NAMED_GROUP = re.compile(r"\(\?P<[^>]+>")

Matcher = Callable[[Scope], tuple[Match, Scope]]


def guard_included_routers(app: FastAPI) -> int:
    """Give each included router of ``app`` its guard; answers how many got one. Call it after the last
    ``include_router``: routes added later would not be in a guard's pattern.

    The patterns are compiled from each router's own routes and its prefix, as FastAPI compiles them, so
    nothing of FastAPI's per-route state is built here: it stays lazy, built for a router when a request
    first reaches it (building it for every router at start added ~1.5 s to each node's start).
    """
    guarded = 0
    for route in app.router.routes:
        router = getattr(route, "original_router", None)
        prefix = getattr(getattr(route, "include_context", None), "prefix", None)
        if router is None or not isinstance(prefix, str):
            continue  # a route of the app itself, not an included router
        pattern = _union(prefix, router.routes)
        if pattern is not None:
            route.matches = _guarded(route.matches, pattern)  # type: ignore[method-assign,assignment]
            guarded += 1
    return guarded


def _union(prefix: str, routes: Iterable[BaseRoute]) -> re.Pattern[str] | None:
    """One pattern matching every path any of these routes matches under ``prefix``; None when one is not
    a plain route (a mount, a host, a router within), since then "not here" cannot be told so simply."""
    parts = []
    for route in routes:
        if not isinstance(route, APIRoute | Route):
            return None
        regex, _, _ = compile_path(prefix + route.path)
        parts.append(_NAMED_GROUP.sub("(?:", regex.pattern))
    if not parts:
        return None
    return re.compile("|".join(f"(?:{part})" for part in parts))


def _guarded(matches: Matcher, pattern: re.Pattern[str]) -> Matcher:
    def guarded(scope: Scope) -> tuple[Match, Scope]:
        # Behind a root path the path routes match is another one: no guessing, FastAPI decides.
        if scope["type"] == "http" and not scope.get("root_path") and pattern.match(scope["path"]) is None:
            return Match.NONE, {}
        return matches(scope)

    return guarded
