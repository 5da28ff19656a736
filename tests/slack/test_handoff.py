"""The durable hand-off in one process: the HTTP front stores each request in
the inbox before it acknowledges it, the pool dispatches stored rows through
the whole app. Signed requests as Slack sends them; the pool runs what is
queued in the test's thread (``run_queued``) unless a test starts it.

The kill -9 and restart cases, with real processes, are in
``test_run_process.py``."""

from __future__ import annotations

import json
import time
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlencode
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text, update
from sqlmodel import select
from support import effects

from bot.app import create_app
from bot.core.importing import parse_export
from bot.fakeslack import SlackSigner, block_actions, event_callback, reaction_event, slash_command, view_submission
from bot.fakeslack.requests import FORM, JSON
from bot.gateway import make_client
from bot.handoff import HTTP, InboxPool
from bot.i18n import Catalog
from bot.server import SlackFront
from storage import inbox as store
from storage.db import transaction
from storage.imports import insert_records
from storage.models import AuditEntry, InboxEntry, Item

SHANGHAI = ZoneInfo("Asia/Shanghai")
SAMPLE = Path(__file__).resolve().parents[1] / "fixtures" / "samples" / "callbacks-2026-11-26.csv"
PAYLOADS = Path(__file__).resolve().parents[1] / "fixtures" / "slack-payloads"
CHANNEL = "C0LOGISTICS"
ORDER = "SO20261126000000"  # large, Shanghai Pudong: U0OWNERY's


@pytest.fixture
def worker(settings, fake_slack, session_factory, clock, routing):
    """The whole app as the pool dispatches into it: the front has verified."""
    return create_app(
        settings, client=make_client("xoxb-test", fake_slack.api_url), session_factory=session_factory, clock=clock,
        routing=routing, process_before_response=True, verify_requests=False,
    )


@pytest.fixture
def pool(worker, session_factory, clock) -> InboxPool:
    return InboxPool(session_factory=session_factory, dispatch=worker.app.dispatch, clock=clock, instance="here")


@pytest.fixture
def front(settings, pool) -> SlackFront:
    return SlackFront(signing_secret=settings.signing_secret, pool=pool, catalog=Catalog("en"))


def handle(front: SlackFront, signed):
    return front.handle(signed.body.encode(), {name.lower(): value for name, value in signed.headers.items()})


@pytest.fixture
def posted(worker, session_factory, clock, fake_slack) -> None:
    records = parse_export(SAMPLE.read_bytes(), filename="c.csv").records
    with transaction(session_factory) as session:
        insert_records(session=session, records=records, batch_id=None, now=clock.now(), timezone=SHANGHAI)
    worker.services.post_daily_digest()
    fake_slack.clear()


def status(session_factory, order: str = ORDER) -> str:
    with transaction(session_factory) as session:
        return session.exec(select(Item).where(Item.order_no == order)).one().status


def entries(session_factory) -> list[InboxEntry]:
    with transaction(session_factory) as session:
        return store.list_entries(session=session)


def test_the_front_stores_before_it_acks_and_the_pool_does_the_work(front, pool, session_factory, fake_slack, signer, posted):
    signed = slash_command(signer, text=f"confirm {ORDER}", user_id="U0OWNERY", channel_id=CHANNEL, response_url=fake_slack.response_url())

    answer = handle(front, signed)

    assert answer.status == 200 and answer.body == b""
    [entry] = entries(session_factory)
    assert (entry.mode, entry.body, entry.claimed_by, entry.done_at) == (HTTP, signed.body, "here", None)
    assert json.loads(entry.headers)["content-type"] == FORM
    assert status(session_factory) == "awaiting" and fake_slack.calls == []  # nothing done yet

    assert pool.run_queued() == 1

    assert status(session_factory) == "confirmed"
    assert [c.method for c in effects(fake_slack)] == ["chat.update", "response_url"]
    [entry] = entries(session_factory)
    assert entry.done_at is not None and entry.attempts == 1


def test_a_forged_request_is_refused_and_nothing_is_stored(front, session_factory, fake_slack):
    forged = slash_command(SlackSigner("wrong-secret"), text=f"confirm {ORDER}", user_id="U0OWNERY", channel_id=CHANNEL,
                           response_url=fake_slack.response_url())
    assert handle(front, forged).status == 401
    assert entries(session_factory) == []


