"""HTTP mode through a real server: waitress serving the WSGI app from
``bot.server`` on a free port, with signed requests over the network, and
``/healthz`` telling the truth about the ticker, the jobs, the workers and
the database."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text
from sqlmodel import select
from waitress.server import create_server

from bot.app import create_app
from bot.core.importing import parse_export
from bot.fakeslack import SlackSigner, slash_command
from bot.fakeslack.requests import JSON
from bot.gateway import make_client
from bot.handoff import InboxPool
from bot.health import Health
from bot.i18n import Catalog
from bot.server import SlackFront, make_wsgi_app
from storage import inbox as store
from storage.db import database_problem, make_engine, make_probe_engine, make_session_factory, transaction, upgrade
from storage.imports import insert_records
from storage.models import AuditEntry, Item

SHANGHAI = ZoneInfo("Asia/Shanghai")
SAMPLE = Path(__file__).resolve().parents[1] / "fixtures" / "samples" / "callbacks-2026-11-26.csv"
ORDER = "SO20261126000000"


@pytest.fixture
def worker(settings, fake_slack, session_factory, clock, routing):
    return create_app(
        settings, client=make_client("xoxb-test", fake_slack.api_url), session_factory=session_factory, clock=clock,
        routing=routing, process_before_response=True, verify_requests=False,
    )


@pytest.fixture
def probe(engine):
    """Health's read-only engine, as ``rejectbot run`` makes it."""
    probe = make_probe_engine(engine.url.render_as_string(hide_password=False),
                              connect_args={"options": f"-csearch_path={_search_path(engine)}"} if engine.dialect.name == "postgresql" else None)
    yield probe
    probe.dispose()


@pytest.fixture
def pool(worker, session_factory, clock, probe):
    pool = InboxPool(session_factory=session_factory, dispatch=worker.app.dispatch, clock=clock, probe=probe)
    yield pool
    pool.stop()


@pytest.fixture
def health(clock, pool, probe):
    health = Health(clock=clock)
    health.add_check("database", lambda: database_problem(probe))
    health.add_check("workers", pool.problem)
    health.add_note("inbox", pool.parked_note)
    yield health


def _search_path(engine) -> str:
    from sqlalchemy import text

    with engine.connect() as conn:
        return conn.execute(text("SHOW search_path")).scalar_one()


def serve(wsgi):
    server = create_server(wsgi, host="127.0.0.1", port=0, threads=4)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    return server, thread


@pytest.fixture
def server(settings, pool, health):
    front = SlackFront(signing_secret=settings.signing_secret, pool=pool, catalog=Catalog("en"))
    server, thread = serve(make_wsgi_app(front, health))
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


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def seed_and_post(worker, session_factory, clock) -> None:
    records = parse_export(SAMPLE.read_bytes(), filename="c.csv").records
    with transaction(session_factory) as session:
        insert_records(session=session, records=records, batch_id=None, now=clock.now(), timezone=SHANGHAI)
    worker.services.post_daily_digest()


def inbox_rows(session_factory):
    with transaction(session_factory) as session:
        return store.list_entries(session=session)


def test_healthz_answers_200_with_the_times_of_the_last_digest_and_sweep(server, pool, worker, health, clock):
    pool.start()
    worker.services.tick(health=health)
    status, text = get(f"{server}/healthz")
    assert status == 200
    stamp = clock.now().isoformat(timespec="seconds")
    assert text.splitlines() == ["ok", f"last digest: {stamp}", f"last sweep: {stamp}"]


def test_healthz_is_503_when_the_digest_failed(server, pool, worker, health, session_factory, clock, fake_slack):
    pool.start()
    records = parse_export(SAMPLE.read_bytes(), filename="c.csv").records
    with transaction(session_factory) as session:
        insert_records(session=session, records=records, batch_id=None, now=clock.now(), timezone=SHANGHAI)
    fake_slack.fail_next("chat.postMessage", error="channel_not_found", times=50)  # the bot was removed from the channel

    problems = worker.services.tick(health=health)

    assert problems["digest"] and problems["sweep"] is None  # the sweep ran all the same
    status, text = get(f"{server}/healthz")
    assert status == 503
    assert text.startswith("digest failed at ") and "channel_not_found" in text


