"""Request paths rewritten to the router's spelling, as the described system matches them."""

from __future__ import annotations

import pytest

from argonaut.api.paths import CanonicalPaths

ROUTES = [
    "/api",
    "/api/spaces",
    "/api/spaces/{spaceId}",
    "/api/spaces/all",
    "/api/workerpools",
    "/api/workerpools/all",
    "/api/{spaceId}/workerpools/{id}/workers",
    "/api/{spaceId}/machinepolicies/all",
    "/api/{spaceId}/workers",
    "/api/tasks/{id}/details",
    "/api/openapi.json",
]
paths = CanonicalPaths(ROUTES)


@pytest.mark.parametrize(
    ("sent", "routed"),
    [
        # The worker-sharing script's own spellings.
        ("/api/Spaces-2/workerPools", "/api/Spaces-2/workerpools"),
        (
            "/api/Spaces-2/workerPools/WorkerPools-3/workers",
            "/api/Spaces-2/workerpools/WorkerPools-3/workers",
        ),
        ("/api/spaces/Spaces-2/machinePolicies/all", "/api/Spaces-2/machinepolicies/all"),
        ("/api/Spaces-2/workers", "/api/Spaces-2/workers"),
        # Any case, any fixed segment, the api prefix included.
        ("/API/MachinePolicies/ALL", "/api/machinepolicies/all"),
        ("/Api/Spaces", "/api/spaces"),
        ("/api/Tasks/ServerTasks-4/Details", "/api/tasks/ServerTasks-4/details"),
        ("/API/OpenAPI.json", "/api/openapi.json"),
        # Ids are left as sent: they match case-insensitively where they are parsed.
        ("/api/spaces-2/workers", "/api/spaces-2/workers"),
        (
            "/api/Spaces-2/workerpools/workerpools-3/workers",
            "/api/Spaces-2/workerpools/workerpools-3/workers",
        ),
        # /api/spaces/{id}/… is the space-scoped alias; the spaces resource itself is not.
        ("/api/SPACES/spaces-2/Workers", "/api/spaces-2/workers"),
        ("/api/spaces/Spaces-2", "/api/spaces/Spaces-2"),
        ("/api/spaces/Spaces-2/", "/api/spaces/Spaces-2/"),
        ("/api/spaces/All", "/api/spaces/all"),
        # Not ours: left alone.
        ("/", "/"),
        ("/api", "/api"),
        ("/API", "/api"),
        ("/portal/Workers", "/portal/Workers"),
        ("/apix/workers", "/apix/workers"),
        ("/api/nowhere/Elsewhere", "/api/nowhere/Elsewhere"),
    ],
)
def test_paths_are_routed_as_the_described_system_matches_them(sent: str, routed: str) -> None:
    assert paths(sent) == routed


def test_an_unchanged_path_is_the_same_object() -> None:
    path = "/api/Spaces-1/workers"
    assert paths(path) is path
