"""Assembles the API routers into one FastAPI app: system routes first, then each family twice,
under ``/api/{spaceId}`` and as the unscoped alias acting on the default space."""

from __future__ import annotations

from fastapi import FastAPI

from argonaut.api import (
    errors,
    routes_accounts,
    routes_artifacts,
    routes_machine_policies,
    routes_spaces,
    routes_system,
    routes_tasks,
    routes_worker_pools,
    routes_workers,
)
from argonaut.api.lenient import LenientRequests

_FAMILIES = (
    routes_worker_pools,
    routes_workers,
    routes_machine_policies,
    routes_tasks,
    routes_artifacts,
    routes_accounts,
)


def add_api(app: FastAPI) -> None:
    errors.install(app)
    app.add_middleware(LenientRequests)
    app.include_router(routes_system.router)
    app.include_router(routes_spaces.router)
    for family in _FAMILIES:
        app.include_router(family.build("default"), prefix="/api")
    for family in _FAMILIES:
        app.include_router(family.build("path"), prefix="/api/{spaceId}")
