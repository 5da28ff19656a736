"""Legitimate-rejection reports on the App Home, end to end: signed
``app_home_opened`` events, Home clicks and slash commands through the real
app into the fake Slack, on SQLite and PostgreSQL.

The CS lead's Home lists the recent reports and where each stands; a
callback agent's Home lists their records held by a report, with the review
DM's Keep / Drop buttons, which go through the same handler, service and
audit; the Homes follow a report and a decision; nobody outside CS sees
reports there."""

from __future__ import annotations

import json
from itertools import count

import pytest
from sqlmodel import select
from test_reports import CHANNEL, CHEN, EN, SAMPLE, at, command, seed  # the reports' own tests: the same day, the same sample

from bot.core.lifecycle import Status
from bot.fakeslack import FakeSlack, event_callback
from bot.fakeslack.requests import app_home_opened_event, home_block_actions
from storage.db import transaction
from storage.models import AuditEntry, Item, RejectionReport

Y, Z, DRIVER, NOBODY = "U0OWNERY", "U0OWNERZ", "U0DRIVER1", "U0NOBODY"
CHEN_JING, WANG_LI, CS_LEAD = "U0CS0002", "U0CS0001", "U0CSLEAD"
EVENTS = count(1)


def open_home(bot, signer, fake: FakeSlack, user: str):
    event = app_home_opened_event(user=user, view=fake.home_view(user), tab="home")
    return bot.app.dispatch(event_callback(signer, event=event, event_id=f"EvHomeReports{next(EVENTS)}").to_bolt())


def click_home(bot, signer, fake: FakeSlack, user: str, *, action_id: str, value: str, view: dict | None = None):
    """A click on the button with this action id and value in ``view`` (the user's Home as shown)."""
    view = view or fake.home_view(user)
    block_id = next(
        b["block_id"] for b in view["blocks"]
        for e in [b.get("accessory"), *b.get("elements", [])]
        if isinstance(e, dict) and e.get("action_id") == action_id and e.get("value") == value
    )
    request = home_block_actions(signer, user_id=user, action_id=action_id, value=value, block_id=block_id, view=view)
    return bot.app.dispatch(request.to_bolt())


def headers(view: dict) -> list[str]:
    return [b["block_id"].removeprefix("head-") for b in view["blocks"] if b["type"] == "header"]


def buttons(view: dict) -> list[tuple[str, str]]:
    return [
        (e["action_id"], e["value"])
        for b in view["blocks"] for e in [b.get("accessory"), *b.get("elements", [])]
        if isinstance(e, dict) and e.get("type") == "button"
    ]


def section_text(view: dict, key: str) -> str:
    """The blocks of one section of a Home, as JSON text."""
    out, inside = [], False
    for block in view["blocks"]:
        if block["type"] == "header":
            inside = block["block_id"] == f"head-{key}"
        elif inside:
            out.append(block)
    return json.dumps(out, ensure_ascii=False)


def dm_texts(fake: FakeSlack, user: str) -> list[str]:
    return [c.params.get("text", "") for c in fake.calls_to("chat.postMessage") if c.params.get("channel") == f"D{user}" and c.error is None]


def report_id(session_factory, order: str) -> int:
    with transaction(session_factory) as session:
        return session.exec(select(RejectionReport).where(RejectionReport.order_no == order)).one().id


def item(session_factory, order: str) -> Item:
    with transaction(session_factory) as session:
        return session.exec(select(Item).where(Item.order_no == order)).one()


def audit(session_factory, order: str) -> list[tuple[str, str, str, str]]:
    with transaction(session_factory) as session:
        rows = session.exec(select(AuditEntry, Item).join(Item, AuditEntry.item_id == Item.id).order_by(AuditEntry.id)).all()
    return [(a.action, a.actor, a.from_status, a.to_status) for a, i in rows if i.order_no == order]


@pytest.fixture
def reported(bot, signer, fake_slack, session_factory, clock) -> None:
    """Z reports CHEN (customer refused); a driver reports an order CS never
    records; CS imports the export (CHEN's record is held); 09:05, working time."""
    clock.set(at("2026-11-26 15:00"))
    command(bot, signer, fake_slack, f"report {CHEN} 客户拒收 客户当场拒收，电话 13812345678", Z)
    clock.set(at("2026-11-26 16:00"))
    command(bot, signer, fake_slack, "report SO99 damaged 外箱压坏", DRIVER)
    clock.set(at("2026-11-27 08:00"))
    seed(session_factory, clock)
    assert item(session_factory, CHEN).status == Status.HELD
    clock.set(at("2026-11-27 09:05"))
    fake_slack.clear()


