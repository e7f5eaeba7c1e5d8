"""Log line stamps, made a page at a time, are what ``datetime`` writes for the same instant: rounded to
the microsecond as it rounds, then cut to the millisecond."""

from __future__ import annotations

import datetime as dt
import random

from argonaut.api.task_logs import _Stamps


def _expected(occurred: float, clock_only: bool) -> str:
    at = dt.datetime.fromtimestamp(occurred, dt.UTC)
    if clock_only:
        return at.time().isoformat(timespec="milliseconds")
    return at.isoformat(timespec="milliseconds")


def test_a_page_of_stamps_matches_datetime_across_seconds_and_roundings() -> None:
    base = 1_764_650_000
    tricky = [base + 0.9999996, base + 0.0005, base + 0.0004999, base + 1.9999994, base + 59.999, base + 60.0]
    generator = random.Random(13)
    spread = sorted(base + generator.random() * 5 for _ in range(2_000))
    rows = [(n, "a", occurred, "Info", "x", None) for n, occurred in enumerate(tricky + spread + tricky)]
    for fmt, suffix, clock_only in (("%H:%M:%S", "", True), ("%Y-%m-%dT%H:%M:%S", "+00:00", False)):
        stamps = _Stamps(fmt, suffix)
        made = stamps.page(rows[:700]) + stamps.page(rows[700:])  # the second page starts mid-second
        assert made == [_expected(row[2], clock_only) for row in rows]
