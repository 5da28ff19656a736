"""Socket Mode's front: slack_sdk's Socket Mode client receives envelopes;
each is checked (``bot.handoff.triage``), stored in the inbox, and only then
acknowledged with its ``envelope_id``. One that cannot be stored is not
acknowledged, so Slack delivers it again.

Errors: none of its own.
"""

from __future__ import annotations

import json
import logging

from slack_sdk import WebClient
from slack_sdk.socket_mode.builtin.client import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse

from bot.handoff import SOCKET, InboxPool, PayloadCheck, socket_headers, triage
from bot.i18n import Catalog

log = logging.getLogger(__name__)


class SocketFront:
    def __init__(self, *, pool: InboxPool, catalog: Catalog, check: PayloadCheck | None = None) -> None:
        self._pool = pool
        self._catalog = catalog
        self._check = check

    def handle(self, client: SocketModeClient, request: SocketModeRequest) -> None:
        verdict = triage(request.payload, catalog=self._catalog, check=self._check)
        if verdict.refuse:  # acknowledged, so Slack does not redeliver what we will never take
            log.warning("refused a %s envelope: %s", request.type, verdict.refuse)
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


def connect(front: SocketFront, *, app_token: str, api_url: str) -> SocketModeClient:
    """Open the Socket Mode connection (``apps.connections.open`` at ``api_url``)."""
    client = SocketModeClient(app_token=app_token, web_client=WebClient(base_url=api_url))
    client.socket_mode_request_listeners.append(front.handle)
    client.connect()
    return client
