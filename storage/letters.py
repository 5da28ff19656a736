"""Queries behind the work contact letter (keyword-only, in the caller's
session): the letters and their events, the per-year numbering, and the
rows a letter's facts and its K-days trigger are read from.

Every change of a letter's status is a compare-and-set (``WHERE status =
expected``): two clicks, or a click and the ticker, cannot both win.

Errors: ``NotFound`` (``get_letter``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import func, update
from sqlmodel import Session, col, select

from bot.core.followup import key_owner
from bot.core.letters import LetterStatus, UnfixedItem
from bot.core.lifecycle import Status
from storage.models import DigestMessage, FollowUp, Item, Letter, LetterCounter, LetterEvent
from storage.monthly import POSTED_OWNER
from storage.queries import NotFound, dialect_insert


def create_letter(*, session: Session, letter: Letter) -> Letter | None:
    """Insert a draft; None when its ``draft_key`` is taken (the owner's
    letter of that month exists already)."""
    values = {c.name: getattr(letter, c.name) for c in Letter.__table__.columns if c.name != "id"}
    stmt = (
        dialect_insert(session, Letter.__table__)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["draft_key"])
        .returning(Letter.id)
    )
    row = session.exec(stmt).first()
    return None if row is None else session.get(Letter, row[0])


def find_letter(*, session: Session, letter_id: int) -> Letter | None:
    letter = session.get(Letter, letter_id)
    if letter is not None:
        session.refresh(letter)
    return letter


def get_letter(*, session: Session, letter_id: int) -> Letter:
    letter = find_letter(session=session, letter_id=letter_id)
    if letter is None:
        raise NotFound(f"letter {letter_id}")
    return letter


def find_letter_by_key(*, session: Session, draft_key: str) -> Letter | None:
    return session.exec(select(Letter).where(Letter.draft_key == draft_key)).first()


def list_letters(*, session: Session, statuses: Iterable[LetterStatus] | None = None, owner: str | None = None, month: str | None = None) -> Sequence[Letter]:
    """Letters, oldest first; of ``statuses``, ``owner`` and ``month`` when given."""
    stmt = select(Letter).order_by(Letter.id)
    if statuses is not None:
        stmt = stmt.where(col(Letter.status).in_([str(s) for s in statuses]))
    if owner is not None:
        stmt = stmt.where(Letter.owner == owner)
    if month is not None:
        stmt = stmt.where(Letter.month == month)
    return session.exec(stmt).all()


def count_letters_of(*, session: Session, owner: str, month: str) -> int:
    return session.exec(select(func.count()).select_from(Letter).where(Letter.owner == owner, Letter.month == month)).one()


def add_event(*, session: Session, letter_id: int, at: datetime, actor: str, action: str, note: str = "") -> None:
    session.add(LetterEvent(letter_id=letter_id, at=at, actor=actor, action=action, note=note))
    session.flush()


def list_events(*, session: Session, letter_id: int) -> Sequence[LetterEvent]:
    return session.exec(select(LetterEvent).where(LetterEvent.letter_id == letter_id).order_by(LetterEvent.id)).all()


def _move(session: Session, letter_id: int, expected: Iterable[LetterStatus], **values) -> bool:
    """Compare-and-set: change the letter only while its status is one of ``expected``."""
    return session.exec(
        update(Letter).where(col(Letter.id) == letter_id, col(Letter.status).in_([str(s) for s in expected])).values(**values)
    ).rowcount == 1


def edit_draft(*, session: Session, letter_id: int, improvement: str, reply_days: int, facts: str) -> bool:
    return _move(session, letter_id, [LetterStatus.DRAFT], improvement=improvement, reply_days=reply_days, facts=facts)


def discard_draft(*, session: Session, letter_id: int, actor: str, now: datetime) -> bool:
    return _move(session, letter_id, [LetterStatus.DRAFT], status=LetterStatus.DISCARDED, discarded_by=actor, discarded_at=now)


def next_number(*, session: Session, year: int) -> int:
    """The year's next sequence number, taken in the caller's transaction:
    the counter row's update locks it (PostgreSQL) or the write lock is held
    (SQLite, ``BEGIN IMMEDIATE``) until commit, so a racing approval waits
    and then takes the next one; a rollback gives the number back."""
    session.exec(
        dialect_insert(session, LetterCounter.__table__).values(year=year, last=0).on_conflict_do_nothing(index_elements=["year"])
    )
    return session.exec(
        update(LetterCounter).where(col(LetterCounter.year) == year).values(last=LetterCounter.last + 1).returning(LetterCounter.last)
    ).one()[0]


def approve_letter(*, session: Session, letter_id: int, actor: str, now: datetime) -> bool:
    """Draft → approved (who, when); False when it is no draft any more."""
    return _move(session, letter_id, [LetterStatus.DRAFT], status=LetterStatus.APPROVED, approved_by=actor, approved_at=now)


def set_issued(
    *, session: Session, letter_id: int, number: str, year: int, seq: int, facts: str, reply_by, docx: bytes, docx_sha256: str, pdf: bytes, pdf_sha256: str,
) -> None:
    """The approved letter's number, final facts and files (in the approving transaction)."""
    session.exec(
        update(Letter).where(col(Letter.id) == letter_id).values(
            number=number, year=year, seq=seq, facts=facts, reply_by=reply_by,
            docx=docx, docx_sha256=docx_sha256, pdf=pdf, pdf_sha256=pdf_sha256,
        )
    )


def set_draft_message(*, session: Session, letter_id: int, channel: str, ts: str) -> None:
    session.exec(update(Letter).where(col(Letter.id) == letter_id).values(draft_channel=channel, draft_ts=ts))


