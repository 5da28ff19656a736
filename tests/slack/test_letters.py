"""The work contact letter end to end: signed slash commands, clicks and
modal submissions through the real app from ``create_app`` into our fake
Slack, on SQLite and PostgreSQL. The sample export is imported and Friday
2026-11-27's digest posted at 08:30; CS drafts a letter for 大件配送 (Y), the
CS lead signs it off, it is delivered to Y and Y's top escalation contact,
followed up in working time until acknowledged, or told overdue.

Assertions look at what people see (private answers, DMs, channel posts,
files the fake received) and what is stored (letters, their events)."""

from __future__ import annotations

import hashlib
import io
import json
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import date

import pytest
from sqlmodel import select
from support import effects, run_together
from test_core_loop import CHANNEL, CS_AGENT, CS_LEAD, OPS_HEAD, Y, Z, at, command, digest, replies, seed  # noqa: F401
from test_followup_sweep import next_day_csv, texts_to

from bot.core.letters import facts_from_json
from bot.core.monthly import Month
from bot.fakeslack import FakeSlack, block_actions, new_trigger_id, view_submission
from bot.gateway import Backoff
from bot.services.letters import draft_if_no_improvement
from bot.services.monthly import figures_for
from storage.db import transaction
from storage.models import DigestMessage, FollowUp, Letter, LetterEvent

BOSS = "U0LOGIBOSS"  # the top of Y's (and Z's) escalation chain
Y_NAME, Z_NAME = "大件配送", "小件配送"
MANAGERS = {  # the workspace's directory (users.info): the ops head has a display name, the boss only a real name
    OPS_HEAD: {"name": "wang.qiang", "real_name": "Wang Qiang", "display_name": "王经理"},
    BOSS: {"name": "zhao.gang", "real_name": "赵刚", "display_name": ""},
}


@pytest.fixture
def fake_slack(clock) -> Iterator[FakeSlack]:
    """The shared fake (tests/conftest.py), with the managers in its directory."""
    with FakeSlack(users=MANAGERS, clock=lambda: clock.now().timestamp()) as fake:
        yield fake


# --- reading what happened -----------------------------------------------------------------


def letters(session_factory) -> list[Letter]:
    with transaction(session_factory) as session:
        return list(session.exec(select(Letter).order_by(Letter.id)).all())


def letter(session_factory) -> Letter:
    (only,) = letters(session_factory)
    return only


def events(session_factory) -> list[tuple[str, str, str]]:
    with transaction(session_factory) as session:
        rows = session.exec(select(LetterEvent).order_by(LetterEvent.id)).all()
    return [(e.actor, e.action, e.note) for e in rows]


def state(session_factory) -> tuple:
    """Everything a refused click must leave alone."""
    return tuple((l.status, l.improvement, l.reply_days, l.number, l.approved_by, l.docx_sha256) for l in letters(session_factory)), events(session_factory)


def answer(fake) -> str:
    (text,) = replies(fake)
    return text


def dm_messages(fake, user: str) -> list[dict]:
    """The letters' DMs to ``user`` (their metadata key starts ``letter:``), oldest first."""
    return [
        m for (channel, _), m in fake.messages.items()
        if channel == f"D{user}" and str(((m.get("metadata") or {}).get("event_payload") or {}).get("key", "")).startswith("letter:")
    ]


def button_message(fake, user: str, action_id: str) -> dict:
    """The newest DM to ``user`` carrying a button ``action_id``."""
    found = [m for m in dm_messages(fake, user) if action_id in json.dumps(m.get("blocks") or [])]
    assert found, f"no DM to {user} with {action_id}"
    return found[-1]


def press(bot, signer, fake, *, user: str, action_id: str, owner_of_dm: str, value: str | None = None, trigger_id: str | None = None):
    """``user`` clicks ``action_id`` on the newest DM to ``owner_of_dm`` carrying it."""
    message = button_message(fake, owner_of_dm, action_id)
    channel = f"D{owner_of_dm}"
    block = next(b for b in message["blocks"] if action_id in json.dumps(b))
    button = next(e for e in block["elements"] if e["action_id"] == action_id)
    request = block_actions(
        signer, user_id=user, action_id=action_id, value=value or button["value"], block_id=block["block_id"], channel_id=channel,
        message_ts=message["ts"], message=message, response_url=fake.response_url("click", channel=channel, ts=message["ts"]),
        trigger_id=trigger_id,
    )
    return bot.app.dispatch(request.to_bolt())


def submit_edit(bot, signer, view: dict, *, improvement: str, days: str, user: str = CS_LEAD):
    request = view_submission(
        signer, user_id=user, callback_id=view["callback_id"], private_metadata=view["private_metadata"],
        values={"letter.improvement": {"letter.improvement_input": improvement}, "letter.reply_days": {"letter.reply_days_input": days}},
    )
    return bot.app.dispatch(request.to_bolt())


def shared_files(fake) -> list[tuple[str, str | None, str, str]]:
    """(channel, thread, file name, sha256) of every share of every file."""
    return sorted(
        (share["channel"], share["thread_ts"], f["name"], hashlib.sha256(f["content"]).hexdigest())
        for f in fake.files() for share in f["shares"]
    )


def channel_texts(fake, thread: str | None = None) -> list[str]:
    return texts_to(fake, CHANNEL, thread)


