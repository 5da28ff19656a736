"""What digest messages show, and keyed follow-up claims, on a real
database: SQLite always, PostgreSQL when ``TEST_DATABASE_URL`` is set.

An item change makes its message (and the owner's first page) one version
newer in the change's transaction, once per transaction; a rolled-back
change bumps nothing. One refresher at a time per message. A follow-up
claim whose send failed, or whose sender's lease ran out, can be taken over
— by one sweep only.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlmodel import select
from test_followup_queries import NOW, add_item, add_message

from bot.core.lifecycle import Action, Role, Status, Surface
from storage import followups as f
from storage import queries as q
from storage.db import make_session_factory, transaction
from storage.models import DigestMessage, FollowUp

CONFIRM = q.Change(Action.CONFIRM, Status.CONFIRMED, "U0OWNERY", Role.OWNER, Surface.COMMAND)


def versions(session_factory) -> dict[int, tuple[int, int]]:
    with transaction(session_factory) as session:
        return {m.id: (m.version, m.shown_version) for m in session.exec(select(DigestMessage).order_by(DigestMessage.id))}


def test_a_change_makes_its_message_and_the_first_page_one_version_newer_once_per_transaction(session_factory) -> None:
    first, more = add_message(session_factory), add_message(session_factory, page=1, ts="1.1")
    other = add_message(session_factory, owner="小件配送", ts="2.0")
    on_more = [add_item(session_factory, f"SO{i}", more) for i in range(3)]
    add_item(session_factory, "SO9", other, owner="小件配送")

    with transaction(session_factory) as session:
        q.transition_many(session=session, item_ids=on_more[:2], expected=Status.AWAITING, change=CONFIRM, now=NOW)
        item = q.get_item(session=session, item_id=on_more[2])
        assert q.transition_item(session=session, item=item, change=CONFIRM, now=NOW)

    assert versions(session_factory) == {first: (1, 0), more: (1, 0), other: (0, 0)}


def test_a_change_that_changed_nothing_or_rolled_back_bumps_nothing(session_factory) -> None:
    message = add_message(session_factory)
    item_id = add_item(session_factory, "SO1", message, status=Status.CONFIRMED)

    with transaction(session_factory) as session:  # compare-and-set lost: nothing changed
        q.transition_many(session=session, item_ids=[item_id], expected=Status.AWAITING, change=CONFIRM, now=NOW)
    with pytest.raises(RuntimeError), transaction(session_factory) as session:
        q.transition_many(session=session, item_ids=[item_id], expected=Status.CONFIRMED, change=CONFIRM, now=NOW)
        raise RuntimeError("the rest of the use case failed")

    assert versions(session_factory) == {message: (0, 0)}
    with transaction(session_factory) as session:
        assert q.get_item(session=session, item_id=item_id).status == Status.CONFIRMED


def test_stale_messages_are_the_posted_ones_behind_oldest_first_and_shown_never_moves_back(session_factory) -> None:
    a, b, unposted = add_message(session_factory), add_message(session_factory, owner="小件配送", ts="2.0"), add_message(session_factory, owner="X", ts=None)
    for message, order in ((a, "SO1"), (b, "SO2"), (unposted, "SO3")):
        item = add_item(session_factory, order, message)
        with transaction(session_factory) as session:
            q.transition_many(session=session, item_ids=[item], expected=Status.AWAITING, change=CONFIRM, now=NOW)

    with transaction(session_factory) as session:
        assert [m.id for m in q.list_stale_messages(session=session, limit=10)] == [a, b]
        assert [m.id for m in q.list_stale_messages(session=session, limit=1)] == [a]
        assert q.mark_message_shown(session=session, message_id=a, version=1) == 1
        assert q.mark_message_shown(session=session, message_id=a, version=0) == 1  # an older render does not count
        assert [m.id for m in q.list_stale_messages(session=session, limit=10)] == [b]
    assert versions(session_factory)[a] == (1, 1)


def test_one_refresher_at_a_time_per_message_until_released_or_its_lease_ends(session_factory, replica_engine) -> None:
    message = add_message(session_factory)
    other = make_session_factory(replica_engine)
    until = NOW + timedelta(minutes=2)

    with transaction(session_factory) as session:
        assert q.claim_message_refresh(session=session, message_id=message, now=NOW, until=until).id == message
    with transaction(other) as session:
        assert q.claim_message_refresh(session=session, message_id=message, now=NOW, until=until) is None
        assert q.claim_message_refresh(session=session, message_id=message, now=until, until=until + timedelta(minutes=2)) is not None
        q.release_message_refresh(session=session, message_id=message, attempted_at=until)
    with transaction(session_factory) as session:
        assert q.claim_message_refresh(session=session, message_id=message, now=until, until=until + timedelta(minutes=2)) is not None


def test_stale_messages_that_were_tried_wait_behind_the_others_least_recently_tried_first(session_factory) -> None:
    # Messages that keep failing (a render error) must not hold the first places of the list for ever.
    a, b, c = (add_message(session_factory, owner=owner, ts=f"{n}.0") for n, owner in enumerate(("A", "B", "C"), start=1))
    for message, order in ((a, "SO1"), (b, "SO2"), (c, "SO3")):
        item = add_item(session_factory, order, message)
        with transaction(session_factory) as session:
            q.transition_many(session=session, item_ids=[item], expected=Status.AWAITING, change=CONFIRM, now=NOW)

    def attempt(message: int, at) -> None:  # a refresh that failed: claimed, then released, still behind
        with transaction(session_factory) as session:
            assert q.claim_message_refresh(session=session, message_id=message, now=at, until=at + timedelta(minutes=2)) is not None
            q.release_message_refresh(session=session, message_id=message, attempted_at=at)

    def stale(limit: int = 2) -> list[int]:
        with transaction(session_factory) as session:
            return [m.id for m in q.list_stale_messages(session=session, limit=limit)]

    assert stale() == [a, b]
    attempt(a, NOW)
    attempt(b, NOW + timedelta(seconds=1))
    assert stale() == [c, a]  # never tried first, then the least recently tried
    attempt(c, NOW + timedelta(minutes=1))
    attempt(a, NOW + timedelta(minutes=1, seconds=1))
    assert stale(3) == [b, c, a]


def test_a_posted_message_shows_its_planned_version(session_factory) -> None:
    planned = add_message(session_factory, ts=None)
    with transaction(session_factory) as session:  # as the plan's transaction leaves it
        session.exec(text("UPDATE digest_message SET version = :v WHERE id = :id").bindparams(v=q.PLANNED_VERSION, id=planned))

    with transaction(session_factory) as session:
        q.set_message_posted(session=session, message_id=planned, ts="3.0", thread_ts=None, now=NOW)

    assert versions(session_factory)[planned] == (q.PLANNED_VERSION, q.PLANNED_VERSION)


def test_a_message_planned_before_versions_were_kept_sees_its_first_change_as_stale(session_factory) -> None:
    old = add_message(session_factory, ts=None)  # pending across the upgrade that added versions: still 0

    with transaction(session_factory) as session:
        q.set_message_posted(session=session, message_id=old, ts="3.0", thread_ts=None, now=NOW)
    assert versions(session_factory)[old] == (0, 0)  # not claimed to show a version it never had
    item = add_item(session_factory, "SO1", old)
    with transaction(session_factory) as session:
        q.transition_many(session=session, item_ids=[item], expected=Status.AWAITING, change=CONFIRM, now=NOW)

    with transaction(session_factory) as session:
        assert [m.id for m in q.list_stale_messages(session=session, limit=10)] == [old]  # the change is owed to Slack


# --- follow-up claims ---------------------------------------------------------------------------


def claim(session_factory, key: str = "nudge:1:0:x", *, lease: timedelta = timedelta(minutes=5)) -> bool:
    with transaction(session_factory) as session:
        row = FollowUp(key=key, kind="nudge", level=0, recipient="U0OWNERY", sent_at=NOW, lease_until=NOW + lease)
        return f.claim_follow_up(session=session, follow_up=row)


def test_a_claim_being_sent_is_taken_a_failed_one_is_free_for_one_sweep_only(session_factory, replica_engine) -> None:
    other = make_session_factory(replica_engine)
    assert claim(session_factory) and not claim(session_factory)
    with transaction(session_factory) as session:
        assert f.list_done_keys(session=session, keys=["nudge:1:0:x"], now=NOW) == {"nudge:1:0:x"}  # in flight
        assert f.take_over_follow_up(session=session, key="nudge:1:0:x", now=NOW, lease_until=NOW) == (False, None)
        f.set_message_key(session=session, keys=["nudge:1:0:x"], message_key="nudge:1:0:x")
        assert f.record_send_failure(session=session, keys=["nudge:1:0:x"], error="TimeoutError", refused=False, give_up_after=None, now=NOW) == f.SendFailures(1, 0)
        assert f.list_done_keys(session=session, keys=["nudge:1:0:x"], now=NOW) == set()  # free again

    later = NOW + timedelta(minutes=1)
    with transaction(session_factory) as session:
        assert f.take_over_follow_up(session=session, key="nudge:1:0:x", now=later, lease_until=later + timedelta(minutes=5)) == (True, "nudge:1:0:x")
    with transaction(other) as session:
        assert f.take_over_follow_up(session=session, key="nudge:1:0:x", now=later, lease_until=later + timedelta(minutes=5)) == (False, None)


def test_a_dead_sender_s_claim_is_free_once_its_lease_is_over(session_factory) -> None:
    claim(session_factory)
    with transaction(session_factory) as session:
        assert f.take_over_follow_up(session=session, key="nudge:1:0:x", now=NOW + timedelta(minutes=4), lease_until=NOW) == (False, None)
        assert f.take_over_follow_up(session=session, key="nudge:1:0:x", now=NOW + timedelta(minutes=5), lease_until=NOW) == (True, None)


def test_a_refused_send_given_up_after_three_attempts_stays_done(session_factory) -> None:
    claim(session_factory)
    with transaction(session_factory) as session:
        for attempt in (1, 2, 3):
            assert f.record_send_failure(session=session, keys=["nudge:1:0:x"], error="msg_too_long", refused=True, give_up_after=3, now=NOW) == f.SendFailures(attempt, attempt)
        assert f.list_done_keys(session=session, keys=["nudge:1:0:x"], now=NOW) == {"nudge:1:0:x"}
        assert f.take_over_follow_up(session=session, key="nudge:1:0:x", now=NOW, lease_until=NOW) == (False, None)
        row = session.exec(text("SELECT attempts, error, gave_up_at IS NOT NULL FROM follow_up")).one()
    assert tuple(row) == (3, "msg_too_long", True)


def test_ambiguous_failures_do_not_count_toward_giving_up_only_three_refusals_do(session_factory) -> None:
    # Two timeouts, then one refusal: not given up (one refusal is not three).
    claim(session_factory)
    key = ["nudge:1:0:x"]
    with transaction(session_factory) as session:
        for _ in range(2):
            f.record_send_failure(session=session, keys=key, error="SlackUnavailable: timeout", refused=False, give_up_after=None, now=NOW)
        assert f.record_send_failure(session=session, keys=key, error="channel_not_found", refused=True, give_up_after=3, now=NOW) == f.SendFailures(3, 1)
        assert f.list_done_keys(session=session, keys=key, now=NOW) == set()  # free for the next sweep
        assert f.count_stuck_follow_ups(session=session, attempts=3) == 1  # pending after three failed tries
        assert f.record_send_failure(session=session, keys=key, error="channel_not_found", refused=True, give_up_after=3, now=NOW).refusals == 2
        assert f.list_done_keys(session=session, keys=key, now=NOW) == set()
        assert f.record_send_failure(session=session, keys=key, error="channel_not_found", refused=True, give_up_after=3, now=NOW) == f.SendFailures(5, 3)
        assert f.list_done_keys(session=session, keys=key, now=NOW) == set(key)  # given up after the third refusal
        assert f.count_stuck_follow_ups(session=session, attempts=3) == 0  # given up is not pending
        row = session.exec(text("SELECT attempts, refusals, gave_up_at IS NOT NULL FROM follow_up")).one()
    assert tuple(row) == (5, 3, True)