def test_a_failed_digest_stays_a_failure_until_a_digest_is_posted(server, pool, worker, health, session_factory, clock, fake_slack):
    # Before: the next morning's first tick (too early to post) cleared
    # Friday's failure, and "last digest" showed a tick, not a digest.
    pool.start()
    records = parse_export(SAMPLE.read_bytes(), filename="c.csv").records
    with transaction(session_factory) as session:
        insert_records(session=session, records=records, batch_id=None, now=clock.now(), timezone=SHANGHAI)
    fake_slack.fail_next("chat.postMessage", error="channel_not_found", times=1)  # a page stays unposted that day
    failed_at = clock.now().isoformat(timespec="seconds")
    assert worker.services.tick(health=health)["digest"]

    clock.advance(timedelta(days=3, hours=-1, minutes=-30))  # Monday 07:00: the ticker runs, too early to post
    assert [c.error for c in fake_slack.calls_to("chat.postMessage")].count("channel_not_found") == 1  # used up on Friday
    assert worker.services.tick(health=health)["digest"] is None
    status, text = get(f"{server}/healthz")
    assert status == 503 and text.startswith(f"digest failed at {failed_at}")

    clock.advance(timedelta(hours=1, minutes=31))  # Monday 08:31: posted
    assert worker.services.tick(health=health)["digest"] is None
    status, text = get(f"{server}/healthz")
    assert status == 200 and f"last digest: {clock.now().isoformat(timespec='seconds')}" in text.splitlines()
    assert any(c.error is None for c in fake_slack.calls_to("chat.postMessage"))


def test_healthz_is_503_when_the_ticker_is_stale(server, pool, worker, health, clock):
    pool.start()
    worker.services.tick(health=health)
    clock.advance(timedelta(minutes=5, seconds=1))
    status, text = get(f"{server}/healthz")
    assert status == 503
    assert text == f"ticker has not run since {(clock.now() - timedelta(minutes=5, seconds=1)).isoformat(timespec='seconds')}\n"


def test_healthz_is_503_when_the_workers_are_not_running(server, worker, health):
    worker.services.tick(health=health)  # the pool was never started
    status, text = get(f"{server}/healthz")
    assert (status, text) == (503, "workers: worker threads not running (not started)\n")


def test_healthz_is_503_when_rows_wait_for_a_minute(server, pool, worker, health, session_factory, clock):
    pool.start()
    worker.services.tick(health=health)
    with transaction(session_factory) as session:  # a row this process holds and never finishes
        store.add_entry(session=session, mode="http", body="", headers="{}", received_at=clock.now(), dedup_key=None,
                        claimed_by=pool.instance, claimed_until=clock.now() + timedelta(hours=1))
    assert get(f"{server}/healthz")[0] == 200
    clock.advance(timedelta(seconds=61))
    worker.services.tick(health=health)
    status, text = get(f"{server}/healthz")
    assert status == 503 and text.startswith("workers: inbox rows waiting since ")


def test_a_row_another_replica_holds_is_not_this_replica_s_problem(server, pool, worker, health, session_factory, clock):
    # Before: every replica answered 503 for one stuck replica's row.
    pool.start()
    with transaction(session_factory) as session:
        store.add_entry(session=session, mode="http", body="", headers="{}", received_at=clock.now(), dedup_key=None,
                        claimed_by="elsewhere", claimed_until=clock.now() + timedelta(hours=1))
    clock.advance(timedelta(seconds=61))
    worker.services.tick(health=health)
    status, text = get(f"{server}/healthz")
    assert (status, text.splitlines()[0]) == (200, "ok")
    with transaction(session_factory) as session:  # once its lease runs out, it is anybody's: then it counts
        assert store.find_oldest_waiting(session=session, instance=pool.instance, now=clock.now() + timedelta(hours=2)) is not None


def test_healthz_answers_truthfully_while_another_connection_holds_the_write_lock(server, pool, worker, health, session_factory, replica_engine, clock):
    # Before: the probes began with BEGIN IMMEDIATE (SQLite) and queued behind
    # the writer for 30 s, then said "database does not answer".
    pool.start()
    worker.services.tick(health=health)
    with replica_engine.connect() as other:
        with other.begin():  # another process, mid-transaction, holding the write lock
            other.execute(text("UPDATE inbox SET error = 'x' WHERE 1 = 0"))
            other.execute(text("INSERT INTO inbox (mode, body, headers, received_at, attempts, error) "
                               "VALUES ('http', '', '{}', :at, 0, '')"), {"at": clock.now() - timedelta(hours=1)})
            status, body = get(f"{server}/healthz")
            assert (status, body.splitlines()[0]) == (200, "ok")  # and the uncommitted row is nobody's yet
            other.rollback()


