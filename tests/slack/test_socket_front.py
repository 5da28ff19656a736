"""Socket Mode's front in-process, over a real WebSocket: slack_sdk's client
against a Socket Mode end that says hello, sends envelopes and records the
acks (``SocketSlack``, shared with ``test_run_process.py``)."""

from __future__ import annotations

import json
from datetime import timedelta
from urllib.parse import parse_qs

import pytest
from slack_sdk import WebClient
from slack_sdk.socket_mode.builtin.client import SocketModeClient
from test_run_process import SocketSlack, wait_for

from bot.app import create_app
from bot.fakeslack import FakeSlack, SlackSigner, view_submission
from bot.gateway import make_client
from bot.handoff import InboxPool
from bot.i18n import Catalog
from bot.socket_mode import SocketFront, connection_check
from storage import inbox as store
from storage.db import transaction


@pytest.fixture
def socket_slack():
    end = SocketSlack()
    yield end
    end.close()


@pytest.fixture
def client(socket_slack, clock, settings, session_factory, routing):
    with FakeSlack(socket_mode_url=socket_slack.url) as fake:
        worker = create_app(settings, client=make_client("xoxb-test", fake.api_url), session_factory=session_factory, clock=clock,
                            routing=routing, process_before_response=True, verify_requests=False)
        pool = InboxPool(session_factory=session_factory, dispatch=worker.app.dispatch, clock=clock, instance="here")
        client = SocketModeClient(app_token="xapp-1-test", web_client=WebClient(base_url=fake.api_url), auto_reconnect_enabled=False)
        client.socket_mode_request_listeners.append(SocketFront(pool=pool, catalog=Catalog("en")).handle)
        client.connect()
        wait_for(lambda: socket_slack.connected() == 1 and client.is_connected(), timeout=30, what="the connection")
        yield client
        client.close()


def test_a_refused_form_stays_open_with_an_error_instead_of_closing_blank(client, socket_slack, session_factory):
    # Before: acked with a blank payload, so the modal closed and the user
    # never learnt that nothing was done.
    signed = view_submission(SlackSigner("x"), user_id="U0OWNERZ", callback_id="dispute.submit", private_metadata="garbage",
                             values={"dispute.reason": {"dispute.reason_input": "wrong address"}})
    payload = json.loads(parse_qs(signed.body)["payload"][0])
    socket_slack.send({"envelope_id": "env-bad-form", "type": "interactive", "accepts_response_payload": True, "payload": payload})
    wait_for(lambda: "env-bad-form" in socket_slack.acked(), timeout=30, what="the ack")
    [ack] = [a for a in socket_slack.acks if a["envelope_id"] == "env-bad-form"]
    assert ack["payload"] == {"response_action": "errors", "errors": {"dispute.reason": Catalog("en").t("modals.not_accepted")}}
    with transaction(session_factory) as session:
        assert store.list_entries(session=session) == []  # nothing stored


def test_health_says_so_once_the_connection_has_been_down_past_the_grace(client, socket_slack, clock):
    check = connection_check(client, clock=clock, grace=timedelta(seconds=30))
    assert check() is None
    socket_slack.close_connections()  # Slack drops the WebSocket (and, here, nothing reconnects)
    wait_for(lambda: not client.is_connected(), timeout=30, what="the client to notice")
    down_at = clock.now()
    assert check() is None  # a reconnect may be under way
    clock.advance(timedelta(seconds=29))
    assert check() is None
    clock.advance(timedelta(seconds=1))
    assert check() == f"not connected to Slack since {down_at.isoformat(timespec='seconds')}"
