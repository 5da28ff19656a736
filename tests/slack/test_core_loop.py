"""The core loop end to end: signed Slack requests through the real app from
``create_app`` into our fake Slack Web API, on SQLite and PostgreSQL.

Assertions look only at outcomes: the database (items' status, audit rows)
and the Web API calls the fake recorded (and the messages' current content).
"""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select
from support import effects, run_together

from bot.app import create_app
from bot.clock import FixedClock
from bot.core.importing import parse_export
from bot.fakeslack import SlackSigner, block_actions, event_callback, reaction_event, slash_command, view_submission
from bot.gateway import make_client
from storage.db import make_session_factory, transaction
from storage.imports import insert_records
from storage.models import AuditEntry, DigestMessage, Item

SHANGHAI = ZoneInfo("Asia/Shanghai")
SAMPLE = Path(__file__).resolve().parents[1] / "fixtures" / "samples" / "callbacks-2026-11-26.csv"
CHANNEL = "C0LOGISTICS"

Y, Z = "U0OWNERY", "U0OWNERZ"  # owners: large items everywhere; small items in four branches
DELEGATE_Y, OPS_HEAD = "U0DELEGY", "U0OPSHEAD"
CS_AGENT, CS_LEAD = "U0CS0001", "U0CSLEAD"

# Sample orders (rejected 2026-11-26). Y's 26 items span two messages: the
# last two (Suzhou 025 and 036) are in the thread under Y's first message.
Y_FIRST = ["SO20261126000000", "SO20261126000002", "SO20261126000003"]  # on Y's first message
Y_THREAD = "SO20261126000036"  # on Y's continuation
Z_ITEM, Z_OTHER = "SO20261126000001", "SO20261126000005"  # small, Hangzhou: Z's
UNROUTED = ["SO20261126000007", "SO20261126000026"]  # small, Shanghai: no owner
UNKNOWN = "SO19990101000000"
HEADER = "订单号,拒收日期,分公司,配送类型,场景,客户,回访人,回访时间,回访记录"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


# --- seeding and reading the database ------------------------------------------------


def seed(session_factory, clock, data: bytes | None = None) -> None:
    """Import the sample export (or ``data``, a CSV) as CS would."""
    records = parse_export(data or SAMPLE.read_bytes(), filename="callbacks.csv").records
    with transaction(session_factory) as session:
        insert_records(session=session, records=records, batch_id=None, now=clock.now(), timezone=SHANGHAI)


def large_items_csv(count: int) -> bytes:
    rows = [f"SO2026112690{i:04d},2026-11-26,南京分公司,大件,客户已收货,张先生 13812341234,王丽,2026-11-26 16:00,已签收" for i in range(count)]
    return "\n".join([HEADER, *rows]).encode()


def items(session_factory) -> dict[str, Item]:
    with transaction(session_factory) as session:
        return {i.order_no: i for i in session.exec(select(Item)).all()}


def status(session_factory, order: str) -> str:
    return items(session_factory)[order].status


def item_id(session_factory, order: str) -> int:
    return items(session_factory)[order].id


def answers(session_factory, order: str | None = None) -> list[tuple[str, str, str, str, str, str]]:
    """Audit rows of people answering (not the digest's own posting):
    (order, actor, role, surface, new status, note)."""
    with transaction(session_factory) as session:
        rows = session.exec(
            select(AuditEntry, Item).join(Item, AuditEntry.item_id == Item.id).order_by(AuditEntry.id)
        ).all()
    return [
        (i.order_no, a.actor, a.role, a.surface, a.to_status, a.note)
        for a, i in rows
        if a.action != "post" and (order is None or i.order_no == order)
    ]


def snapshot(session_factory) -> tuple[dict[str, str], int]:
    """Everything an answer could change: each item's status and the audit log's length."""
    with transaction(session_factory) as session:
        audit = len(session.exec(select(AuditEntry)).all())
    return {o: i.status for o, i in items(session_factory).items()}, audit


def digest_messages(session_factory) -> list[DigestMessage]:
    with transaction(session_factory) as session:
        return list(session.exec(select(DigestMessage).order_by(DigestMessage.id)).all())


# --- talking to the app as Slack would -------------------------------------------------


def command(bot, signer, fake, text: str, user: str = Y):
    request = slash_command(signer, text=text, user_id=user, channel_id=CHANNEL, response_url=fake.response_url())
    return bot.app.dispatch(request.to_bolt())


def click(bot, signer, fake, *, action_id: str, value: str, user: str = Y, ts: str | None = None):
    """A button click on the digest message ``ts`` (default: the message showing the item)."""
    if ts is None:
        ts = next(iter(messages_showing(fake, value)), None) or digest_ts(fake, Y)
    request = block_actions(
        signer, user_id=user, action_id=action_id, value=value, block_id=f"act-{value}", channel_id=CHANNEL,
        message_ts=ts, message=fake.messages.get((CHANNEL, ts)),
        response_url=fake.response_url("click", channel=CHANNEL, ts=ts),
    )
    return bot.app.dispatch(request.to_bolt())


def reaction(kind: str, *, user: str, ts: str, emoji: str = "white_check_mark") -> dict:
    return reaction_event(kind=kind, user=user, reaction=emoji, channel=CHANNEL, ts=ts)


