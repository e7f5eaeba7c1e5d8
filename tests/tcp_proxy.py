"""A TCP relay on 127.0.0.1 whose live connections a test can cut (to break a link mid-script) or
freeze (to make them half-open: nothing passes and nothing closes, as when a peer loses power)."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class CuttableProxy:
    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = 0
        self.cuts = 0
        self._loop = asyncio.new_event_loop()
        self._writers: set[asyncio.StreamWriter] = set()
        self._valves: set[asyncio.Event] = set()  # one per live relayed connection; cleared: frozen
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(asyncio.start_server(self._relay, "127.0.0.1", 0))
        self.port = self._server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()
        self._loop.close()

    async def _shutdown(self) -> None:
        self._server.close()
        for writer in list(self._writers):
            writer.transport.abort()
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._loop.stop()

    async def _relay(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        self._writers.update((client_writer, upstream_writer))
        valve = asyncio.Event()
        valve.set()
        self._valves.add(valve)

        async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                while True:
                    try:
                        data = await reader.read(65536)
                    except (ConnectionError, OSError):
                        data = b""
                    await valve.wait()  # frozen: hold this chunk (or this close), read no more
                    if not data:
                        break
                    writer.write(data)
                    await writer.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                writer.transport.abort()

        try:
            await asyncio.gather(pipe(client_reader, upstream_writer), pipe(upstream_reader, client_writer))
        except asyncio.CancelledError:
            pass  # the proxy is stopping (frozen relays never end on their own); asyncio would log it
        finally:
            self._valves.discard(valve)

    def cut(self) -> None:
        """Abort every relayed connection at once, as a network failure would."""

        def abort() -> None:
            for writer in list(self._writers):
                sock = writer.get_extra_info("socket")
                if sock is not None:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
                writer.transport.abort()
            self._writers.clear()

        self._loop.call_soon_threadsafe(abort)
        self.cuts += 1

    def freeze(self) -> None:
        """Stop every relayed connection dead without closing it; connections made later flow."""

        def close_valves() -> None:
            for valve in self._valves:
                valve.clear()
            self._valves.clear()

        self._loop.call_soon_threadsafe(close_valves)

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop)
        self._thread.join(5)


@contextmanager
def cuttable_proxy(target_port: int) -> Iterator[CuttableProxy]:
    proxy = CuttableProxy(target_port)
    proxy._thread.start()
    proxy._ready.wait(5)
    try:
        yield proxy
    finally:
        proxy.stop()