def test_the_cs_lead_s_home_lists_the_reports_and_where_each_stands(bot, signer, fake_slack, session_factory, reported) -> None:
    open_home(bot, signer, fake_slack, CS_LEAD)

    view = fake_slack.home_view(CS_LEAD)
    assert "all_reports" in headers(view) and len(view["blocks"]) <= 100
    text = section_text(view, "all_reports")
    assert EN.t("home.title_reports", count=2) in json.dumps(view["blocks"], ensure_ascii=False)
    assert text.index(CHEN) < text.index("SO99")  # what waits on CS first, though SO99 is newer
    assert f"<@{Z}>" in text and f"<@{DRIVER}>" in text and EN.t("reports.reason_refused") in text
    assert EN.t("home.report_held") in text and EN.t("home.report_waiting") in text
    assert "13812345678" in text  # CS sees full records, as in the review DM (the channel masks the note)
    held = str(report_id(session_factory, CHEN))
    assert ("reported.keep", held) in buttons(view) and ("reported.drop", held) in buttons(view)
    assert str(report_id(session_factory, "SO99")) not in {v for a, v in buttons(view) if a.startswith("reported.")}  # nothing to decide yet


def test_a_callback_agent_s_home_shows_their_held_record_with_keep_and_drop(bot, signer, fake_slack, session_factory, reported) -> None:
    open_home(bot, signer, fake_slack, CHEN_JING)
    open_home(bot, signer, fake_slack, WANG_LI)

    mine = fake_slack.home_view(CHEN_JING)
    assert headers(mine) == ["disputes", "reports", "accuracy"]
    held = str(report_id(session_factory, CHEN))
    assert [b for b in buttons(mine) if b[0].startswith("reported.")] == [("reported.keep", held), ("reported.drop", held)]
    text = section_text(mine, "reports")
    assert CHEN in text and "陈静" in text and "SO99" not in text  # only records held, and only theirs
    other = fake_slack.home_view(WANG_LI)
    assert "reports" in headers(other) and CHEN not in section_text(other, "reports")
    assert EN.t("home.none_held_reports") in section_text(other, "reports")


def test_keep_from_the_home_goes_through_the_review_service_and_the_next_digest_posts_it(bot, signer, fake_slack, session_factory, clock, reported) -> None:
    open_home(bot, signer, fake_slack, CHEN_JING)
    open_home(bot, signer, fake_slack, CS_LEAD)
    bot.services.refresh_homes()  # the first pass after a start: marks taken
    held = str(report_id(session_factory, CHEN))
    shown = fake_slack.home_view(CHEN_JING)

    click_home(bot, signer, fake_slack, Z, action_id="reported.keep", value=held, view=shown)  # not CS: refused, nothing changes
    assert dm_texts(fake_slack, Z)[-1] == EN.t("reports.decide_cs_only")
    assert item(session_factory, CHEN).status == Status.HELD

    fake_slack.clear()
    response = click_home(bot, signer, fake_slack, CHEN_JING, action_id="reported.keep", value=held)

    assert response.status == 200
    assert item(session_factory, CHEN).status == Status.NEW
    assert audit(session_factory, CHEN)[-1] == ("keep", CHEN_JING, "held", "new")
    assert "Kept" in dm_texts(fake_slack, CHEN_JING)[-1]  # a Home has no channel: answered privately by DM
    assert not fake_slack.calls_to("chat.postEphemeral")
    mine = fake_slack.home_view(CHEN_JING)  # their own Home at once, without the buttons
    assert not [b for b in buttons(mine) if b[0].startswith("reported.")]

    report = bot.services.refresh_homes()  # the ticker: the lead's Home follows
    assert CS_LEAD in report.users
    assert EN.t("home.report_kept") in section_text(fake_slack.home_view(CS_LEAD), "all_reports")

    click_home(bot, signer, fake_slack, CHEN_JING, action_id="reported.drop", value=held, view=shown)  # the old Home's other button
    assert "already kept" in dm_texts(fake_slack, CHEN_JING)[-1]
    assert item(session_factory, CHEN).status == Status.NEW

    clock.set(at("2026-11-30 08:30"))  # Monday: the next digest
    bot.services.post_daily_digest()
    kept = item(session_factory, CHEN)
    assert kept.status == Status.AWAITING
    (message,) = [m for m in fake_slack.channel_history(CHANNEL) if any(b.get("block_id") == f"item-{kept.id}" for b in m["blocks"])]
    (section,) = [b for b in message["blocks"] if b.get("block_id") == f"item-{kept.id}"]
    assert f"<@{Z}>" in section["text"]["text"] and EN.t("reports.reason_refused") in section["text"]["text"]
    assert "13812345678" not in section["text"]["text"]  # the channel masks the note


def test_a_new_report_moves_the_homes(bot, signer, fake_slack, session_factory, clock, reported) -> None:
    open_home(bot, signer, fake_slack, CS_LEAD)
    bot.services.refresh_homes()
    assert bot.services.refresh_homes().skipped  # nothing changed

    command(bot, signer, fake_slack, "report SO77 wrong-customer", DRIVER)
    report = bot.services.refresh_homes()

    assert not report.skipped and CS_LEAD in report.users
    assert "SO77" in section_text(fake_slack.home_view(CS_LEAD), "all_reports")


