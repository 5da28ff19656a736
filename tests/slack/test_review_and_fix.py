"""Disputes going back to customer service, CS upholding or overruling them,
and owners recording fixes — end to end: signed Slack requests through the
real app from ``create_app`` into our fake Slack Web API, on SQLite and
PostgreSQL.

Assertions look only at outcomes: the database (items, audit rows,
penalties, the ledger, thread state) and the Web API calls the fake recorded
(and the messages' current content).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select
from support import effects

from bot.core.importing import parse_export
from bot.core.lifecycle import Action, Role, Status, Surface
from bot.fakeslack import block_actions, slash_command, view_submission
from storage import queries as q
from storage.db import transaction
from storage.imports import insert_records
from storage.models import AuditEntry, DigestMessage, Item, Penalty, SideEffect

SHANGHAI = ZoneInfo("Asia/Shanghai")
SAMPLE = Path(__file__).resolve().parents[1] / "fixtures" / "samples" / "callbacks-2026-11-26.csv"
CHANNEL = "C0LOGISTICS"

Y, Z = "U0OWNERY", "U0OWNERZ"
DELEGATE_Y = "U0DELEGY"
WANG_LI, CHEN_JING, CS_LEAD = "U0CS0001", "U0CS0002", "U0CSLEAD"  # agents 王丽, 陈静 (routing), the CS lead

# Sample orders (rejected 2026-11-26) and their callback agents.
WANG = "SO20261126000002"  # Y's, on Y's first message; agent 王丽
OTHER_Y = "SO20261126000003"  # Y's, on Y's first message; agent 王丽
NO_AGENT = "SO20261126000000"  # Y's, on Y's first message; agent 张敏: not in cs.agents
IN_THREAD = "SO20261126000036"  # Y's, on Y's continuation in the thread; agent 刘洋: not in cs.agents
CHEN = "SO20261126000001"  # Z's; agent 陈静
REASON = "配送员有客户签收照片 <已存档>"
EVIDENCE = "回访录音 11-27 14:22：客户确认当天未收货"
FIX_NOTE = "已于 11-28 重新配送，客户已签收"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


# --- the database ---------------------------------------------------------------------


def seed(session_factory, clock) -> None:
    records = parse_export(SAMPLE.read_bytes(), filename="callbacks.csv").records
    with transaction(session_factory) as session:
        insert_records(session=session, records=records, batch_id=None, now=clock.now(), timezone=SHANGHAI)


def item(session_factory, order: str) -> Item:
    with transaction(session_factory) as session:
        return session.exec(select(Item).where(Item.order_no == order)).one()


def item_id(session_factory, order: str) -> int:
    return item(session_factory, order).id


def status(session_factory, order: str) -> str:
    return item(session_factory, order).status


def audit(session_factory, order: str) -> list[tuple[str, str, str, str, str, str]]:
    """(actor, role, surface, action, new status, note) of the people acting on the order."""
    with transaction(session_factory) as session:
        rows = session.exec(
            select(AuditEntry).join(Item, AuditEntry.item_id == Item.id).where(Item.order_no == order).order_by(AuditEntry.id)
        ).all()
    return [(a.actor, a.role, a.surface, a.action, a.to_status, a.note) for a in rows if a.action != "post"]


def penalties(session_factory) -> list[tuple[str, str, str, str, int]]:
    """(order, kind, person, user, amount) of every penalty booked."""
    with transaction(session_factory) as session:
        rows = session.exec(select(Penalty, Item).join(Item, Penalty.item_id == Item.id).order_by(Penalty.id)).all()
    return [(i.order_no, p.kind, p.person, p.user, p.amount) for p, i in rows]


def snapshot(session_factory) -> tuple:
    """Everything an action could change."""
    with transaction(session_factory) as session:
        statuses = {i.order_no: i.status for i in session.exec(select(Item)).all()}
        counts = (
            len(session.exec(select(AuditEntry)).all()),
            len(session.exec(select(Penalty)).all()),
            len(session.exec(select(SideEffect)).all()),
        )
        activity = [m.last_activity_at for m in session.exec(select(DigestMessage).order_by(DigestMessage.id)).all()]
    return statuses, counts, activity


def first_page(session_factory, owner: str = "大件配送") -> DigestMessage:
    with transaction(session_factory) as session:
        return session.exec(select(DigestMessage).where(DigestMessage.owner == owner, DigestMessage.page == 0)).one()


def deem(session_factory, clock, order: str) -> None:
    """Set up: the deadline passed and the item became deemed confirmed."""
    with transaction(session_factory) as session:
        target = session.exec(select(Item).where(Item.order_no == order)).one()
        change = q.Change(Action.DEEM, Status.DEEMED_CONFIRMED, "system", Role.SYSTEM, Surface.SCHEDULER)
        assert q.transition_item(session=session, item=target, change=change, now=clock.now())


# --- talking to the app as Slack would -------------------------------------------------


def command(bot, signer, fake, text: str, user: str = Y):
    request = slash_command(signer, text=text, user_id=user, channel_id=CHANNEL, response_url=fake.response_url())
    return bot.app.dispatch(request.to_bolt())


def click(bot, signer, fake, *, action_id: str, value: str, user: str, channel: str, ts: str, block_id: str):
    request = block_actions(
        signer, user_id=user, action_id=action_id, value=value, block_id=block_id, channel_id=channel,
        message_ts=ts, message=fake.messages.get((channel, ts)), response_url=fake.response_url("click", channel=channel, ts=ts),
    )
    return bot.app.dispatch(request.to_bolt())


def click_review(bot, signer, fake, session_factory, order: str, action_id: str, user: str):
    """A click on the re-verification DM's Uphold or Overrule button."""
    target = item(session_factory, order)
    return click(
        bot, signer, fake, action_id=action_id, value=str(target.id), user=user,
        channel=target.review_channel, ts=target.review_ts, block_id=f"review-act-{target.id}",
    )


