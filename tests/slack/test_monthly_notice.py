"""The monthly notice against the fake Slack, on SQLite and PostgreSQL:
posted once (also by two processes at once, and after a 5xx Slack answered
once the post was done), a rerun says where it is, a reissue posts a
correction only when the figures changed, DMs to managers and agents, the
ticker's job after the first working day's digest, and ``/reject month``
per role."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import update
from sqlmodel import func, select
from support import run_together

from bot.app import create_app
from bot.clock import FixedClock
from bot.core.monthly import Month
from bot.gateway import ReplyTo, make_client
from bot.services.monthly import MonthlyState
from storage import queries as q
from storage.db import make_session_factory, transaction
from storage.models import AuditEntry, DigestMessage, Item, MonthlyNotice, Penalty, SideEffect

SHANGHAI = ZoneInfo("Asia/Shanghai")
CHANNEL = "C0LOGISTICS"
NOV = Month(2026, 11)
LINK = "https://rejectbot-test.slack.com/archives/C0LOGISTICS/p"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


@pytest.fixture
def clock():
    return FixedClock(at("2026-12-01 09:10"))  # Tuesday, the first working day of December


def _row(item_id: int, when: str, action: str, frm: str, to: str, actor: str = "U0OWNERY", role: str = "owner") -> AuditEntry:
    return AuditEntry(item_id=item_id, at=at(when), actor=actor, role=role, surface="button", action=action, from_status=frm, to_status=to)


def seed(session_factory) -> dict[str, int]:
    """27 November: 大件配送 — Y1 confirmed (王丽), Y2 disputed and upheld (陈静,
    ¥50), Y3 awaiting; 小件配送 — Z1 deemed (王丽)."""
    ids: dict[str, int] = {}
    with transaction(session_factory) as session:
        messages = {}
        for owner in ("大件配送", "小件配送"):
            message = DigestMessage(digest_day=date(2026, 11, 27), owner=owner, channel=CHANNEL, ts=f"1764203400.00000{len(messages)}",
                                    deadline=at("2026-11-27 18:00"), created_at=at("2026-11-27 08:30"), posted_at=at("2026-11-27 08:30"))
            session.add(message)
            session.flush()
            messages[owner] = message.id
        for order, owner, agent, status in (("Y1", "大件配送", "王丽", "confirmed"), ("Y2", "大件配送", "陈静", "withdrawn"),
                                            ("Y3", "大件配送", "王丽", "awaiting"), ("Z1", "小件配送", "王丽", "deemed_confirmed")):
            item = Item(order_no=order, rejected_on=date(2026, 11, 26), branch="南京分公司", category="large" if owner == "大件配送" else "small",
                        status=status, owner=owner, callback_agent=agent, digest_message_id=messages[owner],
                        imported_at=at("2026-11-26 20:00"), updated_at=at("2026-11-27 12:00"))
            session.add(item)
            session.flush()
            ids[order] = item.id
            session.add(_row(item.id, "2026-11-27 08:30", "post", "new", "awaiting", actor="bot", role="system"))
        session.add(_row(ids["Y1"], "2026-11-27 10:00", "confirm", "awaiting", "confirmed"))
        session.add(_row(ids["Y2"], "2026-11-27 11:00", "dispute", "awaiting", "disputed"))
        session.add(_row(ids["Y2"], "2026-11-27 15:00", "uphold", "disputed", "withdrawn", actor="U0CSLEAD", role="cs_lead"))
        session.add(_row(ids["Z1"], "2026-11-27 18:00", "deem", "awaiting", "deemed_confirmed", actor="bot", role="system"))
        session.add(Penalty(item_id=ids["Y2"], kind="cs_accuracy", person="陈静", user="U0CS0002", amount=50, at=at("2026-11-27 15:00")))
    return ids


def notices_in_channel(fake_slack, key: str = "monthly:2026-11") -> list[dict]:
    return [m for m in fake_slack.channel_history(CHANNEL) if ((m.get("metadata") or {}).get("event_payload") or {}).get("key") == key]


def dms_to(fake_slack, user: str) -> list[dict]:
    return fake_slack.channel_history(f"D{user}")


def all_text(message: dict) -> str:
    parts = [message.get("text") or ""]
    for block in message.get("blocks") or []:
        if block.get("type") in ("section", "header"):
            parts.append(block["text"]["text"])
        elif block.get("type") == "context":
            parts += [e.get("text", "") for e in block["elements"]]
    return "\n".join(parts)


def test_the_notice_is_posted_once_with_its_dms_and_a_rerun_says_where(bot, session_factory, fake_slack) -> None:
    seed(session_factory)
    outcome = bot.services.post_monthly(month=NOV)
    assert outcome.state is MonthlyState.POSTED and outcome.problem is None
    (notice,) = notices_in_channel(fake_slack)
    text = all_text(notice)
    assert "monthly notice for 2026-11" in text and "Figures as of 2026-12-01 09:10" in text
    # 大件配送: Y1 confirmed, Y2 upheld, Y3 open; 小件配送: Z1 deemed
    assert "posted 3 · confirmed 1 · deemed confirmed 0 · disputed 1 (upheld 1, overruled 0) · open 1" in text
    assert "posted 1 · confirmed 0 · deemed confirmed 1 · disputed 0 (upheld 0, overruled 0) · open 0" in text
    assert "• 陈静: posted 1 · disputed 1 · upheld 1 · withdrawn by CS 0 · penalty ¥50" in text
    assert outcome.link and outcome.link.startswith(LINK)
    # managers of both owners, and the agent with a penalty; 王丽 has none
    assert "大件配送" in all_text(dms_to(fake_slack, "U0OPSHEAD")[0]) and "小件配送" in all_text(dms_to(fake_slack, "U0OPSHEAD")[0])
    assert len(dms_to(fake_slack, "U0LOGIBOSS")) == 1
    (agent_dm,) = dms_to(fake_slack, "U0CS0002")
    assert "penalty *¥50*" in agent_dm["text"]
    assert dms_to(fake_slack, "U0CS0001") == []
    with transaction(session_factory) as session:
        stored = session.exec(select(MonthlyNotice)).one()
        assert (stored.month, stored.version, stored.ts, stored.as_of) == ("2026-11", 0, notice["ts"], at("2026-12-01 09:10"))
        assert q.find_effect(session=session, key="monthly:2026-11").done_at is not None

    posts = len(fake_slack.calls_to("chat.postMessage"))
    again = bot.services.post_monthly(month=NOV)
    assert again.state is MonthlyState.ALREADY_POSTED and again.link == outcome.link
    assert len(fake_slack.calls_to("chat.postMessage")) == posts


def test_two_processes_at_once_post_one_notice(bot, replica_engine, session_factory, clock, fake_slack, settings, routing) -> None:
    seed(session_factory)
    replica = create_app(
        settings, client=make_client("xoxb-test", fake_slack.api_url), session_factory=make_session_factory(replica_engine),
        clock=FixedClock(clock.now()), routing=routing, process_before_response=True,
    )
    outcomes = []
    errors = run_together(lambda: outcomes.append(bot.services.post_monthly(month=NOV)),
                          lambda: outcomes.append(replica.services.post_monthly(month=NOV)))
    assert errors == []
    assert sorted(o.state for o in outcomes) in (
        sorted([MonthlyState.POSTED, MonthlyState.IN_PROGRESS]), sorted([MonthlyState.POSTED, MonthlyState.ALREADY_POSTED]),
    )
    bot.services.post_monthly(month=NOV)
    replica.services.post_monthly(month=NOV)
    assert len(notices_in_channel(fake_slack)) == 1
    assert len(dms_to(fake_slack, "U0OPSHEAD")) == 1 and len(dms_to(fake_slack, "U0CS0002")) == 1
    with transaction(session_factory) as session:
        assert session.exec(select(func.count()).select_from(MonthlyNotice)).one() == 1


def test_slack_failing_after_posting_the_notice_leaves_one_notice(bot, session_factory, fake_slack) -> None:
    seed(session_factory)
    fake_slack.fail_next("chat.postMessage", "internal_error", status=500, applied=True)  # posted, then 500
    outcome = bot.services.post_monthly(month=NOV)
    assert outcome.state is MonthlyState.POSTED
    assert len(notices_in_channel(fake_slack)) == 1


def test_a_notice_slack_refuses_is_retried_by_the_next_run(bot, session_factory, fake_slack, clock) -> None:
    seed(session_factory)
    fake_slack.fail_next("chat.postMessage", "not_in_channel")
    first = bot.services.post_monthly(month=NOV)
    assert first.state is MonthlyState.UNFINISHED and "not_in_channel" in first.problem
    assert notices_in_channel(fake_slack) == []
    clock.set(at("2026-12-01 09:11"))
    second = bot.services.post_monthly(month=NOV)
    assert second.state is MonthlyState.POSTED
    (notice,) = notices_in_channel(fake_slack)
    assert "Figures as of 2026-12-01 09:10" in all_text(notice)  # the first claim's moment, kept


def test_a_dm_that_fails_is_sent_by_the_next_run_and_nothing_else_again(bot, session_factory, fake_slack, clock) -> None:
    seed(session_factory)
    fake_slack.fail_next("conversations.open", "user_not_found")  # the first DM (a manager's)
    first = bot.services.post_monthly(month=NOV)
    assert first.state is MonthlyState.UNFINISHED and "user_not_found" in first.problem
    assert len(notices_in_channel(fake_slack)) == 1
    clock.set(at("2026-12-01 09:11"))
    assert bot.services.post_monthly_if_due().state is MonthlyState.POSTED  # the ticker resumes it
    assert len(notices_in_channel(fake_slack)) == 1
    assert len(dms_to(fake_slack, "U0LOGIBOSS")) == 1 and len(dms_to(fake_slack, "U0OPSHEAD")) == 1 and len(dms_to(fake_slack, "U0CS0002")) == 1


def test_a_reissue_after_a_reopen_posts_a_correction_saying_what_changed(bot, session_factory, fake_slack, clock) -> None:
    ids = seed(session_factory)
    first = bot.services.post_monthly(month=NOV)
    same = bot.services.post_monthly(month=NOV, reissue=True)
    assert same.state is MonthlyState.UNCHANGED and same.link == first.link
    assert len(fake_slack.channel_history(CHANNEL)) == 1

    clock.set(at("2026-12-02 10:00"))
    with transaction(session_factory) as session:  # CS reopens Y1 (what /reject reopen writes)
        session.add(_row(ids["Y1"], "2026-12-02 09:30", "reopen", "confirmed", "awaiting", actor="U0CSLEAD", role="cs_lead"))
        session.get(Item, ids["Y1"]).status = "awaiting"
    dms_before = len(dms_to(fake_slack, "U0OPSHEAD"))
    outcome = bot.services.post_monthly(month=NOV, reissue=True)
    assert outcome.state is MonthlyState.POSTED and outcome.version == 1
    (correction,) = notices_in_channel(fake_slack, "monthly:2026-11:r1")
    text = all_text(correction)
    assert "(correction, version 1)" in text
    assert f"This corrects the monthly notice of 2026-11 ({first.link})" in text
    assert "• 大件配送, confirmed: 1 → 0" in text and "• 大件配送, open: 1 → 2" in text
    assert "Figures as of 2026-12-02 10:00" in text
    assert len(dms_to(fake_slack, "U0OPSHEAD")) == dms_before + 1  # 大件配送 changed: its managers hear of it
    assert len(dms_to(fake_slack, "U0CS0002")) == 1  # 陈静's part did not change
    with transaction(session_factory) as session:
        rows = session.exec(select(MonthlyNotice).order_by(MonthlyNotice.version)).all()
        assert [(r.version, r.correction_of) for r in rows] == [(0, None), (1, rows[0].id)]

    again = bot.services.post_monthly(month=NOV, reissue=True)
    assert again.state is MonthlyState.UNCHANGED and again.version == 1
    rerun = bot.services.post_monthly(month=NOV)
    assert rerun.state is MonthlyState.ALREADY_POSTED and rerun.link == outcome.link
    assert len(fake_slack.channel_history(CHANNEL)) == 2


def test_the_ticker_posts_the_notice_after_the_first_working_days_digest(bot, session_factory, fake_slack, clock) -> None:
    seed(session_factory)
    assert bot.services.post_monthly_if_due() is None  # today's digest is not done yet
    with transaction(session_factory) as session:
        q.claim_effect(session=session, key="digest:2026-12-01", now=clock.now(), lease=timedelta(minutes=1))
        q.finish_effect(session=session, key="digest:2026-12-01", now=clock.now())
    assert "monthly" in dict(bot.services.jobs())
    assert [name for name, _ in bot.services.jobs()].index("monthly") == [name for name, _ in bot.services.jobs()].index("digest") + 1
    assert bot.services.post_monthly_if_due().state is MonthlyState.POSTED
    assert bot.services.post_monthly_if_due() is None
    clock.set(at("2026-12-02 08:40"))  # not the first working day: nothing
    assert bot.services.post_monthly_if_due() is None
    assert len(notices_in_channel(fake_slack)) == 1


def ephemeral_to(fake_slack, user: str) -> list[str]:
    return [all_text(c.params) for c in fake_slack.calls_to("chat.postEphemeral") if c.params.get("user") == user]


@pytest.mark.parametrize(("user", "sees", "hidden"), [
    ("U0OWNERY", ["大件配送", "posted 3"], ["小件配送", "Customer service"]),  # the owner: their own
    ("U0DELEGY", ["大件配送"], ["小件配送"]),  # a delegate: their owner's
    ("U0OPSHEAD", ["大件配送", "小件配送"], ["Customer service"]),  # a manager: both owners below them
    ("U0CSLEAD", ["大件配送", "小件配送", "Customer service's own accuracy", "Totals"], []),  # CS: everything
    ("U0CS0001", ["Totals"], []),
])
def test_reject_month_shows_each_role_its_part_privately(bot, session_factory, fake_slack, clock, user, sees, hidden) -> None:
    seed(session_factory)
    clock.set(at("2026-11-30 12:00"))  # November so far
    assert bot.services.month_to_date(actor=user, reply_to=ReplyTo(user=user, channel=CHANNEL)) is True
    text = "\n".join(ephemeral_to(fake_slack, user))
    assert "2026-11 so far" in text
    for word in sees:
        assert word in text
    for word in hidden:
        assert word not in text
    assert fake_slack.channel_history(CHANNEL) == []  # private only


def test_reject_month_politely_refuses_anyone_else(bot, session_factory, fake_slack, clock) -> None:
    seed(session_factory)
    assert bot.services.month_to_date(actor="U0STRANGER", reply_to=ReplyTo(user="U0STRANGER", channel=CHANNEL)) is False
    (text,) = ephemeral_to(fake_slack, "U0STRANGER")
    assert "Sorry" in text and "大件配送" not in text


def test_the_slash_command_month_replies_privately(bot, session_factory, fake_slack, clock, signer) -> None:
    from bot.fakeslack import slash_command

    seed(session_factory)
    clock.set(at("2026-11-30 12:00"))
    for text in ("month", "本月"):
        request = slash_command(signer, text=text, user_id="U0OWNERY", channel_id=CHANNEL, response_url=fake_slack.response_url())
        bot.app.dispatch(request.to_bolt())
    replies = [c.params for c in fake_slack.calls_to("response_url")]
    assert len(replies) == 2
    for reply in replies:
        assert reply.get("response_type") == "ephemeral"
        assert "2026-11 so far" in all_text(reply) and "大件配送" in all_text(reply) and "小件配送" not in all_text(reply)
    assert fake_slack.channel_history(CHANNEL) == []


def test_the_ticker_posts_no_notice_of_a_month_without_items(bot, session_factory, fake_slack, clock) -> None:
    with transaction(session_factory) as session:  # a fresh install: the first of the month comes, October had nothing
        q.claim_effect(session=session, key="digest:2026-12-01", now=clock.now(), lease=timedelta(minutes=1))
        q.finish_effect(session=session, key="digest:2026-12-01", now=clock.now())
    assert bot.services.post_monthly_if_due() is None
    assert fake_slack.channel_history(CHANNEL) == []


def test_a_run_killed_after_slack_posted_the_notice_is_resumed_without_a_second_one(bot, session_factory, fake_slack, clock) -> None:
    seed(session_factory)
    bot.services.post_monthly(month=NOV)
    # As if the run had died right after Slack posted it: no ts stored, the claim unfinished and its lease over.
    with transaction(session_factory) as session:
        session.exec(update(MonthlyNotice).values(ts=None, posted_at=None))
        session.exec(update(SideEffect).where(SideEffect.key == "monthly:2026-11").values(done_at=None, lease_until=clock.now()))
    clock.set(at("2026-12-01 09:15"))
    outcome = bot.services.post_monthly_if_due()
    assert outcome.state is MonthlyState.POSTED
    (notice,) = notices_in_channel(fake_slack)
    with transaction(session_factory) as session:
        assert session.exec(select(MonthlyNotice)).one().ts == notice["ts"]  # found by its key, not posted again
    assert len(dms_to(fake_slack, "U0OPSHEAD")) == 1


def test_a_month_too_big_for_one_message_continues_in_its_thread(bot, session_factory, fake_slack) -> None:
    seed(session_factory)
    with transaction(session_factory) as session:  # 大件配送 covers every branch: 150 of them, one item each
        message = session.exec(select(DigestMessage).where(DigestMessage.owner == "大件配送")).one()
        for n in range(150):
            item = Item(order_no=f"B{n:03d}", rejected_on=date(2026, 11, 26), branch=f"第{n:03d}分公司（很长的分公司名称）", category="large",
                        status="awaiting", owner="大件配送", callback_agent="王丽", digest_message_id=message.id,
                        imported_at=at("2026-11-26 20:00"), updated_at=at("2026-11-27 12:00"))
            session.add(item)
            session.flush()
            session.add(_row(item.id, "2026-11-27 08:30", "post", "new", "awaiting", actor="bot", role="system"))
    assert bot.services.post_monthly(month=NOV).state is MonthlyState.POSTED  # the fake refuses what Slack would
    (notice,) = notices_in_channel(fake_slack)
    replies = [r for r in fake_slack.thread(CHANNEL, notice["ts"]) if "files" not in r]  # the chart and the workbook come too
    # about 150 lines of 120 characters: more than one message's text (Slack refuses ~11,000)
    assert [r["metadata"]["event_payload"]["key"] for r in replies] == ["monthly:2026-11:c2", "monthly:2026-11:c3"]
    assert "第000分公司" in all_text(notice) and any("第149分公司" in all_text(r) for r in replies)
    assert "陈静" in all_text(replies[-1])  # CS's part comes last
    assert "continued, 2" in all_text(replies[0])


def test_the_dms_wait_for_working_time_the_notice_does_not(bot, session_factory, fake_slack, clock) -> None:
    seed(session_factory)
    clock.set(at("2026-12-01 08:40"))  # after the digest, before the opening
    outcome = bot.services.post_monthly(month=NOV)
    # three DMs and the CS lead's full workbook wait; the channel's files do not
    assert outcome.state is MonthlyState.POSTED and outcome.waiting == 4 and outcome.problem is None
    assert len(notices_in_channel(fake_slack)) == 1
    assert dms_to(fake_slack, "U0OPSHEAD") == [] and dms_to(fake_slack, "U0CS0002") == [] and dms_to(fake_slack, "U0CSLEAD") == []
    assert sorted(f["name"] for f in fake_slack.files()) == ["rejectbot-2026-11-chart.png", "rejectbot-2026-11.xlsx"]
    clock.set(at("2026-12-01 08:50"))
    assert bot.services.post_monthly_if_due() is None  # still before the opening: nothing, not even a try
    clock.set(at("2026-12-01 09:00"))
    assert bot.services.post_monthly_if_due().state is MonthlyState.POSTED
    assert len(dms_to(fake_slack, "U0OPSHEAD")) == 1 and len(dms_to(fake_slack, "U0LOGIBOSS")) == 1 and len(dms_to(fake_slack, "U0CS0002")) == 1
    assert [m["files"][0]["name"] for m in dms_to(fake_slack, "U0CSLEAD")] == ["rejectbot-2026-11-full.xlsx"]
    assert len(notices_in_channel(fake_slack)) == 1
    with transaction(session_factory) as session:
        assert q.find_effect(session=session, key="monthly:2026-11").done_at is not None


def test_reject_month_shows_a_stand_in_the_owner_they_stand_in_for(bot, session_factory, fake_slack, clock) -> None:
    from storage.models import StandIn

    seed(session_factory)
    clock.set(at("2026-11-30 12:00"))
    with transaction(session_factory) as session:
        session.add(StandIn(owner_user="U0OWNERZ", user="U0STANDIN", starts_at=at("2026-11-30 09:00"), until=date(2026, 12, 4),
                            ends_at=at("2026-12-05 00:00"), set_by="U0OWNERZ"))
    assert bot.services.month_to_date(actor="U0STANDIN", reply_to=ReplyTo(user="U0STANDIN", channel=CHANNEL)) is True
    (text,) = ephemeral_to(fake_slack, "U0STANDIN")
    assert "小件配送" in text and "大件配送" not in text


def test_reject_month_for_an_owner_with_nothing_yet_says_so(bot, fake_slack, clock) -> None:
    assert bot.services.month_to_date(actor="U0OWNERY", reply_to=ReplyTo(user="U0OWNERY", channel=CHANNEL)) is True
    (text,) = ephemeral_to(fake_slack, "U0OWNERY")
    assert "no owners' figures for you" in text


# --- the attachments ------------------------------------------------------------------


def _workbook_text(content: bytes) -> str:
    import io

    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(content))
    return "\n".join(str(cell) for sheet in book.worksheets for row in sheet.iter_rows(values_only=True) for cell in row if cell is not None)


def test_the_chart_and_the_masked_workbook_go_in_the_notices_thread_and_the_full_one_to_the_cs_lead(bot, session_factory, fake_slack) -> None:
    ids = seed(session_factory)
    with transaction(session_factory) as session:  # a customer the channel must not see whole
        session.get(Item, ids["Y1"]).customer = "王伟 13812345678"
    bot.services.post_monthly(month=NOV)
    (notice,) = notices_in_channel(fake_slack)
    files = {f["name"]: f for f in fake_slack.files()}
    assert set(files) == {"rejectbot-2026-11-chart.png", "rejectbot-2026-11.xlsx", "rejectbot-2026-11-full.xlsx"}
    for name in ("rejectbot-2026-11-chart.png", "rejectbot-2026-11.xlsx"):
        assert [(s["channel"], s["thread_ts"]) for s in files[name]["shares"]] == [(CHANNEL, notice["ts"])]
    assert files["rejectbot-2026-11-chart.png"]["content"][:8] == b"\x89PNG\r\n\x1a\n"
    (lead_share,) = files["rejectbot-2026-11-full.xlsx"]["shares"]
    assert fake_slack.dm_user(lead_share["channel"]) == "U0CSLEAD"
    masked, full = _workbook_text(files["rejectbot-2026-11.xlsx"]["content"]), _workbook_text(files["rejectbot-2026-11-full.xlsx"]["content"])
    assert "Y1" in masked and "13812345678" not in masked and "王伟" not in masked and "138****5678" in masked
    assert "王伟 13812345678" in full

    uploads = len(fake_slack.calls_to("files.getUploadURLExternal"))
    assert bot.services.post_monthly(month=NOV).state is MonthlyState.ALREADY_POSTED
    assert len(fake_slack.calls_to("files.getUploadURLExternal")) == uploads  # nothing uploaded twice


def test_a_file_slack_refuses_is_shared_by_the_next_run_and_the_notice_is_not_posted_again(bot, session_factory, fake_slack, clock) -> None:
    seed(session_factory)
    fake_slack.fail_next("files.completeUploadExternal", error="not_in_channel", times=3)  # each file refused once
    outcome = bot.services.post_monthly(month=NOV)
    assert outcome.state is MonthlyState.UNFINISHED and outcome.problem
    assert len(notices_in_channel(fake_slack)) == 1 and not any(f["shares"] for f in fake_slack.files())
    clock.advance(timedelta(minutes=11))  # past the run's lease
    outcome = bot.services.post_monthly(month=NOV)
    assert outcome.state is MonthlyState.POSTED, outcome.problem
    assert len(notices_in_channel(fake_slack)) == 1
    shared = sorted(f["name"] for f in fake_slack.files() if f["shares"])
    assert shared == ["rejectbot-2026-11-chart.png", "rejectbot-2026-11-full.xlsx", "rejectbot-2026-11.xlsx"]
    assert all(len(f["shares"]) <= 1 for f in fake_slack.files())


def test_the_chart_shows_six_months_per_owner(bot, session_factory, fake_slack) -> None:
    from bot.core.monthly import Month as M
    from bot.services.monthly import _series, figures_for

    seed(session_factory)
    figures, _ = figures_for(bot.services.deps, NOV, at("2026-12-01 09:10"))
    series = _series(bot.services.deps, NOV, at("2026-12-01 09:10"), figures)
    # only November has items: the chart starts there, not with five empty months before the bot ran
    assert series == {"大件配送": [(M(2026, 11), 1)], "小件配送": [(M(2026, 11), 1)]}

    # September has an item of 大件配送 only; October none at all: October is on the chart (0 for
    # both), and 小件配送, without items in September, has a 0 there rather than a gap
    with transaction(session_factory) as session:
        message = DigestMessage(digest_day=date(2026, 9, 14), owner="大件配送", channel=CHANNEL, ts="1757800000.000001",
                                deadline=at("2026-09-14 18:00"), created_at=at("2026-09-14 08:30"), posted_at=at("2026-09-14 08:30"))
        session.add(message)
        session.flush()
        item = Item(order_no="S1", rejected_on=date(2026, 9, 13), branch="南京分公司", category="large", status="deemed_confirmed",
                    owner="大件配送", callback_agent="王丽", digest_message_id=message.id,
                    imported_at=at("2026-09-13 20:00"), updated_at=at("2026-09-14 18:00"))
        session.add(item)
        session.flush()
        session.add(_row(item.id, "2026-09-14 08:30", "post", "new", "awaiting", actor="bot", role="system"))
        session.add(_row(item.id, "2026-09-14 18:00", "deem", "awaiting", "deemed_confirmed", actor="bot", role="system"))
    series = _series(bot.services.deps, NOV, at("2026-12-01 09:10"), figures)
    assert series == {
        "大件配送": [(M(2026, 9), 1), (M(2026, 10), 0), (M(2026, 11), 1)],
        "小件配送": [(M(2026, 9), 0), (M(2026, 10), 0), (M(2026, 11), 1)],
    }


def test_a_workbook_that_changed_before_the_retry_is_shared_as_it_is_now(bot, session_factory, fake_slack, clock) -> None:
    # The files' shares fail; before the next run the retention job masks a customer, so the
    # workbook renders differently: it is shared once, as it is now, and the run finishes.
    ids = seed(session_factory)
    fake_slack.fail_next("files.completeUploadExternal", error="not_in_channel", times=3)
    assert bot.services.post_monthly(month=NOV).state is MonthlyState.UNFINISHED
    with transaction(session_factory) as session:
        session.get(Item, ids["Y2"]).customer = "张*"
    clock.advance(timedelta(minutes=11))
    outcome = bot.services.post_monthly(month=NOV)
    assert outcome.state is MonthlyState.POSTED, outcome.problem
    shared = [f for f in fake_slack.files() if f["shares"]]
    assert sorted(f["name"] for f in shared) == ["rejectbot-2026-11-chart.png", "rejectbot-2026-11-full.xlsx", "rejectbot-2026-11.xlsx"]
    assert all(len(f["shares"]) == 1 for f in shared) and len(notices_in_channel(fake_slack)) == 1
