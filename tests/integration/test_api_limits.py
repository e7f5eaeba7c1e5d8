"""Nothing unauthenticated costs much: the API key is checked before a body is read, and bodies over
the server's limit are refused (413) whether declared by Content-Length or streamed chunked.

These speak HTTP over a plain socket: the point is what the server answers while most of a body is
still unsent, which an HTTP client library would insist on sending first.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterable, Iterator
from urllib.parse import urlsplit

import pytest

from conftest import ServerProcess, unique

GIB = 2**30


def exchange(url: str, head: str, body_parts: Iterable[bytes] = ()) -> tuple[int, dict[str, str], bytes]:
    """Send a request head and some body, then read the answer until the server closes the connection.

    A server that waited for the rest of the body would never answer: the read times out and fails.
    """
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=15) as sock:
        sock.sendall(head.encode())
        for part in body_parts:
            sock.sendall(part)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head_bytes, _, body = data.partition(b"\r\n\r\n")
    status_line, *header_lines = head_bytes.decode().split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in header_lines)}
    return int(status_line.split()[1]), headers, body


def post_head(path: str, *, key: str | None = None, length: int | None = None, chunked: bool = False) -> str:
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", "Content-Type: application/json"]
    if key is not None:
        lines.append(f"X-Octopus-ApiKey: {key}")
    if length is not None:
        lines.append(f"Content-Length: {length}")
    if chunked:
        lines.append("Transfer-Encoding: chunked")
    return "\r\n".join(lines) + "\r\n\r\n"


def chunks(total: int, size: int = 64 * 1024) -> Iterator[bytes]:
    """Chunked-encoding frames: a quote, then ``total`` bytes in frames of ``size``; never the last
    frame, so the body never ends."""
    yield b'1\r\n"\r\n'
    for _ in range(0, total, size):
        yield f"{size:x}\r\n".encode() + b"x" * size + b"\r\n"


def assert_error(status: int, headers: dict[str, str], body: bytes, expected: int) -> dict[str, object]:
    assert status == expected, body
    assert headers.get("connection") == "close"
    answer: dict[str, object] = json.loads(body)
    assert set(answer) == {"ErrorMessage", "Errors"} and answer["ErrorMessage"]
    return answer


@pytest.mark.parametrize(
    "head",
    [
        post_head("/api/Spaces-1/workers", length=GIB),
        post_head("/api/spaces", key="API-WRONGWRONGWRONGWRONGWRONGWR", length=GIB),
        post_head("/API/Spaces-1/Tasks", chunked=True),
    ],
    ids=["no key, 1 GiB declared", "wrong key", "no key, chunked"],
)
def test_a_body_without_a_valid_key_is_refused_before_it_is_read(server: ServerProcess, head: str) -> None:
    status, headers, body = exchange(server.url, head)
    assert_error(status, headers, body, 401)


def test_bodies_over_the_limit_are_refused_however_they_come(server_factory: object) -> None:
    srv: ServerProcess = server_factory(env={"ARGONAUT_MAX_REQUEST_BODY_MB": "1"})  # type: ignore[operator]
    declared = exchange(srv.url, post_head("/api/spaces", key=srv.api_key, length=2 * 2**20))
    answer = assert_error(*declared, 413)
    assert "1 MB" in str(answer["ErrorMessage"])
    # One byte over: the server must read all of it to know, so none is left unread when it closes.
    streamed = exchange(srv.url, post_head("/api/spaces", key=srv.api_key, chunked=True), chunks(2**20))
    assert_error(*streamed, 413)

    # Under the limit, both ways, the body reaches the route; the connection stays open.
    filler = "x" * (2**20 - 4096)
    plain = srv.client.post("/api/spaces", json={"Name": unique("Big"), "Filler": filler})
    assert plain.status_code == 201, plain.text
    assert plain.headers.get("connection") != "close"
    document = json.dumps({"Name": unique("Chunked"), "Filler": filler}).encode()
    streamed_ok = srv.client.post(
        "/api/spaces", content=iter([document[:1000], document[1000:]])
    )  # a generator body goes out chunked
    assert streamed_ok.status_code == 201, streamed_ok.text


def test_the_limit_is_a_server_option(server_factory: object) -> None:
    srv: ServerProcess = server_factory("--max-request-body-mb", "0.5")  # type: ignore[operator]
    assert_error(*exchange(srv.url, post_head("/api/spaces", key=srv.api_key, length=600_000)), 413)
    small = srv.client.post("/api/spaces", json={"Name": unique("Small"), "Filler": "x" * 400_000})
    assert small.status_code == 201, small.text
