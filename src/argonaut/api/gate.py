"""What a request must show before its body is read: an API key, and a body within the size limit.

FastAPI reads a route's body before it runs the route's dependencies, the API-key check among them, and
uvicorn sets no limit on a body's size. So anyone could make the node read (and hold) any number of
bytes before being told they may not. :class:`RequestGate` runs first, on the raw ASGI request:

- a request that carries a body (``Content-Length`` above 0, or ``Transfer-Encoding: chunked``) to an
  ``/api`` path must carry a valid API key or login session cookie (its CSRF token is the route's
  check); without one it is answered 401 with nothing of the body read. The login itself
  (``/api/users/login``) is the one exception: its body is the credentials, within the size limit;
- a body declared larger than ``max_request_body_mb`` is answered 413 at once; a chunked one is counted
  as it is read and cut off with 413 as it passes the limit.

Both answers are ``{ErrorMessage, Errors}`` and close the connection, so the rest of the body is never
read either. Requests without a body pass untouched: their key is checked by the route, as before.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from starlette.exceptions import HTTPException
from starlette.requests import cookie_parser
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from argonaut.api.auth import API_KEY_HEADER
from argonaut.api.errors import ApiError, error_body
from argonaut.api.identity import SESSION_COOKIE, user_for_key, user_for_session
from argonaut.api.services import Services

_KEY_HEADER = API_KEY_HEADER.lower().encode()
_CLOSE = {"Connection": "close"}
_LOGIN = "/api/users/login"


class BodyTooLarge(HTTPException):
    """Raised from ``receive`` when a streamed body passes the limit. An HTTPException, so FastAPI's body
    reading passes it on (it turns other errors into 400) and the app's handler answers it."""

    def __init__(self, limit_bytes: int) -> None:
        super().__init__(413, too_large(limit_bytes), headers=_CLOSE)


def too_large(limit_bytes: int) -> str:
    return (
        f"The request body is larger than this server accepts ({limit_bytes / 2**20:g} MB, "
        "the server's max_request_body_mb)."
    )


class RequestGate:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length, chunked, key, cookie = _body_and_key(scope)
        has_body = chunked or bool(length)
        svc: Services | None = getattr(scope["app"].state, "services", None)  # None before the lifespan
        if not has_body or svc is None:
            await self.app(scope, receive, send)
            return
        if scope["path"][:5].lower() in ("/api", "/api/") and not _is_login(scope["path"]):
            try:
                key = key or _query_key(scope)
                token = cookie_parser(cookie).get(SESSION_COOKIE) if cookie and not key else None
                if token:
                    await user_for_session(svc, token, scope["method"], None, check_csrf=False)
                else:
                    await user_for_key(svc, key)
            except ApiError as refused:
                await _answer(scope, receive, send, refused.status, refused.message, refused.errors)
                return
        limit = int(svc.settings.max_request_body_mb * 2**20)
        if length is not None and length > limit:
            await _answer(scope, receive, send, 413, too_large(limit), [too_large(limit)])
            return
        await self._counted(scope, receive, send, limit)

    async def _counted(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        """Run the app with a ``receive`` that raises :class:`BodyTooLarge` once the body passes ``limit``.

        A response sent before the body was read to its end closes the connection: the server would
        otherwise read and drop the rest of the body to reach the next request.
        """
        received = 0
        started = finished = False

        async def counting_receive() -> Message:
            nonlocal received, finished
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                finished = not message.get("more_body", False)
                if received > limit:
                    if started:  # too late for a 413: end the exchange as if the client had gone
                        return {"type": "http.disconnect"}
                    raise BodyTooLarge(limit)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = list(message.get("headers", ()))
                if not finished and all(name.lower() != b"connection" for name, _ in headers):
                    message = {**message, "headers": [*headers, (b"connection", b"close")]}
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except BodyTooLarge:
            # The app's handler answers it when the route reads the body; this covers any other reader.
            if started:
                raise
            await _answer(scope, receive, send, 413, too_large(limit), [too_large(limit)])


def _is_login(path: str) -> bool:
    return path.rstrip("/").lower() == _LOGIN


def _body_and_key(scope: Scope) -> tuple[int | None, bool, str | None, str | None]:
    """The declared body length (None if absent or not a number), whether it is chunked, the API key,
    the Cookie header."""
    length: int | None = None
    chunked = False
    key: str | None = None
    cookie: str | None = None
    for name, value in scope["headers"]:
        if name == b"content-length":
            length = int(value) if value.isdigit() else None
        elif name == b"transfer-encoding":
            chunked = b"chunked" in value.lower()
        elif name == _KEY_HEADER:
            key = value.decode("latin-1")
        elif name == b"cookie":
            cookie = value.decode("latin-1")
    return length, chunked, key, cookie


def _query_key(scope: Scope) -> str | None:
    """The ``apikey`` query parameter (any case), which the described system accepts for simple calls."""
    raw: bytes = scope.get("query_string", b"")
    if b"apikey" not in raw.lower():
        return None
    for name, value in parse_qsl(raw.decode("latin-1")):
        if name.lower() == "apikey":
            return value
    return None


async def _answer(
    scope: Scope, receive: Receive, send: Send, status: int, message: str, errors: list[str]
) -> None:
    await JSONResponse(error_body(message, errors), status_code=status, headers=_CLOSE)(scope, receive, send)
