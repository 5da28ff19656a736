"""Correcting the record end to end: ``/reject void``, ``reopen`` and ``find``
as signed slash commands through the real app into the fake Slack, on
SQLite and PostgreSQL. Assertions look at the database (status, audit rows,
deadline, the ledger) and at what Slack shows (replies, the digest message,
the thread)."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select
from test_core_loop import at, seed  # the sample export imported as CS would

from bot.fakeslack import slash_command
from storage.db import transaction
from storage.models import AuditEntry, Item, SideEffect

SHANGHAI = ZoneInfo("Asia/Shanghai")
SAMPLE = Path(__file__).resolve().parents[1] / "fixtures" / "samples" / "callbacks-2026-11-26.csv"
CHANNEL = "C0LOGISTICS"
Y, Z, DELEGATE_Y, OPS_HEAD = "U0OWNERY", "U0OWNERZ", "U0DELEGY", "U0OPSHEAD"
CS_AGENT, CS_LEAD, NOBODY = "U0CS0001", "U0CSLEAD", "U0NOBODY"
Y_ITEM, Y_OTHER = "SO20261126000000", "SO20261126000002"  # large: Y's, on Y's first message
Z_ITEM = "SO20261126000001"  # small, Hangzhou: Z's
UNROUTED = "SO20261126000007"  # small, Shanghai: nobody's, stays new
HEADER = "订单号,拒收日期,分公司,配送类型,场景,客户,回访人,回访时间,回访记录"


def command(bot, signer, fake, text: str, user: str):
    request = slash_command(signer, text=text, user_id=user, channel_id=CHANNEL, response_url=fake.response_url())
    return bot.app.dispatch(request.to_bolt())


def replies(fake) -> list[str]:
    calls = fake.calls_to("response_url")
    assert all(c.params.get("response_type") == "ephemeral" for c in calls)
    return [c.params["text"] for c in calls]


def item(session_factory, order: str, day: str = "2026-11-26") -> Item:
    with transaction(session_factory) as session:
        return session.exec(select(Item).where(Item.order_no == order, Item.rejected_on == datetime.fromisoformat(day).date())).one()


def audit(session_factory, order: str) -> list[tuple[str, str, str, str, str, str]]:
    """(action, actor, role, from, to, note) of the order's audit rows after its posting."""
    with transaction(session_factory) as session:
        rows = session.exec(select(AuditEntry, Item).join(Item, AuditEntry.item_id == Item.id).order_by(AuditEntry.id)).all()
    return [(a.action, a.actor, a.role, a.from_status, a.to_status, a.note) for a, i in rows if i.order_no == order and a.action != "post"]


def snapshot(session_factory) -> tuple[dict, int, int]:
    """Everything a refused request must leave alone: each item's status and
    deadline, the audit log's and the ledger's length."""
    with transaction(session_factory) as session:
        states = {(i.order_no, i.rejected_on): (i.status, i.deadline) for i in session.exec(select(Item)).all()}
        return states, len(session.exec(select(AuditEntry)).all()), len(session.exec(select(SideEffect)).all())


def digest_ts(fake, owner_user: str) -> str:
    (ts,) = [m["ts"] for m in fake.channel_history(CHANNEL) if f"<@{owner_user}>" in json.dumps(m["blocks"])]
    return ts


def thread_notes(fake, owner_user: str) -> list[str]:
    """The bot's plain replies in the owner's digest thread (not continuation pages)."""
    return [m["text"] for m in fake.thread(CHANNEL, digest_ts(fake, owner_user)) if not any(b.get("block_id", "").startswith("item-") for b in m.get("blocks") or [])]


def shown_state(fake, item_id: int) -> str:
    (message,) = [m for (c, _), m in fake.messages.items() if c == CHANNEL and any(b.get("block_id") == f"item-{item_id}" for b in m["blocks"])]
    for block in message["blocks"]:
        if block.get("block_id") == f"act-{item_id}":
            return "buttons"
        if block.get("block_id") == f"state-{item_id}":
            return block["text"]["text"] if block["type"] == "section" else block["elements"][0]["text"]
    raise AssertionError(f"no state shown for item {item_id}")


@pytest.fixture
def digest(bot, session_factory, clock, fake_slack) -> None:
    """The sample export imported and today's digest posted (Friday 08:30, deadline 18:00)."""
    seed(session_factory, clock)
    bot.services.post_daily_digest()
    fake_slack.clear()


