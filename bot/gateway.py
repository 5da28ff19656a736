"""The Slack gateway: the only code that calls Slack's Web API.

Services depend on the ``Notifier`` protocol; ``SlackGateway`` implements it
over ``slack_sdk.WebClient`` (pointed at Slack, or at our fake in tests and
the demo).

Errors: ``slack_sdk.errors.SlackApiError`` propagates from the Web API, and
``UserNotFound`` when an e-mail address has no Slack user.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler
from slack_sdk.webhook import WebhookClient

log = logging.getLogger(__name__)


class UserNotFound(LookupError):
    pass


@dataclass(frozen=True, slots=True)
class ReplyTo:
    """Where a private answer to someone goes: the ``response_url`` of their
    command or click when there is one, else an ephemeral message in
    ``channel``, else a DM."""

    user: str
    channel: str | None = None
    response_url: str | None = None


class Notifier(Protocol):
    def post_message(self, channel: str, *, text: str, blocks: list[dict] | None = None, thread_ts: str | None = None) -> str: ...
    def update_message(self, channel: str, ts: str, *, text: str, blocks: list[dict] | None = None) -> None: ...
    def reply(self, to: ReplyTo, text: str, *, blocks: list[dict] | None = None) -> None: ...
    def send_dm(self, user: str, *, text: str, blocks: list[dict] | None = None) -> str: ...
    def open_dm(self, user: str) -> str: ...
    def open_view(self, trigger_id: str, view: dict) -> None: ...
    def permalink(self, channel: str, ts: str) -> str: ...


def make_client(token: str | None, base_url: str) -> WebClient:
    """A WebClient that waits out rate limits and retries dropped connections."""
    client = WebClient(token=token, base_url=base_url)
    client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=5))
    client.retry_handlers.append(ConnectionErrorRetryHandler(max_retry_count=2))
    return client


class SlackGateway:
    def __init__(self, client: WebClient) -> None:
        self.client = client

    def post_message(self, channel, *, text, blocks=None, thread_ts=None) -> str:
        response = self.client.chat_postMessage(
            channel=channel, text=text, blocks=blocks, thread_ts=thread_ts, unfurl_links=False
        )
        return response["ts"]

    def update_message(self, channel, ts, *, text, blocks=None) -> None:
        self.client.chat_update(channel=channel, ts=ts, text=text, blocks=blocks)

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

    def send_dm(self, user, *, text, blocks=None) -> str:
        return self.post_message(self.open_dm(user), text=text, blocks=blocks)

    def open_dm(self, user) -> str:
        """The id of the app's DM channel with ``user`` (to post there and
        update the message later)."""
        return self.client.conversations_open(users=user)["channel"]["id"]

    def open_view(self, trigger_id, view) -> None:
        self.client.views_open(trigger_id=trigger_id, view=view)

    def permalink(self, channel: str, ts: str) -> str:
        return self.client.chat_getPermalink(channel=channel, message_ts=ts)["permalink"]

    def lookup_user_by_email(self, email: str) -> str:
        try:
            return self.client.users_lookupByEmail(email=email)["user"]["id"]
        except SlackApiError as exc:
            if exc.response.get("error") == "users_not_found":
                raise UserNotFound(f"no Slack user has the e-mail address {email}") from None
            raise
