"""Follow-up end to end: the sweep (deadlines, nudges, escalations, dispute
reminders, the calendar warning) and the owner-side signals that reset it
(answers, 👀, thread replies), through the real app from ``create_app`` into
our fake Slack Web API, on SQLite and PostgreSQL.

The sample export is imported and the digest of Friday 2026-11-27 posted at
08:30 (dispute deadline 18:00); then the clock moves and the sweep runs.
Assertions look only at outcomes: the Web API calls the fake recorded (in
order, reduced to method, where, and whom the text mentions) and the
database (items, audit rows, the follow-up ledger).

The default policy: quiet 2h, level 1 after 4h, level 2 after 9h, fix window
18h, dispute reminder after 4h and escalation after 9h — working time,
09:00–18:00 Shanghai, China's calendar.
"""

from __future__ import annotations

import json
import logging
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select
from support import effects, run_together

from bot.app import Bot, create_app
from bot.clock import FixedClock
from bot.core.importing import parse_export
from bot.core.routing import FollowUpPolicy
from bot.fakeslack import block_actions, event_callback, reaction_event, slash_command
from bot.gateway import make_client
from bot.ids import ActionId
from storage.db import make_session_factory, transaction
from storage.imports import insert_records
from storage.models import AuditEntry, DigestMessage, FollowUp, Item

SHANGHAI = ZoneInfo("Asia/Shanghai")
SAMPLE = Path(__file__).resolve().parents[1] / "fixtures" / "samples" / "callbacks-2026-11-26.csv"
CHANNEL = "C0LOGISTICS"
HEADER = "订单号,拒收日期,分公司,配送类型,场景,客户,回访人,回访时间,回访记录"

Y, Z = "U0OWNERY", "U0OWNERZ"  # owners: 26 large items (two messages), 12 small items
DELEGATE_Y, OPS_HEAD, BOSS = "U0DELEGY", "U0OPSHEAD", "U0LOGIBOSS"  # chain of both owners: OPS_HEAD, BOSS
AGENT, CS_LEAD = "U0CS0001", "U0CSLEAD"  # 王丽 is an agent; 张敏 is not in cs.agents
STRANGER = "U0NOBODY"

Y_ORDER = "SO20261126000004"  # Y's, callback agent 刘洋 (not in cs.agents)
WANG_LI_ORDERS = ["SO20261126000002", "SO20261126000003"]  # Y's, callback agent 王丽 -> U0CS0001
UNKNOWN_AGENT_ORDER = "SO20261126000000"  # Y's, callback agent 张敏 -> the CS lead


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


# --- seeding and reading the database ------------------------------------------------


def seed(session_factory, clock, data: bytes | None = None) -> None:
    """Import the sample export (or ``data``, a CSV) as CS would."""
    records = parse_export(data or SAMPLE.read_bytes(), filename="callbacks.csv").records
    with transaction(session_factory) as session:
        insert_records(session=session, records=records, batch_id=None, now=clock.now(), timezone=SHANGHAI)


def next_day_csv(day: str, serial: int) -> bytes:
    """One large item (Y's) and one small Hangzhou item (Z's) rejected on ``day``."""
    compact = day.replace("-", "")
    rows = [
        f"SO{compact}{serial:06d},{day},南京分公司,大件,客户已收货,张先生 13812341234,王丽,{day} 16:00,已签收",
        f"SO{compact}{serial + 1:06d},{day},杭州分公司,小件,客户要求改期,李女士 13912345678,陈静,{day} 16:30,改约周末",
    ]
    return "\n".join([HEADER, *rows]).encode()


def items(session_factory) -> dict[str, Item]:
    with transaction(session_factory) as session:
        return {i.order_no: i for i in session.exec(select(Item)).all()}


def audit(session_factory, action: str) -> list[AuditEntry]:
    with transaction(session_factory) as session:
        return list(session.exec(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)).all())


def follow_ups(session_factory) -> list[FollowUp]:
    with transaction(session_factory) as session:
        return list(session.exec(select(FollowUp).order_by(FollowUp.id)).all())


def first_pages(session_factory) -> dict[tuple[str, str], DigestMessage]:
    """(digest day, owner user) -> the owner's first digest message of that day."""
    users = {"大件配送": Y, "小件配送": Z}
    with transaction(session_factory) as session:
        rows = session.exec(select(DigestMessage).where(DigestMessage.page == 0)).all()
    return {(m.digest_day.isoformat(), users[m.owner]): m for m in rows}


@dataclass(frozen=True)
class Threads:
    """The ts of Friday's digest messages: Y's first, Y's continuation, Z's."""

    y: str
    y_more: str
    z: str


# --- what the fake recorded ---------------------------------------------------------------

Summary = tuple[str, str | None, str | None, tuple[str, ...]]


def mentions(text: str) -> tuple[str, ...]:
    return tuple(sorted(set(re.findall(r"<@(U[0-9A-Z]+)>", text or ""))))


def summary(call) -> Summary:
    """(method, channel or user, thread or message ts, users the text mentions);
    a call Slack refused is named ``method!error``."""
    method, where, thread, who = _summary(call)
    return (f"{method}!{call.error}" if call.error else method, where, thread, who)


def _summary(call) -> Summary:
    p = call.params
    if call.method == "chat.postMessage":
        return (call.method, p["channel"], p.get("thread_ts"), mentions(p.get("text", "")))
    if call.method == "chat.update":
        return (call.method, p["channel"], p["ts"], ())
    if call.method == "chat.getPermalink":
        return (call.method, p["channel"], p["message_ts"], ())
    if call.method == "conversations.open":
        return (call.method, p["users"], None, ())
    if call.method == "chat.postEphemeral":
        return (call.method, p["channel"], p["user"], mentions(p.get("text", "")))
    return (call.method, None, None, ())


def recorded(fake) -> list[Summary]:
    return [summary(c) for c in effects(fake)]


def nudge(ts: str, owner: str) -> Summary:
    return ("chat.postMessage", CHANNEL, ts, (owner,))


def told(ts: str, owner: str, manager: str) -> Summary:
    """The owner is told in the thread that their chain was escalated."""
    return ("chat.postMessage", CHANNEL, ts, tuple(sorted((owner, manager))))


def opened(user: str) -> Summary:
    return ("conversations.open", user, None, ())


def dm(user: str, *mentioned: str) -> Summary:
    return ("chat.postMessage", f"D{user}", None, tuple(sorted(mentioned)))


def update(ts: str) -> Summary:
    return ("chat.update", CHANNEL, ts, ())


def escalation(manager: str, owners: dict[str, str]) -> list[Summary]:
    """One consolidated DM about the threads ``owners`` (ts -> owner user)
    and a notice in each of those threads. The threads' links are built from
    the workspace URL (``auth.test``, once per process), not asked for."""
    return [
        opened(manager),
        dm(manager, *owners.values()),
        *[told(ts, owner, manager) for ts, owner in owners.items()],
    ]


def refused(call: Summary, error: str) -> Summary:
    return (f"{call[0]}!{error}", *call[1:])


def calendar_warning() -> list[Summary]:
    return [opened(CS_LEAD), dm(CS_LEAD)]


def texts_to(fake, channel: str, thread: str | None = None) -> list[str]:
    return [
        c.params["text"] for c in fake.calls_to("chat.postMessage")
        if c.error is None and c.params["channel"] == channel and c.params.get("thread_ts") == thread
    ]


# --- driving the app -------------------------------------------------------------------------


def run(fake, clock, schedule: list[str], *sweeps: Callable[[], object], together: bool = False) -> dict[str, list[Summary]]:
    """Set the clock to each time of ``schedule``, run the sweeps (one after
    the other, or all at once in threads), and collect what each time sent."""
    seen: dict[str, list[Summary]] = {}
    for when in schedule:
        for c in clocks(clock):
            c.set(at(when))
        if together:
            errors = run_together(*sweeps)
            assert errors == []
        else:
            for sweep in sweeps:
                sweep()
        seen[when] = recorded(fake)
        fake.clear()
    return seen


def clocks(clock) -> list[FixedClock]:
    return clock if isinstance(clock, list) else [clock]


def command(bot: Bot, signer, fake, text: str, user: str = Y):
    request = slash_command(signer, text=text, user_id=user, channel_id=CHANNEL, response_url=fake.response_url())
    response = bot.app.dispatch(request.to_bolt())
    assert response.status == 200
    return response


def deliver(bot: Bot, signer, event: dict, *, event_id: str):
    response = bot.app.dispatch(event_callback(signer, event=event, event_id=event_id).to_bolt())
    assert response.status == 200
    return response


def eyes(bot: Bot, signer, *, user: str, ts: str, event_id: str = "EvEyes"):
    return deliver(bot, signer, reaction_event(kind="reaction_added", user=user, reaction="eyes", channel=CHANNEL, ts=ts), event_id=event_id)


def thread_reply(bot: Bot, signer, *, user: str, thread_ts: str, event_id: str = "EvReply", bot_id: str | None = None):
    event = {
        "type": "message", "channel": CHANNEL, "channel_type": "channel", "user": user,
        "text": "在核实，今天下班前答复", "ts": "1764300000.000100", "thread_ts": thread_ts,
        "event_ts": "1764300000.000100",
    }
    if bot_id:
        event["bot_id"] = bot_id
    return deliver(bot, signer, event, event_id=event_id)


def another_bot(settings, fake_slack, session_factory, clock, routing) -> Bot:
    return create_app(
        settings, client=make_client("xoxb-test", fake_slack.api_url), session_factory=session_factory,
        clock=clock, routing=routing, process_before_response=True,
    )


