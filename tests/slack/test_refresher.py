"""Coalesced digest message updates (``bot.services.refresher``), as
``rejectbot run`` runs them: the app from ``create_app`` with its refresher
started, signed clicks and commands into it, the fake Slack recording what
reaches it. No timing: the refresher's one-second pacing runs on a clock the
test moves by hand, and each test waits for the refresher to be idle.

The scene is the follow-up tests' Friday digest: Y's two messages (the first
page in the channel, its continuation in the thread) and Z's.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict

import pytest
from conftest import SIGNING_SECRET
from sqlmodel import select
from support import run_together
from test_followup_sweep import CHANNEL, Y, post_friday_digest

from bot.app import create_app
from bot.core.lifecycle import Status
from bot.fakeslack import SlackSigner, block_actions, slash_command
from bot.gateway import make_client
from bot.ids import ActionId
from bot.services.convergence import refresh_stale_messages
from bot.services.digest import render_digest_message
from bot.services.refresher import DigestRefresher
from storage.db import transaction
from storage.models import AuditEntry, DigestMessage, Item

IDLE = 30  # seconds the test waits (bounded) for the refresher to finish


class ManualMonotonic:
    """The refresher's clock, moved by the test."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def paced(settings, fake_slack, session_factory, clock, routing):
    """The app as ``run`` builds it, its refresher started, on a clock the test moves."""
    pace = ManualMonotonic()
    bot = create_app(
        settings, client=make_client("xoxb-test", fake_slack.api_url), session_factory=session_factory, clock=clock, routing=routing,
        process_before_response=True, refresher=DigestRefresher(monotonic=pace),
    )
    bot.services.start_refresher()
    yield bot, pace
    bot.services.stop_refresher()


def tick(bot, clock: ManualMonotonic, seconds: float) -> None:
    """Let ``seconds`` pass for the refresher and wait until it is idle."""
    clock.now += seconds
    bot.services.deps.refresher.mark([])  # wakes the senders
    assert bot.services.deps.refresher.wait_idle(IDLE)


def settle(bot, clock: ManualMonotonic) -> None:
    """Let seconds pass, one at a time, until the refresher has nothing left (bounded)."""
    for _ in range(20):
        clock.now += 1.0
        bot.services.deps.refresher.mark([])
        if bot.services.deps.refresher.wait_idle(3):
            return
    pytest.fail("the refresher did not settle")


def messages(session_factory) -> dict[tuple[str, int], DigestMessage]:
    with transaction(session_factory) as session:
        return {(m.owner, m.page): m for m in session.exec(select(DigestMessage)).all()}


def items_on(session_factory, message_id: int) -> list[Item]:
    with transaction(session_factory) as session:
        return list(session.exec(select(Item).where(Item.digest_message_id == message_id).order_by(Item.id)).all())


def updates_of(fake, ts: str) -> list:
    return [c for c in fake.calls_to("chat.update") if c.params.get("ts") == ts]


def shows_database(bot, fake, session_factory) -> None:
    """Every digest message shows what a fresh render of the database gives,
    and the database knows it (shown_version == version)."""
    for message in messages(session_factory).values():
        text, blocks = render_digest_message(bot.services.deps, message)
        held = fake.messages[(message.channel, message.ts)]
        assert held["text"] == text, message.page
        assert [b.get("block_id") for b in held["blocks"]] == [b.get("block_id") for b in blocks]
        assert message.shown_version == message.version


def confirm_command(bot, fake, orders: list[str], user: str = Y):
    request = slash_command(SlackSigner(SIGNING_SECRET), text="confirm " + " ".join(orders), user_id=user, channel_id=CHANNEL,
                            response_url=fake.response_url(f"cmd-{orders[0]}"))
    return bot.app.dispatch(request.to_bolt())


def click_confirm(bot, fake, item: Item, ts: str, *, hook: str, user: str = Y):
    request = block_actions(
        SlackSigner(SIGNING_SECRET), user_id=user, action_id=ActionId.CONFIRM, value=str(item.id), block_id=f"act-{item.id}",
        channel_id=CHANNEL, message_ts=ts, message=fake.messages.get((CHANNEL, ts)),
        response_url=fake.response_url(hook, channel=CHANNEL, ts=ts),
    )
    return bot.app.dispatch(request.to_bolt())


def buttons(blocks: list[dict]) -> set[str]:
    return {b["block_id"][4:] for b in blocks if str(b.get("block_id", "")).startswith("act-")}


# --- coalescing ---------------------------------------------------------------------------------


