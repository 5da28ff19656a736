"""Queries behind the escalation DM's buttons and ``/reject next``, on a real
database: SQLite always, PostgreSQL when ``TEST_DATABASE_URL`` is set."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from bot.core.lifecycle import Status
from storage import followups as f
from storage import queries as q
from storage.db import transaction
from storage.models import DigestMessage, Item

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 27, 10, 0, tzinfo=SHANGHAI)
FRIDAY, THURSDAY = date(2026, 11, 27), date(2026, 11, 26)


def add_message(session_factory, *, owner: str = "大件配送", day: date = FRIDAY, page: int = 0, ts: str | None = "1.0") -> int:
    with transaction(session_factory) as session:
        message = DigestMessage(digest_day=day, owner=owner, page=page, channel="C0LOGISTICS", ts=ts, deadline=NOW, created_at=NOW)
        return q.create_digest_message(session=session, message=message).id


def add_item(session_factory, order_no: str, message_id: int, *, status: Status = Status.AWAITING, owner: str = "大件配送") -> int:
    with transaction(session_factory) as session:
        item = Item(
            order_no=order_no, rejected_on=THURSDAY, branch="南京分公司", category="large", status=status,
            owner=owner, digest_message_id=message_id, imported_at=NOW, updated_at=NOW,
            decided_at=NOW if status in (Status.CONFIRMED, Status.DEEMED_CONFIRMED) else None,
        )
        session.add(item)
        session.flush()
        return item.id


def test_a_thread_is_an_owner_s_first_message(session_factory) -> None:
    first = add_message(session_factory)
    more = add_message(session_factory, page=1, ts="1.1")

    with transaction(session_factory) as session:
        assert f.find_thread(session=session, thread_id=first).id == first
        assert f.find_thread(session=session, thread_id=more) is None
        assert f.find_thread(session=session, thread_id=9999) is None


def test_a_thread_s_items_in_one_status_come_from_every_page_of_that_day_and_owner(session_factory) -> None:
    first, more = add_message(session_factory), add_message(session_factory, page=1, ts="1.1")
    other_owner = add_message(session_factory, owner="小件配送", ts="2.0")
    other_day = add_message(session_factory, day=THURSDAY, ts="0.5")
    wanted = [add_item(session_factory, "SO1", first), add_item(session_factory, "SO2", more)]
    add_item(session_factory, "SO3", first, status=Status.CONFIRMED)
    add_item(session_factory, "SO4", other_owner, owner="小件配送")
    add_item(session_factory, "SO5", other_day)

    with transaction(session_factory) as session:
        assert f.list_thread_item_ids(session=session, digest_day=FRIDAY, owner="大件配送", status=Status.AWAITING) == wanted


def test_open_threads_of_one_day_and_owner(session_factory) -> None:
    y, z = add_message(session_factory), add_message(session_factory, owner="小件配送", ts="2.0")
    y_thursday = add_message(session_factory, day=THURSDAY, ts="0.5")
    add_item(session_factory, "SO1", y)
    add_item(session_factory, "SO2", y, status=Status.CONFIRMED)
    add_item(session_factory, "SO3", z, owner="小件配送")
    add_item(session_factory, "SO4", y_thursday, status=Status.FIXED)  # nothing open

    with transaction(session_factory) as session:
        assert [t.message.id for t in f.list_open_threads(session=session)] == [y, z]
        (thread,) = f.list_open_threads(session=session, digest_day=FRIDAY, owner="大件配送")
        assert (thread.message.id, thread.awaiting, thread.oldest_unfixed_at) == (y, 1, NOW)
        assert f.find_open_thread(session=session, thread_id=y).message.id == y
        assert f.find_open_thread(session=session, thread_id=y_thursday) is None
        assert f.find_open_thread(session=session, thread_id=9999) is None


def test_a_released_one_shot_key_can_be_recorded_again(session_factory) -> None:
    with transaction(session_factory) as session:
        assert q.record_once(session=session, key="remind:1:U0OPSHEAD:2940000", now=NOW)
    with transaction(session_factory) as session:
        assert not q.record_once(session=session, key="remind:1:U0OPSHEAD:2940000", now=NOW)
        f.release_once(session=session, key="remind:1:U0OPSHEAD:2940000")
    with transaction(session_factory) as session:
        assert q.record_once(session=session, key="remind:1:U0OPSHEAD:2940000", now=NOW)