# --- void ------------------------------------------------------------------------------


@pytest.mark.parametrize("cs", [CS_AGENT, CS_LEAD], ids=["callback-agent", "cs-lead"])
def test_cs_voids_an_awaiting_item_audited_shown_and_told_once(bot, signer, fake_slack, session_factory, clock, digest, cs) -> None:
    clock.set(at("2026-11-27 10:00"))
    y_ts = digest_ts(fake_slack, Y)

    command(bot, signer, fake_slack, f"void {Y_ITEM} 回访时录错了订单号，致电13812341234核实", user=cs)

    voided = item(session_factory, Y_ITEM)
    assert voided.status == "voided" and voided.last_actor == cs
    role = "cs_agent" if cs == CS_AGENT else "cs_lead"
    assert audit(session_factory, Y_ITEM) == [("void", cs, role, "awaiting", "voided", "回访时录错了订单号，致电13812341234核实")]
    (reply,) = replies(fake_slack)
    assert f"Voided {Y_ITEM}@2026-11-26" in reply and "not count as a mistaken rejection" in reply and "owner is told" in reply
    # the digest message shows it withdrawn by CS, at once
    assert y_ts in [c.params["ts"] for c in fake_slack.calls_to("chat.update") if c.error is None]
    state = shown_state(fake_slack, voided.id)
    assert "withdrawn by customer service" in state and f"<@{cs}>" in state
    head = fake_slack.messages[(CHANNEL, y_ts)]["blocks"][0]["text"]["text"]
    assert "25 mistaken rejection(s)" in head  # of 26: the voided one is CS's own correction
    # the owner is told in the thread, with the reason (its phone masked: the channel shows it)
    (note,) = thread_notes(fake_slack, Y)
    assert f"<@{Y}>" in note and Y_ITEM in note and "回访时录错了订单号" in note
    assert "138****1234" in note and "13812341234" not in note
    assert item(session_factory, Y_OTHER).status == "awaiting"

    # repeated: nothing changes, nobody is told twice, even after a sweep
    command(bot, signer, fake_slack, f"void {Y_ITEM} 回访时录错了订单号", user=cs)
    bot.services.sweep(now=at("2026-11-27 11:00"))
    assert "already voided" in replies(fake_slack)[-1]
    assert len(audit(session_factory, Y_ITEM)) == 1
    assert sum("has withdrawn" in n for n in thread_notes(fake_slack, Y)) == 1


def test_a_voided_item_is_never_deemed_and_books_no_penalty(bot, signer, fake_slack, session_factory, clock, digest) -> None:
    from storage.review import list_penalties

    command(bot, signer, fake_slack, f"void {Y_ITEM} 录错了", user=CS_LEAD)
    bot.services.sweep(now=at("2026-11-27 18:01"))

    assert item(session_factory, Y_ITEM).status == "voided"
    assert item(session_factory, Y_OTHER).status == "deemed_confirmed"
    with transaction(session_factory) as session:
        assert list_penalties(session=session, item_id=item(session_factory, Y_ITEM).id) == []


def test_voiding_a_new_item_tells_nobody_in_a_thread(bot, signer, fake_slack, session_factory, digest) -> None:
    command(bot, signer, fake_slack, f"void {UNROUTED} 重复导入", user=CS_AGENT)

    assert item(session_factory, UNROUTED).status == "voided"
    assert audit(session_factory, UNROUTED) == [("void", CS_AGENT, "cs_agent", "new", "voided", "重复导入")]
    assert "had not been shown to anyone" in replies(fake_slack)[0]
    assert fake_slack.calls_to("chat.postMessage") == []


def test_the_owner_s_notice_that_slack_refused_is_posted_once_by_the_sweep(bot, signer, fake_slack, session_factory, clock, digest) -> None:
    fake_slack.fail_next("chat.postMessage", "not_in_channel")

    command(bot, signer, fake_slack, f"void {Y_ITEM} 录错了", user=CS_LEAD)
    assert item(session_factory, Y_ITEM).status == "voided"
    assert thread_notes(fake_slack, Y) == []

    clock.set(at("2026-11-27 09:00"))
    bot.services.sweep()
    bot.services.sweep()

    (note,) = thread_notes(fake_slack, Y)
    assert Y_ITEM in note and "录错了" in note


