"""Each caller's grants, kept per user until who may do what changes.

Reading a user's teams and roles costs three queries, about a millisecond, on every request. Grants
change only through the users, teams and roles routes, so a successful change there forgets every
node's grants (this node at once, the others through the ``caches`` signal, as cached keys and spaces
are), and the next request reads them afresh.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from argonaut.api.services import CACHES, Services

_ACCESS = frozenset({"teams", "scopeduserroles", "userroles", "users", "spaces"})
_READS = frozenset({"GET", "HEAD", "OPTIONS"})


class AccessChanges:
    """After a successful change to users, teams, roles or spaces, forget every cached grant."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in _READS or not _changes_access(scope["path"]):
            await self.app(scope, receive, send)
            return
        succeeded = False

        async def watch(message: Message) -> None:
            nonlocal succeeded
            if message["type"] == "http.response.start":
                succeeded = int(message["status"]) < 400
            await send(message)

        await self.app(scope, receive, watch)
        if succeeded:
            services: Services = scope["app"].state.services
            services.forget_cached()
            await services.signals.send_now(CACHES)


def _changes_access(path: str) -> bool:
    """A path with a users, teams, roles or spaces segment (whole segments: ``Spaces-1`` is no match)."""
    segments = path.lower().split("/")
    return len(segments) > 2 and segments[1] == "api" and not _ACCESS.isdisjoint(segments[2:])
