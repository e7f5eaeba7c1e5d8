"""The audit trail of the API, in one place: every successful create, modify, delete, run and cancel
through ``/api/...`` writes one event, without any route knowing.

A pure ASGI middleware (no ``BaseHTTPMiddleware``: that would cost every request a task and a queue).
Requests other than POST, PUT and DELETE pass straight through, as do paths ``domain.audit.classify``
does not audit (sign-in and sign-out, which their routes record themselves). For the rest it:

- reads the resource before a PUT or DELETE by sending a GET of the same path through the app (same
  credentials), so a modification's differences and a deletion's name are known without any route's help;
- holds the answer until its last byte, and when the status is 2xx and the route's own code recorded no
  event (users, API keys and teams record theirs, with what only they know), writes the event
  (category, message, related ids, ``ChangeDetails`` with the differences, sensitive values only marked
  as changed) in a statement of its own, *then* sends the answer: a client that got its answer finds
  its event. A route may write that same event in its own transaction instead (``record_with_change``;
  queuing a task does), and then the trail writes none.

Who acted comes from the ``Caller`` the auth dependency leaves in the request's state; the resource's id
and space from the answer (``Id``, ``SpaceId``), else the path.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from argonaut.domain import audit
from argonaut.domain.ids import Collection, format_id, parse_id
from argonaut.service import events
from argonaut.store.connection import Conn

log = logging.getLogger(__name__)

CALLER_STATE = "audit_caller"  # where the auth dependency leaves the admitted Caller
_REFERENCES = (
    "ProjectId",
    "EnvironmentId",
    "ReleaseId",
    "DeploymentId",
    "RunbookId",
    "RunbookSnapshotId",
    "TaskId",
    "ChannelId",
    "TenantId",
    "OwnerId",
)


class AuditTrail:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("POST", "PUT", "DELETE"):
            await self.app(scope, receive, send)
            return
        action = audit.classify(scope["method"], scope["path"])
        if action is None:
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        before = await self._read(scope) if action.category in (audit.MODIFIED, audit.DELETED) else None
        start: Message | None = None
        chunks: list[bytes] = []
        sent: list[bytes] = []  # a modification's request body: the secrets it writes are changes too

        async def tap() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                sent.append(message.get("body", b""))
            return message

        async def hold(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
                return
            if message["type"] != "http.response.body" or start is None:
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            body = b"".join(chunks)
            if 200 <= int(start["status"]) < 300 and not written:
                try:
                    request = _json(b"".join(sent)) if sent else None
                    await self._record(scope, state, action, before, body, request)
                except Exception:  # the change is made; a failed event must not turn it into an error
                    log.exception("writing the audit event of %s %s failed", scope["method"], scope["path"])
            await send(start)
            await send({"type": "http.response.body", "body": body})

        written: list[str] = []  # events the route's own code recorded: then it needs none from here
        token = events.written_by_request.set(written)
        try:
            await self.app(scope, tap if action.category == audit.MODIFIED else receive, hold)
        finally:
            events.written_by_request.reset(token)

    async def _read(self, scope: Scope) -> Any:
        """The resource at the request's path as a GET answers it now, or None."""
        headers = [
            (k, v) for k, v in scope["headers"] if k.lower() not in (b"content-length", b"content-type")
        ]
        get_scope = {**scope, "method": "GET", "headers": headers, "state": {}}
        status = 0
        chunks: list[bytes] = []

        async def nothing() -> Message:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def collect(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        try:
            await self.app(get_scope, nothing, collect)
        except Exception:
            return None
        return _json(b"".join(chunks)) if status == 200 else None

    async def _record(
        self,
        scope: Scope,
        state: Mapping[str, Any],
        action: audit.Action,
        before: Any,
        body: bytes,
        request: Any,
    ) -> None:
        caller = state.get(CALLER_STATE)
        if caller is None:
            return  # nobody was admitted (a route without the auth dependency): nothing to attribute
        fields = _event(scope, caller, action, before, _json(body) if body else None, request)
        async with scope["app"].state.services.store.single() as conn:  # one insert: autocommit on PostgreSQL
            await events.record(conn, **fields)


async def record_with_change(conn: Conn, scope: Scope, resource: Mapping[str, Any]) -> None:
    """Write, in the change's own statement or transaction, the event the trail would write after the
    answer ``resource`` of a create (the same event, field for field), so that the trail writes none.

    For the hottest create (queuing a task) that saves a commit and re-reading the answer's JSON."""
    values = change_event(scope, resource)
    if values is not None:
        await events.write(conn, values)


def change_event(scope: Scope, resource: Mapping[str, Any]) -> dict[str, Any] | None:
    """The row of the event :func:`record_with_change` writes, for a change that writes it in its own
    statement (a task's queuing on PostgreSQL); None when the request is not audited."""
    caller = scope.get("state", {}).get(CALLER_STATE)
    action = audit.classify(scope["method"], scope["path"])
    if caller is None or action is None:
        return None
    fields = _event(scope, caller, action, None, resource, None)
    return events.prepare(fields.pop("category"), fields.pop("message"), **fields)


def _event(
    scope: Scope, caller: Any, action: audit.Action, before: Any, after: Any, request: Any
) -> dict[str, Any]:
    """The fields of ``events.record`` for what ``caller`` did: ``after`` is the answer's resource,
    ``before`` the resource as a GET answered it before a modification or deletion."""
    resource = after if isinstance(after, Mapping) else before if isinstance(before, Mapping) else {}
    resource_id = resource.get("Id") if isinstance(resource.get("Id"), str) else action.path_id
    if action.category in (audit.TASK_CANCELED, audit.INTERRUPTION_SUBMITTED, audit.RESPONSIBILITY_TAKEN):
        resource_id = action.path_id or resource_id
    name = resource.get("Name") if isinstance(resource.get("Name"), str) else None
    if action.noun == "task":
        described = resource.get("Description")
        name = described if isinstance(described, str) and described else name
    space_id = caller.space_id
    if space_id is None and isinstance(resource.get("SpaceId"), str):
        space_id = parse_id(Collection.SPACES, resource["SpaceId"])
    related = [resource_id] if resource_id else []
    related += [v for k in _REFERENCES if isinstance(v := resource.get(k), str) and v]
    if space_id is not None:
        related.append(format_id(Collection.SPACES, space_id))
    found = audit.changes(before, after, request) if action.category == audit.MODIFIED else None
    details: dict[str, Any] = {
        **audit.change_details(resource, found),
        "IdentityEstablishedWith": _identity(scope),
        "UserAgent": _header(scope, b"user-agent"),
    }
    client = scope.get("client")
    return {
        "category": action.category,
        "message": audit.message(caller.username, action, resource_id, name),
        "space_id": space_id,
        "user_id": caller.user_id,
        "username": caller.username,
        "ip_address": client[0] if client else None,
        "related_document_ids": list(dict.fromkeys(related)),
        "change_details": details,
    }


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return None


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key.lower() == name:
            return str(value.decode("latin-1"))[:400]
    return None


def _identity(scope: Scope) -> str:
    if _header(scope, b"x-octopus-apikey") or b"apikey=" in scope.get("query_string", b"").lower():
        return "API key"
    return "Session cookie"