def post_friday_digest(bot: Bot, session_factory, clock, fake_slack) -> Threads:
    seed(session_factory, clock)
    bot.services.post_daily_digest()
    with transaction(session_factory) as session:
        pages = {(m.owner, m.page): m.ts for m in session.exec(select(DigestMessage)).all()}
    assert len(pages) == 3 and all(pages.values()), "the digest did not post (see the digest tests)"
    fake_slack.clear()
    return Threads(y=pages[("大件配送", 0)], y_more=pages[("大件配送", 1)], z=pages[("小件配送", 0)])


@pytest.fixture
def threads(bot, session_factory, clock, fake_slack) -> Threads:
    """The sample export imported and Friday's digest posted at 08:30; calls cleared."""
    return post_friday_digest(bot, session_factory, clock, fake_slack)


FRIDAY = ["2026-11-27 09:00", "2026-11-27 10:59", "2026-11-27 11:00", "2026-11-27 11:30", "2026-11-27 12:59",
          "2026-11-27 13:00", "2026-11-27 17:59", "2026-11-27 18:00", "2026-11-27 18:30"]
WEEKEND_AND_MONDAY = ["2026-11-28 10:00", "2026-11-29 15:00", "2026-11-30 09:00", "2026-11-30 11:00",
                      "2026-11-30 13:00", "2026-11-30 17:59"]


def quiet_friday(t: Threads) -> dict[str, list[Summary]]:
    """What a day without any answer sends, by time."""
    expected = {when: [] for when in FRIDAY + WEEKEND_AND_MONDAY}
    expected["2026-11-27 11:00"] = [nudge(t.y, Y), nudge(t.z, Z)]  # 09:00 + 2h
    expected["2026-11-27 13:00"] = escalation(OPS_HEAD, {t.y: Y, t.z: Z})  # 09:00 + 4h, one DM for both
    expected["2026-11-27 18:00"] = [update(t.y), update(t.y_more), update(t.z)]  # deemed confirmed
    # The silence goes on past the deadline, and so does the ladder: level 2
    # at 09:00 + 9h = the close -> Monday 09:00, one DM for both threads.
    expected["2026-11-30 09:00"] = escalation(BOSS, {t.y: Y, t.z: Z})
    return expected


# --- a quiet day ---------------------------------------------------------------------------


def test_a_quiet_thread_is_nudged_escalated_and_deemed_at_the_right_hours(bot, session_factory, clock, fake_slack, threads) -> None:
    seen = run(fake_slack, clock, FRIDAY + WEEKEND_AND_MONDAY, bot.services.sweep)

    assert seen == quiet_friday(threads)


def test_the_nudge_mentions_the_owner_and_says_what_awaits(bot, session_factory, clock, fake_slack, threads) -> None:
    clock.set(at("2026-11-27 11:00"))
    bot.services.sweep()

    (y_text,) = texts_to(fake_slack, CHANNEL, threads.y)
    (z_text,) = texts_to(fake_slack, CHANNEL, threads.z)
    assert y_text.startswith(f"<@{Y}>") and "26 item(s)" in y_text and "11-27 18:00" in y_text
    assert z_text.startswith(f"<@{Z}>") and "12 item(s)" in z_text and "11-27 18:00" in z_text
    rows = follow_ups(session_factory)
    assert [(r.kind, r.level, r.recipient, r.channel) for r in rows] == [("nudge", 0, Y, CHANNEL), ("nudge", 0, Z, CHANNEL)]
    assert all(r.ts for r in rows) and rows[0].sent_at == at("2026-11-27 11:00")


def test_the_escalation_dm_says_what_is_open_since_when_who_was_nudged_and_links_the_threads(bot, session_factory, clock, fake_slack, threads) -> None:
    run(fake_slack, clock, ["2026-11-27 11:00"], bot.services.sweep)
    clock.set(at("2026-11-27 13:00"))

    bot.services.sweep()

    (text,) = texts_to(fake_slack, f"D{OPS_HEAD}")
    y_part, z_part = text.split("\n\n")[1:]
    for part, owner, user, count, ts in (("y", "大件配送", Y, 26, threads.y), ("z", "小件配送", Z, 12, threads.z)):
        block = y_part if part == "y" else z_part
        assert owner in block and f"<@{user}>" in block
        assert f"{count} item(s) awaiting" in block  # what is open
        assert "quiet since 11-27 08:30" in block  # since when
        assert f"<@{user}> 11-27 11:00" in block  # who was nudged, and when
        assert f"https://rejectbot-test.slack.com/archives/{CHANNEL}/p{ts.replace('.', '')}" in block  # the thread
        assert "level 1" in block
    (y_notice,) = texts_to(fake_slack, CHANNEL, threads.y)
    assert f"<@{Y}>" in y_notice and f"<@{OPS_HEAD}>" in y_notice and "level 1" in y_notice
    escalations = [r for r in follow_ups(session_factory) if r.kind == "escalate"]
    assert [(r.level, r.recipient) for r in escalations] == [(1, OPS_HEAD)] * 2
    assert escalations[0].ts == escalations[1].ts  # one DM


def test_at_the_deadline_unanswered_items_become_deemed_confirmed_by_the_scheduler(bot, session_factory, clock, fake_slack, threads) -> None:
    clock.set(at("2026-11-27 17:59"))
    bot.services.sweep()
    assert {i.status for o, i in items(session_factory).items() if i.owner} == {"awaiting"}

    clock.set(at("2026-11-27 18:00"))
    bot.services.sweep()

    routed = [i for i in items(session_factory).values() if i.owner]
    assert len(routed) == 38 and {i.status for i in routed} == {"deemed_confirmed"}
    rows = audit(session_factory, "deem")
    assert len(rows) == 38
    assert {(r.actor, r.role, r.surface, r.from_status, r.to_status, r.at) for r in rows} == {
        ("system", "system", "scheduler", "awaiting", "deemed_confirmed", at("2026-11-27 18:00"))
    }
    assert sorted(c.params["ts"] for c in fake_slack.calls_to("chat.update")) == sorted([threads.y, threads.y_more, threads.z])
    shown = fake_slack.messages
    for item in routed:
        ts = [ts for (ch, ts), m in shown.items() if ch == CHANNEL and any(b.get("block_id") == f"item-{item.id}" for b in m["blocks"])]
        (message_ts,) = ts
        state = [b for b in shown[(CHANNEL, message_ts)]["blocks"] if b.get("block_id") == f"state-{item.id}"]
        assert state and "deemed confirmed" in json.dumps(state[0], ensure_ascii=False), item.order_no
    assert "0 awaiting" in shown[(CHANNEL, threads.y)]["text"]


def test_a_thread_without_a_fix_after_the_fix_window_is_followed_up_again(bot, signer, session_factory, clock, fake_slack, threads) -> None:
    # Deemed Friday 18:00; on Monday at 10:00 the owner records a fix for one
    # item (activity after the deadline ends the silence). The fix window (18h)
    # is Monday and Tuesday in full, so the new quiet period starts Wednesday
    # 12-02 09:00, from the bottom: nudge 11:00, level 1 13:00, level 2 at
    # 09:00 + 9h = the close -> Thursday 12-03 09:00. From 1 December each
    # working day's first sweep also warns about 2027's missing calendar.
    run(fake_slack, clock, FRIDAY + ["2026-11-30 09:00"], bot.services.sweep)
    clock.set(at("2026-11-30 10:00"))
    command(bot, signer, fake_slack, f"fix {Y_ORDER} 已重新派送", user=Y)
    command(bot, signer, fake_slack, "fix SO20261126000001 已重新派送", user=Z)
    fake_slack.clear()
    later = ["2026-12-01 09:00", "2026-12-01 17:00", "2026-12-02 09:00", "2026-12-02 10:59", "2026-12-02 11:00",
             "2026-12-02 13:00", "2026-12-02 17:59", "2026-12-03 09:00", "2026-12-03 12:00"]

    seen = run(fake_slack, clock, later, bot.services.sweep)

    t = threads
    assert seen == {
        "2026-12-01 09:00": calendar_warning(),
        "2026-12-01 17:00": [],
        "2026-12-02 09:00": calendar_warning(),
        "2026-12-02 10:59": [],
        "2026-12-02 11:00": [nudge(t.y, Y), nudge(t.z, Z)],
        "2026-12-02 13:00": escalation(OPS_HEAD, {t.y: Y, t.z: Z}),
        "2026-12-02 17:59": [],
        "2026-12-03 09:00": calendar_warning() + escalation(BOSS, {t.y: Y, t.z: Z}),
        "2026-12-03 12:00": [],
    }
    rows = [r for r in follow_ups(session_factory) if r.sent_at >= at("2026-12-02 00:00")]
    assert [(r.kind, r.level, r.recipient) for r in rows] == [
        ("nudge", 0, Y), ("nudge", 0, Z), ("escalate", 1, OPS_HEAD), ("escalate", 1, OPS_HEAD),
        ("escalate", 2, BOSS), ("escalate", 2, BOSS),
    ]


def test_the_fix_nudge_says_fixes_are_missing(bot, signer, session_factory, clock, fake_slack, threads) -> None:
    run(fake_slack, clock, ["2026-11-27 18:00"], bot.services.sweep)
    clock.set(at("2026-11-30 10:00"))
    thread_reply(bot, signer, user=Y, thread_ts=threads.y)  # the owner speaks after the deadline: the fix phase starts anew
    run(fake_slack, clock, ["2026-12-02 10:00"], bot.services.sweep)
    clock.set(at("2026-12-02 11:00"))

    bot.services.sweep()

    (text,) = texts_to(fake_slack, CHANNEL, threads.y)
    assert text.startswith(f"<@{Y}>") and "no fix" in text and "11-27 18:00" in text


