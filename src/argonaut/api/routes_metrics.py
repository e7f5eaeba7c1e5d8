"""``GET /metrics``: the node's metrics in the Prometheus text format.

Who may scrape: a user holding AdministerSystem, by API key. Prometheus sends no cookies, so the key
comes as ``Authorization: Bearer API-…`` (Prometheus's ``authorization`` setting), as the
``X-Octopus-ApiKey`` header, or as ``?apikey=`` (its ``params`` setting); without one the answer is 401,
with a key lacking the permission 403, both as ``{ErrorMessage, Errors}``. The metrics name task types,
spaces and machine counts, which is operator knowledge, hence a system permission rather than none.

A scrape costs two grouped statements (``store/metrics_repo.py``) and a walk of the agent links; it reads
no row per task.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST

from argonaut.api.auth import API_KEY_HEADER, Caller, authorize
from argonaut.domain.permissions import ADMINISTER_SYSTEM
from argonaut.store import metrics_repo

router = APIRouter(tags=["System"])
_administer = authorize(ADMINISTER_SYSTEM, "system")
_KEY_HEADER = API_KEY_HEADER.lower().encode()


async def _scraper(request: Request) -> Caller:
    """Admit by the usual rules, after taking a bearer API key as the ``X-Octopus-ApiKey`` it stands
    for (only here: the rest of the API keeps its one header)."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip() and API_KEY_HEADER not in request.headers:
        scope = dict(request.scope)  # shallow: the request's state (the audit's caller) stays shared
        scope["headers"] = [*request.scope["headers"], (_KEY_HEADER, token.strip().encode("latin-1"))]
        return await _administer(Request(scope, request.receive))
    return await _administer(request)


@router.get(
    "/metrics",
    summary="The node's metrics in the Prometheus text format; needs AdministerSystem",
    response_class=Response,
)
async def metrics(caller: Caller = Depends(_scraper)) -> Response:
    svc = caller.services
    async with svc.store.transaction() as conn:
        counts = await metrics_repo.counts(conn)
    return Response(svc.queue.metrics.render(counts), media_type=CONTENT_TYPE_LATEST)
