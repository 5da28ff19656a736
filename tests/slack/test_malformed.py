"""What Slack normally sends that the bot does not act on, and hostile or
broken payloads: signed requests through the real app from ``create_app``
into our fake Slack, on SQLite and PostgreSQL.

Events the bot does not act on are acknowledged (200) and ignored: any other
status makes Slack retry them and can get the app's events disabled
(https://api.slack.com/apis/events-api#retries, #failing). Interactive
payloads that are wrong get a clear private reply when there is someone to
reply to. Either way nothing is stored and no traceback is logged.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from bot.core.importing import parse_export
from bot.fakeslack import block_actions, event_callback, interactive, payload_of, reaction_event, slash_command, view_submission
from storage.db import transaction
from storage.imports import insert_records
from storage.models import AuditEntry, DigestMessage, FollowUp, Item

SHANGHAI = ZoneInfo("Asia/Shanghai")
SAMPLE = Path(__file__).resolve().parents[1] / "fixtures" / "samples" / "callbacks-2026-11-26.csv"
CHANNEL = "C0LOGISTICS"
Y, Z = "U0OWNERY", "U0OWNERZ"
STALE = "This button has expired"

HUGE = [str(2**31), str(2**63), str(10**30)]  # past our INTEGER ids (PostgreSQL: out of range), past SQLite's (OverflowError), far past
NOT_IDS = ["", "0", "-1", "abc", "12a", "²", "1.5", " 12"]


@pytest.fixture
def digest(bot, session_factory, clock, fake_slack) -> None:
    """The sample export imported and today's digest posted; recorded calls cleared."""
    records = parse_export(SAMPLE.read_bytes(), filename="callbacks.csv").records
    with transaction(session_factory) as session:
        insert_records(session=session, records=records, batch_id=None, now=clock.now(), timezone=SHANGHAI)
    bot.services.post_daily_digest()
    assert len(fake_slack.calls_to("chat.postMessage")) == 4
    fake_slack.clear()


def snapshot(session_factory) -> tuple:
    """Everything a request could change: items, audit rows, follow-ups, digest messages."""
    with transaction(session_factory) as session:
        items = sorted((i.id, i.status, i.updated_at) for i in session.exec(select(Item)).all())
        audit = len(session.exec(select(AuditEntry)).all())
        followups = len(session.exec(select(FollowUp)).all())
        messages = sorted((m.id, m.ts) for m in session.exec(select(DigestMessage)).all())
    return items, audit, followups, messages


def first_item(session_factory, owner_user: str = Y) -> Item:
    with transaction(session_factory) as session:
        category = "large" if owner_user == Y else "small"
        return session.exec(select(Item).where(Item.category == category, Item.status == "awaiting").order_by(Item.id)).first()


def digest_ts(fake, owner_user: str = Y) -> str:
    (ts,) = [m["ts"] for m in fake.channel_history(CHANNEL) if f"<@{owner_user}>" in json.dumps(m["blocks"])]
    return ts


def private_replies(fake) -> list[str]:
    """Every private answer: through a response_url, an ephemeral message or a DM."""
    hooks = [c.params["text"] for c in fake.calls_to("response_url")]
    ephemeral = [c.params["text"] for c in fake.calls_to("chat.postEphemeral")]
    dms = [c.params["text"] for c in fake.calls_to("chat.postMessage") if str(c.params.get("channel", "")).startswith("D")]
    return hooks + ephemeral + dms


