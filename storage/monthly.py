"""Queries behind the monthly notice (keyword-only, in the caller's session):
a month's items with their audit rows, the escalations sent, the penalties
booked — each cut at the notice's ``as_of``.

Errors: none of its own.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import func, update
from sqlmodel import Session, col, select

from bot.core.followup import key_owner
from bot.core.monthly import AuditRow, BookedPenalty, Escalation, Month, MonthItem, ReportedRejection
from storage.models import AuditEntry, DigestMessage, FollowUp, Item, MonthlyNotice, Penalty, RejectionReport

ESCALATE = "escalate"  # bot.core.followup.StepKind.ESCALATE
# The owner an item counts for: whom its digest message was posted to (a rename
# later hands the thread over in ``owner``, not in ``posted_owner``); rows made
# before the column existed have it filled by its migration.
POSTED_OWNER = func.coalesce(DigestMessage.posted_owner, DigestMessage.owner)


def _local_midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)


def load_month(
    session: Session,
    *,
    month: Month,
    as_of: datetime,
    tz: ZoneInfo,
    top_level: Callable[[str], int | None] = lambda owner: None,
) -> tuple[list[MonthItem], list[Escalation], list[BookedPenalty]]:
    """The month's items (those whose digest message is for a day of
    ``month``, oldest day first) each with its audit rows at or before
    ``as_of``; the escalations about owners' threads sent in the month (by
    local date in ``tz``) and at or before ``as_of``; and the penalties
    booked on the month's items at or before ``as_of``. Three queries.

    An escalation's owner is the owner its ladder was for (``key_owner``),
    else the owner its thread's pages name; it is ``top`` when its level is
    ``top_level(owner)`` (the last level of that owner's chain; None: unknown,
    never top)."""
    # From the month's messages to their items (index on the day, then on the
    # item's message): never a scan of every item, however many there are.
    month_messages = select(DigestMessage.id).where(DigestMessage.digest_day >= month.first_day, DigestMessage.digest_day <= month.last_day)
    month_ids = select(Item.id).where(col(Item.digest_message_id).in_(month_messages))
    history: dict[int, list[AuditRow]] = defaultdict(list)
    for row in session.exec(
        select(AuditEntry)
        .where(col(AuditEntry.item_id).in_(month_ids), col(AuditEntry.at) <= as_of)
        .order_by(AuditEntry.item_id, AuditEntry.at, AuditEntry.id)
    ).all():
        history[row.item_id].append(AuditRow(
            id=row.id, at=row.at, actor=row.actor, role=row.role, surface=row.surface, action=row.action,
            from_status=row.from_status, to_status=row.to_status, note=row.note,
        ))
    items = [
        MonthItem(
            id=item.id, order_no=item.order_no, rejected_on=item.rejected_on, branch=item.branch, category=item.category,
            customer=item.customer, callback_agent=item.callback_agent, note=item.note, owner=owner, digest_day=day,
            history=tuple(history.get(item.id, ())),
        )
        for item, owner, day in session.exec(
            select(Item, POSTED_OWNER, DigestMessage.digest_day)
            .join(DigestMessage, col(Item.digest_message_id) == col(DigestMessage.id))
            .where(col(Item.digest_message_id).in_(month_messages))
            .where(DigestMessage.digest_day >= month.first_day, DigestMessage.digest_day <= month.last_day)
            .order_by(DigestMessage.digest_day, POSTED_OWNER, Item.id)
        ).all()
    ]

    start, end = _local_midnight(month.first_day, tz), _local_midnight(month.next().first_day, tz)
    escalations = []
    for follow_up, named in session.exec(
        select(FollowUp, POSTED_OWNER)
        .join(DigestMessage, col(FollowUp.thread_id) == col(DigestMessage.id))
        .where(
            FollowUp.kind == ESCALATE, col(FollowUp.ts).is_not(None), col(FollowUp.sent_at) >= start,
            col(FollowUp.sent_at) < end, col(FollowUp.sent_at) <= as_of,
        )
        .order_by(FollowUp.sent_at, FollowUp.id)
    ).all():
        owner = key_owner(follow_up.key) or named
        escalations.append(Escalation(
            owner=owner, level=follow_up.level, top=follow_up.level == top_level(owner),
            recipient=follow_up.recipient, sent_at=follow_up.sent_at,
        ))

    penalties = [
        BookedPenalty(item_id=p.item_id, kind=p.kind, person=p.person, amount=p.amount, at=p.at)
        for p in session.exec(
            select(Penalty).where(col(Penalty.item_id).in_(month_ids), col(Penalty.at) <= as_of).order_by(Penalty.at, Penalty.id)
        ).all()
    ]
    return items, escalations, penalties


def load_reported(
    session: Session, *, month: Month, as_of: datetime, route: Callable[[str, str], str | None] = lambda category, branch: None,
) -> list[ReportedRejection]:
    """The reports that matched a CS record rejected in ``month`` at or
    before ``as_of`` (``bot.core.monthly.ReportedRejection``), each with the
    owner that record routes to: the owner its digest message was posted to,
    else the one fixed when CS was asked to keep or drop it, else
    ``route(category, branch)`` (the routing now); a record no owner covers
    is left out. One query."""
    rows = session.exec(
        select(RejectionReport, Item, DigestMessage.owner)
        .join(Item, col(RejectionReport.item_id) == col(Item.id))
        .outerjoin(DigestMessage, col(Item.digest_message_id) == col(DigestMessage.id))
        .where(col(RejectionReport.matched_at) <= as_of, col(Item.rejected_on) >= month.first_day, col(Item.rejected_on) <= month.last_day)
        .where(col(Item.id).in_(select(RejectionReport.item_id).where(col(RejectionReport.matched_at) <= as_of)))  # from the reports: no scan of every item
        .order_by(RejectionReport.matched_at, RejectionReport.id)
    ).all()
    reported = []
    for report, item, posted_to in rows:
        owner = posted_to or report.owner or route(item.category, item.branch)
        if not owner:
            continue
        reported.append(ReportedRejection(
            owner=owner, order_no=item.order_no, rejected_on=item.rejected_on, reported_at=report.created_at,
            matched_at=report.matched_at, agent=item.callback_agent, customer=item.customer, decision=report.decision,
            decided_at=report.decided_at, decided_by=report.decided_by or "",
        ))
    return reported


def has_items(*, session: Session, month: Month) -> bool:
    """Whether any digest of a day of ``month`` had items (the ticker posts no notice of an empty month)."""
    return session.exec(
        select(Item.id)
        .join(DigestMessage, col(Item.digest_message_id) == col(DigestMessage.id))
        .where(DigestMessage.digest_day >= month.first_day, DigestMessage.digest_day <= month.last_day)
        .limit(1)
    ).first() is not None


# --- the notices posted -----------------------------------------------------------


def create_notice(*, session: Session, notice: MonthlyNotice) -> MonthlyNotice:
    session.add(notice)
    session.flush()
    return notice


def find_notice(*, session: Session, month: Month, version: int) -> MonthlyNotice | None:
    return session.exec(
        select(MonthlyNotice).where(MonthlyNotice.month == str(month), MonthlyNotice.version == version)
    ).first()


def find_latest_notice(*, session: Session, month: Month, posted: bool = False) -> MonthlyNotice | None:
    """The month's notice of the highest version (only among those posted, with ``posted``)."""
    stmt = select(MonthlyNotice).where(MonthlyNotice.month == str(month))
    if posted:
        stmt = stmt.where(col(MonthlyNotice.ts).is_not(None))
    return session.exec(stmt.order_by(col(MonthlyNotice.version).desc())).first()


def set_notice_posted(*, session: Session, notice_id: int, ts: str, now: datetime) -> None:
    session.exec(update(MonthlyNotice).where(col(MonthlyNotice.id) == notice_id).values(ts=ts, posted_at=now))
