"""Nothing lost, nothing doubled, nothing stale: follow-up sends that time
out, crash or are refused, and digest messages that fall behind the
database, through the real app from ``create_app`` into our fake Slack with
its fault injection (hangs past the client timeout, 500s before and after
the call is applied, 429s, definitive refusals).

The scene is the follow-up tests' Friday: the sample export imported and the
digest of 2026-11-27 posted at 08:30 (three messages: Y's two pages and Z's);
nudges are due at 11:00, the level-1 escalation at 13:00, the deadline at 18:00.
Assertions read what the fake holds (messages, their metadata keys, their
blocks) and what the database says (follow-up rows, message versions).
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import timedelta

import pytest
from sqlmodel import select
from test_followup_sweep import CHANNEL, CS_LEAD, Y, Z, at, follow_ups, post_friday_digest

from bot.app import Bot, create_app
from bot.core.answers import Outcome
from bot.core.followup import Step, StepKind
from bot.core.lifecycle import Action, Role, Status, Surface
from bot.gateway import CLIENT_TIMEOUT as GATEWAY_TIMEOUT
from bot.gateway import EFFECT_EVENT, LOOKUP_PAGES, Backoff, make_client
from bot.health import Health, run_job
from bot.services.convergence import refresh_stale_messages
from bot.services.digest import render_digest_message
from bot.services.followup import SEND_LEASE
from storage import queries as q
from storage.db import transaction
from storage.models import DigestMessage, FollowUp, Item

CLIENT_TIMEOUT = 1  # seconds: a hang of 2 s is a timeout


@pytest.fixture
def quick_bot(settings, fake_slack, session_factory, clock, routing) -> Bot:
    """The app with a short client timeout, so that a hang times out quickly."""
    client = make_client("xoxb-test", fake_slack.api_url, timeout=CLIENT_TIMEOUT)
    return create_app(settings, client=client, session_factory=session_factory, clock=clock, routing=routing, process_before_response=True)


# --- reading the fake and the database -------------------------------------------------------


def keyed(fake) -> Counter:
    """How many live messages carry each effect key."""
    keys = Counter()
    for message in fake.messages.values():
        metadata = message.get("metadata") or {}
        if metadata.get("event_type") == EFFECT_EVENT:
            keys[metadata["event_payload"]["key"]] += 1
    return keys


def replies_mentioning(fake, ts: str, user: str) -> list[dict]:
    return [m for m in fake.thread(CHANNEL, ts) if f"<@{user}>" in m.get("text", "")]


def digest_messages(session_factory) -> list[DigestMessage]:
    with transaction(session_factory) as session:
        return list(session.exec(select(DigestMessage).order_by(DigestMessage.id)).all())


def action_ids(blocks: list[dict]) -> list[str]:
    return [e.get("action_id") for b in blocks for e in b.get("elements", []) if e.get("action_id")]


def shown_as_rendered(bot: Bot, fake, session_factory) -> dict[int, bool]:
    """For each posted digest message: does Slack show what a fresh render of
    the database gives (text, and the buttons of every block)?"""
    result = {}
    for message in digest_messages(session_factory):
        text, blocks = render_digest_message(bot.services.deps, message)
        held = fake.messages[(message.channel, message.ts)]
        result[message.id] = held["text"] == text and action_ids(held["blocks"]) == action_ids(blocks)
    return result


def nudge_key(session_factory, owner_user: str) -> str:
    """The ledger key of the first nudge of an owner's Friday thread (quiet since 08:30)."""
    owner = {Y: "大件配送", Z: "小件配送"}[owner_user]
    with transaction(session_factory) as session:
        thread = session.exec(select(DigestMessage).where(DigestMessage.owner == owner, DigestMessage.page == 0)).one()
    return Step(StepKind.NUDGE, 0, owner_user, at("2026-11-27 11:00"), thread.id, at("2026-11-27 08:30")).key


