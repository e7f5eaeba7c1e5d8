"""Request paths as the described system matches them, rewritten to ours before routing.

Its clients spell collections as they please (``/api/Spaces-2/workerPools``, ``/api/MachinePolicies``)
because its server matches path segments case-insensitively, and every space-scoped route is also
reachable as ``/api/spaces/{spaceId}/…``. Our router matches exactly, so :class:`CanonicalPaths` rewrites
a path once, before routing:

- a segment that names a fixed part of some route (``workerPools``, ``ALL``, ``API``) becomes that part's
  spelling; a segment that is not one (an id, a space id) is left alone, since ids already match
  case-insensitively where they are parsed (``domain.ids.parse_id``);
- ``/api/spaces/{spaceId}/<more>`` becomes ``/api/{spaceId}/<more>``; ``/api/spaces/{spaceId}`` itself
  stays the spaces resource.

The fixed parts are read from the routes themselves, so a new route needs nothing here. It runs on every
request: one split, a dict lookup per segment, and a join only when something changed.
"""

from __future__ import annotations

from collections.abc import Iterable


class CanonicalPaths:
    """Rewrites request paths to the spelling the router matches; see the module docstring.

    >>> paths = CanonicalPaths(["/api/spaces/{spaceId}", "/api/{spaceId}/workerpools/all"])
    >>> paths("/API/spaces/Spaces-2/workerPools/ALL")
    '/api/Spaces-2/workerpools/all'
    """

    def __init__(self, route_paths: Iterable[str]) -> None:
        fixed = {
            segment
            for path in route_paths
            for segment in path.split("/")
            if segment and not segment.startswith("{")
        }
        self._spelling = {segment.lower(): segment for segment in fixed}
        self._api = self._spelling.get("api", "api")
        self._spaces = self._spelling.get("spaces", "spaces")

    def __call__(self, path: str) -> str:
        parts = path.split("/")
        # parts[0] is the empty string before the leading slash; only API paths are ours to rewrite.
        if len(parts) < 2 or parts[1].lower() != "api":
            return path
        changed = False
        spelling = self._spelling
        for index in range(1, len(parts)):
            segment = parts[index]
            canonical = spelling.get(segment.lower())
            if canonical is not None and canonical != segment:
                parts[index] = canonical
                changed = True
        if len(parts) > 4 and parts[2] == self._spaces and parts[4]:
            # /api/spaces/{spaceId}/<more> is the described system's alias of /api/{spaceId}/<more>.
            del parts[2]
            changed = True
        return "/".join(parts) if changed else path
