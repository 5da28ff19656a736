"""Queries behind the escalation DM's buttons and ``/reject next``, on a real
database: SQLite always, PostgreSQL when ``TEST_DATABASE_URL`` is set."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import event

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


def test_with_planner_statistics_the_sweep_reads_open_items_from_their_index_not_the_whole_table(engine, session_factory) -> None:
    """SQLite with ``ANALYZE`` takes one status for a share of the table
    (its average rows per value) and would rather scan it whole; the open
    items' partial index (its condition written in every query) keeps each
    query of the sweep on open items a lookup, however long the history."""
    first = add_message(session_factory)
    overdue = add_item(session_factory, "SO-open", first)
    add_item(session_factory, "SO-disputed", first, status=Status.DISPUTED)
    with transaction(session_factory) as session:  # a history: 3,000 closed items on 120 old messages
        session.get(Item, overdue).deadline = NOW
        old = [DigestMessage(digest_day=date.fromordinal(739000 + n), owner="大件配送", page=0, channel="C0LOGISTICS", ts=f"9.{n}", deadline=NOW, created_at=NOW) for n in range(120)]
        session.add_all(old)
        session.flush()
        session.add_all(
            Item(order_no=f"SO{n:06d}", rejected_on=THURSDAY, branch="南京分公司", category="large", status=(Status.FIXED, Status.WITHDRAWN, Status.VOIDED)[n % 3],
                 owner="大件配送", digest_message_id=old[n % 120].id, imported_at=NOW, updated_at=NOW)
            for n in range(3_000)
        )  # fmt: skip
    statements: list[tuple[str, object]] = []

    def grab(conn, cursor, statement, parameters, context, executemany) -> None:
        statements.append((statement, parameters))

    with engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE")
    event.listen(engine, "before_cursor_execute", grab)
    try:
        with transaction(session_factory) as session:
            assert [i.order_no for i in f.list_overdue_items(session=session, now=NOW)] == ["SO-open"]
            assert [i.order_no for i in f.list_disputed_items(session=session)] == ["SO-disputed"]
            assert [t.message.id for t in f.list_open_threads(session=session)] == [first]
            assert len(f.list_open_posted_items(session=session)) == 2
    finally:
        event.remove(engine, "before_cursor_execute", grab)
    reads = [(s, p) for s, p in statements if s.lstrip().upper().startswith("SELECT") and "FROM item" in s]
    assert len(reads) == 4
    with engine.connect() as conn:
        cursor = conn.connection.cursor()
        for statement, params in reads:
            if engine.dialect.name == "sqlite":
                cursor.execute("EXPLAIN QUERY PLAN " + statement, params)
                plan = " | ".join(row[3] for row in cursor.fetchall())
            else:
                cursor.execute("EXPLAIN " + statement, params)
                plan = " | ".join(row[0] for row in cursor.fetchall())
            assert "SCAN item" not in plan and "Seq Scan on item" not in plan, (statement, plan)