# --- exactly once -------------------------------------------------------------------------------


def as_counts(seen: dict[str, list[Summary]]) -> dict[str, Counter]:
    return {when: Counter(calls) for when, calls in seen.items()}


def test_sweeping_twice_every_time_sends_nothing_twice(bot, session_factory, clock, fake_slack, threads) -> None:
    seen = run(fake_slack, clock, FRIDAY + WEEKEND_AND_MONDAY, bot.services.sweep, bot.services.sweep)

    assert seen == quiet_friday(threads)
    assert len(audit(session_factory, "deem")) == 38


def test_two_sweeps_at_once_send_nothing_twice(bot, session_factory, clock, fake_slack, threads) -> None:
    seen = run(fake_slack, clock, FRIDAY + WEEKEND_AND_MONDAY, bot.services.sweep, bot.services.sweep, together=True)

    assert as_counts(seen) == as_counts(quiet_friday(threads))
    assert len(audit(session_factory, "deem")) == 38
    assert len(follow_ups(session_factory)) == 6  # nudge, level 1 and level 2 for each thread


def test_two_replicas_sharing_the_database_send_nothing_twice(bot, replica_engine, session_factory, clock, fake_slack, settings, routing, threads) -> None:
    replica_clock = FixedClock(clock.now())
    replica = another_bot(settings, fake_slack, make_session_factory(replica_engine), replica_clock, routing)
    fake_slack.clear()  # its auth.test

    seen = run(
        fake_slack, [clock, replica_clock], FRIDAY + WEEKEND_AND_MONDAY,
        bot.services.sweep, replica.services.sweep, replica.services.sweep, bot.services.sweep, together=True,
    )

    assert as_counts(seen) == as_counts(quiet_friday(threads))
    assert len(audit(session_factory, "deem")) == 38
    assert len(follow_ups(session_factory)) == 6  # nudge, level 1 and level 2 for each thread


def test_a_nudge_slack_refuses_is_sent_by_the_next_sweep_once(bot, session_factory, clock, fake_slack, threads) -> None:
    fake_slack.fail_next("chat.postMessage", error="channel_not_found")

    seen = run(fake_slack, clock, ["2026-11-27 11:00", "2026-11-27 11:01", "2026-11-27 11:02"], bot.services.sweep)

    assert seen == {
        "2026-11-27 11:00": [refused(nudge(threads.y, Y), "channel_not_found"), nudge(threads.z, Z)],
        "2026-11-27 11:01": [nudge(threads.y, Y)],
        "2026-11-27 11:02": [],
    }
    rows = follow_ups(session_factory)
    assert [(r.kind, r.recipient, r.attempts) for r in rows] == [("nudge", Y, 1), ("nudge", Z, 0)] and all(r.ts for r in rows)


def test_the_failed_nudge_was_refused_not_lost(bot, session_factory, clock, fake_slack, threads) -> None:
    fake_slack.fail_next("chat.postMessage", error="channel_not_found")
    clock.set(at("2026-11-27 11:00"))

    bot.services.sweep()

    assert [c.error for c in fake_slack.calls_to("chat.postMessage")] == ["channel_not_found", None]
    rows = follow_ups(session_factory)
    assert [(r.kind, r.recipient, bool(r.ts)) for r in rows] == [("nudge", Y, False), ("nudge", Z, True)]
    # kept for the next sweep: the failure counted, the claim free, nothing to look up (Slack refused it)
    assert (rows[0].attempts, rows[0].error, rows[0].lease_until, rows[0].message_key, rows[0].gave_up_at) == (1, "channel_not_found", None, None, None)


def test_an_escalation_slack_refuses_is_sent_with_its_notices_by_the_next_sweep(bot, session_factory, clock, fake_slack, threads) -> None:
    run(fake_slack, clock, ["2026-11-27 11:00"], bot.services.sweep)
    fake_slack.fail_next("chat.postMessage", error="restricted_action")  # definitive: the gateway does not retry it

    seen = run(fake_slack, clock, ["2026-11-27 13:00", "2026-11-27 13:01", "2026-11-27 13:02"], bot.services.sweep)

    assert seen == {
        "2026-11-27 13:00": [opened(OPS_HEAD), refused(dm(OPS_HEAD, Y, Z), "restricted_action")],  # no notices
        "2026-11-27 13:01": escalation(OPS_HEAD, {threads.y: Y, threads.z: Z}),
        "2026-11-27 13:02": [],
    }


@pytest.mark.parametrize("error", ["msg_too_long", "msg_blocks_too_long", "invalid_blocks"])
def test_an_escalation_slack_refuses_for_its_size_is_not_rebuilt_and_retried_and_the_cs_lead_is_told_once(bot, session_factory, clock, fake_slack, threads, error) -> None:
    """Built again from the same facts, it would be refused again: given up at
    the first refusal, however many sweeps follow; the CS lead is told once."""
    run(fake_slack, clock, ["2026-11-27 11:00"], bot.services.sweep)
    fake_slack.fail_next("chat.postMessage", error=error)

    seen = run(fake_slack, clock, ["2026-11-27 13:00", "2026-11-27 13:01", "2026-11-27 13:02", "2026-11-27 13:03"], bot.services.sweep)

    assert seen == {
        "2026-11-27 13:00": [opened(OPS_HEAD), refused(dm(OPS_HEAD, Y, Z), error), opened(CS_LEAD), dm(CS_LEAD, OPS_HEAD)],  # no notices
        "2026-11-27 13:01": [],
        "2026-11-27 13:02": [],
        "2026-11-27 13:03": [],
    }
    escalations = [r for r in follow_ups(session_factory) if r.kind == "escalate"]
    assert [(r.refusals, r.error, r.ts, r.gave_up_at is not None) for r in escalations] == [(1, error, None, True)] * 2


# --- the owner side answers ---------------------------------------------------------------------------


def test_an_answer_by_the_owner_restarts_the_quiet_period(bot, signer, session_factory, clock, fake_slack, threads) -> None:
    clock.set(at("2026-11-27 10:00"))
    command(bot, signer, fake_slack, f"confirm {Y_ORDER}")
    assert items(session_factory)[Y_ORDER].status == "confirmed"
    fake_slack.clear()

    seen = run(fake_slack, clock, ["2026-11-27 11:00", "2026-11-27 11:59", "2026-11-27 12:00", "2026-11-27 13:00",
                                   "2026-11-27 13:59", "2026-11-27 14:00", "2026-11-27 17:59"], bot.services.sweep)

    t = threads
    assert seen == {
        "2026-11-27 11:00": [nudge(t.z, Z)],
        "2026-11-27 11:59": [],
        "2026-11-27 12:00": [nudge(t.y, Y)],  # 10:00 + 2h
        "2026-11-27 13:00": escalation(OPS_HEAD, {t.z: Z}),
        "2026-11-27 13:59": [],
        "2026-11-27 14:00": escalation(OPS_HEAD, {t.y: Y}),  # 10:00 + 4h
        "2026-11-27 17:59": [],
    }


@pytest.mark.parametrize("user", [Y, DELEGATE_Y, OPS_HEAD], ids=["owner", "delegate", "manager"])
def test_a_reply_in_the_thread_by_the_owner_side_restarts_the_quiet_period(bot, signer, session_factory, clock, fake_slack, threads, user) -> None:
    clock.set(at("2026-11-27 10:00"))
    thread_reply(bot, signer, user=user, thread_ts=threads.y)
    assert fake_slack.calls == []

    seen = run(fake_slack, clock, ["2026-11-27 11:00", "2026-11-27 12:00"], bot.services.sweep)

    assert seen == {"2026-11-27 11:00": [nudge(threads.z, Z)], "2026-11-27 12:00": [nudge(threads.y, Y)]}


@pytest.mark.parametrize("bot_message", [False, True], ids=["stranger", "a-bot-s-message"])
def test_a_reply_in_the_thread_by_a_stranger_or_a_bot_is_not_activity(bot, signer, session_factory, clock, fake_slack, threads, bot_message) -> None:
    clock.set(at("2026-11-27 10:00"))
    thread_reply(bot, signer, user="UBOT" if bot_message else STRANGER, thread_ts=threads.y, bot_id="BBOT" if bot_message else None)

    seen = run(fake_slack, clock, ["2026-11-27 11:00", "2026-11-27 12:00"], bot.services.sweep)

    assert seen == {"2026-11-27 11:00": [nudge(threads.y, Y), nudge(threads.z, Z)], "2026-11-27 12:00": []}


def test_a_reply_by_the_other_owner_is_not_activity_on_this_thread(bot, signer, session_factory, clock, fake_slack, threads) -> None:
    clock.set(at("2026-11-27 10:00"))
    thread_reply(bot, signer, user=Z, thread_ts=threads.y)

    seen = run(fake_slack, clock, ["2026-11-27 11:00"], bot.services.sweep)

    assert seen == {"2026-11-27 11:00": [nudge(threads.y, Y), nudge(threads.z, Z)]}