def click_fix(bot, signer, fake, session_factory, order: str, user: str = Y):
    """A click on the Fix button under the item on its digest message."""
    target = item_id(session_factory, order)
    (ts,) = messages_showing(fake, target)
    return click(bot, signer, fake, action_id="item.fix", value=str(target), user=user, channel=CHANNEL, ts=ts, block_id=f"state-{target}")


def submit(bot, signer, view: dict, user: str, values: dict):
    request = view_submission(
        signer, user_id=user, callback_id=view["callback_id"], private_metadata=view["private_metadata"], values=values,
    )
    return bot.app.dispatch(request.to_bolt())


def opened_view(fake) -> dict:
    (opened,) = fake.calls_to("views.open")
    assert opened.error is None
    return opened.params["view"]


# --- what the fake Slack saw -------------------------------------------------------------


def replies(fake) -> list[str]:
    calls = fake.calls_to("response_url")
    assert all(c.params.get("response_type") == "ephemeral" for c in calls)
    return [c.params["text"] for c in calls]


def ephemerals(fake) -> list[tuple[str, str]]:
    return [(c.params["user"], c.params["text"]) for c in fake.calls_to("chat.postEphemeral")]


def updated(fake) -> list[tuple[str, str]]:
    """(channel, ts) of every message changed with chat.update, in order."""
    return [(c.params["channel"], c.params["ts"]) for c in fake.calls_to("chat.update") if c.error is None]


def dms(fake, user: str) -> list[dict]:
    """The bot's messages in its DM with ``user``, oldest first (current content)."""
    return [m for (channel, _), m in sorted(fake.messages.items(), key=lambda kv: kv[0][1]) if channel == f"D{user}"]


def digest_ts(fake, owner_user: str) -> str:
    (ts,) = [m["ts"] for m in fake.channel_history(CHANNEL) if f"<@{owner_user}>" in json.dumps(m["blocks"])]
    return ts


