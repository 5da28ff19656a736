"""The sweep with many open threads, through the real app from ``create_app``
into our fake Slack, on SQLite and PostgreSQL: a sweep with nothing due makes
no Web API call and as many SQL statements with 200 open threads as with 20
(no query per thread), also after ``ANALYZE``; a manager with 1,700 quiet
threads gets one DM within Slack's limits that gives the count, lists the
threads quiet longest, and says where the rest are.

The threads are written straight into the database (an owner's first digest
message of a day, posted, with one awaiting item), as the digest leaves them.
Outcomes only: the calls the fake recorded, the statements the real engine
ran (counted with a SQLAlchemy event listener on it), the database.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event, text
from sqlmodel import select
from support import effects

from bot.core.followup_messages import ESCALATION_THREADS_WITH_BUTTONS
from bot.core.lifecycle import Status
from bot.core.text import MESSAGE_TEXT_BUDGET, TOP_TEXT_BUDGET, block_text_length, text_size
from storage.db import transaction
from storage.models import DigestMessage, FollowUp, Item

SHANGHAI = ZoneInfo("Asia/Shanghai")
CHANNEL = "C0LOGISTICS"
OWNER, OWNER_USER = "大件配送", "U0OWNERY"  # conftest's routing: escalated to U0OPSHEAD, then U0LOGIBOSS
OPS_HEAD = "U0OPSHEAD"
FRIDAY_1400 = datetime(2026, 11, 27, 14, 0, tzinfo=SHANGHAI)
THURSDAY_1700 = datetime(2026, 11, 26, 17, 0, tzinfo=SHANGHAI)


def day_of(n: int) -> date:
    """Thread ``n``'s digest day: thread 0 the latest, each one a day earlier."""
    return date(2026, 11, 26) - timedelta(days=n)


def open_threads(session_factory, count: int, *, posted_at, last_activity_at, first: int = 0) -> None:
    """``count`` of the owner's posted first digest messages (threads
    ``first`` on), one a day, each with one item awaiting an answer until
    18:00 today; thread ``n`` posted ``n`` seconds after ``posted_at``."""
    deadline = FRIDAY_1400.replace(hour=18)
    with transaction(session_factory) as session:
        for n in range(first, first + count):
            message = DigestMessage(
                digest_day=day_of(n), owner=OWNER, posted_owner=OWNER, page=0, pages=1, channel=CHANNEL,
                ts=f"{1764000000 + n}.000100", deadline=deadline, created_at=posted_at, posted_at=posted_at + timedelta(seconds=n),
                last_activity_at=last_activity_at, version=1, shown_version=1,
            )
            session.add(message)
            session.flush()
            session.add(Item(
                order_no=f"SO{n:012d}", rejected_on=day_of(n), branch="南京分公司", category="large", scenario="received",
                customer="张先生 13812341234", callback_agent="王丽", note="已签收", status=Status.AWAITING, owner=OWNER,
                digest_message_id=message.id, deadline=deadline, imported_at=posted_at, updated_at=posted_at,
            ))  # fmt: skip


def analyze(engine) -> None:
    """Planner statistics, as a long-lived database has them."""
    with engine.begin() as conn:
        conn.execute(text("ANALYZE"))


def statements_of(engine, work) -> list[str]:
    """The SQL statements the engine ran while ``work()`` ran."""
    seen: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        work()
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return seen


@pytest.mark.parametrize("threads", [20, 200])
def test_a_sweep_with_nothing_due_calls_no_web_api(bot, engine, session_factory, clock, fake_slack, threads) -> None:
    clock.set(FRIDAY_1400)
    now = FRIDAY_1400.astimezone(UTC)
    open_threads(session_factory, threads, posted_at=now - timedelta(hours=5), last_activity_at=now - timedelta(minutes=30))
    analyze(engine)
    fake_slack.clear()  # the app's auth.test

    for _ in range(3):
        report = bot.services.sweep()

    assert effects(fake_slack) == [] and fake_slack.calls == []
    assert (report.deemed, report.sent, report.held, report.failed, report.problem) == (0, {}, 0, 0, None)


def test_a_sweep_with_nothing_due_runs_as_many_statements_for_200_threads_as_for_20(bot, engine, session_factory, clock, fake_slack) -> None:
    clock.set(FRIDAY_1400)
    now = FRIDAY_1400.astimezone(UTC)
    counts = []
    for first, threads in ((0, 20), (20, 180)):  # 20, then 200 in all
        open_threads(session_factory, threads, posted_at=now - timedelta(hours=5), last_activity_at=now - timedelta(minutes=30), first=first)
        analyze(engine)
        bot.services.sweep()  # warm: the same work each time after this
        counts.append(len(statements_of(engine, bot.services.sweep)))

    assert counts[0] == counts[1] and counts[0] < 30


@pytest.fixture
def quiet_threads(bot, engine, session_factory, clock, fake_slack) -> int:
    """1,700 threads of one owner posted yesterday from 17:00 and quiet
    since: at 14:00 today, level 1 (U0OPSHEAD) is due for all of them."""
    count = 1_700
    open_threads(session_factory, count, posted_at=THURSDAY_1700.astimezone(UTC), last_activity_at=None)
    analyze(engine)
    clock.set(FRIDAY_1400)
    fake_slack.clear()
    return count