# --- the steps ------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def in_working_hours(clock, digest) -> None:  # noqa: F811
    """After Friday's 08:30 digest, in working time."""
    clock.set(at("2026-11-27 09:30"))


def draft(bot, signer, fake, who: str = Y_NAME, user: str = CS_AGENT) -> str:
    command(bot, signer, fake, f"letter {who}", user=user)
    text = answer(fake)
    fake.clear()
    return text


def approve(bot, signer, fake, session_factory) -> Letter:
    press(bot, signer, fake, user=CS_LEAD, action_id="letter.approve", owner_of_dm=CS_LEAD)
    return letter(session_factory)


# --- drafting ---------------------------------------------------------------------------------


def test_cs_drafts_a_letter_by_hand_and_it_goes_to_the_cs_lead_with_three_buttons(bot, signer, fake_slack, session_factory) -> None:
    command(bot, signer, fake_slack, f"letter <@{Y}|y>", user=CS_AGENT)

    assert answer(fake_slack) == f"A work contact letter for {Y_NAME} (2026-11) is drafted and went to <@{CS_LEAD}> by DM to approve, edit or discard."
    (dm,) = dm_messages(fake_slack, CS_LEAD)
    assert dm["text"] == f"*draft #1: Mistaken rejections of {Y_NAME} in 2026-11 and the improvement requested*"
    (buttons,) = [b for b in dm["blocks"] if b["type"] == "actions"]
    assert [(e["action_id"], e["value"]) for e in buttons["elements"]] == [("letter.approve", "1"), ("letter.edit", "1"), ("letter.discard", "1")]
    facts_shown = dm["blocks"][0]["text"]["text"]
    assert "2026-11: 26 posted, 0 confirmed, 0 deemed confirmed" in facts_shown
    stored = letter(session_factory)
    assert (stored.owner, stored.month, stored.reason, stored.status, stored.created_by, stored.number) == (Y_NAME, "2026-11", "by_hand", "draft", CS_AGENT, None)
    assert stored.draft_key == f"letter:{Y_NAME}:2026-11"
    assert events(session_factory) == [(CS_AGENT, "drafted", "by_hand")]


def test_a_letter_by_hand_outside_working_time_waits_for_the_opening_and_says_when(bot, signer, fake_slack, session_factory, clock) -> None:
    clock.set(at("2026-11-27 22:30"))  # Friday night: the next opening is Monday 09:00

    command(bot, signer, fake_slack, f"letter {Y_NAME}", user=CS_AGENT)

    assert answer(fake_slack) == (
        f"A work contact letter for {Y_NAME} (2026-11) is drafted. It is outside working time, so its DM to <@{CS_LEAD}> waits: "
        "it goes out at 2026-11-30 09:00."
    )
    assert dm_messages(fake_slack, CS_LEAD) == [] and letter(session_factory).status == "draft"
    clock.set(at("2026-11-28 10:00"))  # Saturday
    assert bot.services.run_letters().drafts_sent == []
    assert dm_messages(fake_slack, CS_LEAD) == []
    clock.set(at("2026-11-30 09:00"))
    assert bot.services.run_letters().drafts_sent == [letter(session_factory).id]
    assert len(dm_messages(fake_slack, CS_LEAD)) == 1
    assert bot.services.run_letters().drafts_sent == []  # once


def test_the_cs_lead_s_own_letter_by_hand_reaches_them_at_once_at_night(bot, signer, fake_slack, session_factory, clock) -> None:
    clock.set(at("2026-11-27 22:30"))

    command(bot, signer, fake_slack, f"letter {Y_NAME}", user=CS_LEAD)

    assert answer(fake_slack).startswith(f"A work contact letter for {Y_NAME} (2026-11) is drafted and went to <@{CS_LEAD}> by DM")
    assert len(dm_messages(fake_slack, CS_LEAD)) == 1


def test_a_letter_by_hand_right_after_a_month_s_notice_is_for_the_month_before(bot, signer, fake_slack, session_factory, clock) -> None:
    clock.set(at("2026-12-01 10:00"))  # November's notice is out; December's digests have posted nothing of Y's yet

    command(bot, signer, fake_slack, f"letter {Y_NAME}", user=CS_AGENT)

    assert answer(fake_slack) == (
        f"A work contact letter for {Y_NAME} (2026-11) is drafted and went to <@{CS_LEAD}> by DM to approve, edit or discard. "
        f"({Y_NAME} has no items in 2026-12 yet, so the letter is for 2026-11.)"
    )
    stored = letter(session_factory)
    assert (stored.month, stored.draft_key) == ("2026-11", f"letter:{Y_NAME}:2026-11")
    assert facts_from_json(stored.facts).counts.posted == 26  # November's figures, not an empty December


def test_a_letter_by_hand_when_the_calendar_has_no_next_opening_says_it_waits(bot, signer, fake_slack, session_factory, clock) -> None:
    clock.set(at("2026-12-31 22:30"))  # the installed calendar has no 2027: no opening to promise

    command(bot, signer, fake_slack, f"letter {Y_NAME}", user=CS_AGENT)

    assert answer(fake_slack).startswith(
        f"A work contact letter for {Y_NAME} (2026-11) is drafted. It is outside working time, so its DM to <@{CS_LEAD}> waits for the next working time"
    )
    assert dm_messages(fake_slack, CS_LEAD) == [] and letter(session_factory).status == "draft"


