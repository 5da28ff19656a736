"""The inbox: Slack requests stored before they are acknowledged, and the
leases under which workers (of any replica) dispatch them. Keyword-only, each
in the caller's session.

A row is *waiting* until it is done or parked. A waiting row is *free* when
nobody holds a live lease on it (``claimed_until`` unset or past): its
process died, or a dispatch failed and its back-off ran out.

Errors: none of its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, func, or_, update
from sqlmodel import Session, col, select

from storage.models import InboxEntry
from storage.queries import dialect_insert


def add_entry(
    *, session: Session, mode: str, body: str, headers: str, received_at: datetime,
    dedup_key: str | None, claimed_by: str | None, claimed_until: datetime | None,
) -> int | None:
    """Store a request; its id, or None when ``dedup_key`` is already stored
    (Slack retrying an event we have). Stored claimed, it counts as the
    first attempt: the claimant dispatches it next."""
    stmt = dialect_insert(session, InboxEntry).values(
        mode=mode, body=body, headers=headers, received_at=received_at, dedup_key=dedup_key,
        claimed_by=claimed_by, claimed_until=claimed_until, attempts=1 if claimed_by else 0, error="",
    )
    if dedup_key is not None:
        stmt = stmt.on_conflict_do_nothing(index_elements=["dedup_key"])
    result = session.exec(stmt.returning(InboxEntry.id))
    return result.scalar_one_or_none()


def _free(now: datetime):
    return (
        col(InboxEntry.done_at).is_(None),
        col(InboxEntry.parked_at).is_(None),
        or_(col(InboxEntry.claimed_until).is_(None), col(InboxEntry.claimed_until) < now),
    )


def claim_free(*, session: Session, instance: str, now: datetime, until: datetime, limit: int = 50) -> list[InboxEntry]:
    """Take up to ``limit`` free rows, oldest first, for ``instance``; each
    claim counts as an attempt at it. The rows taken.

    ``FOR UPDATE SKIP LOCKED`` on PostgreSQL lets replicas claim side by side;
    SQLite (which ignores it) serialises writers, and the compare-and-set
    below makes a row go to one claimant either way."""
    ids = session.exec(
        select(InboxEntry.id).where(*_free(now)).order_by(col(InboxEntry.id)).limit(limit).with_for_update(skip_locked=True)
    ).all()
    claimed: list[int] = []
    for entry_id in ids:
        result = session.exec(
            update(InboxEntry).where(col(InboxEntry.id) == entry_id, *_free(now))
            .values(claimed_by=instance, claimed_until=until, attempts=InboxEntry.attempts + 1)
        )
        if result.rowcount == 1:
            claimed.append(entry_id)
    if not claimed:
        return []
    return list(session.exec(select(InboxEntry).where(col(InboxEntry.id).in_(claimed)).order_by(col(InboxEntry.id))).all())


def mark_done(*, session: Session, entry_id: int, at: datetime) -> None:
    session.exec(update(InboxEntry).where(col(InboxEntry.id) == entry_id).values(done_at=at, claimed_until=None))


def mark_failed(*, session: Session, entry_id: int, instance: str, error: str, retry_at: datetime | None, at: datetime) -> bool:
    """Record a failed dispatch by ``instance``: free again at ``retry_at``,
    or parked for good when ``retry_at`` is None. False (nothing changed)
    when ``instance`` no longer holds the row: its lease ran out and another
    claimant has it."""
    values: dict = {"error": error, "claimed_by": None, "claimed_until": retry_at}
    if retry_at is None:
        values["parked_at"] = at
    result = session.exec(
        update(InboxEntry).where(col(InboxEntry.id) == entry_id, col(InboxEntry.claimed_by) == instance, col(InboxEntry.done_at).is_(None))
        .values(**values)
    )
    return result.rowcount == 1


def renew_leases(*, session: Session, entry_ids: Sequence[int], instance: str, until: datetime) -> None:
    """Keep the rows ``instance`` is still holding."""
    if entry_ids:
        session.exec(
            update(InboxEntry)
            .where(col(InboxEntry.id).in_(list(entry_ids)), col(InboxEntry.claimed_by) == instance, col(InboxEntry.done_at).is_(None))
            .values(claimed_until=until)
        )


def release(*, session: Session, entry_ids: Sequence[int], instance: str, started: bool) -> None:
    """Give back rows ``instance`` holds and will not finish (it is stopping):
    the next start, or another replica, takes them at once. Rows it never
    started (``started`` False) get back the attempt their claim counted, so
    stop/start cycles alone never park a row."""
    if entry_ids:
        values: dict = {"claimed_by": None, "claimed_until": None}
        if not started:
            values["attempts"] = InboxEntry.attempts - 1  # a claim counted one, always
        session.exec(
            update(InboxEntry)
            .where(col(InboxEntry.id).in_(list(entry_ids)), col(InboxEntry.claimed_by) == instance, col(InboxEntry.done_at).is_(None))
            .values(**values)
        )


def find_oldest_waiting(*, session: Session, instance: str, now: datetime) -> datetime | None:
    """When the oldest row neither done nor parked arrived, among those
    ``instance`` holds or nobody does (a row another replica holds is that
    replica's to report). A plain read: no write lock."""
    return session.exec(
        select(func.min(InboxEntry.received_at)).where(
            col(InboxEntry.done_at).is_(None), col(InboxEntry.parked_at).is_(None),
            or_(col(InboxEntry.claimed_by) == instance, col(InboxEntry.claimed_until).is_(None), col(InboxEntry.claimed_until) < now),
        )
    ).one()


def count_parked_since(*, session: Session, since: datetime) -> int:
    """How many rows were parked at or after ``since`` (a plain read)."""
    return session.exec(select(func.count()).select_from(InboxEntry).where(col(InboxEntry.parked_at) >= since)).one()


def delete_done(*, session: Session, before: datetime, limit: int = 1000) -> int:
    """Forget up to ``limit`` rows done before ``before``, oldest first (their
    effects live in the audit log; a year of requests need not); how many.
    Parked rows stay for an operator to read."""
    ids = session.exec(
        select(InboxEntry.id).where(col(InboxEntry.done_at).is_not(None), col(InboxEntry.done_at) < before)
        .order_by(col(InboxEntry.id)).limit(limit)
    ).all()
    if ids:
        session.exec(delete(InboxEntry).where(col(InboxEntry.id).in_(list(ids))))
    return len(ids)


def list_entries(*, session: Session) -> list[InboxEntry]:
    return list(session.exec(select(InboxEntry).order_by(col(InboxEntry.id))).all())
