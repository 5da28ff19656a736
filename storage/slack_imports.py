"""The ``slack_import`` rows behind ``bot.services.slack_import``: files sent
to the app in Slack, each imported by one run at a time under a lease.

A row is *waiting* until ``finished_at`` is set; a waiting row is *free* when
nobody holds a live lease on it (``lease_until`` unset or past): it is new, or
the run working on it died. ``claimed_by`` names the holder: a run whose lease
ran out and was taken over can change nothing any more. Keyword-only, in the
caller's session and transaction.

Errors: none of its own.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, or_, update
from sqlmodel import Session, col, select

from bot.core.lifecycle import Status
from storage.models import Item, SlackImport
from storage.queries import dialect_insert


def add_import(
    *, session: Session, file_id: str, user: str, channel: str, filename: str, size: int, now: datetime,
    holder: str | None = None, lease_until: datetime | None = None,
) -> SlackImport | None:
    """A new waiting row for ``file_id``; None when the file already has one
    (the event came twice). With ``holder``, it is born held by it until
    ``lease_until`` (the receiver, while it posts the first reply)."""
    stmt = (
        dialect_insert(session, SlackImport.__table__)
        .values(file_id=file_id, user=user, channel=channel, filename=filename[:255], size=size, created_at=now,
                attempts=0, outcome="", summary="", error="", claimed_by=holder, lease_until=lease_until)
        .on_conflict_do_nothing(index_elements=["file_id"])
        .returning(SlackImport.id)
    )  # fmt: skip
    if session.exec(stmt).first() is None:
        return None
    return find_import(session=session, file_id=file_id)


def add_refused(
    *, session: Session, file_id: str, user: str, channel: str, filename: str, summary: str, now: datetime,
    holder: str | None = None, lease_until: datetime | None = None,
) -> bool:
    """A file refused on arrival (not CS, not CSV/XLSX, too big): a waiting
    row whose outcome is already ``refused``, finished once the refusal is
    told (by the receiver, or by a run: ``summary`` is what to tell), so it is
    told once even when the first post fails; False when the file already has
    a row. ``holder``/``lease_until``: as for ``add_import``."""
    stmt = (
        dialect_insert(session, SlackImport.__table__)
        .values(file_id=file_id, user=user, channel=channel, filename=filename[:255], size=0, created_at=now,
                attempts=0, outcome="refused", summary=summary, error="", claimed_by=holder, lease_until=lease_until)
        .on_conflict_do_nothing(index_elements=["file_id"])
        .returning(SlackImport.id)
    )  # fmt: skip
    return session.exec(stmt).first() is not None


def find_import(*, session: Session, file_id: str) -> SlackImport | None:
    return session.exec(select(SlackImport).where(SlackImport.file_id == file_id)).first()


def set_reply(*, session: Session, import_id: int, ts: str) -> None:
    session.exec(update(SlackImport).where(col(SlackImport.id) == import_id).values(reply_ts=ts))


def _free(now: datetime):
    return (
        col(SlackImport.finished_at).is_(None),
        or_(col(SlackImport.lease_until).is_(None), col(SlackImport.lease_until) < now),
    )


def claim_next(*, session: Session, holder: str, now: datetime, lease: timedelta) -> SlackImport | None:
    """Take the oldest free row for ``holder`` until ``now + lease`` (an
    attempt more); None when there is none. Compare-and-set: one claimant wins."""
    ids = session.exec(select(SlackImport.id).where(*_free(now)).order_by(col(SlackImport.id)).limit(5)).all()
    for import_id in ids:
        taken = session.exec(
            update(SlackImport).where(col(SlackImport.id) == import_id, *_free(now))
            .values(claimed_by=holder, lease_until=now + lease, attempts=SlackImport.attempts + 1)
        ).rowcount  # fmt: skip
        if taken == 1:
            row = session.exec(select(SlackImport).where(SlackImport.id == import_id)).one()
            session.refresh(row)
            return row
    return None


def _held(import_id: int, holder: str):
    return (col(SlackImport.id) == import_id, col(SlackImport.claimed_by) == holder, col(SlackImport.finished_at).is_(None))


def renew(*, session: Session, import_id: int, holder: str, until: datetime) -> bool:
    """Extend ``holder``'s lease; False when it lost the row."""
    return session.exec(update(SlackImport).where(*_held(import_id, holder)).values(lease_until=until)).rowcount == 1


def set_stored(
    *, session: Session, import_id: int, holder: str, batch_id: int, summary: str, rejected_csv: bytes | None
) -> bool:
    """Record the import's batch and what to tell, in the import's own
    transaction; False when ``holder`` lost the row (the caller rolls back)."""
    return session.exec(
        update(SlackImport).where(*_held(import_id, holder), col(SlackImport.batch_id).is_(None))
        .values(batch_id=batch_id, outcome="imported", summary=summary, rejected_csv=rejected_csv)
    ).rowcount == 1  # fmt: skip


def set_refused(*, session: Session, import_id: int, holder: str, summary: str) -> bool:
    """The whole file was refused (nothing imported): what to tell."""
    return session.exec(
        update(SlackImport).where(*_held(import_id, holder), col(SlackImport.batch_id).is_(None))
        .values(outcome="refused", summary=summary)
    ).rowcount == 1  # fmt: skip


def finish(*, session: Session, import_id: int, holder: str, now: datetime, outcome: str | None = None, error: str = "") -> bool:
    """Done: told, nothing more to do for the row."""
    values: dict = {"finished_at": now, "lease_until": now, "error": error[:2000]}
    if outcome is not None:
        values["outcome"] = outcome
    return session.exec(update(SlackImport).where(*_held(import_id, holder)).values(**values)).rowcount == 1


def release(*, session: Session, import_id: int, holder: str, now: datetime, retry_at: datetime, error: str) -> bool:
    """A failed attempt: free again at ``retry_at``, with why."""
    return session.exec(
        update(SlackImport).where(*_held(import_id, holder)).values(lease_until=retry_at, error=error[:2000])
    ).rowcount == 1  # fmt: skip


def hand_over(*, session: Session, import_id: int, holder: str) -> bool:
    """``holder`` (the receiver) lets the row go: free for a run at once."""
    return session.exec(update(SlackImport).where(*_held(import_id, holder)).values(lease_until=None)).rowcount == 1


def count_held(*, session: Session, batch_id: int) -> int:
    """How many of the batch's records are held (an order someone reported:
    ``storage.reports.hold_reported``), waiting for CS to keep or drop them."""
    return session.exec(select(func.count()).select_from(Item).where(Item.batch_id == batch_id, Item.status == Status.HELD)).one()
