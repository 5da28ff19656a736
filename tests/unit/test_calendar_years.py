"""The calendar cliff (issue 7): chinesecalendar 1.11.0 has no 2027, so
2027 is known only from the routing file's schedule or by the operator's
Monday–Friday opt-in — and otherwise not at all."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from bot.core.routing import CalendarOverrides, CalendarYear
from bot.core.workcal import CalendarDataMissing, Coverage, WorkCalendar

SPRING_FESTIVAL = frozenset(date(2027, 2, 5) + timedelta(days=i) for i in range(7))  # Fri 5 .. Thu 11 February
SCHEDULE = CalendarYear(2027, holidays=frozenset({date(2027, 1, 1)}) | SPRING_FESTIVAL, working_days=frozenset({date(2027, 2, 14)}))


def test_the_installed_package_has_no_2027() -> None:
    with pytest.raises(CalendarDataMissing) as caught:
        WorkCalendar().is_working_day(date(2027, 1, 4))
    assert caught.value.year == 2027
    assert not WorkCalendar().has_data_for(2027)
    assert WorkCalendar().coverage(2027) is None
    assert WorkCalendar().coverage(2026) is Coverage.PACKAGE


def test_a_schedule_in_the_routing_file_makes_2027_known() -> None:
    cal = WorkCalendar(CalendarOverrides(years=(SCHEDULE,)))
    assert cal.has_data_for(2027) and cal.coverage(2027) is Coverage.ROUTING_FILE and not cal.is_assumed(2027)
    assert not cal.is_working_day(date(2027, 1, 1))  # a Friday, a holiday
    assert cal.is_working_day(date(2027, 1, 4))  # a Monday, not listed: the weekday rule
    assert not cal.is_working_day(date(2027, 1, 9))  # a Saturday, not listed
    assert [cal.is_working_day(d) for d in sorted(SPRING_FESTIVAL)] == [False] * 7
    assert cal.is_working_day(date(2027, 2, 14))  # an adjusted working Sunday
    assert cal.next_working_day(date(2027, 2, 4)) == date(2027, 2, 12)
    with pytest.raises(CalendarDataMissing):  # 2028 is still unknown
        cal.is_working_day(date(2028, 1, 3))


def test_the_routing_file_s_schedule_wins_over_the_package() -> None:
    cal = WorkCalendar(CalendarOverrides(years=(CalendarYear(2026, holidays=frozenset({date(2026, 11, 30)})),)))
    assert cal.coverage(2026) is Coverage.ROUTING_FILE
    assert not cal.is_working_day(date(2026, 11, 30))
    assert cal.is_working_day(date(2026, 10, 1))  # National Day, but not listed: a Thursday, by the weekday rule


def test_company_overrides_still_win_over_a_year_s_schedule() -> None:
    cal = WorkCalendar(CalendarOverrides(days_off=frozenset({date(2027, 1, 4)}), working_days=frozenset({date(2027, 2, 8)}), years=(SCHEDULE,)))
    assert not cal.is_working_day(date(2027, 1, 4))
    assert cal.is_working_day(date(2027, 2, 8))


def test_assume_weekdays_opts_2027_into_monday_to_friday() -> None:
    cal = WorkCalendar(CalendarOverrides(assume_weekdays=frozenset({2027})))
    assert cal.has_data_for(2027) and cal.is_assumed(2027) and cal.coverage(2027) is Coverage.ASSUMED
    week = [date(2027, 1, 4) + timedelta(days=i) for i in range(7)]
    assert [cal.is_working_day(d) for d in week] == [True] * 5 + [False] * 2
    assert cal.is_working_day(date(2027, 1, 1))  # New Year's Day is a Friday: nothing says otherwise
    assert not cal.is_assumed(2026)  # the package knows 2026: the opt-in changes nothing there
    assert not cal.is_working_day(date(2026, 10, 1))


def test_a_schedule_wins_over_the_opt_in_for_the_same_year() -> None:
    cal = WorkCalendar(CalendarOverrides(years=(SCHEDULE,), assume_weekdays=frozenset({2027})))
    assert cal.coverage(2027) is Coverage.ROUTING_FILE
    assert not cal.is_working_day(date(2027, 1, 1))


def test_check_config_s_coverage_lines_name_what_covers_each_year() -> None:
    from bot.i18n import Catalog
    from bot.services.calendar import coverage_lines

    cal = WorkCalendar(CalendarOverrides(years=(CalendarYear(2029),), assume_weekdays=frozenset({2030})))
    assert coverage_lines(cal, Catalog("en"), today=date(2026, 11, 30)) == [
        "2026: the chinesecalendar package (official data)",
        "2027: no data — on its days the bot pauses; add [calendar.years.2027] or [calendar] assume_weekdays = [2027]",
        "2029: the routing file's [calendar.years.2029]",
        "2030: Monday–Friday assumed ([calendar] assume_weekdays)",
    ]