def set_announced(*, session: Session, letter_id: int, ts: str) -> None:
    session.exec(update(Letter).where(col(Letter.id) == letter_id).values(announced_ts=ts))


def set_delivered(*, session: Session, letter_id: int, now: datetime) -> bool:
    return _move(session, letter_id, [LetterStatus.APPROVED], status=LetterStatus.DELIVERED, delivered_at=now, last_error="")


def record_failure(*, session: Session, letter_id: int, error: str) -> None:
    session.exec(update(Letter).where(col(Letter.id) == letter_id).values(attempts=Letter.attempts + 1, last_error=error[:500]))


def set_digest_ts(*, session: Session, letter_id: int, ts: str) -> None:
    session.exec(update(Letter).where(col(Letter.id) == letter_id).values(digest_ts=ts))


def acknowledge_letter(*, session: Session, letter_id: int, user: str, now: datetime) -> bool:
    """Delivered or overdue → acknowledged; False when it already was (or is not delivered)."""
    return _move(
        session, letter_id, [LetterStatus.DELIVERED, LetterStatus.OVERDUE],
        status=LetterStatus.ACKNOWLEDGED, acknowledged_at=now, acknowledged_by=user,
    )


def record_early_ack(*, session: Session, letter_id: int, user: str, now: datetime) -> bool:
    """An acknowledgment while the delivery is unfinished (still approved):
    who and when, the status unchanged (``settle_early_ack`` moves it once
    delivered). False when the letter is no longer approved or one was
    recorded before."""
    return session.exec(
        update(Letter)
        .where(col(Letter.id) == letter_id, col(Letter.status) == str(LetterStatus.APPROVED), col(Letter.acknowledged_at).is_(None))
        .values(acknowledged_at=now, acknowledged_by=user)
    ).rowcount == 1


def settle_early_ack(*, session: Session, letter_id: int) -> bool:
    """Delivered → acknowledged, keeping who and when, when an
    acknowledgment came before the delivery completed (``record_early_ack``)."""
    return session.exec(
        update(Letter)
        .where(col(Letter.id) == letter_id, col(Letter.status) == str(LetterStatus.DELIVERED), col(Letter.acknowledged_at).is_not(None))
        .values(status=LetterStatus.ACKNOWLEDGED)
    ).rowcount == 1


def mark_overdue(*, session: Session, letter_id: int, now: datetime) -> bool:
    return _move(session, letter_id, [LetterStatus.DELIVERED], status=LetterStatus.OVERDUE, overdue_told_at=now)


# --- what a letter's facts and its trigger are read from -------------------------------


def list_escalations(*, session: Session, since: datetime, until: datetime) -> list[tuple[str, int, str, datetime]]:
    """Escalation DMs sent (``ts`` set) from ``since`` until before ``until``:
    (the owner whose items they were about, level, recipient, sent at),
    oldest first. The owner is the ladder's (from its key), else the one the
    thread was posted to (``POSTED_OWNER``, as the monthly figures count it:
    a rename's hand-over does not move a past escalation)."""
    rows = session.exec(
        select(FollowUp.key, POSTED_OWNER, FollowUp.level, FollowUp.recipient, FollowUp.sent_at)
        .join(DigestMessage, col(FollowUp.thread_id) == col(DigestMessage.id))
        .where(
            FollowUp.kind == "escalate", col(FollowUp.ts).is_not(None),
            col(FollowUp.sent_at) >= since, col(FollowUp.sent_at) < until,
        )
        .order_by(FollowUp.sent_at, FollowUp.id)
    ).all()
    return [(key_owner(key) or named, level, recipient, sent_at) for key, named, level, recipient, sent_at in rows]


def list_unfixed_items(*, session: Session, owner: str, limit: int) -> list[UnfixedItem]:
    """The owner's oldest mistaken rejections still without a fix (confirmed
    or deemed confirmed now, in the caller's transaction), oldest rejection
    first; of any month. An item is the owner's when its digest message was
    posted to them (``POSTED_OWNER``, as the monthly figures count it), not
    by ``Item.owner``, which a routing change may move."""
    rows = session.exec(
        select(Item)
        .join(DigestMessage, col(Item.digest_message_id) == col(DigestMessage.id))
        .where(POSTED_OWNER == owner, col(Item.status).in_([Status.CONFIRMED, Status.DEEMED_CONFIRMED]))
        .order_by(Item.rejected_on, Item.decided_at, Item.order_no, Item.id)
        .limit(limit)
    ).all()
    return [
        UnfixedItem(order_no=i.order_no, rejected_on=i.rejected_on, branch=i.branch, status=i.status, since=i.decided_at or i.updated_at)
        for i in rows
    ]


def owner_has_items(*, session: Session, owner: str, first_day, last_day) -> bool:
    """Whether a digest of a day from ``first_day`` to ``last_day`` posted
    items to ``owner`` (``POSTED_OWNER``, as the monthly figures count them)."""
    return session.exec(
        select(Item.id)
        .join(DigestMessage, col(Item.digest_message_id) == col(DigestMessage.id))
        .where(POSTED_OWNER == owner, DigestMessage.digest_day >= first_day, DigestMessage.digest_day <= last_day)
        .limit(1)
    ).first() is not None


def find_first_page_after(*, session: Session, owner: str, after: datetime) -> DigestMessage | None:
    """The owner's first digest message posted at or after ``after`` (the
    next digest after a letter's approval), oldest first."""
    return session.exec(
        select(DigestMessage)
        .where(DigestMessage.owner == owner, DigestMessage.page == 0, col(DigestMessage.ts).is_not(None), col(DigestMessage.posted_at) >= after)
        .order_by(DigestMessage.posted_at, DigestMessage.id)
    ).first()