def test_nobody_outside_cs_sees_reports_on_their_home(bot, signer, fake_slack, session_factory, reported) -> None:
    for user in (Z, Y, DRIVER, NOBODY):
        open_home(bot, signer, fake_slack, user)
        view = fake_slack.home_view(user)
        assert not {"reports", "all_reports"} & set(headers(view)), user
        assert not any(a.startswith("reported.") for a, _ in buttons(view))
        assert CHEN not in json.dumps(view["blocks"], ensure_ascii=False), user  # a held record is nobody's item yet


def test_more_reports_than_the_home_holds_end_with_and_n_more(bot, signer, fake_slack, session_factory, clock, reported) -> None:
    for n in range(90):
        command(bot, signer, fake_slack, f"report SO9{n:04d} damaged", DRIVER)
    with transaction(session_factory) as session:
        assert len(session.exec(select(RejectionReport)).all()) == 92
    open_home(bot, signer, fake_slack, CS_LEAD)

    view = fake_slack.home_view(CS_LEAD)
    assert len(view["blocks"]) <= 100
    assert ("apphome.show_all", "all_reports") in buttons(view)
    shown = {v for a, v in buttons(view) if a == "reported.keep"}
    text = section_text(view, "all_reports")
    hidden = 92 - text.count('"block_id": "ar-report-')
    assert hidden > 0 and EN.t("home.more", count=hidden) in text and shown == {str(report_id(session_factory, CHEN))}  # the held one first

    fake_slack.clear()
    click_home(bot, signer, fake_slack, CS_LEAD, action_id="apphome.show_all", value="all_reports")
    (opened,) = fake_slack.calls_to("views.open")
    listed = json.dumps(opened.params["view"], ensure_ascii=False)
    assert all(f"SO9{n:04d}" in listed for n in range(90)) and CHEN in listed  # the whole list


# --- a Slack import of a reported order -----------------------------------------------------


def upload_sample(bot, signer, fake: FakeSlack, *, user: str = WANG_LI, event_id: str) -> None:
    event = fake.upload_as_user(user, "callbacks-2026-11-26.csv", SAMPLE.read_bytes())
    bot.app.dispatch(event_callback(signer, event=event, event_id=event_id).to_bolt())


def review_dms(fake: FakeSlack, user: str) -> list[dict]:
    return [m for (channel, _), m in fake.messages.items() if channel == f"D{user}" and any(
        e.get("action_id") == "reported.keep" for b in m.get("blocks", []) for e in b.get("elements", []) if isinstance(e, dict)
    )]


def test_a_slack_import_in_working_time_asks_the_callback_agent_at_once(bot, signer, fake_slack, session_factory, clock) -> None:
    clock.set(at("2026-11-26 15:00"))
    command(bot, signer, fake_slack, f"report {CHEN} refused", Z)
    clock.set(at("2026-11-27 10:00"))
    upload_sample(bot, signer, fake_slack, event_id="EvImportReported1")

    assert bot.services.run_imports() == 1

    assert item(session_factory, CHEN).status == Status.HELD
    (dm,) = review_dms(fake_slack, CHEN_JING)  # no tick needed
    assert CHEN in json.dumps(dm["blocks"], ensure_ascii=False)
    assert bot.services.send_pending_report_reviews() == 0  # and the tick does not ask twice


def test_a_slack_import_out_of_working_time_leaves_the_question_to_the_tick(bot, signer, fake_slack, session_factory, clock) -> None:
    clock.set(at("2026-11-26 15:00"))
    command(bot, signer, fake_slack, f"report {CHEN} refused", Z)
    clock.set(at("2026-11-27 07:00"))
    upload_sample(bot, signer, fake_slack, event_id="EvImportReported2")

    assert bot.services.run_imports() == 1

    assert item(session_factory, CHEN).status == Status.HELD and review_dms(fake_slack, CHEN_JING) == []
    clock.set(at("2026-11-27 09:05"))
    assert bot.services.send_pending_report_reviews() == 1
    assert len(review_dms(fake_slack, CHEN_JING)) == 1


def test_a_keep_stands_when_the_home_cannot_be_published_and_the_tick_publishes_it(bot, signer, fake_slack, session_factory, clock, reported) -> None:
    open_home(bot, signer, fake_slack, CHEN_JING)
    held = str(report_id(session_factory, CHEN))
    fake_slack.fail_next("views.publish", "not_enabled")  # the Home tab switched off a moment

    click_home(bot, signer, fake_slack, CHEN_JING, action_id="reported.keep", value=held)

    assert item(session_factory, CHEN).status == Status.NEW  # the decision stands
    assert "Kept" in dm_texts(fake_slack, CHEN_JING)[-1]
    assert ("reported.keep", held) in buttons(fake_slack.home_view(CHEN_JING))  # Slack still shows the old Home
    report = bot.services.refresh_homes()
    assert CHEN_JING in report.users and not report.failed
    assert not [b for b in buttons(fake_slack.home_view(CHEN_JING)) if b[0].startswith("reported.")]
