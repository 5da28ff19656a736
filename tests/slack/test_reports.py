"""Legitimate-rejection reports end to end: ``/reject report`` and its modal,
then CS's import, the held record's Keep or Drop on the callback agent's DM,
the next digest, and the monthly figure — signed Slack requests through the
real app into the fake Slack, on SQLite and PostgreSQL.

Assertions look at the database (reports, item status, audit rows, the
ledger) and at what the fake Slack saw (replies, DMs, the digest)."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from bot.core.importing import parse_export
from bot.core.lifecycle import Status
from bot.core.monthly import Month
from bot.core.monthly_text import owner_lines
from bot.fakeslack import block_actions, slash_command, view_submission
from bot.i18n import Catalog
from bot.services.monthly import figures_for
from storage.db import transaction
from storage.imports import insert_records
from storage.models import AuditEntry, Item, RejectionReport, SideEffect

SHANGHAI = ZoneInfo("Asia/Shanghai")
SAMPLE = Path(__file__).resolve().parents[1] / "fixtures" / "samples" / "callbacks-2026-11-26.csv"
CHANNEL = "C0LOGISTICS"
Y, Z, DELEGATE_Y, DRIVER = "U0OWNERY", "U0OWNERZ", "U0DELEGY", "U0DRIVER1"
CHEN_JING, WANG_LI, CS_LEAD = "U0CS0002", "U0CS0001", "U0CSLEAD"
CHEN = "SO20261126000001"  # Z's (small, 杭州); callback agent 陈静
NO_AGENT = "SO20261126000000"  # Y's (large); callback agent 张敏: not in cs.agents -> the CS lead
WANG = "SO20261126000002"  # Y's; agent 王丽
EN = Catalog("en")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


def seed(session_factory, clock) -> None:
    records = parse_export(SAMPLE.read_bytes(), filename="callbacks.csv").records
    with transaction(session_factory) as session:
        insert_records(session=session, records=records, batch_id=None, now=clock.now(), timezone=SHANGHAI)


def command(bot, signer, fake, text: str, user: str):
    request = slash_command(signer, text=text, user_id=user, channel_id=CHANNEL, response_url=fake.response_url())
    return bot.app.dispatch(request.to_bolt())


def replies(fake) -> list[str]:
    calls = fake.calls_to("response_url") + fake.calls_to("chat.postEphemeral")
    return [c.params["text"] for c in calls]


def last_reply(fake) -> str:
    texts = replies(fake)
    assert texts, "nobody was answered"
    return texts[-1]


def reports(session_factory) -> list[RejectionReport]:
    with transaction(session_factory) as session:
        return list(session.exec(select(RejectionReport).order_by(RejectionReport.id)).all())


def item(session_factory, order: str) -> Item:
    with transaction(session_factory) as session:
        return session.exec(select(Item).where(Item.order_no == order)).one()


def audit(session_factory, order: str) -> list[tuple[str, str, str, str]]:
    with transaction(session_factory) as session:
        rows = session.exec(select(AuditEntry, Item).join(Item, AuditEntry.item_id == Item.id).order_by(AuditEntry.id)).all()
    return [(a.action, a.actor, a.from_status, a.to_status) for a, i in rows if i.order_no == order]


def dms(fake, user: str) -> list[dict]:
    return [m for (channel, _), m in sorted(fake.messages.items(), key=lambda kv: kv[0][1]) if channel == f"D{user}"]


def buttons(message: dict) -> list[tuple[str, str]]:
    return [
        (e["action_id"], e["value"])
        for b in message["blocks"] for e in b.get("elements", [])
        if isinstance(e, dict) and e.get("type") == "button"
    ]


def click(bot, signer, fake, *, message: dict, channel: str, action_id: str, user: str):
    (value,) = [v for a, v in buttons(message) if a == action_id]
    request = block_actions(
        signer, user_id=user, action_id=action_id, value=value, block_id=f"reported-{value}", channel_id=channel,
        message_ts=message["ts"], message=message, response_url=fake.response_url("click", channel=channel, ts=message["ts"]),
    )
    return bot.app.dispatch(request.to_bolt())


def digest_text(fake) -> str:
    return json.dumps([m["blocks"] for m in fake.channel_history(CHANNEL)], ensure_ascii=False)


def snapshot(session_factory) -> tuple:
    with transaction(session_factory) as session:
        return (
            [(r.id, r.item_id, r.decision) for r in session.exec(select(RejectionReport)).all()],
            sorted((i.order_no, i.status) for i in session.exec(select(Item)).all()),
            len(session.exec(select(AuditEntry)).all()),
            len(session.exec(select(SideEffect)).all()),
        )


@pytest.fixture
def reported(bot, signer, fake_slack, session_factory, clock) -> None:
    """Z reports CHEN (customer refused) on the day of the delivery; then CS imports the export."""
    clock.set(at("2026-11-26 15:00"))
    command(bot, signer, fake_slack, f"report {CHEN} 客户拒收 客户当场拒收，货物完好", Z)
    assert "Reported" in last_reply(fake_slack)
    clock.set(at("2026-11-27 08:00"))
    seed(session_factory, clock)
    fake_slack.clear()


# --- reporting ------------------------------------------------------------------------------


def test_a_report_is_stored_with_who_made_it_and_acknowledged_privately(bot, signer, fake_slack, session_factory, clock) -> None:
    clock.set(at("2026-11-26 15:00"))
    command(bot, signer, fake_slack, f"report {CHEN.lower()} refused the customer sent it back", DELEGATE_Y)
    (report,) = reports(session_factory)
    assert (report.order_no, report.reason, report.note, report.reporter) == (CHEN, "refused", "the customer sent it back", DELEGATE_Y)
    assert (report.reporter_role, report.reporter_owner, report.surface) == ("delegate", "大件配送", "command")
    assert report.reported_on.isoformat() == "2026-11-26" and report.created_at == at("2026-11-26 15:00")
    assert report.item_id is None
    (answer,) = replies(fake_slack)
    assert CHEN in answer and EN.t("reports.reason_refused") in answer
    assert not fake_slack.calls_to("chat.postMessage")  # private: nothing in the channel


def test_chinese_words_and_someone_with_no_role_report_too(bot, signer, fake_slack, session_factory, clock) -> None:
    clock.set(at("2026-11-26 15:00"))
    command(bot, signer, fake_slack, f"上报 {CHEN} 货损 外箱压坏", DRIVER)
    command(bot, signer, fake_slack, f"report {WANG}，客户编号错误", Y)
    got = [(r.order_no, r.reason, r.reporter, r.reporter_role, r.reporter_owner) for r in reports(session_factory)]
    assert got == [(CHEN, "damaged", DRIVER, "other", None), (WANG, "wrong_customer", Y, "owner", "大件配送")]


@pytest.mark.parametrize(
    ("text", "key", "params"),
    [
        ("report", None, {}),  # no text: the modal (tested below), not a refusal
        (f"report {CHEN}", "reports.needs_reason", {"order": CHEN}),
        (f"report {CHEN} lost", "reports.unknown_reason", {"order": CHEN, "word": "lost"}),
        (f"report {'X' * 65} damaged", "reports.order_too_long", {"length": 65, "limit": 64}),
        ("report SO1\u200b2 damaged", "reports.order_unprintable", {"character": "U+200B"}),
        (f"report {CHEN} damaged {'n' * 1001}", "reports.note_too_long", {"length": 1001, "limit": 1000}),
    ],
)
def test_a_bad_report_is_refused_with_a_clear_message_and_stores_nothing(bot, signer, fake_slack, session_factory, clock, text, key, params) -> None:
    clock.set(at("2026-11-26 15:00"))
    command(bot, signer, fake_slack, text, Z)
    assert reports(session_factory) == []
    if key is None:
        assert len(fake_slack.calls_to("views.open")) == 1
        return
    assert replies(fake_slack) == [EN.t(key, **params)]


def test_customer_service_is_refused_it_records_and_logistics_reports(bot, signer, fake_slack, session_factory, clock) -> None:
    clock.set(at("2026-11-26 15:00"))
    for user in (CHEN_JING, CS_LEAD):
        command(bot, signer, fake_slack, f"report {CHEN} damaged", user)
        command(bot, signer, fake_slack, "report", user)  # nor the modal
    assert replies(fake_slack) == [EN.t("reports.cs_refused")] * 4
    assert reports(session_factory) == [] and not fake_slack.calls_to("views.open")


def test_a_repeated_report_by_anyone_says_who_reported_it_when_and_stores_nothing(bot, signer, fake_slack, session_factory, clock) -> None:
    clock.set(at("2026-11-26 15:00"))
    command(bot, signer, fake_slack, f"report {CHEN} refused", Z)
    clock.set(at("2026-11-28 10:00"))  # two days later, another person, another reason
    command(bot, signer, fake_slack, f"report {CHEN} damaged", DRIVER)
    assert len(reports(session_factory)) == 1
    answer = last_reply(fake_slack)
    assert f"<@{Z}>" in answer and "11-26 15:00" in answer and "nothing new was stored" in answer


# --- the modal ---------------------------------------------------------------------------------


def submit(bot, signer, view: dict, user: str, *, order: str | None, reason: str | None, note: str | None = None):
    values = {
        "report.order": {"report.order_input": order},
        "report.reason": {"report.reason_input": {"type": "static_select", "selected_option": {"value": reason} if reason else None}},
        "report.note": {"report.note_input": note},
    }
    request = view_submission(signer, user_id=user, callback_id=view["callback_id"], private_metadata=view["private_metadata"], values=values)
    return bot.app.dispatch(request.to_bolt())


def test_the_modal_shows_errors_on_its_fields_and_stores_a_good_report(bot, signer, fake_slack, session_factory, clock) -> None:
    clock.set(at("2026-11-26 15:00"))
    command(bot, signer, fake_slack, "上报", Z)
    (opened,) = fake_slack.calls_to("views.open")
    assert opened.error is None
    view = opened.params["view"]
    if isinstance(view, str):
        view = json.loads(view)
    options = [o["value"] for b in view["blocks"] if b.get("block_id") == "report.reason" for o in b["element"]["options"]]
    assert options == ["damaged", "refused", "wrong_customer"]

    response = submit(bot, signer, view, Z, order="  ", reason=None)
    body = json.loads(response.body)
    assert body["response_action"] == "errors"
    assert body["errors"] == {"report.order": EN.t("reports.needs_order"), "report.reason": EN.t("reports.modal_needs_reason")}
    response = submit(bot, signer, view, Z, order="X" * 70, reason="damaged")
    assert json.loads(response.body)["errors"] == {"report.order": EN.t("reports.order_too_long", length=70, limit=64)}
    assert reports(session_factory) == []

    response = submit(bot, signer, view, Z, order=f" {CHEN} ", reason="damaged", note="外箱压坏")
    assert response.status == 200 and not response.body
    (report,) = reports(session_factory)
    assert (report.order_no, report.reason, report.note, report.surface) == (CHEN, "damaged", "外箱压坏", "modal")
    assert "Reported" in last_reply(fake_slack)


# --- import, hold, Keep or Drop ----------------------------------------------------------------


def test_an_imported_record_of_a_reported_order_is_held_and_the_digest_skips_it(bot, session_factory, fake_slack, clock, reported) -> None:
    held = item(session_factory, CHEN)
    assert held.status == Status.HELD
    (report,) = reports(session_factory)
    assert report.item_id == held.id and report.matched_at == at("2026-11-27 08:00")
    assert audit(session_factory, CHEN) == [("hold", "system", "new", "held")]
    clock.set(at("2026-11-27 08:30"))
    bot.services.post_daily_digest()
    assert CHEN not in digest_text(fake_slack) and item(session_factory, CHEN).digest_message_id is None
    assert item(session_factory, WANG).status == Status.AWAITING  # the others are posted as usual


def test_the_callback_agent_is_asked_once_in_working_time_with_the_report_beside_the_record(bot, session_factory, fake_slack, clock, reported) -> None:
    clock.set(at("2026-11-27 08:40"))  # before work starts: it waits
    assert bot.services.send_pending_report_reviews() == 0 and not dms(fake_slack, CHEN_JING)
    clock.set(at("2026-11-27 09:05"))
    assert bot.services.send_pending_report_reviews() == 1
    assert bot.services.send_pending_report_reviews() == 0  # once
    (dm,) = dms(fake_slack, CHEN_JING)
    text = json.dumps(dm["blocks"], ensure_ascii=False)
    assert CHEN in text and f"<@{Z}>" in text and "客户当场拒收" in text and EN.t("reports.reason_refused") in text
    assert [a for a, _ in buttons(dm)] == ["reported.keep", "reported.drop"]
    (report,) = reports(session_factory)
    assert (report.review_channel, report.review_ts, report.owner) == (f"D{CHEN_JING}", dm["ts"], "小件配送")


def test_an_agent_without_a_slack_user_is_replaced_by_the_cs_lead(bot, signer, fake_slack, session_factory, clock) -> None:
    clock.set(at("2026-11-26 15:00"))
    command(bot, signer, fake_slack, f"report {NO_AGENT} damaged", DRIVER)
    seed(session_factory, clock)
    clock.set(at("2026-11-27 09:05"))
    assert bot.services.send_pending_report_reviews() == 1
    (dm,) = dms(fake_slack, CS_LEAD)
    assert NO_AGENT in json.dumps(dm["blocks"], ensure_ascii=False)


def test_keep_posts_it_in_the_next_digest_with_the_report_shown(bot, signer, session_factory, fake_slack, clock, reported) -> None:
    clock.set(at("2026-11-27 08:30"))
    bot.services.post_daily_digest()
    clock.set(at("2026-11-27 09:05"))
    bot.services.send_pending_report_reviews()
    (dm,) = dms(fake_slack, CHEN_JING)
    channel = f"D{CHEN_JING}"

    before = snapshot(session_factory)
    click(bot, signer, fake_slack, message=dm, channel=channel, action_id="reported.keep", user=Z)  # not CS
    assert last_reply(fake_slack) == EN.t("reports.decide_cs_only")
    assert snapshot(session_factory) == before

    click(bot, signer, fake_slack, message=dm, channel=channel, action_id="reported.keep", user=CHEN_JING)
    assert item(session_factory, CHEN).status == Status.NEW
    assert audit(session_factory, CHEN)[-1] == ("keep", CHEN_JING, "held", "new")
    assert "Kept" in last_reply(fake_slack)
    (shown,) = dms(fake_slack, CHEN_JING)
    assert buttons(shown) == [] and "Kept by" in json.dumps(shown["blocks"])

    after = snapshot(session_factory)
    for action_id in ("reported.keep", "reported.drop"):  # a double click, or the other button: a no-op
        click(bot, signer, fake_slack, message=dm, channel=channel, action_id=action_id, user=CS_LEAD)
        assert "already kept" in last_reply(fake_slack)
    assert snapshot(session_factory) == after

    clock.set(at("2026-11-30 08:30"))  # Monday: the next digest
    bot.services.post_daily_digest()
    kept = item(session_factory, CHEN)
    assert kept.status == Status.AWAITING and kept.owner == "小件配送"
    (message,) = [m for m in fake_slack.channel_history(CHANNEL) if any(b.get("block_id") == f"item-{kept.id}" for b in m["blocks"])]
    (section,) = [b for b in message["blocks"] if b.get("block_id") == f"item-{kept.id}"]
    assert f"<@{Z}>" in section["text"]["text"] and EN.t("reports.reason_refused") in section["text"]["text"]


def test_drop_withdraws_it_as_a_cs_correction_never_posted(bot, signer, session_factory, fake_slack, clock, reported) -> None:
    clock.set(at("2026-11-27 09:05"))
    bot.services.send_pending_report_reviews()
    (dm,) = dms(fake_slack, CHEN_JING)
    click(bot, signer, fake_slack, message=dm, channel=f"D{CHEN_JING}", action_id="reported.drop", user=CS_LEAD)
    assert item(session_factory, CHEN).status == Status.VOIDED
    assert audit(session_factory, CHEN)[-1] == ("drop", CS_LEAD, "held", "voided")
    assert "Dropped" in last_reply(fake_slack)
    click(bot, signer, fake_slack, message=dm, channel=f"D{CHEN_JING}", action_id="reported.keep", user=CHEN_JING)
    assert "already dropped" in last_reply(fake_slack) and item(session_factory, CHEN).status == Status.VOIDED

    clock.set(at("2026-11-30 08:30"))
    bot.services.post_daily_digest()
    assert CHEN not in digest_text(fake_slack)

    figures, month_items = figures_for(bot.services.deps, Month(2026, 11), at("2026-11-30 12:00"))
    small = figures.owner("小件配送")
    assert small is not None and small.counts.reported == 1 and figures.totals.reported == 1
    assert [(c.order_no, c.actor, c.owner) for c in figures.corrections] == [(CHEN, CS_LEAD, "小件配送")]  # a CS correction, as a void
    assert CHEN not in [i.order_no for i in month_items]  # never posted: not counted as posted
    assert small.counts.posted == len([i for i in month_items if i.owner == "小件配送"])
    assert EN.t("reports.monthly_owner", count=1) in owner_lines(small, figures, EN)  # the good behaviour, shown in the notice


# --- a report after the record ---------------------------------------------------------------


def test_a_report_after_the_record_was_posted_stores_nothing_and_says_to_dispute_it(bot, signer, fake_slack, session_factory, clock) -> None:
    seed(session_factory, clock)
    clock.set(at("2026-11-27 08:30"))
    bot.services.post_daily_digest()
    clock.set(at("2026-11-27 10:00"))
    command(bot, signer, fake_slack, f"report {WANG} damaged", Y)
    assert reports(session_factory) == []
    answer = last_reply(fake_slack)
    assert "already in the digest" in answer and f"/reject dispute {WANG}" in answer
    assert item(session_factory, WANG).status == Status.AWAITING


def test_a_report_after_the_record_was_imported_but_before_the_digest_stores_nothing(bot, signer, fake_slack, session_factory, clock) -> None:
    clock.set(at("2026-11-27 08:00"))
    seed(session_factory, clock)
    command(bot, signer, fake_slack, f"report {WANG} damaged", Y)
    assert reports(session_factory) == []
    assert "next digest" in last_reply(fake_slack) and item(session_factory, WANG).status == Status.NEW


def test_a_report_far_from_the_rejection_date_does_not_hold_the_record(bot, signer, fake_slack, session_factory, clock) -> None:
    clock.set(at("2026-11-10 15:00"))  # 16 days before: another rejection of the order, not this one
    command(bot, signer, fake_slack, f"report {CHEN} damaged", Z)
    clock.set(at("2026-11-27 08:00"))
    seed(session_factory, clock)
    assert item(session_factory, CHEN).status == Status.NEW and reports(session_factory)[0].item_id is None


def test_cs_s_home_lists_recent_reports_and_where_each_stands(bot, signer, fake_slack, session_factory, clock, reported) -> None:
    clock.set(at("2026-11-27 08:10"))
    command(bot, signer, fake_slack, f"report {'SO99'} damaged 外箱压坏", DRIVER)
    got = [(r.order_no, r.reporter, r.state) for r in bot.services.recent_reports()]
    assert got == [("SO99", DRIVER, "waiting"), (CHEN, Z, "held")]
    clock.set(at("2026-11-27 09:05"))
    bot.services.send_pending_report_reviews()
    (dm,) = dms(fake_slack, CHEN_JING)
    click(bot, signer, fake_slack, message=dm, channel=f"D{CHEN_JING}", action_id="reported.keep", user=CHEN_JING)
    assert [r.state for r in bot.services.recent_reports()] == ["waiting", "kept"]
    clock.set(at("2026-12-04 08:05"))
    assert [r.order_no for r in bot.services.recent_reports()] == ["SO99"]  # 7 days back by default


# --- failures -----------------------------------------------------------------------------------


def test_a_review_dm_slack_refuses_is_sent_by_the_next_tick(bot, session_factory, fake_slack, clock, reported) -> None:
    clock.set(at("2026-11-27 09:05"))
    fake_slack.fail_next("chat.postMessage", "channel_not_found")
    assert bot.services.send_pending_report_reviews() == 0
    assert dms(fake_slack, CHEN_JING) == [] and reports(session_factory)[0].review_ts is None
    assert bot.services.send_pending_report_reviews() == 1
    assert len(dms(fake_slack, CHEN_JING)) == 1


def test_a_review_dm_posted_but_answered_with_an_error_is_not_sent_twice(bot, session_factory, fake_slack, clock, reported) -> None:
    clock.set(at("2026-11-27 09:05"))
    fake_slack.fail_next("chat.postMessage", "internal_error", status=500, applied=True, times=5)
    bot.services.send_pending_report_reviews()
    bot.services.send_pending_report_reviews()  # the claim was released: this one looks first
    (dm,) = dms(fake_slack, CHEN_JING)
    assert reports(session_factory)[0].review_ts == dm["ts"]
    assert bot.services.send_pending_report_reviews() == 0 and len(dms(fake_slack, CHEN_JING)) == 1


def test_a_decision_stands_when_the_dm_cannot_be_updated(bot, signer, session_factory, fake_slack, clock, reported) -> None:
    clock.set(at("2026-11-27 09:05"))
    bot.services.send_pending_report_reviews()
    (dm,) = dms(fake_slack, CHEN_JING)
    fake_slack.fail_next("chat.update", "message_not_found")
    click(bot, signer, fake_slack, message=dm, channel=f"D{CHEN_JING}", action_id="reported.drop", user=CHEN_JING)
    assert item(session_factory, CHEN).status == Status.VOIDED and "Dropped" in last_reply(fake_slack)
    click(bot, signer, fake_slack, message=dm, channel=f"D{CHEN_JING}", action_id="reported.drop", user=CHEN_JING)  # its buttons stayed
    assert "already dropped" in last_reply(fake_slack)


def test_a_button_naming_no_report_is_answered_as_stale(bot, signer, session_factory, fake_slack, clock, reported) -> None:
    clock.set(at("2026-11-27 09:05"))
    bot.services.send_pending_report_reviews()
    (dm,) = dms(fake_slack, CHEN_JING)
    forged = {**dm, "blocks": [{"type": "actions", "block_id": "reported-999", "elements": [
        {"type": "button", "action_id": "reported.keep", "value": "999", "text": {"type": "plain_text", "text": "Keep"}}]}]}
    before = snapshot(session_factory)
    click(bot, signer, fake_slack, message=forged, channel=f"D{CHEN_JING}", action_id="reported.keep", user=CHEN_JING)
    assert last_reply(fake_slack) == EN.t("answers.stale_button")
    assert snapshot(session_factory) == before


def test_help_lists_reporting_in_both_words(bot, signer, fake_slack) -> None:
    command(bot, signer, fake_slack, "帮助", DRIVER)
    assert EN.t("reports.help") in last_reply(fake_slack)
    assert "上报" in EN.t("reports.help") and "客户编号错误" in EN.t("reports.help")