def test_a_blank_modal_stays_open_and_nothing_is_stored(front, session_factory, signer):
    submitted = view_submission(
        signer, user_id="U0OWNERZ", callback_id="dispute.submit", private_metadata=json.dumps({"item": 1, "channel": CHANNEL}),
        values={"dispute.reason": {"dispute.reason_input": "   "}},
    )
    answer = handle(front, submitted)
    assert answer.status == 200
    assert json.loads(answer.body)["response_action"] == "errors"
    assert entries(session_factory) == []


def test_a_retried_event_is_stored_once_and_done_once(front, pool, session_factory, fake_slack, signer, posted):
    ts = next(m["ts"] for m in fake_slack.channel_history(CHANNEL) if "<@U0OWNERZ>" in json.dumps(m["blocks"]))
    event = reaction_event(kind="reaction_added", user="U0OWNERZ", reaction="white_check_mark", channel=CHANNEL, ts=ts)
    assert handle(front, event_callback(signer, event=event, event_id="EvH1")).status == 200
    assert handle(front, event_callback(signer, event=event, event_id="EvH1", retry_num=1, retry_reason="http_timeout")).status == 200
    assert [e.dedup_key for e in entries(session_factory)] == ["event:EvH1"]

    pool.run_queued()

    with transaction(session_factory) as session:
        confirms = session.exec(select(AuditEntry).where(AuditEntry.action == "confirm")).all()
    assert len(confirms) == 12  # Z's items, once
    assert len(fake_slack.calls_to("chat.update")) == 1


@pytest.mark.parametrize("fixture", ["app_home_opened_event.json", "reaction_added_event_slack_docs.json"])
def test_every_event_type_reaches_the_inbox(front, pool, session_factory, signer, fixture):
    # No list of event types at the front: what the app does not handle yet
    # (app_home_opened, file_shared, ...) still reaches the workers.
    envelope = json.loads((PAYLOADS / fixture).read_text(encoding="utf-8"))
    envelope["event_id"] = envelope.get("event_id") or "EvHome1"
    assert handle(front, signer.sign(json.dumps(envelope), content_type=JSON)).status == 200
    [entry] = entries(session_factory)
    assert entry.dedup_key == f"event:{envelope['event_id']}"
    pool.run_queued()
    assert entries(session_factory)[0].done_at is not None


def test_a_file_shared_event_reaches_the_inbox(front, session_factory, signer):
    event = {"type": "file_shared", "file_id": "F0001", "user_id": "U0CS0001", "file": {"id": "F0001"}, "channel_id": CHANNEL, "event_ts": "1764200000.000100"}
    assert handle(front, event_callback(signer, event=event, event_id="EvFile1")).status == 200
    assert [e.dedup_key for e in entries(session_factory)] == ["event:EvFile1"]


def test_url_verification_and_ssl_check_are_answered_by_the_front(front, session_factory, signer):
    challenge = json.loads((PAYLOADS / "url_verification.json").read_text(encoding="utf-8"))
    answer = handle(front, signer.sign(json.dumps(challenge), content_type=JSON))
    assert (answer.status, json.loads(answer.body)) == (200, {"challenge": challenge["challenge"]})
    assert handle(front, signer.sign(urlencode({"ssl_check": "1", "token": "x"}), content_type=FORM)).status == 200
    assert entries(session_factory) == []


def test_a_row_waiting_past_slack_s_freshness_window_is_still_done(front, pool, session_factory, fake_slack, posted):
    # The front verified it when it arrived; the workers do not check again.
    old = SlackSigner("test-signing-secret", clock=lambda: time.time() - 600)
    signed = slash_command(old, text=f"confirm {ORDER}", user_id="U0OWNERY", channel_id=CHANNEL, response_url=fake_slack.response_url())
    pool.accept(mode=HTTP, body=signed.body, headers={k.lower(): v for k, v in signed.headers.items()}, dedup_key=None)
    pool.run_queued()
    assert status(session_factory) == "confirmed"