# --- 👀 ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("page", ["first", "continuation"])
def test_eyes_by_the_owner_pause_reminders_until_the_deadline_which_still_applies(bot, signer, session_factory, clock, fake_slack, threads, page) -> None:
    clock.set(at("2026-11-27 09:30"))
    eyes(bot, signer, user=Y, ts=threads.y if page == "first" else threads.y_more)

    (answer,) = fake_slack.calls_to("chat.postEphemeral")
    assert answer.params["user"] == Y and "11-27 18:00" in answer.params["text"]
    assert recorded(fake_slack) == [("chat.postEphemeral", CHANNEL, Y, ())]
    fake_slack.clear()

    seen = run(fake_slack, clock, ["2026-11-27 11:00", "2026-11-27 13:00", "2026-11-27 17:59", "2026-11-27 18:00"]
               + WEEKEND_AND_MONDAY, bot.services.sweep)

    t = threads
    expected = {when: [] for when in seen}
    expected["2026-11-27 11:00"] = [nudge(t.z, Z)]
    expected["2026-11-27 13:00"] = escalation(OPS_HEAD, {t.z: Z})
    expected["2026-11-27 18:00"] = [update(t.y), update(t.y_more), update(t.z)]
    # The deadline deemed Y's items; Y said nothing since 👀, so Y's ladder
    # runs from the deadline: nudge Monday 11:00, level 1 13:00. Z's climbs on
    # to level 2 on Monday 09:00.
    expected["2026-11-30 09:00"] = escalation(BOSS, {t.z: Z})
    expected["2026-11-30 11:00"] = [nudge(t.y, Y)]
    expected["2026-11-30 13:00"] = escalation(OPS_HEAD, {t.y: Y})
    assert seen == expected
    assert {i.status for i in items(session_factory).values() if i.owner == "大件配送"} == {"deemed_confirmed"}


def test_eyes_by_someone_else_are_answered_and_change_nothing(bot, signer, session_factory, clock, fake_slack, threads) -> None:
    clock.set(at("2026-11-27 09:30"))
    eyes(bot, signer, user=Z, ts=threads.y)

    assert recorded(fake_slack) == [("chat.postEphemeral", CHANNEL, Z, ())]
    assert "大件配送" in fake_slack.calls_to("chat.postEphemeral")[0].params["text"]
    fake_slack.clear()
    with transaction(session_factory) as session:
        first = session.exec(select(DigestMessage).where(DigestMessage.ts == threads.y)).one()
    assert (first.acknowledged_at, first.acknowledged_by, first.last_activity_at) == (None, None, None)

    seen = run(fake_slack, clock, ["2026-11-27 11:00"], bot.services.sweep)

    assert seen == {"2026-11-27 11:00": [nudge(threads.y, Y), nudge(threads.z, Z)]}


def test_eyes_stay_in_force_when_the_owner_then_answers_one_item(bot, signer, session_factory, clock, fake_slack, threads) -> None:
    # 👀 at 09:30, one item confirmed at 11:00: reminders still pause until 18:00.
    clock.set(at("2026-11-27 09:30"))
    eyes(bot, signer, user=Y, ts=threads.y)
    clock.set(at("2026-11-27 11:00"))
    command(bot, signer, fake_slack, f"confirm {Y_ORDER}")
    fake_slack.clear()

    seen = run(fake_slack, clock, ["2026-11-27 13:00", "2026-11-27 15:00", "2026-11-27 17:59"], bot.services.sweep)

    assert [s for calls in seen.values() for s in calls if s[2] == threads.y or Y in s[3]] == []


# --- working hours only ------------------------------------------------------------------------------


def test_a_thread_step_that_fell_due_while_the_bot_was_down_waits_for_working_hours(bot, signer, session_factory, clock, fake_slack) -> None:
    # Monday 2026-11-23: digest at 08:30; Y confirms everything at 10:00. The
    # fix window (18h) ends Wednesday 11-25 10:00: nudge 12:00, level 1 14:00.
    # The bot is down until Wednesday 20:00 — after hours: nothing may be sent
    # to people then; the overdue steps go out at Thursday's opening.
    clock.set(at("2026-11-23 08:30"))
    seed(session_factory, clock)
    bot.services.post_daily_digest()
    pages = first_pages(session_factory)
    y, z = pages[("2026-11-23", Y)].ts, pages[("2026-11-23", Z)].ts
    clock.set(at("2026-11-23 10:00"))
    command(bot, signer, fake_slack, "confirm all")
    fake_slack.clear()

    seen = run(fake_slack, clock, ["2026-11-25 20:00", "2026-11-25 23:00", "2026-11-26 09:00"], bot.services.sweep)

    # Z, silent, climbs on past the deadline: its nudge (Monday 11:00), level 1
    # (13:00) and level 2 (Tuesday 09:00) are overdue too, each once.
    assert as_counts(seen) == as_counts({
        "2026-11-25 20:00": [update(z)],  # Z's items deemed: the deadline (Monday 18:00) has passed
        "2026-11-25 23:00": [],
        "2026-11-26 09:00": [nudge(y, Y), nudge(z, Z), *escalation(OPS_HEAD, {z: Z, y: Y}), *escalation(BOSS, {z: Z})],
    })


def test_a_dispute_reminder_that_fell_due_while_the_bot_was_down_waits_for_working_hours(bot, signer, session_factory, clock, fake_slack, threads) -> None:
    # Disputed Friday 10:00, reminder due 14:00; the bot's next sweep is at
    # 19:00, then over the weekend: the reminder waits for Monday 09:00.
    clock.set(at("2026-11-27 10:00"))
    command(bot, signer, fake_slack, f"dispute {WANG_LI_ORDERS[0]} 客户当天改约")
    fake_slack.clear()

    seen = run(fake_slack, clock, ["2026-11-27 19:00", "2026-11-28 10:00", "2026-11-29 16:00", "2026-11-30 09:00"],
               bot.services.sweep)

    assert dms_to(seen, AGENT) == {
        "2026-11-27 19:00": [],
        "2026-11-28 10:00": [],
        "2026-11-29 16:00": [],
        "2026-11-30 09:00": [opened(AGENT), dm(AGENT)],
    }


# --- disputes ------------------------------------------------------------------------------------------


def dms_to(seen: dict[str, list[Summary]], *users: str) -> dict[str, list[Summary]]:
    """Per time, the DMs (and DM openings) to ``users``."""
    wanted = {f"D{u}" for u in users} | set(users)
    return {when: [s for s in calls if s[1] in wanted] for when, calls in seen.items()}


def test_an_unresolved_dispute_is_nudged_to_the_agent_then_escalated_to_the_cs_lead(bot, signer, session_factory, clock, fake_slack, threads) -> None:
    # Disputed Friday 10:00: the callback agent 王丽 at 14:00 (4h); the CS lead
    # at 10:00 + 9h = 8h Friday + 1h Monday -> 11-30 10:00.
    order = WANG_LI_ORDERS[0]
    clock.set(at("2026-11-27 10:00"))
    command(bot, signer, fake_slack, f"dispute {order} 客户当天改约，已重新配送")
    assert items(session_factory)[order].status == "disputed"
    fake_slack.clear()

    seen = run(fake_slack, clock, ["2026-11-27 13:59", "2026-11-27 14:00", "2026-11-27 14:01", "2026-11-27 18:00",
                                   "2026-11-30 09:59", "2026-11-30 10:00", "2026-11-30 10:01", "2026-11-30 17:00"],
               bot.services.sweep)

    assert dms_to(seen, AGENT, CS_LEAD) == {
        "2026-11-27 13:59": [],
        "2026-11-27 14:00": [opened(AGENT), dm(AGENT)],
        "2026-11-27 14:01": [],
        "2026-11-27 18:00": [],
        "2026-11-30 09:59": [],
        "2026-11-30 10:00": [opened(CS_LEAD), dm(CS_LEAD)],
        "2026-11-30 10:01": [],
        "2026-11-30 17:00": [],
    }
    assert items(session_factory)[order].status == "disputed"  # not deemed: it was answered
    reminders = [r for r in follow_ups(session_factory) if r.item_id is not None]
    assert [(r.kind, r.level, r.recipient, r.sent_at) for r in reminders] == [
        ("dispute_nudge", 0, AGENT, at("2026-11-27 14:00")),
        ("dispute_escalate", 1, CS_LEAD, at("2026-11-30 10:00")),
    ]


def test_the_dispute_reminders_name_the_order(bot, signer, session_factory, clock, fake_slack, threads) -> None:
    order = WANG_LI_ORDERS[0]
    clock.set(at("2026-11-27 10:00"))
    command(bot, signer, fake_slack, f"dispute {order} 客户当天改约")
    fake_slack.clear()

    clock.set(at("2026-11-27 14:00"))
    bot.services.sweep()
    (to_agent,) = texts_to(fake_slack, f"D{AGENT}")
    clock.set(at("2026-11-30 10:00"))
    bot.services.sweep()
    (to_lead,) = texts_to(fake_slack, f"D{CS_LEAD}")

    for text in (to_agent, to_lead):
        assert order in text and "大件配送" in text and "王丽" in text and "11-27 10:00" in text


def test_a_dispute_whose_agent_is_unknown_is_nudged_to_the_cs_lead_once(bot, signer, session_factory, clock, fake_slack, threads) -> None:
    clock.set(at("2026-11-27 10:00"))
    command(bot, signer, fake_slack, f"dispute {UNKNOWN_AGENT_ORDER} 客户当天改约")
    fake_slack.clear()

    seen = run(fake_slack, clock, ["2026-11-27 14:00", "2026-11-27 15:00", "2026-11-30 10:00", "2026-11-30 17:00"],
               bot.services.sweep)

    assert dms_to(seen, CS_LEAD) == {
        "2026-11-27 14:00": [opened(CS_LEAD), dm(CS_LEAD)],
        "2026-11-27 15:00": [],
        "2026-11-30 10:00": [],
        "2026-11-30 17:00": [],
    }


