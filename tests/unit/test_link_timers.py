"""A link's deadlines and keep-alive run on timers (no task per link for pings, none per call for its
deadline): a call nobody answers fails with ``CallTimedOut``, a silent peer is dropped after a ping
goes unanswered, a peer that answers pings keeps its link, and whoever holds a link hears of its end
through ``on_close``. Over a local socket pair, no TLS (the link does not care)."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import pytest

from argonaut.protocol.link import CallTimedOut, Link, LinkTimings

FAST = LinkTimings(call_timeout_s=5.0, ping_interval_s=0.05, ping_timeout_s=0.1)


async def streams() -> tuple[tuple[asyncio.StreamReader, asyncio.StreamWriter], ...]:
    left, right = socket.socketpair()
    return await asyncio.open_connection(sock=left), await asyncio.open_connection(sock=right)


async def echo(method: str, params: dict[str, Any]) -> dict[str, Any]:
    return {"method": method}


async def test_a_call_nobody_answers_fails_at_its_deadline_and_the_link_stays() -> None:
    (reader, writer), (_silent_reader, silent_writer) = await streams()
    link = Link(reader, writer, timings=LinkTimings(ping_interval_s=None)).start()
    with pytest.raises(CallTimedOut, match="did not answer capabilities.v1 within 0.05s"):
        await link.call("capabilities.v1", {}, timeout_s=0.05)
    assert not link.closed
    await link.close()
    silent_writer.close()


async def test_a_peer_that_answers_nothing_is_dropped_and_the_holder_hears_of_it() -> None:
    (reader, writer), (_silent_reader, silent_writer) = await streams()
    link = Link(reader, writer, timings=FAST).start()
    ended = asyncio.Event()
    link.on_close(ended.set)
    await asyncio.wait_for(ended.wait(), 5)
    assert link.closed
    silent_writer.close()


async def test_a_peer_that_answers_pings_keeps_its_link_and_calls_still_go_through() -> None:
    (a_reader, a_writer), (b_reader, b_writer) = await streams()
    a = Link(a_reader, a_writer, timings=FAST).start()
    b = Link(b_reader, b_writer, echo, timings=FAST).start()
    await asyncio.sleep(0.5)  # ten ping intervals, each answered well within the timeout
    assert not a.closed and not b.closed
    assert await a.call("capabilities.v1", {}) == {"method": "capabilities.v1"}
    await a.close()
    await asyncio.wait_for(b.wait_closed(), 5)


async def test_on_close_after_the_end_still_calls_back() -> None:
    (reader, writer), (_other_reader, other_writer) = await streams()
    link = Link(reader, writer, timings=LinkTimings(ping_interval_s=None)).start()
    await link.close()
    called = asyncio.Event()
    link.on_close(called.set)
    await asyncio.wait_for(called.wait(), 5)
    other_writer.close()
