"""The polling agent's reconnect policy (``argonaut.agent.backoff``): exponential backoff with full
jitter, capped, so agents coming back after a node restart spread out instead of arriving together."""

from __future__ import annotations

from argonaut.agent.backoff import BACKOFF_FIRST_S, BACKOFF_MAX_S, reconnect_cap_s, reconnect_delay


def test_the_cap_doubles_with_each_failure_in_a_row_up_to_the_maximum() -> None:
    caps = [reconnect_cap_s(n) for n in range(8)]
    assert caps[:5] == [
        0.0,
        2 * BACKOFF_FIRST_S,
        4 * BACKOFF_FIRST_S,
        8 * BACKOFF_FIRST_S,
        16 * BACKOFF_FIRST_S,
    ]
    assert caps[-1] == BACKOFF_MAX_S
    assert caps == sorted(caps)
    assert reconnect_cap_s(1000) == BACKOFF_MAX_S  # no overflow however long the node stays away


def test_the_delay_is_drawn_uniformly_between_zero_and_the_cap() -> None:
    seen: list[tuple[float, float]] = []

    def draw(low: float, high: float) -> float:
        seen.append((low, high))
        return high

    assert reconnect_delay(3, draw) == reconnect_cap_s(3)
    assert reconnect_delay(50, draw) == BACKOFF_MAX_S
    assert seen == [(0.0, reconnect_cap_s(3)), (0.0, BACKOFF_MAX_S)]


def test_real_delays_stay_within_their_cap() -> None:
    for failures in range(12):
        assert all(0.0 <= reconnect_delay(failures) <= reconnect_cap_s(failures) for _ in range(50))
