"""Runs one server node under uvicorn until SIGTERM or SIGINT, then drains and stops cleanly."""

from __future__ import annotations

import asyncio
import logging
import sys

import uvicorn

from argonaut.config import ServerSettings
from argonaut.server.app import create_app


def serve(settings: ServerSettings) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    app = create_app(settings)
    config = uvicorn.Config(
        app,
        host=settings.listen_host,
        port=settings.listen_port,
        loop="uvloop" if sys.platform != "win32" else "asyncio",
        http="httptools",
        access_log=False,
        log_level="warning",
        lifespan="on",
        timeout_graceful_shutdown=int(settings.shutdown_grace_s) + 5,
    )
    server = uvicorn.Server(config)
    asyncio.run(_serve(server, settings))
    if not server.started:
        sys.exit(1)


async def _serve(server: uvicorn.Server, settings: ServerSettings) -> None:
    task = asyncio.create_task(server.serve())
    while not server.started and not task.done():
        await asyncio.sleep(0.01)
    if server.started:
        sockets = [s for srv in server.servers for s in srv.sockets]
        host, port = sockets[0].getsockname()[:2]
        shown = f"[{host}]" if ":" in host else host
        print(f"Listening on http://{shown}:{port}", flush=True)
    await task
