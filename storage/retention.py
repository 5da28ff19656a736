"""The retention job's queries: closed items whose customer data is due to
be masked, and the masking written back (``bot.services.retention``).

All functions are keyword-only and run inside the caller's session and
transaction. Errors: none of their own.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session, col, select

from storage.models import AuditEntry, Item, Penalty


def list_due(*, session: Session, statuses: Iterable[str], closed_before: datetime, limit: int) -> Sequence[Item]:
    """Items in one of ``statuses`` (final: nothing changes them any more, so
    ``updated_at`` is when they closed) since before ``closed_before``, not yet
    masked; the oldest first, at most ``limit``."""
    return session.exec(
        select(Item)
        .where(
            col(Item.redacted_at).is_(None),
            col(Item.updated_at) < closed_before,
            col(Item.status).in_(list(statuses)),
        )
        .order_by(Item.updated_at, Item.id)
        .limit(limit)
    ).all()


def list_notes(*, session: Session, item_ids: Sequence[int]) -> tuple[Sequence[AuditEntry], Sequence[Penalty]]:
    """The audit rows and penalties of the items that carry a note."""
    if not item_ids:
        return [], []
    audit = session.exec(select(AuditEntry).where(col(AuditEntry.item_id).in_(list(item_ids)), AuditEntry.note != "")).all()
    penalties = session.exec(select(Penalty).where(col(Penalty.item_id).in_(list(item_ids)), Penalty.note != "")).all()
    return audit, penalties


def redact_item(*, session: Session, item: Item, customer: str, note: str, now: datetime) -> bool:
    """Write the masked customer and note, once: False when the item was
    masked meanwhile (another replica's job) or changed since it was read."""
    return session.exec(
        update(Item)
        .where(col(Item.id) == item.id, col(Item.redacted_at).is_(None), col(Item.status) == item.status)
        .values(customer=customer, note=note, redacted_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount == 1


def set_notes(*, session: Session, audit: Mapping[int, str], penalties: Mapping[int, str]) -> None:
    """New notes by audit row id and by penalty id. The rows themselves stay."""
    for entry_id, note in audit.items():
        session.exec(update(AuditEntry).where(col(AuditEntry.id) == entry_id).values(note=note).execution_options(synchronize_session=False))
    for penalty_id, note in penalties.items():
        session.exec(update(Penalty).where(col(Penalty.id) == penalty_id).values(note=note).execution_options(synchronize_session=False))
