"""Scheduled triggers' schedules as pure rules: what a ``Filter`` may say, and when it fires next.

A filter is the described system's JSON (``FilterType`` plus that type's fields and a ``Timezone``).
:func:`parse_filter` checks one and reports every problem at once; :func:`next_run` answers the first
instant strictly after a given one, in UTC. Every type is turned into the same thing, a series of
wall-clock times in the trigger's zone, and ``time_zones.instant`` places each one in time, so the
daylight-saving rules live in one place.

Choices where the described system leaves room:

- ``CronExpressionSchedule``: 6 fields with seconds first (the described system's form, an optional 7th
  being the year), or the classic 5 fields (minutes first, seconds 0). Quartz's last-weekday-of-month
  ``5L`` in the day-of-week field is read as ``L5``; ``W`` and ``LW`` are refused, the library lacking them.
- ``StartTime``, ``RunAfter`` and ``RunUntil`` count for their time of day only, a wall-clock time in
  the trigger's ``Timezone``; their date and any offset written with them are ignored (the described
  system's editor picks a time, and its clients send a date-time). ``HH:MM[:SS]`` is taken too.
- ``DaysOfWeek`` is a list of day names (or one comma-separated string); at least one day is needed.
- ``ContinuousDailySchedule`` runs at ``RunAfter`` and then every interval while not past ``RunUntil``,
  each chosen day; ``RunUntil`` must come after ``RunAfter`` (no windows across midnight). ``Interval``
  defaults to ``OnceHourly``, the intervals to 1.
- ``DaysPerMonthSchedule``: a date that a month lacks (the 31st in April) is skipped that month, as in
  cron; ``L`` means the last day, or the last such weekday.
- ``DailySchedule`` and ``DaysPerWeekSchedule``, which the described system replaced by the two daily
  forms, are refused with a message naming them.
- ``Timezone`` defaults to UTC.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from croniter import croniter
from croniter.croniter import CroniterError

from argonaut.domain.time_zones import UnknownTimeZone, instant, wall_time, zone

MAX_CANDIDATES = 200_000  # wall times looked at before a schedule is taken to never fire again
MAX_CRON = 200


class FilterType(StrEnum):
    CRON = "CronExpressionSchedule"
    ONCE_DAILY = "OnceDailySchedule"
    CONTINUOUS_DAILY = "ContinuousDailySchedule"
    DAYS_PER_MONTH = "DaysPerMonthSchedule"


class Interval(StrEnum):
    ONCE_HOURLY = "OnceHourly"
    ONCE_EVERY_MINUTE = "OnceEveryMinute"
    ONCE_DAILY = "OnceDaily"


SUPERSEDED = ("DailySchedule", "DaysPerWeekSchedule")
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")  # date.weekday()
_DAY_NAMES = {name.casefold(): i for i, name in enumerate(WEEKDAYS)} | {
    name[:3].casefold(): i for i, name in enumerate(WEEKDAYS)
}
_QUARTZ_LAST_WEEKDAY = re.compile(r"^([0-7]|[A-Za-z]{3})L$")

WallTimes = Callable[[dt.datetime], Iterator[dt.datetime]]
"""Given a naive wall time, the schedule's wall times strictly after it, in order."""


class InvalidSchedule(ValueError):
    def __init__(self, errors: list[str]) -> None:
        super().__init__(errors[0])
        self.errors = errors


@dataclass(frozen=True, slots=True)
class Schedule:
    """A checked filter: its canonical JSON, its zone, and its wall times."""

    document: dict[str, Any]
    tz: ZoneInfo
    wall_times: WallTimes


def parse_filter(raw: Mapping[str, Any]) -> Schedule:
    """Check a trigger's ``Filter``; ``InvalidSchedule`` lists every problem, each naming its field."""
    errors: list[str] = []
    given = raw.get("FilterType")
    kind = given if isinstance(given, str) else None
    if kind in SUPERSEDED:
        raise InvalidSchedule(
            [f"Filter.FilterType '{kind}' was replaced by OnceDailySchedule and ContinuousDailySchedule"]
        )
    if kind not in set(FilterType):
        known = ", ".join(FilterType)
        if given is None:
            raise InvalidSchedule([f"Filter.FilterType is required: one of {known}"])
        raise InvalidSchedule([f"Filter.FilterType must be one of {known} (schedules only), not {given!r}"])
    timezone = raw.get("Timezone") or "UTC"
    tz = ZoneInfo("UTC")
    if not isinstance(timezone, str):
        errors.append("Filter.Timezone must be a time zone name")
    else:
        try:
            tz = zone(timezone)
        except UnknownTimeZone as exc:
            errors.append(f"Filter.Timezone: {exc}")
    document: dict[str, Any] = {"FilterType": kind, "Timezone": timezone}
    wall_times = _PARSERS[FilterType(str(kind))](raw, document, errors)
    if errors or wall_times is None:
        raise InvalidSchedule(errors)
    return Schedule(document, tz, wall_times)


