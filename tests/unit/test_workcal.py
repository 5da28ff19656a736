"""Working days (China's official calendar plus company overrides) and the
dispute deadline."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.core.routing import CalendarOverrides
from bot.core.workcal import CalendarDataMissing, WorkCalendar

SHANGHAI = ZoneInfo("Asia/Shanghai")
WORK_END = time(18, 0)
CAL = WorkCalendar()


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


def days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


# --- the official calendar ---------------------------------------------------


@pytest.mark.parametrize("day", days(date(2025, 10, 1), date(2025, 10, 8)))
def test_national_day_2025_is_off(day: date) -> None:
    assert not CAL.is_working_day(day)


@pytest.mark.parametrize("day", [date(2025, 9, 28), date(2025, 10, 11)])
def test_adjusted_weekends_around_national_day_2025_are_worked(day: date) -> None:
    assert day.weekday() >= 5  # a Sunday and a Saturday
    assert CAL.is_working_day(day)


def test_the_days_around_the_holiday_are_ordinary() -> None:
    assert CAL.is_working_day(date(2025, 9, 30))  # Tuesday
    assert CAL.is_working_day(date(2025, 10, 9))  # Thursday
    assert not CAL.is_working_day(date(2025, 10, 12))  # Sunday


def test_an_ordinary_week() -> None:
    week = days(date(2025, 11, 17), date(2025, 11, 23))  # Monday .. Sunday
    assert [CAL.is_working_day(d) for d in week] == [True] * 5 + [False] * 2


# --- overrides ---------------------------------------------------------------


def test_a_company_day_off_wins_over_an_official_working_day() -> None:
    cal = WorkCalendar(CalendarOverrides(days_off=frozenset({date(2025, 11, 19), date(2025, 9, 28)})))
    assert not cal.is_working_day(date(2025, 11, 19))  # a Wednesday
    assert not cal.is_working_day(date(2025, 9, 28))  # an adjusted working Sunday
    assert cal.is_working_day(date(2025, 11, 20))


def test_a_company_working_day_wins_over_an_official_day_off() -> None:
    cal = WorkCalendar(CalendarOverrides(working_days=frozenset({date(2025, 10, 3), date(2025, 11, 22)})))
    assert cal.is_working_day(date(2025, 10, 3))  # National Day holiday
    assert cal.is_working_day(date(2025, 11, 22))  # a Saturday
    assert not cal.is_working_day(date(2025, 10, 4))


def test_overrides_answer_even_without_official_data() -> None:
    cal = WorkCalendar(
        CalendarOverrides(days_off=frozenset({date(2099, 3, 2)}), working_days=frozenset({date(2099, 3, 1)}))
    )
    assert cal.is_working_day(date(2099, 3, 1))
    assert not cal.is_working_day(date(2099, 3, 2))


# --- a year without data -----------------------------------------------------


def test_a_year_without_data_raises_instead_of_guessing() -> None:
    with pytest.raises(CalendarDataMissing) as caught:
        CAL.is_working_day(date(2099, 6, 1))  # a Monday: Monday–Friday would say yes
    assert caught.value.year == 2099
    assert "2099" in str(caught.value)


def test_has_data_for() -> None:
    assert CAL.has_data_for(2025)
    assert not CAL.has_data_for(2099)


def test_next_working_day_into_a_year_without_data_raises() -> None:
    with pytest.raises(CalendarDataMissing):
        CAL.next_working_day(date(2098, 12, 31))


# --- next_working_day --------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "following"),
    [
        (date(2025, 9, 26), date(2025, 9, 28)),  # Friday -> the adjusted working Sunday
        (date(2025, 9, 28), date(2025, 9, 29)),
        (date(2025, 9, 30), date(2025, 10, 9)),  # across the whole holiday
        (date(2025, 10, 4), date(2025, 10, 9)),  # from inside the holiday
        (date(2025, 10, 10), date(2025, 10, 11)),  # Friday -> the adjusted working Saturday
        (date(2025, 10, 11), date(2025, 10, 13)),
        (date(2025, 11, 21), date(2025, 11, 24)),  # an ordinary weekend
        (date(2025, 11, 18), date(2025, 11, 19)),
    ],
)
def test_next_working_day_is_strictly_after(day: date, following: date) -> None:
    assert CAL.next_working_day(day) == following


def test_next_working_day_skips_a_company_day_off() -> None:
    cal = WorkCalendar(CalendarOverrides(days_off=frozenset({date(2025, 11, 24)})))
    assert cal.next_working_day(date(2025, 11, 21)) == date(2025, 11, 25)