# --- the daily cap -----------------------------------------------------------------------------------------


def test_the_daily_cap_lets_one_follow_up_a_day_reach_each_person(settings, fake_slack, session_factory, clock, routing, signer) -> None:
    capped = another_bot(settings, fake_slack, session_factory, clock, replace(routing, follow_up=FollowUpPolicy(daily_cap=1)))
    post_friday_digest(capped, session_factory, clock, fake_slack)
    # Two of Y's items disputed, both with 王丽's callbacks: at 09:30 (reminder
    # due 13:30, escalation Monday 09:30) and 10:30 (14:30; Monday 10:30).
    clock.set(at("2026-11-27 09:30"))
    command(capped, signer, fake_slack, f"dispute {WANG_LI_ORDERS[0]} 客户当天改约")
    clock.set(at("2026-11-27 10:30"))
    command(capped, signer, fake_slack, f"dispute {WANG_LI_ORDERS[1]} 客户当天改约")
    fake_slack.clear()

    seen = run(fake_slack, clock, ["2026-11-27 11:00", "2026-11-27 12:30", "2026-11-27 13:00", "2026-11-27 13:30",
                                   "2026-11-27 14:30", "2026-11-27 17:00", "2026-11-30 09:00", "2026-11-30 09:30",
                                   "2026-11-30 10:30", "2026-11-30 17:00", "2026-12-01 09:00", "2026-12-01 09:01"],
               capped.services.sweep)

    # The agent: one reminder on Friday (13:30), the held one on Monday.
    agent = dms_to(seen, AGENT)
    assert {when: calls for when, calls in agent.items() if calls} == {
        "2026-11-27 13:30": [opened(AGENT), dm(AGENT)],
        "2026-11-30 09:00": [opened(AGENT), dm(AGENT)],
    }
    # The operations head: Z's thread escalates at 13:00; Y's (quiet since the
    # 10:30 dispute) at 14:30 would be a second DM that day: held. Y's silence
    # goes on past the deadline, so it is sent at Monday's opening.
    ops = dms_to(seen, OPS_HEAD)
    assert {when: calls for when, calls in ops.items() if calls} == {
        "2026-11-27 13:00": [opened(OPS_HEAD), dm(OPS_HEAD, Z)],
        "2026-11-30 09:00": [opened(OPS_HEAD), dm(OPS_HEAD, Y)],
    }
    # The CS lead: one escalation Monday, the other on Tuesday (with the calendar warning).
    lead = [r for r in follow_ups(capped.services.deps.session_factory) if r.recipient == CS_LEAD]
    assert [(r.kind, r.sent_at) for r in lead] == [
        ("dispute_escalate", at("2026-11-30 09:30")), ("dispute_escalate", at("2026-12-01 09:00")),
    ]
    # Nobody got more than one follow-up message a day.
    per_day = Counter((r.recipient, r.sent_at.astimezone(SHANGHAI).date(), r.ts) for r in follow_ups(session_factory))
    per_person_day = Counter((who, day) for who, day, _ in per_day)
    assert max(per_person_day.values()) == 1


def test_a_follow_up_held_by_the_cap_waits_for_the_next_working_day_not_midnight(settings, fake_slack, session_factory, clock, routing, signer) -> None:
    # The ticker runs around the clock: the held reminder must not go out when
    # the count resets at midnight on Saturday, but at Monday's opening.
    capped = another_bot(settings, fake_slack, session_factory, clock, replace(routing, follow_up=FollowUpPolicy(daily_cap=1)))
    post_friday_digest(capped, session_factory, clock, fake_slack)
    clock.set(at("2026-11-27 09:30"))
    command(capped, signer, fake_slack, f"dispute {WANG_LI_ORDERS[0]} 客户当天改约")
    clock.set(at("2026-11-27 10:30"))
    command(capped, signer, fake_slack, f"dispute {WANG_LI_ORDERS[1]} 客户当天改约")
    fake_slack.clear()

    seen = run(fake_slack, clock, ["2026-11-27 13:30", "2026-11-27 14:30", "2026-11-28 00:00", "2026-11-28 10:00",
                                   "2026-11-30 09:00"], capped.services.sweep)

    assert dms_to(seen, AGENT) == {
        "2026-11-27 13:30": [opened(AGENT), dm(AGENT)],
        "2026-11-27 14:30": [],
        "2026-11-28 00:00": [],
        "2026-11-28 10:00": [],
        "2026-11-30 09:00": [opened(AGENT), dm(AGENT)],
    }


# --- the policy in force when posted ---------------------------------------------------------------------


def test_a_thread_keeps_the_policy_in_force_when_its_digest_was_posted(settings, fake_slack, session_factory, clock, routing, bot) -> None:
    hurried = replace(routing, follow_up=FollowUpPolicy(quiet=timedelta(hours=1), level1=timedelta(hours=2)))
    poster = another_bot(settings, fake_slack, session_factory, clock, hurried)
    threads = post_friday_digest(poster, session_factory, clock, fake_slack)

    # swept by a bot whose routing file has the default (slower) policy since
    seen = run(fake_slack, clock, ["2026-11-27 09:59", "2026-11-27 10:00", "2026-11-27 11:00"], bot.services.sweep)

    assert seen == {
        "2026-11-27 09:59": [],
        "2026-11-27 10:00": [nudge(threads.y, Y), nudge(threads.z, Z)],  # 09:00 + 1h
        "2026-11-27 11:00": escalation(OPS_HEAD, {threads.y: Y, threads.z: Z}),  # 09:00 + 2h
    }


# --- the escalated manager on the next digest ----------------------------------------------------------------


def head_of(fake, ts: str) -> str:
    return fake.messages[(CHANNEL, ts)]["blocks"][0]["text"]["text"]


def test_an_escalated_manager_is_copied_on_the_owner_s_next_digest_until_the_owner_answers(bot, signer, session_factory, clock, fake_slack, threads) -> None:
    run(fake_slack, clock, FRIDAY, bot.services.sweep)  # escalated to the operations head at 13:00
    clock.set(at("2026-11-30 08:00"))
    seed(session_factory, clock, next_day_csv("2026-11-29", 1))
    clock.set(at("2026-11-30 08:30"))

    bot.services.post_daily_digest()

    monday = first_pages(session_factory)
    for owner in (Y, Z):
        head = head_of(fake_slack, monday[("2026-11-30", owner)].ts)
        assert f"<@{owner}>" in head and f"Copied: <@{OPS_HEAD}>" in head
    assert f"<@{OPS_HEAD}>" not in head_of(fake_slack, threads.y)  # Friday's message is not changed

    # Y answers on Monday; Z does not.
    clock.set(at("2026-11-30 10:00"))
    command(bot, signer, fake_slack, "confirm SO20261129000001")
    clock.set(at("2026-12-01 08:00"))
    seed(session_factory, clock, next_day_csv("2026-11-30", 1))
    clock.set(at("2026-12-01 08:30"))

    bot.services.post_daily_digest()

    tuesday = first_pages(session_factory)
    assert f"<@{OPS_HEAD}>" not in head_of(fake_slack, tuesday[("2026-12-01", Y)].ts)
    assert f"Copied: <@{OPS_HEAD}>" in head_of(fake_slack, tuesday[("2026-12-01", Z)].ts)


def test_a_digest_after_a_day_without_escalation_copies_nobody(bot, session_factory, clock, fake_slack, threads) -> None:
    run(fake_slack, clock, ["2026-11-27 11:00", "2026-11-27 18:00"], bot.services.sweep)  # nudged, not escalated
    clock.set(at("2026-11-30 08:00"))
    seed(session_factory, clock, next_day_csv("2026-11-29", 1))
    clock.set(at("2026-11-30 08:30"))

    bot.services.post_daily_digest()

    monday = first_pages(session_factory)
    for owner in (Y, Z):
        assert "Copied" not in head_of(fake_slack, monday[("2026-11-30", owner)].ts)


# --- the calendar ---------------------------------------------------------------------------------------------


def test_without_next_year_s_calendar_the_cs_lead_is_told_once_a_day_from_1_december(bot, clock, fake_slack, caplog) -> None:
    # The installed chinesecalendar has no data for 2027.
    caplog.set_level(logging.ERROR)
    fake_slack.clear()  # the app's auth.test

    seen = run(fake_slack, clock, ["2026-11-30 09:00", "2026-11-30 17:59", "2026-12-01 09:00", "2026-12-01 09:01",
                                   "2026-12-01 17:00", "2026-12-02 09:00", "2026-12-02 12:00"], bot.services.sweep)

    assert seen == {
        "2026-11-30 09:00": [],
        "2026-11-30 17:59": [],
        "2026-12-01 09:00": calendar_warning(),
        "2026-12-01 09:01": [],
        "2026-12-01 17:00": [],
        "2026-12-02 09:00": calendar_warning(),
        "2026-12-02 12:00": [],
    }
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors and all("2027" in r.getMessage() for r in errors)
    assert len({r.created for r in errors}) >= 2  # logged on each day, not only once


def test_the_calendar_warning_names_the_missing_year(bot, clock, fake_slack) -> None:
    clock.set(at("2026-12-01 09:00"))

    bot.services.sweep()

    (text,) = texts_to(fake_slack, f"D{CS_LEAD}")
    assert "2027" in text and "Monday–Friday" in text