def deliver(bot, signer, event: dict, *, event_id: str, retry_num: int | None = None):
    request = event_callback(
        signer, event=event, event_id=event_id, retry_num=retry_num, retry_reason="http_timeout" if retry_num else None,
    )
    return bot.app.dispatch(request.to_bolt())


def replies(fake) -> list[str]:
    """Private answers sent through a response_url."""
    calls = fake.calls_to("response_url")
    assert all(c.params.get("response_type") == "ephemeral" for c in calls)
    return [c.params["text"] for c in calls]


def ephemerals(fake) -> list[tuple[str, str]]:
    """(user, text) of chat.postEphemeral calls."""
    return [(c.params["user"], c.params["text"]) for c in fake.calls_to("chat.postEphemeral")]


def updated(fake) -> list[str]:
    """The ts of every message changed with chat.update, in order."""
    return [c.params["ts"] for c in fake.calls_to("chat.update") if c.error is None]


def posted(fake) -> list[dict]:
    return [c.params for c in fake.calls_to("chat.postMessage")]


def digest_ts(fake, owner_user: str) -> str:
    """The ts of the owner's first digest message in the channel."""
    (ts,) = [m["ts"] for m in fake.channel_history(CHANNEL) if f"<@{owner_user}>" in json.dumps(m["blocks"])]
    return ts


def thread_ts(fake, owner_user: str) -> list[str]:
    """The ts of the continuations under the owner's first digest message
    (not the bot's other replies in that thread)."""
    return [
        m["ts"] for m in fake.thread(CHANNEL, digest_ts(fake, owner_user))
        if any(b.get("block_id", "").startswith("item-") for b in m["blocks"])
    ]


def messages_showing(fake, item: int | str) -> list[str]:
    """The ts of the channel messages that carry this item."""
    return [
        ts for (channel, ts), m in fake.messages.items()
        if channel == CHANNEL and any(b.get("block_id") == f"item-{item}" for b in m["blocks"])
    ]


def shown_state(fake, item: int) -> str:
    """What the item's digest message shows under it now: "buttons" or the state line."""
    (ts,) = messages_showing(fake, item)
    for block in fake.messages[(CHANNEL, ts)]["blocks"]:
        if block.get("block_id") == f"act-{item}":
            kinds = [(e["action_id"], e["value"]) for e in block["elements"]]
            assert kinds == [("item.confirm", str(item)), ("item.dispute", str(item))]
            return "buttons"
        if block.get("block_id") == f"state-{item}":
            return block["text"]["text"] if block["type"] == "section" else block["elements"][0]["text"]
    raise AssertionError(f"no state shown for item {item}")


def open_dispute_modal(bot, signer, fake_slack, session_factory, order: str = Z_ITEM, user: str = Z) -> dict:
    click(bot, signer, fake_slack, action_id="item.dispute", value=str(item_id(session_factory, order)), user=user)
    (opened,) = fake_slack.calls_to("views.open")
    assert opened.error is None
    return opened.params["view"]


def submit_reason(bot, signer, view: dict, reason: str, user: str = Z):
    request = view_submission(
        signer, user_id=user, callback_id=view["callback_id"], private_metadata=view["private_metadata"],
        values={"dispute.reason": {"dispute.reason_input": reason}},
    )
    return bot.app.dispatch(request.to_bolt())


def assert_one_set_of_messages(fake_slack, session_factory) -> None:
    assert len(fake_slack.channel_history(CHANNEL)) == 2
    assert len(fake_slack.thread(CHANNEL, digest_ts(fake_slack, Y))) == 1
    assert len(fake_slack.calls_to("chat.postMessage")) == 4  # with the CS lead's DM
    assert {c.params["users"] for c in fake_slack.calls_to("conversations.open")} == {CS_LEAD}
    assert [m["channel"] for m in fake_slack.scheduled] == [f"D{CS_LEAD}"]  # the next digest's warning, once
    messages = digest_messages(session_factory)
    assert len(messages) == 3 and all(m.ts for m in messages)
    assert len({m.ts for m in messages}) == 3


def z_awaiting(session_factory) -> list[str]:
    return sorted(o for o, i in items(session_factory).items() if i.owner == "小件配送" and i.status == "awaiting")


@pytest.fixture
def digest(bot, session_factory, clock, fake_slack) -> None:
    """The sample export imported and today's digest posted; recorded calls cleared."""
    seed(session_factory, clock)
    bot.services.post_daily_digest()
    # Y's message and its continuation, Z's message, the CS lead's DM:
    assert len(posted(fake_slack)) == 4, "the digest did not post (see the digest tests)"
    fake_slack.clear()


# --- the daily digest --------------------------------------------------------------------


def test_the_digest_posts_one_message_per_owner_with_every_item_and_its_buttons(bot, session_factory, clock, fake_slack) -> None:
    seed(session_factory, clock)

    bot.services.post_daily_digest()

    top = fake_slack.channel_history(CHANNEL)
    assert len(top) == 2
    for owner_user, count in ((Y, 26), (Z, 12)):
        (first,) = [m for m in top if f"<@{owner_user}>" in m["blocks"][0]["text"]["text"]]
        head = first["blocks"][0]["text"]["text"]
        assert f"{count} mistaken rejection(s)" in head and "11-27 18:00" in head
    stored = items(session_factory)
    routed = {o: i for o, i in stored.items() if o not in UNROUTED}
    assert len(routed) == 38 and all(i.status == "awaiting" for i in routed.values())
    for item in routed.values():
        assert shown_state(fake_slack, item.id) == "buttons"
        owner_user = Y if item.category == "large" else Z
        assert set(messages_showing(fake_slack, item.id)) <= {digest_ts(fake_slack, owner_user), *thread_ts(fake_slack, owner_user)}
    assert all(c.error is None for c in effects(fake_slack))


