"""The two requests every script makes, queuing a task and following it, served without FastAPI's
per-request machinery, and every other request passed on untouched.

Each script a client runs is one ``POST /api/{spaceId}/tasks`` and one ``GET /api/tasks/{id}/stream``.
Through FastAPI each paid for walking ~60 routers, solving dependencies, wrapping the route in
exception scopes and exit stacks, and, for the stream, a task group listening for the client to go:
together about a fifth of a built-in ``echo``'s server CPU (``bench/adhoc.py``). Here the same checks
and the same route code (``auth.admit``, ``routes_tasks.queue_task`` and ``load_task``,
``task_logs.follow``) run straight from the ASGI call.

Only the plain success path is served here: an API key in its header, a space named by its id, a valid
body, a caller the route admits. Anything else (no key or a bad one, a login cookie, a body that fails
validation, a refusal, an unknown task, another query parameter) is handed to FastAPI as it came, body
included, so every refusal is answered by the one place that answers it for every other route. A check
refuses before anything is written (``queue_task`` checks first, then inserts), so handing over never
does a thing twice.

It sits inside the audit trail and the path and query rewrites (``app.py``), so a queued task is
audited, and matched on the canonical path.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncGenerator
from typing import Any

from pydantic import ValidationError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from argonaut.api import task_logs
from argonaut.api.audit import CALLER_STATE
from argonaut.api.auth import API_KEY_HEADER, Caller, admit
from argonaut.api.auth import Scope as AuthScope
from argonaut.api.errors import ApiError
from argonaut.api.identity import user_for_key
from argonaut.api.routes_tasks import load_task, queue_task
from argonaut.api.services import Services
from argonaut.api.task_inputs import TaskCreate
from argonaut.domain.ids import Collection, parse_id
from argonaut.domain.permissions import Permission
from argonaut.service.errors import Invalid, NotFound
from argonaut.store.common import Conflict, Refused

# Only a space's id, never its name, so no other route can be the one these paths mean (a test checks
# that FastAPI serves each path claimed here by the same route).
_QUEUE = re.compile(r"/api(?:/((?i:spaces)-\d+))?/tasks")
_FOLLOW = re.compile(r"/api(?:/((?i:spaces)-\d+))?/tasks/([^/]+)/stream")
_SINCE = re.compile(rb"since=(\d{1,10})")
_KEY_HEADER = API_KEY_HEADER.lower().encode()
_JSON_HEADERS = [(b"content-type", b"application/json")]
_NDJSON_HEADERS = [(b"content-type", b"application/x-ndjson")]
# What a check raises to refuse: the request is handed to FastAPI, which answers it.
_REFUSALS = (ApiError, Conflict, Invalid, NotFound, Refused, ValidationError)
_MAX_SINCE = 2147483647


def claimed(method: str, path: str) -> bool:
    """Whether a request to ``path`` (canonical) is one served here when it can be."""
    pattern = _QUEUE if method == "POST" else _FOLLOW if method == "GET" else None
    return pattern is not None and pattern.fullmatch(path) is not None


class _Declined(Exception):
    """Not served here: FastAPI answers this request."""


class HotRoutes:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not scope.get("root_path"):
            method, path = scope["method"], scope["path"]
            if method == "POST" and (match := _QUEUE.fullmatch(path)):
                await self._queue(scope, receive, send, match[1])
                return
            if method == "GET" and (match := _FOLLOW.fullmatch(path)):
                await self._follow(scope, receive, send, match[1], match[2])
                return
        await self.app(scope, receive, send)

    async def _queue(self, scope: Scope, receive: Receive, send: Send, space: str | None) -> None:
        body, replay = await _read_body(receive)
        try:
            if scope.get("query_string"):
                raise _Declined
            task = TaskCreate.model_validate(_json_object(body))
            caller = await _caller(scope, Permission.TASK_CREATE, "path" if space else "default", space)
            scope.setdefault("state", {})[CALLER_STATE] = caller  # who acted, for the audit trail
            resource = await queue_task(caller, task, scope)
        except (_Declined, *_REFUSALS):
            await self.app(scope, replay, send)
            return
        content = json.dumps(resource, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()
        length = [(b"content-length", str(len(content)).encode())]
        await send({"type": "http.response.start", "status": 201, "headers": length + _JSON_HEADERS})
        await send({"type": "http.response.body", "body": content})

    async def _follow(self, scope: Scope, receive: Receive, send: Send, space: str | None, task: str) -> None:
        try:
            since = _since(scope.get("query_string", b""))
            number = parse_id(Collection.SERVER_TASKS, task)
            if number is None:
                raise _Declined  # FastAPI's 404
            # The unscoped route reaches a task of any space, which then decides (as ``routes_tasks``).
            caller = await _caller(scope, Permission.TASK_VIEW, "path" if space else "any", space)
        except (_Declined, *_REFUSALS):
            await self.app(scope, receive, send)
            return
        # Watch before the task is read, so the row read can stand in for it (task_logs.snapshot).
        events = caller.services.events
        watch = events.watch(number)
        try:
            row = await load_task(caller, "path" if space else "default", task, running=True)
        except _REFUSALS:
            events.unwatch(number, watch)
            await self.app(scope, receive, send)
            return
        try:
            await _stream(task_logs.follow(caller.services, row, since, watch), receive, send)
        finally:
            events.unwatch(number, watch)  # also when the client went before the stream began


async def _caller(scope: Scope, permission: Permission, where: AuthScope, space: str | None) -> Caller:
    """The admitted caller of a request with an API key in its header; declined for any other."""
    key = next((value for name, value in scope["headers"] if name == _KEY_HEADER), None)
    if not key:
        raise _Declined
    svc: Services = scope["app"].state.services
    identity = await user_for_key(svc, key.decode("latin-1"))
    return await admit(svc, identity, permission, where, space)


def _since(query: bytes) -> int:
    """``since`` as the stream route reads it, from a query of nothing else; declined otherwise."""
    if not query:
        return 0
    match = _SINCE.fullmatch(query)
    if match is None or int(match[1]) > _MAX_SINCE:
        raise _Declined
    return int(match[1])


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        value = json.loads(body)
    except ValueError:
        raise _Declined from None
    if not isinstance(value, dict):
        raise _Declined
    return value


async def _read_body(receive: Receive) -> tuple[bytes, Receive]:
    """The whole body (the request gate has bounded its size), and a ``receive`` that gives FastAPI the
    same messages again when the request is handed over."""
    messages: list[Message] = []
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request" or not message.get("more_body", False):
            break
    body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.request")
    if messages[-1]["type"] != "http.request":
        body = b""  # the client went before it finished: nothing to serve here

    async def replay() -> Message:
        return messages.pop(0) if messages else await receive()

    return body, replay


async def _stream(chunks: AsyncGenerator[bytes, None], receive: Receive, send: Send) -> None:
    """Send ``chunks`` as a chunked 200 until they end, or until the client goes: following a task that
    runs for hours must not outlive the client that asked (as Starlette's streaming response does)."""

    async def until_gone() -> None:
        while (await receive())["type"] != "http.disconnect":
            pass

    async def send_all() -> None:
        await send({"type": "http.response.start", "status": 200, "headers": _NDJSON_HEADERS})
        last = False
        async for chunk in chunks:
            last = task_logs.is_last(chunk)  # then it ends the response in the same write
            await send({"type": "http.response.body", "body": chunk, "more_body": not last})
        if not last:
            await send({"type": "http.response.body", "body": b"", "more_body": False})

    sending = asyncio.ensure_future(send_all())
    watching = asyncio.ensure_future(until_gone())
    try:
        await asyncio.wait((sending, watching), return_when=asyncio.FIRST_COMPLETED)
    finally:
        pending = [task for task in (sending, watching) if not task.done()]
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending)  # their ends are theirs: only our own cancel would raise here
        await chunks.aclose()
    failed = None if sending.cancelled() else sending.exception()
    if failed is not None and not isinstance(failed, OSError):  # OSError: the client went as we wrote
        raise failed
