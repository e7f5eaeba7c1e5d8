"""Serves the portal's page and its static files under ``/app``.

Every ``/app/...`` path answers the same small HTML page (the browser-side router draws the view), so a
link to any page can be bookmarked and reloaded. Static files are read once into memory and revalidated
by ETag: a reload costs a 304 per file on the same connection, nothing is built at install time, and
nothing is fetched from anywhere but this node (the Content-Security-Policy says so to the browser).
"""

from __future__ import annotations

import hashlib
import mimetypes
from dataclasses import dataclass
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from argonaut import __version__

STATIC = Path(__file__).with_name("static")

_SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}

_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Argonaut</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/app/static/style.css?v={version}">
<link rel="modulepreload" href="/app/static/vendor/htm-preact-3.1.1.js">
<script type="module" src="/app/static/app.js?v={version}"></script>
</head>
<body><div id="root"><p class="loading">Loading…</p></div>
<noscript>The Argonaut portal needs JavaScript. The REST API is at /api; the client is the
argonaut command.</noscript>
</body>
</html>
"""


@dataclass(frozen=True)
class _File:
    body: bytes
    media_type: str
    etag: str


def _load() -> dict[str, _File]:
    files: dict[str, _File] = {}
    for path in sorted(STATIC.rglob("*")):
        if not path.is_file() or path.suffix not in {".js", ".css", ".svg", ".png"}:
            continue
        body = path.read_bytes()
        media = "text/javascript" if path.suffix == ".js" else mimetypes.guess_type(path.name)[0]
        etag = '"' + hashlib.sha256(body).hexdigest()[:20] + '"'
        files[path.relative_to(STATIC).as_posix()] = _File(body, f"{media}; charset=utf-8", etag)
    return files


def build() -> APIRouter:
    router = APIRouter(include_in_schema=False)
    files = _load()
    page = _PAGE.format(version=hashlib.sha256(__version__.encode()).hexdigest()[:8]).encode()
    page_headers = {**_SECURITY_HEADERS, "Cache-Control": "no-store"}

    @router.get("/")
    async def root() -> RedirectResponse:
        return RedirectResponse("/app", status_code=302)

    @router.get("/app/static/{name:path}")
    async def static(name: str, request: Request) -> Response:
        found = files.get(name)
        if found is None:
            return Response("Not found", status_code=404, media_type="text/plain")
        headers = {**_SECURITY_HEADERS, "ETag": found.etag, "Cache-Control": "no-cache"}
        if request.headers.get("if-none-match") == found.etag:
            return Response(status_code=304, headers=headers)
        return Response(found.body, media_type=found.media_type, headers=headers)

    @router.get("/app")
    @router.get("/app/{rest:path}")
    async def app_page(rest: str = "") -> Response:
        return Response(page, media_type="text/html; charset=utf-8", headers=page_headers)

    return router
