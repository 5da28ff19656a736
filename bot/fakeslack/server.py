"""A fake Slack Web API on 127.0.0.1 for tests, benchmarks and the offline demo.

`FakeSlack` serves ``/api/<method>`` like ``https://slack.com/api/`` and
``/hooks/<name>`` like Slack's ``response_url`` webhooks, records every call,
keeps the current state of posted messages and views, and rejects what Slack
rejects (Block Kit limits, missing tokens, unknown methods) with Slack's own
error bodies, so the real ``slack_sdk.WebClient`` raises the real errors.

As strict as Slack where our bot depends on it: the undocumented block text
budget (`count_block_text`, `MAX_BLOCK_TEXT`), trigger ids that expire after
3 s and work once, message metadata, conversations.history/replies,
scheduled messages (`FakeSlack.scheduled`, `FakeSlack.deliver_scheduled`),
Slack's file upload flow (files.getUploadURLExternal, the bytes posted to the
upload URL, files.completeUploadExternal, files.info; `FakeSlack.files`,
`FakeSlack.file_bytes`) and the retired files.upload (``method_deprecated``).
Faults on demand: `FakeSlack.fail_next` (optionally after applying the call),
`FakeSlack.hang_next`, `FakeSlack.fail_randomly`; each `Call` records its
HTTP status and whether it was applied.

Errors raised: none of its own to callers. Slack errors travel over HTTP as
Slack sends them (``{"ok": false, "error": ...}``), so ``WebClient`` raises
``slack_sdk.errors.SlackApiError``. ``_ApiError`` is internal: a method raises
it to answer an error and the dispatcher turns it into that body. Binding the
port can raise ``OSError``.
"""

from __future__ import annotations

import base64
import binascii
import copy
import hashlib
import itertools
import json
import math
import mimetypes
import random
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal, InvalidOperation
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

BOT_USER_ID = "UBOT"
BOT_ID = "BBOT"
TEAM_ID = "T0001"
APP_ID = "A0001"
TEAM_DOMAIN = "rejectbot-test"

_TS_BASE_MICROS = 1_764_200_000_000_000
_MAX_TEXT = 40_000
_MAX_MESSAGE_BLOCKS = 50
_MAX_VIEW_BLOCKS = 100
# views.publish: "not_enabled: Error returned if a `home` view is published but the Home tab
# isn't enabled for the app"; "view_too_large: Error returned if the provided view is greater
# than 250kb"; a user_id that is not a user's answers invalid_arguments with the message
# "invalid `user_id`" (https://docs.slack.dev/reference/methods/views.publish).
_MAX_VIEW_BYTES = 250 * 1024
_USER_ID = re.compile(r"[UW][A-Z0-9]+")
_JSON_FIELDS = frozenset({"blocks", "attachments", "view", "metadata"})
# Total characters of every "text" string in a message's blocks. Undocumented:
# Slack answers msg_blocks_too_long (listed, without a figure, in chat.postMessage's
# errors, https://docs.slack.dev/reference/methods/chat.postMessage) and was seen
# refusing 13,297 (slackapi/bolt-js#2509) and 11,341 characters (slackapi/bolt-js#2867).
# We refuse above 11,000, below the smallest refusal seen.
MAX_BLOCK_TEXT = 11_000
# "The trigger_id is expired" after 3 seconds; one use ("exchanged_trigger_id"):
# views.open/views.push errors, https://docs.slack.dev/reference/methods/views.open
# and https://docs.slack.dev/reference/interactivity/handling-user-interaction
# ("Pass a valid trigger_id within 3 seconds").
TRIGGER_TTL = 3.0
# "The expected format for the trigger_id argument is "132456.7890123.abcdef""
# (views.open, invalid_trigger_id).
_TRIGGER_ID = re.compile(r"(\d+)\.(\d+)\.([0-9a-f]+)")
# Conversation ids (conversations.history/replies take an "encoded ID", not a name).
_CHANNEL_ID = re.compile(r"[CGD][A-Z0-9]+")
# conversations.history: limit default 100, "Maximum of 999"
# (https://docs.slack.dev/reference/methods/conversations.history).
_HISTORY_LIMIT, _HISTORY_MAX = 100, 999
# conversations.replies: limit default 1000 (https://docs.slack.dev/reference/methods/conversations.replies).
_REPLIES_LIMIT = 1000
# chat.scheduleMessage: "up to 120 days into the future" (time_too_far); "no more than
# 30 messages to post within a 5-minute window to the same channel" (restricted_too_many)
# https://docs.slack.dev/reference/methods/chat.scheduleMessage
_SCHEDULE_HORIZON = 120 * 86_400
_SCHEDULE_WINDOW, _SCHEDULE_PER_WINDOW = 300, 30
# "only those messages will be deleted that are not posted [...] within 60 seconds of
# the delete request" (chat.deleteScheduledMessage docs, quoted in slackapi/bolt-js#1857).
_UNDELETABLE_BEFORE_POST = 60
# The file upload flow (https://docs.slack.dev/messaging/working-with-files and
# https://docs.slack.dev/reference/methods/files.getUploadURLExternal): the bytes go by
# POST to the upload URL, "as raw bytes or [...] multipart form encoded. Slack will
# return HTTP 200 if the upload is successful; a non-200 response indicates a failure."
# The calls to that URL are recorded (and fail_next/hang_next target them) as this method:
UPLOAD_METHOD = "upload_url"
# How long an upload URL may be used. Slack publishes no figure; an upload ticket is made
# for one upload right away, so the fake allows a minute (wall clock) and one use.
UPLOAD_URL_TTL = 60.0
# files.completeUploadExternal's channel_id "input must match regex pattern:
# ^[CGDZ][A-Z0-9]{8,}$" (Slack's answer quoted in slackapi/bolt-js#2115): no user ids.
_SHARE_CHANNEL = re.compile(r"[CGDZ][A-Z0-9]{8,}")

# A file's url_private (https://docs.slack.dev/reference/objects/file-object, "Authentication"):
# "requires an authorization header with a bearer token [...] Authorization: Bearer A_VALID_TOKEN",
# a token with files:read. Without one Slack does not answer 401: it redirects to the
# workspace's sign-in page and serves HTML with HTTP 200 ("<a href=\"https://….slack.com/?redir=
# %2Ffiles-pri%2F…\">Found</a>.", slackapi/deno-slack-sdk#285; "the files end up being HTML
# sign-in pages", grundleborg/slack-advanced-exporter#13; slack-go/slack#1284). The fake
# answers such a GET with that 302 and its HTML, and records it as method "url_private".
_PRIVATE_PATH = "/files-pri/"
DOWNLOAD_METHOD = "url_private"

Params = dict[str, Any]
_Answer = tuple[int, dict[str, Any] | str | bytes, dict[str, str]]


@dataclass(frozen=True)
class Call:
    """One request the fake received, in arrival order.

    ``params`` excludes the token; ``error`` is the Slack error answered
    (``None`` when the call succeeded); ``hook`` is the response_url name for
    calls with method ``"response_url"``.
    """

    method: str
    params: dict[str, Any]
    token: str | None
    error: str | None = None
    hook: str | None = None
    status: int = 200
    applied: bool = False
    delay: float = 0.0


@dataclass
class _Failure:
    """An injected answer. ``error=None`` answers the real result (a slow success)."""

    error: str | None
    status: int
    retry_after: int
    extra: dict[str, Any]
    remaining: int
    applied: bool = False
    delay: float = 0.0


class _ApiError(Exception):
    """Internal: answer ``{"ok": false, "error": error, **extra}``."""

    def __init__(self, error: str, **extra: Any) -> None:
        super().__init__(error)
        self.error = error
        self.extra = extra


# Rate limits, applied per method (and per channel for chat.postMessage) when
# ``FakeSlack(rate_limits=True)``: at most ``calls`` in any ``window`` seconds,
# beyond which Slack answers HTTP 429 {"ok": false, "error": "ratelimited"} with
# a Retry-After header (https://docs.slack.dev/apis/web-api/rate-limits). Slack's
# tiers are floors ("50+ per minute", bursts "welcome"), so these are the
# strictest readings:
#
# | method                                   | Slack's limit                  | fake: calls / window      |
# |------------------------------------------|--------------------------------|---------------------------|
# | chat.postMessage                         | special: ~1/s per channel,     | 3 / 3 s per channel       |
# |                                          | "short bursts >1 allowed"      |                           |
# | chat.update, chat.delete                 | Tier 3: 50+/min                | 50 / 60 s                 |
# | chat.scheduleMessage                     | Tier 3: 50+/min (its page;     | 50 / 60 s                 |
# |                                          | not Tier 2)                    |                           |
# | chat.deleteScheduledMessage,             | Tier 3: 50+/min                | 50 / 60 s                 |
# | chat.scheduledMessages.list              |                                |                           |
# | conversations.open/history/replies       | Tier 3: 50+/min                | 50 / 60 s                 |
# | chat.postEphemeral                       | Tier 4: 100+/min               | 100 / 60 s                |
# | views.open/push/update/publish           | Tier 4: 100+/min               | 100 / 60 s                |
# | users.info / users.lookupByEmail         | Tier 4 / Tier 3                | 100 / 60 s, 50 / 60 s     |
# | reactions.add                            | Tier 3: 50+/min                | 50 / 60 s                 |
# | files.getUploadURLExternal,              | Tier 4: 100+/min               | 100 / 60 s                |
# | files.completeUploadExternal, files.info |                                |                           |
#
# Tiers from each method's page on docs.slack.dev/reference/methods/<method>
# (as mirrored in Slack's method JSON, e.g. slack_kit priv/docs/methods/*.json).
# Not modelled: chat.postMessage's workspace-wide limit (no figure published).
# The figures, their sources and how to switch them on: docs/slack-limits.md §2.1
# (keep the two tables alike).
_TIER_3, _TIER_4 = (50, 60.0, False), (100, 60.0, False)
RATE_LIMITS: dict[str, tuple[int, float, bool]] = {
    "chat.postMessage": (3, 3.0, True),
    "chat.update": _TIER_3,
    "chat.delete": _TIER_3,
    "chat.scheduleMessage": _TIER_3,
    "chat.deleteScheduledMessage": _TIER_3,
    "chat.scheduledMessages.list": _TIER_3,
    "conversations.open": _TIER_3,
    "conversations.history": _TIER_3,
    "conversations.replies": _TIER_3,
    "chat.postEphemeral": _TIER_4,
    "views.open": _TIER_4,
    "views.push": _TIER_4,
    "views.update": _TIER_4,
    "views.publish": _TIER_4,
    "users.info": _TIER_4,
    "users.lookupByEmail": _TIER_3,
    "reactions.add": _TIER_3,
    "files.getUploadURLExternal": _TIER_4,
    "files.completeUploadExternal": _TIER_4,
    "files.info": _TIER_4,
}

# response_url (``FakeSlack(rate_limits=True)``): "You can use a response_url
# up to 5 times within 30 minutes of receiving it" (Slack's docs, "Handling
# user interaction" / slash commands: docs.slack.dev/interactivity/handling-user-interaction;
# quoted in docs/slack-limits.md §1.7). Slack does not document what a
# sixth use or a late one answers; the fake refuses with HTTP 404 and
# ``used_url`` / ``expired_url`` (its own words), nothing applied.
RESPONSE_URL_USES = 5
RESPONSE_URL_TTL = 30 * 60.0