@pytest.mark.parametrize("user", [Y, DELEGATE_Y, OPS_HEAD, NOBODY], ids=["owner", "delegate", "manager", "nobody"])
def test_only_cs_may_void(bot, signer, fake_slack, session_factory, digest, user) -> None:
    before = snapshot(session_factory)

    command(bot, signer, fake_slack, f"void {Y_ITEM} 录错了", user=user)

    assert snapshot(session_factory) == before
    (reply,) = replies(fake_slack)
    assert "Only customer service" in reply and "nothing changed" in reply
    assert fake_slack.calls_to("chat.postMessage") == [] and fake_slack.calls_to("chat.update") == []


@pytest.mark.parametrize(
    ("first", "expected"),
    [("confirm", "is ✅ confirmed: only a record that is new or awaiting"), ("dispute", "is ❓ disputed: only a record that is new or awaiting")],
)
def test_voiding_an_answered_item_is_refused(bot, signer, fake_slack, session_factory, digest, first, expected) -> None:
    command(bot, signer, fake_slack, f"{first} {Y_ITEM} 客户记错了", user=Y)
    fake_slack.clear()
    before = snapshot(session_factory)

    command(bot, signer, fake_slack, f"void {Y_ITEM} 录错了", user=CS_LEAD)

    assert snapshot(session_factory) == before
    (reply,) = replies(fake_slack)
    assert expected in reply and "nothing changed" in reply


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"void {Y_ITEM}", "Voiding a record needs a reason"),
        (f"void {Y_ITEM} 　 ", "Voiding a record needs a reason"),
        ("void", "Which order?"),
        (f"reopen {Y_ITEM}", "Reopening an item needs a reason"),
        (f"void {Y_ITEM}@2026-02-30 录错了", "`2026-02-30` is not a date"),
        ("void SO19990101000000 录错了", "No such order number"),
        (f"void {Y_ITEM}@2026-11-25 录错了", "was not rejected on 2026-11-25"),
    ],
    ids=["no-reason", "blank-reason", "no-order", "reopen-no-reason", "bad-day", "unknown", "wrong-day"],
)
def test_a_void_or_reopen_without_what_it_needs_changes_nothing(bot, signer, fake_slack, session_factory, digest, text, expected) -> None:
    before = snapshot(session_factory)

    command(bot, signer, fake_slack, text, user=CS_LEAD)

    assert snapshot(session_factory) == before
    (reply,) = replies(fake_slack)
    assert expected in reply and "nothing changed" in reply


def test_an_order_rejected_on_two_days_is_named_by_its_day(bot, signer, fake_slack, session_factory, clock, digest) -> None:
    later = f"{HEADER}\n{Y_ITEM},2026-11-27,上海浦东分公司,大件,客户已收货,郑女士 15523938499,张敏,2026-11-28 10:00,又拒收了".encode()
    seed(session_factory, clock, later)
    clock.set(at("2026-11-30 08:30"))  # Monday: the 11-26 item is deemed, the 11-27 one posted
    bot.services.sweep()
    bot.services.post_daily_digest()
    command(bot, signer, fake_slack, f"confirm {Y_ITEM}", user=Y)  # confirms the awaiting (11-27) one
    fake_slack.clear()
    before = snapshot(session_factory)

    command(bot, signer, fake_slack, f"reopen {Y_ITEM} 负责人要求", user=CS_LEAD)  # both decided: which?

    assert snapshot(session_factory) == before
    (reply,) = replies(fake_slack)
    assert "rejected on more than one day" in reply and f"{Y_ITEM}@2026-11-26" in reply and f"{Y_ITEM}@2026-11-27" in reply

    command(bot, signer, fake_slack, f"reopen {Y_ITEM}@2026-11-27 负责人要求", user=CS_LEAD)

    assert item(session_factory, Y_ITEM, "2026-11-27").status == "awaiting"
    assert item(session_factory, Y_ITEM, "2026-11-26").status == "deemed_confirmed"


def test_void_picks_the_one_day_it_applies_to(bot, signer, fake_slack, session_factory, clock, digest) -> None:
    command(bot, signer, fake_slack, f"confirm {Y_ITEM}", user=Y)
    later = f"{HEADER}\n{Y_ITEM},2026-11-27,上海浦东分公司,大件,客户已收货,郑女士,张敏,2026-11-28 10:00,又拒收了".encode()
    seed(session_factory, clock, later)

    command(bot, signer, fake_slack, f"void {Y_ITEM} 重复导入", user=CS_AGENT)

    assert item(session_factory, Y_ITEM, "2026-11-27").status == "voided"
    assert item(session_factory, Y_ITEM, "2026-11-26").status == "confirmed"


