"""Working days and working hours: mainland China's official calendar
(public holidays off, adjusted working weekends on) from the
``chinesecalendar`` package, plus company overrides.

Errors: ``CalendarDataMissing`` — the package has no official data for the
year asked about; we never fall back to Monday–Friday silently.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar

from bot.core.routing import CalendarOverrides


class CalendarDataMissing(LookupError):
    def __init__(self, year: int) -> None:
        super().__init__(f"the China working-day calendar has no official data for {year}")
        self.year = year


@dataclass(frozen=True, slots=True)
class WorkCalendar:
    overrides: CalendarOverrides = CalendarOverrides()

    def is_working_day(self, day: date) -> bool:
        if day in self.overrides.days_off:
            return False
        if day in self.overrides.working_days:
            return True
        try:
            return chinese_calendar.is_workday(day)
        except NotImplementedError:
            raise CalendarDataMissing(day.year) from None

    def has_data_for(self, year: int) -> bool:
        try:
            chinese_calendar.is_workday(date(year, 6, 1))
        except NotImplementedError:
            return False
        return True

    def next_working_day(self, day: date) -> date:
        """The first working day strictly after ``day``."""
        day += timedelta(days=1)
        while not self.is_working_day(day):
            day += timedelta(days=1)
        return day


def local_datetime(day: date, at: time, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, at, tzinfo=tz)

