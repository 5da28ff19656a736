"""Working-time arithmetic: quiet timers and deadlines count working time
only (China's official calendar plus company overrides, 09:00–18:00 Shanghai)."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from bot.core.routing import CalendarOverrides
from bot.core.workcal import CalendarDataMissing, WorkCalendar
from bot.core.worktime import WorkingHours, dispute_deadline

SHANGHAI = ZoneInfo("Asia/Shanghai")
HOURS = WorkingHours(calendar=WorkCalendar(), start=time(9, 0), end=time(18, 0), tz=SHANGHAI)
DAY = timedelta(hours=9)  # one full working day


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


def h(hours: float) -> timedelta:
    return timedelta(hours=hours)


def is_utc(value: datetime) -> bool:
    return value.tzinfo is not None and value.utcoffset() == timedelta(0)


# --- the National Day story --------------------------------------------------


def test_a_thread_quiet_on_the_eve_of_national_day_is_due_after_the_holiday() -> None:
    # 30 minutes on Tuesday 09-30, nothing 10-01..10-08, 1h30 on Thursday 10-09.
    due = HOURS.add(at("2025-09-30 17:30"), h(2))
    assert due == at("2025-10-09 10:30")
    assert is_utc(due)


def test_friday_before_closing_runs_into_the_adjusted_working_sunday() -> None:
    # Friday 09-26 17:00 + 2h: 1h on Friday, Saturday off, 1h on Sunday 09-28 (worked).
    assert HOURS.add(at("2025-09-26 17:00"), h(2)) == at("2025-09-28 10:00")


def test_friday_before_the_adjusted_working_saturday() -> None:
    assert HOURS.add(at("2025-10-10 17:00"), h(2)) == at("2025-10-11 10:00")


def test_the_holiday_counts_for_nothing() -> None:
    assert HOURS.between(at("2025-09-30 18:00"), at("2025-10-09 09:00")) == timedelta(0)
    assert HOURS.between(at("2025-09-30 17:30"), at("2025-10-09 10:30")) == h(2)


# --- ordinary cases ----------------------------------------------------------


def test_an_ordinary_weekend() -> None:
    # Friday 2025-11-21 16:00 + 3h: 2h on Friday, 1h on Monday 11-24.
    assert HOURS.add(at("2025-11-21 16:00"), h(3)) == at("2025-11-24 10:00")
    assert HOURS.between(at("2025-11-21 16:00"), at("2025-11-24 10:00")) == h(3)


def test_starting_during_a_weekend() -> None:
    assert HOURS.add(at("2025-11-22 11:00"), h(1)) == at("2025-11-24 10:00")


def test_within_one_day() -> None:
    assert HOURS.add(at("2025-11-19 10:15:30"), timedelta(minutes=45, seconds=1)) == at("2025-11-19 11:00:31")


def test_before_opening() -> None:
    assert HOURS.add(at("2025-11-19 07:00"), h(2)) == at("2025-11-19 11:00")
    assert HOURS.between(at("2025-11-19 07:00"), at("2025-11-19 09:00")) == timedelta(0)


def test_exactly_at_the_close_is_not_working_time() -> None:
    assert not HOURS.is_working_time(at("2025-11-19 18:00"))
    assert HOURS.is_working_time(at("2025-11-19 17:59:59"))
    assert HOURS.next_working_moment(at("2025-11-19 18:00")) == at("2025-11-20 09:00")
    assert HOURS.add(at("2025-11-19 18:00"), h(1)) == at("2025-11-20 10:00")


def test_exactly_at_the_opening_is_working_time() -> None:
    assert HOURS.is_working_time(at("2025-11-19 09:00"))
    assert not HOURS.is_working_time(at("2025-11-19 08:59:59"))
    assert HOURS.next_working_moment(at("2025-11-19 09:00")) == at("2025-11-19 09:00")


def test_after_closing() -> None:
    assert HOURS.add(at("2025-11-19 20:00"), h(1)) == at("2025-11-20 10:00")
    assert HOURS.between(at("2025-11-19 17:00"), at("2025-11-19 23:00")) == h(1)


def test_time_running_out_at_the_close_is_due_at_the_next_opening() -> None:
    # 1h from 17:00 elapses at 18:00, which is not working time.
    assert HOURS.add(at("2025-11-19 17:00"), h(1)) == at("2025-11-20 09:00")
    assert HOURS.add(at("2025-11-21 17:00"), h(1)) == at("2025-11-24 09:00")  # over a weekend


def test_zero_delta_is_the_next_working_moment() -> None:
    assert HOURS.add(at("2025-11-19 10:00"), timedelta(0)) == at("2025-11-19 10:00")
    assert HOURS.add(at("2025-11-22 10:00"), timedelta(0)) == at("2025-11-24 09:00")
    assert HOURS.add(at("2025-10-01 10:00"), timedelta(0)) == at("2025-10-09 09:00")


@pytest.mark.parametrize(
    ("moment", "working"),
    [
        ("2025-09-28 12:00", True),  # an adjusted working Sunday
        ("2025-09-27 12:00", False),  # Saturday
        ("2025-10-03 12:00", False),  # National Day holiday (a Friday)
        ("2025-10-11 12:00", True),  # an adjusted working Saturday
        ("2025-11-19 08:59", False),
        ("2025-11-19 23:59", False),
    ],
)
def test_is_working_time(moment: str, working: bool) -> None:
    assert HOURS.is_working_time(at(moment)) is working


# --- several working days ----------------------------------------------------


def test_two_working_days_from_the_opening() -> None:
    # Monday 09:00 + 18h: Monday and Tuesday used up at Tuesday's close -> Wednesday's opening.
    assert HOURS.add(at("2025-11-17 09:00"), 2 * DAY) == at("2025-11-19 09:00")


def test_two_working_days_from_midday_across_a_weekend() -> None:
    assert HOURS.add(at("2025-11-20 13:00"), 2 * DAY) == at("2025-11-24 13:00")  # Thu -> Mon


def test_two_working_days_across_national_day() -> None:
    # Monday 09-29 12:00: 6h on 09-29, 9h on 09-30, holiday, 3h on 10-09.
    assert HOURS.add(at("2025-09-29 12:00"), 2 * DAY) == at("2025-10-09 12:00")
    assert HOURS.between(at("2025-09-29 12:00"), at("2025-10-09 12:00")) == 2 * DAY


def test_a_long_delta_stays_exact() -> None:
    start = at("2025-01-02 10:00:07")
    delta = 200 * DAY + timedelta(seconds=1234)
    due = HOURS.add(start, delta)
    assert HOURS.between(start, due) == delta
    assert HOURS.is_working_time(due)


# --- other time zones --------------------------------------------------------


def test_utc_inputs() -> None:
    quiet_since = datetime(2025, 9, 30, 9, 30, tzinfo=UTC)  # 17:30 in Shanghai
    due = HOURS.add(quiet_since, h(2))
    assert due == datetime(2025, 10, 9, 2, 30, tzinfo=UTC)  # 10:30 in Shanghai
    assert due.tzinfo is UTC


def test_a_utc_evening_is_the_next_local_morning() -> None:
    evening = datetime(2025, 11, 18, 23, 0, tzinfo=UTC)  # 07:00 on 11-19 in Shanghai
    assert not HOURS.is_working_time(evening)
    assert HOURS.working_day_of(evening) == date(2025, 11, 19)
    assert HOURS.next_working_moment(evening) == datetime(2025, 11, 19, 1, 0, tzinfo=UTC)


def test_outputs_are_utc_whatever_the_input_zone() -> None:
    new_york = datetime(2025, 11, 18, 21, 0, tzinfo=ZoneInfo("America/New_York"))  # 10:00 Shanghai
    fixed = datetime(2025, 11, 19, 12, 0, tzinfo=timezone(timedelta(hours=10)))  # 10:00 Shanghai
    for moment in (new_york, fixed, at("2025-11-19 10:00")):
        for result in (HOURS.next_working_moment(moment), HOURS.add(moment, h(1))):
            assert result.tzinfo is UTC
    assert HOURS.next_working_moment(new_york) == at("2025-11-19 10:00")
    assert HOURS.between(new_york, fixed) == timedelta(0)


# --- end_of_day and working_day_of -------------------------------------------


def test_end_of_day() -> None:
    closes = HOURS.end_of_day(date(2025, 11, 19))
    assert closes == at("2025-11-19 18:00")
    assert closes == datetime(2025, 11, 19, 10, 0, tzinfo=UTC)
    assert closes.tzinfo is UTC


@pytest.mark.parametrize(
    ("moment", "day"),
    [
        ("2025-11-19 10:00", date(2025, 11, 19)),
        ("2025-11-19 07:00", date(2025, 11, 19)),
        ("2025-11-19 18:00", date(2025, 11, 20)),
        ("2025-09-26 19:00", date(2025, 9, 28)),  # Friday evening -> working Sunday
        ("2025-09-30 17:30", date(2025, 9, 30)),
        ("2025-09-30 18:30", date(2025, 10, 9)),
        ("2025-10-05 10:00", date(2025, 10, 9)),
    ],
)
def test_working_day_of(moment: str, day: date) -> None:
    assert HOURS.working_day_of(at(moment)) == day


# --- company overrides -------------------------------------------------------


def test_a_company_day_off_is_skipped() -> None:
    hours = WorkingHours(
        calendar=WorkCalendar(CalendarOverrides(days_off=frozenset({date(2025, 11, 20)}))),
        start=time(9, 0),
        end=time(18, 0),
        tz=SHANGHAI,
    )
    assert hours.add(at("2025-11-19 17:00"), h(2)) == at("2025-11-21 10:00")
    assert hours.between(at("2025-11-19 17:00"), at("2025-11-21 10:00")) == h(2)
    assert not hours.is_working_time(at("2025-11-20 12:00"))


def test_a_company_working_day_counts() -> None:
    hours = WorkingHours(
        calendar=WorkCalendar(CalendarOverrides(working_days=frozenset({date(2025, 10, 3)}))),
        start=time(9, 0),
        end=time(18, 0),
        tz=SHANGHAI,
    )
    assert hours.add(at("2025-09-30 17:30"), h(2)) == at("2025-10-03 10:30")
    assert hours.is_working_time(at("2025-10-03 12:00"))


def test_other_working_hours() -> None:
    hours = WorkingHours(calendar=WorkCalendar(), start=time(8, 30), end=time(12, 0), tz=SHANGHAI)
    assert hours.add(at("2025-11-19 11:00"), h(2)) == at("2025-11-20 09:30")
    assert hours.between(at("2025-11-19 00:00"), at("2025-11-20 00:00")) == h(3.5)


# --- a year without data -----------------------------------------------------


def test_a_year_without_data_raises_instead_of_guessing() -> None:
    monday = at("2099-06-01 10:00")  # Monday–Friday would call it working time
    with pytest.raises(CalendarDataMissing):
        HOURS.is_working_time(monday)
    with pytest.raises(CalendarDataMissing):
        HOURS.next_working_moment(monday)
    with pytest.raises(CalendarDataMissing):
        HOURS.add(monday, h(1))
    with pytest.raises(CalendarDataMissing):
        HOURS.between(monday, monday + h(1))
    with pytest.raises(CalendarDataMissing):
        HOURS.working_day_of(monday)


def test_running_off_the_end_of_the_data_raises() -> None:
    last = max(y for y in range(2020, 2100) if HOURS.calendar.has_data_for(y))
    with pytest.raises(CalendarDataMissing) as caught:
        HOURS.add(at(f"{last}-12-31 17:00"), 3 * DAY)
    assert caught.value.year == last + 1


# --- bad input ---------------------------------------------------------------


def test_naive_datetimes_are_refused() -> None:
    naive = datetime(2025, 11, 19, 10, 0)
    aware = at("2025-11-19 10:00")
    with pytest.raises(ValueError):
        HOURS.is_working_time(naive)
    with pytest.raises(ValueError):
        HOURS.next_working_moment(naive)
    with pytest.raises(ValueError):
        HOURS.add(naive, h(1))
    with pytest.raises(ValueError):
        HOURS.between(naive, aware)
    with pytest.raises(ValueError):
        HOURS.between(aware, naive)
    with pytest.raises(ValueError):
        HOURS.working_day_of(naive)


def test_a_negative_delta_is_refused() -> None:
    with pytest.raises(ValueError):
        HOURS.add(at("2025-11-19 10:00"), -h(1))


def test_between_backwards_is_zero() -> None:
    assert HOURS.between(at("2025-11-19 12:00"), at("2025-11-19 10:00")) == timedelta(0)
    assert HOURS.between(at("2025-11-19 12:00"), at("2025-11-19 12:00")) == timedelta(0)


@pytest.mark.parametrize(("start", "end"), [(time(18, 0), time(9, 0)), (time(9, 0), time(9, 0))])
def test_hours_must_open_before_they_close(start: time, end: time) -> None:
    with pytest.raises(ValueError):
        WorkingHours(calendar=WorkCalendar(), start=start, end=end, tz=SHANGHAI)


# --- invariants over pseudo-random instants ----------------------------------

SPAN_START = at("2025-09-01 00:00")
SPAN_SECONDS = int((at("2025-11-01 00:00") - SPAN_START).total_seconds())
EDGES = [time(9, 0), time(18, 0), time(17, 59, 59), time(8, 59, 59), time(0, 0)]


def instants(seed: int, count: int) -> list[datetime]:
    """Deterministic instants in Sept–Oct 2025, some on the opening/closing edges,
    half of them given in UTC."""
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        moment = SPAN_START + timedelta(seconds=rng.randrange(SPAN_SECONDS))
        if rng.random() < 0.25:
            moment = datetime.combine(moment.date(), rng.choice(EDGES), tzinfo=SHANGHAI)
        out.append(moment.astimezone(UTC) if rng.random() < 0.5 else moment)
    return out


def deltas(seed: int, count: int) -> list[timedelta]:
    rng = random.Random(seed)
    choices = [timedelta(0), h(1), DAY, 2 * DAY, h(0.5)]
    return [
        rng.choice(choices) if rng.random() < 0.2 else timedelta(seconds=rng.randrange(0, 4 * 9 * 3600))
        for _ in range(count)
    ]


def test_add_of_between_is_the_next_working_moment() -> None:
    pairs = list(zip(instants(1, 300), instants(2, 300), strict=True))
    checked_in_working_time = 0
    for a, b in pairs:
        a, b = min(a, b), max(a, b)
        assert HOURS.add(a, HOURS.between(a, b)) == HOURS.next_working_moment(b), (a, b)
        checked_in_working_time += HOURS.is_working_time(b)
    assert checked_in_working_time > 50  # the interesting case is well covered


def test_between_of_add_is_the_delta() -> None:
    for a, delta in zip(instants(3, 300), deltas(4, 300), strict=True):
        due = HOURS.add(a, delta)
        assert HOURS.between(a, due) == delta, (a, delta)
        assert HOURS.is_working_time(due), (a, delta)
        assert due.tzinfo is UTC
        assert due >= a


def test_between_is_additive() -> None:
    triples = zip(instants(5, 300), instants(6, 300), instants(7, 300), strict=True)
    for triple in triples:
        a, b, c = sorted(triple)
        assert HOURS.between(a, b) + HOURS.between(b, c) == HOURS.between(a, c), (a, b, c)


def test_between_is_bounded_by_wall_clock_time() -> None:
    for a, b in zip(instants(8, 300), instants(9, 300), strict=True):
        a, b = min(a, b), max(a, b)
        assert timedelta(0) <= HOURS.between(a, b) <= b - a


def test_add_is_monotonic_in_the_start() -> None:
    for (a1, a2), delta in zip(
        zip(instants(10, 300), instants(11, 300), strict=True), deltas(12, 300), strict=True
    ):
        a1, a2 = min(a1, a2), max(a1, a2)
        assert HOURS.add(a1, delta) <= HOURS.add(a2, delta), (a1, a2, delta)


def test_add_is_monotonic_in_the_delta() -> None:
    for a, (d1, d2) in zip(
        instants(13, 300), zip(deltas(14, 300), deltas(15, 300), strict=True), strict=True
    ):
        d1, d2 = min(d1, d2), max(d1, d2)
        assert HOURS.add(a, d1) <= HOURS.add(a, d2), (a, d1, d2)


def test_add_composes() -> None:
    for a, (d1, d2) in zip(
        instants(16, 300), zip(deltas(17, 300), deltas(18, 300), strict=True), strict=True
    ):
        assert HOURS.add(HOURS.add(a, d1), d2) == HOURS.add(a, d1 + d2), (a, d1, d2)


def test_next_working_moment_is_the_first_working_instant() -> None:
    for a in instants(19, 300):
        nxt = HOURS.next_working_moment(a)
        assert nxt >= a
        assert HOURS.is_working_time(nxt)
        assert HOURS.between(a, nxt) == timedelta(0)
        if HOURS.is_working_time(a):
            assert nxt == a
        else:
            assert nxt.astimezone(SHANGHAI).time() == time(9, 0)  # an opening
            assert not HOURS.is_working_time(nxt - timedelta(seconds=1))
        assert HOURS.working_day_of(a) == nxt.astimezone(SHANGHAI).date()


# --- dispute_deadline: a full window from when the message appeared ------------------


def deadline(posted: str, window: float = 4, hours: WorkingHours = HOURS) -> datetime:
    return dispute_deadline(at(posted), hours=hours, min_window=h(window))


@pytest.mark.parametrize(
    ("posted", "due"),
    [
        ("2025-11-19 08:30", "2025-11-19 18:00"),  # the usual digest: the whole day
        ("2025-11-19 14:00", "2025-11-19 18:00"),  # exactly four working hours
        ("2025-11-19 14:01", "2025-11-20 18:00"),  # a minute short: the next working day
        ("2025-11-19 17:55", "2025-11-20 18:00"),  # five minutes are no window
        ("2025-11-19 18:00", "2025-11-20 18:00"),
        ("2025-11-19 18:30", "2025-11-20 18:00"),  # after an outage: never deemed at once
        ("2025-11-21 17:00", "2025-11-24 18:00"),  # Friday afternoon -> Monday
        ("2025-11-22 08:30", "2025-11-24 18:00"),  # a Saturday
        ("2025-09-30 16:00", "2025-10-09 18:00"),  # the eve of National Day
        ("2025-10-03 08:30", "2025-10-09 18:00"),  # during the holiday
        ("2025-09-28 08:30", "2025-09-28 18:00"),  # an adjusted working Sunday
    ],
)
def test_dispute_deadline_gives_the_owner_a_full_window(posted: str, due: str) -> None:
    assert deadline(posted) == at(due)


@pytest.mark.parametrize(
    ("posted", "window", "due"),
    [
        ("2025-11-19 08:30", 9, "2025-11-19 18:00"),  # a whole working day fits
        ("2025-11-19 09:01", 9, "2025-11-20 18:00"),
        ("2025-11-19 10:00", 12, "2025-11-20 18:00"),  # 8 h today + 9 h tomorrow
        ("2025-11-19 17:59", 0, "2025-11-19 18:00"),  # no window: the posting day
        ("2025-11-19 18:30", 0, "2025-11-20 18:00"),  # no working time left today
    ],
)
def test_dispute_deadline_with_other_windows(posted: str, window: float, due: str) -> None:
    assert deadline(posted, window) == at(due)


def test_dispute_deadline_is_utc_whatever_the_input_zone_and_honours_overrides() -> None:
    posted = datetime(2025, 11, 18, 23, 0, tzinfo=UTC)  # 07:00 on the 19th in Shanghai
    due = dispute_deadline(posted, hours=HOURS, min_window=h(4))
    assert due == at("2025-11-19 18:00") and is_utc(due)
    off = WorkingHours(calendar=WorkCalendar(CalendarOverrides(days_off=frozenset({date(2025, 11, 20)}))), start=time(9), end=time(18), tz=SHANGHAI)
    assert deadline("2025-11-19 17:00", hours=off) == at("2025-11-21 18:00")


def test_dispute_deadline_refuses_naive_times_and_negative_windows() -> None:
    with pytest.raises(ValueError):
        dispute_deadline(datetime(2025, 11, 19, 8, 30), hours=HOURS, min_window=h(4))
    with pytest.raises(ValueError):
        dispute_deadline(at("2025-11-19 08:30"), hours=HOURS, min_window=h(-1))
