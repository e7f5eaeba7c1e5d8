"""Leniency at the HTTP edge that the described system's clients rely on.

- Paths match as the described system matches them: collection names case-insensitively, and
  ``/api/spaces/{spaceId}/…`` as an alias of ``/api/{spaceId}/…`` (see ``paths.py``).
- Query parameter names match case-insensitively (``partialname`` = ``partialName``): known names are
  rewritten to their canonical spelling before routing; values are untouched.
- Request bodies are JSON whatever the Content-Type says: ``curl -d`` sends form encoding by default,
  and the API has no form routes, so reading such a body as JSON is what the caller meant.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

from starlette.types import ASGIApp, Receive, Scope, Send

from argonaut.api.paths import CanonicalPaths

_NAMES = [
    "skip",
    "take",
    "ids",
    "partialName",
    "name",
    "workerPoolIds",
    "healthStatuses",
    "isDisabled",
    "thumbprint",
    "commStyles",
    "states",
    "regarding",
    "verbose",
    "tail",
    "since",
    "apikey",
]
_CANONICAL = {n.lower(): n for n in _NAMES}


class LenientRequests:
    def __init__(self, app: ASGIApp, paths: CanonicalPaths) -> None:
        self.app = app
        self.paths = paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path = self.paths(scope["path"])
            if path is not scope["path"]:
                # raw_path stays the request as sent; routing reads only "path".
                scope = {**scope, "path": path}
        if scope["type"] == "http" and scope.get("method") in ("POST", "PUT"):
            headers = [(k, v) for k, v in scope["headers"] if k != b"content-type"]
            scope = {**scope, "headers": [*headers, (b"content-type", b"application/json")]}
        if scope["type"] == "http" and scope.get("query_string"):
            raw = scope["query_string"].decode("latin-1")
            pairs = parse_qsl(raw, keep_blank_values=True)
            if any(_CANONICAL.get(k.lower(), k) != k for k, _ in pairs):
                fixed = [(_CANONICAL.get(k.lower(), k), v) for k, v in pairs]
                scope = {**scope, "query_string": urlencode(fixed).encode("latin-1")}
        await self.app(scope, receive, send)
