"""The calendar cliff (issue 7), end to end through the real app into our
fake Slack, on SQLite and PostgreSQL: chinesecalendar 1.11.0 has no data
for 2027, so 2027 is known only from the routing file — its schedule
(``[calendar.years.2027]``) or the Monday–Friday opt-in
(``[calendar] assume_weekdays``) — and with neither the bot pauses on
2027's days and says so, instead of crashing."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from conftest import ROUTING, SHANGHAI, at

from bot.app import create_app
from bot.core.importing import parse_export
from bot.core.routing import CalendarOverrides, CalendarYear
from bot.gateway import make_client
from bot.health import Health
from storage.db import transaction
from storage.imports import insert_records
from storage.models import DigestMessage

SAMPLE = Path(__file__).resolve().parents[1] / "fixtures" / "samples" / "callbacks-2026-11-26.csv"
CHANNEL, CS_LEAD = "C0LOGISTICS", "U0CSLEAD"
SPRING_FESTIVAL = frozenset(date(2027, 2, 5) + timedelta(days=i) for i in range(7))
SCHEDULE_2027 = CalendarYear(2027, holidays=frozenset({date(2027, 1, 1)}) | SPRING_FESTIVAL, working_days=frozenset({date(2027, 2, 14)}))


def make_bot(settings, fake_slack, session_factory, clock, calendar: CalendarOverrides):
    routing = replace(ROUTING, calendar=calendar)
    return create_app(settings, client=make_client("xoxb-test", fake_slack.api_url), session_factory=session_factory,
                      clock=clock, routing=routing, process_before_response=True)


def seed(session_factory, clock) -> None:
    records = parse_export(SAMPLE.read_bytes(), filename="callbacks.csv").records
    with transaction(session_factory) as session:
        insert_records(session=session, records=records, batch_id=None, now=clock.now(), timezone=SHANGHAI)


def posts(fake, channel: str | None = None, *, about: str = "") -> list[dict]:
    """Messages posted (to ``channel``), whose text has ``about``."""
    return [
        c.params for c in fake.calls_to("chat.postMessage")
        if c.error is None and (channel is None or c.params["channel"] == channel) and about in c.params["text"]
    ]


def digest_messages(session_factory) -> list[DigestMessage]:
    with transaction(session_factory) as session:
        from sqlmodel import select

        return list(session.exec(select(DigestMessage).order_by(DigestMessage.id)))


def tick_at(bot, clock, when: str, health: Health | None = None) -> dict[str, str | None]:
    clock.set(at(when))
    return bot.services.tick(health=health)


# --- the year's schedule in the routing file ----------------------------------------------------------------


def test_2027_with_its_schedule_in_the_routing_file_runs_without_a_warning(settings, fake_slack, session_factory, clock, caplog) -> None:
    caplog.set_level(logging.WARNING)
    bot = make_bot(settings, fake_slack, session_factory, clock, CalendarOverrides(years=(SCHEDULE_2027,)))
    seed(session_factory, clock)
    fake_slack.clear()

    # From 1 December, nothing to warn about: 2027 counts as known.
    clock.set(at("2026-12-01 09:00"))
    bot.services.sweep()
    assert posts(fake_slack) == []

    # New Year's Day (a Friday) is a holiday by the schedule: no digest.
    assert bot.services.post_daily_digest(now=at("2027-01-01 09:00")).state == "not_working_day"
    # Monday 4 January is not listed: a working day by the weekday rule.
    clock.set(at("2027-01-04 08:30"))
    outcome = bot.services.post_daily_digest()
    assert outcome.state == "posted" and outcome.problem is None and outcome.items == 38
    assert posts(fake_slack, CHANNEL) and posts(fake_slack, f"D{CS_LEAD}", about="calendar") == []
    assert all(m.deadline == at("2027-01-04 18:00") for m in digest_messages(session_factory))
    assert not any("Monday–Friday" in str(p.get("blocks")) for p in posts(fake_slack))  # no "assumed" footer
    assert not [r for r in caplog.records if "2027" in r.getMessage() and r.levelno >= logging.ERROR]


def test_a_deadline_skips_the_spring_festival_and_counts_the_adjusted_sunday(settings, fake_slack, session_factory, clock) -> None:
    bot = make_bot(settings, fake_slack, session_factory, clock, CalendarOverrides(years=(SCHEDULE_2027,)))
    seed(session_factory, clock)
    # Thursday 4 February, posted at 16:00: 2 working hours that day, the holiday
    # from Friday 5 to Thursday 11, the weekend: the window ends Friday 12 at 18:00.
    clock.set(at("2027-02-04 16:00"))
    bot.services.post_daily_digest()
    assert {m.deadline for m in digest_messages(session_factory)} == {at("2027-02-12 18:00")}
    assert bot.services.deps.calendar.is_working_day(date(2027, 2, 14))  # the adjusted working Sunday


# --- the Monday–Friday opt-in -----------------------------------------------------------------------------


def test_2027_on_assumed_weekdays_posts_and_says_so_in_the_footer_and_to_the_cs_lead(settings, fake_slack, session_factory, clock) -> None:
    bot = make_bot(settings, fake_slack, session_factory, clock, CalendarOverrides(assume_weekdays=frozenset({2027})))
    fake_slack.clear()

    # December 2026: next year is assumed. The CS lead hears it once a week, in working time.
    tick_at(bot, clock, "2026-12-01 08:00")  # before work: nothing yet
    assert posts(fake_slack, f"D{CS_LEAD}", about="assume_weekdays") == []
    tick_at(bot, clock, "2026-12-01 09:00")
    tick_at(bot, clock, "2026-12-01 09:01")
    tick_at(bot, clock, "2026-12-04 10:00")  # the same week
    (dm,) = posts(fake_slack, f"D{CS_LEAD}", about="assume_weekdays")
    assert "2027" in dm["text"] and "assume_weekdays" in dm["text"] and "[calendar.years.2027]" in dm["text"]
    assert "no official data" not in dm["text"]  # not the missing-calendar warning: 2027 is covered
    tick_at(bot, clock, "2026-12-07 09:00")  # the next week
    assert len(posts(fake_slack, f"D{CS_LEAD}", about="assume_weekdays")) == 2
    fake_slack.clear()

    # New Year's Day 2027 is a Friday: a working day on assumed weekdays.
    seed(session_factory, clock)
    clock.set(at("2027-01-01 08:30"))
    outcome = bot.services.post_daily_digest()
    assert outcome.state == "posted" and outcome.problem is None and outcome.items == 38
    assert {m.deadline for m in digest_messages(session_factory)} == {at("2027-01-01 18:00")}
    channel_posts = posts(fake_slack, CHANNEL)
    assert channel_posts and all("2027 are assumed Monday–Friday" in str(p["blocks"]) for p in channel_posts)
    assert bot.services.post_daily_digest(now=at("2027-01-02 08:30")).state == "not_working_day"  # a Saturday


def test_the_footer_is_not_shown_once_the_year_is_known(settings, fake_slack, session_factory, clock) -> None:
    bot = make_bot(settings, fake_slack, session_factory, clock, CalendarOverrides(assume_weekdays=frozenset({2027})))
    seed(session_factory, clock)
    fake_slack.clear()
    bot.services.post_daily_digest(now=at("2026-11-27 08:30"))  # 2026 is in the package: the opt-in changes nothing
    assert posts(fake_slack, CHANNEL) and not any("assumed" in str(p["blocks"]) for p in posts(fake_slack, CHANNEL))


# --- neither: paused, not crashed -----------------------------------------------------------------------------


def test_2027_with_neither_pauses_says_so_once_and_health_reports_it(settings, fake_slack, session_factory, clock, caplog) -> None:
    caplog.set_level(logging.INFO)
    bot = make_bot(settings, fake_slack, session_factory, clock, CalendarOverrides())
    seed(session_factory, clock)
    health = Health(clock=clock)
    fake_slack.clear()

    problems = tick_at(bot, clock, "2027-01-04 08:00", health)  # before the digest's time: nothing is due
    assert problems["digest"] is None and posts(fake_slack) == []

    for when in ("2027-01-04 08:30", "2027-01-04 08:31", "2027-01-04 12:00"):
        problems = tick_at(bot, clock, when, health)
        assert "no working-day calendar for 2027" in problems["digest"]

    lead, channel = posts(fake_slack, f"D{CS_LEAD}"), posts(fake_slack, CHANNEL)
    assert len(lead) == 1 and len(channel) == 1  # once that day, each
    for text in (lead[0]["text"], channel[0]["text"]):
        assert "paused" in text and "2027" in text
        assert "[calendar.years.2027]" in text and "assume_weekdays = [2027]" in text  # the two ways to fix it
    assert digest_messages(session_factory) == []  # nothing was posted or planned
    assert not [r for r in caplog.records if r.exc_info]  # no traceback in the log
    report = health.report()
    assert not report.ok and any(line.startswith("digest failed at ") and "2027" in line for line in report.lines)

    # The next day: told again, once.
    tick_at(bot, clock, "2027-01-05 08:30", health)
    tick_at(bot, clock, "2027-01-05 09:00", health)
    assert len(posts(fake_slack, f"D{CS_LEAD}")) == 2 and len(posts(fake_slack, CHANNEL)) == 2

    # Not at night, not at a weekend: paused all the same (health), told nobody.
    for when in ("2027-01-05 19:00", "2027-01-09 10:00", "2027-01-10 10:00"):
        assert "2027" in tick_at(bot, clock, when, health)["digest"]
    assert len(posts(fake_slack, f"D{CS_LEAD}")) == 2 and len(posts(fake_slack, CHANNEL)) == 2
    assert not health.report().ok


def test_a_paused_notice_slack_refused_is_sent_by_the_next_tick(settings, fake_slack, session_factory, clock) -> None:
    bot = make_bot(settings, fake_slack, session_factory, clock, CalendarOverrides())
    fake_slack.clear()
    fake_slack.fail_next("chat.postMessage", error="channel_not_found")
    tick_at(bot, clock, "2027-01-04 08:30")
    tick_at(bot, clock, "2027-01-04 08:31")
    tick_at(bot, clock, "2027-01-04 08:32")
    assert len(posts(fake_slack, f"D{CS_LEAD}")) == 1 and len(posts(fake_slack, CHANNEL)) == 1


def test_once_the_schedule_is_entered_the_paused_day_posts(settings, fake_slack, session_factory, clock) -> None:
    bot = make_bot(settings, fake_slack, session_factory, clock, CalendarOverrides())
    seed(session_factory, clock)
    assert bot.services.post_daily_digest(now=at("2027-01-04 08:30")).state == "paused"
    bot.services.deps.holder.replace(replace(ROUTING, calendar=CalendarOverrides(years=(SCHEDULE_2027,))))  # as a reload does
    outcome = bot.services.post_daily_digest(now=at("2027-01-04 09:00"))
    assert outcome.state == "posted" and outcome.items == 38


@pytest.mark.parametrize("when", ["2026-12-31 15:00"])
def test_a_late_digest_whose_deadline_reaches_into_an_unknown_year_pauses_rather_than_crashes(settings, fake_slack, session_factory, clock, when) -> None:
    # Posted at 15:00 on the last working day of 2026: its window ends on the next working day, in 2027.
    bot = make_bot(settings, fake_slack, session_factory, clock, CalendarOverrides())
    seed(session_factory, clock)
    outcome = bot.services.post_daily_digest(now=at(when))
    assert outcome.state == "paused" and outcome.missing_year == 2027
    assert digest_messages(session_factory) == []  # the plan was not kept: nothing half done
    assert isinstance(at(when), datetime)