def test_many_answers_within_a_second_make_one_update_per_message_showing_the_final_state(paced, session_factory, clock, fake_slack) -> None:
    bot, pace = paced
    post_friday_digest(bot, session_factory, clock, fake_slack)
    first, more = messages(session_factory)[("大件配送", 0)], messages(session_factory)[("大件配送", 1)]
    orders = [i.order_no for i in items_on(session_factory, first.id)[:6]] + [i.order_no for i in items_on(session_factory, more.id)]

    confirm_command(bot, fake_slack, orders[:1])  # the first change goes out at once
    assert bot.services.deps.refresher.wait_idle(IDLE)
    assert (len(updates_of(fake_slack, first.ts)), len(updates_of(fake_slack, more.ts))) == (1, 0)

    for order in orders[1:]:  # within the same second: marked, not sent
        confirm_command(bot, fake_slack, [order])
    assert not bot.services.deps.refresher.wait_idle(0.3)
    assert len(updates_of(fake_slack, first.ts)) == 1
    assert len(updates_of(fake_slack, more.ts)) <= 1  # its first change went out at once, the others wait

    tick(bot, pace, 1.0)  # one second later: one more update of each
    assert len(updates_of(fake_slack, first.ts)) == 2
    assert len(updates_of(fake_slack, more.ts)) <= 2
    shows_database(bot, fake_slack, session_factory)
    with transaction(session_factory) as session:  # every answer done once, with its audit row
        assert session.exec(select(Item).where(Item.status == Status.CONFIRMED)).all().__len__() == len(orders)
        assert len(session.exec(select(AuditEntry).where(AuditEntry.to_status == Status.CONFIRMED)).all()) == len(orders)
    assert len(fake_slack.calls_to("response_url")) == len(orders)  # each command got its private answer


def test_a_click_shows_its_message_through_its_response_url_and_the_first_page_follows(paced, session_factory, clock, fake_slack) -> None:
    bot, pace = paced
    post_friday_digest(bot, session_factory, clock, fake_slack)
    first, more = messages(session_factory)[("大件配送", 0)], messages(session_factory)[("大件配送", 1)]
    item = items_on(session_factory, more.id)[0]

    assert click_confirm(bot, fake_slack, item, more.ts, hook="c1").status == 200

    replaced, answer = fake_slack.calls_to("response_url")
    assert replaced.params.get("replace_original") is True and str(item.id) not in buttons(replaced.params["blocks"])
    assert answer.params.get("response_type") == "ephemeral"  # the private reply, after
    assert str(item.id) not in buttons(fake_slack.messages[(CHANNEL, more.ts)]["blocks"])
    assert bot.services.deps.refresher.wait_idle(IDLE)
    assert updates_of(fake_slack, more.ts) == []  # already shown: no chat.update for it
    assert len(updates_of(fake_slack, first.ts)) == 1  # the head counts
    shows_database(bot, fake_slack, session_factory)


def test_a_spent_response_url_leaves_the_clicked_message_to_the_refresher(paced, session_factory, clock, fake_slack) -> None:
    bot, pace = paced
    post_friday_digest(bot, session_factory, clock, fake_slack)
    first = messages(session_factory)[("大件配送", 0)]
    item = items_on(session_factory, first.id)[0]
    fake_slack.fail_next("response_url", "used_url", status=404)

    click_confirm(bot, fake_slack, item, first.ts, hook="spent")

    assert bot.services.deps.refresher.wait_idle(IDLE)
    (update,) = updates_of(fake_slack, first.ts)
    assert str(item.id) not in buttons(update.params["blocks"])
    shows_database(bot, fake_slack, session_factory)


# --- latest wins ------------------------------------------------------------------------------------


def test_clicks_racing_on_one_message_never_show_an_older_state_after_a_newer_one(paced, session_factory, clock, fake_slack) -> None:
    bot, pace = paced
    post_friday_digest(bot, session_factory, clock, fake_slack)
    first = messages(session_factory)[("大件配送", 0)]
    items = items_on(session_factory, first.id)[:8]
    fake_slack.hang_next("chat.update", 0.3, applied=True)  # a slow chat.update holds the lease while clicks land
    confirm_command(bot, fake_slack, [items[0].order_no])  # marks the message: the refresher's update hangs

    errors = run_together(*[
        (lambda i=i: click_confirm(bot, fake_slack, i, first.ts, hook=f"race-{i.id}")) for i in items[1:]
    ])
    assert errors == []
    settle(bot, pace)

    # In the order Slack received them, the confirmed items on the message only grow.
    all_items = {str(i.id) for i in items_on(session_factory, first.id)}
    shown = [
        all_items - buttons(c.params["blocks"]) for c in fake_slack.calls
        if (c.method == "chat.update" and c.params.get("ts") == first.ts) or (c.method == "response_url" and c.params.get("replace_original"))
        if c.status == 200
    ]
    assert shown and all(a <= b for a, b in zip(shown, shown[1:], strict=False)), shown
    assert shown[-1] == {str(i.id) for i in items}
    shows_database(bot, fake_slack, session_factory)


