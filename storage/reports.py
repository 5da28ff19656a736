"""Queries behind legitimate-rejection reports (keyword-only, in the caller's
session): storing a report once per order, holding the CS records that match
one (``hold_reported``, called by every import path through
``storage.imports.insert_records``), the reviews still to send, and CS's
keep or drop (compare-and-set).

Errors: none of its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from bot.core.lifecycle import Action, Role, Status, Surface
from bot.core.reports import matches, window
from storage import queries as q
from storage.models import Item, RejectionReport

SYSTEM = "system"


def add_report(*, session: Session, report: RejectionReport) -> RejectionReport | None:
    """Store ``report``; None when a report of the same order and day is
    already stored (a concurrent one won: nothing is written)."""
    try:
        with session.begin_nested():
            session.add(report)
            session.flush()
    except IntegrityError:
        return None
    return report


def find_report_near(*, session: Session, order_no: str, day: date) -> RejectionReport | None:
    """The earliest report of ``order_no`` made within the match window of ``day``."""
    first, last = window(day)
    return session.exec(
        select(RejectionReport)
        .where(RejectionReport.order_no == order_no, col(RejectionReport.reported_on) >= first, col(RejectionReport.reported_on) <= last)
        .order_by(RejectionReport.created_at, RejectionReport.id)
    ).first()


def list_items_near(*, session: Session, order_no: str, day: date) -> Sequence[Item]:
    """CS's records of ``order_no`` rejected within the match window of ``day``, voided ones left out."""
    first, last = window(day)
    return session.exec(
        select(Item)
        .where(Item.order_no == order_no, col(Item.rejected_on) >= first, col(Item.rejected_on) <= last,
               col(Item.status) != Status.VOIDED)
        .order_by(Item.rejected_on, Item.id)
    ).all()


def get_report(*, session: Session, report_id: int) -> RejectionReport:
    report = session.get(RejectionReport, report_id)
    if report is None:
        raise q.NotFound(f"report {report_id}")
    return report


def find_report(*, session: Session, report_id: int) -> RejectionReport | None:
    return session.get(RejectionReport, report_id)


def hold_reported(*, session: Session, now: datetime, first_day: date | None = None, last_day: date | None = None) -> list[int]:
    """Hold every new CS record that an unmatched report is about
    (``bot.core.reports.matches``): its status becomes *held* (with its audit
    row) and the report is linked to it. Each report matches one record (the
    one rejected nearest its day), each record one report (the earliest).
    ``first_day``/``last_day``: the rejection dates just imported, to read
    only the reports that can match them. The ids of the records held."""
    where = [col(RejectionReport.item_id).is_(None)]
    if first_day is not None:
        where.append(col(RejectionReport.reported_on) >= window(first_day)[0])
    if last_day is not None:
        where.append(col(RejectionReport.reported_on) <= window(last_day)[1])
    reports = session.exec(select(RejectionReport).where(*where).order_by(RejectionReport.created_at, RejectionReport.id)).all()
    if not reports:
        return []
    linked = select(RejectionReport.item_id).where(col(RejectionReport.item_id).is_not(None))
    candidates = session.exec(
        select(Item.id, Item.order_no, Item.rejected_on)
        .where(col(Item.order_no).in_(sorted({r.order_no for r in reports})), Item.status == Status.NEW,
               col(Item.id).not_in(linked))
        .order_by(Item.rejected_on, Item.id)
    ).all()
    taken: set[int] = set()
    pairs: list[tuple[RejectionReport, int]] = []
    for report in reports:
        near = [
            (abs(report.reported_on - day), item_id) for item_id, order_no, day in candidates
            if order_no == report.order_no and item_id not in taken and matches(report.reported_on, day)
        ]
        if near:
            item_id = min(near)[1]
            taken.add(item_id)
            pairs.append((report, item_id))
    if not pairs:
        return []
    change = q.Change(Action.HOLD, Status.HELD, SYSTEM, Role.SYSTEM, Surface.SCHEDULER, "")
    held = set(q.transition_many(session=session, item_ids=[i for _, i in pairs], expected=Status.NEW, change=change, now=now))
    for report, item_id in pairs:
        if item_id in held:
            session.exec(
                update(RejectionReport).where(col(RejectionReport.id) == report.id, col(RejectionReport.item_id).is_(None))
                .values(item_id=item_id, matched_at=now).execution_options(synchronize_session=False)
            )
    return sorted(held)


def list_unsent_reviews(*, session: Session) -> Sequence[RejectionReport]:
    """Matched reports whose held record CS has not been asked about yet."""
    return session.exec(
        select(RejectionReport)
        .join(Item, col(RejectionReport.item_id) == col(Item.id))
        .where(col(RejectionReport.review_ts).is_(None), col(RejectionReport.decision).is_(None), Item.status == Status.HELD)
        .order_by(RejectionReport.matched_at, RejectionReport.id)
    ).all()


def set_review_message(*, session: Session, report_id: int, channel: str, ts: str, owner: str | None) -> None:
    """Where CS was asked to keep or drop the report's record, and the owner that record routes to."""
    session.exec(
        update(RejectionReport).where(col(RejectionReport.id) == report_id)
        .values(review_channel=channel, review_ts=ts, owner=owner).execution_options(synchronize_session=False)
    )


def decide_report(*, session: Session, report_id: int, decision: str, actor: str, now: datetime) -> bool:
    """CS's keep or drop, once: False when the report was decided already."""
    return session.exec(
        update(RejectionReport).where(col(RejectionReport.id) == report_id, col(RejectionReport.decision).is_(None))
        .values(decision=decision, decided_by=actor, decided_at=now).execution_options(synchronize_session=False)
    ).rowcount == 1


def list_recent_reports(*, session: Session, since: datetime, limit: int) -> Sequence[tuple[RejectionReport, Item | None]]:
    """Reports made at or after ``since``, newest first, each with the record it matched (or None)."""
    return session.exec(
        select(RejectionReport, Item)
        .outerjoin(Item, col(RejectionReport.item_id) == col(Item.id))
        .where(col(RejectionReport.created_at) >= since)
        .order_by(col(RejectionReport.created_at).desc(), col(RejectionReport.id).desc())
        .limit(limit)
    ).all()