def test_another_replica_takes_over_rows_whose_lease_ran_out(settings, front, worker, session_factory, replica_engine, clock, fake_slack, signer, posted):
    from storage.db import make_session_factory

    signed = slash_command(signer, text=f"confirm {ORDER}", user_id="U0OWNERY", channel_id=CHANNEL, response_url=fake_slack.response_url())
    assert handle(front, signed).status == 200  # stored and held by "here", which then dies
    replica = InboxPool(session_factory=make_session_factory(replica_engine), dispatch=worker.app.dispatch, clock=clock, instance="there")

    assert replica.recover() == []  # "here" still holds a live lease
    clock.advance(timedelta(seconds=16))
    [taken] = replica.recover()
    assert replica.recover() == []  # its own now
    replica.run_queued()

    assert status(session_factory) == "confirmed"
    [entry] = entries(session_factory)
    assert (entry.id, entry.claimed_by, entry.attempts) == (taken, "there", 2) and entry.done_at is not None  # ours, then theirs
    assert len(fake_slack.calls_to("response_url")) == 1


def test_a_row_that_keeps_failing_is_parked_with_its_error(pool, session_factory, clock):
    # A stored body Bolt cannot parse fails every dispatch.
    with transaction(session_factory) as session:
        entry_id = store.add_entry(session=session, mode=HTTP, body="{not json", headers=json.dumps({"content-type": JSON}),
                                   received_at=clock.now(), dedup_key=None, claimed_by=None, claimed_until=None)
    for attempt in range(1, 6):
        clock.advance(timedelta(seconds=2 * attempt + 1))  # past the back-off
        assert pool.recover() == [entry_id]
        pool.run_queued()
    [entry] = entries(session_factory)
    assert entry.attempts == 5 and entry.parked_at is not None and entry.done_at is None
    assert "JSONDecodeError" in entry.error
    clock.advance(timedelta(minutes=5))
    assert pool.recover() == []  # never again


def test_a_row_whose_process_died_five_times_is_parked_without_a_sixth_dispatch(pool, session_factory, clock, fake_slack, signer, posted):
    signed = slash_command(signer, text=f"confirm {ORDER}", user_id="U0OWNERY", channel_id=CHANNEL, response_url=fake_slack.response_url())
    with transaction(session_factory) as session:
        entry_id = store.add_entry(session=session, mode=HTTP, body=signed.body, headers=json.dumps({"content-type": FORM}),
                                   received_at=clock.now(), dedup_key=None, claimed_by="dead", claimed_until=clock.now())
        session.exec(update(InboxEntry).where(InboxEntry.id == entry_id).values(attempts=5))
    clock.advance(timedelta(seconds=1))
    assert pool.recover() == [entry_id]
    pool.run_queued()
    [entry] = entries(session_factory)
    assert entry.parked_at is not None and "died" in entry.error
    assert status(session_factory) == "awaiting" and fake_slack.calls == []


@pytest.mark.parametrize("case", ["timestamp", "superscript_timestamp", "huge_timestamp", "unsigned", "not_json", "json_list", "payload_list", "payload_not_json", "no_actions", "checked"])
def test_malformed_requests_get_4xx_and_store_nothing(settings, pool, session_factory, signer, fake_slack, case):
    front = SlackFront(signing_secret=settings.signing_secret, pool=pool, catalog=Catalog("en"),
                       check=lambda payload: "value out of range" if payload.get("text") == "confirm 99999999999999999999999999999" else None)
    if case == "timestamp":
        signed = signer.sign("{}", content_type=JSON)
        signed.headers["X-Slack-Request-Timestamp"] = "soon"
    elif case == "superscript_timestamp":  # before: passed isdigit(), int() raised, a 500
        signed = signer.sign("{}", content_type=JSON)
        signed.headers["X-Slack-Request-Timestamp"] = "²"
    elif case == "huge_timestamp":  # before: int() of 5,000 digits raised (Python's digit limit), a 500
        signed = signer.sign("{}", content_type=JSON)
        signed.headers["X-Slack-Request-Timestamp"] = "9" * 5000
    elif case == "unsigned":
        signed = signer.sign("{}", content_type=JSON)
        del signed.headers["X-Slack-Signature"]
    elif case == "not_json":
        signed = signer.sign("{not json", content_type=JSON)
    elif case == "json_list":
        signed = signer.sign("[1, 2]", content_type=JSON)
    elif case == "payload_list":
        signed = signer.sign(urlencode({"payload": "[]"}), content_type=FORM)
    elif case == "payload_not_json":
        signed = signer.sign(urlencode({"payload": "{"}), content_type=FORM)
    elif case == "no_actions":
        click = block_actions(signer, user_id="U0OWNERY", action_id="item.confirm", value="1", block_id="b", channel_id=CHANNEL,
                              message_ts="1.0", response_url=fake_slack.response_url())
        payload = json.loads(parse_qs(click.body)["payload"][0])
        payload["actions"] = []
        signed = signer.sign(urlencode({"payload": json.dumps(payload)}), content_type=FORM)
    else:
        signed = slash_command(signer, text="confirm 99999999999999999999999999999", user_id="U0OWNERY", channel_id=CHANNEL,
                               response_url=fake_slack.response_url())
    answer = handle(front, signed)
    assert answer.status == (401 if case in ("timestamp", "superscript_timestamp", "huge_timestamp", "unsigned") else 400)
    assert entries(session_factory) == []


