"""Signed requests shaped field by field like the ones Slack sends to our app.

Builders for slash commands (form-encoded), interactivity payloads
(``payload=<JSON>`` form field: ``block_actions``, ``view_submission``) and
Events API envelopes (JSON), signed with the app's signing secret so they pass
Bolt's request verification. Dispatch them with ``app.dispatch(req.to_bolt())``.

Interactions carry a fresh ``trigger_id`` issued when the request is built
(wall clock, `new_trigger_id`), so it expires 3 s later and works once in the
fake's views.open, as Slack's does; pass ``trigger_id=`` to send an old one.

Errors raised: none of its own; ``SignatureVerifier`` raises ``ValueError``
for an empty signing secret.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import parse_qs, urlencode

from slack_bolt.request import BoltRequest
from slack_sdk.signature import SignatureVerifier

from bot.fakeslack.server import APP_ID, BOT_ID, BOT_USER_ID, TEAM_DOMAIN, TEAM_ID, new_trigger_id

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
_VERIFICATION_TOKEN = "verification_token"  # deprecated field Slack still sends


class SlackSigner:
    """Signs request bodies the way Slack does (``v0=`` HMAC-SHA256)."""

    def __init__(self, signing_secret: str, *, clock: Callable[[], float] = time.time) -> None:
        self._verifier = SignatureVerifier(signing_secret)
        self.clock = clock

    def headers(
        self,
        body: str,
        *,
        content_type: str,
        retry_num: int | None = None,
        retry_reason: str | None = None,
        timestamp: int | None = None,
    ) -> dict[str, str]:
        """Slack's request headers for ``body``, signed at ``timestamp`` (default: now)."""
        stamp = str(int(self.clock()) if timestamp is None else timestamp)
        headers = {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": stamp,
            "X-Slack-Signature": self._verifier.generate_signature(timestamp=stamp, body=body) or "",
        }
        if retry_num is not None:
            headers["X-Slack-Retry-Num"] = str(retry_num)
        if retry_reason is not None:
            headers["X-Slack-Retry-Reason"] = retry_reason
        return headers

    def sign(self, body: str, *, content_type: str, **header_options: Any) -> SignedRequest:
        """``body`` with its signed headers."""
        return SignedRequest(body=body, headers=self.headers(body, content_type=content_type, **header_options))


@dataclass(frozen=True)
class SignedRequest:
    """A raw body and the headers Slack would send with it."""

    body: str
    headers: dict[str, str]

    def to_bolt(self) -> BoltRequest:
        """This request as Bolt's HTTP-mode ``BoltRequest``."""
        headers: dict[str, str | Sequence[str]] = dict(self.headers)
        return BoltRequest(body=self.body, headers=headers)


def interactive(signer: SlackSigner, payload: Mapping[str, Any]) -> SignedRequest:
    """Any interactivity payload as Slack sends it (``payload=<JSON>`` form
    field), e.g. one of the builders' payloads changed by a test."""
    return signer.sign(urlencode({"payload": json.dumps(payload)}), content_type=FORM)


def payload_of(request: SignedRequest) -> dict[str, Any]:
    """The JSON payload of an interactivity request (the inverse of ``interactive``)."""
    return json.loads(parse_qs(request.body)["payload"][0])


def _channel_name(channel_id: str) -> str:
    return "directmessage" if channel_id.startswith("D") else "general"


def slash_command(
    signer: SlackSigner,
    *,
    text: str,
    user_id: str,
    channel_id: str,
    command: str = "/reject",
    response_url: str,
    team_id: str = TEAM_ID,
    trigger_id: str | None = None,
    user_name: str | None = None,
    channel_name: str | None = None,
) -> SignedRequest:
    """A slash command, form-encoded like Slack (field order as Slack sends it)."""
    fields = {
        "token": _VERIFICATION_TOKEN,
        "team_id": team_id,
        "team_domain": TEAM_DOMAIN,
        "channel_id": channel_id,
        "channel_name": channel_name or _channel_name(channel_id),
        "user_id": user_id,
        "user_name": user_name or user_id.lower(),
        "command": command,
        "text": text,
        "api_app_id": APP_ID,
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": trigger_id or new_trigger_id(),
    }
    return signer.sign(urlencode(fields), content_type=FORM)


