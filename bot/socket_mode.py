"""Socket Mode's front: slack_sdk's Socket Mode client receives envelopes;
each is checked (``bot.handoff.triage``), stored in the inbox, and only then
acknowledged with its ``envelope_id``.

One that cannot be stored is not acknowledged. What happens next depends on
its type: Slack redelivers only ``events_api`` envelopes (with
``retry_attempt``, as it retries events over HTTP); a slash command, a
click or a form that is not acknowledged within 3 seconds is shown to the
user as failed ("dispatch_failed" / "operation_timeout") and never sent
again, so the user sees it did not work and may try again.

A refused (malformed) envelope is acknowledged so that an event is not
redelivered for nothing. A refused ``view_submission`` is acknowledged with
``response_action: errors`` on the form's first input block when there is
one (Slack shows it under that field and keeps the modal open); otherwise
(no input block to name, or another type) the ack is blank: the modal
closes, or the click does nothing, and the log has why.

Errors: none of its own.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from slack_sdk import WebClient
from slack_sdk.socket_mode.builtin.client import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse

from bot.clock import Clock
from bot.handoff import SOCKET, InboxPool, PayloadCheck, socket_headers, triage
from bot.i18n import Catalog

log = logging.getLogger(__name__)
RECONNECT_GRACE = timedelta(seconds=30)  # how long a reconnect may take before health says so


class SocketFront:
    def __init__(self, *, pool: InboxPool, catalog: Catalog, check: PayloadCheck | None = None) -> None:
        self._pool = pool
        self._catalog = catalog
        self._check = check

    def handle(self, client: SocketModeClient, request: SocketModeRequest) -> None:
        verdict = triage(request.payload, catalog=self._catalog, check=self._check)
        if verdict.refuse:  # acknowledged, so Slack does not redeliver what we will never take
            log.warning("refused a %s envelope: %s", request.type, verdict.refuse)
            answer = _refused_form_answer(request.payload, self._catalog)
            if answer is not None:  # the modal stays open and says so
                client.send_socket_mode_response(SocketModeResponse(envelope_id=request.envelope_id, payload=answer))
                return
        elif verdict.answer is not None:
            client.send_socket_mode_response(SocketModeResponse(envelope_id=request.envelope_id, payload=verdict.answer))
            return
        else:
            try:
                self._pool.accept(
                    mode=SOCKET, body=json.dumps(request.payload), dedup_key=verdict.dedup_key,
                    headers=socket_headers(request.retry_attempt, request.retry_reason),
                )
            except Exception:  # not stored: not acknowledged, Slack delivers it again
                log.exception("could not store a %s envelope in the inbox", request.type)
                return
        client.send_socket_mode_response(SocketModeResponse(envelope_id=request.envelope_id))


def _refused_form_answer(payload: object, catalog: Catalog) -> dict | None:
    """For a refused ``view_submission``: an ``errors`` answer on its first
    input block (Slack: "Displaying errors in views" — errors are keyed by
    an input block's ``block_id``), or None when it has none."""
    if not isinstance(payload, dict) or payload.get("type") != "view_submission":
        return None
    view = payload.get("view")
    blocks = view.get("blocks") if isinstance(view, dict) else None
    if not isinstance(blocks, list):
        return None
    for block in blocks:
        if isinstance(block, dict) and block.get("type") == "input" and isinstance(block.get("block_id"), str) and block["block_id"]:
            return {"response_action": "errors", "errors": {block["block_id"]: catalog.t("modals.not_accepted")}}
    return None


def connection_check(client: SocketModeClient, *, clock: Clock, grace: timedelta = RECONNECT_GRACE) -> Callable[[], str | None]:
    """A health check: is the WebSocket to Slack open? slack_sdk reconnects
    by itself (Slack also closes connections now and then: "refresh
    requested"), so it is a problem only once it has been down ``grace``."""
    down_since: list[datetime | None] = [None]

    def check() -> str | None:
        now = clock.now()
        if client.is_connected():
            down_since[0] = None
            return None
        if down_since[0] is None:
            down_since[0] = now
        if now - down_since[0] >= grace:
            return f"not connected to Slack since {down_since[0].isoformat(timespec='seconds')}"
        return None

    return check


def connect(front: SocketFront, *, app_token: str, api_url: str) -> SocketModeClient:
    """Open the Socket Mode connection (``apps.connections.open`` at ``api_url``)."""
    client = SocketModeClient(app_token=app_token, web_client=WebClient(base_url=api_url))
    client.socket_mode_request_listeners.append(front.handle)
    client.connect()
    return client