def thread_replies(fake, owner_user: str) -> list[dict]:
    """The bot's replies in the owner's digest thread that are not digest pages."""
    return [
        m for m in fake.thread(CHANNEL, digest_ts(fake, owner_user))
        if not any(b.get("block_id", "").startswith("item-") for b in m["blocks"])
    ]


def messages_showing(fake, item: int) -> list[str]:
    return [
        ts for (channel, ts), m in fake.messages.items()
        if channel == CHANNEL and any(b.get("block_id") == f"item-{item}" for b in m["blocks"])
    ]


def shown_state(fake, item: int) -> tuple[str, list[str]]:
    """What the digest shows under the item: (text, action ids of its buttons)."""
    (ts,) = messages_showing(fake, item)
    for block in fake.messages[(CHANNEL, ts)]["blocks"]:
        if block.get("block_id") == f"act-{item}":
            return "", [e["action_id"] for e in block["elements"]]
        if block.get("block_id") == f"state-{item}":
            if block["type"] == "section":
                accessory = block.get("accessory")
                return block["text"]["text"], [accessory["action_id"]] if accessory else []
            return block["elements"][0]["text"], []
    raise AssertionError(f"no state shown for item {item}")


def buttons(message: dict) -> list[tuple[str, str]]:
    return [
        (e["action_id"], e["value"])
        for b in message["blocks"] for e in [b.get("accessory"), *b.get("elements", [])]
        if isinstance(e, dict) and e.get("type") == "button"
    ]


def text_of(message: dict) -> str:
    return message["text"] + json.dumps(message["blocks"], ensure_ascii=False)


@pytest.fixture
def digest(bot, session_factory, clock, fake_slack) -> None:
    """The sample export imported and today's digest posted; recorded calls cleared."""
    seed(session_factory, clock)
    bot.services.post_daily_digest()
    assert len(fake_slack.calls_to("chat.postMessage")) == 4, "the digest did not post (see the core loop tests)"
    fake_slack.clear()
    clock.set(at("2026-11-27 09:15"))


@pytest.fixture
def disputed(bot, signer, fake_slack, session_factory, clock, digest) -> None:
    """Y disputed WANG (agent 王丽); recorded calls cleared; half an hour passes."""
    command(bot, signer, fake_slack, f"dispute {WANG} {REASON}")
    assert status(session_factory, WANG) == "disputed"
    fake_slack.clear()
    clock.advance(timedelta(minutes=30))


# --- a dispute goes back to CS ------------------------------------------------------------


def test_a_dispute_goes_to_the_owner_s_thread_and_to_the_callback_agent_with_buttons(bot, signer, fake_slack, session_factory, digest) -> None:
    response = command(bot, signer, fake_slack, f"dispute {WANG} {REASON}")

    assert response.status == 200
    target = item(session_factory, WANG)
    assert target.status == "disputed"
    (dm,) = dms(fake_slack, WANG_LI)
    assert buttons(dm) == [("dispute.uphold", str(target.id)), ("dispute.overrule", str(target.id))]
    text = text_of(dm)
    assert WANG in text and "大件配送" in text and f"<@{Y}>" in text  # the item and its owner
    assert "曹女士 13339701014" in text  # the full customer: a DM to CS
    assert "配送员有客户签收照片 &lt;已存档&gt;" in text  # the reason
    assert (target.review_channel, target.review_ts) == (f"D{WANG_LI}", dm["ts"])
    (reply,) = thread_replies(fake_slack, Y)
    assert reply["thread_ts"] == digest_ts(fake_slack, Y)
    assert WANG in reply["text"] and f"<@{WANG_LI}>" in reply["text"] and "13339701014" not in reply["text"]
    with transaction(session_factory) as session:
        assert q.find_effect(session=session, key=f"review:{target.id}").done_at is not None
    (answer,) = replies(fake_slack)
    assert "Disputed 1" in answer