def _button_text(message: Mapping[str, Any] | None, block_id: str, action_id: str) -> dict[str, Any]:
    """The clicked button's text from the message's blocks, when it is there."""
    for block in (message or {}).get("blocks") or []:
        if block.get("block_id") != block_id:
            continue
        elements = [block.get("accessory"), *(block.get("elements") or [])]
        for element in elements:
            if isinstance(element, dict) and element.get("action_id") == action_id and "text" in element:
                return dict(element["text"])
    return {"type": "plain_text", "text": "Button", "emoji": True}


def block_actions(
    signer: SlackSigner,
    *,
    user_id: str,
    action_id: str,
    value: str,
    block_id: str,
    channel_id: str,
    message_ts: str,
    message: Mapping[str, Any] | None = None,
    trigger_id: str | None = None,
    response_url: str,
    team_id: str = TEAM_ID,
    is_ephemeral: bool = False,
) -> SignedRequest:
    """A button click on a message (``payload=`` form field, like Slack).

    Pass the clicked message (e.g. ``fake.messages[(channel, ts)]``) to include
    it with its blocks, as Slack does for non-ephemeral messages.
    """
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": {"id": user_id, "username": user_id.lower(), "name": user_id.lower(), "team_id": team_id},
        "api_app_id": APP_ID,
        "token": _VERIFICATION_TOKEN,
        "container": {
            "type": "message",
            "message_ts": message_ts,
            "channel_id": channel_id,
            "is_ephemeral": is_ephemeral,
        },
        "trigger_id": trigger_id or new_trigger_id(),
        "team": {"id": team_id, "domain": TEAM_DOMAIN},
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": channel_id, "name": _channel_name(channel_id)},
    }
    if message is not None:
        payload["message"] = {"type": "message", "ts": message_ts} | {k: v for k, v in message.items() if v is not None}
    payload |= {
        "state": {"values": {}},
        "response_url": response_url,
        "actions": [
            {
                "action_id": action_id,
                "block_id": block_id,
                "text": _button_text(message, block_id, action_id),
                "value": value,
                "type": "button",
                "action_ts": f"{signer.clock():.6f}",
            }
        ],
    }
    return interactive(signer, payload)


def view_submission(
    signer: SlackSigner,
    *,
    user_id: str,
    callback_id: str,
    private_metadata: str,
    values: Mapping[str, Mapping[str, str | Mapping[str, Any] | None]],
    view_id: str = "V0001",
    team_id: str = TEAM_ID,
    trigger_id: str | None = None,
    title: str = "RejectBot",
) -> SignedRequest:
    """A modal submission; ``values[block_id][action_id]`` is the typed text.

    A string (or ``None``) becomes ``{"type": "plain_text_input", "value": ...}``;
    pass a dict to give another element's state verbatim.
    """
    state = {
        block_id: {
            action_id: dict(v) if isinstance(v, Mapping) else {"type": "plain_text_input", "value": v}
            for action_id, v in actions.items()
        }
        for block_id, actions in values.items()
    }
    blocks = [
        {
            "type": "input",
            "block_id": block_id,
            "label": {"type": "plain_text", "text": block_id},
            "optional": False,
            "element": {"type": state[block_id][action_id]["type"], "action_id": action_id},
        }
        for block_id, actions in values.items()
        for action_id in actions
    ]
    payload = {
        "type": "view_submission",
        "team": {"id": team_id, "domain": TEAM_DOMAIN},
        "user": {"id": user_id, "username": user_id.lower(), "name": user_id.lower(), "team_id": team_id},
        "api_app_id": APP_ID,
        "token": _VERIFICATION_TOKEN,
        "trigger_id": trigger_id or new_trigger_id(),
        "view": {
            "id": view_id,
            "team_id": team_id,
            "type": "modal",
            "blocks": blocks,
            "private_metadata": private_metadata,
            "callback_id": callback_id,
            "state": {"values": state},
            "hash": f"{int(signer.clock())}.fakehash",
            "title": {"type": "plain_text", "text": title},
            "clear_on_close": False,
            "notify_on_close": False,
            "close": {"type": "plain_text", "text": "Cancel"},
            "submit": {"type": "plain_text", "text": "Submit"},
            "previous_view_id": None,
            "root_view_id": view_id,
            "app_id": APP_ID,
            "external_id": "",
            "app_installed_team_id": team_id,
            "bot_id": BOT_ID,
        },
        "response_urls": [],
        "is_enterprise_install": False,
        "enterprise": None,
    }
    return interactive(signer, payload)