def next_run(filter: Mapping[str, Any] | Schedule, after: dt.datetime) -> dt.datetime | None:
    """The first instant strictly after ``after`` (aware) at which the schedule fires, in UTC; None when
    it never fires again (a cron naming a past year, or a date no month has)."""
    schedule = filter if isinstance(filter, Schedule) else parse_filter(filter)
    for count, wall in enumerate(schedule.wall_times(wall_time(after, schedule.tz))):
        if count >= MAX_CANDIDATES:
            return None
        moment = instant(wall, schedule.tz)
        if moment > after:
            return moment
    return None


# --- The types -------------------------------------------------------------------------------------


def _cron(raw: Mapping[str, Any], document: dict[str, Any], errors: list[str]) -> WallTimes | None:
    expression = raw.get("CronExpression")
    if not isinstance(expression, str) or not expression.strip():
        errors.append("Filter.CronExpression is required, e.g. '0 0 6 * * Mon-Fri' (06:00 on weekdays)")
        return None
    document["CronExpression"] = expression
    fields = expression.split()
    if len(fields) not in (5, 6, 7) or len(expression) > MAX_CRON:
        errors.append(
            f"Filter.CronExpression '{expression}' must have 6 fields (seconds minutes hours day-of-month "
            "month day-of-week) and optionally a 7th for the year, or the classic 5 (no seconds)"
        )
        return None
    with_seconds = len(fields) >= 6
    day_of_week = 5 if with_seconds else 4
    fields[day_of_week] = _QUARTZ_LAST_WEEKDAY.sub(r"L\1", fields[day_of_week])
    text = " ".join(fields)
    try:
        croniter(text, dt.datetime(2000, 1, 1), second_at_beginning=with_seconds)
    except CroniterError as exc:
        errors.append(f"Filter.CronExpression '{expression}' is not a valid cron expression ({exc})")
        return None

    def wall_times(start: dt.datetime) -> Iterator[dt.datetime]:
        series = croniter(text, start, ret_type=dt.datetime, second_at_beginning=with_seconds)
        while True:
            try:
                yield series.get_next(dt.datetime)
            except CroniterError:  # no match within the library's horizon: it never fires again
                return

    return wall_times


def _once_daily(raw: Mapping[str, Any], document: dict[str, Any], errors: list[str]) -> WallTimes | None:
    at = _time_of_day(raw, "StartTime", document, errors)
    days = _days_of_week(raw, document, errors)
    if at is None or days is None:
        return None

    def wall_times(start: dt.datetime) -> Iterator[dt.datetime]:
        for day in _days_from(start.date()):
            moment = dt.datetime.combine(day, at)
            if day.weekday() in days and moment > start:
                yield moment

    return wall_times


def _continuous_daily(
    raw: Mapping[str, Any], document: dict[str, Any], errors: list[str]
) -> WallTimes | None:
    begin = _time_of_day(raw, "RunAfter", document, errors)
    end = _time_of_day(raw, "RunUntil", document, errors)
    days = _days_of_week(raw, document, errors)
    step = _step(raw, document, errors)
    if begin is None or end is None or days is None or step is None:
        return None
    if end <= begin:
        errors.append("Filter.RunUntil must be later in the day than Filter.RunAfter")
        return None
    length = dt.datetime.combine(dt.date.min, end) - dt.datetime.combine(dt.date.min, begin)

    def wall_times(start: dt.datetime) -> Iterator[dt.datetime]:
        for day in _days_from(start.date()):
            if day.weekday() not in days:
                continue
            first = dt.datetime.combine(day, begin)
            offset = step * ((start - first) // step + 1) if start >= first else dt.timedelta(0)
            while offset <= length:
                yield first + offset
                offset += step

    return wall_times


def _days_per_month(raw: Mapping[str, Any], document: dict[str, Any], errors: list[str]) -> WallTimes | None:
    at = _time_of_day(raw, "StartTime", document, errors)
    kind = raw.get("MonthlyScheduleType")
    document["MonthlyScheduleType"] = kind
    pick: Callable[[int, int], dt.date | None] | None = None
    if kind == "DateOfMonth":
        pick = _date_of_month(raw, document, errors)
    elif kind == "DayOfMonth":
        pick = _weekday_of_month(raw, document, errors)
    else:
        errors.append(f"Filter.MonthlyScheduleType must be DateOfMonth or DayOfMonth, not '{kind}'")
    if at is None or pick is None:
        return None
    chosen = pick

    def wall_times(start: dt.datetime) -> Iterator[dt.datetime]:
        year, month = start.year, start.month
        while year <= dt.MAXYEAR - 1:
            day = chosen(year, month)
            if day is not None and dt.datetime.combine(day, at) > start:
                yield dt.datetime.combine(day, at)
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)

    return wall_times


_PARSERS: dict[FilterType, Callable[[Mapping[str, Any], dict[str, Any], list[str]], WallTimes | None]] = {
    FilterType.CRON: _cron,
    FilterType.ONCE_DAILY: _once_daily,
    FilterType.CONTINUOUS_DAILY: _continuous_daily,
    FilterType.DAYS_PER_MONTH: _days_per_month,
}