def test_a_nudge_due_before_the_year_ends_is_sent_though_later_steps_need_next_year(bot, session_factory, clock, fake_slack, caplog) -> None:
    # Thursday 2026-12-31: digest at 08:30, nudges due 11:00 and level 1 at
    # 13:00 — both inside 2026. Only level 2 (09:00 + 9h = the close -> the
    # next working day, in 2027) cannot be computed.
    caplog.set_level(logging.ERROR)
    clock.set(at("2026-12-31 08:00"))
    seed(session_factory, clock)
    clock.set(at("2026-12-31 08:30"))
    bot.services.post_daily_digest()
    pages = first_pages(session_factory)
    y, z = pages[("2026-12-31", Y)].ts, pages[("2026-12-31", Z)].ts
    fake_slack.clear()

    seen = run(fake_slack, clock, ["2026-12-31 10:59", "2026-12-31 11:00", "2026-12-31 13:00"], bot.services.sweep)

    assert seen == {
        "2026-12-31 10:59": calendar_warning(),
        "2026-12-31 11:00": [nudge(y, Y), nudge(z, Z)],
        "2026-12-31 13:00": escalation(OPS_HEAD, {y: Y, z: Z}),
    }
    assert any("2027" in r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR)


def test_items_deemed_by_a_late_sweep_count_from_their_deadline(bot, session_factory, clock, fake_slack, threads) -> None:
    # The bot was down from Friday 17:00 to Monday 10:00: the Monday sweep deems
    # Friday's items as of Friday 18:00, so their fix window (2 working days)
    # ends Tuesday 18:00 -> Wednesday 09:00, not two days after Monday.
    clock.set(at("2026-11-30 10:00"))
    bot.services.sweep()

    deemed = audit(session_factory, "deem")
    assert len(deemed) == 38
    assert {entry.at for entry in deemed} == {at("2026-11-27 18:00").astimezone(UTC)}
    with transaction(session_factory) as session:
        decided = {i.decided_at for i in session.exec(select(Item).where(Item.status == "deemed_confirmed")).all()}
    assert decided == {at("2026-11-27 18:00").astimezone(UTC)}


# --- a silent owner, Friday to Wednesday, with the ticker running around the clock ----------------------


def every_half_hour(first: str, last: str) -> list[str]:
    times, now, end = [], at(first), at(last)
    while now <= end:
        times.append(now.strftime("%Y-%m-%d %H:%M"))
        now += timedelta(minutes=30)
    return times


SILENT_WEEK = every_half_hour("2026-11-27 09:00", "2026-12-02 18:00")  # Friday 09:00 to Wednesday after the close


def working_time(when: str) -> bool:
    moment = at(when)
    return moment.weekday() < 5 and 9 <= moment.hour < 18  # 2026-11-27..12-02: no holiday in between


def to_people(calls: list[Summary]) -> list[Summary]:
    """The posts that reach a person: DMs and replies in a thread (not the channel digest, not its updates)."""
    return [c for c in calls if c[0] == "chat.postMessage" and (c[1].startswith("D") or c[2] is not None)]


def test_a_silent_owner_is_nudged_escalated_deemed_then_escalated_to_the_top_each_once_in_working_time(bot, session_factory, clock, fake_slack, threads) -> None:
    # Friday 2026-11-27, digest 08:30, deadline 18:00, nobody answers anything
    # until Wednesday. The ticker runs every 30 minutes, nights and the weekend
    # too. The silence keeps climbing across the deadline: nudge 11:00, level 1
    # 13:00, deemed 18:00, level 2 Monday 09:00 (08:30 + 9 working hours); on
    # Wednesday, when the deemed items' fix is due, nothing starts again.
    seen = run(fake_slack, clock, SILENT_WEEK, bot.services.tick)

    t = threads
    people = {when: to_people(calls) for when, calls in seen.items() if to_people(calls)}
    digest_dm = [dm(CS_LEAD)]  # the digest's own DM at 08:30: records no owner covers (it keeps the digest's time)
    assert people == {
        "2026-11-27 11:00": [nudge(t.y, Y), nudge(t.z, Z)],
        "2026-11-27 13:00": to_people(escalation(OPS_HEAD, {t.y: Y, t.z: Z})),
        "2026-11-30 08:30": digest_dm,
        "2026-11-30 09:00": to_people(escalation(BOSS, {t.y: Y, t.z: Z})),
        "2026-12-01 08:30": digest_dm,
        # November's monthly notice went to the channel after the 08:30 digest; its DMs to the
        # managers wait for the opening (bot.services.monthly), like 2027's missing calendar.
        # No work contact letter: October had no items, so there is no month to compare
        # November with (bot.core.letters.no_improvement) and no draft goes to the CS lead.
        "2026-12-01 09:00": [dm(BOSS), dm(OPS_HEAD), *to_people(calendar_warning())],
        "2026-12-02 08:30": digest_dm,
        "2026-12-02 09:00": to_people(calendar_warning()),
    }
    assert all(working_time(when) for when, calls in people.items() if calls != digest_dm)
    updates = [when for when, calls in seen.items() if update(t.y) in calls]
    assert updates == ["2026-11-27 18:00"]  # deemed at the deadline, after level 1 and before level 2
    rows = follow_ups(session_factory)
    assert [(r.kind, r.level, r.recipient, r.sent_at) for r in rows] == [
        ("nudge", 0, Y, at("2026-11-27 11:00")), ("nudge", 0, Z, at("2026-11-27 11:00")),
        ("escalate", 1, OPS_HEAD, at("2026-11-27 13:00")), ("escalate", 1, OPS_HEAD, at("2026-11-27 13:00")),
        ("escalate", 2, BOSS, at("2026-11-30 09:00")), ("escalate", 2, BOSS, at("2026-11-30 09:00")),
    ]
    assert {(e.action, e.at) for e in audit(session_factory, "deem")} == {("deem", at("2026-11-27 18:00").astimezone(UTC))}


def test_the_level_2_dm_says_the_items_were_deemed_without_an_answer(bot, session_factory, clock, fake_slack, threads) -> None:
    run(fake_slack, clock, ["2026-11-27 11:00", "2026-11-27 13:00", "2026-11-27 18:00"], bot.services.sweep)
    clock.set(at("2026-11-30 09:00"))

    bot.services.sweep()

    (text,) = texts_to(fake_slack, f"D{BOSS}")
    assert "level 2" in text and f"<@{Y}>" in text and f"<@{Z}>" in text
    assert "quiet since 11-27 08:30" in text  # the silence that began with the post
    (y_notice,) = texts_to(fake_slack, CHANNEL, threads.y)
    assert f"<@{Y}>" in y_notice and f"<@{BOSS}>" in y_notice and "level 2" in y_notice


def test_two_tickers_through_the_silent_week_send_nothing_twice(bot, replica_engine, session_factory, clock, fake_slack, settings, routing, threads) -> None:
    replica_clock = FixedClock(clock.now())
    replica = another_bot(settings, fake_slack, make_session_factory(replica_engine), replica_clock, routing)
    fake_slack.clear()
    times = [w for w in SILENT_WEEK if w.endswith(("09:00", "11:00", "13:00", "18:00"))]

    seen = run(fake_slack, [clock, replica_clock], times, bot.services.sweep, replica.services.sweep, together=True)

    t = threads
    sent = Counter(c for calls in seen.values() for c in to_people(calls))
    assert sent == Counter([
        nudge(t.y, Y), nudge(t.z, Z), *to_people(escalation(OPS_HEAD, {t.y: Y, t.z: Z})),
        *to_people(escalation(BOSS, {t.y: Y, t.z: Z})), dm(CS_LEAD), dm(CS_LEAD),  # the calendar warning, on 12-01 and 12-02
    ])
    assert len(follow_ups(session_factory)) == 6


def test_without_calendar_data_for_today_the_sweep_sends_nothing_and_does_not_raise(bot, session_factory, clock, fake_slack, threads) -> None:
    # Monday 2027-01-04: the installed calendar has no data for 2027. The
    # calendar helper makes the bot say it is paused; the sweep sends nothing.
    run(fake_slack, clock, ["2026-11-27 11:00", "2026-11-27 13:00", "2026-11-27 18:00"], bot.services.sweep)
    before = len(follow_ups(session_factory))

    seen = run(fake_slack, clock, ["2027-01-04 09:00", "2027-01-04 11:00", "2027-01-04 23:00"], bot.services.sweep)

    assert {when: to_people(calls) for when, calls in seen.items()} == {when: [] for when in seen}
    assert len(follow_ups(session_factory)) == before


def test_a_refused_update_at_night_is_told_to_the_cs_lead_at_the_next_opening_once(bot, session_factory, clock, fake_slack, threads) -> None:
    # Friday 18:00 the deadline deems the items; Slack refuses to update the
    # three messages. The CS lead hears of it (once per message) on Monday at
    # 09:00, not on Friday evening nor over the weekend.
    fake_slack.fail_next("chat.update", "msg_blocks_too_long", times=3)
    seen = run(fake_slack, clock, ["2026-11-27 18:00", "2026-11-27 22:00", "2026-11-28 10:00", "2026-11-30 08:30",
                                   "2026-11-30 09:00", "2026-11-30 09:30"], bot.services.tick)

    told = {when: [c for c in to_people(calls) if c[1] == f"D{CS_LEAD}"] for when, calls in seen.items()}
    assert {when: len(calls) for when, calls in told.items() if calls} == {
        "2026-11-30 08:30": 1,  # the digest's own DM (records no owner covers)
        "2026-11-30 09:00": 3,  # one notice per refused message
    }
    texts = [m["text"] for (ch, _), m in fake_slack.messages.items() if ch == f"D{CS_LEAD}" and "refused to update" in m["text"]]
    assert len(texts) == 3 and all("msg_blocks_too_long" in text for text in texts)