def test_the_channel_shows_customers_masked(bot, session_factory, clock, fake_slack) -> None:
    seed(session_factory, clock)

    bot.services.post_daily_digest()

    channel = json.dumps([m for (c, _), m in fake_slack.messages.items() if c == CHANNEL], ensure_ascii=False)
    assert "郑女士 155****8499" in channel and "15523938499" not in channel


def test_the_digest_dms_the_records_no_owner_covers_to_the_cs_lead(bot, session_factory, clock, fake_slack) -> None:
    seed(session_factory, clock)

    bot.services.post_daily_digest()

    assert {c.params["users"] for c in fake_slack.calls_to("conversations.open")} == {CS_LEAD}  # the list, and the scheduled warning
    (dm,) = [p for p in posted(fake_slack) if p["channel"].startswith("D")]
    assert dm["channel"] == f"D{CS_LEAD}"
    assert all(order in dm["text"] for order in UNROUTED)
    assert [status(session_factory, o) for o in UNROUTED] == ["new", "new"]


def test_a_second_digest_run_posts_nothing(bot, session_factory, clock, fake_slack) -> None:
    seed(session_factory, clock)
    bot.services.post_daily_digest()
    calls = len(fake_slack.calls)

    bot.services.post_daily_digest()
    clock.advance(timedelta(hours=5))
    bot.services.post_daily_digest()

    assert len(fake_slack.calls) == calls
    assert len(digest_messages(session_factory)) == 3


@pytest.mark.parametrize("when", ["2026-11-28 09:00", "2026-10-01 10:00", "2026-11-27 08:29"], ids=["saturday", "national-day", "before-08-30"])
def test_no_digest_on_a_day_off_or_before_its_time(bot, session_factory, clock, fake_slack, when) -> None:
    seed(session_factory, clock)
    clock.set(at(when))

    bot.services.post_daily_digest()

    assert fake_slack.calls_to("chat.postMessage") == []
    assert {i.status for i in items(session_factory).values()} == {"new"}


def test_the_digest_posts_on_an_adjusted_working_saturday(bot, session_factory, clock, fake_slack) -> None:
    seed(session_factory, clock)
    clock.set(at("2026-10-10 08:30"))

    bot.services.post_daily_digest()

    assert len(fake_slack.channel_history(CHANNEL)) == 2


def test_sixty_items_for_one_owner_continue_in_the_thread_of_the_first_message(bot, session_factory, clock, fake_slack) -> None:
    seed(session_factory, clock, large_items_csv(60))

    bot.services.post_daily_digest()

    calls = fake_slack.calls_to("chat.postMessage")
    assert all(c.error is None for c in calls)
    (first,) = fake_slack.channel_history(CHANNEL)
    thread = fake_slack.thread(CHANNEL, first["ts"])
    assert len(thread) >= 2
    assert [c.params.get("thread_ts") for c in calls] == [None] + [first["ts"]] * len(thread)
    assert all(len(m["blocks"]) <= 50 for m in [first, *thread])
    for item in items(session_factory).values():
        assert shown_state(fake_slack, item.id) == "buttons"


def test_a_digest_posted_late_says_so(bot, session_factory, clock, fake_slack) -> None:
    seed(session_factory, clock)
    clock.set(at("2026-11-27 13:30"))  # still four working hours and a half before the close

    bot.services.post_daily_digest()

    for ts in (digest_ts(fake_slack, Y), digest_ts(fake_slack, Z)):
        head = fake_slack.messages[(CHANNEL, ts)]["blocks"][0]["text"]["text"]
        assert "Posted late" in head and "11-27 18:00" in head


def test_a_digest_on_time_is_not_marked_late(bot, session_factory, clock, fake_slack) -> None:
    seed(session_factory, clock)

    bot.services.post_daily_digest()

    assert "Posted late" not in json.dumps(fake_slack.messages[(CHANNEL, digest_ts(fake_slack, Y))]["blocks"])


def test_two_digest_runs_at_once_post_one_set_of_messages(bot, session_factory, clock, fake_slack) -> None:
    seed(session_factory, clock)

    errors = run_together(bot.services.post_daily_digest, bot.services.post_daily_digest)

    assert errors == []
    assert_one_set_of_messages(fake_slack, session_factory)


def test_two_replicas_sharing_the_database_post_one_set_of_messages(bot, replica_engine, session_factory, clock, fake_slack, settings, routing) -> None:
    seed(session_factory, clock)
    replica = create_app(
        settings, client=make_client("xoxb-test", fake_slack.api_url), session_factory=make_session_factory(replica_engine),
        clock=FixedClock(clock.now()), routing=routing, process_before_response=True,
    )

    errors = run_together(bot.services.post_daily_digest, replica.services.post_daily_digest)
    replica.services.post_daily_digest()
    bot.services.post_daily_digest()

    assert errors == []
    assert_one_set_of_messages(fake_slack, session_factory)


