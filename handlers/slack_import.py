"""Logging and importing in Slack: the ``/reject log`` modal's submission,
and files sent to the app in its DM (``message.im`` with ``subtype:
file_share``).

Why ``message.im`` and not ``file_shared``: the message event says who sent
the file and in which DM (``user``, ``channel``, ``channel_type: im``), and
comes only for messages in the app's DMs; ``file_shared`` comes for every file
shared anywhere the app is, the app's own uploads included (the rejected
rows it sends back would come back as events), and names the channel only.
Both carry just enough to call ``files.info``, which the service does
(a Slack Connect file may arrive as ``file_access: check_file_info``:
https://docs.slack.dev/reference/events/message/file_share).
"""

from __future__ import annotations

import logging
from functools import partial

from slack_bolt import Ack, App

from bot.gateway import ReplyTo
from bot.ids import ViewId
from bot.services import Services
from handlers.context import ATTEMPT_HEADER, user_id_of

log = logging.getLogger(__name__)


def handle_log_submission(ack: Ack, body: dict, view: dict, request, *, services: Services) -> None:
    """Errors stay on the modal's fields; a stored record is told privately.
    Through the inbox (``run``) the front has already answered Slack, so
    what the modal cannot show is told privately instead."""
    user = user_id_of(body)
    if user is None:
        ack()
        log.warning("a modal submission without a user id: ignored")
        return
    outcome = services.log_record(actor=user, view=view)
    if outcome.errors and ATTEMPT_HEADER not in (request.headers or {}):
        ack(response_action="errors", errors=outcome.errors)
        return
    ack()
    services.tell_logged(outcome, actor=user, reply_to=ReplyTo(user=user))


def is_file_in_dm(event: dict) -> bool:
    """A person's file in the app's DM (not the app's own message)."""
    return event.get("channel_type") == "im" and not event.get("bot_id") and isinstance(event.get("files"), list)


def handle_dm_file(event: dict, *, services: Services) -> None:
    user, channel = event.get("user"), event.get("channel")
    if not (isinstance(user, str) and user and isinstance(channel, str) and channel):
        return
    files = [f for f in event["files"] if isinstance(f, dict)]
    services.receive_upload(user=user, channel=channel, files=files)


def register(app: App, services: Services) -> None:
    """Register before ``handlers.events``: Bolt runs the first listener that
    matches, and that module takes every other ``message`` event."""
    app.view(ViewId.LOG)(partial(handle_log_submission, services=services))
    app.event({"type": "message", "subtype": "file_share"}, matchers=[is_file_in_dm])(partial(handle_dm_file, services=services))