# --- reopen ------------------------------------------------------------------------------


def test_cs_reopens_a_confirmed_item_with_a_new_deadline_and_the_owner_is_told(bot, signer, fake_slack, session_factory, clock, digest) -> None:
    clock.set(at("2026-11-27 09:00"))
    command(bot, signer, fake_slack, f"confirm {Y_ITEM}", user=Y)
    assert item(session_factory, Y_ITEM).decided_at is not None
    fake_slack.clear()
    clock.set(at("2026-11-27 16:00"))  # two working hours left today: the window runs into Monday

    command(bot, signer, fake_slack, f"reopen {Y_ITEM} 负责人称系当日已改期，请重新核实", user=CS_LEAD)

    reopened = item(session_factory, Y_ITEM)
    assert reopened.status == "awaiting"
    assert reopened.deadline == at("2026-11-30 18:00")  # Monday: four working hours from Friday 16:00 end on Monday
    assert reopened.decided_at is None  # no fix is due while it awaits an answer
    assert audit(session_factory, Y_ITEM)[-1] == ("reopen", CS_LEAD, "cs_lead", "confirmed", "awaiting", "负责人称系当日已改期，请重新核实")
    (reply,) = replies(fake_slack)
    assert f"Reopened {Y_ITEM}@2026-11-26" in reply and "11-30 18:00" in reply
    assert shown_state(fake_slack, reopened.id) == "buttons"  # the digest message shows it awaiting again
    (note,) = thread_notes(fake_slack, Y)
    assert f"<@{Y}>" in note and "reopened" in note and "11-30 18:00" in note and "请重新核实" in note

    # the deadline of the day passes it by; the new one deems it, as any awaiting item
    bot.services.sweep(now=at("2026-11-27 18:01"))
    assert item(session_factory, Y_ITEM).status == "awaiting"
    bot.services.sweep(now=at("2026-11-30 18:01"))
    assert item(session_factory, Y_ITEM).status == "deemed_confirmed"
    assert len(thread_notes(fake_slack, Y)) >= 1
    assert sum("reopened" in n for n in thread_notes(fake_slack, Y)) == 1


def test_a_deemed_item_reopened_in_the_morning_is_due_that_evening(bot, signer, fake_slack, session_factory, clock, digest) -> None:
    bot.services.sweep(now=at("2026-11-27 18:01"))
    assert item(session_factory, Y_ITEM).status == "deemed_confirmed"
    clock.set(at("2026-11-30 10:00"))  # Monday

    command(bot, signer, fake_slack, f"reopen {Y_ITEM} 负责人请求", user=CS_AGENT)

    reopened = item(session_factory, Y_ITEM)
    assert reopened.status == "awaiting" and reopened.deadline == at("2026-11-30 18:00")
    # the owner can answer it again, and dispute it within the new window
    command(bot, signer, fake_slack, f"dispute {Y_ITEM} 客户当天已改期", user=Y)
    assert item(session_factory, Y_ITEM).status == "disputed"


def test_a_reopen_starts_a_new_quiet_period_not_the_whole_ladder_at_once(bot, signer, fake_slack, session_factory, clock, digest) -> None:
    # Before: the thread's quiet period ran from Friday's answers, so the
    # sweep a minute after a Monday reopen sent the nudge (with Friday's
    # deadline) and both escalation DMs at once.
    clock.set(at("2026-11-27 09:00"))
    command(bot, signer, fake_slack, "confirm all", user=Y)
    for moment in ("2026-11-27 11:01", "2026-11-27 13:01", "2026-11-27 18:01", "2026-11-30 09:00"):
        bot.services.sweep(now=at(moment))  # Z, silent, climbs his ladder; Y answered everything
    clock.set(at("2026-11-30 10:00"))  # Monday
    command(bot, signer, fake_slack, f"reopen {Y_ITEM} 负责人请求重开", user=CS_LEAD)
    fake_slack.clear()

    bot.services.sweep(now=at("2026-11-30 10:01"))
    assert [c for c in fake_slack.calls_to("chat.postMessage") if c.error is None] == []

    bot.services.sweep(now=at("2026-11-30 12:01"))  # two quiet working hours after the reopen: the nudge, with the new deadline
    posts = [c.params for c in fake_slack.calls_to("chat.postMessage") if c.error is None]
    assert len(posts) == 1 and posts[0].get("thread_ts") == digest_ts(fake_slack, Y)
    assert "11-30 18:00" in posts[0]["text"] and "11-27 18:00" not in posts[0]["text"]