@pytest.mark.parametrize(
    ("text", "user", "expected"),
    [
        (f"letter {Y_NAME}", Y, "Only CS drafts a work contact letter. Ask the CS lead; nothing changed."),
        ("letter 中件配送", CS_AGENT, f"`中件配送` is not an owner in the routing file. The owners are: {Y_NAME}, {Z_NAME}. Nothing changed."),
        (f"letter <@{OPS_HEAD}|ops>", CS_LEAD, f"`<@{OPS_HEAD}|ops>` is not an owner in the routing file. The owners are: {Y_NAME}, {Z_NAME}. Nothing changed."),
        ("letter", CS_AGENT, "For whom? Write `/reject letter <owner name or @owner>`; nothing changed."),
    ],
)
def test_a_letter_by_hand_that_cannot_be_is_answered_and_nothing_is_drafted(bot, signer, fake_slack, session_factory, text, user, expected) -> None:
    command(bot, signer, fake_slack, text, user=user)
    assert answer(fake_slack) == expected
    assert letters(session_factory) == [] and dm_messages(fake_slack, CS_LEAD) == []


def test_a_second_letter_for_the_same_owner_and_month_is_refused_until_the_first_is_discarded(bot, signer, fake_slack, session_factory) -> None:
    draft(bot, signer, fake_slack)
    command(bot, signer, fake_slack, f"letter {Y_NAME}", user=CS_LEAD)
    assert answer(fake_slack) == f"{Y_NAME} already has a letter for 2026-11: draft #1 (draft). `/reject letters` lists them; nothing changed."
    fake_slack.clear()
    press(bot, signer, fake_slack, user=CS_LEAD, action_id="letter.discard", owner_of_dm=CS_LEAD)
    assert answer(fake_slack) == "draft #1 is discarded; no letter was sent."
    fake_slack.clear()

    draft(bot, signer, fake_slack)

    assert [(l.status, l.draft_key) for l in letters(session_factory)] == [
        ("discarded", f"letter:{Y_NAME}:2026-11"), ("draft", f"letter:{Y_NAME}:2026-11:2"),
    ]


# --- sign-off ----------------------------------------------------------------------------------


@pytest.mark.parametrize("action_id", ["letter.approve", "letter.edit", "letter.discard"])
@pytest.mark.parametrize("user", [CS_AGENT, Y, OPS_HEAD])
def test_only_the_cs_lead_signs_off_anyone_else_is_refused_and_nothing_changes(bot, signer, fake_slack, session_factory, action_id, user) -> None:
    draft(bot, signer, fake_slack)
    before = state(session_factory)

    press(bot, signer, fake_slack, user=user, action_id=action_id, owner_of_dm=CS_LEAD)

    assert answer(fake_slack) == f"Only the CS lead (<@{CS_LEAD}>) approves, edits or discards a work contact letter; draft #1 stays as it is."
    assert state(session_factory) == before
    assert [c.method for c in effects(fake_slack)] == ["response_url"]  # no modal, no upload, no post
    assert fake_slack.files() == []


def test_the_cs_lead_edits_the_draft_in_a_modal_and_a_blank_improvement_is_an_error_on_its_field(bot, signer, fake_slack, session_factory) -> None:
    draft(bot, signer, fake_slack)
    press(bot, signer, fake_slack, user=CS_LEAD, action_id="letter.edit", owner_of_dm=CS_LEAD)
    (opened,) = fake_slack.calls_to("views.open")
    assert opened.error is None
    view = opened.params["view"]
    assert view["callback_id"] == "letter.edit_submit"
    before = state(session_factory)

    blank = submit_edit(bot, signer, view, improvement="   ", days="abc")

    body = json.loads(blank.body)
    assert body == {"response_action": "errors", "errors": {
        "letter.improvement": "Write the improvement you request; the letter cannot go without it.",
        "letter.reply_days": "A whole number of working days from 1 to 60.",
    }}
    assert state(session_factory) == before
    fake_slack.clear()

    submit_edit(bot, signer, view, improvement="每日 10:00 前核实前一日全部拒收记录，并书面回复整改措施。", days="3")

    stored = letter(session_factory)
    assert (stored.improvement, stored.reply_days) == ("每日 10:00 前核实前一日全部拒收记录，并书面回复整改措施。", 3)
    assert facts_from_json(stored.facts).improvement == stored.improvement
    assert events(session_factory)[-1] == (CS_LEAD, "edited", f"reply_days=3\n{stored.improvement}")
    (updated,) = fake_slack.calls_to("chat.update")
    assert "每日 10:00 前核实" in json.dumps(updated.params["blocks"], ensure_ascii=False)
    (dm_answer,) = texts_to(fake_slack, f"D{CS_LEAD}")  # the modal has no response_url: the answer comes by DM
    assert dm_answer.startswith("draft #1 is updated: the reply is due 3 working days after the letter's date.")


def test_an_edit_click_whose_trigger_expired_asks_for_another_click(bot, signer, fake_slack, session_factory) -> None:
    draft(bot, signer, fake_slack)
    before = state(session_factory)

    press(bot, signer, fake_slack, user=CS_LEAD, action_id="letter.edit", owner_of_dm=CS_LEAD, trigger_id=new_trigger_id(now=time.time() - 3.5))

    (opened,) = fake_slack.calls_to("views.open")
    assert opened.error == "expired_trigger_id"
    assert answer(fake_slack) == "The edit form could not open in time (Slack allows 3 seconds). Press Edit again; nothing changed."
    assert state(session_factory) == before


