""".NET TimeSpan strings (``d.hh:mm:ss``), the wire format of machine-policy durations.

Clients read and write these strings verbatim, so both directions must round-trip.
"""

from __future__ import annotations

import re

_TIMESPAN = re.compile(r"^(?:(\d+)\.)?(\d{1,2}):(\d{1,2}):(\d{1,2})(?:\.(\d{1,7}))?$")


class InvalidTimeSpan(ValueError):
    pass


def parse_timespan(text: str) -> float:
    match = _TIMESPAN.match(text.strip())
    if match is None:
        raise InvalidTimeSpan(f"'{text}' is not a time span like '1.02:03:04' or '00:05:00'")
    days, hours, minutes, seconds, fraction = match.groups()
    if int(hours) > 23 or int(minutes) > 59 or int(seconds) > 59:
        raise InvalidTimeSpan(f"'{text}' has hours, minutes or seconds out of range")
    total = int(days or 0) * 86400 + int(hours) * 3600 + int(minutes) * 60 + int(seconds)
    return float(total) + (int(fraction) / 10 ** len(fraction) if fraction else 0.0)


def format_timespan(seconds: float) -> str:
    whole = int(seconds)
    fraction = seconds - whole
    days, rest = divmod(whole, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    text = f"{hours:02d}:{minutes:02d}:{secs:02d}"
    if days:
        text = f"{days}.{text}"
    if fraction > 0:
        text += f".{round(fraction * 10**7):07d}"
    return text