@pytest.fixture
def no_tracebacks(caplog):
    """Fails the test if anything logged an error or a traceback."""
    caplog.set_level(logging.WARNING)
    yield
    bad = [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert not bad, [r.getMessage() for r in bad]


def deliver(bot, signer, event: dict, *, event_id: str = "Ev0MALFORMED"):
    return bot.app.dispatch(event_callback(signer, event=event, event_id=event_id).to_bolt())


def click_request(signer, fake, *, action_id: str, value: str, user: str = Y, ts: str | None = None):
    ts = ts or digest_ts(fake)
    return block_actions(
        signer, user_id=user, action_id=action_id, value=value, block_id=f"act-{value}", channel_id=CHANNEL,
        message_ts=ts, message=fake.messages.get((CHANNEL, ts)), response_url=fake.response_url("click", channel=CHANNEL, ts=ts),
    )


def click(bot, signer, fake, *, action_id: str, value: str, user: str = Y):
    return bot.app.dispatch(click_request(signer, fake, action_id=action_id, value=value, user=user).to_bolt())


def submit(bot, signer, *, callback_id: str, private_metadata: str, user: str = Z, values: dict | None = None):
    block, action = {"dispute.submit": ("dispute.reason", "dispute.reason_input"), "overrule.submit": ("overrule.evidence", "overrule.evidence_input"), "fix.submit": ("fix.note", "fix.note_input")}[callback_id]
    request = view_submission(
        signer, user_id=user, callback_id=callback_id, private_metadata=private_metadata,
        values=values if values is not None else {block: {action: "the customer refused at the door"}},
    )
    return bot.app.dispatch(request.to_bolt())


# --- events Slack sends normally that the bot does not act on ---------------------------


def reaction_on_message(fake, **changes) -> dict:
    event = reaction_event(kind="reaction_added", user=Y, reaction="white_check_mark", channel=CHANNEL, ts=digest_ts(fake))
    return event | changes


IGNORED_EVENTS = {
    # https://api.slack.com/events/reaction_added: item may be a file or a file comment
    "reaction-on-a-file": lambda fake: reaction_on_message(fake, item={"type": "file", "file": "F0FILE001"}),
    "reaction-on-a-file-comment": lambda fake: reaction_on_message(fake, item={"type": "file_comment", "file_comment": "Fc0001", "file": "F0FILE001"}),
    "reaction-without-user": lambda fake: {k: v for k, v in reaction_on_message(fake).items() if k != "user"},
    "reaction-without-item-channel": lambda fake: reaction_on_message(fake, item={"type": "message", "ts": digest_ts(fake)}),
    "reaction-without-item": lambda fake: {k: v for k, v in reaction_on_message(fake).items() if k != "item"},
    "reaction-without-name": lambda fake: {k: v for k, v in reaction_on_message(fake).items() if k != "reaction"},
    "eyes-without-item-channel": lambda fake: reaction_on_message(fake, reaction="eyes", item={"type": "message", "ts": digest_ts(fake)}),
    "eyes-on-a-file": lambda fake: reaction_on_message(fake, reaction="eyes", item={"type": "file", "file": "F0FILE001"}),
    "reaction-with-item-a-string": lambda fake: reaction_on_message(fake, item="oops"),
    "reaction-removed-without-user": lambda fake: {k: v for k, v in reaction_on_message(fake, type="reaction_removed").items() if k != "user"},
    # https://api.slack.com/events/message/message_changed
    "message-changed": lambda fake: {
        "type": "message", "subtype": "message_changed", "hidden": True, "channel": CHANNEL, "ts": "1764205000.000100",
        "event_ts": "1764205000.000100", "channel_type": "channel",
        "message": {"type": "message", "user": Y, "text": "edited", "ts": "1764204000.000100", "thread_ts": digest_ts(fake), "edited": {"user": Y, "ts": "1764205000.000000"}},
        "previous_message": {"type": "message", "user": Y, "text": "first", "ts": "1764204000.000100", "thread_ts": digest_ts(fake)},
    },
    # https://api.slack.com/events/message/message_deleted
    "message-deleted": lambda fake: {
        "type": "message", "subtype": "message_deleted", "hidden": True, "channel": CHANNEL, "ts": "1764205000.000200",
        "deleted_ts": "1764204000.000100", "event_ts": "1764205000.000200", "channel_type": "channel",
        "previous_message": {"type": "message", "user": Y, "text": "first", "ts": "1764204000.000100", "thread_ts": digest_ts(fake)},
    },
    # https://api.slack.com/events/message/channel_join
    "channel-join": lambda fake: {"type": "message", "subtype": "channel_join", "user": Y, "text": f"<@{Y}> has joined the channel", "channel": CHANNEL, "ts": "1764205000.000300", "event_ts": "1764205000.000300"},
    "thread-reply-without-user": lambda fake: {"type": "message", "text": "done", "channel": CHANNEL, "ts": "1764205000.000400", "thread_ts": digest_ts(fake), "event_ts": "1764205000.000400"},
    "thread-reply-without-channel": lambda fake: {"type": "message", "user": Y, "text": "done", "ts": "1764205000.000500", "thread_ts": digest_ts(fake), "event_ts": "1764205000.000500"},
    "thread-reply-with-thread-ts-a-number": lambda fake: {"type": "message", "user": Y, "text": "done", "channel": CHANNEL, "ts": "1764205000.000600", "thread_ts": 17642, "event_ts": "1764205000.000600"},
    # an event type no listener subscribes to
    "app-mention": lambda fake: {"type": "app_mention", "user": Y, "text": "<@U0BOT> hi", "channel": CHANNEL, "ts": "1764205000.000700", "event_ts": "1764205000.000700"},
}


@pytest.mark.parametrize("name", list(IGNORED_EVENTS))
def test_an_event_the_bot_does_not_act_on_gets_200_and_changes_nothing(bot, signer, fake_slack, session_factory, digest, no_tracebacks, name) -> None:
    before = snapshot(session_factory)

    response = deliver(bot, signer, IGNORED_EVENTS[name](fake_slack))

    assert response.status == 200
    assert snapshot(session_factory) == before
    assert fake_slack.calls == []


# --- buttons whose value is not one of our ids --------------------------------------------


ID_BUTTONS = ["item.confirm", "item.dispute", "item.fix", "dispute.uphold", "dispute.overrule", "escalation.remind", "escalation.confirm_all"]


@pytest.mark.parametrize("value", HUGE + NOT_IDS)
@pytest.mark.parametrize("action_id", ID_BUTTONS)
def test_a_button_whose_value_is_not_an_id_is_refused_and_answered_as_stale(bot, signer, fake_slack, session_factory, digest, no_tracebacks, action_id, value) -> None:
    before = snapshot(session_factory)

    response = click(bot, signer, fake_slack, action_id=action_id, value=value)

    assert response.status == 400
    (reply,) = private_replies(fake_slack)
    assert STALE in reply
    assert fake_slack.calls_to("views.open") == []
    assert snapshot(session_factory) == before


@pytest.mark.parametrize("value", [None, 12, True, ["1"], {"id": 1}])
def test_a_button_value_that_is_not_a_string_is_refused_and_answered_as_stale(bot, signer, fake_slack, session_factory, digest, no_tracebacks, value) -> None:
    before = snapshot(session_factory)
    payload = payload_of(click_request(signer, fake_slack, action_id="item.confirm", value="1"))
    payload["actions"][0]["value"] = value

    response = bot.app.dispatch(interactive(signer, payload).to_bolt())

    assert response.status == 400
    (reply,) = private_replies(fake_slack)
    assert STALE in reply
    assert snapshot(session_factory) == before


@pytest.mark.parametrize("value", [str(2**31 - 1), "999999"], ids=["largest-id", "unknown-id"])
@pytest.mark.parametrize("action_id", ID_BUTTONS)
def test_a_button_carrying_an_id_that_does_not_exist_is_answered_and_changes_nothing(bot, signer, fake_slack, session_factory, digest, no_tracebacks, action_id, value) -> None:
    before = snapshot(session_factory)

    response = click(bot, signer, fake_slack, action_id=action_id, value=value)

    assert response.status == 200
    assert len(private_replies(fake_slack)) == 1
    assert fake_slack.calls_to("views.open") == []
    assert snapshot(session_factory) == before


@pytest.mark.parametrize("item", [2**31 - 1, 999999])
def test_a_modal_carrying_an_item_that_does_not_exist_is_answered_and_changes_nothing(bot, signer, fake_slack, session_factory, digest, no_tracebacks, item) -> None:
    before = snapshot(session_factory)

    response = submit(bot, signer, callback_id="dispute.submit", private_metadata=json.dumps({"item": item, "channel": CHANNEL}))

    assert response.status == 200
    assert len(private_replies(fake_slack)) == 1
    assert snapshot(session_factory) == before


@pytest.mark.parametrize("actions", [[], None, "item.confirm", [None], ["item.confirm"], [{}]], ids=["empty", "null", "string", "null-action", "string-action", "empty-action"])
def test_block_actions_without_usable_actions_are_refused_and_answered(bot, signer, fake_slack, session_factory, digest, no_tracebacks, actions) -> None:
    before = snapshot(session_factory)
    payload = payload_of(click_request(signer, fake_slack, action_id="item.confirm", value=str(first_item(session_factory).id)))
    payload["actions"] = actions

    response = bot.app.dispatch(interactive(signer, payload).to_bolt())

    assert response.status == 400
    (reply,) = private_replies(fake_slack)
    assert STALE in reply
    assert snapshot(session_factory) == before
    assert fake_slack.calls_to("views.open") == []


def dispatch_as(bot, signer, payload: dict, user):
    """Dispatch an interactive ``payload`` whose ``user`` is replaced by
    ``user`` ("missing": the key removed)."""
    if user == "missing":
        del payload["user"]
    else:
        payload["user"] = user
    return bot.app.dispatch(interactive(signer, payload).to_bolt())


@pytest.mark.parametrize("user", ["missing", None, {}, "U0OWNERY"], ids=["missing", "null", "no-id", "string"])
def test_a_click_without_a_user_id_changes_nothing(bot, signer, fake_slack, session_factory, digest, no_tracebacks, user) -> None:
    before = snapshot(session_factory)
    payload = payload_of(click_request(signer, fake_slack, action_id="item.confirm", value=str(first_item(session_factory).id)))

    response = dispatch_as(bot, signer, payload, user)

    assert response.status == 400
    assert snapshot(session_factory) == before
    assert fake_slack.calls == []  # nobody to answer


def test_a_good_click_still_confirms(bot, signer, fake_slack, session_factory, digest, no_tracebacks) -> None:
    item = first_item(session_factory)

    response = click(bot, signer, fake_slack, action_id="item.confirm", value=str(item.id))

    assert response.status == 200
    with transaction(session_factory) as session:
        assert session.get(Item, item.id).status == "confirmed"


# --- modal submissions whose metadata is not ours -----------------------------------------


BAD_METADATA = [
    json.dumps({"item": 2**63, "channel": CHANNEL}),
    json.dumps({"item": 10**30, "channel": CHANNEL}),
    json.dumps({"item": 2**31, "channel": CHANNEL}),
    json.dumps({"item": 1e30, "channel": CHANNEL}),
    json.dumps({"item": -1, "channel": CHANNEL}),
    json.dumps({"item": 0, "channel": CHANNEL}),
    json.dumps({"item": True, "channel": CHANNEL}),
    json.dumps({"item": "abc", "channel": CHANNEL}),
    json.dumps({"item": [1], "channel": CHANNEL}),
    json.dumps({"channel": CHANNEL}),
    json.dumps([1, 2]),
    "null",
    "",
    "not json",
]


@pytest.mark.parametrize("metadata", BAD_METADATA)
@pytest.mark.parametrize("callback_id", ["dispute.submit", "overrule.submit", "fix.submit"])
def test_a_modal_whose_metadata_is_not_ours_is_refused_and_answered_as_stale(bot, signer, fake_slack, session_factory, digest, no_tracebacks, callback_id, metadata) -> None:
    before = snapshot(session_factory)

    response = submit(bot, signer, callback_id=callback_id, private_metadata=metadata)

    assert response.status == 400
    (reply,) = private_replies(fake_slack)
    assert STALE in reply
    assert snapshot(session_factory) == before


@pytest.mark.parametrize("channel", [5, ["C1"], {"id": "C1"}])
def test_a_modal_whose_metadata_channel_is_not_a_string_still_answers(bot, signer, fake_slack, session_factory, digest, no_tracebacks, channel) -> None:
    item = first_item(session_factory, Z)

    response = submit(bot, signer, callback_id="dispute.submit", private_metadata=json.dumps({"item": item.id, "channel": channel}))

    assert response.status == 200
    assert len(private_replies(fake_slack)) >= 1
    with transaction(session_factory) as session:
        assert session.get(Item, item.id).status == "disputed"


@pytest.mark.parametrize("state", ["missing", None, [], {"values": []}, {"values": {"dispute.reason": []}}, {"values": {"dispute.reason": {"dispute.reason_input": {"value": 5}}}}],
                         ids=["missing", "null", "list", "values-list", "block-list", "value-a-number"])
def test_a_modal_submitted_without_a_usable_state_keeps_the_modal_open_and_changes_nothing(bot, signer, fake_slack, session_factory, digest, no_tracebacks, state) -> None:
    item = first_item(session_factory, Z)
    before = snapshot(session_factory)
    request = view_submission(signer, user_id=Z, callback_id="dispute.submit", private_metadata=json.dumps({"item": item.id, "channel": CHANNEL}), values={})
    payload = payload_of(request)
    if state == "missing":
        del payload["view"]["state"]
    else:
        payload["view"]["state"] = state

    response = bot.app.dispatch(interactive(signer, payload).to_bolt())

    assert response.status == 200
    assert json.loads(response.body)["response_action"] == "errors"
    assert snapshot(session_factory) == before


@pytest.mark.parametrize("user", ["missing", None, {}], ids=["missing", "null", "no-id"])
def test_a_modal_submitted_without_a_user_changes_nothing(bot, signer, fake_slack, session_factory, digest, no_tracebacks, user) -> None:
    item = first_item(session_factory, Z)
    before = snapshot(session_factory)
    request = view_submission(signer, user_id=Z, callback_id="dispute.submit", private_metadata=json.dumps({"item": item.id, "channel": CHANNEL}), values={"dispute.reason": {"dispute.reason_input": "refused"}})
    response = dispatch_as(bot, signer, payload_of(request), user)

    assert response.status == 400
    assert snapshot(session_factory) == before
    assert fake_slack.calls == []


def test_a_command_without_a_user_changes_nothing(bot, signer, fake_slack, session_factory, digest, no_tracebacks) -> None:
    before = snapshot(session_factory)
    request = slash_command(signer, text="confirm all", user_id="", channel_id=CHANNEL, response_url=fake_slack.response_url())

    response = bot.app.dispatch(request.to_bolt())

    assert response.status == 400
    assert snapshot(session_factory) == before
    assert fake_slack.calls == []
