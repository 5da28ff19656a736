"""Storage queries on a real database: SQLite always, PostgreSQL when
``TEST_DATABASE_URL`` is set (the ``engine`` fixture runs each test on both)."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError, StatementError
from sqlmodel import select

from bot.core.importing import parse_export
from bot.core.lifecycle import Action, Role, Status, Surface
from storage import queries as q
from storage.db import make_session_factory, transaction
from storage.imports import insert_records
from storage.models import AuditEntry, DigestMessage, Item, ReactionEffect, SideEffect

SHANGHAI = ZoneInfo("Asia/Shanghai")
SAMPLE = Path(__file__).resolve().parents[1] / "fixtures" / "samples" / "callbacks-2026-11-26.csv"
NOW = datetime(2026, 11, 27, 8, 30, tzinfo=SHANGHAI)
LEASE = timedelta(minutes=10)
DAY = date(2026, 11, 27)


# --- helpers -----------------------------------------------------------------------


def add_item(session_factory, order_no: str, *, status: Status = Status.AWAITING, owner: str | None = "大件配送",
             rejected_on: date = date(2026, 11, 26), category: str = "large", branch: str = "南京分公司",
             message_id: int | None = None) -> int:
    """A stored item; returns its id."""
    with transaction(session_factory) as session:
        item = Item(
            order_no=order_no, rejected_on=rejected_on, branch=branch, category=category, status=status,
            owner=owner, digest_message_id=message_id, imported_at=NOW, updated_at=NOW,
        )
        session.add(item)
        session.flush()
        return item.id


def add_message(session_factory, *, owner: str = "大件配送", page: int = 0, channel: str = "C0LOGISTICS") -> int:
    with transaction(session_factory) as session:
        message = q.create_digest_message(
            session=session,
            message=DigestMessage(digest_day=DAY, owner=owner, page=page, pages=1, channel=channel,
                                  deadline=NOW.replace(hour=18, minute=0), created_at=NOW),
        )
        return message.id


def load_item(session_factory, item_id: int) -> Item:
    """The item as a session saw it then (a detached, possibly stale object)."""
    with transaction(session_factory) as session:
        return q.get_item(session=session, item_id=item_id)


def status_of(session_factory, item_id: int) -> str:
    return load_item(session_factory, item_id).status


def audit_rows(session_factory, item_id: int) -> list[AuditEntry]:
    with transaction(session_factory) as session:
        return list(q.list_audit(session=session, item_id=item_id))


def claim(session_factory, key: str, at: datetime) -> q.Claim:
    with transaction(session_factory) as session:
        return q.claim_effect(session=session, key=key, now=at, lease=LEASE)


def confirm_by(actor: str, surface: Surface = Surface.COMMAND, note: str = "") -> q.Change:
    return q.Change(Action.CONFIRM, Status.CONFIRMED, actor, Role.OWNER, surface, note)


def dispute_by(actor: str, note: str = "customer refused") -> q.Change:
    return q.Change(Action.DISPUTE, Status.DISPUTED, actor, Role.OWNER, Surface.COMMAND, note)


def is_utc(moment: datetime) -> bool:
    return moment.tzinfo is not None and moment.utcoffset() == timedelta(0)


# --- UTCDateTime -------------------------------------------------------------------


def test_an_aware_datetime_comes_back_as_the_same_instant_in_utc(session_factory) -> None:
    with transaction(session_factory) as session:
        session.add(SideEffect(key="k", claimed_at=NOW, lease_until=NOW.astimezone(UTC) + LEASE))

    with transaction(session_factory) as session:
        row = q.find_effect(session=session, key="k")

    assert row.claimed_at == NOW and is_utc(row.claimed_at)
    assert row.claimed_at == datetime(2026, 11, 27, 0, 30, tzinfo=UTC)
    assert row.lease_until == NOW + LEASE and is_utc(row.lease_until)
    assert row.done_at is None


def test_the_database_holds_utc_wall_time(session_factory) -> None:
    with transaction(session_factory) as session:
        session.add(SideEffect(key="k", claimed_at=NOW, lease_until=NOW))

    with transaction(session_factory) as session:
        raw = session.execute(text("SELECT claimed_at FROM side_effect WHERE key = 'k'")).scalar_one()

    if isinstance(raw, str):  # SQLite: text without an offset
        assert raw.startswith("2026-11-27 00:30:00")
    else:
        assert raw == datetime(2026, 11, 27, 0, 30, tzinfo=UTC)


def test_a_naive_datetime_is_refused(session_factory) -> None:
    with pytest.raises(StatementError, match="naive datetime"):
        with transaction(session_factory) as session:
            session.add(SideEffect(key="k", claimed_at=datetime(2026, 11, 27, 8, 30), lease_until=NOW))

    with transaction(session_factory) as session:
        assert q.find_effect(session=session, key="k") is None


def test_an_item_s_times_round_trip_in_utc(session_factory) -> None:
    item_id = add_item(session_factory, "SO1")
    item = load_item(session_factory, item_id)
    assert item.imported_at == NOW and is_utc(item.imported_at) and is_utc(item.updated_at)
    assert item.callback_at is None and item.deadline is None


# --- the side-effect ledger --------------------------------------------------------


def test_the_first_claim_is_new_and_a_second_one_within_the_lease_is_busy(session_factory) -> None:
    assert claim(session_factory, "digest:2026-11-27", NOW) is q.Claim.NEW
    assert claim(session_factory, "digest:2026-11-27", NOW + timedelta(minutes=9)) is q.Claim.BUSY
    assert claim(session_factory, "digest:2026-11-28", NOW) is q.Claim.NEW


def test_a_finished_effect_is_done_however_late_it_is_claimed_again(session_factory) -> None:
    claim(session_factory, "digest:2026-11-27", NOW)
    with transaction(session_factory) as session:
        q.finish_effect(session=session, key="digest:2026-11-27", now=NOW + timedelta(minutes=1), detail="3 messages")

    assert claim(session_factory, "digest:2026-11-27", NOW + timedelta(minutes=2)) is q.Claim.DONE
    assert claim(session_factory, "digest:2026-11-27", NOW + timedelta(days=1)) is q.Claim.DONE
    with transaction(session_factory) as session:
        row = q.find_effect(session=session, key="digest:2026-11-27")
    assert row.done_at == NOW + timedelta(minutes=1) and row.detail == "3 messages"


def test_an_unfinished_claim_whose_lease_ran_out_is_resumed_once(session_factory) -> None:
    claim(session_factory, "digest:2026-11-27", NOW)

    resumed_at = NOW + LEASE + timedelta(seconds=1)
    assert claim(session_factory, "digest:2026-11-27", resumed_at) is q.Claim.RESUMED
    assert claim(session_factory, "digest:2026-11-27", resumed_at + timedelta(seconds=1)) is q.Claim.BUSY
    with transaction(session_factory) as session:
        row = q.find_effect(session=session, key="digest:2026-11-27")
    assert row.lease_until == resumed_at + LEASE and row.claimed_at == resumed_at


def test_a_renewed_lease_keeps_others_out(session_factory) -> None:
    claim(session_factory, "digest:2026-11-27", NOW)
    with transaction(session_factory) as session:
        q.renew_effect(session=session, key="digest:2026-11-27", until=NOW + timedelta(minutes=30))

    assert claim(session_factory, "digest:2026-11-27", NOW + timedelta(minutes=20)) is q.Claim.BUSY
    assert claim(session_factory, "digest:2026-11-27", NOW + timedelta(minutes=31)) is q.Claim.RESUMED


def test_a_claimant_whose_lease_was_taken_over_can_neither_renew_release_nor_finish(session_factory) -> None:
    key = "digest:2026-11-27"
    claim(session_factory, key, NOW)
    took_over = NOW + LEASE + timedelta(minutes=1)
    assert claim(session_factory, key, took_over) is q.Claim.RESUMED

    with transaction(session_factory) as session:
        renewed = q.renew_effect(session=session, key=key, until=took_over + timedelta(hours=1), holder=NOW)
        released = q.release_effect(session=session, key=key, now=took_over, holder=NOW)
        finished = q.finish_effect(session=session, key=key, now=took_over, detail="old run", holder=NOW)
    with transaction(session_factory) as session:
        row = q.find_effect(session=session, key=key)
    assert (renewed, released, finished) == (False, False, False)
    assert (row.lease_until, row.done_at, row.detail) == (took_over + LEASE, None, "")  # the new holder's claim, untouched

    with transaction(session_factory) as session:
        assert q.renew_effect(session=session, key=key, until=took_over + timedelta(hours=1), holder=took_over)
        assert q.finish_effect(session=session, key=key, now=took_over, detail="2 messages", holder=took_over)


def test_one_run_at_a_time_tries_a_digest_page_until_its_try_ends_or_its_lease_does(session_factory, replica_engine) -> None:
    page = add_message(session_factory, owner="大件配送")
    other = make_session_factory(replica_engine)  # another replica
    lease = timedelta(minutes=15)

    with transaction(session_factory) as session:
        mine = q.claim_message_post(session=session, message_id=page, now=NOW, lease=lease)
    with transaction(other) as session:
        theirs = q.claim_message_post(session=session, message_id=page, now=NOW + timedelta(minutes=14), lease=lease)
    with transaction(session_factory) as session:  # my try failed: the page is free again
        q.set_message_failed(session=session, message_id=page, error="msg_too_long", in_doubt=False)
    with transaction(other) as session:
        again = q.claim_message_post(session=session, message_id=page, now=NOW + timedelta(minutes=14), lease=lease)
        q.set_message_posted(session=session, message_id=page, ts="1764200000.000100", thread_ts=None, now=NOW)
    with transaction(session_factory) as session:
        after_posting = q.claim_message_post(session=session, message_id=page, now=NOW + timedelta(hours=1), lease=lease)

    assert mine is not None and mine.id == page and theirs is None
    assert again is not None and after_posting is None  # a posted page is never tried again


def test_record_once_is_true_only_the_first_time(session_factory) -> None:
    with transaction(session_factory) as session:
        first = q.record_once(session=session, key="event:Ev1", now=NOW)
    with transaction(session_factory) as session:
        again = q.record_once(session=session, key="event:Ev1", now=NOW + timedelta(minutes=1))
        other = q.record_once(session=session, key="event:Ev2", now=NOW)

    assert (first, again, other) == (True, False, True)
    with transaction(session_factory) as session:
        assert q.find_effect(session=session, key="event:Ev1").done_at == NOW


def test_a_recorded_one_shot_effect_claims_as_done(session_factory) -> None:
    with transaction(session_factory) as session:
        q.record_once(session=session, key="unrouted:2026-11-27", now=NOW)
    assert claim(session_factory, "unrouted:2026-11-27", NOW) is q.Claim.DONE


# --- compare-and-set -------------------------------------------------------------------


def test_transition_item_changes_the_status_and_writes_one_audit_row(session_factory) -> None:
    item_id = add_item(session_factory, "SO1")
    later = NOW + timedelta(minutes=5)

    with transaction(session_factory) as session:
        item = q.get_item(session=session, item_id=item_id)
        won = q.transition_item(session=session, item=item, change=confirm_by("U0OWNERY", note="ok"), now=later)
        assert item.status == Status.CONFIRMED  # the object shows the new state

    assert won is True
    stored = load_item(session_factory, item_id)
    assert (stored.status, stored.last_actor, stored.last_surface, stored.updated_at) == (
        Status.CONFIRMED, "U0OWNERY", Surface.COMMAND, later,
    )
    (row,) = audit_rows(session_factory, item_id)
    assert (row.actor, row.role, row.surface, row.action, row.from_status, row.to_status, row.note, row.at) == (
        "U0OWNERY", Role.OWNER, Surface.COMMAND, Action.CONFIRM, Status.AWAITING, Status.CONFIRMED, "ok", later,
    )


def test_of_two_sessions_acting_on_the_same_stale_item_exactly_one_wins(session_factory) -> None:
    """Sessions A and B both loaded the item while it was awaiting; A confirms
    first, then B (still holding the stale copy) tries to dispute it."""
    item_id = add_item(session_factory, "SO1")
    seen_by_a = load_item(session_factory, item_id)
    seen_by_b = load_item(session_factory, item_id)

    with transaction(session_factory) as session:
        session.add(seen_by_a)
        a_won = q.transition_item(session=session, item=seen_by_a, change=confirm_by("U0OWNERY"), now=NOW)
    with transaction(session_factory) as session:
        session.add(seen_by_b)
        b_won = q.transition_item(session=session, item=seen_by_b, change=dispute_by("U0DELEGY"), now=NOW)

    assert (a_won, b_won) == (True, False)
    assert seen_by_b.status == Status.CONFIRMED  # the loser sees the state that won
    assert status_of(session_factory, item_id) == Status.CONFIRMED
    assert [(r.actor, r.to_status) for r in audit_rows(session_factory, item_id)] == [("U0OWNERY", Status.CONFIRMED)]


def test_two_threads_racing_on_one_item_leave_one_winner_and_one_audit_row(engine, session_factory) -> None:
    """Interleaved transactions (PostgreSQL only: SQLite serialises writers with
    BEGIN IMMEDIATE, so the two could not both load before either changes)."""
    if engine.dialect.name != "postgresql":
        pytest.skip("interleaved write transactions need PostgreSQL")
    item_id = add_item(session_factory, "SO1")
    both_loaded = threading.Barrier(2, timeout=10)
    results: dict[str, bool] = {}
    errors: list[BaseException] = []

    def attempt(name: str, change: q.Change) -> None:
        try:
            with transaction(session_factory) as session:
                item = q.get_item(session=session, item_id=item_id)
                both_loaded.wait()
                results[name] = q.transition_item(session=session, item=item, change=change, now=NOW)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [
        threading.Thread(target=attempt, args=("confirm", confirm_by("U0OWNERY"))),
        threading.Thread(target=attempt, args=("dispute", dispute_by("U0DELEGY"))),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert not errors
    assert sorted(results.values()) == [False, True]
    winner = next(name for name, won in results.items() if won)
    rows = audit_rows(session_factory, item_id)
    assert len(rows) == 1
    expected = Status.CONFIRMED if winner == "confirm" else Status.DISPUTED
    assert rows[0].to_status == expected and status_of(session_factory, item_id) == expected


def test_transition_many_changes_only_the_items_still_in_the_expected_state(session_factory) -> None:
    new_ids = [add_item(session_factory, f"SO{i}", status=Status.NEW) for i in range(3)]
    already = add_item(session_factory, "SO9", status=Status.AWAITING)
    change = q.Change(Action.POST, Status.AWAITING, "system", Role.SYSTEM, Surface.SCHEDULER)

    with transaction(session_factory) as session:
        changed = q.transition_many(session=session, item_ids=[*new_ids, already], expected=Status.NEW, change=change, now=NOW)
    with transaction(session_factory) as session:
        again = q.transition_many(session=session, item_ids=new_ids, expected=Status.NEW, change=change, now=NOW)
        nothing = q.transition_many(session=session, item_ids=[], expected=Status.NEW, change=change, now=NOW)

    assert sorted(changed) == sorted(new_ids)
    assert (again, nothing) == ([], [])
    assert all(status_of(session_factory, i) == Status.AWAITING for i in [*new_ids, already])
    for item_id in new_ids:
        (row,) = audit_rows(session_factory, item_id)
        assert (row.actor, row.role, row.surface, row.from_status, row.to_status, row.at) == (
            "system", Role.SYSTEM, Surface.SCHEDULER, Status.NEW, Status.AWAITING, NOW,
        )
    assert audit_rows(session_factory, already) == []


# --- unique keys -------------------------------------------------------------------------


def test_one_order_and_rejection_day_is_stored_once(session_factory) -> None:
    add_item(session_factory, "SO1", rejected_on=date(2026, 11, 26))
    with pytest.raises(IntegrityError):
        add_item(session_factory, "SO1", rejected_on=date(2026, 11, 26))
    add_item(session_factory, "SO1", rejected_on=date(2026, 11, 25))  # another rejection of the same order

    with transaction(session_factory) as session:
        days = [i.rejected_on for i in q.list_items_by_orders(session=session, orders=["SO1"])]
    assert days == [date(2026, 11, 26), date(2026, 11, 25)]  # newest first


def test_importing_the_same_records_twice_adds_nothing_the_second_time(session_factory) -> None:
    records = parse_export(SAMPLE.read_bytes(), filename=SAMPLE.name).records
    with transaction(session_factory) as session:
        first = insert_records(session=session, records=records, batch_id=None, now=NOW, timezone=SHANGHAI)
    with transaction(session_factory) as session:
        second = insert_records(session=session, records=records, batch_id=None, now=NOW, timezone=SHANGHAI)
        stored = session.exec(select(Item)).all()

    assert (first, second, len(stored)) == (40, 0, 40)
    assert all(i.status == Status.NEW for i in stored)


def test_one_digest_page_per_day_owner_and_page(session_factory) -> None:
    add_message(session_factory, page=0)
    add_message(session_factory, page=1)
    with pytest.raises(IntegrityError):
        add_message(session_factory, page=0)


# --- items on messages, digest messages -------------------------------------------------


def test_find_digest_message_by_channel_and_ts(session_factory) -> None:
    posted = add_message(session_factory, owner="大件配送")
    add_message(session_factory, owner="小件配送")  # planned, not posted: no ts
    with transaction(session_factory) as session:
        q.set_message_posted(session=session, message_id=posted, ts="1764200000.000100", thread_ts=None, now=NOW)

    with transaction(session_factory) as session:
        found = q.find_digest_message(session=session, channel="C0LOGISTICS", ts="1764200000.000100")
        elsewhere = q.find_digest_message(session=session, channel="C0OTHER", ts="1764200000.000100")
        other_ts = q.find_digest_message(session=session, channel="C0LOGISTICS", ts="1764200000.000200")

    assert found is not None and found.id == posted and found.owner == "大件配送"
    assert found.posted_at == NOW and found.thread_ts is None
    assert (elsewhere, other_ts) == (None, None)


def test_get_digest_message_raises_for_an_unknown_id(session_factory) -> None:
    with transaction(session_factory) as session:
        with pytest.raises(q.NotFound):
            q.get_digest_message(session=session, message_id=12345)
        with pytest.raises(q.NotFound):
            q.get_item(session=session, item_id=12345)
        assert q.find_item(session=session, item_id=12345) is None


def test_items_on_a_message_and_on_an_owner_s_digest(session_factory) -> None:
    first = add_message(session_factory, page=0)
    second = add_message(session_factory, page=1)
    a = add_item(session_factory, "SO2", message_id=first, branch="杭州分公司")
    b = add_item(session_factory, "SO1", message_id=first, branch="杭州分公司")
    add_item(session_factory, "SO3", message_id=second)
    add_item(session_factory, "SO4", owner="小件配送", category="small")

    with transaction(session_factory) as session:
        on_first = [i.id for i in q.list_items_on_message(session=session, message_id=first)]
        on_digest = q.count_items_of_digest(session=session, digest_day=DAY, owner="大件配送")
        awaiting_y = [i.order_no for i in q.list_items_for_owners(session=session, owners=["大件配送"], status=Status.AWAITING)]
        nobody = q.list_items_for_owners(session=session, owners=[], status=Status.AWAITING)

    assert on_first == [b, a]  # by rejection day, branch, order number
    assert on_digest == (3, 3)  # a, b and c, all awaiting
    assert awaiting_y == ["SO2", "SO1", "SO3"]  # by id
    assert list(nobody) == []


def test_assign_to_message_sets_owner_message_and_deadline(session_factory) -> None:
    message_id = add_message(session_factory)
    item_id = add_item(session_factory, "SO1", owner=None, status=Status.NEW)
    deadline = NOW.replace(hour=18, minute=0)
    with transaction(session_factory) as session:
        q.assign_to_message(session=session, item_ids=[item_id], owner="大件配送", message_id=message_id, deadline=deadline)

    item = load_item(session_factory, item_id)
    assert (item.owner, item.digest_message_id, item.deadline) == ("大件配送", message_id, deadline)
    assert is_utc(item.deadline)


# --- reaction effects -------------------------------------------------------------------


def add_effect(session_factory, *, user: str = "U0OWNERZ", at: datetime = NOW, item_ids: str = "1,2") -> None:
    with transaction(session_factory) as session:
        q.add_reaction_effect(
            session=session,
            effect=ReactionEffect(channel="C0LOGISTICS", message_ts="1.1", user=user, reaction="white_check_mark", at=at, item_ids=item_ids),
        )


def find_effect(session_factory, *, user: str = "U0OWNERZ", reaction: str = "white_check_mark") -> ReactionEffect | None:
    with transaction(session_factory) as session:
        return q.find_reaction_effect(session=session, channel="C0LOGISTICS", ts="1.1", user=user, reaction=reaction)


def test_the_newest_reaction_effect_of_that_user_and_emoji_is_found(session_factory) -> None:
    add_effect(session_factory, at=NOW, item_ids="1,2")
    add_effect(session_factory, at=NOW + timedelta(minutes=1), item_ids="3")

    effect = find_effect(session_factory)

    assert effect is not None and effect.item_ids == "3" and effect.at == NOW + timedelta(minutes=1)
    assert find_effect(session_factory, user="U0OWNERY") is None
    assert find_effect(session_factory, reaction="eyes") is None


def test_an_undone_reaction_effect_is_undone_once_and_no_longer_found(session_factory) -> None:
    add_effect(session_factory, item_ids="1,2")
    effect = find_effect(session_factory)

    with transaction(session_factory) as session:
        first = q.mark_reaction_undone(session=session, effect_id=effect.id, now=NOW + timedelta(minutes=2))
    with transaction(session_factory) as session:
        again = q.mark_reaction_undone(session=session, effect_id=effect.id, now=NOW + timedelta(minutes=3))

    assert (first, again) == (True, False)
    assert find_effect(session_factory) is None
    with transaction(session_factory) as session:
        stored = session.get(ReactionEffect, effect.id)
    assert stored.undone_at == NOW + timedelta(minutes=2) and is_utc(stored.undone_at)
