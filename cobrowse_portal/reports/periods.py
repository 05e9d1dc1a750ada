"""The period a report covers: the last complete day, week (Monday-Sunday) or
month before a moment, in the workspace's time zone.

Local midnights are built as wall-clock times in the zone (zoneinfo), so a day
across a DST change is 23 or 25 hours long and still starts at local midnight.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .models import Frequency


def zone_of(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def local_midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=zone).astimezone(UTC)


@dataclass(frozen=True)
class Period:
    frequency: str
    zone: ZoneInfo
    first_day: date  # local, inclusive
    end_day: date  # local, exclusive
    prev_first_day: date

    @property
    def start(self) -> datetime:
        return local_midnight(self.first_day, self.zone)

    @property
    def end(self) -> datetime:
        return local_midnight(self.end_day, self.zone)

    @property
    def prev_start(self) -> datetime:
        return local_midnight(self.prev_first_day, self.zone)

    @property
    def last_day(self) -> date:
        return self.end_day - timedelta(days=1)

    @property
    def label(self) -> str:
        if self.frequency == Frequency.DAILY:
            return self.first_day.isoformat()
        if self.frequency == Frequency.MONTHLY:
            return self.first_day.strftime("%B %Y")
        return f"{self.first_day.isoformat()} – {self.last_day.isoformat()}"


def _month_start(day: date, back: int = 0) -> date:
    month = day.year * 12 + (day.month - 1) - back
    return date(month // 12, month % 12 + 1, 1)


def last_complete(frequency: str, zone: ZoneInfo, now: datetime) -> Period:
    """The last complete period before `now` (aware) in `zone`."""
    today = now.astimezone(zone).date()
    if frequency == Frequency.DAILY:
        first = today - timedelta(days=1)
        return Period(frequency, zone, first, today, first - timedelta(days=1))
    if frequency == Frequency.WEEKLY:
        this_monday = today - timedelta(days=today.weekday())
        first = this_monday - timedelta(days=7)
        return Period(frequency, zone, first, this_monday, first - timedelta(days=7))
    if frequency == Frequency.MONTHLY:
        end = _month_start(today)
        return Period(
            frequency, zone, _month_start(today, 1), end, _month_start(today, 2)
        )
    raise ValueError(f"unknown frequency {frequency!r}")
