"""Serves the portal's page and its static files under ``/app``.

Every ``/app/...`` path answers the same small HTML page (the browser-side router draws the view), so a
link to any page can be bookmarked and reloaded. Static files are read once into memory. The page names
them under ``/app/static/<build>/``, where ``<build>`` is a hash of every file: their relative imports
stay under that prefix, so the browser may keep them for good (``immutable``) and a reload costs one
request for the page instead of a revalidation per module; a changed file changes the prefix. The same
files are also served without the prefix, revalidated by ETag. Nothing is built at install time, and
nothing is fetched from anywhere but this node (the Content-Security-Policy says so to the browser).
"""

from __future__ import annotations

import hashlib
import mimetypes
from dataclasses import dataclass
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

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
<link rel="stylesheet" href="/app/static/{build}/style.css">
{preloads}
<script type="module" src="/app/static/{build}/app.js"></script>
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
    # Every module is announced up front, so the browser fetches them side by side instead of one
    # level of imports after another (app.js -> pages -> ui.js -> vendor was four round trips).
    build = hashlib.sha256("".join(f.etag for f in files.values()).encode()).hexdigest()[:12]
    preloads = "\n".join(
        f'<link rel="modulepreload" href="/app/static/{build}/{name}">'
        for name in files
        if name.endswith(".js") and name != "app.js"
    )
    page = _PAGE.format(build=build, preloads=preloads).encode()
    forever = "public, max-age=31536000, immutable"
    page_headers = {**_SECURITY_HEADERS, "Cache-Control": "no-store"}

    @router.get("/")
    async def root() -> RedirectResponse:
        return RedirectResponse("/app", status_code=302)

    @router.get("/app/static/{name:path}")
    async def static(name: str, request: Request) -> Response:
        first, _, rest = name.partition("/")
        current = first == build and rest in files
        found = files.get(rest if current else name)
        if found is None:
            return Response("Not found", status_code=404, media_type="text/plain")
        cache = forever if current else "no-cache"
        headers = {**_SECURITY_HEADERS, "ETag": found.etag, "Cache-Control": cache}
        if request.headers.get("if-none-match") == found.etag:
            return Response(status_code=304, headers=headers)
        return Response(found.body, media_type=found.media_type, headers=headers)

    @router.get("/app")
    @router.get("/app/{rest:path}")
    async def app_page(rest: str = "") -> Response:
        return Response(page, media_type="text/html; charset=utf-8", headers=page_headers)

    return router
