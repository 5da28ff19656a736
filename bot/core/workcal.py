"""Working days and working hours: mainland China's official calendar
(public holidays off, adjusted working weekends on) from the
``chinesecalendar`` package, plus the routing file's ``[calendar]``.

Where a day's answer comes from, first match wins:

1. the company's ``days_off`` / ``working_days``;
2. a year's schedule in the routing file (``[calendar.years.<year>]``):
   its holidays off, its adjusted working days on, every other day by the
   weekday rule (Monday–Friday working);
3. the ``chinesecalendar`` package;
4. Monday–Friday, for a year the operator named in ``assume_weekdays``.

Errors: ``CalendarDataMissing`` — none of these knows the year asked about;
we never fall back to Monday–Friday unless the operator opted in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from functools import lru_cache
from zoneinfo import ZoneInfo

import chinese_calendar

from bot.core.routing import CalendarOverrides


class CalendarDataMissing(LookupError):
    def __init__(self, year: int) -> None:
        super().__init__(f"the China working-day calendar has no official data for {year}")
        self.year = year


class Coverage(StrEnum):
    """What a year's working days come from."""

    ROUTING_FILE = "routing_file"  # [calendar.years.<year>]
    PACKAGE = "package"  # chinesecalendar
    ASSUMED = "assumed"  # [calendar] assume_weekdays: Monday–Friday


def _package_has(year: int) -> bool:
    try:
        chinese_calendar.is_workday(date(year, 6, 1))
    except NotImplementedError:
        return False
    return True


@lru_cache(maxsize=4096)
def _package_workday(day: date) -> bool:
    """The package's answer for ``day``, remembered: it scans its whole
    holiday table on every call (to check the year), and a sweep asks about
    the same few days for every open thread. Raises ``NotImplementedError``
    (not remembered) for a year it does not know."""
    return chinese_calendar.is_workday(day)


def _weekday_rule(day: date) -> bool:
    return day.weekday() < 5


@dataclass(frozen=True, slots=True)
class WorkCalendar:
    overrides: CalendarOverrides = CalendarOverrides()

    def is_working_day(self, day: date) -> bool:
        if day in self.overrides.days_off:
            return False
        if day in self.overrides.working_days:
            return True
        schedule = self.overrides.year(day.year)
        if schedule is not None:
            if day in schedule.holidays:
                return False
            return day in schedule.working_days or _weekday_rule(day)
        try:
            return _package_workday(day)
        except NotImplementedError:
            if day.year in self.overrides.assume_weekdays:
                return _weekday_rule(day)
            raise CalendarDataMissing(day.year) from None

    def coverage(self, year: int) -> Coverage | None:
        """Where ``year``'s working days come from; None: nowhere."""
        if self.overrides.year(year) is not None:
            return Coverage.ROUTING_FILE
        if _package_has(year):
            return Coverage.PACKAGE
        if year in self.overrides.assume_weekdays:
            return Coverage.ASSUMED
        return None

    def has_data_for(self, year: int) -> bool:
        """Whether ``year``'s working days are known: from the routing file,
        the package, or Monday–Friday assumed for it."""
        return self.coverage(year) is not None

    def is_assumed(self, year: int) -> bool:
        """Whether ``year`` runs on Monday–Friday by the operator's opt-in."""
        return self.coverage(year) is Coverage.ASSUMED

    def next_working_day(self, day: date) -> date:
        """The first working day strictly after ``day``."""
        day += timedelta(days=1)
        while not self.is_working_day(day):
            day += timedelta(days=1)
        return day


def local_datetime(day: date, at: time, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, at, tzinfo=tz)
