"""Follow-up you can see and act on, end to end: ``/reject next`` (what the
bot will send, to whom and when), the escalation DM's buttons (remind the
owner now, confirm all for them, open the thread), and the ticker re-sending
review requests — through the real app from ``create_app`` into our fake
Slack Web API, on SQLite and PostgreSQL.

The sample export is imported and the digest of Friday 2026-11-27 posted at
08:30 (dispute deadline 18:00). The default policy: nudge after 2h, level 1
after 4h, level 2 after 9h of working time (09:00–18:00 Shanghai), fix window
18h, dispute reminder after 4h and escalation after 9h.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select
from support import effects

from bot.app import Bot
from bot.core.importing import parse_export
from bot.core.lifecycle import Action, Role, Status, Surface
from bot.fakeslack import block_actions, event_callback, reaction_event, slash_command
from bot.ids import ActionId
from storage import queries as q
from storage.db import transaction
from storage.imports import insert_records
from storage.models import AuditEntry, DigestMessage, FollowUp, Item

SHANGHAI = ZoneInfo("Asia/Shanghai")
SAMPLE = Path(__file__).resolve().parents[1] / "fixtures" / "samples" / "callbacks-2026-11-26.csv"
CHANNEL = "C0LOGISTICS"

Y, Z = "U0OWNERY", "U0OWNERZ"  # owners: 26 large items (two messages), 12 small items
DELEGATE_Y, OPS_HEAD, BOSS = "U0DELEGY", "U0OPSHEAD", "U0LOGIBOSS"  # chain of both owners: OPS_HEAD, BOSS
AGENT, OTHER_AGENT, CS_LEAD = "U0CS0001", "U0CS0002", "U0CSLEAD"
STRANGER = "U0NOBODY"
WANG_LI_ORDER = "SO20261126000002"  # Y's, callback agent 王丽 -> U0CS0001


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


# --- set-up and the database ------------------------------------------------------------


@pytest.fixture
def friday(bot, session_factory, clock, fake_slack) -> dict[str, DigestMessage]:
    """Friday's digest posted at 08:30: owner user -> their first message (the thread)."""
    records = parse_export(SAMPLE.read_bytes(), filename="callbacks.csv").records
    with transaction(session_factory) as session:
        insert_records(session=session, records=records, batch_id=None, now=clock.now(), timezone=SHANGHAI)
    bot.services.post_daily_digest()
    with transaction(session_factory) as session:
        firsts = session.exec(select(DigestMessage).where(DigestMessage.page == 0)).all()
    threads = {{"大件配送": Y, "小件配送": Z}[m.owner]: m for m in firsts}
    assert set(threads) == {Y, Z} and all(m.ts for m in threads.values()), "the digest did not post"
    fake_slack.clear()
    return threads


