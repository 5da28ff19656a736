"""The App Home's queries about legitimate-rejection reports (``storage.home``) on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from test_home_queries import NOW, add_item

from bot.core.lifecycle import Status
from storage import home as store
from storage.db import transaction
from storage.models import RejectionReport


def add_report(session, n: int, *, item_id: int | None = None, decision: str | None = None, minutes: int = 0) -> RejectionReport:
    report = RejectionReport(
        order_no=f"SO{n}", reported_on=NOW.date(), reason="refused", note="", reporter="U1", reporter_role="owner",
        surface="command", created_at=NOW + timedelta(minutes=minutes), item_id=item_id, decision=decision,
    )
    session.add(report)
    session.flush()
    return report


def test_held_reports_are_the_undecided_ones_whose_record_is_held_newest_first(session_factory) -> None:
    with transaction(session_factory) as session:
        held_old = add_report(session, 1, item_id=add_item(session, 1, Status.HELD).id, minutes=0).id
        held_new = add_report(session, 2, item_id=add_item(session, 2, Status.HELD).id, minutes=5).id
        add_report(session, 3, item_id=add_item(session, 3, Status.NEW).id, decision="keep")  # kept
        add_report(session, 4, item_id=add_item(session, 4, Status.VOIDED).id, decision="drop")  # dropped
        add_report(session, 5)  # no record yet
    with transaction(session_factory) as session:
        rows = store.list_held_reports(session=session)
        got = [(r.id, i.order_no) for r, i in rows]
    assert got == [(held_new, "SO2"), (held_old, "SO1")]


def test_change_marks_move_with_a_new_report(session_factory) -> None:
    with transaction(session_factory) as session:
        before = store.change_marks(session=session)
        add_report(session, 1)
    with transaction(session_factory) as session:
        assert store.change_marks(session=session) != before
