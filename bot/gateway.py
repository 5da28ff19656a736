"""The Slack gateway: the only code that calls Slack's Web API.

Services depend on the ``Notifier`` protocol; ``SlackGateway`` implements it
over ``slack_sdk.WebClient`` (pointed at Slack, or at our fake in tests and
the demo).

Failures, and what the gateway does about them:
- **429** (rate limited): slack_sdk's ``RateLimitErrorRetryHandler`` waits
  out ``Retry-After`` and repeats the call, on every method. It should be
  rare: with a ``Pacer`` (``bot.pacing``; ``create_app`` gives one) the
  gateway spaces its own ``chat.postMessage`` calls per channel and its
  ``conversations.history`` / ``replies`` lookups just under Slack's limits.
- **Ambiguous** failures — HTTP 5xx, Slack's ``internal_error`` /
  ``fatal_error`` / ``service_unavailable``, timeouts, dropped connections:
  Slack may or may not have done the call. Idempotent methods (``chat.update``,
  lookups, ``conversations.open``, ``chat.deleteScheduledMessage``) are
  retried with backoff inside the call. A post with a ``key`` carries it in
  its ``metadata``; before each retry the gateway looks the message up by
  that key (``conversations.history`` / ``conversations.replies`` with
  ``include_all_metadata``) and returns the ts found instead of posting
  again. A post without a key is not retried after an ambiguous failure (a
  retry could post it twice): Slack's error (or the timeout) propagates as is.
  slack_sdk's ``ConnectionErrorRetryHandler`` would retry a post blindly
  after a dropped connection (``RemoteDisconnected`` arrives after the
  request was sent): ``make_client`` installs it only for calls that are
  safe to repeat, and for connections refused before anything was sent.
- **Definitive** Slack errors (``msg_too_long``, ``channel_not_found``,
  ``not_in_channel``, …) raise ``SlackApiError`` at once, except after an
  ambiguous failure of the same post: then it may still have been done and
  ``SlackUnavailable`` is raised (the caller looks it up before posting again).
  ``is_ambiguous(error)`` is the one test of which errors leave that open.

Files go up in Slack's upload flow (files.upload is retired): ``prepare_upload``
gets an upload URL (``files.getUploadURLExternal``) and POSTs the bytes to it;
the file is then uploaded but shared nowhere. An ambiguous failure there is
retried from a fresh URL (a URL works once; an abandoned upload is discarded
by Slack and never seen). ``share_upload`` completes the upload into a
channel (``files.completeUploadExternal``): Slack shares asynchronously, so
after an ambiguous failure the gateway polls ``files.info`` for a while
(``share_settle`` seconds) and completes again only when the file is still
not shared in that channel.

Errors:
- ``SlackUnavailable`` — Slack still failed ambiguously after the retries
  (``.method``, ``.reason``); a keyed post was not found by its key either.
- ``UploadRefused`` — the upload URL refused the bytes (a non-200 other than 5xx).
- ``ReplaceRefused`` — a click's response_url did not replace its message.
- ``slack_sdk.errors.SlackApiError`` — a definitive error from the Web API.
- ``UserNotFound`` — an e-mail address has no Slack user.
"""

from __future__ import annotations

import http.client
import logging
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, TypeVar
from urllib.error import HTTPError, URLError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler
from slack_sdk.webhook import WebhookClient

from bot.pacing import Pacer

log = logging.getLogger(__name__)

EFFECT_EVENT = "rejectbot_effect"  # metadata event_type of every keyed message
CLIENT_TIMEOUT = 10  # seconds per HTTP request (slack_sdk's default is 30)
AMBIGUOUS_ERRORS = frozenset({"internal_error", "fatal_error", "service_unavailable"})  # "some aspect may have succeeded"
# Methods that must not be repeated blindly: the repeat may do it twice.
NOT_IDEMPOTENT = (
    "chat.postMessage", "chat.postEphemeral", "chat.scheduleMessage", "views.open", "views.push", "files.completeUploadExternal",
)  # fmt: skip
LOOKUP_PAGE = 200  # messages per conversations.history / replies page
LOOKUP_PAGES = 5  # pages scanned at most, newest first: the window of a lookup without ``since``
SHARE_SETTLE = 5.0  # seconds to wait for an ambiguously completed upload to show up as shared
SHARE_POLL = 0.5  # seconds between files.info looks while waiting

