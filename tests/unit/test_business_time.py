"""Business-time arithmetic: the laws (hypothesis), holidays, weekends and DST."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.domain.calendar import BusinessCalendar, national_holidays

SP = ZoneInfo("America/Sao_Paulo")
NY = ZoneInfo("America/New_York")
BR = BusinessCalendar(zone=SP, is_holiday=national_holidays("BR"))
LUNCH = BusinessCalendar(
    zone=NY,
    hours={d: ((time(9), time(12)), (time(13), time(17, 30))) for d in range(5)},
    is_holiday=national_holidays("US", extra=[date(2026, 12, 24)]),
)
CALENDARS = st.sampled_from([BR, LUNCH])

instants = st.datetimes(
    min_value=datetime(2015, 1, 1), max_value=datetime(2030, 12, 31), timezones=st.just(UTC)
)
spans = st.integers(min_value=0, max_value=60 * 60 * 24 * 20).map(lambda s: timedelta(seconds=s))


@settings(max_examples=150, deadline=None)
@given(CALENDARS, instants, spans)
def test_never_lands_outside_business_hours(cal: BusinessCalendar, t: datetime, a: timedelta):
    assert cal.within_hours(cal.add(t, a))


@settings(max_examples=150, deadline=None)
@given(CALENDARS, instants, spans, spans)
def test_monotonic_in_span_and_start(
    cal: BusinessCalendar, t: datetime, a: timedelta, b: timedelta
) -> None:
    small, big = sorted((a, b))
    assert cal.add(t, small) <= cal.add(t, big)
    assert cal.add(t, a) <= cal.add(t + b, a)


@settings(max_examples=150, deadline=None)
@given(CALENDARS, instants, spans, spans)
def test_additive(cal: BusinessCalendar, t: datetime, a: timedelta, b: timedelta) -> None:
    assert cal.add(cal.add(t, a), b) == cal.add(t, a + b)


@settings(max_examples=150, deadline=None)
@given(CALENDARS, instants, spans)
def test_between_measures_what_add_adds(cal: BusinessCalendar, t: datetime, a: timedelta) -> None:
    assert cal.between(t, cal.add(t, a)) == a


@settings(max_examples=100, deadline=None)
@given(CALENDARS, instants, spans)
def test_subtract_undoes_add_from_an_open_instant(
    cal: BusinessCalendar, t: datetime, a: timedelta
) -> None:
    start = cal.add(t, timedelta(0))  # the next business instant
    assert cal.between(cal.subtract(cal.add(start, a), a), start) == timedelta(0)
    assert cal.subtract(cal.add(start, a), a) <= start


@settings(max_examples=100, deadline=None)
@given(CALENDARS, instants, st.integers(min_value=0, max_value=30))
def test_business_days_land_in_hours_and_grow(cal: BusinessCalendar, t: datetime, n: int) -> None:
    landed = cal.add_days(t, n)
    assert cal.within_hours(landed)
    assert cal.add_days(t, n) <= cal.add_days(t, n + 1)


def sp(*args: int) -> datetime:
    return datetime(*args, tzinfo=SP)  # type: ignore[misc]


def test_weekend_and_carnival_are_skipped() -> None:
    # Friday 2025-02-28 17:00 + 12 business hours: 1 h Friday, then the weekend. Carnival
    # (03-03, 03-04) is an optional day off, not a national holiday in the `holidays`
    # table, so Monday 08:00 + 11 h = Tuesday 09:00 (an admin adds it under `extra`).
    assert BR.add_hours(sp(2025, 2, 28, 17), 12) == sp(2025, 3, 4, 9)


def test_national_holiday_is_skipped() -> None:
    # Monday 2025-04-21 is Tiradentes: Friday 04-18 is Good Friday. Thursday 17:00 + 2 h.
    assert BR.add_hours(sp(2025, 4, 17, 17), 2) == sp(2025, 4, 22, 9)


def test_extra_dates_and_subdivision_holidays() -> None:
    sc = BusinessCalendar(zone=SP, is_holiday=national_holidays("BR", "SC", [date(2025, 12, 24)]))
    assert sc.is_holiday(date(2025, 11, 30))  # Saint Catherine, Santa Catarina only
    assert not BR.is_holiday(date(2025, 11, 30))
    assert sc.add_hours(sp(2025, 12, 23, 17), 2) == sp(2025, 12, 26, 9)


def test_business_days_keep_the_time_of_day() -> None:
    # Seed 002: 5 business days. Wednesday 2025-06-04 10:30 -> Wednesday 06-11 10:30.
    assert BR.add_days(sp(2025, 6, 4, 10, 30), 5) == sp(2025, 6, 11, 10, 30)
    # Corpus Christi (06-19) is not a national holiday in the package; Friday 20:00 -> Monday 18:00.
    assert BR.add_days(sp(2025, 6, 6, 20), 1) == sp(2025, 6, 9, 18)


def test_dst_spring_forward_inside_an_sla_window_new_york() -> None:
    # 2026-03-08 02:00 New York jumps to 03:00 (a Sunday): a Friday 16:00 ticket with 4 business
    # hours lands Monday 11:30 on the lunch-break calendar (1.5 h Friday, 2.5 h Monday).
    ny = LUNCH
    start = datetime(2026, 3, 6, 16, 0, tzinfo=NY)
    due = ny.add(start, timedelta(hours=4))
    assert due == datetime(2026, 3, 9, 11, 30, tzinfo=NY)
    assert due.utcoffset() == timedelta(hours=-4)  # EDT after the change
    assert ny.between(start, due) == timedelta(hours=4)


def test_dst_in_sao_paulo_history() -> None:
    # Brazil last had DST in 2018-19: clocks went 00:00 -> 01:00 on Sunday 2018-11-04, and
    # Friday 11-02 was All Souls' Day: Thursday 17:00 + 3 h = 1 h, holiday, weekend, 2 h.
    start = sp(2018, 11, 1, 17)  # Thursday, -03:00
    due = BR.add_hours(start, 3)
    assert due == sp(2018, 11, 5, 10)
    assert due.utcoffset() == timedelta(hours=-2)  # summer time
    assert BR.between(start, due) == timedelta(hours=3)


def test_a_working_window_that_spans_a_dst_change_counts_real_time() -> None:
    # A 24/7 calendar: the spring-forward night is an hour shorter in real time.
    always = BusinessCalendar(zone=NY, hours={d: (time(0), time(23, 59, 59)) for d in range(7)})
    day_start = datetime(2026, 3, 8, 0, 0, tzinfo=NY)
    day_end = datetime(2026, 3, 8, 23, 59, 59, tzinfo=NY)
    assert always.between(day_start, day_end) == timedelta(hours=23, minutes=59, seconds=59) - (
        timedelta(hours=1)
    )


ROUND_THE_CLOCK = BusinessCalendar(zone=SP, hours={d: (time(0), time(0)) for d in range(7)})
EVENINGS = BusinessCalendar(zone=SP, hours={d: (time(18), time(0)) for d in range(5)})


def test_24_00_is_midnight_exactly_so_a_24x7_calendar_has_no_gap() -> None:
    saturday_night = datetime(2026, 12, 5, 20, tzinfo=SP)
    assert ROUND_THE_CLOCK.add(saturday_night, timedelta(hours=12)) == datetime(
        2026, 12, 6, 8, tzinfo=SP
    )
    assert ROUND_THE_CLOCK.between(saturday_night, datetime(2026, 12, 7, 20, tzinfo=SP)) == (
        timedelta(days=2)
    )
    assert ROUND_THE_CLOCK.is_open(datetime(2026, 12, 5, 23, 59, 59, 999999, tzinfo=SP))


def test_a_span_closing_at_24_00_runs_to_midnight_then_to_the_next_opening() -> None:
    friday_22 = datetime(2026, 12, 4, 22, tzinfo=SP)
    assert EVENINGS.window(date(2026, 12, 4)) == (
        datetime(2026, 12, 4, 18, tzinfo=SP).astimezone(UTC),
        datetime(2026, 12, 5, 0, tzinfo=SP).astimezone(UTC),
    )
    assert EVENINGS.add(friday_22, timedelta(hours=2)) == datetime(2026, 12, 5, tzinfo=SP)
    # The third hour waits for Monday's opening: 1 hour after 18:00.
    assert EVENINGS.add(friday_22, timedelta(hours=3)) == datetime(2026, 12, 7, 19, tzinfo=SP)
    assert EVENINGS.between(friday_22, datetime(2026, 12, 7, 19, tzinfo=SP)) == timedelta(hours=3)
    assert EVENINGS.subtract(
        datetime(2026, 12, 7, 19, tzinfo=SP), timedelta(hours=1, minutes=30)
    ) == (datetime(2026, 12, 4, 23, 30, tzinfo=SP))