def test_a_dispute_of_an_item_on_a_continuation_goes_to_the_first_message_s_thread_and_to_the_cs_lead(bot, signer, fake_slack, session_factory, digest) -> None:
    """刘洋 has no Slack user in the routing file: the CS lead gets the DM."""
    command(bot, signer, fake_slack, f"dispute {IN_THREAD} 客户改约")

    target = item(session_factory, IN_THREAD)
    (dm,) = [m for m in dms(fake_slack, CS_LEAD) if any(b.get("block_id") == "review-head" for b in m["blocks"])]
    assert buttons(dm) == [("dispute.uphold", str(target.id)), ("dispute.overrule", str(target.id))]
    assert "刘洋" in text_of(dm) and "no Slack user" in text_of(dm)
    assert target.review_channel == f"D{CS_LEAD}"
    assert dms(fake_slack, WANG_LI) == []
    (reply,) = thread_replies(fake_slack, Y)
    assert reply["thread_ts"] == digest_ts(fake_slack, Y)  # page 0, not the continuation the item is on
    assert IN_THREAD in reply["text"]


def test_a_dispute_by_button_and_form_goes_back_to_cs_too(bot, signer, fake_slack, session_factory, digest) -> None:
    target = item_id(session_factory, CHEN)
    click(bot, signer, fake_slack, action_id="item.dispute", value=str(target), user=Z, channel=CHANNEL,
          ts=digest_ts(fake_slack, Z), block_id=f"act-{target}")

    submit(bot, signer, opened_view(fake_slack), Z, {"dispute.reason": {"dispute.reason_input": REASON}})

    assert status(session_factory, CHEN) == "disputed"
    (dm,) = dms(fake_slack, CHEN_JING)
    assert buttons(dm) == [("dispute.uphold", str(target)), ("dispute.overrule", str(target))]
    (reply,) = thread_replies(fake_slack, Z)
    assert CHEN in reply["text"]


def test_a_repeated_dispute_asks_cs_once(bot, signer, fake_slack, session_factory, disputed) -> None:
    before = snapshot(session_factory)

    command(bot, signer, fake_slack, f"dispute {WANG} {REASON}")

    assert snapshot(session_factory) == before
    assert fake_slack.calls_to("chat.postMessage") == []
    assert len(dms(fake_slack, WANG_LI)) == 1
    assert "Already disputed" in replies(fake_slack)[0]


def test_a_review_request_that_slack_refused_is_sent_later_once(bot, signer, fake_slack, session_factory, clock, digest) -> None:
    fake_slack.fail_next("chat.postMessage", error="fatal_error")

    command(bot, signer, fake_slack, f"dispute {WANG} {REASON}")

    assert status(session_factory, WANG) == "disputed"  # the dispute itself stands
    assert dms(fake_slack, WANG_LI) == [] and thread_replies(fake_slack, Y) == []
    assert "Disputed 1" in replies(fake_slack)[0]
    assert bot.services.send_pending_reviews() == 0  # the failed claim's lease is still live
    clock.advance(timedelta(minutes=11))

    assert bot.services.send_pending_reviews() == 1
    assert bot.services.send_pending_reviews() == 0

    (dm,) = dms(fake_slack, WANG_LI)
    assert item(session_factory, WANG).review_ts == dm["ts"]
    assert len(thread_replies(fake_slack, Y)) == 1


# --- CS upholds ------------------------------------------------------------------------------