def test_records_imported_after_the_digest_wait_for_the_next_working_day(bot, session_factory, clock, fake_slack) -> None:
    seed(session_factory, clock)
    bot.services.post_daily_digest()
    clock.set(at("2026-11-27 10:00"))
    seed(session_factory, clock, large_items_csv(1))
    bot.services.post_daily_digest()
    assert len(fake_slack.channel_history(CHANNEL)) == 2 and status(session_factory, "SO20261126900000") == "new"

    for when in ("2026-11-28 08:30", "2026-11-29 08:30", "2026-11-30 08:30"):  # Saturday, Sunday, Monday
        clock.set(at(when))
        bot.services.post_daily_digest()

    assert len(fake_slack.channel_history(CHANNEL)) == 3
    assert status(session_factory, "SO20261126900000") == "awaiting"
    assert "11-30 18:00" in fake_slack.channel_history(CHANNEL)[-1]["blocks"][0]["text"]["text"]


def test_a_message_slack_refuses_stops_nothing_else_and_is_posted_by_the_next_run(bot, session_factory, clock, fake_slack) -> None:
    seed(session_factory, clock)
    fake_slack.fail_next("chat.postMessage", error="not_in_channel")  # definitive: Y's first message, not retried at once

    outcome = bot.services.post_daily_digest()

    assert outcome.problem and "2 of 3" in outcome.problem  # its continuation waits for it
    assert len(fake_slack.channel_history(CHANNEL)) == 1  # Z's message went out
    assert [p["channel"] for p in posted(fake_slack) if p["channel"].startswith("D")] == [f"D{CS_LEAD}"]  # so did the unrouted list
    (y_first,) = [m for m in digest_messages(session_factory) if m.owner == "大件配送" and m.page == 0]
    assert (y_first.ts, y_first.attempts, y_first.last_error) == (None, 1, "not_in_channel")
    assert {i.deadline for i in items(session_factory).values() if i.owner == "大件配送"} == {None}  # not shown: no deadline yet

    clock.advance(timedelta(minutes=1))
    outcome = bot.services.post_daily_digest()  # the next tick
    clock.advance(timedelta(minutes=1))
    again = bot.services.post_daily_digest()

    assert outcome.problem is None and again.state == "already_posted"
    assert len(fake_slack.channel_history(CHANNEL)) == 2
    assert len(fake_slack.thread(CHANNEL, digest_ts(fake_slack, Y))) == 1
    assert len([c for c in fake_slack.calls_to("chat.postMessage") if c.error is None]) == 4
    assert all(m.ts for m in digest_messages(session_factory))


# --- /reject confirm and dispute -------------------------------------------------------------


def test_the_owner_confirms_several_orders_in_one_command(bot, signer, fake_slack, session_factory, digest) -> None:
    orders = [*Y_FIRST, Y_THREAD]

    response = command(bot, signer, fake_slack, f"confirm {orders[0]} {orders[1]},{orders[2]}\n{orders[3]}")

    assert response.status == 200
    assert [status(session_factory, o) for o in orders] == ["confirmed"] * 4
    assert answers(session_factory) == [(o, Y, "owner", "command", "confirmed", "") for o in orders]
    for order in orders:
        state = shown_state(fake_slack, item_id(session_factory, order))
        assert "✅ confirmed" in state and f"<@{Y}>" in state
    assert sorted(updated(fake_slack)) == sorted([digest_ts(fake_slack, Y), *thread_ts(fake_slack, Y)])
    (reply,) = replies(fake_slack)
    assert "Confirmed 4" in reply and all(o in reply for o in orders)


def test_confirming_an_item_in_the_thread_also_refreshes_the_first_message_s_count(bot, signer, fake_slack, session_factory, digest) -> None:
    command(bot, signer, fake_slack, f"confirm {Y_THREAD}")

    first = fake_slack.messages[(CHANNEL, digest_ts(fake_slack, Y))]
    assert "25 awaiting" in first["text"]


def test_an_unknown_order_is_answered_and_nothing_changes(bot, signer, fake_slack, session_factory, digest) -> None:
    before = snapshot(session_factory)

    command(bot, signer, fake_slack, f"confirm {UNKNOWN}")

    assert snapshot(session_factory) == before
    (reply,) = replies(fake_slack)
    assert "No such order number" in reply and UNKNOWN in reply
    assert updated(fake_slack) == []


def test_a_known_and_an_unknown_order_together_confirm_the_known_one(bot, signer, fake_slack, session_factory, digest) -> None:
    command(bot, signer, fake_slack, f"confirm {Y_FIRST[0]} {UNKNOWN}")

    assert status(session_factory, Y_FIRST[0]) == "confirmed"
    (reply,) = replies(fake_slack)
    assert "Confirmed 1" in reply and "No such order number" in reply and UNKNOWN in reply


@pytest.mark.parametrize("user", [Z, CS_AGENT], ids=["other-owner", "cs-agent"])
def test_confirming_someone_else_s_item_is_refused(bot, signer, fake_slack, session_factory, digest, user) -> None:
    before = snapshot(session_factory)

    command(bot, signer, fake_slack, f"confirm {Y_FIRST[0]}", user=user)

    assert snapshot(session_factory) == before
    (reply,) = replies(fake_slack)
    assert "Not yours" in reply and Y_FIRST[0] in reply and "大件配送" in reply
    assert updated(fake_slack) == []


