"""HTTP mode's two halves: the front acknowledges and hands off, the worker
dispatches into the whole app. Signed requests as Slack sends them; the
worker drains the inbox synchronously here (the process boundary is
multiprocessing's, not ours)."""

from __future__ import annotations

import json
import queue
import time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from bot.app import create_app
from bot.core.importing import parse_export
from bot.fakeslack import SlackSigner, event_callback, reaction_event, slash_command, view_submission
from bot.gateway import make_client
from bot.handoff import Handoff, create_front_app, drain
from storage.db import transaction
from storage.imports import insert_records
from storage.models import AuditEntry, Item

SHANGHAI = ZoneInfo("Asia/Shanghai")
SAMPLE = Path(__file__).resolve().parents[1] / "fixtures" / "samples" / "callbacks-2026-11-26.csv"
CHANNEL = "C0LOGISTICS"
ORDER = "SO20261126000000"  # large, Shanghai Pudong: U0OWNERY's


@pytest.fixture
def inbox() -> queue.Queue:
    return queue.Queue()


@pytest.fixture
def front(settings, inbox):
    return create_front_app(settings, inbox=inbox)


@pytest.fixture
def posted(bot, session_factory, clock, fake_slack) -> None:
    records = parse_export(SAMPLE.read_bytes(), filename="c.csv").records
    with transaction(session_factory) as session:
        insert_records(session=session, records=records, batch_id=None, now=clock.now(), timezone=SHANGHAI)
    bot.services.post_daily_digest()
    fake_slack.clear()


def status(session_factory, order: str = ORDER) -> str:
    with transaction(session_factory) as session:
        return session.exec(select(Item).where(Item.order_no == order)).one().status


def work(inbox: queue.Queue, dispatch) -> None:
    """The worker's loop until everything handed off so far is done."""
    inbox.put(None)
    drain(inbox, dispatch)


def test_the_front_acks_at_once_and_the_worker_does_the_work(front, inbox, bot, session_factory, fake_slack, signer, posted):
    signed = slash_command(signer, text=f"confirm {ORDER}", user_id="U0OWNERY", channel_id=CHANNEL, response_url=fake_slack.response_url())

    response = front.dispatch(signed.to_bolt())

    assert response.status == 200
    assert inbox.qsize() == 1 and isinstance(inbox.queue[0], Handoff)
    assert status(session_factory) == "awaiting"  # nothing done yet
    assert fake_slack.calls == []

    work(inbox, bot.app.dispatch)

    assert status(session_factory) == "confirmed"
    assert [c.method for c in fake_slack.calls] == ["chat.update", "response_url"]


def test_a_forged_request_is_refused_by_the_front_and_never_handed_off(front, inbox, fake_slack):
    forged = slash_command(SlackSigner("wrong-secret"), text=f"confirm {ORDER}", user_id="U0OWNERY", channel_id=CHANNEL,
                           response_url=fake_slack.response_url())
    assert front.dispatch(forged.to_bolt()).status == 401
    assert inbox.empty()


def test_a_blank_modal_stays_open_and_nothing_is_handed_off(front, inbox, signer):
    submitted = view_submission(
        signer, user_id="U0OWNERZ", callback_id="dispute.submit", private_metadata=json.dumps({"item": 1, "channel": CHANNEL}),
        values={"dispute.reason": {"dispute.reason_input": "   "}},
    )
    response = front.dispatch(submitted.to_bolt())
    assert response.status == 200
    assert json.loads(response.body)["response_action"] == "errors"
    assert inbox.empty()


def test_a_redelivered_reaction_is_handed_off_twice_and_done_once(front, inbox, bot, session_factory, fake_slack, signer, posted):
    ts = next(m["ts"] for m in fake_slack.channel_history(CHANNEL) if "<@U0OWNERZ>" in json.dumps(m["blocks"]))
    event = reaction_event(kind="reaction_added", user="U0OWNERZ", reaction="white_check_mark", channel=CHANNEL, ts=ts)
    assert front.dispatch(event_callback(signer, event=event, event_id="EvH1").to_bolt()).status == 200
    assert front.dispatch(event_callback(signer, event=event, event_id="EvH1", retry_num=1, retry_reason="http_timeout").to_bolt()).status == 200
    assert inbox.qsize() == 2

    work(inbox, bot.app.dispatch)

    with transaction(session_factory) as session:
        confirms = session.exec(select(AuditEntry).where(AuditEntry.action == "confirm")).all()
    assert len(confirms) == 12  # Z's items, once
    assert len(fake_slack.calls_to("chat.update")) == 1


def test_the_worker_trusts_the_front_s_verification_when_the_backlog_is_old(settings, fake_slack, session_factory, clock, routing, front, inbox, posted):
    # A request that waited in the inbox past Slack's 5-minute freshness
    # window is still done: the front verified it when it arrived.
    worker = create_app(
        settings, client=make_client("xoxb-test", fake_slack.api_url), session_factory=session_factory, clock=clock,
        routing=routing, process_before_response=True, verify_requests=False,
    )
    old = SlackSigner("test-signing-secret", clock=lambda: time.time() - 600)
    inbox.put(Handoff(**vars(slash_command(old, text=f"confirm {ORDER}", user_id="U0OWNERY", channel_id=CHANNEL,
                                          response_url=fake_slack.response_url()))))
    work(inbox, worker.app.dispatch)
    assert status(session_factory) == "confirmed"


def test_the_supervisor_restarts_a_worker_that_died():
    import threading

    from bot.handoff import supervise

    class Process:  # the two things the supervisor asks of a multiprocessing.Process
        def __init__(self, alive: bool) -> None:
            self.alive, self.exitcode = alive, None if alive else 1

        def is_alive(self) -> bool:
            return self.alive

    started: list[Process] = []
    stop = threading.Event()

    def start_worker() -> Process:
        started.append(Process(alive=len(started) >= 1))  # the first one dies at once
        if len(started) == 2:
            stop.set()
        return started[-1]

    supervise(start_worker, every=0, stop=stop).join(timeout=10)
    assert len(started) == 2  # restarted once, then left alone