def test_healthz_counts_parked_requests_in_its_200_body(server, pool, worker, health, session_factory, clock):
    pool.start()
    worker.services.tick(health=health)
    with transaction(session_factory) as session:
        entry_id = store.add_entry(session=session, mode="http", body="", headers="{}", received_at=clock.now(), dedup_key=None,
                                   claimed_by="here", claimed_until=None)
        store.mark_failed(session=session, entry_id=entry_id, instance="here", error="poison", retry_at=None, at=clock.now())
    status, body = get(f"{server}/healthz")
    assert status == 200 and "inbox: 1 request(s) parked in the last 24 h (their senders were told)" in body.splitlines()
    clock.advance(timedelta(hours=25))
    worker.services.tick(health=health)
    status, body = get(f"{server}/healthz")
    assert status == 200 and not any(line.startswith("inbox:") for line in body.splitlines())


def test_healthz_is_503_when_the_database_is_gone(tmp_path, settings, fake_slack, clock, routing):
    folder = tmp_path / "data"
    folder.mkdir()
    url = f"sqlite:///{folder / 'bot.db'}"
    engine = make_engine(url)
    upgrade(engine)
    session_factory = make_session_factory(engine)
    app = create_app(settings, client=make_client("xoxb-test", fake_slack.api_url), session_factory=session_factory,
                     clock=clock, routing=routing, process_before_response=True, verify_requests=False)
    health = Health(clock=clock)
    probe = make_probe_engine(url)
    health.add_check("database", lambda: database_problem(probe))
    server, thread = serve(make_wsgi_app(None, health))
    try:
        app.services.tick(health=health)
        assert get(f"http://127.0.0.1:{server.effective_port}/healthz")[0] == 200
        engine.dispose()
        for path in folder.iterdir():
            path.unlink()
        folder.rmdir()  # the volume went away

        status, text = get(f"http://127.0.0.1:{server.effective_port}/healthz")
        assert status == 503
        assert text.startswith("database: database does not answer (OperationalError: ")
    finally:
        server.close()
        thread.join(timeout=5)


def test_unknown_paths_are_404(server):
    assert get(f"{server}/admin")[0] == 404


def test_a_signed_command_over_http_is_stored_then_applied(server, pool, worker, session_factory, clock, signer, fake_slack):
    seed_and_post(worker, session_factory, clock)
    signed = slash_command(signer, text=f"confirm {ORDER}", user_id="U0OWNERY", channel_id="C0LOGISTICS", response_url=fake_slack.response_url())
    assert post(f"{server}/slack/events", signed) == 200
    assert len(inbox_rows(session_factory)) == 1
    pool.run_queued()
    with transaction(session_factory) as session:
        assert session.exec(select(Item).where(Item.order_no == ORDER)).one().status == "confirmed"


@pytest.mark.parametrize("signer_kind", ["wrong_secret", "stale"])
def test_a_forged_or_stale_request_over_http_is_401_and_changes_nothing(server, worker, session_factory, clock, fake_slack, signer_kind):
    seed_and_post(worker, session_factory, clock)
    bad = SlackSigner("not-the-secret") if signer_kind == "wrong_secret" else SlackSigner("test-signing-secret", clock=lambda: time.time() - 600)
    signed = slash_command(bad, text=f"confirm {ORDER}", user_id="U0OWNERY", channel_id="C0LOGISTICS", response_url=fake_slack.response_url())
    assert post(f"{server}/slack/events", signed) == 401
    assert inbox_rows(session_factory) == []
    with transaction(session_factory) as session:
        assert session.exec(select(Item).where(Item.order_no == ORDER)).one().status == "awaiting"
        assert not session.exec(select(AuditEntry).where(AuditEntry.action == "confirm")).all()


def test_malformed_requests_over_http_are_4xx_and_the_server_keeps_serving(server, pool, worker, session_factory, clock, signer, fake_slack):
    seed_and_post(worker, session_factory, clock)
    bad_stamp = signer.sign("{}", content_type=JSON)
    bad_stamp.headers["X-Slack-Request-Timestamp"] = "1e9"
    assert post(f"{server}/slack/events", bad_stamp) == 401
    assert post(f"{server}/slack/events", signer.sign("not json", content_type=JSON)) == 400
    assert post(f"{server}/slack/events", signer.sign(json.dumps([{"type": "event_callback"}]), content_type=JSON)) == 400
    assert inbox_rows(session_factory) == []
    signed = slash_command(signer, text=f"confirm {ORDER}", user_id="U0OWNERY", channel_id="C0LOGISTICS", response_url=fake_slack.response_url())
    assert post(f"{server}/slack/events", signed) == 200
    pool.run_queued()
    with transaction(session_factory) as session:
        assert session.exec(select(Item).where(Item.order_no == ORDER)).one().status == "confirmed"