def test_confirm_all_confirms_only_the_caller_s_awaiting_items(bot, signer, fake_slack, session_factory, digest) -> None:
    command(bot, signer, fake_slack, f"dispute {Y_FIRST[0]} 客户拒收，有照片")
    fake_slack.clear()

    command(bot, signer, fake_slack, "confirm all")

    stored = items(session_factory)
    mine = [i for i in stored.values() if i.category == "large"]
    assert stored[Y_FIRST[0]].status == "disputed"
    assert sorted(i.status for i in mine if i.order_no != Y_FIRST[0]) == ["confirmed"] * 25
    assert {i.status for i in stored.values() if i.owner == "小件配送"} == {"awaiting"}
    (reply,) = replies(fake_slack)
    assert "Confirmed 25" in reply
    assert sorted(updated(fake_slack)) == sorted([digest_ts(fake_slack, Y), *thread_ts(fake_slack, Y)])


def test_confirm_all_with_nothing_awaiting_says_so(bot, signer, fake_slack, session_factory, digest) -> None:
    command(bot, signer, fake_slack, "confirm all")
    fake_slack.clear()
    before = snapshot(session_factory)

    command(bot, signer, fake_slack, "confirm all")

    assert snapshot(session_factory) == before
    assert replies(fake_slack) == ["Nothing awaits your answer right now."]
    assert updated(fake_slack) == []


def test_confirm_all_by_someone_without_an_owner_role_is_refused(bot, signer, fake_slack, session_factory, digest) -> None:
    before = snapshot(session_factory)

    command(bot, signer, fake_slack, "confirm all", user=CS_AGENT)

    assert snapshot(session_factory) == before
    (reply,) = replies(fake_slack)
    assert "not an owner" in reply


def test_a_dispute_without_a_reason_is_refused(bot, signer, fake_slack, session_factory, digest) -> None:
    before = snapshot(session_factory)

    command(bot, signer, fake_slack, f"dispute {Y_FIRST[0]}")

    assert snapshot(session_factory) == before
    (reply,) = replies(fake_slack)
    assert "needs a reason" in reply and Y_FIRST[0] in reply


def test_a_dispute_with_a_reason_is_recorded_with_it(bot, signer, fake_slack, session_factory, digest) -> None:
    command(bot, signer, fake_slack, f"dispute {Y_FIRST[0]} 客户当天改约 已重新配送")

    assert status(session_factory, Y_FIRST[0]) == "disputed"
    assert answers(session_factory) == [(Y_FIRST[0], Y, "owner", "command", "disputed", "客户当天改约 已重新配送")]
    assert "❓ disputed" in shown_state(fake_slack, item_id(session_factory, Y_FIRST[0]))
    assert updated(fake_slack) == [digest_ts(fake_slack, Y)]
    (reply,) = replies(fake_slack)
    assert "Disputed 1" in reply


def test_disputing_a_confirmed_item_is_refused_as_decided(bot, signer, fake_slack, session_factory, digest) -> None:
    command(bot, signer, fake_slack, f"confirm {Y_FIRST[0]}")
    fake_slack.clear()
    before = snapshot(session_factory)

    command(bot, signer, fake_slack, f"dispute {Y_FIRST[0]} wrong")

    assert snapshot(session_factory) == before
    (reply,) = replies(fake_slack)
    assert "no longer applies" in reply and "confirmed" in reply and f"/reject status {Y_FIRST[0]}" in reply
    assert updated(fake_slack) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [(f"confirm {Y_FIRST[0]}", "Already confirmed"), (f"dispute {Y_FIRST[0]} 客户记错了", "Already disputed")],
    ids=["confirm", "dispute"],
)
def test_a_repeated_command_changes_nothing_and_updates_nothing(bot, signer, fake_slack, session_factory, digest, text, expected) -> None:
    command(bot, signer, fake_slack, text)
    fake_slack.clear()
    before = snapshot(session_factory)

    command(bot, signer, fake_slack, text)

    assert snapshot(session_factory) == before
    assert len(answers(session_factory, Y_FIRST[0])) == 1
    assert updated(fake_slack) == []
    (reply,) = replies(fake_slack)
    assert expected in reply


def test_a_dispute_after_the_deadline_is_refused_as_expired(bot, signer, fake_slack, session_factory, clock, digest) -> None:
    clock.set(at("2026-11-27 18:01"))
    before = snapshot(session_factory)

    command(bot, signer, fake_slack, f"dispute {Y_FIRST[0]} 客户记错了")

    assert snapshot(session_factory) == before
    (reply,) = replies(fake_slack)
    assert "closed at 11-27 18:00" in reply and "nothing changed" in reply


def test_a_confirmation_after_the_deadline_is_still_taken(bot, signer, fake_slack, session_factory, clock, digest) -> None:
    clock.set(at("2026-11-27 18:01"))

    command(bot, signer, fake_slack, f"confirm {Y_FIRST[0]}")

    assert status(session_factory, Y_FIRST[0]) == "confirmed"