def test_a_manager_with_1700_quiet_threads_gets_one_dm_within_slack_s_limits(bot, session_factory, clock, fake_slack, quiet_threads) -> None:
    bot.services.sweep()

    dms = [c for c in fake_slack.calls_to("chat.postMessage") if c.params["channel"] == f"D{OPS_HEAD}"]
    assert len(dms) == 1 and dms[0].error is None
    params = dms[0].params
    assert text_size(params["text"]) <= TOP_TEXT_BUDGET
    assert block_text_length(params["blocks"]) <= MESSAGE_TEXT_BUDGET and len(params["blocks"]) <= 50
    body = " ".join(
        block["text"]["text"] if block["type"] == "section" else block["elements"][0]["text"]
        for block in params["blocks"] if block["type"] in ("section", "context")
    )
    assert "1700" in body  # the count, in the head
    shown = re.findall(r"2026-\d\d-\d\d", body)
    # the threads quiet longest — posted first — first, as many as the message has room for
    assert shown[:3] == [day_of(0).isoformat(), day_of(1).isoformat(), day_of(2).isoformat()]
    assert len(set(shown)) <= ESCALATION_THREADS_WITH_BUTTONS and day_of(quiet_threads - 1).isoformat() not in shown
    # the rest counted, with where to see them
    assert f"{quiet_threads - len(set(shown))} more" in body and "App Home" in body and "/reject next" in body
    # every escalated thread recorded as sent by that one message
    with transaction(session_factory) as session:
        sent = session.exec(select(FollowUp).where(FollowUp.kind == "escalate")).all()
    assert len(sent) == quiet_threads and len({r.ts for r in sent}) == 1 and all(r.ts and r.channel == f"D{OPS_HEAD}" for r in sent)
    # the links were built, not asked for thread by thread
    methods = [c.method for c in fake_slack.calls]
    assert "chat.getPermalink" not in methods and methods.count("auth.test") <= 1
    # and it is not sent again
    fake_slack.clear()
    bot.services.sweep()
    assert [c for c in fake_slack.calls_to("chat.postMessage") if c.params["channel"] == f"D{OPS_HEAD}"] == []


def test_once_an_hour_sqlite_refreshes_the_planner_statistics_the_sweep_is_built_for(bot, engine, session_factory, clock, fake_slack) -> None:
    now = FRIDAY_1400.astimezone(UTC)
    open_threads(session_factory, 50, posted_at=now - timedelta(hours=5), last_activity_at=now - timedelta(minutes=30))
    clock.set(FRIDAY_1400)
    bot.services.sweep()

    assert bot.services.optimize_database() is False  # 14:00: not this tick
    clock.set(FRIDAY_1400.replace(minute=17))
    bot.services.sweep()  # the tables the statistics are for, read on this connection
    ran = bot.services.optimize_database()

    assert ran is (engine.dialect.name == "sqlite")  # PostgreSQL's autovacuum analyses on its own
    if ran:
        with engine.connect() as conn:
            analysed = {row[0] for row in conn.exec_driver_sql("SELECT tbl FROM sqlite_stat1")}
        assert "item" in analysed
    fake_slack.clear()
    bot.services.sweep()  # and the sweep still has nothing to say
    assert fake_slack.calls == []


def test_hundreds_of_overdue_disputes_reach_the_cs_lead_in_dms_within_the_budget(bot, session_factory, clock, fake_slack) -> None:
    """Disputes nobody re-verified since Wednesday, their callback agent
    unknown (so the CS lead is reminded, once: the escalation would be to the
    same person): one DM listing the oldest and counting the rest."""
    wednesday = datetime(2026, 11, 25, 9, 0, tzinfo=SHANGHAI).astimezone(UTC)
    open_threads(session_factory, 1, posted_at=wednesday, last_activity_at=FRIDAY_1400.astimezone(UTC))
    with transaction(session_factory) as session:
        message = session.exec(select(DigestMessage)).one()
        session.add_all(
            Item(order_no=f"SO-D{n:06d}", rejected_on=day_of(0), branch="南京分公司", category="large", scenario="received",
                 customer="", callback_agent="张敏", note="", status=Status.DISPUTED, owner=OWNER, digest_message_id=message.id,
                 imported_at=wednesday, updated_at=wednesday)
            for n in range(400)
        )  # fmt: skip
    clock.set(FRIDAY_1400)
    fake_slack.clear()

    bot.services.sweep()

    dms = [c for c in fake_slack.calls_to("chat.postMessage") if c.params["channel"] == "DU0CSLEAD"]
    assert len(dms) == 1 and dms[0].error is None
    assert all(text_size(c.params["text"]) <= MESSAGE_TEXT_BUDGET and "SO-D000000" in c.params["text"] and "more" in c.params["text"] for c in dms)


def test_when_auth_test_fails_the_escalation_goes_out_with_links_asked_for_or_none(bot, session_factory, clock, fake_slack) -> None:
    """The workspace URL the links are built from cannot be had (auth.test
    refused, every time): the consolidated DM still goes out, once, each thread
    linked through chat.getPermalink instead."""
    open_threads(session_factory, 3, posted_at=THURSDAY_1700.astimezone(UTC), last_activity_at=None)
    clock.set(FRIDAY_1400)
    fake_slack.clear()
    fake_slack.fail_next("auth.test", "invalid_auth", times=100)

    bot.services.sweep()

    dms = [c for c in fake_slack.calls_to("chat.postMessage") if c.params["channel"] == f"D{OPS_HEAD}"]
    assert len(dms) == 1 and dms[0].error is None
    links = [e["url"] for b in dms[0].params["blocks"] for e in b.get("elements", []) if e.get("url")]
    assert len(links) == 3 and all(link.startswith("https://") for link in links)
    assert len(fake_slack.calls_to("auth.test")) == 1  # not asked again for each thread