def test_an_edit_submitted_by_someone_else_changes_nothing(bot, signer, fake_slack, session_factory) -> None:
    draft(bot, signer, fake_slack)
    press(bot, signer, fake_slack, user=CS_LEAD, action_id="letter.edit", owner_of_dm=CS_LEAD)
    view = fake_slack.calls_to("views.open")[0].params["view"]
    before = state(session_factory)
    fake_slack.clear()

    submit_edit(bot, signer, view, improvement="随便写", days="1", user=CS_AGENT)

    assert state(session_factory) == before
    (told,) = texts_to(fake_slack, f"D{CS_AGENT}")
    assert told.startswith(f"Only the CS lead (<@{CS_LEAD}>)")


# --- approval and delivery ----------------------------------------------------------------------------


def test_approval_numbers_renders_hashes_and_delivers_to_the_owner_and_the_top_contact(bot, signer, fake_slack, session_factory) -> None:
    draft(bot, signer, fake_slack)

    stored = approve(bot, signer, fake_slack, session_factory)

    assert answer(fake_slack) == "KF-2026-001 is approved and delivered to the owner and their top escalation contact, and announced in the channel."
    assert (stored.status, stored.number, stored.year, stored.seq, stored.approved_by) == ("delivered", "KF-2026-001", 2026, 1, CS_LEAD)
    assert stored.approved_at == at("2026-11-27 09:30") and stored.delivered_at == at("2026-11-27 09:30")
    assert stored.reply_by == date(2026, 12, 4)  # five working days after Friday 27 November
    assert stored.docx_sha256 == hashlib.sha256(stored.docx).hexdigest() and stored.pdf_sha256 == hashlib.sha256(stored.pdf).hexdigest()
    # Both files, to both recipients' DMs, exactly the bytes recorded:
    assert shared_files(fake_slack) == sorted(
        (f"D{user}", None, name, digest_)
        for user in (Y, BOSS)
        for name, digest_ in (("KF-2026-001.docx", stored.docx_sha256), ("KF-2026-001.pdf", stored.pdf_sha256))
    )
    for user in (Y, BOSS):
        (dm,) = [m for m in dm_messages(fake_slack, user) if m.get("blocks")]
        assert dm["text"].startswith("*Work contact letter KF-2026-001* from Customer Service")
        assert "reply by *2026-12-04* (5 working days)" in dm["text"]
        assert stored.docx_sha256 in json.dumps(dm["blocks"]) and "letter.acknowledge" in json.dumps(dm["blocks"])
    (announced,) = channel_texts(fake_slack)
    assert announced.startswith(
        f":page_facing_up: *Work contact letter KF-2026-001*: Mistaken rejections of {Y_NAME} in 2026-11 and the improvement requested. "
        f"To <@{Y}>, <@{BOSS}>; reply due 2026-12-04."
    )
    assert stored.pdf_sha256 in announced
    # The CS lead's draft DM now shows who approved and the hashes, without buttons:
    (dm,) = dm_messages(fake_slack, CS_LEAD)
    assert "letter.approve" not in json.dumps(dm["blocks"])
    assert f"Approved by <@{CS_LEAD}> on 2026-11-27 09:30 (delivered)." in json.dumps(dm["blocks"], ensure_ascii=False)
    assert stored.docx_sha256 in json.dumps(dm["blocks"])
    assert [e[1] for e in events(session_factory)] == ["drafted", "approved", "delivered"]


def test_the_files_say_the_facts_in_chinese(bot, signer, fake_slack, session_factory) -> None:
    from docx import Document
    from pypdf import PdfReader

    draft(bot, signer, fake_slack)
    stored = approve(bot, signer, fake_slack, session_factory)

    docx_text = "\n".join(p.text for p in Document(io.BytesIO(stored.docx)).paragraphs)
    docx_text += "\n".join(c.text for t in Document(io.BytesIO(stored.docx)).tables for r in t.rows for c in r.cells)
    pdf_text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(stored.pdf)).pages)
    for text in (docx_text, pdf_text):
        assert "KF-2026-001" in text and Y_NAME in text


def test_an_item_fixed_between_draft_and_approval_is_not_listed_as_unfixed(bot, signer, fake_slack, session_factory, clock) -> None:
    from pypdf import PdfReader

    order = "SO20261126000000"
    command(bot, signer, fake_slack, f"confirm {order} SO20261126000002", user=Y)
    fake_slack.clear()
    draft(bot, signer, fake_slack)
    assert order in [u.order_no for u in facts_from_json(letter(session_factory).facts).unfixed]
    clock.set(at("2026-11-27 11:00"))
    command(bot, signer, fake_slack, f"fix {order} 已重新派送", user=Y)
    fake_slack.clear()
    clock.set(at("2026-11-30 10:00"))

    stored = approve(bot, signer, fake_slack, session_factory)

    listed = [u.order_no for u in facts_from_json(stored.facts).unfixed]
    assert listed == ["SO20261126000002"]  # as of the approval: the fixed one is gone, the other still unfixed
    pdf_text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(stored.pdf)).pages)
    assert order not in pdf_text and "SO20261126000002" in pdf_text
    assert ("bot", "unfixed_updated", f"-{order}") in events(session_factory)