def test_a_stopping_pool_gives_back_what_it_did_not_do(front, pool, worker, session_factory, clock, fake_slack, signer, posted):
    for n, order_no in enumerate([ORDER, "SO20261126000002"]):
        signed = slash_command(signer, text=f"confirm {order_no}", user_id="U0OWNERY", channel_id=CHANNEL, response_url=fake_slack.response_url(f"r{n}"))
        assert handle(front, signed).status == 200
    pool.stop(timeout=1)  # never started: both still queued

    assert [(e.claimed_by, e.claimed_until, e.done_at) for e in entries(session_factory)] == [(None, None, None)] * 2
    after = InboxPool(session_factory=session_factory, dispatch=worker.app.dispatch, clock=clock, instance="next")
    assert len(after.recover()) == 2  # at once: no lease to wait out
    after.run_queued()
    assert status(session_factory) == "confirmed"
    assert {c.hook for c in fake_slack.calls_to("response_url")} == {"r0", "r1"}


def test_rows_done_over_a_week_ago_are_forgotten_parked_ones_stay(pool, session_factory, clock):
    def stored(*, done: bool, parked: bool) -> int:
        with transaction(session_factory) as session:
            entry_id = store.add_entry(session=session, mode=HTTP, body="{}", headers="{}", received_at=clock.now(),
                                       dedup_key=None, claimed_by="here", claimed_until=None)
            if done:
                store.mark_done(session=session, entry_id=entry_id, at=clock.now())
            if parked:
                store.mark_failed(session=session, entry_id=entry_id, instance="here", error="poison", retry_at=None, at=clock.now())
        return entry_id

    old_done, old_parked = stored(done=True, parked=False), stored(done=False, parked=True)
    clock.advance(timedelta(days=7, minutes=1))
    recent_done = stored(done=True, parked=False)
    assert pool.recover() == []
    assert [e.id for e in entries(session_factory)] == [old_parked, recent_done]
    assert old_done not in [e.id for e in entries(session_factory)]


# --- a listener that fails is tried again, and its sender hears if it never works ---

@contextmanager
def audit_table_away(session_factory):
    """The database refuses every use case's audit insert (a real error from
    the real database, as a dropped connection or a failed migration gives)."""
    with transaction(session_factory) as session:
        session.exec(text("ALTER TABLE audit_entry RENAME TO audit_entry_away"))
    try:
        yield
    finally:
        with transaction(session_factory) as session:
            session.exec(text("ALTER TABLE audit_entry_away RENAME TO audit_entry"))


def z_reaction(fake_slack):
    ts = next(m["ts"] for m in fake_slack.channel_history(CHANNEL) if "<@U0OWNERZ>" in json.dumps(m["blocks"]))
    return reaction_event(kind="reaction_added", user="U0OWNERZ", reaction="white_check_mark", channel=CHANNEL, ts=ts)


def confirms(session_factory) -> int:
    with transaction(session_factory) as session:
        return len(session.exec(select(AuditEntry).where(AuditEntry.action == "confirm")).all())


def test_a_listener_that_fails_is_retried_and_the_user_hears_nothing_until_it_works(front, pool, session_factory, clock, fake_slack, signer, posted):
    # Before: Bolt's error handler answered 500, the row was marked done, and
    # the ✅ was lost (0 of 12 confirmed) with only "something went wrong".
    assert handle(front, event_callback(signer, event=z_reaction(fake_slack), event_id="EvFail1")).status == 200
    with audit_table_away(session_factory):
        assert pool.run_queued() == 1
    [entry] = entries(session_factory)
    assert entry.done_at is None and entry.parked_at is None and entry.attempts == 1 and "500" in entry.error
    assert entry.claimed_by is None and entry.claimed_until > clock.now()  # back-off
    assert confirms(session_factory) == 0
    assert fake_slack.calls_to("chat.postEphemeral") == [] and fake_slack.calls_to("chat.postMessage") == []  # not yet told

    clock.advance(timedelta(seconds=3))
    assert pool.recover() == [entry.id]
    pool.run_queued()

    [entry] = entries(session_factory)
    assert entry.done_at is not None and entry.attempts == 2
    assert confirms(session_factory) == 12  # Z's items
    assert len(fake_slack.calls_to("chat.update")) == 1
    assert not any("went wrong" in json.dumps(c.params) for c in fake_slack.calls)