def statuses(session_factory, owner: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    with transaction(session_factory) as session:
        for item in session.exec(select(Item).where(Item.owner == owner)).all():
            counts[item.status] = counts.get(item.status, 0) + 1
    return counts


def confirmations(session_factory) -> list[tuple[str, str, str]]:
    with transaction(session_factory) as session:
        rows = session.exec(select(AuditEntry).where(AuditEntry.action == "confirm")).all()
    return [(r.actor, r.role, r.surface) for r in rows]


def digest_pages(session_factory, owner: str) -> list[str]:
    with transaction(session_factory) as session:
        return [m.ts for m in session.exec(select(DigestMessage).where(DigestMessage.owner == owner).order_by(DigestMessage.page)).all()]


# --- talking to the app as Slack would ------------------------------------------------------


def command(bot: Bot, signer, fake, text: str, user: str) -> str:
    """Run ``/reject <text>`` as ``user``; the private answer's text."""
    fake.clear()
    request = slash_command(signer, text=text, user_id=user, channel_id=CHANNEL, response_url=fake.response_url())
    assert bot.app.dispatch(request.to_bolt()).status == 200
    (answer,) = fake.calls_to("response_url")
    assert answer.params.get("response_type") == "ephemeral"
    return answer.params["text"]


def next_for(bot, signer, fake, user: str) -> str:
    return command(bot, signer, fake, "next", user)


def escalation_dm(fake, manager: str) -> dict:
    """The manager's escalation DM (current content), with its ``channel``."""
    (dm,) = [{**m, "channel": channel} for (channel, _), m in fake.messages.items() if channel == f"D{manager}"]
    return dm


def click(bot: Bot, signer, fake, *, action_id: str, thread: DigestMessage, user: str, manager: str = OPS_HEAD):
    """A click by ``user`` on a button of ``manager``'s escalation DM (a
    forwarded message, or someone else's screen: the payload is the same)."""
    dm = escalation_dm(fake, manager)
    request = block_actions(
        signer, user_id=user, action_id=action_id, value=str(thread.id), block_id=f"escalation-act-{thread.id}",
        channel_id=dm["channel"], message_ts=dm["ts"], message=dm,
        response_url=fake.response_url("click", channel=dm["channel"], ts=dm["ts"]),
    )
    response = bot.app.dispatch(request.to_bolt())
    assert response.status == 200
    return response


def answers(fake) -> list[str]:
    calls = fake.calls_to("response_url")
    assert all(c.params.get("response_type") == "ephemeral" for c in calls)
    return [c.params["text"] for c in calls]


def posted_in(fake, thread_ts: str) -> list[str]:
    return [
        c.params["text"] for c in fake.calls_to("chat.postMessage")
        if c.error is None and c.params["channel"] == CHANNEL and c.params.get("thread_ts") == thread_ts
    ]


def mentions(text: str) -> set[str]:
    return set(re.findall(r"<@(U[0-9A-Z]+)>", text))


def sweep_at(bot, clock, *times: str) -> None:
    for when in times:
        clock.set(at(when))
        bot.services.sweep()


@pytest.fixture
def escalated(bot, clock, fake_slack, friday) -> dict[str, DigestMessage]:
    """Nobody answered: nudged at 11:00, escalated to the operations head at 13:00."""
    sweep_at(bot, clock, "2026-11-27 11:00", "2026-11-27 13:00")
    return friday


# --- /reject next ----------------------------------------------------------------------------


def test_next_for_the_owner_before_the_nudge_lists_the_nudge_and_the_escalations_with_recipients(bot, signer, clock, fake_slack, friday) -> None:
    clock.set(at("2026-11-27 10:00"))

    text = next_for(bot, signer, fake_slack, Y)

    lines = text.splitlines()
    assert "Asia/Shanghai" in lines[0]
    assert "*大件配送*" in text and "2026-11-27" in text and "小件配送" not in text  # only the threads Y is involved in
    assert "26 item(s) await an answer; those still unanswered at 11-27 18:00 are deemed confirmed" in text
    assert f"• 11-27 11:00 — reminder in the thread, mentioning <@{Y}>" in lines
    assert f"• 11-27 13:00 — escalation level 1: DM to <@{OPS_HEAD}>" in lines
    # At 18:00 the items are deemed confirmed; the silence goes on, and so
    # does the ladder: level 2 on Monday 09:00. Nothing starts again when the
    # fix is due (Wednesday).
    after = lines.index("After 11-27 18:00, while a fix is missing:")
    assert lines[after + 1] == f"• 11-30 09:00 — escalation level 2: DM to <@{BOSS}>"
    assert "12-02" not in text and "12-03" not in text
    assert fake_slack.calls_to("chat.postMessage") == []  # only the private answer


def test_next_for_a_manager_lists_every_owner_they_are_escalated_for(bot, signer, clock, fake_slack, friday) -> None:
    clock.set(at("2026-11-27 10:00"))

    text = next_for(bot, signer, fake_slack, OPS_HEAD)

    assert "*大件配送*" in text and "*小件配送*" in text
    assert f"• 11-27 11:00 — reminder in the thread, mentioning <@{Z}>" in text.splitlines()


def test_next_for_the_delegate_lists_the_owner_s_thread(bot, signer, clock, fake_slack, friday) -> None:
    clock.set(at("2026-11-27 10:00"))

    text = next_for(bot, signer, fake_slack, DELEGATE_Y)

    assert "*大件配送*" in text and "小件配送" not in text


@pytest.mark.parametrize("user", [STRANGER, OTHER_AGENT])
def test_next_for_someone_with_nothing_ahead_says_nothing_is_planned(bot, signer, clock, fake_slack, friday, user) -> None:
    clock.set(at("2026-11-27 10:00"))

    assert next_for(bot, signer, fake_slack, user) == bot.services.catalog.t("followup.next_none")


def test_next_in_chinese_works_too(bot, signer, clock, fake_slack, friday) -> None:
    clock.set(at("2026-11-27 10:00"))

    assert command(bot, signer, fake_slack, "下一步", Y) == next_for(bot, signer, fake_slack, Y)


@pytest.mark.parametrize("user", [AGENT, CS_LEAD])
def test_next_for_cs_lists_a_dispute_s_reminders(bot, signer, clock, fake_slack, friday, user) -> None:
    # Disputed at 10:00: the agent at 14:00, the CS lead at 10:00 + 9h = Monday 10:00.
    clock.set(at("2026-11-27 10:00"))
    command(bot, signer, fake_slack, f"dispute {WANG_LI_ORDER} 客户当天改约", Y)
    clock.set(at("2026-11-27 10:30"))

    text = next_for(bot, signer, fake_slack, user)

    lines = text.splitlines()
    assert f"*{WANG_LI_ORDER}* · owner 大件配送 · callback agent 王丽 · disputed 11-27 10:00, awaiting re-verification" in lines
    assert f"• 11-27 14:00 — reminder DM to the callback agent <@{AGENT}>" in lines
    assert f"• 11-30 10:00 — escalation DM to the CS lead <@{CS_LEAD}>" in lines
    assert "大件配送* " not in text  # CS sees disputes, not the owners' threads


def test_a_dispute_is_not_listed_for_another_agent(bot, signer, clock, fake_slack, friday) -> None:
    clock.set(at("2026-11-27 10:00"))
    command(bot, signer, fake_slack, f"dispute {WANG_LI_ORDER} 客户当天改约", Y)

    assert next_for(bot, signer, fake_slack, OTHER_AGENT) == bot.services.catalog.t("followup.next_none")


def test_a_nudge_once_sent_is_no_longer_listed(bot, signer, clock, fake_slack, friday) -> None:
    sweep_at(bot, clock, "2026-11-27 11:00")
    assert posted_in(fake_slack, friday[Y].ts)  # the nudge went out
    clock.set(at("2026-11-27 11:30"))

    lines = next_for(bot, signer, fake_slack, Y).splitlines()

    assert f"• 11-27 11:00 — reminder in the thread, mentioning <@{Y}>" not in lines
    assert f"• 11-27 13:00 — escalation level 1: DM to <@{OPS_HEAD}>" in lines


def test_a_step_due_outside_working_hours_is_listed_as_waiting(bot, signer, clock, fake_slack, friday) -> None:
    # Y confirmed one item at 10:00 and nobody swept since: at 12:30 the
    # 12:00 nudge is due but not taken.
    clock.set(at("2026-11-27 10:00"))
    command(bot, signer, fake_slack, "confirm SO20261126000004", Y)
    clock.set(at("2026-11-27 12:30"))

    lines = next_for(bot, signer, fake_slack, Y).splitlines()

    assert f"• 11-27 12:00 — reminder in the thread, mentioning <@{Y}> (due: goes out at the next sweep in working hours)" in lines


def test_next_after_eyes_says_reminders_pause_until_the_deadline(bot, signer, clock, fake_slack, friday) -> None:
    clock.set(at("2026-11-27 09:30"))
    request = event_callback(signer, event=reaction_event(kind="reaction_added", user=Y, reaction="eyes", channel=CHANNEL, ts=friday[Y].ts), event_id="EvEyes")
    assert bot.app.dispatch(request.to_bolt()).status == 200

    text = next_for(bot, signer, fake_slack, Y)

    assert f"👀 acknowledged by <@{Y}> at 11-27 09:30: reminders pause until the deadline (11-27 18:00)." in text
    assert "11-27 11:00" not in text and "11-27 13:00" not in text


# --- the escalation DM and its buttons ---------------------------------------------------------


def test_the_escalation_dm_has_buttons_per_thread_and_keeps_its_text(bot, fake_slack, escalated) -> None:
    dm = escalation_dm(fake_slack, OPS_HEAD)

    y, z = escalated[Y], escalated[Z]
    head, y_part, z_part = dm["text"].split("\n\n")
    assert "2 logistics thread(s)" in head and "大件配送" in y_part and "小件配送" in z_part
    for thread in (y, z):
        (actions,) = [b for b in dm["blocks"] if b.get("block_id") == f"escalation-act-{thread.id}"]
        remind, confirm_all, open_thread = actions["elements"]
        assert (remind["action_id"], remind["value"]) == (ActionId.REMIND_OWNER, str(thread.id))
        assert (confirm_all["action_id"], confirm_all["value"]) == (ActionId.CONFIRM_FOR_OWNER, str(thread.id))
        assert open_thread["url"] == f"https://rejectbot-test.slack.com/archives/{CHANNEL}/p{thread.ts.replace('.', '')}"
        (section,) = [b for b in dm["blocks"] if b.get("block_id") == f"escalation-{thread.id}"]
        assert section["text"]["text"] in (y_part, z_part)


def test_remind_now_by_the_manager_posts_one_reminder_in_the_owner_s_thread(bot, signer, session_factory, clock, fake_slack, escalated) -> None:
    y = escalated[Y]
    clock.set(at("2026-11-27 13:01"))
    fake_slack.clear()

    click(bot, signer, fake_slack, action_id=ActionId.REMIND_OWNER, thread=y, user=OPS_HEAD)

    (reminder,) = posted_in(fake_slack, y.ts)
    assert mentions(reminder) == {Y, OPS_HEAD} and reminder.startswith(f"<@{Y}>")
    assert "26 item(s)" in reminder and "11-27 18:00" in reminder
    assert [c.method for c in effects(fake_slack)] == ["chat.postMessage", "response_url"]
    assert answers(fake_slack) == ["Reminder posted in 大件配送's thread."]

    # A second click within the ten minutes posts nothing and says why.
    clock.set(at("2026-11-27 13:08"))
    fake_slack.clear()
    click(bot, signer, fake_slack, action_id=ActionId.REMIND_OWNER, thread=y, user=OPS_HEAD)

    assert fake_slack.calls_to("chat.postMessage") == []
    (answer,) = answers(fake_slack)
    assert "just posted" in answer and "10 minutes" in answer

    # In the next ten minutes it may remind again.
    clock.set(at("2026-11-27 13:12"))
    fake_slack.clear()
    click(bot, signer, fake_slack, action_id=ActionId.REMIND_OWNER, thread=y, user=OPS_HEAD)

    assert len(posted_in(fake_slack, y.ts)) == 1
    with transaction(session_factory) as session:
        assert not [r for r in session.exec(select(FollowUp)).all() if r.sent_at >= at("2026-11-27 13:01")]  # not a ladder step


@pytest.mark.parametrize("user", [Z, STRANGER, AGENT, Y], ids=["another-owner", "stranger", "cs", "the-owner-itself"])
def test_the_escalation_buttons_refuse_anyone_but_the_owner_s_delegates_and_managers(bot, signer, session_factory, clock, fake_slack, escalated, user) -> None:
    y = escalated[Y]
    clock.set(at("2026-11-27 13:01"))
    fake_slack.clear()

    click(bot, signer, fake_slack, action_id=ActionId.REMIND_OWNER, thread=y, user=user)
    click(bot, signer, fake_slack, action_id=ActionId.CONFIRM_FOR_OWNER, thread=y, user=user)

    assert fake_slack.calls_to("chat.postMessage") == [] and fake_slack.calls_to("chat.update") == []
    assert answers(fake_slack) == ["Only the delegates and managers of 大件配送 can use these buttons; nothing changed."] * 2
    assert statuses(session_factory, "大件配送") == {"awaiting": 26}


def test_the_delegate_may_remind_the_owner_too(bot, signer, clock, fake_slack, escalated) -> None:
    clock.set(at("2026-11-27 13:01"))
    fake_slack.clear()

    click(bot, signer, fake_slack, action_id=ActionId.REMIND_OWNER, thread=escalated[Y], user=DELEGATE_Y)

    (reminder,) = posted_in(fake_slack, escalated[Y].ts)
    assert mentions(reminder) == {Y, DELEGATE_Y}


def test_confirm_all_for_them_confirms_the_thread_s_awaiting_items_as_the_manager(bot, signer, session_factory, clock, fake_slack, escalated) -> None:
    y = escalated[Y]
    clock.set(at("2026-11-27 13:05"))
    fake_slack.clear()

    click(bot, signer, fake_slack, action_id=ActionId.CONFIRM_FOR_OWNER, thread=y, user=OPS_HEAD)

    assert statuses(session_factory, "大件配送") == {"confirmed": 26}
    assert statuses(session_factory, "小件配送") == {"awaiting": 12}  # the other owner's thread is not touched
    assert confirmations(session_factory) == [(OPS_HEAD, "manager", "button")] * 26
    updated = [c.params["ts"] for c in fake_slack.calls_to("chat.update") if c.error is None]
    assert sorted(updated) == sorted(digest_pages(session_factory, "大件配送"))  # both of Y's messages show it
    assert "0 awaiting" in fake_slack.messages[(CHANNEL, y.ts)]["text"]
    (answer,) = answers(fake_slack)
    assert answer.startswith("✅ Confirmed 26:")

    # A second click changes nothing.
    clock.set(at("2026-11-27 13:06"))
    fake_slack.clear()
    click(bot, signer, fake_slack, action_id=ActionId.CONFIRM_FOR_OWNER, thread=y, user=OPS_HEAD)

    assert fake_slack.calls_to("chat.update") == [] and fake_slack.calls_to("chat.postMessage") == []
    assert answers(fake_slack) == ["Nothing on 大件配送's digest of 2026-11-27 awaits an answer any more; nothing changed."]
    assert len(confirmations(session_factory)) == 26


def test_after_confirming_for_the_owner_the_ladder_waits_for_the_fix_window(bot, signer, session_factory, clock, fake_slack, escalated) -> None:
    # Confirmed at 13:05 Friday: the fix window (18h) runs 4h55 on Friday, 9h
    # on Monday and 4h05 on Tuesday -> quiet from 12-01 13:05, nudge 15:05.
    clock.set(at("2026-11-27 13:05"))
    click(bot, signer, fake_slack, action_id=ActionId.CONFIRM_FOR_OWNER, thread=escalated[Y], user=OPS_HEAD)
    clock.set(at("2026-11-27 13:30"))

    lines = next_for(bot, signer, fake_slack, Y).splitlines()

    assert not any(line.startswith("• 11-27") for line in lines)
    assert f"• 12-01 15:05 — reminder in the thread, mentioning <@{Y}>" in lines


def test_remind_now_after_the_owner_answered_reminds_of_the_missing_fixes(bot, signer, clock, fake_slack, escalated) -> None:
    y = escalated[Y]
    clock.set(at("2026-11-27 13:05"))
    command(bot, signer, fake_slack, "confirm all", Y)
    fake_slack.clear()

    click(bot, signer, fake_slack, action_id=ActionId.REMIND_OWNER, thread=y, user=OPS_HEAD)

    (reminder,) = posted_in(fake_slack, y.ts)
    assert "no fix recorded" in reminder and "await" not in reminder


def test_remind_now_when_nothing_is_open_any_more_sends_nothing(bot, signer, session_factory, clock, fake_slack, escalated) -> None:
    y = escalated[Y]
    clock.set(at("2026-11-27 13:05"))
    command(bot, signer, fake_slack, "confirm all", Y)
    with transaction(session_factory) as session:  # set-up: every item of Y's got its fix
        ids = [i.id for i in session.exec(select(Item).where(Item.owner == "大件配送")).all()]
        change = q.Change(Action.FIX, Status.FIXED, Y, Role.OWNER, Surface.COMMAND, "已重新配送")
        assert len(q.transition_many(session=session, item_ids=ids, expected=Status.CONFIRMED, change=change, now=clock.now())) == 26
    fake_slack.clear()

    click(bot, signer, fake_slack, action_id=ActionId.REMIND_OWNER, thread=y, user=OPS_HEAD)

    assert fake_slack.calls_to("chat.postMessage") == []
    assert answers(fake_slack) == ["Nothing on 大件配送's digest of 2026-11-27 is open any more; no reminder was sent."]


def test_a_stale_escalation_button_is_answered(bot, signer, clock, fake_slack, escalated) -> None:
    dm = escalation_dm(fake_slack, OPS_HEAD)
    fake_slack.clear()
    request = block_actions(
        signer, user_id=OPS_HEAD, action_id=ActionId.REMIND_OWNER, value="999999", block_id="escalation-act-999999",
        channel_id=dm["channel"], message_ts=dm["ts"], message=dm, response_url=fake_slack.response_url("click"),
    )
    assert bot.app.dispatch(request.to_bolt()).status == 200

    assert fake_slack.calls_to("chat.postMessage") == []
    assert "expired" in answers(fake_slack)[0]


def test_the_link_button_is_acknowledged_and_does_nothing(bot, signer, clock, fake_slack, escalated) -> None:
    dm = escalation_dm(fake_slack, OPS_HEAD)
    fake_slack.clear()
    request = block_actions(
        signer, user_id=OPS_HEAD, action_id=ActionId.OPEN_THREAD, value="", block_id=f"escalation-act-{escalated[Y].id}",
        channel_id=dm["channel"], message_ts=dm["ts"], message=dm, response_url=fake_slack.response_url("click"),
    )

    assert bot.app.dispatch(request.to_bolt()).status == 200
    assert fake_slack.calls == []


# --- the ticker ----------------------------------------------------------------------------------


def test_the_ticker_sends_a_review_request_whose_first_send_failed(bot, signer, session_factory, clock, fake_slack, friday) -> None:
    clock.set(at("2026-11-27 10:00"))
    fake_slack.fail_next("chat.postMessage", error="fatal_error")
    command(bot, signer, fake_slack, f"dispute {WANG_LI_ORDER} 客户当天改约", Y)
    assert [m for (channel, _), m in fake_slack.messages.items() if channel == f"D{AGENT}"] == []

    clock.set(at("2026-11-27 10:11"))  # the failed claim's lease ran out
    bot.services.tick()
    bot.services.tick()

    (review,) = [m for (channel, _), m in fake_slack.messages.items() if channel == f"D{AGENT}"]
    with transaction(session_factory) as session:
        item = session.exec(select(Item).where(Item.order_no == WANG_LI_ORDER)).one()
    assert item.review_ts == review["ts"]