def test_a_double_click_on_approve_delivers_once(bot, signer, fake_slack, session_factory) -> None:
    draft(bot, signer, fake_slack)

    errors = run_together(*[lambda: press(bot, signer, fake_slack, user=CS_LEAD, action_id="letter.approve", owner_of_dm=CS_LEAD)] * 2)

    assert errors == []
    stored = letter(session_factory)
    assert (stored.status, stored.number) == ("delivered", "KF-2026-001")
    assert len(shared_files(fake_slack)) == 4 and len(channel_texts(fake_slack)) == 1
    done = "KF-2026-001 is approved and delivered to the owner and their top escalation contact, and announced in the channel."
    answers = replies(fake_slack)
    assert len(answers) == 2 and answers.count(done) == 1
    assert next(a for a in answers if a != done) in ("KF-2026-001 is already approved; nothing changed.", "KF-2026-001 is already delivered; nothing changed.")  # as far as the first got
    assert [e[1] for e in events(session_factory)] == ["drafted", "approved", "delivered"]


def test_numbers_run_per_year_and_start_again_in_january(bot, signer, fake_slack, session_factory, clock) -> None:
    draft(bot, signer, fake_slack, Y_NAME)
    approve(bot, signer, fake_slack, session_factory)
    fake_slack.clear()
    draft(bot, signer, fake_slack, Z_NAME)
    press(bot, signer, fake_slack, user=CS_LEAD, action_id="letter.approve", owner_of_dm=CS_LEAD)
    clock.set(at("2027-01-04 10:00"))  # a Monday in the new year
    fake_slack.clear()
    # by the CS lead: the installed calendar has no 2027, so nobody else's draft would reach them now;
    # no items in January yet: the letter is December's
    draft(bot, signer, fake_slack, Y_NAME, user=CS_LEAD)
    press(bot, signer, fake_slack, user=CS_LEAD, action_id="letter.approve", owner_of_dm=CS_LEAD)

    assert [(l.owner, l.month, l.number) for l in letters(session_factory)] == [
        (Y_NAME, "2026-11", "KF-2026-001"), (Z_NAME, "2026-11", "KF-2026-002"), (Y_NAME, "2026-12", "KF-2027-001"),
    ]


def test_a_slack_500_during_delivery_is_retried_by_the_job_and_delivers_once(bot, signer, fake_slack, session_factory) -> None:
    bot.services.deps.notifier.backoff = Backoff(attempts=2, first=0.01)  # the gateway gives up quickly
    bot.services.deps.notifier.share_settle = 0
    draft(bot, signer, fake_slack)
    fake_slack.fail_next("files.completeUploadExternal", "internal_error", status=500, times=2)  # the first share, both tries

    stored = approve(bot, signer, fake_slack, session_factory)

    assert answer(fake_slack) == "KF-2026-001 is approved; its files are made. It goes out in working time, and is retried until delivered."
    assert stored.status == "approved" and stored.attempts == 1 and "SlackUnavailable" in stored.last_error
    assert channel_texts(fake_slack) == []
    fake_slack.fail_next("chat.postMessage", "internal_error", status=500, times=2)  # the next DM (to the boss): both tries

    first = bot.services.run_letters()
    second = bot.services.run_letters()

    assert first.delivered == [] and first.problem == "letters not delivered or followed up yet: KF-2026-001"
    assert first.problem == bot.services.deps.catalog.t("letters.problem", numbers="KF-2026-001")  # from the catalog, not the code
    assert second.delivered == [stored.id] and second.problem is None
    stored = letter(session_factory)
    assert stored.status == "delivered"
    assert len(shared_files(fake_slack)) == 4 and len({f[3] for f in shared_files(fake_slack)}) == 2
    assert [len([m for m in dm_messages(fake_slack, u) if m.get("blocks")]) for u in (Y, BOSS)] == [1, 1]  # one DM each, never two
    assert len(channel_texts(fake_slack)) == 1


def test_the_pdf_is_attached_to_the_owner_s_next_digest_message(bot, signer, fake_slack, session_factory, clock) -> None:
    draft(bot, signer, fake_slack)
    stored = approve(bot, signer, fake_slack, session_factory)
    assert bot.services.run_letters().attached == []  # Friday's digest came before the approval
    clock.set(at("2026-11-30 08:30"))
    seed(session_factory, clock, next_day_csv("2026-11-27", 900))
    bot.services.post_daily_digest()
    with transaction(session_factory) as session:
        monday = session.exec(select(DigestMessage).where(DigestMessage.owner == Y_NAME, DigestMessage.page == 0, DigestMessage.digest_day == date(2026, 11, 30))).one()
    fake_slack.clear()

    assert bot.services.run_letters().attached == [stored.id]
    assert bot.services.run_letters().attached == []

    assert [f for f in shared_files(fake_slack) if f[0] == CHANNEL] == [(CHANNEL, monday.ts, "KF-2026-001.pdf", stored.pdf_sha256)]
    assert len(shared_files(fake_slack)) == 5  # with the four delivered by DM
    assert letter(session_factory).digest_ts == monday.ts


# --- follow-up -----------------------------------------------------------------------------------------


def reminders_to(fake, user: str) -> list[str]:
    return [t for t in texts_to(fake, f"D{user}") if t.startswith("Reminder:")]


