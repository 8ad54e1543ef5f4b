"""Business-time arithmetic and the SLA targets it serves.

Pure and clock-injected: every function takes the instant to start from.
Business hours are counted in the support team's own time zone, skipping
weekends and holidays (the `holidays` package, kept behind this module), so
"first answer within 12 business hours" means what the seeds promise.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays as holiday_tables

from gateway.domain import Priority

Weekday = int  # Monday is 0, as in datetime.weekday()

DEFAULT_HOURS: Mapping[Weekday, tuple[time, time]] = {
    day: (time(8, 0), time(18, 0)) for day in range(5)
}


def national_holidays(
    country: str = "BR", subdivision: str | None = None
) -> Callable[[date], bool]:
    """A holiday test backed by the `holidays` package (years load on demand)."""
    table = holiday_tables.country_holidays(country, subdiv=subdivision)
    return lambda day: day in table


@dataclass(frozen=True)
class BusinessCalendar:
    """When the support team works: hours per weekday, minus holidays."""

    zone: ZoneInfo
    hours: Mapping[Weekday, tuple[time, time]] = field(default_factory=lambda: DEFAULT_HOURS)
    is_holiday: Callable[[date], bool] = field(default=lambda _day: False)

    def window(self, day: date) -> tuple[datetime, datetime] | None:
        """The open and close instants of a day, or None if nobody works then."""
        span = self.hours.get(day.weekday())
        if span is None or self.is_holiday(day):
            return None
        opens = datetime.combine(day, span[0], tzinfo=self.zone)
        closes = datetime.combine(day, span[1], tzinfo=self.zone)
        return opens, closes

    def is_open(self, instant: datetime) -> bool:
        """Whether the team is at work at `instant`."""
        local = instant.astimezone(self.zone)
        window = self.window(local.date())
        return window is not None and window[0] <= local < window[1]

    def add_hours(self, start: datetime, hours: float) -> datetime:
        """The instant `hours` business hours after `start`."""
        remaining = timedelta(hours=hours)
        cursor = start.astimezone(self.zone)
        day = cursor.date()
        for _ in range(3660):  # ten years of days: a calendar with no open day ends here
            window = self.window(day)
            if window is not None:
                opens, closes = window
                begin = max(cursor, opens)
                if begin < closes:
                    available = closes - begin
                    if remaining <= available:
                        return begin + remaining
                    remaining -= available
            day += timedelta(days=1)
        raise ValueError("the business calendar has no working hours")

    def add_days(self, start: datetime, days: int) -> datetime:
        """The same time of day `days` business days later (end of day if closed)."""
        cursor = start.astimezone(self.zone)
        day = cursor.date()
        counted = 0
        while counted < days:
            day += timedelta(days=1)
            if self.window(day) is not None:
                counted += 1
        window = self.window(day)
        if window is None:
            return cursor
        opens, closes = window
        candidate = datetime.combine(day, cursor.timetz().replace(tzinfo=None), tzinfo=self.zone)
        return min(max(candidate, opens), closes)


@dataclass(frozen=True)
class SlaTargets:
    """First-response and resolution targets per priority, in business hours."""

    first_response_hours: Mapping[Priority, float]
    resolution_hours: Mapping[Priority, float]

    @classmethod
    def seeds_default(cls) -> SlaTargets:
        """Seed 004: a first answer within 12 h; seed 003: resolved within 3 business days."""
        return cls(
            first_response_hours={
                Priority.CRITICAL: 1,
                Priority.HIGH: 4,
                Priority.MEDIUM: 8,
                Priority.NORMAL: 12,
            },
            resolution_hours={
                Priority.CRITICAL: 10,
                Priority.HIGH: 20,
                Priority.MEDIUM: 30,
                Priority.NORMAL: 30,
            },
        )

    def due_times(
        self, calendar: BusinessCalendar, opened_at: datetime, priority: Priority
    ) -> tuple[datetime, datetime]:
        return (
            calendar.add_hours(opened_at, self.first_response_hours[priority]),
            calendar.add_hours(opened_at, self.resolution_hours[priority]),
        )