# --- Block Kit checks -------------------------------------------------------
# (block or element type, path, limit). A path names a string (length limit) or
# a list (item limit); "key[]" walks every item of a list; "*" matches any type.
_LIMITS: tuple[tuple[str, str, int], ...] = (
    ("*", "block_id", 255),
    ("*", "action_id", 255),
    ("section", "text.text", 3000),
    ("section", "fields", 10),
    ("section", "fields[].text", 2000),
    ("header", "text.text", 150),
    ("context", "elements", 10),
    ("actions", "elements", 25),
    ("markdown", "text", 12_000),
    ("image", "alt_text", 2000),
    ("input", "label.text", 2000),
    ("input", "hint.text", 2000),
    ("button", "text.text", 75),
    ("button", "value", 2000),
    ("button", "url", 3000),
    ("plain_text_input", "placeholder.text", 150),
    ("plain_text_input", "initial_value", 3000),
)
# type -> groups of keys; each group needs at least one present key.
_REQUIRED: dict[str, tuple[tuple[str, ...], ...]] = {
    "section": (("text", "fields"),),
    "header": (("text",),),
    "context": (("elements",),),
    "actions": (("elements",),),
    "image": (("alt_text",), ("image_url", "slack_file")),
    "input": (("label",), ("element",)),
    "button": (("text",),),
}
_PLAIN_TEXT_ONLY: tuple[tuple[str, str], ...] = (("header", "text"), ("button", "text"), ("input", "label"))
_BLOCK_TYPES = frozenset(
    {
        "actions", "context", "context_actions", "divider", "file", "header", "image",
        "input", "markdown", "rich_text", "section", "table", "video",
    }
)  # fmt: skip
_VIEW_LIMITS: tuple[tuple[str, int], ...] = (
    ("title.text", 24),
    ("submit.text", 24),
    ("close.text", 24),
    ("private_metadata", 3000),
    ("callback_id", 255),
    ("external_id", 255),
)


def _walk(node: Any, parts: list[str], pointer: str) -> Iterator[tuple[str, Any]]:
    """Yield ``(json-pointer, value)`` for every value ``parts`` leads to."""
    if not parts:
        yield pointer, node
        return
    head, rest = parts[0], parts[1:]
    key = head.removesuffix("[]")
    if not isinstance(node, dict) or key not in node:
        return
    if head.endswith("[]"):
        if isinstance(node[key], list):
            for i, item in enumerate(node[key]):
                yield from _walk(item, rest, f"{pointer}/{key}/{i}")
    else:
        yield from _walk(node[key], rest, f"{pointer}/{key}")


def _too_big(value: Any, limit: int, pointer: str) -> str | None:
    if isinstance(value, list) and len(value) > limit:
        return f"no more than {limit} items allowed [json-pointer:{pointer}]"
    if isinstance(value, str) and len(value) > limit:
        return f"must be less than {limit + 1} characters [json-pointer:{pointer}]"
    return None


def _check_node(node: dict[str, Any], pointer: str) -> list[str]:
    """Limits, required keys and plain_text-only fields of one block or element."""
    kind = node.get("type")
    errors = [
        error
        for rule_type, path, limit in _LIMITS
        if rule_type in ("*", kind)
        for where, value in _walk(node, path.split("."), pointer)
        if (error := _too_big(value, limit, where))
    ]
    for group in _REQUIRED.get(str(kind), ()):
        if not any(node.get(key) for key in group):
            errors.append(f"missing required field: {' or '.join(group)} [json-pointer:{pointer}]")
    for rule_type, key in _PLAIN_TEXT_ONLY:
        text = node.get(key)
        if kind == rule_type and isinstance(text, dict) and text.get("type") != "plain_text":
            errors.append(f"must be a plain_text text object [json-pointer:{pointer}/{key}]")
    return errors