def sweep_at(bot: Bot, clock, *times: str) -> None:
    for when in times:
        clock.set(at(when))
        bot.services.sweep()


# --- a send that times out ------------------------------------------------------------------------


@pytest.mark.parametrize("applied", [True, False], ids=["applied", "not-applied"])
def test_a_nudge_whose_post_hangs_past_the_timeout_is_in_the_thread_once(quick_bot, session_factory, clock, fake_slack, applied) -> None:
    threads = post_friday_digest(quick_bot, session_factory, clock, fake_slack)
    fake_slack.hang_next("chat.postMessage", CLIENT_TIMEOUT + 1, applied=applied)

    sweep_at(quick_bot, clock, "2026-11-27 11:00", "2026-11-27 11:01", "2026-11-27 11:02")

    (y_nudge,) = replies_mentioning(fake_slack, threads.y, Y)
    (z_nudge,) = replies_mentioning(fake_slack, threads.z, Z)
    rows = {r.recipient: r for r in follow_ups(session_factory)}
    assert (rows[Y].ts, rows[Z].ts) == (y_nudge["ts"], z_nudge["ts"])
    assert max(keyed(fake_slack).values()) == 1
    posts = fake_slack.calls_to("chat.postMessage")
    assert posts[0].delay == CLIENT_TIMEOUT + 1 and posts[0].applied is applied  # the hang did happen


@pytest.mark.parametrize("applied", [True, False], ids=["applied", "not-applied"])
def test_a_nudge_slack_leaves_in_doubt_is_looked_up_by_the_next_sweep_and_sent_once(quick_bot, session_factory, clock, fake_slack, applied) -> None:
    # The post hangs past the timeout, and the gateway cannot look it up
    # either (conversations.replies fails through all its retries): the
    # sweep cannot tell whether the nudge went out. The next one looks again.
    threads = post_friday_digest(quick_bot, session_factory, clock, fake_slack)
    fake_slack.hang_next("chat.postMessage", CLIENT_TIMEOUT + 1, applied=applied)
    fake_slack.fail_next("conversations.replies", "internal_error", status=500, times=4)

    sweep_at(quick_bot, clock, "2026-11-27 11:00")

    (left,) = [r for r in follow_ups(session_factory) if r.recipient == Y]
    assert (left.ts, left.attempts, left.message_key) == (None, 1, left.key)  # kept, with the key to look for
    assert len(replies_mentioning(fake_slack, threads.y, Y)) == (1 if applied else 0)
    fake_slack.clear()

    sweep_at(quick_bot, clock, "2026-11-27 11:01", "2026-11-27 11:02")

    (y_nudge,) = replies_mentioning(fake_slack, threads.y, Y)
    (row,) = [r for r in follow_ups(session_factory) if r.recipient == Y]
    assert row.ts == y_nudge["ts"]
    looked = fake_slack.calls_to("conversations.replies")
    assert looked and looked[0].params["ts"] == threads.y
    assert len(fake_slack.calls_to("chat.postMessage")) == (0 if applied else 1)
    assert keyed(fake_slack)[row.key] == 1


