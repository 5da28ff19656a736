"""Working-time arithmetic: deadlines, quiet timers and escalation ladders
count working time only.

Working time is ``[start, end)`` in the team's time zone on the days the
``WorkCalendar`` calls working days (China's official calendar plus company
overrides). A thread that goes quiet at 17:30 on the eve of National Day with
a two-hour quiet period is due at 10:30 on the first working day after the
holiday, not during it.

Pure: "now" is always a parameter. Every input must be an aware datetime;
every output is an aware UTC datetime. All arithmetic is done on UTC instants,
so a day's working window has its real elapsed length even in a zone with
daylight saving time.

A moment returned by ``add`` or ``next_working_moment`` is always working
time: when an amount of working time runs out exactly at the close, the
moment returned is the next opening (the close itself is not working time).

Errors:
- ``ValueError`` — a naive datetime, a negative delta, or ``start >= end``.
- ``bot.core.workcal.CalendarDataMissing`` (propagated) — a day needed for
  the answer lies in a year without official calendar data; we never fall
  back to Monday–Friday.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.core.workcal import WorkCalendar

_ZERO = timedelta(0)
_ONE_DAY = timedelta(days=1)


def _require_aware(value: datetime, name: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime, got naive {value.isoformat()}")
    return value.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class WorkingHours:
    calendar: WorkCalendar
    start: time  # local opening, e.g. 09:00
    end: time  # local closing, e.g. 18:00 (not itself working time)
    tz: ZoneInfo

    def __post_init__(self) -> None:
        if self.start.tzinfo is not None or self.end.tzinfo is not None:
            raise ValueError("start and end are local wall-clock times: give them without tzinfo")
        if not self.start < self.end:
            raise ValueError(f"working hours must open before they close: {self.start} >= {self.end}")

    # --- questions ---------------------------------------------------------

    def is_working_time(self, at: datetime) -> bool:
        moment = _require_aware(at, "at")
        day = self._local_date(moment)
        if not self.calendar.is_working_day(day):
            return False
        opens, closes = self._window(day)
        return opens <= moment < closes

    def next_working_moment(self, at: datetime) -> datetime:
        """``at`` itself (in UTC) when it is working time, else the next opening."""
        moment = _require_aware(at, "at")
        return self._next_working_moment(moment)

    def working_day_of(self, at: datetime) -> date:
        """The local date of ``next_working_moment(at)``: the working day a
        thing arriving at ``at`` is handled on."""
        return self._local_date(self.next_working_moment(at))

    def end_of_day(self, day: date) -> datetime:
        """``end`` on the local ``day``, as aware UTC (whether or not ``day``
        is a working day)."""
        return self._window(day)[1]

    # --- arithmetic --------------------------------------------------------

    def add(self, at: datetime, delta: timedelta) -> datetime:
        """The moment at which ``delta`` of working time has elapsed after
        ``at``; always working time (``delta == 0`` gives
        ``next_working_moment(at)``). Steps a working day at a time."""
        moment = _require_aware(at, "at")
        if delta < _ZERO:
            raise ValueError(f"delta must not be negative, got {delta}")
        cursor = self._next_working_moment(moment)
        remaining = delta
        while True:
            closes = self._window(self._local_date(cursor))[1]
            left_today = closes - cursor
            if remaining < left_today:
                return cursor + remaining
            remaining -= left_today
            # exactly exhausted at the close: the answer is the next opening
            cursor = self._next_working_moment(closes)

    def between(self, a: datetime, b: datetime) -> timedelta:
        """Working time elapsed from ``a`` to ``b``; zero when ``b <= a``."""
        first = _require_aware(a, "a")
        last = _require_aware(b, "b")
        if last <= first:
            return _ZERO
        total = _ZERO
        for day in self._local_dates(first, last):
            if not self.calendar.is_working_day(day):
                continue
            opens, closes = self._window(day)
            overlap = min(closes, last) - max(opens, first)
            if overlap > _ZERO:
                total += overlap
        return total

    # --- helpers (UTC in, UTC out) -----------------------------------------

    def _local_date(self, moment: datetime) -> date:
        return moment.astimezone(self.tz).date()

    def _window(self, day: date) -> tuple[datetime, datetime]:
        opens = datetime.combine(day, self.start, tzinfo=self.tz).astimezone(UTC)
        closes = datetime.combine(day, self.end, tzinfo=self.tz).astimezone(UTC)
        return opens, closes

    def _next_working_moment(self, moment: datetime) -> datetime:
        day = self._local_date(moment)
        if self.calendar.is_working_day(day):
            opens, closes = self._window(day)
            if moment < opens:
                return opens
            if moment < closes:
                return moment
        return self._window(self.calendar.next_working_day(day))[0]

    def _local_dates(self, first: datetime, last: datetime) -> Iterator[date]:
        """Every local date from that of ``first`` to that of ``last``, inclusive."""
        day, final = self._local_date(first), self._local_date(last)
        while day <= final:
            yield day
            day += _ONE_DAY


def dispute_deadline(posted_at: datetime, *, hours: WorkingHours, min_window: timedelta) -> datetime:
    """When an owner's answer to a message that appeared at ``posted_at`` is
    due: the end of working hours on the first working day by whose close the
    message has been visible for at least ``min_window`` of working time.

    With 09:00–18:00 and a four-hour window: posted at 08:30 → 18:00 that
    day; at 14:00 → 18:00 that day (exactly four hours); at 17:55, or 18:30,
    or on a Saturday → 18:00 on the next working day. A window longer than a
    working day runs on over as many working days as it needs. Counts from
    when the message actually appeared, never from when it should have.
    """
    moment = _require_aware(posted_at, "posted_at")
    if min_window < _ZERO:
        raise ValueError(f"min_window must not be negative, got {min_window}")
    day = hours.working_day_of(moment)
    while True:
        closes = hours.end_of_day(day)
        if hours.between(moment, closes) >= min_window:
            return closes
        day = hours.calendar.next_working_day(day)
