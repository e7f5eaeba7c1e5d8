"""Builds the node: home folder, keys, store, task queue, built-in worker, and the ASGI app over them."""

from __future__ import annotations

import gc
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from argonaut import __version__
from argonaut.api.app import add_api
from argonaut.api.route_index import guard_included_routers
from argonaut.config import ServerSettings
from argonaut.portal import routes as portal
from argonaut.security.master_key import SecretBox
from argonaut.server.first_start import Seeded
from argonaut.server.node import Node


def create_app(settings: ServerSettings, box: SecretBox, announce: bool = True) -> FastAPI:
    """The node's ASGI app; ``box`` is the master key the preflight proved (and the store it brought up
    to date), so the node neither loads the key nor migrates again."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        node = await Node.start(settings, box)
        app.state.services = node.services
        # Everything built so far (modules, routes, models, the store: ~140,000 objects, no garbage among
        # them) lives as long as the node. Frozen, the cyclic collector stops walking it: each full
        # collection took ~115 ms, and a node streaming big logs ran one every second or so, stalling
        # every request (bench/logs.py). Objects in it are still freed by reference counting.
        gc.freeze()
        if announce:
            _announce(node.seeded, node.certificate.thumbprint, settings)
        try:
            yield
        finally:
            await node.stop()

    app = FastAPI(
        title="Argonaut",
        version=__version__,
        description="Deployment orchestration server with workers; REST API shaped like Octopus Deploy's.",
        lifespan=lifespan,
        openapi_url="/api/openapi.json",
        docs_url="/api/docs",
        redoc_url=None,
    )
    add_api(app)
    app.include_router(portal.build())
    guard_included_routers(app)  # last: after every include_router
    return app


def _announce(seeded: Seeded | None, thumbprint: str, settings: ServerSettings) -> None:
    lines = [f"Argonaut {__version__} — home {settings.home}", f"Server certificate thumbprint: {thumbprint}"]
    if seeded:
        lines += [
            "",
            "First start: created space 'Default', 'Default Worker Pool', 'Default Machine Policy' "
            "and user 'admin'.",
            f"Admin API key (shown once, keep it safe): {seeded.api_key}",
        ]
        if seeded.password:
            lines.append(f"Admin password for the portal (shown once, change it there): {seeded.password}")
    print("\n".join(lines), file=sys.stdout, flush=True)