def test_reminders_go_once_a_working_day_in_working_time_until_acknowledged(bot, signer, fake_slack, session_factory, clock) -> None:
    draft(bot, signer, fake_slack)
    approve(bot, signer, fake_slack, session_factory)
    fake_slack.clear()

    sent = {}
    for when in ("2026-11-27 17:00", "2026-11-28 10:00", "2026-11-30 08:00", "2026-11-30 09:00", "2026-11-30 15:00", "2026-12-01 09:30"):
        clock.set(at(when))
        sent[when] = bot.services.run_letters().reminded

    # Not on the delivery day, not on Saturday, not before work; once on Monday; once on Tuesday.
    assert sent == {"2026-11-27 17:00": 0, "2026-11-28 10:00": 0, "2026-11-30 08:00": 0, "2026-11-30 09:00": 2, "2026-11-30 15:00": 0, "2026-12-01 09:30": 2}
    assert len(reminders_to(fake_slack, Y)) == 2 and len(reminders_to(fake_slack, BOSS)) == 2
    assert reminders_to(fake_slack, Y)[0] == (
        f"Reminder: *KF-2026-001* (Mistaken rejections of {Y_NAME} in 2026-11 and the improvement requested) awaits your acknowledgment; "
        "the reply is due *2026-12-04*. Press Acknowledge once you have read it."
    )
    fake_slack.clear()

    press(bot, signer, fake_slack, user=BOSS, action_id="letter.acknowledge", owner_of_dm=BOSS)

    assert answer(fake_slack) == "Thank you: KF-2026-001 is acknowledged. The reminders stop."
    stored = letter(session_factory)
    assert (stored.status, stored.acknowledged_by, stored.acknowledged_at) == ("acknowledged", BOSS, at("2026-12-01 09:30"))
    (announced,) = channel_texts(fake_slack, stored.announced_ts)
    assert announced == f":white_check_mark: KF-2026-001 acknowledged by <@{BOSS}> on 2026-12-01 09:30."
    fake_slack.clear()

    press(bot, signer, fake_slack, user=Y, action_id="letter.acknowledge", owner_of_dm=Y)  # the other recipient, later
    assert answer(fake_slack) == f"KF-2026-001 was already acknowledged by <@{BOSS}>; your acknowledgment is recorded too."
    clock.set(at("2026-12-02 10:00"))
    assert bot.services.run_letters().reminded == 0
    clock.set(at("2026-12-08 10:00"))  # past the deadline, but acknowledged: not overdue
    assert bot.services.run_letters().overdue == []
    assert [(a, n) for a, e, n in events(session_factory) if e == "acknowledged"] == [(BOSS, ""), (Y, "again")]
    assert channel_texts(fake_slack, stored.announced_ts) == [] and reminders_to(fake_slack, Y) == []


def test_only_a_recipient_acknowledges(bot, signer, fake_slack, session_factory) -> None:
    draft(bot, signer, fake_slack)
    approve(bot, signer, fake_slack, session_factory)
    fake_slack.clear()
    before = state(session_factory)

    press(bot, signer, fake_slack, user=OPS_HEAD, action_id="letter.acknowledge", owner_of_dm=Y)

    assert answer(fake_slack) == "Only the letter's recipients acknowledge KF-2026-001; nothing changed."
    assert state(session_factory) == before


def test_an_acknowledgment_while_the_delivery_is_unfinished_is_recorded_and_counts_once_it_completes(bot, signer, fake_slack, session_factory) -> None:
    bot.services.deps.notifier.backoff = Backoff(attempts=2, first=0.01)
    bot.services.deps.notifier.share_settle = 0
    draft(bot, signer, fake_slack)
    fake_slack.fail_next("files.completeUploadExternal", "internal_error", status=500, times=2)  # Y's DOCX: both tries
    stored = approve(bot, signer, fake_slack, session_factory)
    assert stored.status == "approved" and len(dm_messages(fake_slack, Y)) == 1 and dm_messages(fake_slack, BOSS) == []
    fake_slack.clear()

    press(bot, signer, fake_slack, user=Y, action_id="letter.acknowledge", owner_of_dm=Y)

    assert answer(fake_slack) == "Thank you: KF-2026-001 is acknowledged. The reminders stop."
    stored = letter(session_factory)
    assert (stored.status, stored.acknowledged_by) == ("approved", Y)  # recorded; the delivery is not done yet
    assert (Y, "acknowledged", "before delivery completed") in events(session_factory)
    assert channel_texts(fake_slack) == []
    fake_slack.clear()

    report = bot.services.run_letters()

    assert report.delivered == [stored.id]
    stored = letter(session_factory)
    assert (stored.status, stored.acknowledged_by) == ("acknowledged", Y)
    assert len([m for m in dm_messages(fake_slack, BOSS) if m.get("blocks")]) == 1  # the boss still gets the letter
    assert len(shared_files(fake_slack)) == 4  # each recipient's DOCX and PDF, each once
    (announcement,) = channel_texts(fake_slack)
    assert channel_texts(fake_slack, stored.announced_ts) == [f":white_check_mark: KF-2026-001 acknowledged by <@{Y}> on 2026-11-27 09:30."]
    assert bot.services.run_letters().reminded == 0
    fake_slack.clear()
    press(bot, signer, fake_slack, user=BOSS, action_id="letter.acknowledge", owner_of_dm=BOSS)  # the boss, later: recorded too
    assert answer(fake_slack) == f"KF-2026-001 was already acknowledged by <@{Y}>; your acknowledgment is recorded too."