@pytest.mark.parametrize("posted", [True, False], ids=["posted-before-the-crash", "crashed-before-posting"])
def test_a_claim_left_by_a_crashed_sweep_is_taken_over_after_its_lease_and_sent_once(bot, session_factory, clock, fake_slack, posted) -> None:
    # What a sweep that died at 11:00 leaves: Y's nudge claimed (with the key
    # its message carries) and, if it got that far, the message in Slack.
    threads = post_friday_digest(bot, session_factory, clock, fake_slack)
    key = nudge_key(session_factory, Y)
    with transaction(session_factory) as session:
        thread = session.exec(select(DigestMessage).where(DigestMessage.ts == threads.y)).one()
        session.add(FollowUp(key=key, kind="nudge", thread_id=thread.id, level=0, recipient=Y, sent_at=at("2026-11-27 11:00"),
                             lease_until=at("2026-11-27 11:05"), message_key=key))
    if posted:
        bot.services.deps.notifier.post_message(CHANNEL, text=f"<@{Y}> reminder", thread_ts=threads.y, key=key)

    sweep_at(bot, clock, "2026-11-27 11:01", "2026-11-27 11:04")  # the dead sweep's lease still runs: Y waits

    assert len(replies_mentioning(fake_slack, threads.y, Y)) == (1 if posted else 0)
    assert len(replies_mentioning(fake_slack, threads.z, Z)) == 1

    sweep_at(bot, clock, "2026-11-27 11:05", "2026-11-27 11:06")

    (y_nudge,) = replies_mentioning(fake_slack, threads.y, Y)
    (row,) = [r for r in follow_ups(session_factory) if r.recipient == Y]
    assert row.ts == y_nudge["ts"] and keyed(fake_slack)[key] == 1


# --- a definitive refusal -------------------------------------------------------------------------


def test_a_nudge_slack_refuses_three_times_stops_and_the_cs_lead_is_told_once(bot, session_factory, clock, fake_slack) -> None:
    threads = post_friday_digest(bot, session_factory, clock, fake_slack)
    clock.set(at("2026-11-27 10:00"))
    bot.services.confirm_items(actor=Z, surface=Surface.COMMAND, reply_to=None, every_open=True)  # only Y's nudge is due
    # Not a size refusal (those are given up at the first, test_followup_sweep): one that may pass after a fix.
    fake_slack.fail_next("chat.postMessage", "not_in_channel", times=3)
    fake_slack.clear()

    sweep_at(bot, clock, "2026-11-27 11:00", "2026-11-27 11:01", "2026-11-27 11:02", "2026-11-27 11:03", "2026-11-27 11:30")

    posts = [(c.params["channel"], c.params.get("thread_ts"), c.error) for c in fake_slack.calls_to("chat.postMessage")]
    assert posts == [(CHANNEL, threads.y, "not_in_channel")] * 3 + [(f"D{CS_LEAD}", None, None)]
    assert fake_slack.calls_to("conversations.replies") == []  # a refused post is not in Slack: nothing to look up
    (told,) = [m for (ch, _), m in fake_slack.messages.items() if ch == f"D{CS_LEAD}" and "follow-up" in m["text"]]
    assert "not_in_channel" in told["text"] and "stopped" in told["text"] and f"<@{Y}>" in told["text"]
    (row,) = [r for r in follow_ups(session_factory) if r.recipient == Y]
    assert (row.ts, row.attempts, row.error, row.gave_up_at) == (None, 3, "not_in_channel", at("2026-11-27 11:02"))


def test_an_owner_notice_slack_fails_is_sent_by_the_next_sweep_once(bot, session_factory, clock, fake_slack) -> None:
    threads = post_friday_digest(bot, session_factory, clock, fake_slack)
    sweep_at(bot, clock, "2026-11-27 11:00")
    # 13:00: the escalation DM goes out, then the notices in Y's and Z's
    # threads; Y's notice fails (Slack unavailable through the retries).
    fake_slack.clear()
    clock.set(at("2026-11-27 13:00"))
    fake_slack.hang_next("chat.postMessage", 0, applied=True)  # the DM, the sweep's first post, goes through
    fake_slack.fail_next("chat.postMessage", "internal_error", status=500)  # Y's notice: not posted...
    fake_slack.fail_next("conversations.replies", "internal_error", status=500, times=4)  # ...and not found

    bot.services.sweep()

    assert [m for m in fake_slack.thread(CHANNEL, threads.y) if "escalated" in m["text"]] == []
    assert len([m for m in fake_slack.thread(CHANNEL, threads.z) if "escalated" in m["text"]]) == 1

    sweep_at(bot, clock, "2026-11-27 13:01", "2026-11-27 13:02")

    for ts, owner in ((threads.y, Y), (threads.z, Z)):
        notices = [m for m in fake_slack.thread(CHANNEL, ts) if "escalated" in m["text"]]
        assert len(notices) == 1, owner
    assert max(keyed(fake_slack).values()) == 1