def _elements(block: dict[str, Any], pointer: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """Interactive elements of a block: accessory, actions' elements, input's element."""
    if isinstance(block.get("accessory"), dict):
        yield f"{pointer}/accessory", block["accessory"]
    if isinstance(block.get("element"), dict):
        yield f"{pointer}/element", block["element"]
    if block.get("type") in ("actions", "context_actions") and isinstance(block.get("elements"), list):
        for i, element in enumerate(block["elements"]):
            if isinstance(element, dict):
                yield f"{pointer}/elements/{i}", element


def check_blocks(blocks: Any, *, max_blocks: int, pointer: str = "/blocks") -> list[str]:
    """Slack's reasons for rejecting ``blocks`` (empty when they are valid)."""
    if not isinstance(blocks, list):
        return [f"must be an array [json-pointer:{pointer}]"]
    errors = [error for error in [_too_big(blocks, max_blocks, pointer)] if error]
    block_ids: set[str] = set()
    for i, block in enumerate(blocks):
        where = f"{pointer}/{i}"
        if not isinstance(block, dict) or block.get("type") not in _BLOCK_TYPES:
            errors.append(f"unsupported block type [json-pointer:{where}/type]")
            continue
        errors += _check_node(block, where)
        if (block_id := block.get("block_id")) is not None:
            if block_id in block_ids:
                errors.append(f"duplicate block_id {block_id!r} [json-pointer:{where}/block_id]")
            block_ids.add(block_id)
        action_ids: set[str] = set()
        for element_where, element in _elements(block, where):
            errors += _check_node(element, element_where)
            if (action_id := element.get("action_id")) is not None:
                if action_id in action_ids:
                    errors.append(f"duplicate action_id {action_id!r} [json-pointer:{element_where}/action_id]")
                action_ids.add(action_id)
    return errors


def check_view(view: Any) -> list[str]:
    """Slack's reasons for rejecting a modal or Home tab ``view``."""
    if not isinstance(view, dict) or view.get("type") not in ("modal", "home"):
        return ["must be a modal or home view [json-pointer:/view/type]"]
    errors = [
        error
        for path, limit in _VIEW_LIMITS
        for where, value in _walk(view, path.split("."), "/view")
        if (error := _too_big(value, limit, where))
    ]
    blocks = view.get("blocks")
    errors += check_blocks(blocks, max_blocks=_MAX_VIEW_BLOCKS, pointer="/view/blocks")
    if view["type"] == "modal":
        if not isinstance(view.get("title"), dict):
            errors.append("missing required field: title [json-pointer:/view]")
        has_input = isinstance(blocks, list) and any(isinstance(b, dict) and b.get("type") == "input" for b in blocks)
        if has_input and not view.get("submit"):
            errors.append("must provide submit property when using input blocks [json-pointer:/view]")
    return errors


def count_block_text(blocks: Any) -> int:
    """Total length of every ``"text"`` string anywhere in ``blocks``.

    What Slack's undocumented per-message budget counts (see `MAX_BLOCK_TEXT`):
    section and header text, fields, context elements, button labels, rich
    text runs alike.
    """
    if isinstance(blocks, dict):
        return sum(
            len(value) if key == "text" and isinstance(value, str) else count_block_text(value)
            for key, value in blocks.items()
        )
    if isinstance(blocks, list):
        return sum(count_block_text(item) for item in blocks)
    return 0


_trigger_serial = itertools.count(1)


def new_trigger_id(*, now: float | None = None) -> str:
    """A trigger id shaped like Slack's, ``"<issued ms>.<n>.<hex>"``, issued ``now`` (wall clock).

    The fake's views.open/views.push read the issue time back from it to
    expire it after `TRIGGER_TTL` seconds.
    """
    issued = time.time() if now is None else now
    return f"{int(issued * 1000)}.{next(_trigger_serial)}.{secrets.token_hex(10)}"


def _metadata_error(metadata: Any, *, allow_empty: bool = False) -> _ApiError | None:
    """Message metadata is ``{"event_type": str, "event_payload": object}``.

    Not an object: invalid_metadata_format; an object without those two:
    invalid_metadata_schema (chat.postMessage/chat.update/chat.scheduleMessage
    errors; shape from https://docs.slack.dev/messaging/message-metadata and
    @slack/types MessageMetadata). chat.update takes ``{}`` to remove it.
    """
    if not isinstance(metadata, dict):
        return _ApiError("invalid_metadata_format")
    if allow_empty and not metadata:
        return None
    event_type, payload = metadata.get("event_type"), metadata.get("event_payload")
    if not isinstance(event_type, str) or not event_type or not isinstance(payload, dict):
        return _ApiError("invalid_metadata_schema")
    return None


def _message_errors(params: Mapping[str, Any], *, require_content: bool = True) -> _ApiError | None:
    """The error Slack answers for a message's text and blocks, if any."""
    text, blocks = params.get("text"), params.get("blocks")
    if isinstance(text, str) and len(text) > _MAX_TEXT:
        return _ApiError("msg_too_long")
    if require_content and not text and not blocks and not params.get("attachments"):
        return _ApiError("no_text")
    if blocks is not None and (errors := check_blocks(blocks, max_blocks=_MAX_MESSAGE_BLOCKS)):
        return _ApiError(
            "invalid_blocks",
            errors=errors,
            response_metadata={"messages": [f"[ERROR] {e}" for e in errors]},
        )
    if blocks is not None and count_block_text(blocks) > MAX_BLOCK_TEXT:
        return _ApiError("msg_blocks_too_long")
    return None


def _decode_json_fields(params: Params) -> None:
    """Decode blocks/view/attachments/metadata sent as JSON strings (form bodies)."""
    for key in _JSON_FIELDS & params.keys():
        if isinstance(params[key], str):
            try:
                params[key] = json.loads(params[key])
            except json.JSONDecodeError:
                error = {"blocks": "invalid_blocks_format", "metadata": "invalid_metadata_format"}
                raise _ApiError(error.get(key, "invalid_arguments")) from None


def _flag(value: Any) -> bool:
    """Slack booleans arrive as true/"true"/"1"."""
    return value is True or value in ("true", "1", 1)


# --- The server -------------------------------------------------------------
class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeSlack


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        self._answer()

    def do_POST(self) -> None:
        self._answer()

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        data = self.rfile.read(length) if length else b""
        request_headers = {name.lower(): value for name, value in self.headers.items()}
        if urlsplit(self.path).path.startswith("/upload/"):  # a file's bytes, not text
            status, body, headers = self.server.fake._upload(self.command, self.path, data, request_headers)
        elif urlsplit(self.path).path.startswith(_PRIVATE_PATH):  # a file's url_private: bytes back
            status, body, headers = self.server.fake._download(self.command, self.path, request_headers)
        else:
            raw = data.decode("utf-8", errors="replace")
            status, body, headers = self.server.fake._dispatch(self.path, raw, request_headers)
        if isinstance(body, bytes):
            payload, content_type = body, headers.pop("Content-Type", "application/octet-stream")
        elif isinstance(body, str):
            payload, content_type = body.encode(), headers.pop("Content-Type", "text/plain; charset=utf-8")
        else:
            payload, content_type = json.dumps(body).encode(), "application/json; charset=utf-8"
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up waiting (a hang it timed out on)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        """Keep test output quiet."""


class FakeSlack:
    """A fake Slack Web API server on 127.0.0.1, on a free port, in a daemon thread.

    Use as a context manager (or call `close`). Point clients at it with
    ``WebClient(token="xoxb-...", base_url=fake.api_url)``.

    Args:
        users: the workspace directory by user id (``name``, ``real_name``,
            ``email``, ``tz``, ``locale``; other keys go to the top level of
            the user object). The bot user ``UBOT`` is always there. Given,
            views.publish to anyone else answers ``invalid_arguments``
            ("invalid `user_id`"); not given, any well-formed user id exists.
        latency: seconds to wait before answering each request.
        socket_mode_url: what ``apps.connections.open`` answers (nothing
            serves WebSockets here; point it at your own server).
        channels: the workspace's conversation ids. ``None`` (default): every
            well-formed id (``C…``, ``G…``, ``D…``) exists. Given: posting,
            scheduling or reading anywhere else answers ``channel_not_found``
            (DMs ``D<user>`` with a known user, and opened ones, always exist).
        clock: "now" in epoch seconds for chat.scheduleMessage's checks
            (``time_in_past``, ``time_too_far``); pass the app's clock when it
            is fixed. Trigger ids always expire by the wall clock.
        rate_limits: enforce Slack's per-method rate limits (see `RATE_LIMITS`),
            timed by ``clock``. Off by default.
        upload_url_ttl: seconds (wall clock) an upload URL from
            files.getUploadURLExternal stays usable (see `UPLOAD_URL_TTL`).
        share_delay: seconds (wall clock) between files.completeUploadExternal
            answering and the share happening (the message in the channel,
            ``shares`` in files.info). Slack shares asynchronously: "in many
            cases, the API response does not yet have complete 'shares' in it
            [...] consider polling the files.info API" (Slack's SDK maintainer,
            slackapi/bolt-js#2115; "a visible delay until the shares in a
            file's metadata is properly updated (this means posting a message
            in the channel can be delayed too)", slackapi/python-slack-sdk#1277).
            0 (default): at once.
        home_tab: the app's Home tab is enabled (``features.app_home.
            home_tab_enabled`` in the manifest); False: views.publish answers
            ``not_enabled``.
    """

    def __init__(
        self,
        *,
        users: Mapping[str, Mapping[str, Any]] | None = None,
        latency: float = 0.0,
        socket_mode_url: str | None = None,
        channels: Iterable[str] | None = None,
        clock: Callable[[], float] = time.time,
        rate_limits: bool = False,
        upload_url_ttl: float = UPLOAD_URL_TTL,
        share_delay: float = 0.0,
        home_tab: bool = True,
    ) -> None:
        self._lock = threading.RLock()
        self._closing = threading.Event()
        self._latency = latency
        self._channels = None if channels is None else set(channels)
        self._clock = clock
        self._rate_limits = rate_limits
        self._windows: dict[tuple[str, str], list[float]] = {}
        self._exchanged_triggers: set[str] = set()
        self._scheduled: dict[str, dict[str, Any]] = {}
        self._random: tuple[float, random.Random, frozenset[str] | None, float] | None = None
        self._users_given = users is not None
        self._users: dict[str, dict[str, Any]] = {
            BOT_USER_ID: {"name": "rejectbot", "real_name": "RejectBot", "is_bot": True},
            **{user_id: dict(info) for user_id, info in (users or {}).items()},
        }
        self._calls: list[Call] = []
        self._messages: dict[tuple[str, str], dict[str, Any]] = {}
        self._views: dict[str, dict[str, Any]] = {}
        self._home_view_ids: dict[str, str] = {}
        self._hooks: dict[str, tuple[str | None, str | None]] = {}
        self._hook_uses: dict[str, tuple[float, int]] = {}  # name -> (issued at, uses), with rate_limits
        self._failures: dict[str, list[_Failure]] = {}
        self._opened_ims: set[str] = set()
        self._bot_reactions: set[tuple[str, str, str]] = set()
        self._upload_url_ttl = upload_url_ttl
        self._share_delay = share_delay
        self._home_tab = home_tab
        self._tickets: dict[str, dict[str, Any]] = {}  # upload URL ticket -> file id, length, issued, used
        self._files: dict[str, dict[str, Any]] = {}  # file id -> the file as the fake keeps it
        self._pending_shares: list[tuple[float, str, str, str | None, str]] = []  # (due, file, channel, thread_ts, comment)
        self._serial = 0
        self._last_ts_micros = 0
        self._methods: dict[str, Callable[[Params, str], dict[str, Any]]] = {
            "auth.test": self._auth_test,
            "apps.connections.open": self._apps_connections_open,
            "chat.postMessage": self._chat_post_message,
            "chat.update": self._chat_update,
            "chat.delete": self._chat_delete,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "chat.getPermalink": self._chat_get_permalink,
            "chat.scheduleMessage": self._chat_schedule_message,
            "chat.deleteScheduledMessage": self._chat_delete_scheduled_message,
            "chat.scheduledMessages.list": self._chat_scheduled_messages_list,
            "conversations.open": self._conversations_open,
            "conversations.history": self._conversations_history,
            "conversations.replies": self._conversations_replies,
            "views.open": self._views_open,
            "views.push": self._views_push,
            "views.update": self._views_update,
            "views.publish": self._views_publish,
            "users.info": self._users_info,
            "users.lookupByEmail": self._users_lookup_by_email,
            "reactions.add": self._reactions_add,
            "files.getUploadURLExternal": self._files_get_upload_url_external,
            "files.completeUploadExternal": self._files_complete_upload_external,
            "files.info": self._files_info,
            "files.upload": self._files_upload,
        }
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.fake = self
        self._port: int = self._server.server_address[1]
        self._socket_mode_url = socket_mode_url or f"ws://127.0.0.1:{self._port}/link/"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.01}, name="fakeslack", daemon=True
        )
        self._thread.start()
        self._closed = False

    # --- lifecycle and URLs --------------------------------------------------
    def __enter__(self) -> FakeSlack:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop serving and release the port (idempotent)."""
        if self._closed:
            return
        self._closed = True
        self._closing.set()  # wake hung answers
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    @property
    def api_url(self) -> str:
        """Base URL for ``WebClient(base_url=...)``, with the trailing slash."""
        return f"http://127.0.0.1:{self._port}/api/"

    def response_url(self, name: str = "r1", *, channel: str | None = None, ts: str | None = None) -> str:
        """A response_url webhook on this server, recorded as method ``"response_url"``.

        Bind ``channel`` (and the message ``ts`` for a button's message) to make
        ``replace_original``/``delete_original``/``in_channel`` posts change
        the message state like Slack does.
        """
        with self._lock:
            self._hooks[name] = (channel, ts)
            self._hook_uses[name] = (self._clock(), 0)
        return f"http://127.0.0.1:{self._port}/hooks/{quote(name, safe='')}"

    # --- recorded calls and state -------------------------------------------
    @property
    def calls(self) -> list[Call]:
        """Every request received, in arrival order (a copy)."""
        with self._lock:
            return list(self._calls)

    def calls_to(self, method: str) -> list[Call]:
        """Recorded calls of one Web API method (or ``"response_url"``)."""
        return [call for call in self.calls if call.method == method]

    def clear(self) -> None:
        """Forget recorded calls (message and view state stay)."""
        with self._lock:
            self._calls.clear()

    @property
    def messages(self) -> dict[tuple[str, str], dict[str, Any]]:
        """Current state of every live message by ``(channel, ts)`` (a copy).

        Each is Slack's message object plus ``thread_ts`` (``None`` at top level).
        """
        with self._lock:
            self._settle_shares()
            return copy.deepcopy(self._messages)

    def thread(self, channel: str, ts: str) -> list[dict[str, Any]]:
        """Replies under the message ``ts``, oldest first (the parent excluded)."""
        with self._lock:
            self._settle_shares()
            return [
                copy.deepcopy(m)
                for (ch, m_ts), m in self._messages.items()
                if ch == channel and m["thread_ts"] == ts and m_ts != ts
            ]

    @staticmethod
    def dm_user(channel: str) -> str | None:
        """The user whose DM with the app ``channel`` is, or None for any other conversation."""
        user = channel[1:]
        return user if channel.startswith("D") and user[:1] in ("U", "W") else None

    def channel_history(self, channel: str) -> list[dict[str, Any]]:
        """Top-level messages of a channel (and broadcast replies), oldest first."""
        with self._lock:
            self._settle_shares()
            return [
                copy.deepcopy(m)
                for (ch, _), m in self._messages.items()
                if ch == channel and (m["thread_ts"] is None or m.get("subtype") == "thread_broadcast")
            ]

    @property
    def views(self) -> dict[str, dict[str, Any]]:
        """Current state of every opened, pushed or published view by id (a copy)."""
        with self._lock:
            return copy.deepcopy(self._views)

    def home_view(self, user_id: str) -> dict[str, Any] | None:
        """The Home tab last published for ``user_id``, if any."""
        with self._lock:
            view_id = self._home_view_ids.get(user_id)
            return copy.deepcopy(self._views[view_id]) if view_id else None

    def trigger_id(self) -> str:
        """A fresh trigger id, issued now (wall clock), as a click or command would carry."""
        return new_trigger_id()

    @property
    def scheduled(self) -> list[dict[str, Any]]:
        """Pending scheduled messages, by ``post_at`` (a copy).

        Each has ``id``, ``channel``, ``post_at``, ``date_created``, ``text``,
        ``blocks``, ``thread_ts`` and ``metadata`` (``None`` when absent).
        """
        with self._lock:
            return sorted((copy.deepcopy(m) for m in self._scheduled.values()), key=lambda m: (m["post_at"], m["id"]))

    def deliver_scheduled(self, until: float) -> list[dict[str, Any]]:
        """Post every pending message with ``post_at <= until``, as Slack would by then.

        Returns the messages posted (Slack's message objects). A scheduled
        message that carries ``metadata`` is dropped without being posted:
        "Messages scheduled with chat.scheduleMessage will not post if the
        metadata parameter is used" (bug alert on
        https://docs.slack.dev/reference/methods/chat.scheduleMessage).
        """
        with self._lock:
            due = [m for m in self._scheduled.values() if m["post_at"] <= until]
            posted = []
            for pending in sorted(due, key=lambda m: (m["post_at"], m["id"])):
                del self._scheduled[pending["id"]]
                if pending["metadata"] is not None:
                    continue
                message = self._store_message(pending["channel"], pending["params"], thread_ts=pending["thread_ts"])
                posted.append(self._wire(message))
            return posted

    def files(self) -> list[dict[str, Any]]:
        """Every file whose bytes reached its upload URL, in upload order (copies).

        Each has ``id``, ``name`` (the filename given to files.getUploadURLExternal),
        ``title`` (``None`` until completed), ``size``, ``content`` (the bytes),
        ``completed`` (files.completeUploadExternal accepted it) and ``shares``:
        ``[{"channel", "ts", "thread_ts"}]``, one per message that shares it
        (``thread_ts`` is ``None`` at top level).
        """
        with self._lock:
            self._settle_shares()
            return [
                {
                    "id": f["id"], "name": f["name"], "title": f["title"], "size": len(f["content"]),
                    "content": f["content"], "completed": f["completed"], "shares": [dict(share) for share in f["shares"]],
                }
                for f in self._files.values()
                if f["content"] is not None
            ]  # fmt: skip

    def file_bytes(self, file_id: str) -> bytes:
        """The bytes uploaded for ``file_id``; ``KeyError`` when none arrived."""
        with self._lock:
            file = self._files.get(file_id)
            if file is None or file["content"] is None:
                raise KeyError(file_id)
            return file["content"]

    def upload_as_user(self, user: str, filename: str, content: bytes, *, text: str = "") -> dict[str, Any]:
        """``user`` drags a file into their DM with the app: the file is stored
        (shared in ``D<user>``, its bytes served at its ``url_private``), the
        message is posted, and the ``message`` event Slack sends for it is
        returned (``message.im``: ``subtype: file_share``, ``channel_type: im``,
        ``files`` with the file object; https://docs.slack.dev/reference/events/message/file_share),
        ready for ``event_callback``."""
        channel = self._dm_channel(user)
        with self._lock:
            file_id = self._next_id("F")
            self._files[file_id] = {
                "id": file_id, "name": filename, "title": filename, "length": len(content), "content": bytes(content),
                "created": int(self._clock()), "completed": True, "shares": [], "user": user,
            }  # fmt: skip
            message = self._store_message(channel, {"text": text}, thread_ts=None)
            message.update(user=user, subtype="file_share", upload=True, display_as_bot=False)
            message.pop("bot_id", None)
            message.pop("app_id", None)
            self._files[file_id]["shares"].append({"channel": channel, "ts": message["ts"], "thread_ts": None})
            file = self._file_object(self._files[file_id], shares=False)
            message["files"] = [file]
            return {
                "type": "message", "subtype": "file_share", "text": text, "files": [file], "upload": True,
                "user": user, "display_as_bot": False, "ts": message["ts"], "channel": channel,
                "event_ts": message["ts"], "channel_type": "im",
            }  # fmt: skip

    def post_as_user(self, user: str, channel: str, text: str, *, thread_ts: str | None = None) -> dict[str, Any]:
        """``user`` writes ``text`` in ``channel`` (a reply when ``thread_ts``):
        the message is stored and the ``message`` event Slack sends for it is
        returned (a reply carries ``thread_ts`` and ``parent_user_id``;
        https://docs.slack.dev/reference/events/message), ready for ``event_callback``."""
        with self._lock:
            message = self._store_message(channel, {"text": text}, thread_ts=thread_ts)
            message.update(user=user)
            message.pop("bot_id", None)
            message.pop("app_id", None)
            event = {
                "type": "message", "user": user, "text": text, "ts": message["ts"], "channel": channel,
                "event_ts": message["ts"], "channel_type": {"C": "channel", "G": "group", "D": "im"}.get(channel[:1], "channel"),
            }  # fmt: skip
            if message["thread_ts"]:
                event.update(thread_ts=message["thread_ts"], parent_user_id=message.get("parent_user_id"))
            return event

    def react_as_user(self, user: str, channel: str, ts: str, name: str, *, added: bool = True) -> dict[str, Any] | None:
        """``user`` adds (or removes) the reaction ``name`` on a message: the
        message's ``reactions`` change as Slack's do, and the ``reaction_added``
        (``reaction_removed``) event Slack sends is returned; None when nothing
        changed (a person reacts once with each emoji, and removes only their own:
        https://docs.slack.dev/reference/methods/reactions.add ``already_reacted``,
        reactions.remove ``no_reaction``)."""
        with self._lock:
            message = self._messages.get((channel, ts))
            if message is None:
                return None
            reactions = message.setdefault("reactions", [])
            entry = next((r for r in reactions if r["name"] == name), None)
            if added == (entry is not None and user in entry["users"]):
                return None
            if added and entry is None:
                reactions.append({"name": name, "users": [user], "count": 1})
            elif added and entry is not None:
                entry["users"].append(user)
                entry["count"] += 1
            elif entry is not None:
                entry["users"].remove(user)
                entry["count"] -= 1
                if not entry["users"]:
                    reactions.remove(entry)
            return {
                "type": "reaction_added" if added else "reaction_removed", "user": user, "reaction": name,
                "item_user": message["user"], "item": {"type": "message", "channel": channel, "ts": ts, "channel_type":
                                                       {"C": "channel", "G": "group", "D": "im"}.get(channel[:1], "channel")},
                "event_ts": self._next_ts(),
            }  # fmt: skip

    def _download(self, command: str, path: str, headers: Mapping[str, str]) -> _Answer:
        """GET a file's ``url_private`` (see `_PRIVATE_PATH`): the bytes for a
        bearer token, else Slack's redirect to its sign-in page."""
        parts = unquote(urlsplit(path).path.removeprefix(_PRIVATE_PATH)).split("/")
        file_id = parts[0].removeprefix(f"{TEAM_ID}-") if parts else ""
        token = (headers.get("authorization") or "").removeprefix("Bearer ").strip() or None
        with self._lock:
            file = self._files.get(file_id)
            if command != "GET":
                answer: _Answer = (405, "method_not_allowed", {})
            elif not token or not token.startswith(("xoxb-", "xoxp-")):
                login = f"https://{TEAM_DOMAIN}.slack.com/?redir={quote(urlsplit(path).path, safe='')}"
                answer = (302, f'<a href="{login}">Found</a>.', {"Location": login, "Content-Type": "text/html; charset=utf-8"})
            elif file is None or file["content"] is None:
                answer = (404, "file_not_found", {})
            else:
                mimetype = mimetypes.guess_type(file["name"])[0] or "application/octet-stream"
                answer = (200, file["content"], {"Content-Type": mimetype})
            self._calls.append(
                Call(method=DOWNLOAD_METHOD, params={"file": file_id}, token=token, error=None if answer[0] == 200 else str(answer[0]),
                     status=answer[0], applied=answer[0] == 200)
            )  # fmt: skip
        return answer

    def abandon_uploads(self) -> list[str]:
        """Discard every file uploaded but never completed, as Slack does some
        (unpublished) time later: "If this method is not called, the uploaded
        file and associated metadata will be discarded"
        (https://docs.slack.dev/reference/methods/files.completeUploadExternal).
        Completing one afterwards answers ``file_not_found``. Returns their ids."""
        with self._lock:
            gone = [file_id for file_id, f in self._files.items() if not f["completed"]]
            for file_id in gone:
                del self._files[file_id]
            return gone

    def set_user(self, user_id: str, **info: Any) -> None:
        """Add ``user_id`` to the workspace directory, or change what it says
        of them (``locale="zh-CN"``, ``tz``, ``name``…; the keys of the
        ``users`` argument). ``users.info`` answers ``locale`` only when asked
        with ``include_locale=true``, as Slack does
        (https://api.slack.com/methods/users.info: "Set this to true to
        receive the locale for this user")."""
        with self._lock:
            self._users.setdefault(user_id, {}).update(info)

    def fail_next(
        self,
        method: str,
        error: str = "ratelimited",
        *,
        status: int | None = None,
        retry_after: int = 1,
        times: int = 1,
        extra: Mapping[str, Any] | None = None,
        applied: bool = False,
    ) -> None:
        """Answer the next ``times`` calls of ``method`` with ``error``.

        ``status`` defaults to 429 for ``ratelimited`` (with a ``Retry-After``
        header) and to 200 otherwise; ``extra`` adds fields such as ``needed``.
        ``applied=True`` performs the call first (message stored, state
        changed) and then answers the failure: Slack's "5xx after the work was
        done" ("It's possible some aspect of the operation succeeded before the
        error was raised", ``fatal_error`` in Slack's method error lists). For
        a 5xx use e.g. ``fail_next(m, "internal_error", status=500)``: Slack
        answers ``{"ok": false, "error": "internal_error"}`` (seen in
        slackapi/node-slack-sdk#1305, MeilCli/slack-upload-file#870), and
        slack_sdk's ``WebClient`` raises ``SlackApiError`` for any non-200
        answer with a JSON body (``SlackResponse.validate``), with
        ``e.response.status_code == 500``. A call that Slack itself refuses
        (bad blocks, unknown message) answers that error and is not applied.
        """
        failure = _Failure(
            error=error,
            status=status if status is not None else (429 if error == "ratelimited" else 200),
            retry_after=retry_after,
            extra=dict(extra or {}),
            remaining=times,
            applied=applied,
        )
        with self._lock:
            self._failures.setdefault(method, []).append(failure)

    def hang_next(self, method: str, seconds: float, *, times: int = 1, applied: bool = False) -> None:
        """Wait ``seconds`` before answering the next ``times`` calls of ``method``.

        A client whose timeout is shorter sees a timeout (slack_sdk's
        ``WebClient`` raises ``TimeoutError``/``URLError``; its default retry
        handlers do not retry those for Web API calls). ``applied=True``: the
        call takes effect before the wait and, if the client is still
        waiting, answers its real result. ``applied=False``: the call never
        takes effect; after the wait it answers 500 ``internal_error``.
        The call is recorded when it arrives (``Call.delay`` is the wait).
        """
        failure = _Failure(
            error=None if applied else "internal_error",
            status=200 if applied else 500,
            retry_after=0,
            extra={},
            remaining=times,
            applied=applied,
            delay=seconds,
        )
        with self._lock:
            self._failures.setdefault(method, []).append(failure)

    def fail_randomly(
        self, rate: float, *, seed: int, methods: Iterable[str] | None = None, timeout: float = 0.0
    ) -> None:
        """From now on fail each call of ``methods`` with probability ``rate``.

        ``methods=None`` means every Web API method except ``auth.test``,
        and the posts to upload URLs (`UPLOAD_METHOD`); ``response_url``
        posts only when named. Draws come from
        ``random.Random(seed)`` in arrival order, so a sequential run is
        reproducible. A failing call is, with equal odds: 500 before applying,
        500 after applying, 429 ``ratelimited`` with ``Retry-After: 1``, and
        (when ``timeout > 0``) a hang of ``timeout`` seconds after applying.
        Calls queued with `fail_next`/`hang_next` go first.
        ``fail_randomly(0, seed=0)`` turns it off. Each `Call` records its
        ``status``, ``applied`` and ``delay``.
        """
        with self._lock:
            if rate <= 0:
                self._random = None
            else:
                chosen = None if methods is None else frozenset(methods)
                self._random = (rate, random.Random(seed), chosen, timeout)

    def _random_failure(self, method: str) -> _Failure | None:
        if self._random is None:
            return None
        rate, rng, methods, timeout = self._random
        if (method not in methods) if methods is not None else method in ("auth.test", "response_url"):
            return None
        if rng.random() >= rate:
            return None
        kinds = ["500-before", "500-after", "429"] + (["hang-after"] if timeout > 0 else [])
        kind = rng.choice(kinds)
        if kind == "429":
            return _Failure("ratelimited", 429, 1, {}, 1)
        if kind == "hang-after":
            return _Failure(None, 200, 0, {}, 1, applied=True, delay=timeout)
        return _Failure("internal_error", 500, 0, {}, 1, applied=kind == "500-after")

    # --- dispatch -----------------------------------------------------------
    def _dispatch(self, path: str, raw: str, headers: Mapping[str, str]) -> _Answer:
        """Answer one request; ``headers`` have lower-case names."""
        if self._latency:
            time.sleep(self._latency)
        url = urlsplit(path)
        if url.path.startswith("/api/"):
            return self._api(url.path.removeprefix("/api/"), url.query, raw, headers)
        if url.path.startswith("/hooks/"):
            return self._hook(unquote(url.path.removeprefix("/hooks/")), raw)
        return 404, "Not Found", {}

    def _api(self, method: str, query: str, raw: str, headers: Mapping[str, str]) -> _Answer:
        params: Params = dict(parse_qsl(query, keep_blank_values=True))
        applied, delay = False, 0.0
        with self._lock:
            self._settle_shares()
            token: str | None = None
            try:
                if raw and (headers.get("content-type") or "").startswith("application/json"):
                    try:
                        body = json.loads(raw)
                    except json.JSONDecodeError:
                        body = None
                    if not isinstance(body, dict):
                        raise _ApiError("invalid_json")
                    params.update(body)
                elif raw:
                    params.update(parse_qsl(raw, keep_blank_values=True))
                form_token = params.pop("token", None)
                token = (headers.get("authorization") or "").removeprefix("Bearer ").strip() or form_token or None
                _decode_json_fields(params)
                answer, applied, delay = self._answer_api(method, params, token)
            except _ApiError as e:
                answer = 200, {"ok": False, "error": e.error, **e.extra}, {}
            body = answer[1]
            error = None if not isinstance(body, dict) or body.get("ok") else body.get("error")
            self._calls.append(
                Call(
                    method=method, params=params, token=token, error=error,
                    status=answer[0], applied=applied, delay=delay,
                )
            )  # fmt: skip
        if delay:
            self._closing.wait(delay)
        return answer

    def _answer_api(self, method: str, params: Params, token: str | None) -> tuple[_Answer, bool, float]:
        """``(answer, applied, delay)`` for one authenticated Web API call."""
        handler = self._methods.get(method)
        if handler is None:
            raise _ApiError("unknown_method")
        if not token:
            raise _ApiError("not_authed")
        if not token.startswith(("xox", "xapp-")):
            raise _ApiError("invalid_auth")
        if token.startswith("xapp-") != (method == "apps.connections.open") and method != "auth.test":
            raise _ApiError("not_allowed_token_type")
        failure = self._take_failure(method) or self._random_failure(method) or self._rate_limited(method, params)
        if failure is not None and not failure.applied:
            return self._failure_answer(failure), False, failure.delay
        result = 200, {"ok": True, **handler(params, token)}, {}
        if failure is None:
            return result, True, 0.0
        return (result if failure.error is None else self._failure_answer(failure)), True, failure.delay

    @staticmethod
    def _failure_answer(failure: _Failure) -> _Answer:
        headers = {"Retry-After": str(failure.retry_after)} if failure.status == 429 else {}
        return failure.status, {"ok": False, "error": failure.error, **failure.extra}, headers

    def _take_failure(self, method: str) -> _Failure | None:
        queue = self._failures.get(method)
        if not queue:
            return None
        failure = queue[0]
        failure.remaining -= 1
        if failure.remaining <= 0:
            queue.pop(0)
        return replace(failure)

    def _upload(self, command: str, path: str, data: bytes, headers: Mapping[str, str]) -> _Answer:
        """A file's bytes POSTed to an upload URL (recorded as `UPLOAD_METHOD`)."""
        with self._lock:
            self._settle_shares()
            params, answer, applied, delay = self._answer_upload(command, path, data, headers)
            error = None if answer[0] == 200 else str(answer[1])
            self._calls.append(
                Call(
                    method=UPLOAD_METHOD, params=params, token=None, error=error,
                    status=answer[0], applied=applied, delay=delay,
                )
            )  # fmt: skip
        if delay:
            self._closing.wait(delay)
        return answer

    def _answer_upload(self, command: str, path: str, data: bytes, headers: Mapping[str, str]) -> tuple[Params, _Answer, bool, float]:
        ticket = unquote(urlsplit(path).path.removeprefix("/upload/v1/"))
        params: Params = {"ticket": ticket, "bytes": len(data), "file": (self._tickets.get(ticket) or {}).get("file")}
        if command != "POST":
            return params, (405, "method_not_allowed", {}), False, 0.0
        failure = self._take_failure(UPLOAD_METHOD) or self._random_failure(UPLOAD_METHOD)
        if failure is not None and not failure.applied:
            return params, (failure.status, str(failure.error), {}), False, failure.delay
        refusal = self._receive_upload(ticket, data, headers)
        if refusal is not None:
            return params, refusal, False, 0.0
        ok: _Answer = (200, f"OK - {self._files[params['file']]['length']}", {})
        if failure is None or failure.error is None:
            return params, ok, True, failure.delay if failure else 0.0
        return params, (failure.status, failure.error, {}), True, failure.delay

    def _receive_upload(self, ticket: str, data: bytes, headers: Mapping[str, str]) -> _Answer | None:
        """Store the bytes for the ticket's file; the refusal (a non-200 answer) if any.

        The URL works once and for `UPLOAD_URL_TTL` seconds; the bytes must be
        the ``length`` given to files.getUploadURLExternal ("Size in bytes of
        the file being uploaded"). Slack documents only "a non-200 response
        indicates a failure": the statuses and texts here are the fake's.
        """
        pending = self._tickets.get(ticket)
        if pending is None:
            return 404, "invalid_upload_url", {}
        if pending["used"]:
            return 410, "upload_url_used", {}
        if time.monotonic() - pending["issued"] > self._upload_url_ttl:
            return 410, "upload_url_expired", {}
        content = _upload_content(data, headers.get("content-type") or "")
        if content is None:
            return 400, "no_file_in_form", {}
        if len(content) != pending["length"]:
            return 400, f"length_mismatch: expected {pending['length']} bytes, got {len(content)}", {}
        pending["used"] = True
        file = self._files.get(pending["file"])
        if file is None:  # abandoned meanwhile
            return 404, "invalid_upload_url", {}
        file["content"] = content
        return None

    def _hook(self, name: str, raw: str) -> _Answer:
        with self._lock:
            body, answer, applied, delay = self._answer_hook(name, raw)
            error = None if answer[0] == 200 else str(answer[1])
            self._calls.append(
                Call(
                    method="response_url", params=body, token=None, error=error, hook=name,
                    status=answer[0], applied=applied, delay=delay,
                )
            )  # fmt: skip
        if delay:
            self._closing.wait(delay)
        return answer

    def _answer_hook(self, name: str, raw: str) -> tuple[Params, _Answer, bool, float]:
        """Slack's webhooks answer plain text: ``ok`` or the error with HTTP 400."""
        try:
            body = json.loads(raw) if raw else {}
        except json.JSONDecodeError:
            body = None
        if not isinstance(body, dict):
            return {"payload": raw}, (400, "invalid_payload", {}), False, 0.0
        failure = self._take_failure("response_url") or self._random_failure("response_url")
        if failure is not None and not failure.applied:
            return body, (failure.status, str(failure.error), {}), False, failure.delay
        if refused := self._hook_refused(name):
            return body, (404, refused, {}), False, 0.0
        try:
            _decode_json_fields(body)
            self._apply_hook(name, body)
        except _ApiError as e:
            return body, (400, e.error, {}), False, 0.0
        if failure is None or failure.error is None:
            return body, (200, "ok", {}), True, failure.delay if failure else 0.0
        return body, (failure.status, failure.error, {}), True, failure.delay

    def _hook_refused(self, name: str) -> str | None:
        """With rate limits: a response_url works `RESPONSE_URL_USES` times
        within `RESPONSE_URL_TTL` of being issued (see there)."""
        if not self._rate_limits or name not in self._hook_uses:
            return None
        issued, uses = self._hook_uses[name]
        if self._clock() - issued > RESPONSE_URL_TTL:
            return "expired_url"
        if uses >= RESPONSE_URL_USES:
            return "used_url"
        self._hook_uses[name] = (issued, uses + 1)
        return None

    def _apply_hook(self, name: str, body: Params) -> None:
        channel, ts = self._hooks.get(name, (None, None))
        if _flag(body.get("delete_original")):
            if channel and ts:
                self._messages.pop((channel, ts), None)
            return
        if error := _message_errors(body):
            raise error
        if _flag(body.get("replace_original")):
            if channel and ts and (channel, ts) in self._messages:
                self._replace_content(self._messages[(channel, ts)], body)
        elif body.get("response_type") == "in_channel" and channel:
            self._store_message(channel, body, thread_ts=body.get("thread_ts"))

    # --- message state helpers ----------------------------------------------
    def _next_ts(self) -> str:
        """A message ts as Slack gives it: the epoch seconds of ``clock`` at
        posting (so ``oldest``/``latest`` filters line up with the app's
        clock), kept unique and increasing within a channel as Slack's are
        (https://docs.slack.dev/messaging/retrieving-messages: ts is unique per channel)."""
        self._serial += 1
        micros = max(int(self._clock() * 1_000_000), self._last_ts_micros + 100)
        self._last_ts_micros = micros
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    def _next_id(self, prefix: str) -> str:
        self._serial += 1
        return f"{prefix}{self._serial:08d}"

    @staticmethod
    def _with_block_ids(blocks: Any, seed: str) -> Any:
        """Give blocks without a block_id one, as Slack does."""
        if not isinstance(blocks, list):
            return []
        auto_ids = [hashlib.sha1(f"{seed}/{i}".encode()).hexdigest()[:5] for i in range(len(blocks))]
        return [{"block_id": auto_id, **copy.deepcopy(b)} for b, auto_id in zip(blocks, auto_ids, strict=True)]

    def _store_message(self, channel: str, params: Params, *, thread_ts: str | None) -> dict[str, Any]:
        ts = self._next_ts()
        parent = self._messages.get((channel, thread_ts)) if thread_ts else None
        if parent is not None:
            thread_ts = parent["thread_ts"] or parent["ts"]  # a reply to a reply joins the thread
            root = self._messages.get((channel, thread_ts), parent)
            root["reply_count"] = root.get("reply_count", 0) + 1
            root["latest_reply"] = ts
        message: dict[str, Any] = {
            "type": "message",
            "user": BOT_USER_ID,
            "bot_id": BOT_ID,
            "app_id": APP_ID,
            "team": TEAM_ID,
            "ts": ts,
            "text": params.get("text") or "",
            "blocks": self._with_block_ids(params.get("blocks"), ts),
            "thread_ts": thread_ts,
        }
        for key in ("attachments", "metadata"):
            if params.get(key):
                message[key] = params[key]
        if parent is not None:
            message["parent_user_id"] = parent["user"]
        if thread_ts and _flag(params.get("reply_broadcast")):
            message["subtype"] = "thread_broadcast"
        self._messages[(channel, ts)] = message
        return message

    def _replace_content(self, message: dict[str, Any], params: Params) -> None:
        """chat.update semantics: given text/blocks replace; omitted ones are kept."""
        if "text" in params:
            message["text"] = params.get("text") or ""
        if "blocks" in params:
            message["blocks"] = self._with_block_ids(params["blocks"], f"{message['ts']}/{self._next_ts()}")
        if "attachments" in params:
            message["attachments"] = params["attachments"]
        message["edited"] = {"user": BOT_USER_ID, "ts": self._next_ts()}

    @staticmethod
    def _wire(message: Mapping[str, Any]) -> dict[str, Any]:
        """A stored message as Slack returns it (no ``None`` fields)."""
        return {k: copy.deepcopy(v) for k, v in message.items() if v is not None}

    @staticmethod
    def _dm_channel(channel: str) -> str:
        """Posting to a user id lands in the app's DM with them."""
        return f"D{channel}" if channel[:1] in ("U", "W") else channel

    # --- Web API methods ----------------------------------------------------
    def _auth_test(self, params: Params, token: str) -> dict[str, Any]:
        return {
            "url": f"https://{TEAM_DOMAIN}.slack.com/",
            "team": "RejectBot Test",
            "user": "rejectbot",
            "team_id": TEAM_ID,
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    def _apps_connections_open(self, params: Params, token: str) -> dict[str, Any]:
        return {"url": self._socket_mode_url}

    def _rate_limited(self, method: str, params: Params) -> _Failure | None:
        """429 ``ratelimited`` with ``Retry-After`` once a `RATE_LIMITS` window is full."""
        if not self._rate_limits or method not in RATE_LIMITS:
            return None
        calls, window, per_channel = RATE_LIMITS[method]
        key = (method, self._dm_channel(str(params.get("channel") or "")) if per_channel else "")
        now = self._clock()
        recent = [t for t in self._windows.get(key, []) if t > now - window]
        if len(recent) >= calls:
            self._windows[key] = recent
            return _Failure("ratelimited", 429, max(1, math.ceil(recent[0] + window - now)), {}, 1)
        self._windows[key] = [*recent, now]
        return None

    def _channel_exists(self, channel: str, *, by_name: bool = False) -> bool:
        """Whether ``channel`` is a conversation of this workspace (see ``channels=``).

        ``by_name``: the method also takes a channel name (chat.postMessage,
        chat.scheduleMessage: "Can be an encoded ID, or a name").
        """
        if self._channels is None:
            return by_name or bool(_CHANNEL_ID.fullmatch(channel))
        if channel in self._channels or channel in self._opened_ims:
            return True
        return channel.startswith("D") and channel[1:] in self._users

    def _target_channel(self, params: Params) -> str:
        """The conversation a message goes to: a user id means the app's DM with them."""
        raw = params.get("channel")
        if not raw or not isinstance(raw, str):
            raise _ApiError("channel_not_found")
        channel = self._dm_channel(raw)
        if not self._channel_exists(channel, by_name=True):
            raise _ApiError("channel_not_found")
        return channel

    def _chat_post_message(self, params: Params, token: str) -> dict[str, Any]:
        channel = self._target_channel(params)
        if error := _message_errors(params):
            raise error
        if params.get("metadata") is not None and (error := _metadata_error(params["metadata"])):
            raise error
        message = self._store_message(channel, params, thread_ts=params.get("thread_ts") or None)
        return {"channel": channel, "ts": message["ts"], "message": self._wire(message)}

    def _chat_update(self, params: Params, token: str) -> dict[str, Any]:
        channel, ts = params.get("channel"), params.get("ts")
        if not channel:
            raise _ApiError("channel_not_found")
        message = self._messages.get((channel, str(ts)))
        if message is None:
            raise _ApiError("message_not_found")
        if error := _message_errors(params, require_content=False):
            raise error
        if not any(params.get(key) is not None for key in ("text", "blocks", "attachments")):
            raise _ApiError("no_text")
        metadata = params.get("metadata")
        if metadata is not None and (error := _metadata_error(metadata, allow_empty=True)):
            raise error
        self._replace_content(message, params)
        if metadata is not None:
            # "If you don't include this field, the message's previous metadata will be
            # retained. To remove previous metadata, include an empty object" (chat.update docs).
            if metadata:
                message["metadata"] = metadata
            else:
                message.pop("metadata", None)
        return {"channel": channel, "ts": message["ts"], "text": message["text"], "message": self._wire(message)}

    def _chat_delete(self, params: Params, token: str) -> dict[str, Any]:
        key = (str(params.get("channel")), str(params.get("ts")))
        if self._messages.pop(key, None) is None:
            raise _ApiError("message_not_found")
        return {"channel": key[0], "ts": key[1]}

    def _chat_post_ephemeral(self, params: Params, token: str) -> dict[str, Any]:
        if not params.get("channel"):
            raise _ApiError("channel_not_found")
        if not params.get("user"):
            raise _ApiError("user_not_found")
        if error := _message_errors(params):
            raise error
        return {"message_ts": self._next_ts()}

    def _chat_get_permalink(self, params: Params, token: str) -> dict[str, Any]:
        channel, ts = params.get("channel"), params.get("message_ts")
        if not channel:
            raise _ApiError("channel_not_found")
        if not ts:
            raise _ApiError("message_not_found")
        link = f"https://{TEAM_DOMAIN}.slack.com/archives/{channel}/p{str(ts).replace('.', '')}"
        message = self._messages.get((channel, ts))
        if message is not None and message["thread_ts"]:
            link += f"?thread_ts={message['thread_ts']}&cid={channel}"
        return {"channel": channel, "permalink": link}

    def _conversations_open(self, params: Params, token: str) -> dict[str, Any]:
        if params.get("channel"):
            return {"no_op": True, "already_open": True, "channel": {"id": params["channel"]}}
        users = params.get("users")
        user_ids = users if isinstance(users, list) else [u for u in str(users or "").split(",") if u]
        if not user_ids:
            raise _ApiError("users_list_not_supplied")
        if len(user_ids) == 1:
            channel_id = self._dm_channel(user_ids[0])
        else:
            channel_id = "G" + hashlib.sha1(",".join(sorted(user_ids)).encode()).hexdigest()[:10].upper()
        already_open = channel_id in self._opened_ims
        self._opened_ims.add(channel_id)
        return {"no_op": already_open, "already_open": already_open, "channel": {"id": channel_id}}

    def _checked_view(self, params: Params, *, kind: str) -> dict[str, Any]:
        view: dict[str, Any] = params.get("view") or {}
        errors = check_view(view)
        if not errors and view["type"] != kind:
            errors = [f"must be a {kind} view [json-pointer:/view/type]"]
        if errors:
            raise _ApiError("invalid_arguments", response_metadata={"messages": [f"[ERROR] {e}" for e in errors]})
        return view

    def _store_view(self, view_id: str, view: Mapping[str, Any], *, root_view_id: str | None = None) -> dict[str, Any]:
        stored = {
            "id": view_id,
            "team_id": TEAM_ID,
            "type": view["type"],
            "blocks": self._with_block_ids(view.get("blocks"), view_id),
            "private_metadata": view.get("private_metadata", ""),
            "callback_id": view.get("callback_id", ""),
            "state": {"values": {}},
            "hash": f"{self._next_ts()}.{view_id[-4:]}",
            "title": view.get("title"),
            "clear_on_close": bool(view.get("clear_on_close", False)),
            "notify_on_close": bool(view.get("notify_on_close", False)),
            "close": view.get("close"),
            "submit": view.get("submit"),
            "previous_view_id": None,
            "root_view_id": root_view_id or view_id,
            "app_id": APP_ID,
            "external_id": view.get("external_id", ""),
            "app_installed_team_id": TEAM_ID,
            "bot_id": BOT_ID,
        }
        self._views[view_id] = stored
        return {"view": copy.deepcopy(stored)}

    def _exchange_trigger(self, params: Params) -> str:
        """Check a trigger id like Slack (format, 3 s, once); return it to mark it used."""
        trigger = params.get("trigger_id") or params.get("interactivity_pointer")
        if not trigger:
            raise _ApiError("invalid_arguments")
        match = _TRIGGER_ID.fullmatch(str(trigger))
        if match is None:
            raise _ApiError("invalid_trigger_id")
        if trigger in self._exchanged_triggers:
            raise _ApiError("exchanged_trigger_id")
        if time.time() - int(match.group(1)) / 1000 > TRIGGER_TTL:
            raise _ApiError("expired_trigger_id")
        return str(trigger)

    def _views_open(self, params: Params, token: str) -> dict[str, Any]:
        trigger = self._exchange_trigger(params)
        answer = self._store_view(self._next_id("V"), self._checked_view(params, kind="modal"))
        self._exchanged_triggers.add(trigger)
        return answer

    def _views_push(self, params: Params, token: str) -> dict[str, Any]:
        return self._views_open(params, token)

    def _views_update(self, params: Params, token: str) -> dict[str, Any]:
        view_id = params.get("view_id") or next(
            (
                v["id"]
                for v in self._views.values()
                if params.get("external_id") and v["external_id"] == params["external_id"]
            ),
            None,
        )
        current = self._views.get(str(view_id))
        if current is None:
            raise _ApiError("not_found")
        if params.get("hash") and params["hash"] != current["hash"]:
            raise _ApiError("hash_conflict")
        view = self._checked_view(params, kind=current["type"])
        return self._store_view(current["id"], view, root_view_id=current["root_view_id"])

    def _views_publish(self, params: Params, token: str) -> dict[str, Any]:
        user_id = params.get("user_id")
        if not user_id:
            raise _ApiError("invalid_arguments")
        if not _USER_ID.fullmatch(str(user_id)) or (self._users_given and user_id not in self._users):
            raise _ApiError("invalid_arguments", response_metadata={"messages": ["invalid `user_id`"]})
        if not self._home_tab:
            raise _ApiError("not_enabled")
        if len(json.dumps(params.get("view") or {}, ensure_ascii=False).encode()) > _MAX_VIEW_BYTES:
            raise _ApiError("view_too_large")
        view = self._checked_view(params, kind="home")
        view_id = self._home_view_ids.get(user_id) or self._next_id("V")
        if params.get("hash") and view_id in self._views and params["hash"] != self._views[view_id]["hash"]:
            raise _ApiError("hash_conflict")
        self._home_view_ids[user_id] = view_id
        return self._store_view(view_id, view)

    def _user_object(self, user_id: str, *, include_locale: bool) -> dict[str, Any]:
        info = self._users[user_id]
        tz = info.get("tz", "UTC")
        try:
            now = datetime.now(ZoneInfo(tz))
            offset = now.utcoffset()
            tz_label, tz_offset = now.tzname() or tz, int(offset.total_seconds()) if offset else 0
        except ZoneInfoNotFoundError:
            tz_label, tz_offset = tz, 0
        name = info.get("name", user_id.lower())
        real_name = info.get("real_name", name)
        profile = {
            "real_name": real_name,
            "real_name_normalized": real_name,
            "display_name": info.get("display_name", name),
            "display_name_normalized": info.get("display_name", name),
            "team": TEAM_ID,
            **({"email": info["email"]} if info.get("email") else {}),
            **({"bot_id": BOT_ID} if user_id == BOT_USER_ID else {}),
        }
        user: dict[str, Any] = {
            "id": user_id,
            "team_id": TEAM_ID,
            "name": name,
            "deleted": False,
            "real_name": real_name,
            "tz": tz,
            "tz_label": tz_label,
            "tz_offset": tz_offset,
            "profile": profile,
            "is_admin": False,
            "is_owner": False,
            "is_primary_owner": False,
            "is_restricted": False,
            "is_ultra_restricted": False,
            "is_bot": False,
            "is_app_user": False,
            "updated": _TS_BASE_MICROS // 1_000_000,
        }
        user.update(
            {k: v for k, v in info.items() if k not in ("name", "real_name", "display_name", "email", "tz", "locale")}
        )
        if include_locale:
            user["locale"] = info.get("locale", "en-US")
        return user

    def _users_info(self, params: Params, token: str) -> dict[str, Any]:
        user_id = params.get("user")
        if not user_id or user_id not in self._users:
            raise _ApiError("user_not_found")
        return {"user": self._user_object(user_id, include_locale=_flag(params.get("include_locale")))}

    def _users_lookup_by_email(self, params: Params, token: str) -> dict[str, Any]:
        email = str(params.get("email") or "").lower()
        for user_id, info in self._users.items():
            if email and str(info.get("email", "")).lower() == email:
                return {"user": self._user_object(user_id, include_locale=_flag(params.get("include_locale")))}
        raise _ApiError("users_not_found")

    def _reactions_add(self, params: Params, token: str) -> dict[str, Any]:
        channel, ts, name = params.get("channel"), params.get("timestamp"), params.get("name")
        if not channel or not ts:
            raise _ApiError("no_item_specified")
        if not name:
            raise _ApiError("invalid_name")
        key = (str(channel), str(ts), str(name))
        if key in self._bot_reactions:
            raise _ApiError("already_reacted")
        self._bot_reactions.add(key)
        message = self._messages.get((key[0], key[1]))
        if message is not None:
            reactions = message.setdefault("reactions", [])
            entry = next((r for r in reactions if r["name"] == name), None)
            if entry is None:
                reactions.append({"name": name, "users": [BOT_USER_ID], "count": 1})
            else:
                entry["users"].append(BOT_USER_ID)
                entry["count"] += 1
        return {}

    # --- history --------------------------------------------------------------
    def _read_channel(self, params: Params) -> str:
        channel = params.get("channel")
        if not isinstance(channel, str) or not self._channel_exists(channel):
            raise _ApiError("channel_not_found")
        return channel

    @staticmethod
    def _in_range(messages: Iterable[dict[str, Any]], params: Params) -> list[dict[str, Any]]:
        """Messages after ``oldest`` and before ``latest`` (both kept when ``inclusive``)."""
        oldest = _parse_ts(params.get("oldest"), "invalid_ts_oldest", default=Decimal(0))
        latest = _parse_ts(params.get("latest"), "invalid_ts_latest", default=None)
        inclusive = _flag(params.get("inclusive"))

        def keep(ts: Decimal) -> bool:
            above = ts >= oldest if inclusive else ts > oldest  # type: ignore[operator]
            below = latest is None or (ts <= latest if inclusive else ts < latest)
            return above and below

        return [m for m in messages if keep(Decimal(m["ts"]))]

    @staticmethod
    def _limit(params: Params, *, default: int, maximum: int) -> int:
        try:
            limit = int(params.get("limit") or default)
        except (TypeError, ValueError):
            raise _ApiError("invalid_limit") from None
        return min(max(limit, 1), maximum)

    @staticmethod
    def _paged(items: list[dict[str, Any]], limit: int) -> tuple[list[dict[str, Any]], str]:
        """The first ``limit`` items and the cursor to the next one ("" when none is left)."""
        page, rest = items[:limit], items[limit:]
        return page, (_encode_cursor(f"next_ts:{rest[0]['ts']}") if rest else "")

    def _history_message(self, message: Mapping[str, Any], *, metadata: bool) -> dict[str, Any]:
        wire = self._wire(message)
        if message.get("reply_count") and message["thread_ts"] is None:
            wire["thread_ts"] = message["ts"]  # a thread's parent carries its own ts
        if not metadata:
            wire.pop("metadata", None)
        return wire

    def _conversations_history(self, params: Params, token: str) -> dict[str, Any]:
        """Top-level messages and broadcast replies, newest first.

        https://docs.slack.dev/reference/methods/conversations.history: latest,
        oldest, inclusive, limit (default 100, max 999), cursor; metadata only
        with ``include_all_metadata``.
        """
        channel = self._read_channel(params)
        messages = self._in_range(
            (
                m
                for (ch, _), m in self._messages.items()
                if ch == channel and (m["thread_ts"] is None or m.get("subtype") == "thread_broadcast")
            ),
            params,
        )
        messages.sort(key=lambda m: Decimal(m["ts"]), reverse=True)
        if cursor := params.get("cursor"):
            start = _cursor_ts(str(cursor))
            messages = [m for m in messages if Decimal(m["ts"]) <= start]
        page, next_cursor = self._paged(messages, self._limit(params, default=_HISTORY_LIMIT, maximum=_HISTORY_MAX))
        return self._messages_answer(page, next_cursor, params)

    def _messages_answer(self, page: list[dict[str, Any]], next_cursor: str, params: Params) -> dict[str, Any]:
        metadata = _flag(params.get("include_all_metadata"))
        answer: dict[str, Any] = {
            "messages": [self._history_message(m, metadata=metadata) for m in page],
            "has_more": bool(next_cursor),
        }
        if next_cursor:
            answer["response_metadata"] = {"next_cursor": next_cursor}
        return answer

    def _conversations_replies(self, params: Params, token: str) -> dict[str, Any]:
        """A thread: its parent first, then the replies oldest first.

        https://docs.slack.dev/reference/methods/conversations.replies: ``ts``
        is the parent's or any reply's; an unknown ``ts`` is ``thread_not_found``.
        The parent heads the first page whatever ``oldest``/``latest`` say;
        later pages (``cursor``) hold replies only.
        """
        channel = self._read_channel(params)
        message = self._messages.get((channel, str(params.get("ts") or "")))
        if message is None:
            raise _ApiError("thread_not_found")
        root_ts = message["thread_ts"] or message["ts"]
        replies = self._in_range(
            (m for (ch, ts), m in self._messages.items() if ch == channel and m["thread_ts"] == root_ts and ts != root_ts),
            params,
        )
        replies.sort(key=lambda m: Decimal(m["ts"]))
        if cursor := params.get("cursor"):
            start = _cursor_ts(str(cursor))
            items = [m for m in replies if Decimal(m["ts"]) >= start]
        else:
            root = self._messages.get((channel, root_ts))
            items = ([root] if root is not None else []) + replies
        page, next_cursor = self._paged(items, self._limit(params, default=_REPLIES_LIMIT, maximum=_REPLIES_LIMIT))
        return self._messages_answer(page, next_cursor, params)

    # --- scheduled messages -------------------------------------------------------
    def _chat_schedule_message(self, params: Params, token: str) -> dict[str, Any]:
        """https://docs.slack.dev/reference/methods/chat.scheduleMessage.

        Same message checks as chat.postMessage; ``post_at`` in the past:
        time_in_past, beyond 120 days: time_too_far, not a number: invalid_time;
        more than 30 in 5 minutes in one channel: restricted_too_many.
        """
        channel = self._target_channel(params)
        if error := _message_errors(params):
            raise error
        metadata = params.get("metadata")
        if metadata is not None and (error := _metadata_error(metadata)):
            raise error
        try:
            post_at = int(float(params.get("post_at")))  # type: ignore[arg-type]
        except (TypeError, ValueError, OverflowError):
            raise _ApiError("invalid_time") from None
        now = self._clock()
        if post_at < now:
            raise _ApiError("time_in_past")
        if post_at > now + _SCHEDULE_HORIZON:
            raise _ApiError("time_too_far")
        close = [
            m for m in self._scheduled.values()
            if m["channel"] == channel and abs(m["post_at"] - post_at) < _SCHEDULE_WINDOW
        ]  # fmt: skip
        if len(close) >= _SCHEDULE_PER_WINDOW:
            raise _ApiError("restricted_too_many")
        scheduled_id = self._next_id("Q")
        content = {k: copy.deepcopy(params[k]) for k in ("text", "blocks", "attachments", "reply_broadcast") if k in params}
        self._scheduled[scheduled_id] = {
            "id": scheduled_id,
            "channel": channel,
            "post_at": post_at,
            "date_created": int(now),
            "text": params.get("text") or "",
            "blocks": copy.deepcopy(params.get("blocks")),
            "thread_ts": params.get("thread_ts") or None,
            "metadata": copy.deepcopy(metadata),
            "params": content,
        }
        message = {"type": "delayed_message", "subtype": "bot_message", "bot_id": BOT_ID, "text": params.get("text") or ""}
        return {"channel": channel, "scheduled_message_id": scheduled_id, "post_at": post_at, "message": message}

    def _chat_delete_scheduled_message(self, params: Params, token: str) -> dict[str, Any]:
        """Unknown, already posted or deleted id: invalid_scheduled_message_id
        (https://docs.slack.dev/reference/methods/chat.deleteScheduledMessage);
        so is one due within 60 s (see `_UNDELETABLE_BEFORE_POST`)."""
        channel = self._target_channel(params)
        pending = self._scheduled.get(str(params.get("scheduled_message_id") or ""))
        if pending is None or pending["channel"] != channel:
            raise _ApiError("invalid_scheduled_message_id")
        if pending["post_at"] - self._clock() < _UNDELETABLE_BEFORE_POST:
            raise _ApiError("invalid_scheduled_message_id")
        del self._scheduled[pending["id"]]
        return {}

    def _chat_scheduled_messages_list(self, params: Params, token: str) -> dict[str, Any]:
        """https://docs.slack.dev/reference/methods/chat.scheduledMessages.list:
        channel, oldest/latest on post_at, limit, cursor."""
        channel = params.get("channel")
        if channel and not self._channel_exists(self._dm_channel(str(channel))):
            raise _ApiError("invalid_channel")
        oldest = _parse_ts(params.get("oldest"), "invalid_ts_oldest", default=None)
        latest = _parse_ts(params.get("latest"), "invalid_ts_latest", default=None)
        pending = [
            m for m in sorted(self._scheduled.values(), key=lambda m: (m["post_at"], m["id"]))
            if (not channel or m["channel"] == self._dm_channel(str(channel)))
            and (oldest is None or m["post_at"] >= oldest) and (latest is None or m["post_at"] <= latest)
        ]  # fmt: skip
        start = 0
        if cursor := params.get("cursor"):
            ids = [m["id"] for m in pending]
            start_id = _decode_cursor(str(cursor), "next_id:")
            if start_id not in ids:
                raise _ApiError("invalid_cursor")
            start = ids.index(start_id)
        try:
            limit = max(int(params.get("limit") or 100), 1)
        except (TypeError, ValueError):
            raise _ApiError("invalid_limit") from None
        page, rest = pending[start : start + limit], pending[start + limit :]
        return {
            "scheduled_messages": [
                {k: m[k] for k in ("id", "post_at", "date_created", "text")} | {"channel_id": m["channel"]} for m in page
            ],
            "response_metadata": {"next_cursor": _encode_cursor("next_id:" + rest[0]["id"]) if rest else ""},
        }

    # --- files ----------------------------------------------------------------------
    def _files_get_upload_url_external(self, params: Params, token: str) -> dict[str, Any]:
        """https://docs.slack.dev/reference/methods/files.getUploadURLExternal:
        ``filename`` and ``length`` required; ``length`` 0 is ``missing_argument``
        ("Typically only occurs when the length provided is 0"); ``alt_txt``
        over 1000 characters is ``alt_txt_too_large``. Answers a single-use
        ``upload_url`` on this server (Slack's is on files.slack.com) and the
        ``file_id``."""
        filename, raw_length = params.get("filename"), params.get("length")
        missing = [name for name, value in (("filename", filename), ("length", raw_length)) if value in (None, "")]
        if missing:
            messages = [f"[ERROR] missing required field: {name}" for name in missing]
            raise _ApiError("invalid_arguments", response_metadata={"messages": messages})
        try:
            length = int(str(raw_length))
        except ValueError:
            raise _ApiError("invalid_arguments", response_metadata={"messages": ["[ERROR] must be an integer [json-pointer:/length]"]}) from None
        if length <= 0:
            raise _ApiError("missing_argument")
        if len(str(params.get("alt_txt") or "")) > 1000:
            raise _ApiError("alt_txt_too_large")
        file_id = self._next_id("F")
        ticket = secrets.token_urlsafe(18)
        self._tickets[ticket] = {"file": file_id, "length": length, "issued": time.monotonic(), "used": False}
        self._files[file_id] = {
            "id": file_id, "name": str(filename), "title": None, "length": length, "content": None,
            "created": int(self._clock()), "completed": False, "shares": [],
        }  # fmt: skip
        return {"upload_url": f"http://127.0.0.1:{self._port}/upload/v1/{ticket}", "file_id": file_id}

    def _files_complete_upload_external(self, params: Params, token: str) -> dict[str, Any]:
        """https://docs.slack.dev/reference/methods/files.completeUploadExternal.

        ``files``: ``[{"id", "title"}]`` (a JSON string in a form body); an id
        whose bytes never arrived, or that was discarded, is ``file_not_found``
        ("Could not find the file from the upload ticket"). ``channel_id``
        (and ``channels``, comma-separated, at most 100:
        ``channels_limit_exceeded``) must be conversation ids (see
        `_SHARE_CHANNEL`); without any, the file stays private. ``thread_ts``
        shares it as a reply; ``initial_comment`` is the message's text.

        The share is one message by the bot carrying a ``files`` array, seen in
        conversations.history/replies, and the file's ``shares`` in files.info;
        it happens after ``share_delay`` (Slack shares asynchronously), and the
        answer lists the files as they are when it answers.

        "This method can only be called once", the page says, without naming
        an error for a second call: the fake shares again, so a client that
        completes blindly twice posts twice.
        """
        files = params.get("files")
        if isinstance(files, str):
            try:
                files = json.loads(files)
            except json.JSONDecodeError:
                files = None
        if not isinstance(files, list) or not files or not all(isinstance(f, dict) and isinstance(f.get("id"), str) for f in files):
            raise _ApiError("invalid_arguments", response_metadata={"messages": ["[ERROR] must provide files [json-pointer:/files]"]})
        targets = [str(params["channel_id"])] if params.get("channel_id") else []
        targets += [c.strip() for c in str(params.get("channels") or "").split(",") if c.strip()]
        if len(targets) > 100:
            raise _ApiError("channels_limit_exceeded")
        for channel in targets:
            if not _SHARE_CHANNEL.fullmatch(channel):
                message = "[ERROR] input must match regex pattern: ^[CGDZ][A-Z0-9]{8,}$ [json-pointer:/channel_id]"
                raise _ApiError("invalid_arguments", response_metadata={"messages": [message]})
            if not self._channel_exists(channel):
                raise _ApiError("channel_not_found")
        thread_ts = str(params.get("thread_ts") or "") or None
        if thread_ts and len(targets) > 1:
            raise _ApiError("invalid_arguments", response_metadata={"messages": ["[ERROR] thread_ts needs one channel"]})
        chosen = []
        for entry in files:
            file = self._files.get(entry["id"])
            if file is None or file["content"] is None:
                raise _ApiError("file_not_found")
            chosen.append((file, entry.get("title")))
        for file, title in chosen:
            file["title"] = str(title) if title else file["title"] or file["name"]
            file["completed"] = True
        ids = tuple(file["id"] for file, _ in chosen)
        for channel in targets:
            self._pending_shares.append(
                (time.monotonic() + self._share_delay, ids, channel, thread_ts, str(params.get("initial_comment") or ""))
            )
        if self._share_delay <= 0:
            self._settle_shares()
        return {"files": [self._file_object(file) for file, _ in chosen]}

    def _settle_shares(self) -> None:
        """Carry out the shares whose delay is over (see ``share_delay``)."""
        if not self._pending_shares:
            return
        now = time.monotonic()
        due = sorted((p for p in self._pending_shares if p[0] <= now), key=lambda p: p[0])
        self._pending_shares = [p for p in self._pending_shares if p[0] > now]
        for _, ids, channel, thread_ts, comment in due:
            present = [self._files[i] for i in ids if i in self._files]
            message = self._store_message(channel, {"text": comment}, thread_ts=thread_ts)
            message["files"] = [self._file_object(f, shares=False) for f in present]
            message["upload"] = True
            message["display_as_bot"] = False
            for file in present:
                file["shares"].append({"channel": channel, "ts": message["ts"], "thread_ts": message["thread_ts"]})

    def _file_object(self, file: Mapping[str, Any], *, shares: bool = True) -> dict[str, Any]:
        """Slack's file object (https://docs.slack.dev/reference/objects/file-object):
        ``shares`` maps ``public`` (channels) and ``private`` (private channels,
        DMs) to ``{channel: [{"ts", "thread_ts"?, ...}]}``; ``channels``,
        ``groups`` and ``ims`` list where it is shared."""
        name = file["name"]
        extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
        path = f"{TEAM_ID}-{file['id']}/{quote(name)}"
        owner = file.get("user") or BOT_USER_ID
        # A person's file is served here (its bytes behind the bearer token, see _PRIVATE_PATH);
        # the bot's own uploads keep Slack's address, which nothing downloads in tests.
        files_host = f"http://127.0.0.1:{self._port}" if owner != BOT_USER_ID else "https://files.slack.com"
        by_visibility: dict[str, dict[str, list[dict[str, Any]]]] = {}
        for share in file["shares"]:
            visibility = "public" if share["channel"].startswith("C") else "private"
            entry = {
                "reply_users": [], "reply_users_count": 0, "reply_count": 0, "ts": share["ts"],
                "channel_name": share["channel"].lower(), "team_id": TEAM_ID, "share_user_id": owner,
                "source": "UNKNOWN", "is_silent_share": False,
            }  # fmt: skip
            if share["thread_ts"]:
                entry["thread_ts"] = share["thread_ts"]
            by_visibility.setdefault(visibility, {}).setdefault(share["channel"], []).append(entry)
        shared_in = list(dict.fromkeys(share["channel"] for share in file["shares"]))
        result: dict[str, Any] = {
            "id": file["id"],
            "created": file["created"],
            "timestamp": file["created"],
            "name": name,
            "title": file["title"] or name,
            "mimetype": mimetypes.guess_type(name)[0] or "application/octet-stream",
            "filetype": extension,
            "pretty_type": extension.upper(),
            "user": owner,
            "user_team": TEAM_ID,
            "editable": False,
            "size": len(file["content"] or b""),
            "mode": "hosted",
            "is_external": False,
            "external_type": "",
            "is_public": "public" in by_visibility,
            "public_url_shared": False,
            "display_as_bot": False,
            "username": "",
            "url_private": f"{files_host}/files-pri/{path}",
            "url_private_download": f"{files_host}/files-pri/{TEAM_ID}-{file['id']}/download/{quote(name)}",
            "permalink": f"https://{TEAM_DOMAIN}.slack.com/files/{owner}/{file['id']}/{quote(name)}",
            "comments_count": 0,
            "has_rich_preview": False,
            "file_access": "visible",
        }
        if shares:
            result["channels"] = [c for c in shared_in if c.startswith("C")]
            result["groups"] = [c for c in shared_in if c.startswith("G")]
            result["ims"] = [c for c in shared_in if c.startswith("D")]
            result["shares"] = by_visibility
        return result

    def _files_info(self, params: Params, token: str) -> dict[str, Any]:
        """https://docs.slack.dev/reference/methods/files.info: the file object;
        an unknown id is ``file_not_found`` ("Value passed for file was
        invalid"), and so is a file never completed (uploaded files are
        discarded unless completed)."""
        file = self._files.get(str(params.get("file") or ""))
        if file is None or not file["completed"]:
            raise _ApiError("file_not_found")
        return {"file": self._file_object(file), "comments": [], "response_metadata": {"next_cursor": ""}}

    def _files_upload(self, params: Params, token: str) -> dict[str, Any]:
        """Retired: "On November 12, 2025, the files.upload API will be sunset and no
        longer available. All apps, new and old, must use the new methods by this
        date" (https://docs.slack.dev/changelog/2024-04-a-better-way-to-upload-files-is-here-to-stay);
        since then Slack answers ``method_deprecated`` (wee-slack/wee-slack#959)."""
        raise _ApiError("method_deprecated")


def _parse_ts(value: Any, error: str, *, default: Decimal | None) -> Decimal | None:
    """A Slack timestamp argument (``"1764200000.000100"``, ``"0"``) as a Decimal."""
    if value is None or value == "":
        return default
    try:
        parsed = Decimal(str(value))
    except InvalidOperation:
        raise _ApiError(error) from None
    if not parsed.is_finite():
        raise _ApiError(error)
    return parsed


def _encode_cursor(text: str) -> str:
    """Slack's cursors are base64 of e.g. ``next_ts:1512085861000543`` (pagination docs)."""
    return base64.b64encode(text.encode()).decode()


def _decode_cursor(cursor: str, prefix: str) -> str:
    try:
        text = base64.b64decode(cursor, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise _ApiError("invalid_cursor") from None
    if not text.startswith(prefix):
        raise _ApiError("invalid_cursor")
    return text.removeprefix(prefix)


def _cursor_ts(cursor: str) -> Decimal:
    value = _parse_ts(_decode_cursor(cursor, "next_ts:"), "invalid_cursor", default=None)
    if value is None:
        raise _ApiError("invalid_cursor")
    return value


def _upload_content(data: bytes, content_type: str) -> bytes | None:
    """The file's bytes from an upload POST: the body itself, or the file part of
    a multipart form (``-F filename="@text.txt"`` in Slack's example); ``None``
    when a form has no file part."""
    if not content_type.lower().startswith("multipart/form-data"):
        return data
    message = BytesParser(policy=HTTP).parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode() + data)
    if not message.is_multipart():
        return None
    for part in message.iter_parts():  # type: ignore[attr-defined]
        if part.get_filename() is not None or part.get_param("name", header="content-disposition") in ("file", "filename"):
            payload = part.get_payload(decode=True)
            return payload if isinstance(payload, bytes) else None
    return None
