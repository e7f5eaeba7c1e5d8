"""Time zones of schedules: names as the described system's clients send them, and wall-clock times
turned into instants without surprises at daylight-saving changes.

The described system runs on Windows and its clients send either IANA names (``Europe/London``) or
Windows ids (``GMT Standard Time``). IANA names go to the standard library's ``zoneinfo``; the Windows
ids seen most often map to their IANA zone (the Unicode CLDR ``windowsZones`` table, territory 001), so
a trigger exported from the described system keeps its meaning here.

Wall-clock times that a daylight-saving change skips or repeats (``instant``):

- a skipped time (02:30 on a spring-forward night) fires at the change itself, the first instant the
  day has passed it (03:00 in the new offset), as cron does, rather than an hour late or not at all;
- a repeated time (01:30 on a fall-back night) fires at its first occurrence only, so a daily trigger
  never runs twice in one night.

With both rules the instant grows with the wall time, so the first wall time whose instant is after a
moment is the next run.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

UTC = dt.UTC
MAX_NAME = 100

# Windows id (case-insensitive) -> IANA zone: the common ones, from CLDR's windowsZones (territory 001).
WINDOWS_ZONES = {
    "utc": "UTC",
    "coordinated universal time": "UTC",
    "gmt standard time": "Europe/London",
    "greenwich standard time": "Atlantic/Reykjavik",
    "w. europe standard time": "Europe/Berlin",
    "central europe standard time": "Europe/Budapest",
    "central european standard time": "Europe/Warsaw",
    "romance standard time": "Europe/Paris",
    "e. europe standard time": "Europe/Chisinau",
    "russian standard time": "Europe/Moscow",
    "eastern standard time": "America/New_York",
    "central standard time": "America/Chicago",
    "mountain standard time": "America/Denver",
    "us mountain standard time": "America/Phoenix",
    "pacific standard time": "America/Los_Angeles",
    "alaskan standard time": "America/Anchorage",
    "hawaiian standard time": "Pacific/Honolulu",
    "atlantic standard time": "America/Halifax",
    "e. south america standard time": "America/Sao_Paulo",
    "south africa standard time": "Africa/Johannesburg",
    "india standard time": "Asia/Kolkata",
    "china standard time": "Asia/Shanghai",
    "singapore standard time": "Asia/Singapore",
    "tokyo standard time": "Asia/Tokyo",
    "aus eastern standard time": "Australia/Sydney",
    "e. australia standard time": "Australia/Brisbane",
    "w. australia standard time": "Australia/Perth",
    "new zealand standard time": "Pacific/Auckland",
}


class UnknownTimeZone(ValueError):
    pass


def zone(name: str) -> ZoneInfo:
    """The zone an IANA name or a common Windows id names; ``UnknownTimeZone`` says which it was not."""
    text = name.strip()
    mapped = WINDOWS_ZONES.get(text.casefold(), text)
    if not text or len(text) > MAX_NAME:
        raise UnknownTimeZone(f"'{name}' is not a time zone")
    try:
        return ZoneInfo(mapped)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a folder such as "Europe"
        raise UnknownTimeZone(
            f"'{name}' is not a time zone: use an IANA name such as 'Europe/London', or one of the common "
            "Windows ids such as 'GMT Standard Time'"
        ) from None


def wall_time(moment: dt.datetime, tz: ZoneInfo) -> dt.datetime:
    """The naive wall-clock time at ``moment`` (an aware datetime) in ``tz``."""
    return moment.astimezone(tz).replace(tzinfo=None)


def instant(wall: dt.datetime, tz: ZoneInfo) -> dt.datetime:
    """The UTC instant a naive wall-clock time of ``tz`` fires at (see the module's rules)."""
    first = wall.replace(tzinfo=tz, fold=0).astimezone(UTC)
    if wall_time(first, tz) == wall:
        return first  # it exists; fold 0 is the first of two occurrences
    return _change_within(wall.replace(tzinfo=tz, fold=1).astimezone(UTC), first, tz)


def _change_within(low: dt.datetime, high: dt.datetime, tz: ZoneInfo) -> dt.datetime:
    """The instant in (low, high] where ``tz`` takes its new offset: the end of a skipped span.

    ``low`` reads the skipped time with the offset after the change, ``high`` with the one before, so
    the change lies between them; offsets change on whole seconds.
    """
    after = high.astimezone(tz).utcoffset()
    lo, hi = int(low.timestamp()), int(high.timestamp())
    while hi - lo > 1:
        middle = (lo + hi) // 2
        if dt.datetime.fromtimestamp(middle, tz).utcoffset() == after:
            hi = middle
        else:
            lo = middle
    return dt.datetime.fromtimestamp(hi, UTC)