def only_y_due(bot: Bot, clock, fake_slack) -> None:
    """Z answers everything at 10:00: only Y's nudge is due at 11:00."""
    clock.set(at("2026-11-27 10:00"))
    bot.services.confirm_items(actor=Z, surface=Surface.COMMAND, reply_to=None, every_open=True)
    fake_slack.clear()


def cs_lead_dms(fake) -> list[str]:
    """The CS lead's DMs about follow-ups (not the digest's unrouted records)."""
    return [m["text"] for (ch, _), m in fake.messages.items() if ch == f"D{CS_LEAD}" and "follow-up" in m["text"]]


def test_two_timeouts_then_one_refusal_do_not_give_a_nudge_up(bot, session_factory, clock, fake_slack) -> None:
    # Only definitive refusals count toward giving up: 2 ambiguous failures + 1 refusal is 1 refusal.
    threads = post_friday_digest(bot, session_factory, clock, fake_slack)
    only_y_due(bot, clock, fake_slack)
    fake_slack.fail_next("chat.postMessage", "internal_error", status=500, times=8)  # two sweeps: every retry of the post

    sweep_at(bot, clock, "2026-11-27 11:00", "2026-11-27 11:01")
    fake_slack.fail_next("chat.postMessage", "channel_not_found")
    sweep_at(bot, clock, "2026-11-27 11:02")

    (row,) = [r for r in follow_ups(session_factory) if r.recipient == Y]
    assert (row.ts, row.attempts, row.refusals, row.error, row.gave_up_at) == (None, 3, 1, "channel_not_found", None)
    assert cs_lead_dms(fake_slack) == []  # neither three refusals nor three ambiguous failures

    sweep_at(bot, clock, "2026-11-27 11:03", "2026-11-27 11:04")

    (y_nudge,) = replies_mentioning(fake_slack, threads.y, Y)
    (row,) = [r for r in follow_ups(session_factory) if r.recipient == Y]
    assert row.ts == y_nudge["ts"] and keyed(fake_slack)[row.key] == 1


def test_a_sweep_whose_nudge_slack_refuses_reports_a_problem_to_health_until_it_goes_out(bot, session_factory, clock, fake_slack) -> None:
    threads = post_friday_digest(bot, session_factory, clock, fake_slack)
    only_y_due(bot, clock, fake_slack)
    health = Health(clock=clock, ticker=False)
    fake_slack.fail_next("chat.postMessage", "channel_not_found")
    clock.set(at("2026-11-27 11:00"))

    report = bot.services.sweep()
    problem = run_job("sweep", lambda: report, health=health)

    assert (report.failed, report.stuck) == (1, 0)
    assert problem == report.problem and "1 send(s) failed in this sweep" in problem
    assert not health.report().ok and "sweep failed" in health.report().text

    clock.set(at("2026-11-27 11:01"))
    assert run_job("sweep", bot.services.sweep, health=health) is None
    assert health.report().ok
    assert len(replies_mentioning(fake_slack, threads.y, Y)) == 1


