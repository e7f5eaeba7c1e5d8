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
from typing import Any

from fastapi import FastAPI
from starlette.routing import Match
from starlette.types import Scope

_NAMED_GROUP = re.compile(r"\(\?P<[^>]+>")

Matcher = Callable[[Scope], tuple[Match, Scope]]


def guard_included_routers(app: FastAPI) -> int:
    """Give each included router of ``app`` its guard; answers how many got one. Call it after the last
    ``include_router``: routes added later would not be in a guard's pattern."""
    guarded = 0
    for route in app.router.routes:
        contexts = getattr(route, "effective_route_contexts", None)
        if contexts is None:
            continue  # a route of the app itself, not an included router
        pattern = _union(contexts())
        if pattern is not None:
            route.matches = _guarded(route.matches, pattern)  # type: ignore[method-assign,assignment]
            guarded += 1
    return guarded


def _union(contexts: Iterable[Any]) -> re.Pattern[str] | None:
    """One pattern matching every path any of these routes matches; None when one route has no plain path
    pattern (a mount, a host), since then "not here" cannot be told from the path alone."""
    parts = []
    for context in contexts:
        route = context.starlette_route or context
        regex = getattr(route, "path_regex", None)
        if regex is None or type(route).__name__ not in ("_EffectiveRouteContext", "APIRoute", "Route"):
            return None
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