def test_two_people_confirming_all_at_once_confirm_each_item_once(bot, signer, fake_slack, session_factory, digest) -> None:
    errors = run_together(
        lambda: command(bot, signer, fake_slack, "confirm all", user=Y),
        lambda: command(bot, signer, fake_slack, "confirm all", user=DELEGATE_Y),
    )

    assert errors == []
    confirmed = [a[0] for a in answers(session_factory)]
    assert len(confirmed) == len(set(confirmed)) == 26
    assert {i.status for i in items(session_factory).values() if i.category == "large"} == {"confirmed"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("frobnicate SO1", "`frobnicate` is not a /reject command"),
        ("confirm", "Which orders?"),
        ("dispute", "Which order?"),
    ],
    ids=["unknown-verb", "confirm-nothing", "dispute-nothing"],
)
def test_a_malformed_command_is_explained_and_changes_nothing(bot, signer, fake_slack, session_factory, digest, text, expected) -> None:
    before = snapshot(session_factory)

    response = command(bot, signer, fake_slack, text)

    assert response.status == 200
    assert snapshot(session_factory) == before
    (reply,) = replies(fake_slack)
    assert expected in reply and "nothing changed" in reply
    assert updated(fake_slack) == []


def test_status_of_an_order_shows_its_state_and_history(bot, signer, fake_slack, session_factory, digest) -> None:
    command(bot, signer, fake_slack, f"confirm {Y_FIRST[0]}")
    fake_slack.clear()

    command(bot, signer, fake_slack, f"status {Y_FIRST[0]}")

    (reply,) = replies(fake_slack)
    assert Y_FIRST[0] in reply and "✅ confirmed" in reply and f"<@{Y}>" in reply and "大件配送" in reply


@pytest.mark.parametrize(("user", "full"), [(Y, True), (CS_AGENT, True), (Z, False)], ids=["owner", "cs", "other-owner"])
def test_status_shows_the_full_customer_only_to_cs_and_the_owner(bot, signer, fake_slack, digest, user, full) -> None:
    command(bot, signer, fake_slack, f"status {Y_FIRST[0]}", user=user)

    (reply,) = replies(fake_slack)
    assert ("15523938499" in reply) is full
    assert full or "155****8499" in reply


def test_help_lists_the_commands(bot, signer, fake_slack, digest) -> None:
    command(bot, signer, fake_slack, "help")

    (reply,) = replies(fake_slack)
    assert "/reject confirm" in reply and "/reject dispute" in reply and "/reject status" in reply


@pytest.mark.parametrize(
    ("user", "order", "role"),
    [(DELEGATE_Y, Y_FIRST[0], "delegate"), (OPS_HEAD, Z_ITEM, "manager")],
    ids=["delegate", "manager"],
)
def test_a_delegate_or_a_manager_may_confirm_for_the_owner(bot, signer, fake_slack, session_factory, digest, user, order, role) -> None:
    command(bot, signer, fake_slack, f"confirm {order}", user=user)

    assert status(session_factory, order) == "confirmed"
    assert answers(session_factory) == [(order, user, role, "command", "confirmed", "")]
    assert f"<@{user}>" in shown_state(fake_slack, item_id(session_factory, order))


# --- buttons and the dispute modal ---------------------------------------------------------


def test_the_confirm_button_confirms_the_item_and_updates_its_message(bot, signer, fake_slack, session_factory, digest) -> None:
    target = item_id(session_factory, Z_ITEM)

    response = click(bot, signer, fake_slack, action_id="item.confirm", value=str(target), user=Z)

    assert response.status == 200
    assert answers(session_factory) == [(Z_ITEM, Z, "owner", "button", "confirmed", "")]
    assert updated(fake_slack) == [digest_ts(fake_slack, Z)]
    state = shown_state(fake_slack, target)
    assert "✅ confirmed" in state and f"<@{Z}>" in state and "by button" in state
    (reply,) = replies(fake_slack)
    assert "Confirmed 1" in reply


def test_a_double_click_confirms_once(bot, signer, fake_slack, session_factory, digest) -> None:
    target = str(item_id(session_factory, Z_ITEM))
    request = block_actions(
        signer, user_id=Z, action_id="item.confirm", value=target, block_id=f"act-{target}", channel_id=CHANNEL,
        message_ts=digest_ts(fake_slack, Z), message=fake_slack.messages[(CHANNEL, digest_ts(fake_slack, Z))],
        response_url=fake_slack.response_url("click"),
    )

    first = bot.app.dispatch(request.to_bolt())
    second = bot.app.dispatch(request.to_bolt())

    assert (first.status, second.status) == (200, 200)
    assert len(answers(session_factory, Z_ITEM)) == 1
    assert len(updated(fake_slack)) == 1
    assert "Already confirmed" in replies(fake_slack)[1]


def test_two_clicks_arriving_at_once_confirm_once(bot, signer, fake_slack, session_factory, digest) -> None:
    target = str(item_id(session_factory, Z_ITEM))
    clicks = [lambda: click(bot, signer, fake_slack, action_id="item.confirm", value=target, user=Z)] * 2

    errors = run_together(*clicks)

    assert errors == []
    assert answers(session_factory) == [(Z_ITEM, Z, "owner", "button", "confirmed", "")]
    assert len(updated(fake_slack)) == 1