def test_a_nudge_failing_ambiguously_at_every_sweep_keeps_the_sweep_failing_and_tells_the_cs_lead_once(bot, session_factory, clock, fake_slack) -> None:
    threads = post_friday_digest(bot, session_factory, clock, fake_slack)
    only_y_due(bot, clock, fake_slack)
    problems = []
    for when in ("2026-11-27 11:00", "2026-11-27 11:01", "2026-11-27 11:02", "2026-11-27 11:03"):
        clock.set(at(when))
        fake_slack.fail_next("chat.postMessage", "internal_error", status=500, times=4)  # the nudge, through every retry
        problems.append(bot.services.sweep().problem)

    assert all(problems)
    assert "1 follow-up(s) still unsent after 3 or more failed attempts" in problems[2]
    (told,) = cs_lead_dms(fake_slack)  # once, at the third failure, though it failed a fourth time
    assert "could not be sent after 3 attempts" in told and "keeps trying" in told
    (row,) = [r for r in follow_ups(session_factory) if r.recipient == Y]
    assert (row.ts, row.attempts, row.refusals, row.gave_up_at) == (None, 4, 0, None)  # ambiguous failures never give up

    clock.set(at("2026-11-27 11:04"))
    assert bot.services.sweep().problem is None
    assert len(replies_mentioning(fake_slack, threads.y, Y)) == 1


def test_a_nudge_given_up_after_three_refusals_is_no_longer_a_problem_of_later_sweeps(bot, session_factory, clock, fake_slack) -> None:
    post_friday_digest(bot, session_factory, clock, fake_slack)
    only_y_due(bot, clock, fake_slack)
    fake_slack.fail_next("chat.postMessage", "not_in_channel", times=3)

    problems = []
    for when in ("2026-11-27 11:00", "2026-11-27 11:01", "2026-11-27 11:02", "2026-11-27 11:03"):
        clock.set(at(when))
        problems.append(bot.services.sweep().problem)

    assert [bool(p) for p in problems] == [True, True, True, False]  # given up: the CS lead took it over
    (told,) = cs_lead_dms(fake_slack)
    assert "refused a follow-up 3 times" in told


def gateway_worst_send() -> timedelta:
    """The longest a follow-up send can be inside the gateway, from its own
    constants: open the DM, look an earlier attempt up, then the keyed post
    whose every repeat is preceded by a lookup (each call: every attempt
    timing out, with the backoff's waits)."""
    backoff = Backoff()
    call = backoff.attempts * GATEWAY_TIMEOUT + sum(backoff.delays())
    lookup = LOOKUP_PAGES * call
    return timedelta(seconds=call + lookup + call + (backoff.attempts - 1) * lookup)


def test_a_send_still_inside_the_gateway_s_retries_is_not_taken_over_by_another_replica(bot, session_factory, clock, fake_slack) -> None:
    # Replica A claimed Y's nudge at 11:00 (key recorded) and is still in the
    # gateway's retries; replica B sweeps while A could still post it.
    threads = post_friday_digest(bot, session_factory, clock, fake_slack)
    worst = gateway_worst_send()
    assert worst > timedelta(minutes=5)  # the old five-minute lease was shorter than one send
    key = nudge_key(session_factory, Y)
    start = at("2026-11-27 11:00")
    with transaction(session_factory) as session:
        thread = session.exec(select(DigestMessage).where(DigestMessage.ts == threads.y)).one()
        session.add(FollowUp(key=key, kind="nudge", thread_id=thread.id, level=0, recipient=Y, sent_at=start,
                             lease_until=start + SEND_LEASE, message_key=key))

    clock.set(start + worst)
    bot.services.sweep()

    assert replies_mentioning(fake_slack, threads.y, Y) == []  # A may still post it: B leaves it alone
    assert fake_slack.calls_to("conversations.replies") == []
    bot.services.deps.notifier.post_message(CHANNEL, text=f"<@{Y}> reminder", thread_ts=threads.y, key=key)  # A's post lands

    clock.set(start + SEND_LEASE)  # A's lease is over: B takes over, finds A's message by its key
    bot.services.sweep()

    (y_nudge,) = replies_mentioning(fake_slack, threads.y, Y)
    (row,) = [r for r in follow_ups(session_factory) if r.recipient == Y]
    assert row.ts == y_nudge["ts"] and keyed(fake_slack)[key] == 1
    assert SEND_LEASE >= 2 * worst


# --- messages that fall behind --------------------------------------------------------------------


