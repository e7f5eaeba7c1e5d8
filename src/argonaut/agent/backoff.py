"""When a polling agent tries a server again: exponential backoff with full jitter.

After a server restart every agent it held reconnects at once; drawing each wait uniformly between
zero and a cap that doubles with every failure in a row spreads them out, so the node sees a steady
stream of arrivals instead of a stampede, and an agent refused by the node's admission control (or
finding the port closed) backs off further each time. Pure, so the agent and the benchmark that
simulates ten thousand of them use the same policy.
"""

from __future__ import annotations

import random
from collections.abc import Callable

BACKOFF_FIRST_S = 0.5
# The cap bounds how long a node restart keeps an agent away: an agent that failed five times while
# the node was down (a few seconds) waits up to this long once it is back. 30 s made the last of
# 10,000 agents arrive ~30 s after the node came back (bench/agents_scale.py); at 15 s an outage
# still costs the node at most one refused attempt per agent every 7.5 s on average.
BACKOFF_MAX_S = 15.0


def reconnect_cap_s(failures: int) -> float:
    """The longest wait after ``failures`` failed attempts (or ended links) in a row: 0.5 s doubling, at
    most 15 s; none before the first failure."""
    if failures <= 0:
        return 0.0
    return float(min(BACKOFF_MAX_S, BACKOFF_FIRST_S * 2 ** min(failures, 10)))


def reconnect_delay(failures: int, draw: Callable[[float, float], float] = random.uniform) -> float:
    """Seconds to wait before the next attempt: uniform between zero and :func:`reconnect_cap_s`."""
    return draw(0.0, reconnect_cap_s(failures))