def test_an_acknowledgment_before_the_presser_s_dm_went_out_is_refused(bot, signer, fake_slack, session_factory) -> None:
    bot.services.deps.notifier.backoff = Backoff(attempts=2, first=0.01)
    bot.services.deps.notifier.share_settle = 0
    draft(bot, signer, fake_slack)
    fake_slack.fail_next("files.completeUploadExternal", "internal_error", status=500, times=2)
    approve(bot, signer, fake_slack, session_factory)
    fake_slack.clear()
    before = state(session_factory)

    # the boss's DM is not out; a forged click with Y's DM (the boss is a recipient, but has no button yet)
    press(bot, signer, fake_slack, user=BOSS, action_id="letter.acknowledge", owner_of_dm=Y)

    assert answer(fake_slack) == "KF-2026-001 has not been delivered to you yet: acknowledge it from its DM once it arrives. Nothing changed."
    assert state(session_factory) == before


def test_unacknowledged_past_the_deadline_the_cs_lead_is_told_once(bot, signer, fake_slack, session_factory, clock) -> None:
    draft(bot, signer, fake_slack)
    approve(bot, signer, fake_slack, session_factory)
    clock.set(at("2026-12-04 17:00"))  # the deadline's day: not yet overdue
    assert bot.services.run_letters().overdue == []
    fake_slack.clear()
    clock.set(at("2026-12-05 10:00"))  # Saturday: nobody is messaged
    assert bot.services.run_letters().overdue == []
    clock.set(at("2026-12-07 09:00"))

    report = bot.services.run_letters()
    again = bot.services.run_letters()

    stored = letter(session_factory)
    assert report.overdue == [stored.id] and again.overdue == []
    assert stored.status == "overdue" and stored.overdue_told_at == at("2026-12-07 09:00")
    (told,) = [t for t in texts_to(fake_slack, f"D{CS_LEAD}") if "past its reply deadline" in t]
    assert told.startswith(
        f"*KF-2026-001* (Mistaken rejections of {Y_NAME} in 2026-11 and the improvement requested) is past its reply deadline 2026-12-04 "
        f"without an acknowledgment. Delivered 2026-11-27 09:30 to <@{Y}>, <@{BOSS}>; 4 reminders sent."  # on 4 and 7 December, to each of the two
    )
    assert stored.docx_sha256 in told
    fake_slack.clear()
    press(bot, signer, fake_slack, user=Y, action_id="letter.acknowledge", owner_of_dm=Y)  # late, but still recorded
    assert letter(session_factory).status == "acknowledged"


# --- the triggers ----------------------------------------------------------------------------------------


def escalate(session_factory, *days: str, owner: str = Y_NAME, level: int = 2) -> None:
    """Hand-built escalation rows about the owner's Friday thread, sent at each of ``days``."""
    with transaction(session_factory) as session:
        thread = session.exec(select(DigestMessage).where(DigestMessage.owner == owner, DigestMessage.page == 0)).first()
        for n, day in enumerate(days):
            session.add(FollowUp(
                key=f"escalate:{thread.id}:{level}:{day.replace(' ', 'T').replace(':', '')}", kind="escalate", thread_id=thread.id, level=level,
                recipient=BOSS if level == 2 else OPS_HEAD, sent_at=at(day), channel=f"D{BOSS}", ts=f"{n}.5",
            ))


def test_k_days_of_top_level_escalations_draft_a_letter_once(bot, session_factory, fake_slack, clock) -> None:
    escalate(session_factory, "2026-11-24 10:00", "2026-11-24 15:00", "2026-11-25 10:00")
    escalate(session_factory, "2026-11-26 10:00", level=1)  # not the top of the chain
    assert bot.services.run_letters().drafted == []  # two days so far

    escalate(session_factory, "2026-11-27 09:15")
    report = bot.services.run_letters()
    again = bot.services.run_letters()

    assert len(report.drafted) == 1 and again.drafted == []
    stored = letter(session_factory)
    assert (stored.owner, stored.month, stored.reason, stored.draft_key) == (Y_NAME, "2026-11", "escalations", f"letter:{Y_NAME}:2026-11")
    facts = facts_from_json(stored.facts)
    assert [(e.level, e.at) for e in facts.escalations] == [
        (2, at("2026-11-24 10:00")), (2, at("2026-11-24 15:00")), (2, at("2026-11-25 10:00")), (1, at("2026-11-26 10:00")), (2, at("2026-11-27 09:15")),
    ]
    assert report.drafts_sent == [stored.id]  # in working time: to the CS lead at once
    assert len(dm_messages(fake_slack, CS_LEAD)) == 1


def pdf_text(stored: Letter) -> str:
    from pypdf import PdfReader

    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(stored.pdf)).pages)


def name_lookups(fake_slack) -> list:
    """users.info calls for a name (those with include_locale ask for a person's language)."""
    return [c for c in fake_slack.calls_to("users.info") if str(c.params.get("include_locale", "")).lower() not in ("true", "1")]