def test_a_failed_update_in_the_deadline_sweep_is_caught_up_by_the_next_refresh(bot, session_factory, clock, fake_slack) -> None:
    post_friday_digest(bot, session_factory, clock, fake_slack)
    fake_slack.fail_next("chat.update", "internal_error", status=500, times=4)  # the first message: through every retry

    sweep_at(bot, clock, "2026-11-27 18:00")

    with transaction(session_factory) as session:
        assert {i.status for i in session.exec(select(Item).where(Item.owner.is_not(None))).all()} == {Status.DEEMED_CONFIRMED}
    behind = [m.id for m in digest_messages(session_factory) if m.shown_version < m.version]
    assert len(behind) == 1
    assert shown_as_rendered(bot, fake_slack, session_factory) == {m.id: m.id not in behind for m in digest_messages(session_factory)}
    stale = fake_slack.messages[(CHANNEL, digest_messages(session_factory)[0].ts)]
    assert "item.confirm" in json.dumps(stale["blocks"])  # still offers buttons on items deemed confirmed

    fake_slack.clear()
    clock.set(at("2026-11-27 18:01"))
    assert bot.services.refresh_stale_messages() == 1

    assert [c.params["ts"] for c in fake_slack.calls_to("chat.update")] == [digest_messages(session_factory)[0].ts]
    assert all(shown_as_rendered(bot, fake_slack, session_factory).values())
    assert all(m.shown_version == m.version for m in digest_messages(session_factory))
    fake_slack.clear()
    assert bot.services.refresh_stale_messages() == 0 and fake_slack.calls_to("chat.update") == []


def test_an_answer_whose_update_fails_is_still_answered_and_shown_at_the_next_refresh(bot, session_factory, clock, fake_slack) -> None:
    threads = post_friday_digest(bot, session_factory, clock, fake_slack)
    fake_slack.fail_next("chat.update", "internal_error", status=500, times=4)
    clock.set(at("2026-11-27 10:00"))

    answer = bot.services.confirm_items(actor=Z, surface=Surface.COMMAND, reply_to=None, every_open=True)

    assert answer.count(Outcome.APPLIED) == 12  # all of Z's items confirmed, no exception
    (z_message,) = [m for m in digest_messages(session_factory) if m.ts == threads.z]
    assert z_message.shown_version < z_message.version
    assert bot.services.refresh_stale_messages() == 1
    assert all(shown_as_rendered(bot, fake_slack, session_factory).values())


def test_refreshing_is_bounded_per_call_oldest_first(bot, session_factory, clock, fake_slack) -> None:
    post_friday_digest(bot, session_factory, clock, fake_slack)
    with transaction(session_factory) as session:  # every item deemed, and the process died before any refresh
        awaiting = [i.id for i in session.exec(select(Item).where(Item.status == Status.AWAITING)).all()]
        change = q.Change(Action.DEEM, Status.DEEMED_CONFIRMED, "system", Role.SYSTEM, Surface.SCHEDULER)
        q.transition_many(session=session, item_ids=awaiting, expected=Status.AWAITING, change=change, now=at("2026-11-27 18:00"))
    messages = digest_messages(session_factory)

    assert refresh_stale_messages(bot.services.deps, limit=2) == 2

    assert [c.params["ts"] for c in fake_slack.calls_to("chat.update")] == [m.ts for m in messages[:2]]
    assert [m.id for m in digest_messages(session_factory) if m.shown_version < m.version] == [messages[2].id]
    assert refresh_stale_messages(bot.services.deps, limit=2) == 1
    assert all(shown_as_rendered(bot, fake_slack, session_factory).values())


# --- under random faults --------------------------------------------------------------------------