T = TypeVar("T")


class UserNotFound(LookupError):
    pass


class UploadRefused(RuntimeError):
    """The upload URL definitively refused the bytes (HTTP ``status``, Slack's text ``body``)."""

    def __init__(self, filename: str, status: int, body: str) -> None:
        super().__init__(f"Slack refused the upload of {filename}: HTTP {status} {body}")
        self.status = status
        self.body = body


class DownloadRefused(RuntimeError):
    """Slack did not hand over a file's bytes: a redirect (to its sign-in
    page, when the token is missing or wrong), an HTML page, or an HTTP error."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(f"Slack refused the file download: HTTP {status} {reason}")
        self.status = status
        self.reason = reason


class ReplaceRefused(RuntimeError):
    """The click's response_url did not replace the message (its HTTP status, its body)."""

    def __init__(self, status: int, body: str) -> None:
        super().__init__(f"response_url answered {status}: {body[:200]}")
        self.status = status


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is Slack's answer to a download it refuses (its sign-in
    page); following it would also carry the bearer token elsewhere."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # noqa: ANN001 - urllib's signature
        return None


DOWNLOAD_CHUNK = 1 << 16


class SlackUnavailable(ConnectionError):
    """Slack kept failing ambiguously (5xx, timeouts) after the retries."""

    def __init__(self, method: str, reason: str) -> None:
        super().__init__(f"Slack did not complete {method}: {reason}")
        self.method = method
        self.reason = reason


@dataclass(frozen=True, slots=True)
class ReplyTo:
    """Where a private answer to someone goes: the ``response_url`` of their
    command or click when there is one, else an ephemeral message in
    ``channel``, else a DM."""

    user: str
    channel: str | None = None
    response_url: str | None = None
    message_ts: str | None = None  # a click's: the message its button is in (``replace_original`` replaces it)


class Notifier(Protocol):
    def post_message(
        self, channel: str, *, text: str, blocks: list[dict] | None = None, thread_ts: str | None = None, key: str | None = None
    ) -> str: ...
    def update_message(self, channel: str, ts: str, *, text: str, blocks: list[dict] | None = None) -> None: ...
    def reply(self, to: ReplyTo, text: str, *, blocks: list[dict] | None = None) -> None: ...
    def replace_original(self, to: ReplyTo, *, text: str, blocks: list[dict]) -> None: ...  # raises ReplaceRefused
    def send_dm(self, user: str, *, text: str, blocks: list[dict] | None = None, key: str | None = None) -> str: ...
    def open_dm(self, user: str) -> str: ...
    def open_view(self, trigger_id: str, view: dict) -> None: ...
    def display_name(self, user: str) -> str: ...  # users.info: the name Slack shows; raises on Slack's errors
    def publish_home(self, user: str, view: dict, *, hash: str | None = None) -> str: ...  # noqa: A002 (Slack's name)
    def permalink(self, channel: str, ts: str) -> str: ...
    def lookup_by_key(self, channel: str, key: str, *, thread_ts: str | None = None, since: datetime | None = None) -> str | None: ...
    def schedule_message(self, channel: str, *, text: str, post_at: datetime) -> str: ...
    def lookup_scheduled(self, channel: str, *, text: str, post_at: datetime) -> str | None: ...
    def delete_scheduled_message(self, channel: str, scheduled_message_id: str) -> None: ...
    # Files (Slack's upload flow: files.getUploadURLExternal, the bytes, files.completeUploadExternal)
    def prepare_upload(self, *, filename: str, content: bytes) -> str: ...  # the file's id, uploaded but shared nowhere yet
    def share_upload(self, file_id: str, channel: str, *, title: str, comment: str | None = None, thread_ts: str | None = None) -> None: ...
    def is_shared(self, file_id: str, channel: str) -> bool: ...
    def user_locale(self, user: str) -> str | None: ...  # the person's Slack locale ("zh-CN"); raises on any failure
    # Files people send the app (files.info, then the file's url_private with the bot token)
    def file_info(self, file_id: str) -> dict: ...
    def download(self, url: str, *, limit: int) -> bytes: ...