# --- Fields ----------------------------------------------------------------------------------------


def _time_of_day(
    raw: Mapping[str, Any], field: str, document: dict[str, Any], errors: list[str]
) -> dt.time | None:
    """A time of day from ``2024-03-22T09:00:00(.000)(Z)`` or ``09:00(:00)``; kept as the client wrote it."""
    text = raw.get(field)
    document[field] = text
    if isinstance(text, str) and text.strip():
        value = text.strip()
        try:
            if "T" in value or " " in value:
                return dt.datetime.fromisoformat(value).time().replace(tzinfo=None, microsecond=0)
            return dt.time.fromisoformat(value).replace(tzinfo=None, microsecond=0)
        except ValueError:
            pass
    errors.append(
        f"Filter.{field} must be a time of day such as '2024-03-22T09:00:00' or '09:00', not {text!r}"
    )
    return None


def _days_of_week(
    raw: Mapping[str, Any], document: dict[str, Any], errors: list[str]
) -> frozenset[int] | None:
    given = raw.get("DaysOfWeek")
    names = given.split(",") if isinstance(given, str) else given
    if not isinstance(names, list) or not names:
        errors.append("Filter.DaysOfWeek must list at least one day, e.g. ['Monday', 'Friday']")
        return None
    days: list[int] = []
    problems = len(errors)
    for name in names:
        number = _DAY_NAMES.get(name.strip().casefold()) if isinstance(name, str) else None
        if number is None:
            errors.append(f"Filter.DaysOfWeek: {name!r} is not a day of the week")
        elif number not in days:
            days.append(number)
    document["DaysOfWeek"] = [WEEKDAYS[d] for d in days]
    return frozenset(days) if len(errors) == problems else None


def _step(raw: Mapping[str, Any], document: dict[str, Any], errors: list[str]) -> dt.timedelta | None:
    given = raw.get("Interval") or Interval.ONCE_HOURLY.value
    document["Interval"] = given
    interval = given if isinstance(given, str) else ""
    if interval == Interval.ONCE_DAILY:
        return dt.timedelta(days=1)
    limits = {
        Interval.ONCE_HOURLY: ("HourInterval", 24, "hours"),
        Interval.ONCE_EVERY_MINUTE: ("MinuteInterval", 1440, "minutes"),
    }
    if interval not in limits:
        errors.append(f"Filter.Interval must be OnceHourly, OnceEveryMinute or OnceDaily, not {given!r}")
        return None
    field, most, unit = limits[Interval(interval)]
    count = raw.get(field)
    count = 1 if count is None else count
    document[field] = count
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= most:
        errors.append(f"Filter.{field} must be a whole number of {unit} from 1 to {most}, not {count!r}")
        return None
    return dt.timedelta(hours=count) if unit == "hours" else dt.timedelta(minutes=count)


def _date_of_month(
    raw: Mapping[str, Any], document: dict[str, Any], errors: list[str]
) -> Callable[[int, int], dt.date | None] | None:
    text = str(raw.get("DateOfMonth") or "").strip()
    document["DateOfMonth"] = raw.get("DateOfMonth")
    if text.upper() == "L":
        return lambda year, month: dt.date(year, month, calendar.monthrange(year, month)[1])
    if text.isdigit() and 1 <= int(text) <= 31:
        number = int(text)
        return lambda year, month: (
            dt.date(year, month, number) if number <= calendar.monthrange(year, month)[1] else None
        )
    errors.append(f"Filter.DateOfMonth must be a day from 1 to 31, or L for the last, not {text!r}")
    return None


def _weekday_of_month(
    raw: Mapping[str, Any], document: dict[str, Any], errors: list[str]
) -> Callable[[int, int], dt.date | None] | None:
    ordinal = str(raw.get("DayNumberOfMonth") or "").strip().upper()
    name = raw.get("DayOfWeek")
    weekday = _DAY_NAMES.get(name.strip().casefold()) if isinstance(name, str) else None
    document["DayNumberOfMonth"] = raw.get("DayNumberOfMonth")
    document["DayOfWeek"] = WEEKDAYS[weekday] if weekday is not None else name
    problems = len(errors)
    if ordinal != "L" and ordinal not in ("1", "2", "3", "4"):
        errors.append(f"Filter.DayNumberOfMonth must be 1, 2, 3, 4 or L for the last, not {ordinal!r}")
    if weekday is None:
        errors.append(f"Filter.DayOfWeek must be a day of the week, not {name!r}")
    if len(errors) > problems or weekday is None:
        return None
    day_of_week = weekday

    def pick(year: int, month: int) -> dt.date:
        days = [
            dt.date(year, month, d)
            for d in range(1, calendar.monthrange(year, month)[1] + 1)
            if dt.date(year, month, d).weekday() == day_of_week
        ]
        return days[-1] if ordinal == "L" else days[int(ordinal) - 1]

    return pick


def _days_from(first: dt.date) -> Iterator[dt.date]:
    day = first
    while day < dt.date.max:
        yield day
        day += dt.timedelta(days=1)