# The answers at 10:00 restart both quiet periods: nudges at 12:00, escalation at 14:00, deadline 18:00.
FAULTY_DAY = ["2026-11-27 12:00", "2026-11-27 12:01", "2026-11-27 14:00", "2026-11-27 14:01", "2026-11-27 18:00", "2026-11-27 18:01"]
CALM_TICKS = ["2026-11-27 18:02", "2026-11-27 18:03", "2026-11-27 18:04", "2026-11-30 09:00"]


def tick(bot: Bot) -> None:
    """What the ticker runs for this part: the sweep, then the catch-up."""
    bot.services.sweep()
    bot.services.refresh_stale_messages()


def answer_one_by_one(bot: Bot, session_factory, clock, owner: str, user: str, count: int) -> None:
    """At 10:00, ``user`` confirms ``count`` of ``owner``'s items, one command each."""
    clock.set(at("2026-11-27 10:00"))
    with transaction(session_factory) as session:
        orders = [i.order_no for i in session.exec(select(Item).where(Item.owner == owner).order_by(Item.id)).all()][:count]
    for order in orders:
        bot.services.confirm_items(actor=user, surface=Surface.COMMAND, reply_to=None, orders=[order])


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_a_day_of_answers_and_sweeps_under_random_faults_ends_with_no_duplicates_and_every_message_current(quick_bot, session_factory, clock, fake_slack, seed) -> None:
    bot = quick_bot
    threads = post_friday_digest(bot, session_factory, clock, fake_slack)
    fake_slack.fail_randomly(0.1, seed=seed, timeout=CLIENT_TIMEOUT + 0.5)  # 500 before/after, 429, hangs past the timeout

    answer_one_by_one(bot, session_factory, clock, "小件配送", Z, 6)  # Z's thread stays open: 6 of 12 awaiting
    answer_one_by_one(bot, session_factory, clock, "大件配送", Y, 8)  # on both of Y's pages
    for when in FAULTY_DAY:
        clock.set(at(when))
        tick(bot)
    faults = sum(1 for c in fake_slack.calls if c.status != 200 or c.delay)
    fake_slack.fail_randomly(0, seed=0)
    for when in CALM_TICKS:
        clock.set(at(when))
        tick(bot)

    assert faults > 0, "the seed injected no fault"
    assert max(keyed(fake_slack).values()) == 1  # no follow-up or notice twice
    for ts, owner in ((threads.y, Y), (threads.z, Z)):
        assert len([m for m in fake_slack.thread(CHANNEL, ts) if m["text"].startswith(f"<@{owner}> reminder")]) == 1
        assert len([m for m in fake_slack.thread(CHANNEL, ts) if "escalated" in m["text"]]) == 1
    rows = follow_ups(session_factory)
    assert [(r.kind, r.recipient) for r in sorted(rows, key=lambda r: (r.kind, r.recipient))] == [
        ("escalate", "U0OPSHEAD"), ("escalate", "U0OPSHEAD"), ("nudge", Y), ("nudge", Z),
    ]
    assert all(r.ts and (r.channel, r.ts) in fake_slack.messages for r in rows)
    assert all(shown_as_rendered(bot, fake_slack, session_factory).values())
    assert all(m.shown_version == m.version for m in digest_messages(session_factory))
    with transaction(session_factory) as session:
        statuses = Counter(i.status for i in session.exec(select(Item).where(Item.owner.is_not(None))).all())
    assert statuses == {Status.CONFIRMED: 14, Status.DEEMED_CONFIRMED: 24}


def deem_everything(session_factory) -> None:
    with transaction(session_factory) as session:  # every item deemed, and the process died before any refresh
        awaiting = [i.id for i in session.exec(select(Item).where(Item.status == Status.AWAITING)).all()]
        change = q.Change(Action.DEEM, Status.DEEMED_CONFIRMED, "system", Role.SYSTEM, Surface.SCHEDULER)
        q.transition_many(session=session, item_ids=awaiting, expected=Status.AWAITING, change=change, now=at("2026-11-27 18:00"))