def test_the_agent_upholds_by_button_withdraws_the_item_and_books_the_penalty(bot, signer, fake_slack, session_factory, clock, disputed) -> None:
    target = item(session_factory, WANG)

    response = click_review(bot, signer, fake_slack, session_factory, WANG, "dispute.uphold", WANG_LI)

    assert response.status == 200
    assert status(session_factory, WANG) == "withdrawn"
    assert audit(session_factory, WANG)[-1] == (WANG_LI, "cs_agent", "button", "uphold", "withdrawn", "")
    assert penalties(session_factory) == [(WANG, "cs_accuracy", "王丽", WANG_LI, 50)]
    # the review DM now says what was decided, without buttons
    assert (target.review_channel, target.review_ts) in updated(fake_slack)
    review = fake_slack.messages[(target.review_channel, target.review_ts)]
    assert buttons(review) == [] and f"<@{WANG_LI}>" in text_of(review) and "¥50" in text_of(review)
    # the digest message shows it
    assert (CHANNEL, digest_ts(fake_slack, Y)) in updated(fake_slack)
    state, actions = shown_state(fake_slack, target.id)
    assert "withdrawn" in state and actions == []
    # the owner hears it in their thread; the agent hears of the penalty
    upheld = thread_replies(fake_slack, Y)[-1]
    assert upheld["text"].startswith(f"<@{Y}>") and WANG in upheld["text"] and "withdrawn" in upheld["text"]
    notice = dms(fake_slack, WANG_LI)[-1]
    assert "¥50" in notice["text"] and "王丽" in notice["text"] and WANG in notice["text"]
    (answer,) = replies(fake_slack)
    assert "upheld" in answer and WANG in answer


def test_a_double_click_on_uphold_books_one_penalty(bot, signer, fake_slack, session_factory, disputed) -> None:
    click_review(bot, signer, fake_slack, session_factory, WANG, "dispute.uphold", WANG_LI)
    fake_slack.clear()
    before = snapshot(session_factory)

    response = click_review(bot, signer, fake_slack, session_factory, WANG, "dispute.uphold", WANG_LI)

    assert response.status == 200
    assert snapshot(session_factory) == before
    assert penalties(session_factory) == [(WANG, "cs_accuracy", "王丽", WANG_LI, 50)]
    assert [a for a in audit(session_factory, WANG) if a[3] == "uphold"] == [(WANG_LI, "cs_agent", "button", "uphold", "withdrawn", "")]
    assert updated(fake_slack) == [] and fake_slack.calls_to("chat.postMessage") == []
    (answer,) = replies(fake_slack)
    assert "Already upheld" in answer


def test_the_cs_lead_upholds_by_command_with_a_note(bot, signer, fake_slack, session_factory, disputed) -> None:
    command(bot, signer, fake_slack, f"申诉成立 {WANG} 回访时听错了", user=CS_LEAD)

    assert status(session_factory, WANG) == "withdrawn"
    assert audit(session_factory, WANG)[-1] == (CS_LEAD, "cs_lead", "command", "uphold", "withdrawn", "回访时听错了")
    assert penalties(session_factory) == [(WANG, "cs_accuracy", "王丽", WANG_LI, 50)]  # against the agent, not the lead
    review = dms(fake_slack, WANG_LI)[0]
    assert buttons(review) == [] and "回访时听错了" in text_of(review)


@pytest.mark.parametrize("surface", ["command", "button"])
@pytest.mark.parametrize("user", [Y, DELEGATE_Y], ids=["owner", "delegate"])
def test_only_cs_can_uphold(bot, signer, fake_slack, session_factory, disputed, surface, user) -> None:
    before = snapshot(session_factory)

    if surface == "command":
        command(bot, signer, fake_slack, f"uphold {WANG}", user=user)
    else:
        click_review(bot, signer, fake_slack, session_factory, WANG, "dispute.uphold", user)

    assert snapshot(session_factory) == before
    assert penalties(session_factory) == []
    assert updated(fake_slack) == [] and fake_slack.calls_to("chat.postMessage") == []
    (answer,) = replies(fake_slack)
    assert "Only customer service can resolve disputes" in answer and WANG in answer and "nothing changed" in answer


def test_upholding_an_item_that_is_not_disputed_is_refused(bot, signer, fake_slack, session_factory, digest) -> None:
    before = snapshot(session_factory)

    command(bot, signer, fake_slack, f"uphold {OTHER_Y}", user=WANG_LI)

    assert snapshot(session_factory) == before
    (answer,) = replies(fake_slack)
    assert "not disputed" in answer and "nothing changed" in answer