def test_the_letter_names_the_managers_as_slack_shows_them_never_by_their_ids(bot, signer, session_factory, fake_slack, clock) -> None:
    escalate(session_factory, "2026-11-24 10:00", "2026-11-25 10:00")
    escalate(session_factory, "2026-11-26 10:00", level=1)
    command(bot, signer, fake_slack, f"letter {Y_NAME}", user=CS_AGENT)
    asked = sorted(c.params["user"] for c in name_lookups(fake_slack))
    fake_slack.clear()

    stored = approve(bot, signer, fake_slack, session_factory)

    assert asked == sorted([OPS_HEAD, BOSS])  # each manager once
    text = pdf_text(stored)
    assert "2026-11-24 10:00 第 2 级 发送给 赵刚" in text and "2026-11-26 10:00 第 1 级 发送给 王经理" in text  # display name, else real name
    assert BOSS not in text and OPS_HEAD not in text
    assert [(e.recipient, e.name) for e in facts_from_json(stored.facts).escalations] == [(BOSS, "赵刚"), (BOSS, "赵刚"), (OPS_HEAD, "王经理")]
    # Z's letter, with the same managers: their names are remembered, Slack is not asked again
    escalate(session_factory, "2026-11-25 11:00", owner=Z_NAME)
    fake_slack.clear()
    command(bot, signer, fake_slack, f"letter {Z_NAME}", user=CS_AGENT)
    assert name_lookups(fake_slack) == []
    z_letter = letters(session_factory)[-1]
    assert [(e.recipient, e.name) for e in facts_from_json(z_letter.facts).escalations] == [(BOSS, "赵刚")]


@pytest.mark.parametrize(("error", "status", "times"), [("user_not_found", None, 1), ("internal_error", 500, 2)])
def test_a_manager_slack_does_not_name_is_called_by_their_level_s_role(bot, signer, session_factory, fake_slack, clock, error, status, times) -> None:
    bot.services.deps.notifier.backoff = Backoff(attempts=2, first=0.01)
    escalate(session_factory, "2026-11-24 10:00")
    escalate(session_factory, "2026-11-26 10:00", level=1)
    for person in (CS_AGENT, CS_LEAD, Y):  # their languages known (and remembered): the next users.info is the boss's name
        fake_slack.set_user(person, locale="zh-CN")
        bot.services.deps.catalog_for(person)
    fake_slack.fail_next("users.info", error, status=status, times=times)  # the boss's users.info (a 500: both of the gateway's tries)

    draft(bot, signer, fake_slack)
    stored = approve(bot, signer, fake_slack, session_factory)

    text = pdf_text(stored)
    assert "2026-11-24 10:00 第 2 级 发送给 第 2 级上级" in text and "第 1 级 发送给 王经理" in text
    assert BOSS not in text


def test_an_automatic_draft_outside_working_time_waits_for_the_opening(bot, session_factory, fake_slack, clock) -> None:
    escalate(session_factory, "2026-11-24 10:00", "2026-11-25 10:00", "2026-11-26 10:00")
    clock.set(at("2026-11-27 19:00"))
    assert len(bot.services.run_letters().drafted) == 1
    assert dm_messages(fake_slack, CS_LEAD) == []
    clock.set(at("2026-11-30 09:00"))
    assert bot.services.run_letters().drafts_sent == [letter(session_factory).id]
    assert len(dm_messages(fake_slack, CS_LEAD)) == 1


def test_no_improvement_in_the_monthly_figures_drafts_a_letter_once_per_owner(bot, signer, session_factory, fake_slack, clock) -> None:
    # Y confirms three items of November; Z none.
    command(bot, signer, fake_slack, "confirm SO20261126000000 SO20261126000002 SO20261126000003", user=Y)
    deps = bot.services.deps
    figures, _ = figures_for(deps, Month(2026, 11), clock.now())
    assert figures.owner(Y_NAME).counts.mistaken == 3
    fake_slack.clear()
    # No items in October (the first notice after going live): nothing to compare with, no letter.
    assert figures.owner(Y_NAME).trend.previous is None
    assert draft_if_no_improvement(deps, figures, now=clock.now()) == []
    assert letters(session_factory) == [] and dm_messages(fake_slack, CS_LEAD) == []
    # Had October had 3 of Y's (and 4 of Z's, who has none now), Y did not improve.
    figures = replace(figures, owners=tuple(
        replace(o, trend=replace(o.trend, previous=3 if o.owner == Y_NAME else 4)) for o in figures.owners
    ))

    drafted = draft_if_no_improvement(deps, figures, now=clock.now())
    again = draft_if_no_improvement(deps, figures, now=clock.now())

    assert len(drafted) == 1 and again == []
    stored = letter(session_factory)
    assert (stored.owner, stored.reason, stored.month) == (Y_NAME, "no_improvement", "2026-11")
    assert facts_from_json(stored.facts).counts.confirmed == 3
    assert len(dm_messages(fake_slack, CS_LEAD)) == 1


# --- the list ------------------------------------------------------------------------------------------------


def test_anyone_lists_the_letters_with_numbers_statuses_dates_and_hashes(bot, signer, fake_slack, session_factory) -> None:
    draft(bot, signer, fake_slack, Y_NAME)
    stored = approve(bot, signer, fake_slack, session_factory)
    fake_slack.clear()
    draft(bot, signer, fake_slack, Z_NAME)

    command(bot, signer, fake_slack, "letters", user=Z)

    assert answer(fake_slack) == "\n".join([
        "*Work contact letters (2):*",
        f"• *KF-2026-001* — {Y_NAME}, 2026-11: delivered (drafted 2026-11-27 09:30)",
        f"    approved 2026-11-27 09:30 by <@{CS_LEAD}>; delivered 2026-11-27 09:30, reply due 2026-12-04",
        f"    SHA-256 DOCX `{stored.docx_sha256}` · PDF `{stored.pdf_sha256}`",
        f"• *draft #2* — {Z_NAME}, 2026-11: draft (drafted 2026-11-27 09:30)",
    ])