def test_a_void_at_night_tells_the_owner_at_the_opening_once(bot, signer, fake_slack, session_factory, clock, digest) -> None:
    clock.set(at("2026-11-28 22:30"))  # Saturday night

    command(bot, signer, fake_slack, f"void {Y_ITEM} 回访记录有误", user=CS_LEAD)

    assert item(session_factory, Y_ITEM).status == "voided"  # done at once
    (reply,) = replies(fake_slack)
    assert "when working time begins" in reply
    assert thread_notes(fake_slack, Y) == []  # nobody is mentioned at night
    bot.services.sweep(now=at("2026-11-29 12:00"))  # Sunday
    assert thread_notes(fake_slack, Y) == []
    bot.services.sweep(now=at("2026-11-30 09:00"))  # Monday's opening
    bot.services.sweep(now=at("2026-11-30 09:01"))
    assert sum("回访记录有误" in n for n in thread_notes(fake_slack, Y)) == 1


@pytest.mark.parametrize("user", [Y, DELEGATE_Y, OPS_HEAD, NOBODY], ids=["owner", "delegate", "manager", "nobody"])
def test_only_cs_may_reopen(bot, signer, fake_slack, session_factory, digest, user) -> None:
    command(bot, signer, fake_slack, f"confirm {Y_ITEM}", user=Y)
    fake_slack.clear()
    before = snapshot(session_factory)

    command(bot, signer, fake_slack, f"reopen {Y_ITEM} 请重开", user=user)

    assert snapshot(session_factory) == before
    (reply,) = replies(fake_slack)
    assert "Only customer service" in reply and "nothing changed" in reply


@pytest.mark.parametrize("prior", ["", "dispute", "fix"], ids=["awaiting", "disputed", "fixed"])
def test_reopening_an_item_that_is_not_confirmed_is_refused(bot, signer, fake_slack, session_factory, digest, prior) -> None:
    if prior == "dispute":
        command(bot, signer, fake_slack, f"dispute {Y_ITEM} 客户记错了", user=Y)
    elif prior == "fix":
        command(bot, signer, fake_slack, f"confirm {Y_ITEM}", user=Y)
        command(bot, signer, fake_slack, f"fix {Y_ITEM} 已重新配送", user=Y)
    fake_slack.clear()
    before = snapshot(session_factory)

    command(bot, signer, fake_slack, f"reopen {Y_ITEM} 请重开", user=CS_LEAD)

    assert snapshot(session_factory) == before
    (reply,) = replies(fake_slack)
    assert "only a confirmed or deemed-confirmed item can be reopened; nothing changed" in reply


def test_the_owner_past_the_deadline_is_told_that_cs_can_reopen(bot, signer, fake_slack, session_factory, clock, digest) -> None:
    clock.set(at("2026-11-27 18:01"))

    command(bot, signer, fake_slack, f"dispute {Y_ITEM} 客户记错了", user=Y)

    (reply,) = replies(fake_slack)
    assert "ask customer service to reopen it (`/reject reopen`)" in reply


# --- find ----------------------------------------------------------------------------------


def many_days_csv() -> bytes:
    """25 of Y's items on 25 days, whose note has a literal "100%_", and 5
    whose note would match "100%_" only if it were a LIKE pattern."""
    rows = [
        f"SO2026110{day:02d}0001,2026-11-{day:02d},南京分公司,大件,客户已收货,张先生,王丽,2026-11-{day:02d} 16:00,满意度100%_客户电话13812341234"
        for day in range(1, 26)
    ]
    rows += [
        f"SO2026110{day:02d}0002,2026-11-{day:02d},南京分公司,大件,客户已收货,张先生,王丽,2026-11-{day:02d} 16:00,满意度100分了"
        for day in range(1, 6)
    ]
    return "\n".join([HEADER, *rows]).encode()