def _method_of(url: str) -> str:
    return url.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]


def _nothing_sent(error: Exception | None) -> bool:
    """A connection refused: the request never reached Slack."""
    return isinstance(error, URLError) and isinstance(error.reason, ConnectionRefusedError)


class SafeConnectionErrorRetryHandler(ConnectionErrorRetryHandler):
    """slack_sdk's connection retry, except for a call that may already have
    been done (a post whose connection dropped after it was sent): those are
    left to the gateway, which looks the message up before posting again."""

    def _can_retry(self, *, state, request, response=None, error=None) -> bool:
        if _method_of(request.url) in NOT_IDEMPOTENT and not _nothing_sent(error):
            return False
        return super()._can_retry(state=state, request=request, response=response, error=error)


def make_client(token: str | None, base_url: str, *, timeout: int = CLIENT_TIMEOUT) -> WebClient:
    """A WebClient that waits out rate limits (every method) and retries
    dropped connections where repeating the call is safe."""
    client = WebClient(token=token, base_url=base_url, timeout=timeout)
    client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=5))
    client.retry_handlers.append(SafeConnectionErrorRetryHandler(max_retry_count=2))
    return client


def is_ambiguous(error: Exception) -> bool:
    """Whether ``error`` leaves it open that Slack did the call (5xx,
    ``internal_error``/``fatal_error``/``service_unavailable``, timeouts,
    dropped connections, or ``SlackUnavailable``): the one classifier every
    caller should use."""
    return isinstance(error, SlackUnavailable) or _ambiguous(error) is not None


def _ambiguous(error: Exception) -> str | None:
    """Why ``error`` leaves it open whether Slack did the call, or ``None``
    when it is a definitive answer."""
    if isinstance(error, SlackApiError):
        status = getattr(error.response, "status_code", 200)
        code = error.response.get("error") if isinstance(error.response.data, dict) else None
        if status >= 500:
            return f"HTTP {status}"
        if code in AMBIGUOUS_ERRORS:
            return str(code)
        return None
    if isinstance(error, (OSError, http.client.HTTPException)):  # timeouts, resets, refused, truncated answers
        return f"{type(error).__name__}: {error}"
    return None


def _error_reason(error: Exception) -> str:
    if isinstance(error, SlackApiError):
        return str(error.response.get("error") or f"HTTP {error.response.status_code}")
    return type(error).__name__


@dataclass(frozen=True, slots=True)
class Backoff:
    """How often and how long ambiguous failures are retried inside a call."""

    attempts: int = 4
    first: float = 0.25  # seconds before the first retry, then x4: 0.25, 1, 4 (5.25 s at most)
    factor: float = 4.0

    def delays(self) -> Iterator[float]:
        delay = self.first
        for _ in range(self.attempts - 1):
            yield delay
            delay *= self.factor


