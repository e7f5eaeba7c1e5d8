"""One HTTP session per invocation, and the translation of every failure into one ``error:`` line.

People and CI logs both read the CLI's errors, so nothing that goes wrong on the wire may surface as a
traceback: API errors (``{ErrorMessage, Errors}``), refused connections and garbage answers all become a
:class:`CliError`, which click prints as a single line on stderr before exiting with code 1.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import IO, Any

import click
import httpx

API_KEY_HEADER = "X-Octopus-ApiKey"
DEFAULT_SERVER = "http://127.0.0.1:8080"
_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
# Following a task waits on the server for as long as the task runs, so reads never time out.
STREAM_TIMEOUT = httpx.Timeout(30.0, connect=10.0, read=None)

Params = Mapping[str, str | int | list[str]]


class CliError(click.ClickException):
    """A failure the user can act on: printed as ``error: <message>``, exit code 1."""

    def show(self, file: IO[Any] | None = None) -> None:
        click.echo(f"error: {self.format_message()}", err=file is None, file=file)


class StreamBroken(Exception):
    """The connection carrying a task's log stream dropped; the follower reconnects."""


def describe_error(response: httpx.Response) -> str:
    """``<ErrorMessage>: <Errors joined>``, without repeating an ``Errors`` entry equal to the message."""
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        body = None
    if not isinstance(body, dict) or not body.get("ErrorMessage"):
        reason = response.reason_phrase or "error"
        status, request = response.status_code, response.request
        return f"the server answered HTTP {status} {reason} to {request.method} {request.url.path}"
    message = str(body["ErrorMessage"]).strip()
    errors = [
        str(e).strip() for e in body.get("Errors") or [] if str(e).strip() and str(e).strip() != message
    ]
    return f"{message}: {'; '.join(errors)}" if errors else message


class ApiSession:
    """The REST API of one server, reached through one reused connection, in the space chosen by ``--space``.

    The space is resolved lazily and once, so verbs that are not space-scoped (``space list``) cost no
    extra round trip, and the others pay for it only once.
    """

    def __init__(
        self,
        server: str,
        api_key: str | None,
        space: str | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.server = server.rstrip("/")
        self.has_key = bool(api_key)
        headers = {"Accept": "application/json", "User-Agent": "argonaut-cli"}
        if api_key:
            headers[API_KEY_HEADER] = api_key.strip()
        self._client = httpx.Client(
            base_url=self.server, headers=headers, timeout=_TIMEOUT, transport=transport
        )
        self._space_text = space
        self._space: dict[str, Any] | None = None

    def close(self) -> None:
        self._client.close()

    # -- plain requests -------------------------------------------------------------------------------

    def request(
        self, method: str, path: str, *, params: Params | None = None, body: Any = None
    ) -> httpx.Response:
        try:
            response = self._client.request(method, path, params=params, json=body)
        except httpx.TransportError as exc:
            raise self.unreachable(exc) from None
        self.check(response)
        return response

    def get(self, path: str, params: Params | None = None) -> Any:
        return self._json(self.request("GET", path, params=params))

    def post(self, path: str, body: Any = None) -> Any:
        return self._json(self.request("POST", path, body=body))

    def put(self, path: str, body: Any = None) -> Any:
        return self._json(self.request("PUT", path, body=body))

    def delete(self, path: str) -> Any:
        return self._json(self.request("DELETE", path))

    def get_text(self, path: str) -> str:
        return self.request("GET", path).text

    def get_all_pages(self, path: str, params: Params | None = None, page_size: int = 100) -> list[Any]:
        """Every item of a paged collection, following ``skip``/``take`` until ``TotalResults`` is reached."""
        items: list[Any] = []
        while True:
            page = self.get(path, {**(params or {}), "skip": len(items), "take": page_size})
            batch = page.get("Items") or []
            items.extend(batch)
            if not batch or len(items) >= int(page.get("TotalResults", 0)):
                return items

    # -- streaming ------------------------------------------------------------------------------------

    @contextmanager
    def stream_lines(self, path: str, params: Params | None = None) -> Iterator[Iterator[str]]:
        """Lines of a streamed answer; a dropped connection surfaces as :class:`StreamBroken`.

        API errors (404, 401, ...) are not worth retrying and raise :class:`CliError` instead.
        """
        try:
            with self._client.stream("GET", path, params=params, timeout=STREAM_TIMEOUT) as response:
                if response.status_code >= 400:
                    response.read()
                    if response.status_code < 500:
                        self.check(response)
                    raise StreamBroken(describe_error(response))
                yield self._guard(response.iter_lines())
        except httpx.ConnectError as exc:
            raise StreamBroken(f"cannot reach the Argonaut server at {self.server}: {exc}") from None
        except httpx.TransportError as exc:
            raise StreamBroken(str(exc) or type(exc).__name__) from None

    @staticmethod
    def _guard(lines: Iterator[str]) -> Iterator[str]:
        try:
            yield from lines
        except httpx.TransportError as exc:
            raise StreamBroken(str(exc) or type(exc).__name__) from None

    # -- spaces ---------------------------------------------------------------------------------------

    @property
    def space(self) -> dict[str, Any]:
        """The space chosen by ``--space`` (an Id or a case-insensitive name), else the default space."""
        if self._space is None:
            spaces = self.get("/api/spaces/all")
            self._space = pick_space(spaces, self._space_text)
        return self._space

    def in_space(self, rest: str) -> str:
        return f"/api/{self.space['Id']}/{rest.lstrip('/')}"

    # -- failures -------------------------------------------------------------------------------------

    def check(self, response: httpx.Response) -> None:
        if response.status_code < 400:
            return
        message = describe_error(response)
        if response.status_code == 401 and not self.has_key:
            message += " (give --api-key, set ARGONAUT_API_KEY, or sign in with argonaut login)"
        raise CliError(message)

    def unreachable(self, exc: httpx.TransportError) -> CliError:
        detail = str(exc) or type(exc).__name__
        if isinstance(exc, httpx.TimeoutException):
            return CliError(f"the Argonaut server at {self.server} did not answer in time: {detail}")
        return CliError(f"cannot reach the Argonaut server at {self.server}: {detail}")

    def _json(self, response: httpx.Response) -> Any:
        if not response.content:
            return None
        try:
            return response.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise CliError(
                f"the server at {self.server} answered {response.request.method} {response.url.path} "
                "with something that is not JSON; is --server the Argonaut server?"
            ) from None


def pick_space(spaces: list[dict[str, Any]], text: str | None) -> dict[str, Any]:
    if text is None or not text.strip():
        for space in spaces:
            if space.get("IsDefault"):
                return space
        raise CliError("this server has no default space; choose one with --space NAME")
    return find_one(spaces, text, "space")


def find_one(items: list[dict[str, Any]], text: str, kind: str, where: str = "") -> dict[str, Any]:
    """The item whose Id, else whose Name, equals ``text`` case-insensitively; a clear error otherwise."""
    wanted = text.strip().lower()
    for item in items:
        if str(item.get("Id", "")).lower() == wanted:
            return item
    named = [item for item in items if str(item.get("Name", "")).lower() == wanted]
    if len(named) == 1:
        return named[0]
    place = f" in {where}" if where else ""
    if named:
        ids = ", ".join(str(item["Id"]) for item in named)
        raise CliError(f"the name '{text}' matches several {kind}s{place} ({ids}); give an Id instead")
    known = ", ".join(sorted(str(item.get("Name")) for item in items)[:20])
    raise CliError(f"there is no {kind} '{text}'{place}" + (f" (known: {known})" if known else ""))
