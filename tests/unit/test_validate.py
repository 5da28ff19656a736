"""``malformed_reason``: which parsed Slack payloads are unusable, and why;
and ``parse_id``, the one reader of the ids our buttons and modals carry."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.fakeslack import SlackSigner, block_actions, event_callback, payload_of, reaction_event, slash_command, view_submission
from bot.ids import MAX_ID, parse_id
from handlers.validate import malformed_reason

PAYLOADS = Path(__file__).resolve().parents[1] / "fixtures" / "slack-payloads"
SIGNER = SlackSigner("unit-test-secret")


def click(action_id: str = "item.confirm", value: str = "12") -> dict:
    request = block_actions(
        SIGNER, user_id="U0OWNERY", action_id=action_id, value=value, block_id=f"act-{value}",
        channel_id="C0LOGISTICS", message_ts="1764205000.000100", response_url="https://hooks.example/r1",
    )
    return payload_of(request)


def submission(callback_id: str = "dispute.submit", metadata: str = json.dumps({"item": 12, "channel": "C0LOGISTICS"})) -> dict:
    return payload_of(view_submission(SIGNER, user_id="U0OWNERZ", callback_id=callback_id, private_metadata=metadata, values={"dispute.reason": {"dispute.reason_input": "no"}}))


def envelope(event: dict) -> dict:
    return json.loads(event_callback(SIGNER, event=event, event_id="Ev01").body)


def command(user_id: str = "U0OWNERY") -> dict:
    from urllib.parse import parse_qsl

    request = slash_command(SIGNER, text="confirm all", user_id=user_id, channel_id="C0LOGISTICS", response_url="https://hooks.example/r1")
    return dict(parse_qsl(request.body, keep_blank_values=True))


# --- parse_id -----------------------------------------------------------------------------


@pytest.mark.parametrize("value, expected", [("1", 1), ("12", 12), (str(MAX_ID), MAX_ID), (12, 12), (MAX_ID, MAX_ID)])
def test_parse_id_reads_our_ids(value, expected) -> None:
    assert parse_id(value) == expected


@pytest.mark.parametrize("value", [
    "", "0", "-1", "+1", " 12", "12 ", "1.0", "1e3", "abc", "²", "١٢", "0x10", str(MAX_ID + 1), str(2**63), str(10**30), "9" * 400,
    0, -1, MAX_ID + 1, 2**63, 10**30, True, False, 1.0, 1e30, None, [1], {"id": 1},
])
def test_parse_id_refuses_anything_else(value) -> None:
    assert parse_id(value) is None


# --- malformed_reason: usable payloads -----------------------------------------------------


@pytest.mark.parametrize("name", [
    "block_actions_minimal.json", "block_actions_with_message.json", "view_submission.json", "reaction_added_event.json",
    "reaction_added_event_slack_docs.json", "app_home_opened_event.json", "url_verification.json", "slash_command.json",
])
def test_slack_s_own_sample_payloads_are_usable(name) -> None:
    assert malformed_reason(json.loads((PAYLOADS / name).read_text(encoding="utf-8"))) is None


@pytest.mark.parametrize("payload", [
    click(), click("item.dispute", "7"), click("escalation.remind", str(MAX_ID)), click("some.other_button", "anything"),
    submission(), submission("some.other_modal", "not ours to read"), command(),
], ids=["confirm", "dispute", "remind", "foreign-button", "dispute-modal", "foreign-modal", "command"])
def test_our_own_requests_are_usable(payload) -> None:
    assert malformed_reason(payload) is None


@pytest.mark.parametrize("event", [
    {"type": "reaction_added", "reaction": "eyes", "item": {"type": "file", "file": "F1"}, "event_ts": "1.1"},  # no user
    {"type": "message", "subtype": "message_changed", "channel": "C1", "message": {}, "ts": "1.2"},
    {"type": "reaction_added", "user": "U1", "reaction": "x", "item": {"type": "message", "ts": "1.3"}},  # no channel
])
def test_events_the_bot_ignores_are_not_malformed(event) -> None:
    assert malformed_reason(envelope(event)) is None


# --- malformed_reason: unusable payloads ---------------------------------------------------


def without(payload: dict, *path: str) -> dict:
    target = payload
    for key in path[:-1]:
        target = target[key]
    del target[path[-1]]
    return payload


def with_(payload: dict, value, *path: str) -> dict:
    target = payload
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return payload


@pytest.mark.parametrize("payload, reason", [
    ([], "the payload is not a JSON object"),
    ("payload", "the payload is not a JSON object"),
    ({}, "a payload without a type"),
    ({"type": 5}, "a payload without a type"),
    (with_(click(), [], "actions"), "block_actions without actions"),
    (without(click(), "actions"), "block_actions without actions"),
    (with_(click(), {"action_id": "item.confirm"}, "actions"), "block_actions without actions"),
    (with_(click(), [None], "actions"), "block_actions with an action that has no action_id"),
    (with_(click(), [{"value": "1"}], "actions"), "block_actions with an action that has no action_id"),
    (click(value=str(2**63)), "button item.confirm carries '9223372036854775808' where an id belongs"),
    (click(value=str(10**30)), "button item.confirm carries '1000000000000000000000000000000' where an id belongs"),
    (click("dispute.uphold", "abc"), "button dispute.uphold carries 'abc' where an id belongs"),
    (click("escalation.confirm_all", "0"), "button escalation.confirm_all carries '0' where an id belongs"),
    (with_(click(), 12, "actions", 0, "value"), "button item.confirm carries 12 where an id belongs"),
    (without(click(), "actions", 0, "value"), "button item.confirm carries None where an id belongs"),
    (with_(click(), "1" * 100, "actions", 0, "value"), "button item.confirm carries '" + "1" * 38 + "… where an id belongs"),
    (without(click("item.dispute"), "trigger_id"), "button item.dispute opens a modal but the click has no trigger_id"),
    (without(click(), "user"), "block_actions without a user id"),
    (with_(click(), "U0OWNERY", "user"), "block_actions without a user id"),
    (without(click(), "user", "id"), "block_actions without a user id"),
    (submission(metadata=json.dumps({"item": 2**63})), 'modal dispute.submit carries \'{"item": 9223372036854775808}\' where its item\'s id belongs'),
    (submission("fix.submit", ""), "modal fix.submit carries '' where its item's id belongs"),
    (with_(submission("overrule.submit"), None, "view", "private_metadata"), "modal overrule.submit carries None where its item's id belongs"),
    (without(submission(), "view"), "view_submission without a view and its callback_id"),
    (without(submission(), "view", "callback_id"), "view_submission without a view and its callback_id"),
    (without(submission(), "user"), "view_submission without a user id"),
    ({"type": "view_closed", "user": {"id": "U1"}, "view": {"callback_id": "dispute.submit", "private_metadata": "{}"}}, "modal dispute.submit carries '{}' where its item's id belongs"),
    ({"type": "shortcut", "callback_id": "x", "trigger_id": "t"}, "shortcut without a user id"),
    (without(envelope(reaction_event(kind="reaction_added", user="U1", reaction="x", channel="C1", ts="1.1")), "event"), "an event_callback without an event object"),
    (without(envelope(reaction_event(kind="reaction_added", user="U1", reaction="x", channel="C1", ts="1.1")), "event", "type"), "an event without a type"),
    (command(user_id=""), "a command without a user id"),
])
def test_unusable_payloads_are_named(payload, reason) -> None:
    assert malformed_reason(payload) == reason