@pytest.mark.parametrize("action_id", ["item.confirm", "item.dispute", "item.fix"])
@pytest.mark.parametrize("value", ["not-an-item", "999999"], ids=["garbage", "no-such-item"])
def test_a_stale_button_is_answered_as_expired(bot, signer, fake_slack, session_factory, digest, value, action_id) -> None:
    before = snapshot(session_factory)

    click(bot, signer, fake_slack, action_id=action_id, value=value, ts=digest_ts(fake_slack, Y))

    assert snapshot(session_factory) == before
    (reply,) = replies(fake_slack)
    assert "expired" in reply
    assert updated(fake_slack) == []
    assert fake_slack.calls_to("views.open") == []


def test_the_dispute_button_opens_the_dispute_modal(bot, signer, fake_slack, session_factory, digest) -> None:
    view = open_dispute_modal(bot, signer, fake_slack, session_factory)

    assert view["callback_id"] == "dispute.submit"
    assert Z_ITEM in json.dumps(view, ensure_ascii=False)
    assert status(session_factory, Z_ITEM) == "awaiting"


def test_submitting_the_modal_with_a_reason_disputes_the_item(bot, signer, fake_slack, session_factory, digest) -> None:
    view = open_dispute_modal(bot, signer, fake_slack, session_factory)

    response = submit_reason(bot, signer, view, "  客户说的不准确，配送员有签收照片  ")

    assert response.status == 200
    assert answers(session_factory) == [(Z_ITEM, Z, "owner", "modal", "disputed", "客户说的不准确，配送员有签收照片")]
    assert updated(fake_slack) == [digest_ts(fake_slack, Z)]
    assert "❓ disputed" in shown_state(fake_slack, item_id(session_factory, Z_ITEM))
    (answer,) = ephemerals(fake_slack)
    assert answer[0] == Z and "Disputed 1" in answer[1]


def test_submitting_the_modal_without_a_reason_shows_an_error_in_it(bot, signer, fake_slack, session_factory, digest) -> None:
    view = open_dispute_modal(bot, signer, fake_slack, session_factory)
    fake_slack.clear()
    before = snapshot(session_factory)

    response = submit_reason(bot, signer, view, "   ")

    assert response.status == 200
    body = json.loads(response.body)
    assert body["response_action"] == "errors" and "reason" in body["errors"]["dispute.reason"]
    assert snapshot(session_factory) == before
    assert effects(fake_slack) == []


def test_the_dispute_button_on_someone_else_s_item_answers_instead_of_opening_the_modal(bot, signer, fake_slack, session_factory, digest) -> None:
    before = snapshot(session_factory)

    click(bot, signer, fake_slack, action_id="item.dispute", value=str(item_id(session_factory, Z_ITEM)), user=Y)

    assert fake_slack.calls_to("views.open") == []
    assert snapshot(session_factory) == before
    (reply,) = replies(fake_slack)
    assert "Not yours" in reply and Z_ITEM in reply


def test_a_modal_submitted_after_the_item_was_confirmed_changes_nothing(bot, signer, fake_slack, session_factory, digest) -> None:
    view = open_dispute_modal(bot, signer, fake_slack, session_factory)
    command(bot, signer, fake_slack, f"confirm {Z_ITEM}", user=Z)
    fake_slack.clear()
    before = snapshot(session_factory)

    submit_reason(bot, signer, view, "配送员有签收照片")

    assert snapshot(session_factory) == before
    assert updated(fake_slack) == []
    (answer,) = ephemerals(fake_slack)
    assert answer[0] == Z and "no longer applies" in answer[1]


def test_a_modal_with_metadata_that_is_not_ours_is_answered_as_expired(bot, signer, fake_slack, session_factory, digest) -> None:
    before = snapshot(session_factory)

    submit_reason(bot, signer, {"callback_id": "dispute.submit", "private_metadata": "garbage"}, "reason")

    assert snapshot(session_factory) == before
    texts = [c.params["text"] for c in fake_slack.calls_to("chat.postMessage")] + [t for _, t in ephemerals(fake_slack)]
    assert len(texts) == 1 and "expired" in texts[0]


def test_the_dispute_button_after_the_deadline_answers_instead_of_opening_the_modal(bot, signer, fake_slack, session_factory, clock, digest) -> None:
    clock.set(at("2026-11-27 18:30"))

    click(bot, signer, fake_slack, action_id="item.dispute", value=str(item_id(session_factory, Z_ITEM)), user=Z)

    assert fake_slack.calls_to("views.open") == []
    (reply,) = replies(fake_slack)
    assert "closed at 11-27 18:00" in reply


# --- reactions on the digest message -------------------------------------------------------


def test_a_check_mark_by_the_owner_confirms_every_awaiting_item_on_the_message(bot, signer, fake_slack, session_factory, digest) -> None:
    command(bot, signer, fake_slack, f"dispute {Z_OTHER} 客户已改约", user=Z)
    fake_slack.clear()
    waiting = z_awaiting(session_factory)

    response = deliver(bot, signer, reaction("reaction_added", user=Z, ts=digest_ts(fake_slack, Z)), event_id="Ev1")

    assert response.status == 200
    assert z_awaiting(session_factory) == []
    assert status(session_factory, Z_OTHER) == "disputed"
    confirmed = [a for a in answers(session_factory) if a[4] == "confirmed"]
    assert sorted(a[0] for a in confirmed) == waiting  # each once
    assert {a[1:] for a in confirmed} == {(Z, "owner", "reaction", "confirmed", "")}
    assert updated(fake_slack) == [digest_ts(fake_slack, Z)]
    assert "by reaction" in shown_state(fake_slack, item_id(session_factory, Z_ITEM))
    (answer,) = ephemerals(fake_slack)
    assert answer[0] == Z and f"Confirmed {len(waiting)}" in answer[1]


