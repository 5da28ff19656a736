"""Storage of imports: the bulk insert, known keys, batches, one transaction.

Runs on SQLite, and on PostgreSQL when ``TEST_DATABASE_URL`` is set.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import func, select

from bot.core.importing import MAX_LENGTHS, Record
from storage.db import transaction
from storage.imports import create_batch, insert_records, list_known_keys, set_batch_counts
from storage.models import ImportBatch, Item

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 27, 0, 30, tzinfo=UTC)


def record(order_no: str, day: int = 26, **changes) -> Record:
    fields = dict(
        row=2, order_no=order_no, rejected_on=date(2026, 11, day), branch="杭州分公司", category="small",
        scenario="received", customer="吴先生 15140260662", callback_agent="陈静",
        callback_at=datetime(2026, 11, 27, 9, 44), note="客户确认已收到商品",
    )
    fields.update(changes)
    return Record(**fields)


def insert(session_factory, records) -> int:
    with transaction(session_factory) as session:
        return insert_records(session=session, records=records, batch_id=None, now=NOW, timezone=SHANGHAI)


def item_count(session_factory) -> int:
    with session_factory() as session:
        return session.exec(select(func.count()).select_from(Item)).one()


def test_insert_adds_items_in_status_new(session_factory):
    assert insert(session_factory, [record("SO1"), record("SO2", scenario=None, callback_at=None)]) == 2

    with session_factory() as session:
        items = session.exec(select(Item).order_by(Item.order_no)).all()
    assert [(i.order_no, i.rejected_on, i.status, i.scenario) for i in items] == [
        ("SO1", date(2026, 11, 26), "new", "received"),
        ("SO2", date(2026, 11, 26), "new", None),
    ]
    assert all(i.imported_at == NOW and i.updated_at == NOW for i in items)
    assert (items[0].branch, items[0].category, items[0].customer, items[0].callback_agent, items[0].note) == (
        "杭州分公司", "small", "吴先生 15140260662", "陈静", "客户确认已收到商品",
    )
    assert items[0].owner is None and items[0].digest_message_id is None


def test_callback_time_is_stored_as_aware_utc(session_factory):
    records = [record("SO1", callback_at=datetime(2026, 11, 27, 14, 33)), record("SO2", callback_at=None)]
    insert(session_factory, records)

    with session_factory() as session:
        stored = dict(session.exec(select(Item.order_no, Item.callback_at)).all())
    assert stored["SO1"] == datetime(2026, 11, 27, 6, 33, tzinfo=UTC)
    assert stored["SO1"].utcoffset().total_seconds() == 0
    assert stored["SO2"] is None


def test_an_aware_callback_time_keeps_its_offset(session_factory):
    moment = datetime(2026, 11, 27, 14, 33, tzinfo=ZoneInfo("Asia/Tokyo"))
    insert(session_factory, [record("SO1", callback_at=moment)])

    with session_factory() as session:
        assert session.exec(select(Item.callback_at)).one() == datetime(2026, 11, 27, 5, 33, tzinfo=UTC)


def test_inserting_twice_adds_nothing(session_factory):
    records = [record(f"SO{i}") for i in range(5)]
    assert insert(session_factory, records) == 5
    assert insert(session_factory, records) == 0
    assert item_count(session_factory) == 5


def test_counts_only_what_is_new(session_factory):
    insert(session_factory, [record("SO1"), record("SO2")])
    changed = record("SO1", branch="南京分公司", note="another note")  # same key: still known

    assert insert(session_factory, [changed, record("SO2", day=25), record("SO3")]) == 2
    assert item_count(session_factory) == 4
    with session_factory() as session:
        assert session.exec(select(Item.branch).where(Item.order_no == "SO1")).one() == "杭州分公司"


def test_a_record_stored_through_the_orm_is_known(session_factory):
    with transaction(session_factory) as session:
        session.add(Item(order_no="SO1", rejected_on=date(2026, 11, 26), branch="杭州分公司", category="small",
                         status="awaiting", imported_at=NOW, updated_at=NOW))
    assert insert(session_factory, [record("SO1"), record("SO2")]) == 1
    with session_factory() as session:
        assert list_known_keys(session=session, keys=[("SO1", date(2026, 11, 26))]) == {("SO1", date(2026, 11, 26))}


def test_nothing_to_insert(session_factory):
    assert insert(session_factory, []) == 0


def test_a_large_import(session_factory):
    records = [record(f"SO{i:07d}", day=1 + i % 28) for i in range(5_000)]
    assert insert(session_factory, records) == 5_000
    assert insert(session_factory, [*records[-100:], record("SO-NEW")]) == 1

    with session_factory() as session:
        keys = [r.key for r in records[:2_500]] + [("SO-UNKNOWN", date(2026, 11, 26)), ("SO0000000", date(2026, 11, 2))]
        known = list_known_keys(session=session, keys=keys)
    assert known == {r.key for r in records[:2_500]}


def test_everything_rolls_back_when_the_transaction_fails(session_factory):
    with pytest.raises(RuntimeError), transaction(session_factory) as session:
        batch = create_batch(session=session, filename="c.csv", sha256="0" * 64, actor="U0CS0001", now=NOW)
        insert_records(session=session, records=[record("SO1"), record("SO2")], batch_id=batch.id, now=NOW,
                       timezone=SHANGHAI)
        raise RuntimeError("crash after the insert")

    assert item_count(session_factory) == 0
    with session_factory() as session:
        assert session.exec(select(ImportBatch)).all() == []


def test_batch_and_its_counts(session_factory):
    with transaction(session_factory) as session:
        batch = create_batch(session=session, filename="callbacks.csv", sha256="ab" * 32, actor="U0CS0001", now=NOW)
        insert_records(session=session, records=[record("SO1")], batch_id=batch.id, now=NOW, timezone=SHANGHAI)
        set_batch_counts(session=session, batch=batch, added=1, skipped=3, rejected=2)
        batch_id = batch.id

    with session_factory() as session:
        stored = session.get(ImportBatch, batch_id)
        item = session.exec(select(Item)).one()
    assert (stored.filename, stored.actor, stored.imported_at) == ("callbacks.csv", "U0CS0001", NOW)
    assert (stored.added, stored.skipped, stored.rejected) == (1, 3, 2)
    assert item.batch_id == batch_id


def test_parser_length_limits_match_the_columns():
    columns = Item.__table__.c
    assert {name: columns[name].type.length for name in MAX_LENGTHS} == MAX_LENGTHS