def event_callback(
    signer: SlackSigner,
    *,
    event: Mapping[str, Any],
    event_id: str,
    retry_num: int | None = None,
    retry_reason: str | None = None,
    team_id: str = TEAM_ID,
    api_app_id: str = APP_ID,
    event_time: int | None = None,
) -> SignedRequest:
    """An Events API envelope around ``event`` (JSON body), optionally a Slack retry."""
    envelope = {
        "token": _VERIFICATION_TOKEN,
        "team_id": team_id,
        "api_app_id": api_app_id,
        "event": dict(event),
        "type": "event_callback",
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": team_id,
                "user_id": BOT_USER_ID,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "event_id": event_id,
        "event_time": int(signer.clock()) if event_time is None else event_time,
        "is_ext_shared_channel": False,
    }
    return signer.sign(json.dumps(envelope), content_type=JSON, retry_num=retry_num, retry_reason=retry_reason)


def reaction_event(
    *,
    kind: Literal["reaction_added", "reaction_removed"],
    user: str,
    reaction: str,
    channel: str,
    ts: str,
    item_user: str = BOT_USER_ID,
    event_ts: str | None = None,
) -> dict[str, Any]:
    """The inner ``reaction_added``/``reaction_removed`` event on a message."""
    channel_type = {"C": "channel", "G": "group", "D": "im"}.get(channel[:1], "channel")
    return {
        "type": kind,
        "user": user,
        "reaction": reaction,
        "item_user": item_user,
        "item": {"type": "message", "channel": channel, "ts": ts, "channel_type": channel_type},
        "event_ts": event_ts or f"{time.time():.6f}",
    }


def app_home_opened_event(*, user: str, view: Mapping[str, Any] | None = None, tab: str = "home", event_ts: str | None = None) -> dict[str, Any]:
    """The inner ``app_home_opened`` event (https://docs.slack.dev/reference/events/app_home_opened):
    ``view`` is the Home view Slack shows the user (e.g. ``fake.home_view(user)``),
    absent until one was published; ``tab`` is ``"home"`` or ``"messages"``."""
    event: dict[str, Any] = {
        "type": "app_home_opened",
        "user": user,
        "channel": f"D{user}",
        "tab": tab,
        "event_ts": event_ts or f"{time.time():.6f}",
    }
    if view is not None:
        event["view"] = dict(view)
    return event


def home_block_actions(
    signer: SlackSigner,
    *,
    user_id: str,
    action_id: str,
    value: str,
    block_id: str,
    view: Mapping[str, Any],
    trigger_id: str | None = None,
    team_id: str = TEAM_ID,
) -> SignedRequest:
    """A button click in the user's App Home tab (``view``: the Home view as
    published, e.g. ``fake.home_view(user)``), shaped like Slack's: the
    ``container`` is the view (``type: view``, ``view_id``) and the payload
    carries the whole ``view``; there is no ``channel``, no ``message`` and
    no ``response_url`` (a Home is no message: answers go elsewhere)
    (https://docs.slack.dev/reference/interaction-payloads/block_actions-payload)."""
    text = {"type": "plain_text", "text": "Button", "emoji": True}
    for block in view.get("blocks") or []:
        if block.get("block_id") == block_id:
            for element in [block.get("accessory"), *(block.get("elements") or [])]:
                if isinstance(element, dict) and element.get("action_id") == action_id and "text" in element:
                    text = dict(element["text"])
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": {"id": user_id, "username": user_id.lower(), "name": user_id.lower(), "team_id": team_id},
        "api_app_id": APP_ID,
        "token": _VERIFICATION_TOKEN,
        "container": {"type": "view", "view_id": view.get("id", "V0001")},
        "trigger_id": trigger_id or new_trigger_id(),
        "team": {"id": team_id, "domain": TEAM_DOMAIN},
        "enterprise": None,
        "is_enterprise_install": False,
        "view": dict(view),
        "actions": [
            {
                "action_id": action_id,
                "block_id": block_id,
                "text": text,
                "value": value,
                "type": "button",
                "action_ts": f"{signer.clock():.6f}",
            }
        ],
    }
    return interactive(signer, payload)
