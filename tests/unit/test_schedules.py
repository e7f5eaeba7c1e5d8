"""A scheduled trigger fires at the wall-clock times its filter names, in its time zone, and a
daylight-saving change neither skips a run nor doubles one."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from argonaut.domain.schedules import InvalidSchedule, next_run, parse_filter


def utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


def cron(expression: str, timezone: str = "UTC") -> dict[str, Any]:
    return {"FilterType": "CronExpressionSchedule", "CronExpression": expression, "Timezone": timezone}


def once_daily(start: str, days: Any, timezone: str = "UTC") -> dict[str, Any]:
    return {"FilterType": "OnceDailySchedule", "StartTime": start, "DaysOfWeek": days, "Timezone": timezone}


def continuous(after: str, until: str, days: Any, timezone: str = "UTC", **interval: Any) -> dict[str, Any]:
    return {
        "FilterType": "ContinuousDailySchedule",
        "RunAfter": after,
        "RunUntil": until,
        "DaysOfWeek": days,
        "Timezone": timezone,
        **interval,
    }


def monthly(start: str, timezone: str = "UTC", **which: Any) -> dict[str, Any]:
    return {"FilterType": "DaysPerMonthSchedule", "StartTime": start, "Timezone": timezone, **which}


WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"]

# 2024-03-22 is a Friday. London: clocks go 01:00 GMT -> 02:00 BST on 2024-03-31 and 02:00 BST -> 01:00
# GMT on 2024-10-27. New York: 02:00 EST -> 03:00 EDT on 2024-03-10.
NEXT_RUNS = [
    # Cron, 6 fields with seconds first (the described system's form)
    ("cron 6 fields", cron("0 0 6 * * Mon-Fri"), "2024-03-22T06:00:00", "2024-03-25T06:00:00"),
    ("cron every second", cron("* * * * * *"), "2024-03-22T10:00:00.250", "2024-03-22T10:00:01"),
    ("cron every second, exact", cron("* * * * * *"), "2024-03-22T10:00:01", "2024-03-22T10:00:02"),
    ("cron seconds field", cron("15,45 * * * * *"), "2024-03-22T10:00:15", "2024-03-22T10:00:45"),
    ("cron 7th field is the year", cron("0 0 0 1 1 ? 2030"), "2024-03-22T00:00:00", "2030-01-01T00:00:00"),
    ("cron Quartz last Friday", cron("0 0 9 ? * 5L"), "2024-03-01T00:00:00", "2024-03-29T09:00:00"),
    ("cron third Friday", cron("0 0 9 ? * FRI#3"), "2024-03-01T00:00:00", "2024-03-15T09:00:00"),
    ("cron last day of month", cron("0 0 0 L * ?"), "2024-02-10T00:00:00", "2024-02-29T00:00:00"),
    # Cron, the classic 5 fields (minutes first)
    ("cron 5 fields", cron("*/15 * * * *"), "2024-03-22T10:07:00", "2024-03-22T10:15:00"),
    ("cron in a zone", cron("30 9 * * *", "Europe/Paris"), "2024-03-22T00:00:00", "2024-03-22T08:30:00"),
    ("cron Windows zone id", cron("0 9 * * *", "Eastern Standard Time"), "2024-03-22T00:00:00",
     "2024-03-22T13:00:00"),
    # Daylight saving: a skipped wall time fires when the change happens, not an hour late or never
    ("spring gap, daily", cron("30 1 * * *", "Europe/London"), "2024-03-30T12:00:00", "2024-03-31T01:00:00"),
    ("spring gap, after it", cron("30 1 * * *", "Europe/London"), "2024-03-31T01:00:00",
     "2024-04-01T00:30:00"),
    ("spring gap, New York", cron("0 30 2 * * *", "America/New_York"), "2024-03-09T12:00:00",
     "2024-03-10T07:00:00"),
    ("spring gap, every 20 min", cron("*/20 * * * *", "Europe/London"), "2024-03-31T00:40:00",
     "2024-03-31T01:00:00"),
    ("spring gap, every 20 min on", cron("*/20 * * * *", "Europe/London"), "2024-03-31T01:00:00",
     "2024-03-31T01:20:00"),
    # Daylight saving: a repeated wall time fires once, at its first occurrence
    ("fall fold, first", cron("30 1 * * *", "Europe/London"), "2024-10-26T12:00:00", "2024-10-27T00:30:00"),
    ("fall fold, not again", cron("30 1 * * *", "Europe/London"), "2024-10-27T00:30:00",
     "2024-10-28T01:30:00"),
    ("fall fold, every 20 min", cron("*/20 * * * *", "Europe/London"), "2024-10-27T00:40:00",
     "2024-10-27T02:00:00"),
    ("fall fold, inside the second pass", cron("*/20 * * * *", "Europe/London"), "2024-10-27T01:10:00",
     "2024-10-27T02:00:00"),
    # Once daily: StartTime's time of day on the chosen days
    ("once daily, later today", once_daily("2024-01-01T09:00:00", ["Friday"]), "2024-03-22T08:00:00",
     "2024-03-22T09:00:00"),
    ("once daily, next chosen day", once_daily("2024-01-01T09:00:00.000", ["Monday", "Friday"]),
     "2024-03-22T09:00:00", "2024-03-25T09:00:00"),
    ("once daily, offset ignored", once_daily("2024-01-01T09:00:00+10:00", ["Friday"]),
     "2024-03-22T08:00:00", "2024-03-22T09:00:00"),
    ("once daily, plain time, zone", once_daily("09:00", "Mon,Fri", "Australia/Sydney"),
     "2024-03-22T00:00:00", "2024-03-24T22:00:00"),
    ("once daily, across DST", once_daily("09:00", WEEKDAYS, "Europe/London"), "2024-03-29T09:00:00",
     "2024-04-01T08:00:00"),
    # Continuous daily: RunAfter, then every interval while not past RunUntil
    ("continuous, first of day", continuous("09:00", "17:00", WEEKDAYS), "2024-03-22T07:00:00",
     "2024-03-22T09:00:00"),
    ("continuous, hourly", continuous("09:00", "17:00", WEEKDAYS, Interval="OnceHourly", HourInterval=3),
     "2024-03-22T09:00:00", "2024-03-22T12:00:00"),
    ("continuous, mid-step", continuous("09:00", "17:00", WEEKDAYS, Interval="OnceEveryMinute",
     MinuteInterval=45), "2024-03-22T09:50:00", "2024-03-22T10:30:00"),
    ("continuous, RunUntil inclusive", continuous("09:00", "17:00", WEEKDAYS, Interval="OnceEveryMinute",
     MinuteInterval=60), "2024-03-22T16:00:00", "2024-03-22T17:00:00"),
    ("continuous, past the window", continuous("09:00", "17:00", WEEKDAYS, Interval="OnceEveryMinute",
     MinuteInterval=45), "2024-03-22T16:30:00", "2024-03-25T09:00:00"),
    ("continuous, once daily", continuous("2024-01-01T06:30:00", "2024-01-01T07:00:00", ["Saturday"],
     Interval="OnceDaily"), "2024-03-22T00:00:00", "2024-03-23T06:30:00"),
    # Days per month
    ("monthly date", monthly("03:00", MonthlyScheduleType="DateOfMonth", DateOfMonth="15"),
     "2024-03-22T00:00:00", "2024-04-15T03:00:00"),
    ("monthly date skips short months", monthly("03:00", MonthlyScheduleType="DateOfMonth", DateOfMonth="31"),
     "2024-03-31T03:00:00", "2024-05-31T03:00:00"),
    ("monthly last date", monthly("03:00", MonthlyScheduleType="DateOfMonth", DateOfMonth="L"),
     "2024-02-01T00:00:00", "2024-02-29T03:00:00"),
    ("monthly second Tuesday", monthly("03:00", MonthlyScheduleType="DayOfMonth", DayNumberOfMonth="2",
     DayOfWeek="Tuesday"), "2024-03-22T00:00:00", "2024-04-09T03:00:00"),
    ("monthly last Saturday", monthly("2024-01-01T22:00:00", "America/New_York",
     MonthlyScheduleType="DayOfMonth", DayNumberOfMonth="L", DayOfWeek="Saturday"),
     "2024-03-01T00:00:00", "2024-03-31T02:00:00"),
]  # fmt: skip


@pytest.mark.parametrize(("name", "filter_", "after", "expected"), NEXT_RUNS, ids=[r[0] for r in NEXT_RUNS])
def test_next_run(name: str, filter_: dict[str, Any], after: str, expected: str) -> None:
    assert next_run(filter_, utc(after)) == utc(expected)


NEVER = [
    ("a date no month has", cron("0 0 0 30 2 ?")),
    ("a past year", cron("0 0 0 1 1 ? 2020")),
]


@pytest.mark.parametrize(("name", "filter_"), NEVER, ids=[r[0] for r in NEVER])
def test_a_schedule_that_never_fires_again_has_no_next_run(name: str, filter_: dict[str, Any]) -> None:
    assert next_run(filter_, utc("2024-03-22T00:00:00")) is None


def test_the_answer_is_in_utc_and_strictly_later() -> None:
    after = dt.datetime(2024, 3, 22, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=1)))  # 08:00 UTC
    answer = next_run(cron("0 0 8 * * *"), after)
    assert answer == utc("2024-03-23T08:00:00")
    assert answer is not None and answer.utcoffset() == dt.timedelta(0)


INVALID = [
    ("no type", {}, "Filter.FilterType is required"),
    ("not a schedule", {"FilterType": "MachineFilter"}, "Filter.FilterType must be one of"),
    ("superseded", {"FilterType": "DaysPerWeekSchedule"}, "was replaced by OnceDailySchedule"),
    ("cron missing", {"FilterType": "CronExpressionSchedule"}, "Filter.CronExpression is required"),
    ("cron 4 fields", cron("* * * *"), "must have 6 fields"),
    ("cron out of range", cron("0 0 25 * * *"), "is not a valid cron expression"),
    ("cron W", cron("0 0 0 LW * ?"), "is not a valid cron expression"),
    ("unknown zone", cron("* * * * * *", "Mars/Olympus"), "Timezone: 'Mars/Olympus' is not a time zone"),
    ("zone folder", cron("* * * * * *", "Europe"), "is not a time zone"),
    ("zone path", cron("* * * * * *", "../../etc/passwd"), "is not a time zone"),
    ("no days", once_daily("09:00", []), "Filter.DaysOfWeek must list at least one day"),
    ("bad day", once_daily("09:00", ["Funday"]), "'Funday' is not a day of the week"),
    ("bad time", once_daily("nine", ["Monday"]), "Filter.StartTime must be a time of day"),
    ("window backwards", continuous("17:00", "09:00", WEEKDAYS), "RunUntil must be later in the day"),
    ("bad interval", continuous("09:00", "17:00", WEEKDAYS, Interval="Sometimes"), "Filter.Interval must be"),
    ("hours out of range", continuous("09:00", "17:00", WEEKDAYS, HourInterval=25), "HourInterval must"),
    ("minutes not a number", continuous("09:00", "17:00", WEEKDAYS, Interval="OnceEveryMinute",
     MinuteInterval="5"), "Filter.MinuteInterval must"),
    ("monthly type", monthly("03:00", MonthlyScheduleType="Weekly"), "Filter.MonthlyScheduleType must be"),
    ("monthly date", monthly("03:00", MonthlyScheduleType="DateOfMonth", DateOfMonth="32"),
     "Filter.DateOfMonth must be"),
    ("monthly ordinal", monthly("03:00", MonthlyScheduleType="DayOfMonth", DayNumberOfMonth="5",
     DayOfWeek="Monday"), "Filter.DayNumberOfMonth must be"),
]  # fmt: skip


@pytest.mark.parametrize(("name", "filter_", "message"), INVALID, ids=[r[0] for r in INVALID])
def test_invalid_filters_are_named(name: str, filter_: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidSchedule) as refused:
        parse_filter(filter_)
    assert any(message in error for error in refused.value.errors), refused.value.errors


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(InvalidSchedule) as refused:
        parse_filter(continuous("late", "17:00", ["Funday"], "Nowhere/Town", HourInterval=0))
    assert len(refused.value.errors) == 4, refused.value.errors


CANONICAL = [
    ("days spelled out, order kept", once_daily("09:00", "fri, MON,friday"),
     {"DaysOfWeek": ["Friday", "Monday"], "StartTime": "09:00", "Timezone": "UTC"}),
    ("zone defaults to UTC", {"FilterType": "CronExpressionSchedule", "CronExpression": "* * * * * *"},
     {"Timezone": "UTC"}),
    ("intervals default to 1", continuous("09:00", "17:00", ["Monday"]),
     {"Interval": "OnceHourly", "HourInterval": 1}),
    ("Windows id kept as written", cron("* * * * * *", "GMT Standard Time"),
     {"Timezone": "GMT Standard Time"}),
]  # fmt: skip


@pytest.mark.parametrize(("name", "filter_", "expected"), CANONICAL, ids=[r[0] for r in CANONICAL])
def test_the_stored_filter_is_canonical(name: str, filter_: dict[str, Any], expected: dict[str, Any]) -> None:
    document = parse_filter(filter_).document
    assert {key: document[key] for key in expected} == expected