# --- CS overrules -----------------------------------------------------------------------------


def test_the_agent_overrules_with_evidence_in_the_form_and_the_owner_is_told(bot, signer, fake_slack, session_factory, disputed) -> None:
    target = item(session_factory, WANG)
    click_review(bot, signer, fake_slack, session_factory, WANG, "dispute.overrule", WANG_LI)
    view = opened_view(fake_slack)
    assert view["callback_id"] == "overrule.submit" and WANG in json.dumps(view, ensure_ascii=False)
    assert status(session_factory, WANG) == "disputed"  # opening the form changes nothing

    response = submit(bot, signer, view, WANG_LI, {"overrule.evidence": {"overrule.evidence_input": f"  {EVIDENCE} "}})

    assert response.status == 200
    assert status(session_factory, WANG) == "confirmed"
    assert audit(session_factory, WANG)[-1] == (WANG_LI, "cs_agent", "modal", "overrule", "confirmed", EVIDENCE)
    assert penalties(session_factory) == []
    told = thread_replies(fake_slack, Y)[-1]
    assert told["text"].startswith(f"<@{Y}>") and WANG in told["text"] and EVIDENCE in told["text"]
    review = fake_slack.messages[(target.review_channel, target.review_ts)]
    assert buttons(review) == [] and EVIDENCE in text_of(review)
    state, actions = shown_state(fake_slack, target.id)
    assert "confirmed" in state and f"<@{WANG_LI}>" in state and actions == ["item.fix"]  # now it needs its fix
    (answer,) = ephemerals(fake_slack)
    assert answer[0] == WANG_LI and "overruled" in answer[1]


def test_overrule_by_command_with_evidence(bot, signer, fake_slack, session_factory, disputed) -> None:
    command(bot, signer, fake_slack, f"驳回 {WANG} {EVIDENCE}", user=CHEN_JING)  # any CS agent may

    assert status(session_factory, WANG) == "confirmed"
    assert audit(session_factory, WANG)[-1] == (CHEN_JING, "cs_agent", "command", "overrule", "confirmed", EVIDENCE)
    assert EVIDENCE in thread_replies(fake_slack, Y)[-1]["text"]


def test_overrule_without_evidence_is_refused(bot, signer, fake_slack, session_factory, disputed) -> None:
    before = snapshot(session_factory)

    response = command(bot, signer, fake_slack, f"overrule {WANG}", user=WANG_LI)

    assert response.status == 200
    assert snapshot(session_factory) == before
    assert updated(fake_slack) == [] and fake_slack.calls_to("chat.postMessage") == []
    (answer,) = replies(fake_slack)
    assert "needs evidence" in answer and WANG in answer and "nothing changed" in answer


def test_the_overrule_form_without_evidence_shows_an_error_in_it(bot, signer, fake_slack, session_factory, disputed) -> None:
    click_review(bot, signer, fake_slack, session_factory, WANG, "dispute.overrule", WANG_LI)
    view = opened_view(fake_slack)
    fake_slack.clear()
    before = snapshot(session_factory)

    response = submit(bot, signer, view, WANG_LI, {"overrule.evidence": {"overrule.evidence_input": "   "}})

    body = json.loads(response.body)
    assert body["response_action"] == "errors" and "evidence" in body["errors"]["overrule.evidence"]
    assert snapshot(session_factory) == before
    assert effects(fake_slack) == []


def test_the_overrule_button_by_the_owner_answers_instead_of_opening_the_form(bot, signer, fake_slack, session_factory, disputed) -> None:
    before = snapshot(session_factory)

    click_review(bot, signer, fake_slack, session_factory, WANG, "dispute.overrule", Y)

    assert fake_slack.calls_to("views.open") == []
    assert snapshot(session_factory) == before
    (answer,) = replies(fake_slack)
    assert "Only customer service" in answer


