"""Errors as the described system's clients expect them: ``{ErrorMessage, Errors}`` with a 4xx status.

Every handler that maps an exception to HTTP lives here, registered once on the app. A 500 means a bug:
it is logged with its traceback and answered in the same shape, without internals.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from argonaut.service.errors import Invalid, NotFound
from argonaut.store.common import Conflict, Refused

log = logging.getLogger(__name__)


class ApiError(Exception):
    def __init__(self, status: int, message: str, errors: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.errors = list(errors)


def bad_request(message: str, errors: Sequence[str] = ()) -> ApiError:
    return ApiError(400, message, errors or [message])


def not_found(what: str) -> ApiError:
    return ApiError(404, f"The resource '{what}' was not found.", [f"The resource '{what}' was not found."])


def error_body(message: str, errors: Sequence[str]) -> dict[str, object]:
    return {"ErrorMessage": message, "Errors": list(errors)}


def _respond(
    status: int, message: str, errors: Sequence[str], headers: Mapping[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(error_body(message, errors), status_code=status, headers=headers)


def _describe(error: dict[str, Any]) -> str:
    loc = [str(part) for part in error.get("loc", ()) if part not in ("body", "query", "path", "header")]
    where = ".".join(loc)
    message = str(error.get("msg", "is invalid"))
    if error.get("type") == "json_invalid":
        return "The request body is not valid JSON"
    return f"{where}: {message}" if where else message


def install(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        return _respond(exc.status, exc.message, exc.errors)

    @app.exception_handler(Conflict)
    async def _conflict(_: Request, exc: Conflict) -> JSONResponse:
        return _respond(409, str(exc), [str(exc)])

    @app.exception_handler(Refused)
    async def _refused(_: Request, exc: Refused) -> JSONResponse:
        return _respond(400, str(exc), [str(exc)])

    @app.exception_handler(Invalid)
    async def _invalid_request(_: Request, exc: Invalid) -> JSONResponse:
        return _respond(400, exc.message, exc.errors)

    @app.exception_handler(NotFound)
    async def _not_found(_: Request, exc: NotFound) -> JSONResponse:
        return _respond(404, str(exc), [str(exc)])

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [_describe(e) for e in exc.errors()]
        return _respond(400, "There was a problem with your request.", errors or ["The request is invalid"])

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        message = str(exc.detail) if exc.detail else "Request failed"
        if exc.status_code == 404 and message == "Not Found":
            message = "The requested URL does not exist on this server"
        # Headers count: a 413 for an oversized body closes the connection, so the rest is never read.
        return _respond(exc.status_code, message, [message], exc.headers)

    @app.exception_handler(Exception)
    async def _bug(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error")
        return _respond(
            500, "The server hit an internal error; it has been logged.", ["Internal server error"]
        )
