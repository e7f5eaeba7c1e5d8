"""System routes: the root document, a health probe, the server certificate, the current user."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request

from argonaut import __version__
from argonaut.api.auth import Caller, authorize
from argonaut.domain.permissions import Permission

API_VERSION = "3.0.0"

router = APIRouter(tags=["System"])
_any_user = authorize(Permission.SPACE_VIEW, "system")


@router.get("/api", summary="Root document: version and links; no API key needed")
async def root(request: Request) -> dict[str, Any]:
    svc = request.app.state.services
    return {
        "Application": "Argonaut",
        "Version": __version__,
        "ApiVersion": API_VERSION,
        "InstallationId": svc.server_thumbprint,
        # Ours: the TLS port agents connect to (polling, and a listening agent's start notice), so an
        # agent registering learns it instead of assuming 10943.
        "CommsPort": svc.comms_port,
        "Links": {
            "Self": "/api",
            "Swagger": "/api/openapi.json",
            "SwaggerUI": "/api/docs",
            "Spaces": "/api/spaces{/id}{?skip,take,ids,partialName,name}",
            "WorkerPools": "/api/{spaceId}/workerpools{/id}{?skip,take,ids,partialName,name}",
            "Workers": "/api/{spaceId}/workers{/id}{?skip,take,ids,partialName,name,isDisabled,"
            "healthStatuses,commStyles,workerPoolIds,thumbprint}",
            "MachinePolicies": "/api/{spaceId}/machinepolicies{/id}{?skip,take,ids,partialName,name}",
            "Tasks": "/api/{spaceId}/tasks{/id}{?skip,take,ids,states,name}",
            "Artifacts": "/api/{spaceId}/artifacts{/id}{?skip,take,regarding}",
            "CertificateConfiguration": "/api/configuration/certificates{/id}",
            "CurrentUser": "/api/users/me",
            "Health": "/api/health",
        },
    }


@router.get("/api/health", summary="Liveness probe; no API key needed")
async def health(request: Request) -> dict[str, Any]:
    svc = request.app.state.services
    return {
        "Status": "Healthy",
        "Node": svc.queue.node,
        "RunningTasks": svc.queue.running_count,
        "TaskCap": svc.queue.task_cap,
        "IsInMaintenanceMode": svc.queue.draining,
    }


@router.get(
    "/api/configuration/certificates/certificate-global", summary="The server's certificate thumbprint"
)
async def certificate(caller: Caller = Depends(_any_user)) -> dict[str, Any]:
    svc = caller.services
    return {
        "Id": "certificate-global",
        "Name": "Argonaut server certificate",
        "Thumbprint": svc.server_thumbprint,
        "CertificateData": svc.server_certificate_pem,
        "Links": {"Self": "/api/configuration/certificates/certificate-global"},
    }