def test_a_repeated_overrule_changes_nothing(bot, signer, fake_slack, session_factory, disputed) -> None:
    command(bot, signer, fake_slack, f"overrule {WANG} {EVIDENCE}", user=WANG_LI)
    fake_slack.clear()
    before = snapshot(session_factory)

    command(bot, signer, fake_slack, f"overrule {WANG} {EVIDENCE}", user=WANG_LI)

    assert snapshot(session_factory) == before
    assert updated(fake_slack) == [] and fake_slack.calls_to("chat.postMessage") == []
    assert "Already confirmed" in replies(fake_slack)[0]


# --- fixes -------------------------------------------------------------------------------------


def test_a_fix_by_command_is_recorded_and_shown_on_the_digest(bot, signer, fake_slack, session_factory, digest) -> None:
    command(bot, signer, fake_slack, f"confirm {OTHER_Y}")
    assert shown_state(fake_slack, item_id(session_factory, OTHER_Y))[1] == ["item.fix"]
    fake_slack.clear()

    command(bot, signer, fake_slack, f"fix {OTHER_Y} {FIX_NOTE}", user=DELEGATE_Y)

    assert status(session_factory, OTHER_Y) == "fixed"
    assert audit(session_factory, OTHER_Y)[-1] == (DELEGATE_Y, "delegate", "command", "fix", "fixed", FIX_NOTE)
    assert updated(fake_slack) == [(CHANNEL, digest_ts(fake_slack, Y))]
    state, actions = shown_state(fake_slack, item_id(session_factory, OTHER_Y))
    assert "fixed" in state and FIX_NOTE in state and actions == []
    (answer,) = replies(fake_slack)
    assert "Fix recorded for 1" in answer


def test_a_fix_by_button_and_form(bot, signer, fake_slack, session_factory, digest) -> None:
    command(bot, signer, fake_slack, f"confirm {OTHER_Y}")
    fake_slack.clear()

    click_fix(bot, signer, fake_slack, session_factory, OTHER_Y)
    view = opened_view(fake_slack)
    assert view["callback_id"] == "fix.submit" and OTHER_Y in json.dumps(view, ensure_ascii=False)
    submit(bot, signer, view, Y, {"fix.note": {"fix.note_input": FIX_NOTE}})

    assert status(session_factory, OTHER_Y) == "fixed"
    assert audit(session_factory, OTHER_Y)[-1] == (Y, "owner", "modal", "fix", "fixed", FIX_NOTE)
    state, actions = shown_state(fake_slack, item_id(session_factory, OTHER_Y))
    assert FIX_NOTE in state and actions == []


def test_a_deemed_confirmed_item_can_be_fixed(bot, signer, fake_slack, session_factory, clock, digest) -> None:
    deem(session_factory, clock, OTHER_Y)

    command(bot, signer, fake_slack, f"整改 {OTHER_Y} {FIX_NOTE}")

    assert status(session_factory, OTHER_Y) == "fixed"
    assert FIX_NOTE in shown_state(fake_slack, item_id(session_factory, OTHER_Y))[0]


def test_a_fix_on_an_awaiting_item_is_refused(bot, signer, fake_slack, session_factory, digest) -> None:
    before = snapshot(session_factory)

    command(bot, signer, fake_slack, f"fix {OTHER_Y} {FIX_NOTE}")

    assert snapshot(session_factory) == before
    assert updated(fake_slack) == []
    (answer,) = replies(fake_slack)
    assert OTHER_Y in answer and "only for a confirmed or deemed-confirmed item" in answer and "nothing changed" in answer


def test_a_fix_without_a_note_is_refused(bot, signer, fake_slack, session_factory, digest) -> None:
    command(bot, signer, fake_slack, f"confirm {OTHER_Y}")
    fake_slack.clear()
    before = snapshot(session_factory)

    command(bot, signer, fake_slack, f"fix {OTHER_Y}")

    assert snapshot(session_factory) == before
    (answer,) = replies(fake_slack)
    assert "needs a note" in answer and "nothing changed" in answer


