"""Queries behind legitimate-rejection reports, on a real database: SQLite
always, PostgreSQL when ``TEST_DATABASE_URL`` is set."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import select
from support import run_together

from bot.core.importing import Record
from bot.core.lifecycle import Status
from bot.core.monthly import Month
from storage import monthly as m
from storage import reports as rp
from storage.db import make_session_factory, transaction
from storage.imports import insert_records
from storage.models import AuditEntry, Item, RejectionReport

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 27, 10, 0, tzinfo=SHANGHAI)


def report(session_factory, order_no: str, *, day: int = 26, at: datetime = NOW, user: str = "U0OWNERZ") -> int | None:
    with transaction(session_factory) as session:
        stored = rp.add_report(session=session, report=RejectionReport(
            order_no=order_no, reported_on=date(2026, 11, day), reason="refused", reporter=user, reporter_role="owner",
            surface="command", created_at=at,
        ))
        return stored.id if stored else None


def record(order_no: str, day: int = 26, *, category: str = "small", branch: str = "杭州分公司") -> Record:
    return Record(
        row=2, order_no=order_no, rejected_on=date(2026, 11, day), branch=branch, category=category, scenario=None,
        customer="", callback_agent="陈静", callback_at=None, note="",
    )


def imported(session_factory, *records: Record, now: datetime = NOW) -> int:
    with transaction(session_factory) as session:
        return insert_records(session=session, records=list(records), batch_id=None, now=now, timezone=SHANGHAI)


def states(session_factory) -> dict[tuple[str, int], str]:
    with transaction(session_factory) as session:
        return {(i.order_no, i.rejected_on.day): i.status for i in session.exec(select(Item)).all()}


def links(session_factory) -> list[tuple[str, int, tuple[str, int] | None]]:
    with transaction(session_factory) as session:
        rows = session.exec(select(RejectionReport).order_by(RejectionReport.id)).all()
        items = {i.id: (i.order_no, i.rejected_on.day) for i in session.exec(select(Item)).all()}
        return [(r.order_no, r.reported_on.day, items.get(r.item_id)) for r in rows]


def test_a_report_round_trips_in_utc_and_one_per_order_and_day(session_factory) -> None:
    assert report(session_factory, "SO1") is not None
    assert report(session_factory, "SO1") is None  # the same order and day: refused by the unique key, nothing written
    assert report(session_factory, "SO1", day=27) is not None  # the service refuses this one itself (find_report_near)
    with transaction(session_factory) as session:
        first = rp.find_report_near(session=session, order_no="SO1", day=date(2026, 11, 30))
        assert first.created_at == NOW and first.created_at.tzinfo is not None
        assert first.reported_on == date(2026, 11, 26)
        assert rp.find_report_near(session=session, order_no="SO1", day=date(2026, 12, 20)) is None
        assert rp.find_report_near(session=session, order_no="SO2", day=date(2026, 11, 26)) is None


def test_two_replicas_reporting_one_order_at_once_store_one_report(session_factory, replica_engine) -> None:
    factories = [session_factory, make_session_factory(replica_engine)] * 3
    ids: list[int | None] = []
    assert run_together(*(lambda f=f: ids.append(report(f, "SO9")) for f in factories)) == []
    assert len([i for i in ids if i is not None]) == 1
    assert len(links(session_factory)) == 1


def test_an_import_holds_the_record_a_report_is_about_with_its_audit_row(session_factory) -> None:
    report(session_factory, "SO1", day=26)
    assert imported(session_factory, record("SO1"), record("SO2")) == 2
    assert states(session_factory) == {("SO1", 26): Status.HELD, ("SO2", 26): Status.NEW}
    assert links(session_factory) == [("SO1", 26, ("SO1", 26))]
    with transaction(session_factory) as session:
        (row,) = session.exec(select(AuditEntry)).all()
        assert (row.action, row.actor, row.from_status, row.to_status, row.at) == ("hold", "system", "new", "held", NOW)
        (matched,) = session.exec(select(RejectionReport)).all()
        assert matched.matched_at == NOW


def test_the_window_is_seven_days_either_way_and_the_nearest_day_wins(session_factory) -> None:
    report(session_factory, "SO1", day=10)
    report(session_factory, "SO2", day=26)
    imported(session_factory, record("SO1", 18), record("SO2", 19), record("SO2", 24), record("SO2", 28))
    assert states(session_factory) == {
        ("SO1", 18): Status.NEW,  # 8 days after its report: another rejection of the order
        ("SO2", 19): Status.NEW,  # 7 days before: within the window, but farther than the others
        ("SO2", 24): Status.HELD,  # 2 days before, as near as 28 is: the earlier-imported record wins
        ("SO2", 28): Status.NEW,  # one report holds one record
    }


def test_a_record_imported_again_or_kept_is_not_held_twice_and_one_report_holds_one_record(session_factory) -> None:
    report(session_factory, "SO1", day=26)
    imported(session_factory, record("SO1"))
    assert imported(session_factory, record("SO1")) == 0  # the same file again adds nothing
    imported(session_factory, record("SO1", 27))  # another day of the order: the report is taken
    assert states(session_factory) == {("SO1", 26): Status.HELD, ("SO1", 27): Status.NEW}
    with transaction(session_factory) as session:
        item = session.exec(select(Item).where(Item.rejected_on == date(2026, 11, 26))).one()
        item.status = Status.NEW  # as after Keep
    imported(session_factory, record("SO3"))
    assert states(session_factory)[("SO1", 26)] == Status.NEW  # its report is linked: never held again


def test_a_report_is_decided_once_even_by_two_replicas_at_once(session_factory, replica_engine) -> None:
    report_id = report(session_factory, "SO1")
    results: list[bool] = []

    def decide(factory, decision: str):
        def run() -> None:
            with transaction(factory) as session:
                results.append(rp.decide_report(session=session, report_id=report_id, decision=decision, actor="U0CSLEAD", now=NOW))
        return run

    other = make_session_factory(replica_engine)
    assert run_together(decide(session_factory, "keep"), decide(other, "drop"), decide(other, "keep")) == []
    assert sorted(results) == [False, False, True]
    with transaction(session_factory) as session:
        decided = rp.get_report(session=session, report_id=report_id)
        assert decided.decision in ("keep", "drop") and decided.decided_at == NOW


def test_unsent_reviews_are_those_of_held_records_not_asked_about(session_factory) -> None:
    first, second = report(session_factory, "SO1"), report(session_factory, "SO2")
    imported(session_factory, record("SO1"), record("SO2"))
    with transaction(session_factory) as session:
        assert [r.id for r in rp.list_unsent_reviews(session=session)] == [first, second]
        rp.set_review_message(session=session, report_id=first, channel="D1", ts="1.0", owner="小件配送")
    with transaction(session_factory) as session:
        assert [r.id for r in rp.list_unsent_reviews(session=session)] == [second]
        assert rp.get_report(session=session, report_id=first).owner == "小件配送"


def test_load_reported_attributes_each_report_to_the_owner_its_record_routes_to(session_factory) -> None:
    report(session_factory, "SO1", day=26)
    report(session_factory, "SO2", day=26)
    report(session_factory, "SO3", day=26)
    report(session_factory, "SO4", day=26, at=NOW)
    imported(session_factory, record("SO1"), record("SO2", category="large"), record("SO3", branch="上海分公司"), record("SO4"))
    with transaction(session_factory) as session:
        (first,) = [r for r in session.exec(select(RejectionReport)).all() if r.order_no == "SO1"]
        rp.set_review_message(session=session, report_id=first.id, channel="D1", ts="1.0", owner="小件配送")
        rp.decide_report(session=session, report_id=first.id, decision="drop", actor="U0CSLEAD", now=NOW + timedelta(hours=1))

    def route(category: str, branch: str) -> str | None:
        return {"large": "大件配送"}.get(category) or ("小件配送" if branch == "杭州分公司" else None)

    with transaction(session_factory) as session:
        got = m.load_reported(session, month=Month(2026, 11), as_of=NOW + timedelta(days=1), route=route)
        before = m.load_reported(session, month=Month(2026, 11), as_of=NOW - timedelta(minutes=1), route=route)
        december = m.load_reported(session, month=Month(2026, 12), as_of=NOW + timedelta(days=1), route=route)
    assert [(r.order_no, r.owner, r.decision) for r in got] == [
        ("SO1", "小件配送", "drop"), ("SO2", "大件配送", None), ("SO4", "小件配送", None),  # SO3: no owner covers it
    ]
    assert got[0].decided_at == NOW + timedelta(hours=1) and got[0].agent == "陈静"
    assert before == [] and december == []
