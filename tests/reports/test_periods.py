"""The period of a report in the workspace's time zone, across DST changes."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from cobrowse_portal.reports.periods import last_complete

AMS = ZoneInfo("Europe/Amsterdam")


def local(*args):
    return datetime(*args, tzinfo=AMS)


@pytest.mark.parametrize(
    ("now", "day", "hours"),
    [
        # 07:00 on the Monday after the spring change: Sunday 29 March had 23 hours.
        (local(2026, 3, 30, 7), date(2026, 3, 29), 23),
        # 07:00 on the day of the change itself: Saturday, 24 hours, CET.
        (local(2026, 3, 29, 7), date(2026, 3, 28), 24),
        # Autumn: Sunday 25 October 2026 had 25 hours.
        (local(2026, 10, 26, 7), date(2026, 10, 25), 25),
        # 00:30 local is still the previous UTC day: the local day counts.
        (local(2026, 7, 2, 0, 30), date(2026, 7, 1), 24),
    ],
)
def test_daily_period_is_the_previous_local_day(now, day, hours):
    p = last_complete("daily", AMS, now.astimezone(UTC))
    assert (p.first_day, p.last_day) == (day, day)
    assert p.start == local(day.year, day.month, day.day).astimezone(UTC)
    assert p.start.astimezone(AMS).hour == 0 and p.end.astimezone(AMS).hour == 0
    assert p.end - p.start == timedelta(hours=hours)
    assert p.prev_first_day == day - timedelta(days=1)


def test_daily_boundaries_in_utc_across_the_spring_change():
    p = last_complete("daily", AMS, local(2026, 3, 30, 7).astimezone(UTC))
    assert p.start == datetime(2026, 3, 28, 23, tzinfo=UTC)  # 00:00 CET
    assert p.end == datetime(2026, 3, 29, 22, tzinfo=UTC)  # 00:00 CEST


def test_weekly_covers_monday_to_sunday_local_across_dst():
    # The week that ends with the autumn change (Sunday 25 October 2026).
    now = local(2026, 10, 28, 7).astimezone(UTC)  # a Wednesday
    p = last_complete("weekly", AMS, now)
    assert p.first_day == date(2026, 10, 19) and p.last_day == date(2026, 10, 25)
    assert p.first_day.weekday() == 0 and p.last_day.weekday() == 6
    assert p.end - p.start == timedelta(days=7, hours=1)  # 25-hour Sunday
    assert p.prev_first_day == date(2026, 10, 12)


def test_monthly_is_the_previous_calendar_month():
    p = last_complete("monthly", AMS, local(2026, 4, 1, 7).astimezone(UTC))
    assert (p.first_day, p.end_day) == (date(2026, 3, 1), date(2026, 4, 1))
    assert p.prev_first_day == date(2026, 2, 1)
    assert p.end - p.start == timedelta(days=31, hours=-1)
    january = last_complete("monthly", AMS, local(2026, 1, 5, 7).astimezone(UTC))
    assert (january.first_day, january.prev_first_day) == (
        date(2025, 12, 1),
        date(2025, 11, 1),
    )