def test_a_request_that_never_works_is_parked_and_its_sender_is_told(front, worker, session_factory, clock, fake_slack, signer, posted):
    from functools import partial

    from bot.handoff import tell_sender
    from bot.services.inbox_notice import tell_parked

    pool = InboxPool(session_factory=session_factory, dispatch=worker.app.dispatch, clock=clock, instance="here",
                     on_parked=tell_sender(partial(tell_parked, worker.services)))
    front = SlackFront(signing_secret="test-signing-secret", pool=pool, catalog=Catalog("en"))
    signed = slash_command(signer, text=f"confirm {ORDER}", user_id="U0OWNERY", channel_id=CHANNEL, response_url=fake_slack.response_url())
    assert handle(front, signed).status == 200
    with audit_table_away(session_factory):
        pool.run_queued()
        for attempt in range(2, 6):
            clock.advance(timedelta(seconds=2 * attempt + 1))
            assert len(pool.recover()) == 1
            pool.run_queued()
    [entry] = entries(session_factory)
    assert entry.parked_at is not None and entry.attempts == 5 and entry.done_at is None
    assert status(session_factory) == "awaiting"
    # the error handler spoke once, on the last attempt; then the sender got a DM with the reference
    [told] = fake_slack.calls_to("response_url")
    assert "went wrong" in json.dumps(told.params)
    [dm] = fake_slack.calls_to("chat.postMessage")
    assert f"confirm {ORDER}" in dm.params["text"] and f"inbox {entry.id}" in dm.params["text"]
    assert len(fake_slack.calls_to("conversations.open")) == 1
    assert fake_slack.calls_to("conversations.open")[0].params["users"] == "U0OWNERY"


def test_stop_start_cycles_alone_never_park_a_row(front, pool, worker, session_factory, clock, fake_slack, signer, posted):
    # Before: each claim counted an attempt and release() kept it, so five
    # restarts parked a request that never ran.
    signed = slash_command(signer, text=f"confirm {ORDER}", user_id="U0OWNERY", channel_id=CHANNEL, response_url=fake_slack.response_url())
    assert handle(front, signed).status == 200
    pool.stop(timeout=1)  # stored and queued, never started
    for n in range(6):
        again = InboxPool(session_factory=session_factory, dispatch=worker.app.dispatch, clock=clock, instance=f"start-{n}")
        assert len(again.recover()) == 1
        again.stop(timeout=1)
        [entry] = entries(session_factory)
        assert (entry.attempts, entry.claimed_by, entry.parked_at) == (0, None, None)
    last = InboxPool(session_factory=session_factory, dispatch=worker.app.dispatch, clock=clock, instance="last")
    last.recover()
    last.run_queued()
    [entry] = entries(session_factory)
    assert entry.done_at is not None and entry.parked_at is None and entry.attempts == 1
    assert status(session_factory) == "confirmed"


def test_a_holder_whose_lease_ran_out_cannot_fail_the_row_another_now_holds(front, pool, worker, session_factory, clock, fake_slack, signer, posted):
    # Before: mark_failed ignored claimed_by, so a slow first holder freed (or
    # parked) a row the second holder was running.
    assert handle(front, event_callback(signer, event=z_reaction(fake_slack), event_id="EvLate1")).status == 200
    clock.advance(timedelta(seconds=16))  # "here" is slow: its lease runs out
    there = InboxPool(session_factory=session_factory, dispatch=worker.app.dispatch, clock=clock, instance="there")
    [taken] = there.recover()
    with audit_table_away(session_factory):
        pool.run_queued()  # "here" finally runs it, and fails
    [entry] = entries(session_factory)
    assert (entry.claimed_by, entry.error, entry.parked_at) == ("there", "", None)  # untouched: "there" decides
    there.run_queued()
    [entry] = entries(session_factory)
    assert entry.id == taken and entry.done_at is not None and confirms(session_factory) == 12