# --- failures ---------------------------------------------------------------------------------------


def test_a_429_on_a_coalesced_update_ends_with_the_right_state(paced, session_factory, clock, fake_slack) -> None:
    bot, pace = paced
    post_friday_digest(bot, session_factory, clock, fake_slack)
    first = messages(session_factory)[("大件配送", 0)]
    orders = [i.order_no for i in items_on(session_factory, first.id)[:4]]
    fake_slack.fail_next("chat.update", "ratelimited", retry_after=1)

    confirm_command(bot, fake_slack, orders[:1])
    for order in orders[1:]:
        confirm_command(bot, fake_slack, [order])
    settle(bot, pace)

    statuses = [c.status for c in updates_of(fake_slack, first.ts)]
    assert statuses[0] == 429 and statuses[-1] == 200
    shows_database(bot, fake_slack, session_factory)


def test_marks_lost_with_the_process_are_caught_up_by_convergence(paced, session_factory, clock, fake_slack) -> None:
    bot, pace = paced
    post_friday_digest(bot, session_factory, clock, fake_slack)
    first = messages(session_factory)[("大件配送", 0)]
    orders = [i.order_no for i in items_on(session_factory, first.id)[:3]]
    confirm_command(bot, fake_slack, orders[:1])
    assert bot.services.deps.refresher.wait_idle(IDLE)
    for order in orders[1:]:  # marked for the next second...
        confirm_command(bot, fake_slack, [order])
    bot.services.stop_refresher()  # ...and the process is gone (killed: its marks with it)
    assert len(updates_of(fake_slack, first.ts)) == 1
    assert messages(session_factory)[("大件配送", 0)].shown_version < messages(session_factory)[("大件配送", 0)].version

    refresh_stale_messages(bot.services.deps)  # the next tick, here or in another replica

    shows_database(bot, fake_slack, session_factory)


def test_the_refresher_sends_one_message_from_one_thread_at_a_time() -> None:
    # Pure machinery: two senders, one message marked again while it is sent.
    clock = ManualMonotonic()
    refresher = DigestRefresher(monotonic=clock, senders=2)
    sending, overlaps, sent = threading.Event(), [], defaultdict(int)
    release = threading.Event()

    def send(message_id: int):
        from bot.services.refresher import Shown

        if sending.is_set():
            overlaps.append(message_id)
        sending.set()
        release.wait(5)
        sent[message_id] += 1
        sending.clear()
        return Shown.UPDATED

    refresher.start(send)
    try:
        refresher.mark([7])
        assert sending.wait(5)
        refresher.mark([7])  # while it is being sent
        release.set()
        assert not refresher.wait_idle(0.3)  # due a second after the first send, not at once
        clock.now += 1.0
        refresher.mark([])
        assert refresher.wait_idle(IDLE)
    finally:
        refresher.stop()
    assert (sent[7], overlaps) == (2, [])


class SenderDies(BaseException):
    """What ends a sender thread outright (not an ``Exception``: those are caught per message)."""


def test_a_sender_that_dies_leaves_its_message_to_the_other_sender() -> None:
    clock = ManualMonotonic()
    refresher = DigestRefresher(monotonic=clock, senders=2)
    calls = []

    def send(message_id: int):
        from bot.services.refresher import Shown

        calls.append(message_id)
        if len(calls) == 1:
            raise SenderDies
        return Shown.UPDATED

    refresher.start(send)
    try:
        refresher.mark([7])
        assert refresher.wait_idle(IDLE)  # was stuck as "being sent" by the dead thread, for ever
        assert refresher.running  # one sender left
    finally:
        refresher.stop()
    assert calls == [7, 7]


def test_once_every_sender_died_the_services_update_inline_again(paced, session_factory, clock, fake_slack) -> None:
    bot, pace = paced
    post_friday_digest(bot, session_factory, clock, fake_slack)
    first = messages(session_factory)[("大件配送", 0)]
    refresher = bot.services.deps.refresher
    refresher.stop()

    def send(message_id: int):
        raise SenderDies

    refresher.start(send)  # senders that die on their first message
    refresher.mark([first.id])
    for _ in range(IDLE * 20):
        if not refresher.running:
            break
        time.sleep(0.05)
    item = items_on(session_factory, first.id)[0]

    confirm_command(bot, fake_slack, [item.order_no])  # no sender left: not marked for nobody, updated at once

    (update,) = updates_of(fake_slack, first.ts)
    assert str(item.id) not in buttons(update.params["blocks"])
    shows_database(bot, fake_slack, session_factory)
