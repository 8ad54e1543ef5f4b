"""Business-time arithmetic and the SLA targets it serves.

Pure and clock-injected: every function takes the instant to start from.
Business hours are counted in the support team's own time zone, skipping
weekends and holidays (the `holidays` package, kept behind this module), so
"first answer within 12 business hours" means what the seeds promise.

Opening hours are wall-clock times of a weekday; all arithmetic between
instants is done in UTC, so a DST change on a working day (a shorter or
longer window) is counted by the real time that passes, never by the clock
on the wall.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays as holiday_tables

Weekday = int  # Monday is 0, as in datetime.weekday()
Span = tuple[time, time]

DEFAULT_HOURS: Mapping[Weekday, tuple[time, time]] = {
    day: (time(8, 0), time(18, 0)) for day in range(5)
}
# As a closing time, midnight is the end of the day ("24:00" in policy.yaml), never its start.
MIDNIGHT = time(0)
_MAX_DAYS = 3660  # ten years: a calendar with no working day at all ends the search here
ZERO = timedelta(0)


def national_holidays(
    country: str = "BR", subdivision: str | None = None, extra: Sequence[date] = ()
) -> Callable[[date], bool]:
    """A holiday test backed by the `holidays` package (years load on demand)."""
    table = holiday_tables.country_holidays(country, subdiv=subdivision)
    added = frozenset(extra)
    return lambda day: day in added or day in table


def _spans(value: tuple[time, time] | Sequence[tuple[time, time]]) -> tuple[Span, ...]:
    """One (open, close) pair or several (a lunch break) as a tuple of pairs."""
    if len(value) == 2 and all(isinstance(v, time) for v in value):
        return ((value[0], value[1]),)  # type: ignore[return-value]
    return tuple((opens, closes) for opens, closes in value)  # type: ignore[misc]


@dataclass(frozen=True)
class BusinessCalendar:
    """When the support team works: hours per weekday, minus holidays."""

    zone: ZoneInfo
    hours: Mapping[Weekday, tuple[time, time] | Sequence[tuple[time, time]]] = field(
        default_factory=lambda: DEFAULT_HOURS
    )
    is_holiday: Callable[[date], bool] = field(default=lambda _day: False)
    # Each day's windows, worked out once: a due time walks the same days again and again
    # (a reloaded policy is a new calendar, with a new memo).
    _memo: dict[date, tuple[tuple[datetime, datetime], ...]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    # --- the working windows -------------------------------------------------------

    def windows(self, day: date) -> tuple[tuple[datetime, datetime], ...]:
        """The working intervals of a local day as UTC instants, earliest first."""
        found = self._memo.get(day)
        if found is None:
            found = self._memo[day] = self._windows(day)
        return found

    def _windows(self, day: date) -> tuple[tuple[datetime, datetime], ...]:
        spans = self.hours.get(day.weekday())
        if not spans or self.is_holiday(day):
            return ()
        out = []
        for opens, closes in _spans(spans):
            start = datetime.combine(day, opens, tzinfo=self.zone).astimezone(UTC)
            closing_day = day + timedelta(days=1) if closes == MIDNIGHT else day
            end = datetime.combine(closing_day, closes, tzinfo=self.zone).astimezone(UTC)
            if end > start:
                out.append((start, end))
        return tuple(out)

    def window(self, day: date) -> tuple[datetime, datetime] | None:
        """The first opening and last closing of a day, or None if nobody works then."""
        found = self.windows(day)
        return (found[0][0], found[-1][1]) if found else None

    def _forward(self, start: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Working intervals that end at or after `start`, clipped to begin there."""
        day = start.astimezone(self.zone).date() - timedelta(days=1)  # a window may cross UTC
        for _ in range(_MAX_DAYS):
            for opens, closes in self.windows(day):
                if closes >= start:
                    yield max(opens, start), closes
            day += timedelta(days=1)
        raise ValueError("the business calendar has no working hours")

    def _backward(self, end: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Working intervals that begin at or before `end`, clipped to end there, latest first."""
        day = end.astimezone(self.zone).date() + timedelta(days=1)
        for _ in range(_MAX_DAYS):
            for opens, closes in reversed(self.windows(day)):
                if opens <= end:
                    yield opens, min(closes, end)
            day -= timedelta(days=1)
        raise ValueError("the business calendar has no working hours")

    # --- questions -------------------------------------------------------------------

    def is_open(self, instant: datetime) -> bool:
        """Whether the team is at work at `instant`."""
        utc = instant.astimezone(UTC)
        local_day = instant.astimezone(self.zone).date()
        return any(opens <= utc < closes for opens, closes in self.windows(local_day))

    def within_hours(self, instant: datetime) -> bool:
        """Open, or exactly at a closing time (where a due time may land)."""
        utc = instant.astimezone(UTC)
        local_day = instant.astimezone(self.zone).date()
        return any(opens <= utc <= closes for opens, closes in self.windows(local_day))

    # --- arithmetic ------------------------------------------------------------------

    def add(self, start: datetime, span: timedelta) -> datetime:
        """The instant `span` of business time after `start` (in the calendar's zone).

        A zero span moves a closed instant to the next opening; a result never
        lies outside the working windows (it may be exactly a closing time).
        """
        if span < ZERO:
            return self.subtract(start, -span)
        remaining = span
        cursor = start.astimezone(UTC)
        for begin, closes in self._forward(cursor):
            available = closes - begin
            if remaining <= available:
                return (begin + remaining).astimezone(self.zone)
            remaining -= available
        raise AssertionError("unreachable")

    def subtract(self, end: datetime, span: timedelta) -> datetime:
        """The instant `span` of business time before `end`: the mirror of `add`."""
        if span < ZERO:
            return self.add(end, -span)
        remaining = span
        cursor = end.astimezone(UTC)
        for opens, finish in self._backward(cursor):
            available = finish - opens
            if remaining <= available:
                return (finish - remaining).astimezone(self.zone)
            remaining -= available
        raise AssertionError("unreachable")

    def between(self, start: datetime, end: datetime) -> timedelta:
        """Business time from `start` to `end` (zero when `end` is not later)."""
        a, b = start.astimezone(UTC), end.astimezone(UTC)
        if b <= a:
            return ZERO
        total = ZERO
        for opens, closes in self._forward(a):
            if opens >= b:
                break
            total += min(closes, b) - opens
        return total

    def add_hours(self, start: datetime, hours: float) -> datetime:
        """The instant `hours` business hours after `start`."""
        return self.add(start, timedelta(hours=hours))

    def add_days(self, start: datetime, days: int) -> datetime:
        """The same time of day `days` business days later, kept inside that day's hours.

        "5 dias úteis" in the seeds: day counting starts the day after `start`,
        and a time of day outside the hours moves to that day's opening or closing.
        """
        local = start.astimezone(self.zone)
        day = local.date()
        counted = 0
        for _ in range(_MAX_DAYS):
            if counted >= days:
                break
            day += timedelta(days=1)
            if self.windows(day):
                counted += 1
        else:
            raise ValueError("the business calendar has no working hours")
        if days <= 0:
            return self.add(start, ZERO)
        window = self.window(day)
        assert window is not None
        opens, closes = window
        candidate = datetime.combine(day, local.time(), tzinfo=self.zone).astimezone(UTC)
        # Clamped into the day; a time in a midday break moves on to the next opening.
        return self.add(min(max(candidate, opens), closes), ZERO)

    def add_span(self, start: datetime, days: int, extra: timedelta) -> datetime:
        """`days` business days, then `extra` business time (a policy duration)."""
        moved = self.add_days(start, days) if days else start
        return self.add(moved, extra) if extra or not days else moved