def test_a_message_that_keeps_failing_takes_turns_with_the_others_instead_of_blocking_them(bot, session_factory, clock, fake_slack) -> None:
    # One message a tick (limit 1): the first fails at its turn; the others are not held behind it.
    post_friday_digest(bot, session_factory, clock, fake_slack)
    deem_everything(session_factory)
    first, second, third = digest_messages(session_factory)
    fake_slack.clear()

    updated = []
    for minute, fails in ((1, True), (2, False), (3, False), (4, False)):
        clock.set(at(f"2026-11-27 18:0{minute}"))
        if fails:
            fake_slack.fail_next("chat.update", "internal_error", status=500, times=4)  # through every retry
        refresh_stale_messages(bot.services.deps, limit=1)
        updated.append({c.params["ts"] for c in fake_slack.calls_to("chat.update")})
        fake_slack.clear()

    assert updated == [{first.ts}, {second.ts}, {third.ts}, {first.ts}]
    assert all(m.shown_version == m.version for m in digest_messages(session_factory))
    assert all(shown_as_rendered(bot, fake_slack, session_factory).values())


def test_an_update_slack_refuses_tells_the_cs_lead_once_per_message(bot, session_factory, clock, fake_slack) -> None:
    threads = post_friday_digest(bot, session_factory, clock, fake_slack)
    clock.set(at("2026-11-27 10:00"))
    with transaction(session_factory) as session:
        orders = [i.order_no for i in session.exec(select(Item).where(Item.owner == "小件配送").order_by(Item.id)).all()]

    for order in orders[:2]:  # two answers, each refused when the message is updated
        fake_slack.fail_next("chat.update", "msg_blocks_too_long")
        bot.services.confirm_items(actor=Z, surface=Surface.COMMAND, reply_to=None, orders=[order])

    assert [c.error for c in fake_slack.calls_to("chat.update")] == ["msg_blocks_too_long"] * 2
    (told,) = [m["text"] for (ch, _), m in fake_slack.messages.items() if ch == f"D{CS_LEAD}" and "refused to update" in m["text"]]
    assert "refused to update" in told and "msg_blocks_too_long" in told and "小件配送" in told
    (z_message,) = [m for m in digest_messages(session_factory) if m.ts == threads.z]
    assert z_message.shown_version == z_message.version  # refused: not retried until it changes again
    with transaction(session_factory) as session:
        assert q.find_effect(session=session, key=f"update-refused:{z_message.id}").done_at is not None


def test_a_refused_update_whose_notice_to_the_cs_lead_fails_is_told_by_the_next_sweep_once(bot, session_factory, clock, fake_slack) -> None:
    threads = post_friday_digest(bot, session_factory, clock, fake_slack)
    clock.set(at("2026-11-27 10:00"))
    with transaction(session_factory) as session:
        order = session.exec(select(Item.order_no).where(Item.owner == "小件配送").order_by(Item.id)).first()
    fake_slack.fail_next("chat.update", "msg_blocks_too_long")
    fake_slack.fail_next("chat.postMessage", "internal_error", status=500)  # the DM to the CS lead: not posted...
    fake_slack.fail_next("conversations.history", "internal_error", status=500, times=4)  # ...and not found

    bot.services.confirm_items(actor=Z, surface=Surface.COMMAND, reply_to=None, orders=[order])

    def told() -> list[str]:
        return [m["text"] for (ch, _), m in fake_slack.messages.items() if ch == f"D{CS_LEAD}" and "refused to update" in m["text"]]

    assert told() == []
    (z_message,) = [m for m in digest_messages(session_factory) if m.ts == threads.z]
    with transaction(session_factory) as session:
        assert q.find_effect(session=session, key=f"update-refused:{z_message.id}").done_at is None  # kept for the sweep

    sweep_at(bot, clock, "2026-11-27 10:01", "2026-11-27 10:02")

    assert len(told()) == 1 and keyed(fake_slack)[f"update-refused:{z_message.id}"] == 1