# --- open items follow their owner --------------------------------------------------------------------------

NEW_Y = "U0NEWOWNER"
NEW_NAME = "大件配送中心"


def renamed(routing):
    """The routing file after 大件配送 was renamed: a new name and a new user, covering the same."""
    y, z = routing.owners
    return replace(routing, owners=(replace(y, name=NEW_NAME, user=NEW_Y), z))


def click(bot: Bot, signer, fake, *, action_id: str, item: Item, ts: str, user: str):
    request = block_actions(
        signer, user_id=user, action_id=action_id, value=str(item.id), block_id=f"act-{item.id}", channel_id=CHANNEL,
        message_ts=ts, message=fake.messages.get((CHANNEL, ts)), response_url=fake.response_url("click", channel=CHANNEL, ts=ts),
    )
    response = bot.app.dispatch(request.to_bolt())
    assert response.status == 200


def test_after_a_rename_the_messages_show_the_new_owner_who_is_mentioned_in_the_thread_once(settings, session_factory, clock, fake_slack, routing, threads) -> None:
    clock.set(at("2026-11-27 09:30"))
    new = another_bot(settings, fake_slack, session_factory, clock, renamed(routing))
    fake_slack.clear()

    seen = run(fake_slack, clock, ["2026-11-27 09:30", "2026-11-27 09:31", "2026-11-27 09:32"], new.services.tick)

    t = threads
    assert Counter(seen["2026-11-27 09:30"]) == Counter([update(t.y), update(t.y_more), ("chat.postMessage", CHANNEL, t.y, (NEW_Y,))])
    assert seen["2026-11-27 09:31"] == seen["2026-11-27 09:32"] == []  # mentioned once
    (notice,) = handover_notices(fake_slack, t.y)
    assert notice.startswith(f"<@{NEW_Y}>") and NEW_NAME in notice and "before: 大件配送" in notice
    head = json.dumps(fake_slack.messages[(CHANNEL, t.y)]["blocks"][0], ensure_ascii=False)
    assert NEW_NAME in head and f"<@{NEW_Y}>" in head and f"<@{Y}>" not in head
    assert NEW_NAME in fake_slack.messages[(CHANNEL, t.y_more)]["text"]
    assert Counter(i.owner for i in items(session_factory).values() if i.owner) == Counter({NEW_NAME: 26, "小件配送": 12})
    with transaction(session_factory) as session:  # the items stay on the messages where they were posted
        pages = {m.ts: m for m in session.exec(select(DigestMessage)).all()}
    assert {pages[t.y].owner, pages[t.y_more].owner, pages[t.z].owner} == {NEW_NAME, "小件配送"}
    assert pages[t.y].shown_version == pages[t.y].version


def test_after_a_rename_at_night_the_new_owner_is_mentioned_at_the_opening(settings, session_factory, clock, fake_slack, routing, threads) -> None:
    clock.set(at("2026-11-27 21:00"))
    new = another_bot(settings, fake_slack, session_factory, clock, renamed(routing))
    fake_slack.clear()

    seen = run(fake_slack, clock, ["2026-11-27 21:00", "2026-11-28 10:00", "2026-11-30 09:00", "2026-11-30 09:30"], new.services.tick)

    t = threads
    assert update(t.y) in seen["2026-11-27 21:00"]  # the channel message shows the new owner at once
    assert to_people(seen["2026-11-27 21:00"]) == to_people(seen["2026-11-28 10:00"]) == []  # nobody is mentioned at night
    assert len(handover_notices(fake_slack, t.y)) == 1  # sent on Monday from 09:00 (the only tick in working time before 09:30)
    assert to_people(seen["2026-11-30 09:30"]) == []


def test_after_a_rename_the_new_owner_can_answer_and_the_old_name_cannot(settings, signer, session_factory, clock, fake_slack, routing, threads) -> None:
    clock.set(at("2026-11-27 09:30"))
    new = another_bot(settings, fake_slack, session_factory, clock, renamed(routing))
    # before any tick: the items still name 大件配送, yet the new owner may answer at once
    command(new, signer, fake_slack, f"confirm {WANG_LI_ORDERS[0]}", user=NEW_Y)
    command(new, signer, fake_slack, f"confirm {WANG_LI_ORDERS[1]}", user=Y)  # Y is no longer in the routing file
    new.services.tick()
    button_item = items(session_factory)[Y_ORDER]
    click(new, signer, fake_slack, action_id="item.confirm", item=button_item, ts=threads.y, user=NEW_Y)

    now = items(session_factory)
    assert now[WANG_LI_ORDERS[0]].status == "confirmed" and now[Y_ORDER].status == "confirmed"
    assert now[WANG_LI_ORDERS[1]].status == "awaiting"
    assert [(a.actor, a.role) for a in audit(session_factory, "confirm")] == [(NEW_Y, "owner"), (NEW_Y, "owner")]


def test_after_a_rename_follow_ups_go_to_the_new_owner(settings, session_factory, clock, fake_slack, routing, threads) -> None:
    clock.set(at("2026-11-27 10:00"))
    new = another_bot(settings, fake_slack, session_factory, clock, renamed(routing))
    fake_slack.clear()

    seen = run(fake_slack, clock, ["2026-11-27 10:00", "2026-11-27 11:00", "2026-11-27 13:00"], new.services.tick)

    t = threads
    assert seen["2026-11-27 11:00"] == [nudge(t.y, NEW_Y), nudge(t.z, Z)]
    assert Counter(seen["2026-11-27 13:00"]) == Counter(escalation(OPS_HEAD, {t.y: NEW_Y, t.z: Z}))
    assert [(r.kind, r.recipient) for r in follow_ups(session_factory) if r.thread_id == first_page_id(session_factory, t.y)] == [
        ("nudge", NEW_Y), ("escalate", OPS_HEAD),
    ]


def handover_notices(fake, ts: str) -> list[str]:
    return [m["text"] for m in fake.thread(CHANNEL, ts) if "routing file changed" in m.get("text", "")]


def first_page_id(session_factory, ts: str) -> int:
    with transaction(session_factory) as session:
        return session.exec(select(DigestMessage.id).where(DigestMessage.ts == ts)).one()


def test_when_the_new_owner_already_has_that_day_s_digest_the_thread_keeps_its_name_but_follows_the_new_owner(settings, signer, session_factory, clock, fake_slack, routing, threads) -> None:
    # 大件配送 leaves the routing file; 小件配送 (Z) now covers every delivery
    # type and branch — and already has a digest of Friday.
    _, z = routing.owners
    merged = replace(routing, owners=(replace(z, categories=("large", "small"), branches=()),))
    clock.set(at("2026-11-27 09:30"))
    new = another_bot(settings, fake_slack, session_factory, clock, merged)
    fake_slack.clear()

    seen = run(fake_slack, clock, ["2026-11-27 09:30", "2026-11-27 09:31", "2026-11-27 11:00"], new.services.tick)

    t = threads
    assert Counter(seen["2026-11-27 09:30"]) == Counter([update(t.y), update(t.y_more), ("chat.postMessage", CHANNEL, t.y, (Z,))])
    assert seen["2026-11-27 09:31"] == []
    assert Counter(seen["2026-11-27 11:00"]) == Counter([nudge(t.y, Z), nudge(t.z, Z)])  # both threads' follow-ups go to Z
    with transaction(session_factory) as session:
        assert session.exec(select(DigestMessage.owner).where(DigestMessage.ts == t.y)).one() == "大件配送"  # the name stays
    assert {i.owner for i in items(session_factory).values() if i.owner} == {"小件配送"}
    head = json.dumps(fake_slack.messages[(CHANNEL, t.y)]["blocks"][0], ensure_ascii=False)
    assert f"<@{Z}>" in head and f"<@{Y}>" not in head
    command(new, signer, fake_slack, f"confirm {Y_ORDER}", user=Z)
    assert items(session_factory)[Y_ORDER].status == "confirmed"


# --- a thread split between owners -----------------------------------------------------------------

HZ, HZ_BOSS = "U0NEWHZ", "U0HZBOSS"  # 大件杭州: the large items of 杭州分公司 (4 of Y's 26), its own chain
HZ_NAME = "大件杭州"
NOT_HANGZHOU = ("上海浦东分公司", "上海浦西分公司", "南京分公司", "无锡分公司", "苏州分公司")


def split(routing):
    """The routing file after 大件配送 was narrowed to the other branches and a
    new owner took the large items of 杭州分公司."""
    y, z = routing.owners
    hz = replace(y, name=HZ_NAME, user=HZ, branches=("杭州分公司",), delegates=(), escalation=(HZ_BOSS,))
    return replace(routing, owners=(replace(y, branches=NOT_HANGZHOU), hz, z))


def awaiting_count(text: str) -> int:
    return int(re.search(r"(\d+) item\(s\) await", text).group(1))


def nudges_in(fake, ts: str) -> dict[str, int]:
    """Who was nudged in the thread -> how many awaiting items their nudge counted."""
    texts = [m.get("text", "") for m in fake.thread(CHANNEL, ts)]
    return {mentions(text)[0]: awaiting_count(text) for text in texts if "still waits for you" in text}


