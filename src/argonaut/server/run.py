"""Runs one server node under uvicorn until SIGTERM or SIGINT, then drains and stops cleanly."""

from __future__ import annotations

import asyncio
import logging
import sys
from types import FrameType

import uvicorn

from argonaut.config import ServerSettings
from argonaut.config.logs import configure as configure_logs
from argonaut.runner.children import watch_children_with_pidfd
from argonaut.runner.environment import scrub_server_variables
from argonaut.server.app import create_app
from argonaut.server.preflight import StartupRefused, preflight


class _Server(uvicorn.Server):
    """uvicorn re-raises SIGTERM after its graceful shutdown, so the process would end "killed by
    SIGTERM"; a node that drained cleanly exits 0 instead, which is what service managers expect."""

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        super().handle_exit(sig, frame)
        self._captured_signals.clear()


def serve(settings: ServerSettings) -> None:
    scrub_server_variables()  # read into settings by now; scripts inherit the rest unchanged
    configure_logs(settings.log_format)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    logging.getLogger("asyncssh").setLevel(logging.WARNING)  # one INFO line per channel otherwise
    try:
        box = asyncio.run(preflight(settings))
    except StartupRefused as exc:
        if settings.log_format == "json":  # every stderr line an object, for the shipper reading them
            logging.getLogger("argonaut.server").error("argonaut server: %s", exc)
        else:
            print(f"argonaut server: {exc}", file=sys.stderr, flush=True)
        sys.exit(2)
    app = create_app(settings, box)
    config = uvicorn.Config(
        app,
        host=settings.listen_host,
        port=settings.listen_port,
        # Not uvloop: its subprocess spawning is slower than asyncio's (4.0 vs 2.5 ms for
        # `echo hello`, 309 vs 608 spawns/s, measured here), and spawning scripts is our hot path.
        loop="asyncio",
        http="httptools",
        access_log=False,
        # uvicorn's own lines (its error log, and its access log if ever turned on) go to the root
        # logger configured above, so they share the chosen format instead of uvicorn's.
        log_config=None,
        log_level="warning",
        lifespan="on",
        timeout_graceful_shutdown=int(settings.shutdown_grace_s) + 5,
    )
    server = _Server(config)
    asyncio.run(_serve(server))
    if not server.started:
        sys.exit(1)


async def _serve(server: uvicorn.Server) -> None:
    watch_children_with_pidfd()
    task = asyncio.create_task(server.serve())
    while not server.started and not task.done():
        await asyncio.sleep(0.01)
    if server.started:
        sockets = [s for srv in server.servers for s in srv.sockets]
        host, port = sockets[0].getsockname()[:2]
        shown = f"[{host}]" if ":" in host else host
        print(f"Listening on http://{shown}:{port}", flush=True)
        print(f"Web portal: http://{shown}:{port}/app", flush=True)
        # No --server-comms-port: register-worker learns the bound port from the root document.
        print(
            "Add a worker: argonaut agent create-instance --home ./agent1 && "
            f"argonaut agent register-worker --home ./agent1 --server http://{shown}:{port} "
            "--api-key API-… --name worker1 --worker-pool 'Default Worker Pool' "
            "&& argonaut agent run --home ./agent1",
            flush=True,
        )
    await task
