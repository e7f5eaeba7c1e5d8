"""Builds the node: home folder, keys, store, task queue, built-in worker, and the ASGI app over them."""

from __future__ import annotations

import logging
import os
import socket
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from argonaut import __version__
from argonaut.api.app import add_api
from argonaut.api.services import Services
from argonaut.config import ServerSettings
from argonaut.domain.tasks import TaskType
from argonaut.orchestrator.adhoc import AdHocScripts
from argonaut.orchestrator.events import TaskEvents
from argonaut.orchestrator.queue import TaskQueue
from argonaut.security.certificates import load_or_create_certificate
from argonaut.security.master_key import SecretBox, load_or_create_master_key
from argonaut.server.builtin_worker import BuiltInWorker
from argonaut.server.first_start import first_start
from argonaut.store import Store

log = logging.getLogger("argonaut.server")


def prepare_home(settings: ServerSettings) -> None:
    for folder in (settings.home, settings.artifacts_dir, settings.work_dir):
        folder.mkdir(parents=True, exist_ok=True)
    os.chmod(settings.home, 0o700)
    if settings.built_in_worker_user:
        # The script user must reach its working folders under work/ but nothing else in the home folder.
        os.chmod(settings.home, 0o711)
        os.chmod(settings.work_dir, 0o711)


def create_app(settings: ServerSettings, announce: bool = True) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        prepare_home(settings)
        node = settings.node_name or socket.gethostname()
        box = SecretBox(load_or_create_master_key(settings.home / "master.key"))
        cert = load_or_create_certificate(settings.home, f"Argonaut server {node}")
        store = Store(settings.database_url)
        await store.open()
        chosen = settings.admin_api_key.get_secret_value() if settings.admin_api_key else None
        async with store.transaction() as conn:
            created_key = await first_start(conn, chosen)
        events = TaskEvents()
        worker = BuiltInWorker(settings.work_dir, settings.built_in_worker_user)
        adhoc = AdHocScripts(store, worker, settings.built_in_worker, settings.artifacts_dir, box.encrypt)
        queue = TaskQueue(store, events, {TaskType.AD_HOC_SCRIPT.value: adhoc}, node, settings.task_cap)
        app.state.services = Services(
            settings=settings,
            store=store,
            queue=queue,
            events=events,
            server_thumbprint=cert.thumbprint,
            server_certificate_pem=cert.cert_path.read_text(),
        )
        await queue.start()
        if announce:
            _announce(created_key, cert.thumbprint, settings)
        try:
            yield
        finally:
            log.info(
                "shutting down: waiting up to %ss for %d running task(s)",
                settings.shutdown_grace_s,
                queue.running_count,
            )
            await queue.stop(settings.shutdown_grace_s)
            await store.close()

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
    return app


def _announce(created_key: str | None, thumbprint: str, settings: ServerSettings) -> None:
    lines = [f"Argonaut {__version__} — home {settings.home}", f"Server certificate thumbprint: {thumbprint}"]
    if created_key:
        lines += [
            "",
            "First start: created space 'Default', 'Default Worker Pool', 'Default Machine Policy' "
            "and user 'admin'.",
            f"Admin API key (shown once, keep it safe): {created_key}",
        ]
    print("\n".join(lines), file=sys.stdout, flush=True)