def test_a_redelivered_reaction_event_changes_nothing(bot, signer, fake_slack, session_factory, digest) -> None:
    event = reaction("reaction_added", user=Z, ts=digest_ts(fake_slack, Z))
    deliver(bot, signer, event, event_id="Ev1")
    fake_slack.clear()
    before = snapshot(session_factory)

    response = deliver(bot, signer, event, event_id="Ev1", retry_num=1)

    assert response.status == 200
    assert snapshot(session_factory) == before
    assert fake_slack.calls == []


def test_removing_the_check_mark_soon_after_undoes_exactly_what_it_did(bot, signer, fake_slack, session_factory, clock, digest) -> None:
    command(bot, signer, fake_slack, f"confirm {Z_ITEM}", user=Z)
    ts = digest_ts(fake_slack, Z)
    waiting = z_awaiting(session_factory)
    deliver(bot, signer, reaction("reaction_added", user=Z, ts=ts), event_id="Ev1")
    fake_slack.clear()
    clock.advance(timedelta(minutes=3))

    deliver(bot, signer, reaction("reaction_removed", user=Z, ts=ts), event_id="Ev2")

    assert z_awaiting(session_factory) == waiting
    assert status(session_factory, Z_ITEM) == "confirmed"  # confirmed by command, not by the ✅
    undone = [a for a in answers(session_factory) if a[4] == "awaiting"]
    assert sorted(a[0] for a in undone) == waiting
    assert {a[1:4] for a in undone} == {(Z, "owner", "reaction")}
    assert updated(fake_slack) == [ts]
    assert shown_state(fake_slack, item_id(session_factory, waiting[0])) == "buttons"
    (answer,) = ephemerals(fake_slack)
    assert answer[0] == Z and "Undone" in answer[1]


def test_removing_the_check_mark_too_late_changes_nothing(bot, signer, fake_slack, session_factory, clock, digest) -> None:
    ts = digest_ts(fake_slack, Z)
    deliver(bot, signer, reaction("reaction_added", user=Z, ts=ts), event_id="Ev1")
    fake_slack.clear()
    clock.advance(timedelta(minutes=6))
    before = snapshot(session_factory)

    deliver(bot, signer, reaction("reaction_removed", user=Z, ts=ts), event_id="Ev2")

    assert snapshot(session_factory) == before
    assert z_awaiting(session_factory) == []
    assert updated(fake_slack) == []
    (answer,) = ephemerals(fake_slack)
    assert answer[0] == Z and "more than 5 minutes ago" in answer[1] and "changes nothing" in answer[1]


def test_a_check_mark_by_someone_else_changes_nothing_and_is_answered(bot, signer, fake_slack, session_factory, digest) -> None:
    before = snapshot(session_factory)

    deliver(bot, signer, reaction("reaction_added", user=Y, ts=digest_ts(fake_slack, Z)), event_id="Ev1")

    assert snapshot(session_factory) == before
    assert updated(fake_slack) == []
    (answer,) = ephemerals(fake_slack)
    assert answer[0] == Y and "Not yours" in answer[1]


@pytest.mark.parametrize("emoji", ["thumbsup", "x"])
def test_other_emoji_are_ignored(bot, signer, fake_slack, session_factory, digest, emoji) -> None:
    before = snapshot(session_factory)

    deliver(bot, signer, reaction("reaction_added", user=Z, ts=digest_ts(fake_slack, Z), emoji=emoji), event_id="Ev1")

    assert snapshot(session_factory) == before
    assert fake_slack.calls == []


def test_a_check_mark_on_a_message_that_is_not_a_digest_is_ignored(bot, signer, fake_slack, session_factory, digest) -> None:
    before = snapshot(session_factory)

    deliver(bot, signer, reaction("reaction_added", user=Z, ts="1700000000.000100"), event_id="Ev1")

    assert snapshot(session_factory) == before
    assert fake_slack.calls == []


# --- request verification ------------------------------------------------------------------


def test_a_request_with_a_bad_signature_is_refused(bot, fake_slack, session_factory, digest) -> None:
    before = snapshot(session_factory)

    response = command(bot, SlackSigner("not-the-secret"), fake_slack, f"confirm {Y_FIRST[0]}")

    assert response.status == 401
    assert snapshot(session_factory) == before
    assert fake_slack.calls == []


def test_a_request_signed_ten_minutes_ago_is_refused(bot, fake_slack, session_factory, settings, digest) -> None:
    stale = SlackSigner(settings.signing_secret, clock=lambda: time.time() - 600)
    before = snapshot(session_factory)

    responses = [
        command(bot, stale, fake_slack, f"confirm {Y_FIRST[0]}"),
        deliver(bot, stale, reaction("reaction_added", user=Z, ts=digest_ts(fake_slack, Z)), event_id="Ev1"),
    ]

    assert [r.status for r in responses] == [401, 401]
    assert snapshot(session_factory) == before
    assert fake_slack.calls == []
