"""Keeping less (issue 7, point 7): a closed item's customer name and phone —
in its customer cell, its callback note and the notes of its audit rows and
penalties — are masked in the database ``[privacy] retention_days`` after it
closed, by a job of the ticker; the rows stay. On SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta
from types import SimpleNamespace

import pytest
from conftest import ROUTING, at
from sqlmodel import Session, select
from support import run_together

from bot.core.routing import Privacy
from bot.services.deps import RoutingHolder
from bot.services.retention import CLOSED, mask_expired
from storage.db import make_session_factory
from storage.models import AuditEntry, Item, Penalty

NOW = at("2027-12-01 10:00")
CUSTOMER = "张三丰 13812341234"
NOTE = "客户张三丰先生(电话138-1234-1234)称已收货，三丰说配送员没敲门"
NOTE_MASKED = "客户张先生(电话138****1234)称已收货，张*说配送员没敲门"
REASON = "已致电张三丰 13812341234，客户确认收到货"
REASON_MASKED = "已致电张* 138****1234，客户确认收到货"


@pytest.fixture
def routing():
    return replace(ROUTING, privacy=Privacy(retention_days=365))


def add_item(session: Session, n: int, *, status: str, closed: datetime, customer: str = CUSTOMER, note: str = NOTE) -> Item:
    item = Item(
        order_no=f"SO2026112600{n:04d}", rejected_on=date(2026, 11, 26), branch="杭州分公司", category="large",
        customer=customer, callback_agent="王丽", note=note, status=status, owner="大件配送",
        imported_at=closed - timedelta(days=2), updated_at=closed,
    )
    session.add(item)
    session.flush()
    return item


def add_history(session: Session, item: Item) -> None:
    """A dispute with a reason naming the customer, CS's overrule, a fix note, a penalty."""
    for action, old, new, note in (
        ("dispute", "awaiting", "disputed", REASON),
        ("uphold", "disputed", "withdrawn", "客户张三丰记错了日期"),
        ("post", "new", "awaiting", ""),
    ):
        session.add(AuditEntry(item_id=item.id, at=item.updated_at, actor="U0OWNERY", role="owner", surface="command",
                               action=action, from_status=old, to_status=new, note=note))
    session.add(Penalty(item_id=item.id, kind="cs_accuracy", person="王丽", amount=50, at=item.updated_at, note="张三丰 13812341234 的单"))


def load(session_factory, item_id: int) -> tuple[Item, list[AuditEntry], list[Penalty]]:
    with session_factory() as session:
        item = session.get(Item, item_id)
        audit = session.exec(select(AuditEntry).where(AuditEntry.item_id == item_id).order_by(AuditEntry.id)).all()
        penalties = session.exec(select(Penalty).where(Penalty.item_id == item_id)).all()
        return item, list(audit), list(penalties)


def test_closed_means_fixed_withdrawn_or_voided() -> None:
    assert {str(s) for s in CLOSED} == {"fixed", "withdrawn", "voided"}


def test_closed_items_are_masked_a_year_after_closing_in_the_database_too(bot, session_factory, clock) -> None:
    with session_factory() as session, session.begin():
        fixed = add_item(session, 1, status="fixed", closed=NOW - timedelta(days=400))
        withdrawn = add_item(session, 2, status="withdrawn", closed=NOW - timedelta(days=365, minutes=1))
        add_history(session, withdrawn)
        recent = add_item(session, 3, status="fixed", closed=NOW - timedelta(days=364))
        open_ = [add_item(session, 4 + i, status=s, closed=NOW - timedelta(days=800)) for i, s in
                 enumerate(["new", "awaiting", "confirmed", "deemed_confirmed", "disputed"])]
        ids = [fixed.id, withdrawn.id, recent.id, *(i.id for i in open_)]
    clock.set(NOW)

    problems = bot.services.tick()  # the ticker's own job list runs it
    assert problems["retention"] is None

    for item_id in ids[:2]:
        item, _, _ = load(session_factory, item_id)
        assert item.customer == "张* 138****1234"
        assert item.note == NOTE_MASKED
        assert item.redacted_at == NOW
    item, audit, penalties = load(session_factory, withdrawn.id)
    assert item.updated_at == NOW - timedelta(days=365, minutes=1)  # "closed at" and the digest's "by whom, when" stay
    assert [(a.action, a.note) for a in audit] == [  # the audit rows stay, their free text masked
        ("dispute", REASON_MASKED), ("uphold", "客户张*记错了日期"), ("post", ""),
    ]
    assert [p.note for p in penalties] == ["张* 138****1234 的单"]
    for item_id in ids[2:]:  # closed less than a year ago, or never closed: untouched
        item, _, _ = load(session_factory, item_id)
        assert (item.customer, item.note, item.redacted_at) == (CUSTOMER, NOTE, None)


