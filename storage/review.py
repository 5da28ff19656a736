"""Queries behind CS's re-verification of disputes and the penalties it
books (keyword-only, in the caller's session and transaction).

Errors: none of its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session, col, select

from bot.core.lifecycle import Action, Status
from storage.models import AuditEntry, Item, Penalty
from storage.queries import dialect_insert

CS_ACCURACY = "cs_accuracy"  # Penalty.kind: CS's callback result was wrong


def book_penalty(
    *, session: Session, item_id: int, kind: str, person: str, user: str, amount: int, at: datetime, note: str = "",
) -> bool:
    """Book a penalty unless the item already has one of this kind; True when
    this call booked it."""
    stmt = (
        dialect_insert(session, Penalty.__table__)
        .values(item_id=item_id, kind=kind, person=person, user=user, amount=amount, at=at, note=note)
        .on_conflict_do_nothing(index_elements=["item_id", "kind"])
        .returning(Penalty.id)  # psycopg reports no rowcount for INSERT … ON CONFLICT
    )
    return session.exec(stmt).first() is not None


def list_penalties(*, session: Session, item_id: int | None = None) -> Sequence[Penalty]:
    stmt = select(Penalty).order_by(Penalty.id)
    if item_id is not None:
        stmt = stmt.where(Penalty.item_id == item_id)
    return session.exec(stmt).all()


def find_last_audit(*, session: Session, item_id: int, action: Action) -> AuditEntry | None:
    """The item's newest audit row of ``action`` (e.g. the dispute, with its reason)."""
    return session.exec(
        select(AuditEntry)
        .where(AuditEntry.item_id == item_id, AuditEntry.action == action)
        .order_by(col(AuditEntry.id).desc())
    ).first()


def set_review_message(*, session: Session, item_id: int, channel: str, ts: str) -> None:
    """Where CS's re-verification DM of the item is, to update it once resolved."""
    session.exec(update(Item).where(col(Item.id) == item_id).values(review_channel=channel, review_ts=ts))


def list_unsent_reviews(*, session: Session) -> Sequence[Item]:
    """Disputed items whose re-verification DM has not been sent."""
    return session.exec(
        select(Item).where(Item.status == Status.DISPUTED, col(Item.review_ts).is_(None)).order_by(Item.id)
    ).all()
