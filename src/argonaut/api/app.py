"""Assembles the API routers into one FastAPI app: system routes first, then each family twice,
under ``/api/{spaceId}`` and as the unscoped alias acting on the default space. The fixed segments of
these routes are what request paths are matched against case-insensitively (``paths.py``)."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.routing import APIRoute

from argonaut.api import (
    errors,
    routes_accounts,
    routes_action_templates,
    routes_artifacts,
    routes_channels,
    routes_dashboard,
    routes_environments,
    routes_events,
    routes_interruptions,
    routes_lifecycles,
    routes_machine_policies,
    routes_machines,
    routes_metrics,
    routes_nodes,
    routes_processes,
    routes_project_groups,
    routes_projects,
    routes_releases,
    routes_runbook_runs,
    routes_runbook_snapshots,
    routes_runbooks,
    routes_smtp,
    routes_spaces,
    routes_system,
    routes_tasks,
    routes_teams,
    routes_triggers,
    routes_user_roles,
    routes_users,
    routes_variables,
    routes_worker_pools,
    routes_workers,
)
from argonaut.api.access_cache import AccessChanges
from argonaut.api.audit import AuditTrail
from argonaut.api.gate import RequestGate
from argonaut.api.hot_routes import HotRoutes
from argonaut.api.lenient import LenientRequests
from argonaut.api.paths import CanonicalPaths

# Routes are matched in order, one family after another, so the families on every task's path come
# first: queuing and following tasks, runs and deployments (matching a late route cost ~1 ms).
_FAMILIES = (
    routes_tasks,
    routes_runbook_runs,
    routes_releases,
    routes_interruptions,
    routes_artifacts,
    routes_worker_pools,
    routes_workers,
    routes_machine_policies,
    routes_accounts,
    routes_environments,
    routes_machines,
    routes_lifecycles,
    routes_project_groups,
    routes_projects,
    routes_channels,
    routes_processes,
    routes_variables,
    routes_runbooks,
    routes_runbook_snapshots,
    routes_action_templates,
    routes_triggers,
    routes_dashboard,
)


def add_api(app: FastAPI) -> None:
    errors.install(app)
    routers = [
        ("", routes_system.router),
        ("", routes_metrics.router),
        ("", routes_spaces.router),
        ("", routes_nodes.router),
        ("", routes_smtp.router),
        ("", routes_users.router),
        ("", routes_teams.router),
        ("", routes_user_roles.router),
        ("/api", routes_events.system_router),
        ("/api/{spaceId}", routes_events.space_router),
        *(("/api", family.build("default")) for family in _FAMILIES),
        *(("/api/{spaceId}", family.build("path")) for family in _FAMILIES),
    ]
    for prefix, router in routers:
        app.include_router(router, prefix=prefix)
    route_paths = [
        prefix + route.path
        for prefix, router in routers
        for route in router.routes
        if isinstance(route, APIRoute)
    ]
    served = [url for url in (app.openapi_url, app.docs_url) if url]
    # Innermost of ours: it sees the canonical path, and only requests the gate admitted.
    app.add_middleware(HotRoutes)  # queue and follow tasks without FastAPI's per-request work
    app.add_middleware(AccessChanges)  # inside the path rewrite, so it sees canonical paths
    app.add_middleware(AuditTrail)
    app.add_middleware(LenientRequests, paths=CanonicalPaths([*route_paths, *served]))
    # Added last, so it runs first: nothing else touches a request it refuses.
    app.add_middleware(RequestGate)
