"""Queries behind correcting the record, on a real database: SQLite always,
PostgreSQL when ``TEST_DATABASE_URL`` is set."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.core.lifecycle import Status
from storage import queries as q
from storage import record as rec
from storage.db import transaction
from storage.models import DigestMessage, Item

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 27, 10, 0, tzinfo=SHANGHAI)


def add(session_factory, order_no: str, *, day: int = 26, branch: str = "南京分公司", note: str = "", owner: str | None = "大件配送", status: Status = Status.AWAITING) -> int:
    with transaction(session_factory) as session:
        item = Item(
            order_no=order_no, rejected_on=date(2026, 11, day), branch=branch, category="large", status=status,
            owner=owner, note=note, imported_at=NOW, updated_at=NOW,
        )
        session.add(item)
        session.flush()
        return item.id


def search(session_factory, text: str, owners=None, limit: int = 20) -> tuple[list[str], int]:
    with transaction(session_factory) as session:
        found = rec.search_items(session=session, text=text, owners=owners, limit=limit)
        return [i.order_no for i in found.items], found.total


def test_search_matches_order_numbers_branches_and_notes_newest_first(session_factory) -> None:
    add(session_factory, "SO100", day=1, note="客户在杭州")
    add(session_factory, "SO200", day=3, branch="杭州分公司")
    add(session_factory, "SO300", day=2, note="nothing here")
    add(session_factory, "XSO3", day=2)

    assert search(session_factory, "杭州") == (["SO200", "SO100"], 2)
    assert search(session_factory, "so3") == (["XSO3", "SO300"], 2)  # same day: the later record first
    assert search(session_factory, "NOTHING") == (["SO300"], 1)  # any case
    assert search(session_factory, "上海") == ([], 0)


def test_search_gives_the_newest_within_the_limit_and_counts_every_match(session_factory) -> None:
    for day in range(1, 26):
        add(session_factory, f"SO{day:02d}", day=day)

    orders, total = search(session_factory, "SO", limit=20)

    assert total == 25 and orders == [f"SO{day:02d}" for day in range(25, 5, -1)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [("100%", ["SO1"]), ("_x", ["SO2"]), ("a\\b", ["SO3"]), ("%", ["SO1"]), ("_", ["SO2"]), ("\\", ["SO3"])],
)
def test_like_wildcards_in_the_text_match_only_themselves(session_factory, text, expected) -> None:
    add(session_factory, "SO1", note="满意度100%")
    add(session_factory, "SO2", note="code_x")
    add(session_factory, "SO3", note="path a\\b")
    add(session_factory, "SO4", note="满意度1000 codeyx pathab")  # what the unescaped patterns would match

    assert search(session_factory, text)[0] == expected


def test_search_keeps_to_the_owners_given(session_factory) -> None:
    add(session_factory, "SO1", owner="大件配送")
    add(session_factory, "SO2", owner="小件配送")
    add(session_factory, "SO3", owner=None, status=Status.NEW)

    assert search(session_factory, "SO", owners=["小件配送"]) == (["SO2"], 1)
    assert search(session_factory, "SO", owners=[]) == ([], 0)
    assert sorted(search(session_factory, "SO")[0]) == ["SO1", "SO2", "SO3"]


def test_a_reopened_item_gets_its_new_deadline_and_loses_its_decision(session_factory) -> None:
    with transaction(session_factory) as session:
        message = q.create_digest_message(
            session=session, message=DigestMessage(digest_day=NOW.date(), owner="大件配送", channel="C0LOGISTICS", deadline=NOW, created_at=NOW),
        )
    item_id = add(session_factory, "SO1", status=Status.CONFIRMED)
    with transaction(session_factory) as session:
        item = q.get_item(session=session, item_id=item_id)
        item.decided_at, item.deadline, item.digest_message_id = NOW, NOW, message.id
    deadline = NOW + timedelta(days=3)

    with transaction(session_factory) as session:
        rec.set_reopened(session=session, item_id=item_id, deadline=deadline)

    with transaction(session_factory) as session:
        item = q.get_item(session=session, item_id=item_id)
        assert item.deadline == deadline and item.decided_at is None