def test_the_job_is_idempotent(bot, session_factory) -> None:
    with session_factory() as session, session.begin():
        item = add_item(session, 1, status="fixed", closed=NOW - timedelta(days=400))
        add_history(session, item)
    deps = bot.services.deps
    assert mask_expired(deps, now=NOW).masked == 1
    first = load(session_factory, item.id)
    assert mask_expired(deps, now=NOW + timedelta(days=1)).masked == 0
    again = load(session_factory, item.id)
    assert again[0].redacted_at == NOW  # not taken again
    assert (again[0].customer, again[0].note) == (first[0].customer, first[0].note)
    assert [a.note for a in again[1]] == [a.note for a in first[1]]


def test_a_backlog_is_masked_in_batches_oldest_first(bot, session_factory) -> None:
    with session_factory() as session, session.begin():
        items = [add_item(session, n, status="fixed", closed=NOW - timedelta(days=1000 - n)) for n in range(25)]
    deps = bot.services.deps
    reports = [mask_expired(deps, now=NOW, batch=10) for _ in range(4)]
    assert [(r.masked, r.more) for r in reports] == [(10, True), (10, True), (5, False), (0, False)]
    with session_factory() as session:
        order = session.exec(select(Item.id).order_by(Item.redacted_at, Item.updated_at)).all()
    assert order == [i.id for i in items]


def test_retention_days_come_from_the_routing_file(bot, session_factory) -> None:
    with session_factory() as session, session.begin():
        item = add_item(session, 1, status="fixed", closed=NOW - timedelta(days=31))
    deps = replace(bot.services.deps, holder=RoutingHolder(replace(ROUTING, privacy=Privacy(retention_days=30))))
    assert mask_expired(deps, now=NOW).masked == 1
    assert load(session_factory, item.id)[0].customer == "张* 138****1234"


def test_two_replicas_at_once_mask_each_item_once(bot, session_factory, replica_engine) -> None:
    with session_factory() as session, session.begin():
        items = [add_item(session, n, status="withdrawn", closed=NOW - timedelta(days=400)) for n in range(40)]
        for item in items:
            add_history(session, item)
    here = bot.services.deps
    there = replace(here, session_factory=make_session_factory(replica_engine))
    reports = []
    errors = run_together(lambda: reports.append(mask_expired(here, now=NOW)), lambda: reports.append(mask_expired(there, now=NOW)))
    assert errors == []
    assert sum(r.masked for r in reports) == 40
    for item in items:
        masked, audit, penalties = load(session_factory, item.id)
        assert masked.customer == "张* 138****1234"
        assert audit[0].note == REASON_MASKED
        assert penalties[0].note == "张* 138****1234 的单"


def test_an_item_changed_after_it_was_read_is_left_for_the_next_run(bot, session_factory) -> None:
    """The masking applies only to the row as read: a row that moved on is not overwritten."""
    from storage import retention as rt

    with session_factory() as session, session.begin():
        item = add_item(session, 1, status="fixed", closed=NOW - timedelta(days=400))
    with session_factory() as session, session.begin():
        [due] = rt.list_due(session=session, statuses=["fixed"], closed_before=NOW, limit=10)
        as_read = SimpleNamespace(id=due.id, status="withdrawn")  # what a job overtaken since had read
        assert rt.redact_item(session=session, item=as_read, customer="x", note="y", now=NOW) is False
    assert load(session_factory, item.id)[0].customer == CUSTOMER
