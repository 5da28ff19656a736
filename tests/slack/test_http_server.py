"""HTTP mode through a real server: waitress serving the WSGI app from
``bot.server`` on a free port, with signed requests over the network."""

from __future__ import annotations

import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select
from waitress.server import create_server

from bot.core.importing import parse_export
from bot.fakeslack import SlackSigner, slash_command
from bot.server import make_wsgi_app
from storage.db import transaction
from storage.imports import insert_records
from storage.models import AuditEntry, Item

SHANGHAI = ZoneInfo("Asia/Shanghai")
SAMPLE = Path(__file__).resolve().parents[1] / "fixtures" / "samples" / "callbacks-2026-11-26.csv"


@pytest.fixture
def server(bot, session_factory):
    server = create_server(make_wsgi_app(bot.app, session_factory), host="127.0.0.1", port=0, threads=4)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.effective_port}"
    server.close()
    thread.join(timeout=5)


def post(url: str, signed) -> int:
    request = urllib.request.Request(url, data=signed.body.encode(), headers=signed.headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def seed_and_post(bot, session_factory, clock) -> None:
    records = parse_export(SAMPLE.read_bytes(), filename="c.csv").records
    with transaction(session_factory) as session:
        insert_records(session=session, records=records, batch_id=None, now=clock.now(), timezone=SHANGHAI)
    bot.services.post_daily_digest()


def test_healthz_answers_ok_when_the_database_does(server):
    with urllib.request.urlopen(f"{server}/healthz", timeout=10) as response:
        assert response.status == 200
        assert response.read() == b"ok\n"


def test_unknown_paths_are_404(server):
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(f"{server}/admin", timeout=10)
    assert err.value.code == 404


def test_a_signed_command_over_http_confirms_the_item(server, bot, session_factory, clock, signer, fake_slack):
    seed_and_post(bot, session_factory, clock)
    signed = slash_command(signer, text="confirm SO20261126000000", user_id="U0OWNERY", channel_id="C0LOGISTICS", response_url=fake_slack.response_url())
    assert post(f"{server}/slack/events", signed) == 200
    with transaction(session_factory) as session:
        item = session.exec(select(Item).where(Item.order_no == "SO20261126000000")).one()
        assert item.status == "confirmed"


@pytest.mark.parametrize("signer_kind", ["wrong_secret", "stale"])
def test_a_forged_or_stale_request_over_http_is_401_and_changes_nothing(server, bot, session_factory, clock, fake_slack, signer_kind):
    seed_and_post(bot, session_factory, clock)
    bad = SlackSigner("not-the-secret") if signer_kind == "wrong_secret" else SlackSigner("test-signing-secret", clock=lambda: time.time() - 600)
    signed = slash_command(bad, text="confirm SO20261126000000", user_id="U0OWNERY", channel_id="C0LOGISTICS", response_url=fake_slack.response_url())
    assert post(f"{server}/slack/events", signed) == 401
    with transaction(session_factory) as session:
        assert session.exec(select(Item).where(Item.order_no == "SO20261126000000")).one().status == "awaiting"
        assert not session.exec(select(AuditEntry).where(AuditEntry.action == "confirm")).all()