class SlackGateway:
    def __init__(
        self,
        client: WebClient,
        *,
        backoff: Backoff = Backoff(),
        sleep: Callable[[float], None] = time.sleep,
        share_settle: float = SHARE_SETTLE,
        pacer: Pacer | None = None,
    ) -> None:
        """``pacer``: spaces the calls Slack limits per channel or per minute
        (share one per process); ``None``: no pacing (tests, one-off checks)."""
        self.client = client
        self.pacer = pacer
        self.backoff = backoff
        self._sleep = sleep
        self.share_settle = share_settle
        self._names: dict[str, str] = {}  # display_name's, per process
        self._workspace_url: str | None = None  # auth.test's "url", once per process (permalink)

    # --- retrying --------------------------------------------------------------

    def _retrying(self, method: str, call: Callable[[], T], *, before_retry: Callable[[], T | None] | None = None) -> T:
        """``call()``, repeated after ambiguous failures with backoff; before
        each repeat ``before_retry()`` may return the result instead (the
        message it found)."""
        delays = self.backoff.delays()
        doubt = None  # why an earlier try of a non-idempotent call may have been done
        while True:
            try:
                return call()
            except Exception as error:  # noqa: BLE001 - sorted below: definitive errors re-raise as they are
                reason = _ambiguous(error)
                if reason is None:
                    if doubt is not None:  # e.g. 429 after a 500: the earlier try may still have been done
                        raise SlackUnavailable(method, f"{doubt}, then {_error_reason(error)}") from error
                    raise
                if before_retry is not None:
                    doubt = reason
                delay = next(delays, None)
                if delay is None:
                    raise SlackUnavailable(method, reason) from error
                log.warning("%s failed ambiguously (%s); retrying in %.2f s", method, reason, delay)
            self._sleep(delay)
            if before_retry is not None:
                found = self._retrying_lookup(method, before_retry)
                if found is not None:
                    return found

    def _retrying_lookup(self, method: str, lookup: Callable[[], T | None]) -> T | None:
        try:
            return lookup()
        except SlackUnavailable as error:  # cannot tell whether it went out: do not post blindly
            raise SlackUnavailable(method, f"could not look the message up: {error.reason}") from error
        except SlackApiError as error:  # e.g. missing_scope: still unknown whether it went out
            raise SlackUnavailable(method, f"could not look the message up: {error.response.get('error')}") from error

    def _paced(self, method: str, call: Callable[[], T], *, channel: str | None = None) -> T:
        """``call()`` in its turn (``bot.pacing``): the pacer waits before it
        and notes when its answer (after any 429 waited out) came back."""
        if self.pacer is None:
            return call()
        with self.pacer.turn(method, channel):
            return call()

    # --- messages --------------------------------------------------------------

    def post_message(self, channel, *, text, blocks=None, thread_ts=None, key=None) -> str:
        """Post and return the message's ts. With ``key``, the message carries
        it in its metadata and an ambiguous failure is followed by a lookup,
        never by a second copy."""
        params: dict[str, Any] = dict(channel=channel, text=text, blocks=blocks, thread_ts=thread_ts, unfurl_links=False)
        if key is None:  # not retried: a repeat could post it twice; the caller sees Slack's error as it is
            return self._post(params)
        params["metadata"] = {"event_type": EFFECT_EVENT, "event_payload": {"key": key}}
        return self._retrying(
            "chat.postMessage", lambda: self._post(params),
            before_retry=lambda: self.lookup_by_key(channel, key, thread_ts=thread_ts),
        )

    def _post(self, params: dict[str, Any]) -> str:  # each try waits its turn in the channel
        return self._paced("chat.postMessage", lambda: self.client.chat_postMessage(**params)["ts"], channel=params["channel"])

    def lookup_by_key(self, channel: str, key: str, *, thread_ts: str | None = None, since: datetime | None = None) -> str | None:
        """The ts of the bot's message carrying ``key`` in its metadata: among
        the top-level messages of ``channel`` (newest first) or the replies
        of ``thread_ts``; from ``since`` when given, else within the newest
        ``LOOKUP_PAGE * LOOKUP_PAGES`` messages. ``None`` when not found."""
        for message in self._scan(channel, thread_ts=thread_ts, since=since):
            metadata = message.get("metadata") or {}
            if metadata.get("event_type") == EFFECT_EVENT and (metadata.get("event_payload") or {}).get("key") == key:
                return message["ts"]
        return None

    def _scan(self, channel: str, *, thread_ts: str | None, since: datetime | None) -> Iterator[dict]:
        cursor = None
        for _ in range(LOOKUP_PAGES):
            params: dict[str, Any] = dict(channel=channel, limit=LOOKUP_PAGE, include_all_metadata=True)
            if since is not None:
                params["oldest"] = f"{since.timestamp():.6f}"
            if cursor:
                params["cursor"] = cursor
            if thread_ts:
                response = self._retrying("conversations.replies", lambda p=params: self._paced("conversations.replies", lambda: self.client.conversations_replies(ts=thread_ts, **p)))
            else:
                response = self._retrying("conversations.history", lambda p=params: self._paced("conversations.history", lambda: self.client.conversations_history(**p)))
            yield from response.get("messages") or []
            cursor = (response.get("response_metadata") or {}).get("next_cursor")
            if not response.get("has_more") or not cursor:
                return

    def update_message(self, channel, ts, *, text, blocks=None) -> None:
        self._retrying("chat.update", lambda: self.client.chat_update(channel=channel, ts=ts, text=text, blocks=blocks))

    def reply(self, to: ReplyTo, text: str, *, blocks=None) -> None:
        if to.response_url:
            response = WebhookClient(to.response_url).send(
                text=text, blocks=blocks, response_type="ephemeral", replace_original=False
            )
            if response.status_code == 200:
                return
            log.warning("response_url answered %s; sending a DM instead", response.status_code)
        if to.channel:
            try:
                self.client.chat_postEphemeral(channel=to.channel, user=to.user, text=text, blocks=blocks)
                return
            except SlackApiError as exc:
                log.warning("ephemeral reply failed (%s); sending a DM instead", exc.response.get("error"))
        self.send_dm(to.user, text=text, blocks=blocks)

    def replace_original(self, to: ReplyTo, *, text: str, blocks: list[dict]) -> None:
        """Replace the message a click came from through the click's
        ``response_url`` (``replace_original``: Slack's way to update the
        message of an interaction; 5 uses within 30 minutes per URL). Not
        retried: the caller leaves the message to ``chat.update``."""
        if not to.response_url:
            raise ReplaceRefused(0, "no response_url")
        response = WebhookClient(to.response_url).send(text=text, blocks=blocks, replace_original=True)
        if response.status_code != 200:
            raise ReplaceRefused(response.status_code, str(response.body))

    def send_dm(self, user, *, text, blocks=None, key=None) -> str:
        return self.post_message(self.open_dm(user), text=text, blocks=blocks, key=key)

    def open_dm(self, user) -> str:
        """The id of the app's DM channel with ``user`` (to post there and
        update the message later)."""
        return self._retrying("conversations.open", lambda: self.client.conversations_open(users=user))["channel"]["id"]

    # --- scheduled messages -------------------------------------------------------

    def schedule_message(self, channel: str, *, text: str, post_at: datetime) -> str:
        """Have Slack post ``text`` at ``post_at`` even if we are down; returns
        the scheduled_message_id. No metadata: Slack's chat.scheduleMessage
        page says a scheduled message with metadata is not posted. After an
        ambiguous failure the gateway looks for it (``lookup_scheduled``)
        before scheduling again."""
        at = int(post_at.timestamp())
        return self._retrying(
            "chat.scheduleMessage",
            lambda: self.client.chat_scheduleMessage(channel=channel, text=text, post_at=at)["scheduled_message_id"],
            before_retry=lambda: self.lookup_scheduled(channel, text=text, post_at=post_at),
        )

    def lookup_scheduled(self, channel: str, *, text: str, post_at: datetime) -> str | None:
        """The id of our pending scheduled message in ``channel`` with this
        text and time (``chat.scheduledMessages.list``), or ``None``."""
        at = int(post_at.timestamp())
        cursor = None
        while True:  # every page; oldest/latest are not documented to filter on post_at, so match here
            params: dict[str, Any] = dict(channel=channel, limit=100)
            if cursor:
                params["cursor"] = cursor
            listed = self._retrying("chat.scheduledMessages.list", lambda p=params: self.client.chat_scheduledMessages_list(**p))
            for scheduled in listed.get("scheduled_messages") or []:
                if int(scheduled.get("post_at", 0)) == at and scheduled.get("text") == text:
                    return scheduled["id"]
            cursor = (listed.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                return None

    def delete_scheduled_message(self, channel: str, scheduled_message_id: str) -> None:
        """Idempotent: a message already deleted or already posted
        (``invalid_scheduled_message_id``) counts as deleted."""
        try:
            self._retrying(
                "chat.deleteScheduledMessage",
                lambda: self.client.chat_deleteScheduledMessage(channel=channel, scheduled_message_id=scheduled_message_id),
            )
        except SlackApiError as error:
            if error.response.get("error") != "invalid_scheduled_message_id":
                raise

    # --- files ----------------------------------------------------------------------

    def prepare_upload(self, *, filename: str, content: bytes) -> str:
        """Upload ``content`` and return the file's id; it is shared nowhere
        until ``share_upload``. After an ambiguous failure the whole step is
        repeated with a fresh upload URL: an upload left uncompleted is
        discarded by Slack, so a repeat can never show twice."""
        return self._retrying("files.getUploadURLExternal", lambda: self._upload_bytes(filename, content))

    def _upload_bytes(self, filename: str, content: bytes) -> str:
        ticket = self.client.files_getUploadURLExternal(filename=filename, length=len(content))
        request = urllib.request.Request(ticket["upload_url"], data=content, method="POST")  # raw bytes, as files_upload_v2 sends them
        handlers: list[urllib.request.BaseHandler] = [urllib.request.HTTPSHandler(context=self.client.ssl)]
        if self.client.proxy:
            handlers.append(urllib.request.ProxyHandler({"http": self.client.proxy, "https": self.client.proxy}))
        try:
            with urllib.request.build_opener(*handlers).open(request, timeout=self.client.timeout) as answer:
                answer.read()
        except HTTPError as error:
            if error.code >= 500 or error.code == 429:
                raise  # ambiguous: retried from a fresh URL
            raise UploadRefused(filename, error.code, error.read().decode("utf-8", errors="replace")) from None
        return ticket["file_id"]

    def share_upload(self, file_id: str, channel: str, *, title: str, comment: str | None = None, thread_ts: str | None = None) -> None:
        """Complete the upload ``file_id`` into ``channel`` (a conversation id:
        Slack refuses user ids here), as a reply to ``thread_ts`` when given,
        with ``comment`` as the message's text. Never shares twice: after an
        ambiguous failure it completes again only if ``files.info`` still does
        not show the file shared in ``channel`` after ``share_settle`` seconds."""
        params: dict[str, Any] = dict(
            files=[{"id": file_id, "title": title}], channel_id=channel, initial_comment=comment, thread_ts=thread_ts
        )
        self._retrying(
            "files.completeUploadExternal", lambda: self.client.files_completeUploadExternal(**params),
            before_retry=lambda: True if self._settled_share(file_id, channel) else None,
        )

    def _settled_share(self, file_id: str, channel: str) -> bool:
        """Whether the file shows as shared in ``channel``, polled for up to
        ``share_settle`` seconds (Slack shares asynchronously: the message and
        the file's ``shares`` can lag behind completeUploadExternal's answer)."""
        waited = 0.0
        while not self.is_shared(file_id, channel):
            if waited >= self.share_settle:
                return False
            self._sleep(SHARE_POLL)
            waited += SHARE_POLL
        return True

    def is_shared(self, file_id: str, channel: str) -> bool:
        """Whether ``files.info`` shows ``file_id`` shared in ``channel`` (in its
        public or private ``shares``). A file Slack does not know (never
        completed, or discarded) is not shared."""
        try:
            file = self._retrying("files.info", lambda: self.client.files_info(file=file_id))["file"]
        except SlackApiError as error:
            if error.response.get("error") == "file_not_found":
                return False
            raise
        shares = file.get("shares") or {}
        return any((shares.get(kind) or {}).get(channel) for kind in ("public", "private"))

    # --- files people send -----------------------------------------------------------

    def file_info(self, file_id: str) -> dict:
        """The file object (``files.info``; ``files:read``): name, size, ``url_private``."""
        return self._retrying("files.info", lambda: self.client.files_info(file=file_id))["file"]

    def download(self, url: str, *, limit: int) -> bytes:
        """A file's bytes from its ``url_private``, with the bot token as a
        bearer token (https://docs.slack.dev/reference/objects/file-object,
        "Authentication"), read in chunks and never more than ``limit`` + 1
        bytes (the caller refuses a file past ``limit``). Redirects are not
        followed, and HTML is not a file: both are Slack refusing
        (``DownloadRefused``). Timeouts and 5xx are retried like an idempotent call."""
        request = urllib.request.Request(url, headers={"Authorization": f"Bearer {self.client.token}"}, method="GET")
        handlers: list[urllib.request.BaseHandler] = [urllib.request.HTTPSHandler(context=self.client.ssl), _NoRedirect()]
        if self.client.proxy:
            handlers.append(urllib.request.ProxyHandler({"http": self.client.proxy, "https": self.client.proxy}))
        opener = urllib.request.build_opener(*handlers)

        def fetch() -> bytes:
            try:
                with opener.open(request, timeout=self.client.timeout) as answer:
                    if "text/html" in (answer.headers.get("Content-Type") or ""):
                        raise DownloadRefused(answer.status, "an HTML page, not the file (Slack's sign-in page)")
                    parts, got = [], 0
                    while got <= limit and (chunk := answer.read(min(DOWNLOAD_CHUNK, limit + 1 - got))):
                        parts.append(chunk)
                        got += len(chunk)
                    return b"".join(parts)
            except HTTPError as error:
                if error.code >= 500 or error.code == 429:
                    raise  # ambiguous: retried
                raise DownloadRefused(error.code, error.headers.get("Location") or error.reason or "") from None

        return self._retrying("url_private", fetch)

    # --- the rest -----------------------------------------------------------------

    def open_view(self, trigger_id, view) -> None:
        self.client.views_open(trigger_id=trigger_id, view=view)

    def publish_home(self, user: str, view: dict, *, hash: str | None = None) -> str:  # noqa: A002 (Slack's name)
        """Publish ``user``'s App Home tab (views.publish); Slack's hash of the
        view now shown. With ``hash`` (Slack's hash of the view we last
        published), Slack refuses with ``hash_conflict`` when another publish
        came in between. Publishing the same view again changes nothing, so
        ambiguous failures are retried."""
        params: dict[str, Any] = dict(user_id=user, view=view)
        if hash:
            params["hash"] = hash
        return self._retrying("views.publish", lambda: self.client.views_publish(**params))["view"]["hash"]

    def permalink(self, channel: str, ts: str) -> str:
        """A message's link, built the way Slack builds it
        (``<workspace url>archives/<channel>/p<ts without the dot>``, as
        chat.getPermalink answers for a message that is not a thread reply)
        from the workspace URL ``auth.test`` gives, asked once per process:
        an escalation listing many threads costs no call per thread.
        ``chat.getPermalink`` when ``auth.test`` gives no URL or refuses
        (then for the rest of the process: not one refused auth.test a link)."""
        if self._workspace_url is None:
            try:
                self._workspace_url = str(self._retrying("auth.test", self.client.auth_test).get("url") or "")
            except SlackApiError as error:  # definitive (ambiguous ones raise SlackUnavailable): ask for each link instead
                log.warning("auth.test refused (%s): message links are asked for one by one", _error_reason(error))
                self._workspace_url = ""
        if self._workspace_url:
            return f"{self._workspace_url.rstrip('/')}/archives/{channel}/p{ts.replace('.', '')}"
        return self._retrying("chat.getPermalink", lambda: self.client.chat_getPermalink(channel=channel, message_ts=ts))["permalink"]

    def display_name(self, user: str) -> str:
        """The name Slack shows for ``user``: users.info's ``profile.display_name``,
        else its ``real_name`` (https://api.slack.com/methods/users.info),
        remembered for the life of the process. Raises Slack's errors
        (``SlackApiError``: ``user_not_found``…, ``SlackUnavailable``) and
        ``LookupError`` when the user has neither name."""
        if user not in self._names:
            found = self._retrying("users.info", lambda: self.client.users_info(user=user))["user"]
            profile = found.get("profile") or {}
            name = next((n.strip() for n in (profile.get("display_name"), profile.get("real_name"), found.get("real_name")) if n and n.strip()), "")
            if not name:
                raise LookupError(f"Slack has no name for {user}")
            self._names[user] = name
        return self._names[user]

    def user_locale(self, user: str) -> str | None:
        """The person's Slack locale (``users.info`` with ``include_locale``),
        None when Slack gives none. One try, no retries: it sits on the path
        of a reply, and the caller falls back to ``BOT_LOCALE`` on any error
        (``SlackApiError``, a timeout, a dropped connection)."""
        locale = self.client.users_info(user=user, include_locale=True)["user"].get("locale")
        return locale if isinstance(locale, str) and locale else None

    def lookup_user_by_email(self, email: str) -> str:
        try:
            return self._retrying("users.lookupByEmail", lambda: self.client.users_lookupByEmail(email=email))["user"]["id"]
        except SlackApiError as exc:
            if exc.response.get("error") == "users_not_found":
                raise UserNotFound(f"no Slack user has the e-mail address {email}") from None
            raise
