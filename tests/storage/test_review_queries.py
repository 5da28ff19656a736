"""Queries behind re-verification, penalties and fixes, on a real database:
SQLite always, PostgreSQL when ``TEST_DATABASE_URL`` is set."""

from __future__ import annotations

import threading
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select as sa_select
from sqlmodel import select

from bot.core.lifecycle import Action, Role, Status, Surface
from storage import queries as q
from storage import review as rv
from storage.db import transaction
from storage.models import DigestMessage, Item, Penalty

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 27, 10, 0, tzinfo=SHANGHAI)


def add_item(session_factory, order_no: str, *, status: Status = Status.DISPUTED, message_id: int | None = None) -> int:
    with transaction(session_factory) as session:
        item = Item(
            order_no=order_no, rejected_on=date(2026, 11, 26), branch="南京分公司", category="large", status=status,
            owner="大件配送", callback_agent="王丽", digest_message_id=message_id, imported_at=NOW, updated_at=NOW,
        )
        session.add(item)
        session.flush()
        return item.id


def add_message(session_factory) -> int:
    with transaction(session_factory) as session:
        return q.create_digest_message(
            session=session,
            message=DigestMessage(digest_day=NOW.date(), owner="大件配送", channel="C0LOGISTICS", deadline=NOW, created_at=NOW),
        ).id


def change(session_factory, item_id: int, action: Action, new: Status, note: str = "", at: datetime = NOW) -> None:
    with transaction(session_factory) as session:
        item = q.get_item(session=session, item_id=item_id)
        assert q.transition_item(session=session, item=item, change=q.Change(action, new, "U0OWNERY", Role.OWNER, Surface.COMMAND, note), now=at)


def book(session_factory, item_id: int, *, kind: str = rv.CS_ACCURACY, amount: int = 50) -> bool:
    with transaction(session_factory) as session:
        return rv.book_penalty(
            session=session, item_id=item_id, kind=kind, person="王丽", user="U0CS0001", amount=amount, at=NOW, note="听错了",
        )


def test_a_penalty_is_booked_once_per_item_and_kind(session_factory) -> None:
    first, second = add_item(session_factory, "SO1"), add_item(session_factory, "SO2")

    assert book(session_factory, first) is True
    assert book(session_factory, first, amount=80) is False  # a repeat books nothing, changes nothing
    assert book(session_factory, first, kind="logistics") is True
    assert book(session_factory, second) is True

    with transaction(session_factory) as session:
        rows = [(p.item_id, p.kind, p.person, p.user, p.amount, p.note, p.at) for p in rv.list_penalties(session=session)]
        assert [p.kind for p in rv.list_penalties(session=session, item_id=first)] == [rv.CS_ACCURACY, "logistics"]
    assert rows[0] == (first, rv.CS_ACCURACY, "王丽", "U0CS0001", 50, "听错了", NOW)
    assert len(rows) == 3


def test_two_sessions_booking_at_once_book_one_penalty(session_factory) -> None:
    item_id = add_item(session_factory, "SO1")
    start = threading.Barrier(2, timeout=10)
    results: list[bool] = []

    def run() -> None:
        start.wait()
        results.append(book(session_factory, item_id))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(results) == [False, True]
    with transaction(session_factory) as session:
        assert len(session.exec(select(Penalty)).all()) == 1


def test_the_last_audit_row_of_an_action(session_factory) -> None:
    item_id = add_item(session_factory, "SO1", status=Status.AWAITING)
    with transaction(session_factory) as session:
        assert rv.find_last_audit(session=session, item_id=item_id, action=Action.DISPUTE) is None
    change(session_factory, item_id, Action.DISPUTE, Status.DISPUTED, "客户记错了")

    with transaction(session_factory) as session:
        entry = rv.find_last_audit(session=session, item_id=item_id, action=Action.DISPUTE)
    assert (entry.actor, entry.note, entry.at) == ("U0OWNERY", "客户记错了", NOW)


def test_the_review_message_is_remembered_and_unsent_reviews_are_listed(session_factory) -> None:
    sent, unsent = add_item(session_factory, "SO1"), add_item(session_factory, "SO2")
    add_item(session_factory, "SO3", status=Status.AWAITING)

    with transaction(session_factory) as session:
        rv.set_review_message(session=session, item_id=sent, channel="DU0CS0001", ts="1764200000.000100")
    with transaction(session_factory) as session:
        assert [i.id for i in rv.list_unsent_reviews(session=session)] == [unsent]
        item = q.get_item(session=session, item_id=sent)
        assert (item.review_channel, item.review_ts) == ("DU0CS0001", "1764200000.000100")


def test_items_on_a_message_carry_their_latest_fix_note(session_factory) -> None:
    message = add_message(session_factory)
    fixed = add_item(session_factory, "SO1", status=Status.CONFIRMED, message_id=message)
    add_item(session_factory, "SO2", status=Status.CONFIRMED, message_id=message)
    change(session_factory, fixed, Action.FIX, Status.FIXED, "已重新配送")

    with transaction(session_factory) as session:
        notes = {i.order_no: i.fix_note for i in q.list_items_on_message(session=session, message_id=message)}
    assert notes == {"SO1": "已重新配送", "SO2": None}

    change(session_factory, fixed, Action.FIX, Status.FIXED, "已重新配送并致电客户")  # a later fix row wins
    with transaction(session_factory) as session:
        assert session.exec(sa_select(Item.fix_note).where(Item.id == fixed)).scalar_one() == "已重新配送并致电客户"


def test_the_fix_note_is_not_loaded_by_other_queries(session_factory) -> None:
    """Deferred: listing items for other purposes pays nothing for it."""
    item_id = add_item(session_factory, "SO1", status=Status.CONFIRMED)
    change(session_factory, item_id, Action.FIX, Status.FIXED, "已恢复订单", at=NOW + timedelta(minutes=1))

    with transaction(session_factory) as session:
        (item,) = q.list_items_by_status(session=session, status=Status.FIXED)
        assert "fix_note" not in item.__dict__
        assert item.fix_note == "已恢复订单"  # loads on demand while the session is open
