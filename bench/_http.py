"""A minimal keep-alive HTTP/1.1 client on asyncio streams, for load generation.

httpx costs about 15 ms of client CPU per streamed task at 200 concurrent connections (measured here),
so with it the benchmark measures the client, not the server. This client does only what the
benchmarks need: JSON requests with Content-Length answers, and chunked NDJSON streams.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit


class RawClient:
    def __init__(self, url: str, api_key: str) -> None:
        parts = urlsplit(url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.api_key = api_key
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self._reader is None or self._writer is None:
            self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        return self._reader, self._writer

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._reader = self._writer = None

    async def _send(self, method: str, path: str, body: bytes = b"") -> tuple[int, dict[str, str]]:
        reused = self._writer is not None
        reader, writer = await self._connect()
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: {self.host}\r\nX-Octopus-ApiKey: {self.api_key}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        writer.write(head.encode() + body)
        try:
            status_line = await reader.readline()
        except ConnectionResetError:
            status_line = b""
        if not status_line and reused:
            # The server closed an idle keep-alive connection (uvicorn does after 5 s) before reading
            # this request: send it again once, on a new connection.
            await self.close()
            return await self._send(method, path, body)
        status = int(status_line.split()[1])
        headers: dict[str, str] = {}
        while True:
            line = await reader.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.decode().partition(":")
            headers[name.strip().lower()] = value.strip()
        return status, headers

    async def request(self, method: str, path: str, payload: Any = None) -> tuple[int, Any]:
        body = json.dumps(payload).encode() if payload is not None else b""
        status, headers = await self._send(method, path, body)
        assert self._reader is not None
        if headers.get("transfer-encoding") == "chunked":
            data = b"".join([chunk async for chunk in self._chunks()])
        else:
            data = await self._reader.readexactly(int(headers.get("content-length", "0")))
        return status, json.loads(data) if data else None

    async def _chunks(self) -> AsyncIterator[bytes]:
        assert self._reader is not None
        while True:
            size = int((await self._reader.readline()).strip(), 16)
            if size == 0:
                await self._reader.readline()
                return
            yield await self._reader.readexactly(size)
            await self._reader.readline()

    async def stream_lines(self, path: str) -> AsyncIterator[dict[str, Any]]:
        status, headers = await self._send("GET", path)
        assert self._reader is not None and status == 200, status
        assert headers.get("transfer-encoding") == "chunked", headers
        buffer = b""
        async for chunk in self._chunks():
            buffer += chunk
            *lines, buffer = buffer.split(b"\n")
            for line in lines:
                if line:
                    yield json.loads(line)