def test_when_a_split_gives_some_open_items_to_a_new_owner_each_owner_is_followed_up_for_their_own(settings, session_factory, clock, fake_slack, routing, threads) -> None:
    clock.set(at("2026-11-27 09:30"))
    new = another_bot(settings, fake_slack, session_factory, clock, split(routing))
    fake_slack.clear()

    seen = run(fake_slack, clock, ["2026-11-27 09:30", "2026-11-27 09:31", "2026-11-27 11:00", "2026-11-27 13:00"], new.services.tick)

    t = threads
    assert Counter(seen["2026-11-27 09:30"]) == Counter([update(t.y), ("chat.postMessage", CHANNEL, t.y, (HZ,))])  # the 杭州 items are all on the first page
    assert seen["2026-11-27 09:31"] == []  # mentioned once
    (notice,) = handover_notices(fake_slack, t.y)
    assert HZ_NAME in notice and "before: 大件配送" in notice
    assert Counter(i.owner for i in items(session_factory).values() if i.owner) == Counter({"大件配送": 22, HZ_NAME: 4, "小件配送": 12})
    with transaction(session_factory) as session:  # two owners now: the pages keep their name
        assert session.exec(select(DigestMessage.owner).where(DigestMessage.ts == t.y)).one() == "大件配送"
    assert Counter(seen["2026-11-27 11:00"]) == Counter([nudge(t.y, Y), nudge(t.y, HZ), nudge(t.z, Z)])
    assert nudges_in(fake_slack, t.y) == {Y: 22, HZ: 4}  # each for their own items only
    assert Counter(seen["2026-11-27 13:00"]) == Counter([
        *escalation(OPS_HEAD, {t.y: Y, t.z: Z}),  # Y's chain, for Y's items
        *escalation(HZ_BOSS, {t.y: HZ}),  # the new owner's own chain, for theirs
    ])
    hz_dm = [m["text"] for (ch, _), m in fake_slack.messages.items() if ch == f"D{HZ_BOSS}"]
    assert len(hz_dm) == 1 and HZ_NAME in hz_dm[0] and "4 item(s) awaiting" in hz_dm[0] and "大件配送" not in hz_dm[0]
    y_id = first_page_id(session_factory, t.y)
    assert sorted((r.kind, r.recipient, r.key.endswith(f":{HZ_NAME}")) for r in follow_ups(session_factory) if r.thread_id == y_id) == [
        ("escalate", HZ_BOSS, True), ("escalate", OPS_HEAD, False), ("nudge", HZ, True), ("nudge", Y, False),
    ]


def test_in_a_split_thread_the_new_owner_s_eyes_count_for_the_thread(settings, signer, session_factory, clock, fake_slack, routing, threads) -> None:
    clock.set(at("2026-11-27 09:30"))
    new = another_bot(settings, fake_slack, session_factory, clock, split(routing))
    new.services.tick()  # the handover
    fake_slack.clear()

    eyes(new, signer, user=HZ, ts=threads.y)  # the new owner of some of its items, though the page names 大件配送

    (reply,) = [c.params["text"] for c in fake_slack.calls_to("chat.postEphemeral")]
    assert "deadline" in reply.lower() or "截止" in reply  # accepted, not "not yours"
    seen = run(fake_slack, clock, ["2026-11-27 11:00", "2026-11-27 13:00"], new.services.tick)
    assert [c for c in seen["2026-11-27 11:00"] + seen["2026-11-27 13:00"] if c[2] == threads.y] == []  # the thread is paused


def test_a_split_thread_sends_nothing_twice(settings, session_factory, clock, fake_slack, routing, threads) -> None:
    clock.set(at("2026-11-27 09:30"))
    new = another_bot(settings, fake_slack, session_factory, clock, split(routing))
    fake_slack.clear()

    seen = run(fake_slack, clock, FRIDAY, new.services.tick, new.services.sweep)

    t = threads
    people = Counter(call for calls in seen.values() for call in to_people(calls))
    assert people[nudge(t.y, HZ)] == 2  # the handover notice and the nudge, each once
    assert len(handover_notices(fake_slack, t.y)) == 1 and nudges_in(fake_slack, t.y) == {Y: 22, HZ: 4}
    assert people[nudge(t.y, Y)] == people[told(t.y, HZ, HZ_BOSS)] == people[told(t.y, Y, OPS_HEAD)] == 1
    assert people[dm(HZ_BOSS, HZ)] == people[dm(OPS_HEAD, Y, Z)] == 1


def test_when_a_split_gives_open_items_to_an_owner_who_already_has_that_day_s_digest_they_are_followed_up_for_those(settings, session_factory, clock, fake_slack, routing, threads) -> None:
    # 大件配送 keeps every branch but 杭州分公司; 小件配送 (Z) now covers every
    # delivery type everywhere — and already has a digest of Friday.
    y, z = routing.owners
    widened = replace(routing, owners=(replace(y, branches=NOT_HANGZHOU), replace(z, categories=("large", "small"), branches=())))
    clock.set(at("2026-11-27 09:30"))
    new = another_bot(settings, fake_slack, session_factory, clock, widened)
    fake_slack.clear()

    seen = run(fake_slack, clock, ["2026-11-27 09:30", "2026-11-27 09:31", "2026-11-27 11:00", "2026-11-27 13:00"], new.services.tick)

    t = threads
    assert Counter(seen["2026-11-27 09:30"]) == Counter([update(t.y), ("chat.postMessage", CHANNEL, t.y, (Z,))])
    assert seen["2026-11-27 09:31"] == []
    assert Counter(i.owner for i in items(session_factory).values() if i.owner) == Counter({"大件配送": 22, "小件配送": 16})
    assert Counter(seen["2026-11-27 11:00"]) == Counter([nudge(t.y, Y), nudge(t.y, Z), nudge(t.z, Z)])
    assert nudges_in(fake_slack, t.y) == {Y: 22, Z: 4}
    assert nudges_in(fake_slack, t.z) == {Z: 12}
    # one DM to the chain both share, about Y's and Z's items in Y's thread and Z's own thread
    escalated = seen["2026-11-27 13:00"]
    assert Counter(escalated) == Counter([
        opened(OPS_HEAD), dm(OPS_HEAD, Y, Z),
        told(t.y, Y, OPS_HEAD), told(t.y, Z, OPS_HEAD), told(t.z, Z, OPS_HEAD),
    ])


def escalation_click(bot: Bot, signer, fake, *, action_id: str, thread_id: int, manager: str):
    """A click by ``manager`` on a button of their escalation DM about the thread."""
    ((channel, ts), message) = next(((k, m) for k, m in fake.messages.items() if k[0] == f"D{manager}"))
    request = block_actions(
        signer, user_id=manager, action_id=action_id, value=str(thread_id), block_id=f"escalation-act-{thread_id}",
        channel_id=channel, message_ts=ts, message=message, response_url=fake.response_url("click", channel=channel, ts=ts),
    )
    response = bot.app.dispatch(request.to_bolt())
    assert response.status == 200


def test_in_a_split_thread_the_new_owner_s_chain_acts_for_the_new_owner_s_items_only(settings, signer, session_factory, clock, fake_slack, routing, threads) -> None:
    clock.set(at("2026-11-27 09:30"))
    new = another_bot(settings, fake_slack, session_factory, clock, split(routing))
    run(fake_slack, clock, ["2026-11-27 09:30", "2026-11-27 11:00", "2026-11-27 13:00"], new.services.tick)
    y_id = first_page_id(session_factory, threads.y)

    escalation_click(new, signer, fake_slack, action_id=ActionId.REMIND_OWNER, thread_id=y_id, manager=HZ_BOSS)
    (reminder,) = [m["text"] for m in fake_slack.thread(CHANNEL, threads.y) if f"<@{HZ_BOSS}>" in m.get("text", "") and "await" in m.get("text", "")
                   and "escalated" not in m.get("text", "")]
    assert mentions(reminder) == tuple(sorted((HZ, HZ_BOSS))) and awaiting_count(reminder) == 4
    escalation_click(new, signer, fake_slack, action_id=ActionId.CONFIRM_FOR_OWNER, thread_id=y_id, manager=HZ_BOSS)

    now = items(session_factory).values()
    assert Counter((i.owner, i.status) for i in now if i.category == "large") == Counter({(HZ_NAME, "confirmed"): 4, ("大件配送", "awaiting"): 22})
    assert {(a.actor, a.role) for a in audit(session_factory, "confirm")} == {(HZ_BOSS, "manager")}


def test_after_a_split_each_owner_s_next_digest_copies_their_own_escalated_chain(settings, session_factory, clock, fake_slack, routing, threads) -> None:
    clock.set(at("2026-11-27 09:30"))
    new = another_bot(settings, fake_slack, session_factory, clock, split(routing))
    run(fake_slack, clock, ["2026-11-27 09:30", "2026-11-27 11:00", "2026-11-27 13:00"], new.services.tick)  # both chains escalated
    clock.set(at("2026-11-30 08:00"))
    monday = next_day_csv("2026-11-29", 1).decode().splitlines()
    hangzhou_large = monday[1].replace("SO20261129000001", "SO20261129000003").replace("南京分公司", "杭州分公司")
    seed(session_factory, clock, "\n".join([*monday, hangzhou_large]).encode())
    clock.set(at("2026-11-30 08:30"))

    new.services.post_daily_digest()

    with transaction(session_factory) as session:
        firsts = {m.owner: m.ts for m in session.exec(select(DigestMessage).where(DigestMessage.page == 0, DigestMessage.digest_day == at("2026-11-30 00:00").date())).all()}
    hz_head, y_head = head_of(fake_slack, firsts[HZ_NAME]), head_of(fake_slack, firsts["大件配送"])
    assert f"<@{HZ}>" in hz_head and f"Copied: <@{HZ_BOSS}>" in hz_head and f"<@{OPS_HEAD}>" not in hz_head
    assert f"Copied: <@{OPS_HEAD}>" in y_head and f"<@{HZ_BOSS}>" not in y_head