def test_the_fix_form_without_a_note_shows_an_error_in_it(bot, signer, fake_slack, session_factory, digest) -> None:
    command(bot, signer, fake_slack, f"confirm {OTHER_Y}")
    click_fix(bot, signer, fake_slack, session_factory, OTHER_Y)
    view = opened_view(fake_slack)
    fake_slack.clear()
    before = snapshot(session_factory)

    response = submit(bot, signer, view, Y, {"fix.note": {"fix.note_input": " \n "}})

    body = json.loads(response.body)
    assert body["response_action"] == "errors" and "fix.note" in body["errors"]
    assert snapshot(session_factory) == before
    assert effects(fake_slack) == []


def test_the_fix_button_on_someone_else_s_item_answers_instead_of_opening_the_form(bot, signer, fake_slack, session_factory, digest) -> None:
    command(bot, signer, fake_slack, f"confirm {OTHER_Y}")
    fake_slack.clear()
    before = snapshot(session_factory)

    click_fix(bot, signer, fake_slack, session_factory, OTHER_Y, user=Z)

    assert fake_slack.calls_to("views.open") == []
    assert snapshot(session_factory) == before
    (answer,) = replies(fake_slack)
    assert "Not yours" in answer and OTHER_Y in answer


def test_a_repeated_fix_changes_nothing(bot, signer, fake_slack, session_factory, digest) -> None:
    command(bot, signer, fake_slack, f"confirm {OTHER_Y}")
    command(bot, signer, fake_slack, f"fix {OTHER_Y} {FIX_NOTE}")
    fake_slack.clear()
    before = snapshot(session_factory)

    command(bot, signer, fake_slack, f"fix {OTHER_Y} 再次整改")

    assert snapshot(session_factory) == before
    assert updated(fake_slack) == []
    assert "already recorded" in replies(fake_slack)[0]
    assert FIX_NOTE in shown_state(fake_slack, item_id(session_factory, OTHER_Y))[0]


# --- owner-side activity on the thread -----------------------------------------------------------


def test_the_owner_s_side_acting_marks_the_first_message_s_thread_active(bot, signer, fake_slack, session_factory, clock, digest) -> None:
    assert first_page(session_factory).last_activity_at is None

    command(bot, signer, fake_slack, f"confirm {IN_THREAD}", user=DELEGATE_Y)  # an item on the continuation

    assert first_page(session_factory).last_activity_at == clock.now()
    with transaction(session_factory) as session:
        continuation = session.exec(select(DigestMessage).where(DigestMessage.owner == "大件配送", DigestMessage.page == 1)).one()
    assert continuation.last_activity_at is None  # the state is kept on page 0
    assert first_page(session_factory, "小件配送").last_activity_at is None


def test_cs_resolving_a_dispute_is_not_owner_activity(bot, signer, fake_slack, session_factory, clock, disputed) -> None:
    disputed_at = first_page(session_factory).last_activity_at
    assert disputed_at == at("2026-11-27 09:15")  # the owner's dispute counted
    clock.advance(timedelta(hours=1))

    command(bot, signer, fake_slack, f"overrule {WANG} {EVIDENCE}", user=WANG_LI)

    assert first_page(session_factory).last_activity_at == disputed_at


def test_a_refused_or_repeated_action_is_not_activity(bot, signer, fake_slack, session_factory, clock, digest) -> None:
    command(bot, signer, fake_slack, f"confirm {OTHER_Y}")
    confirmed_at = first_page(session_factory).last_activity_at
    clock.advance(timedelta(hours=1))

    command(bot, signer, fake_slack, f"confirm {OTHER_Y}")  # repeated
    command(bot, signer, fake_slack, f"fix {WANG} {FIX_NOTE}")  # refused: awaiting

    assert first_page(session_factory).last_activity_at == confirmed_at