@pytest.fixture
def many(bot, session_factory, clock, fake_slack) -> None:
    seed(session_factory, clock)
    seed(session_factory, clock, many_days_csv())
    bot.services.post_daily_digest()
    fake_slack.clear()


def listed(reply: str) -> list[str]:
    return [line.split("*")[1] for line in reply.splitlines() if line.startswith("• ")]


def test_find_lists_the_20_newest_matches_of_literal_wildcards_with_notes_masked(bot, signer, fake_slack, session_factory, many) -> None:
    command(bot, signer, fake_slack, "find 100%_", user=CS_AGENT)

    (reply,) = replies(fake_slack)
    assert "*25* item(s) match" in reply and "the 20 newest" in reply
    assert listed(reply) == [f"SO2026110{day:02d}0001" for day in range(25, 5, -1)]
    assert "138****1234" in reply and "13812341234" not in reply
    assert "awaiting answer" in reply and "owner 大件配送" in reply
    assert "100分" not in reply


def test_find_matches_branches_and_order_numbers_in_any_case(bot, signer, fake_slack, session_factory, digest) -> None:
    command(bot, signer, fake_slack, "find 杭州", user=CS_LEAD)
    command(bot, signer, fake_slack, f"find {Z_ITEM.lower()}", user=CS_LEAD)

    by_branch, by_order = replies(fake_slack)
    assert Z_ITEM in listed(by_branch) and all(line for line in listed(by_branch))
    assert listed(by_order) == [Z_ITEM]


def test_find_shows_the_owner_side_only_its_owners_items(bot, signer, fake_slack, session_factory, digest) -> None:
    command(bot, signer, fake_slack, "find SO20261126", user=Z)
    command(bot, signer, fake_slack, "find SO20261126", user=DELEGATE_Y)
    command(bot, signer, fake_slack, "find SO20261126", user=OPS_HEAD)  # escalation of both owners
    command(bot, signer, fake_slack, "find SO20261126", user=CS_AGENT)

    z, delegate, manager, cs = replies(fake_slack)
    assert "*12* item(s) match" in z and Z_ITEM in listed(z) and len(listed(z)) == 12 and "大件配送" not in z
    assert "*26* item(s) match" in delegate and len(listed(delegate)) == 20 and "小件配送" not in delegate
    assert "*38* item(s) match" in manager and "小件配送" in manager and "大件配送" in manager
    assert "*40* item(s) match" in cs  # with the two nobody owns


def test_find_by_someone_without_a_role_shows_nothing(bot, signer, fake_slack, session_factory, digest) -> None:
    command(bot, signer, fake_slack, f"find {Y_ITEM}", user=NOBODY)

    (reply,) = replies(fake_slack)
    assert "no items you may search" in reply and Y_ITEM not in reply


@pytest.mark.parametrize("text", ["find 不存在的网点", "find %", "find _"], ids=["nothing", "percent", "underscore"])
def test_find_with_no_match_says_so(bot, signer, fake_slack, session_factory, digest, text) -> None:
    command(bot, signer, fake_slack, text, user=CS_LEAD)

    (reply,) = replies(fake_slack)
    assert reply.startswith("Nothing you may see matches")


def test_find_without_text_explains_its_use(bot, signer, fake_slack, session_factory, digest) -> None:
    command(bot, signer, fake_slack, "find   ", user=CS_LEAD)

    (reply,) = replies(fake_slack)
    assert "`/reject find &lt;text&gt;`" in reply


def test_help_lists_the_corrections(bot, signer, fake_slack, session_factory) -> None:
    command(bot, signer, fake_slack, "help", user=NOBODY)

    (reply,) = replies(fake_slack)
    assert "/reject confirm" in reply and "/reject void" in reply and "/reject reopen" in reply and "/reject find" in reply


def test_a_reopen_on_a_day_without_calendar_data_is_refused(bot, signer, fake_slack, session_factory, clock, digest) -> None:
    command(bot, signer, fake_slack, f"confirm {Y_ITEM}", user=Y)
    fake_slack.clear()
    clock.set(at("2027-01-04 10:00"))  # the installed calendar has no 2027, and the routing file names none
    before = snapshot(session_factory)

    command(bot, signer, fake_slack, f"reopen {Y_ITEM} 负责人请求", user=CS_LEAD)

    assert snapshot(session_factory) == before
    (reply,) = replies(fake_slack)
    assert "no data for today" in reply and "nothing changed" in reply
