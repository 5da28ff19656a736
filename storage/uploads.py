"""The ``file_upload`` rows behind ``bot.services.uploads.upload_once``.

One row per key, claimed like the side-effect ledger (``storage.queries.claim_effect``):
a lease held by one run at a time, taken over by another run once it runs
out. ``claimed_at`` names the holder: a run whose lease ran out and was taken
over can no longer record anything but the truth that the file is shared.
All functions are keyword-only and run inside the caller's session and
transaction.

Errors: none of its own (``find_upload`` returns ``None``).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import update
from sqlmodel import Session, col, select

from storage.models import FileUpload
from storage.queries import Claim, dialect_insert


def claim_upload(
    *, session: Session, key: str, channel: str, filename: str, title: str, sha256: str, length: int, now: datetime, lease: timedelta
) -> tuple[Claim, FileUpload]:
    """Claim ``key`` for ``lease``: ``NEW`` (first claim: the row is made with
    these facts), ``RESUMED`` (an earlier run's lease ran out unfinished: carry
    on from its ``file_id``), ``BUSY`` (another run holds a live lease) or
    ``DONE`` (shared). Returns the row as it is after the claim; the caller
    compares its facts with its own (the same key must mean the same file)."""
    stmt = (
        dialect_insert(session, FileUpload.__table__)
        .values(
            key=key, channel=channel, filename=filename, title=title, sha256=sha256, length=length,
            created_at=now, claimed_at=now, lease_until=now + lease, attempts=0, error="",
        )
        .on_conflict_do_nothing(index_elements=["key"])
        .returning(FileUpload.id)
    )  # fmt: skip
    fresh = session.exec(stmt).first() is not None
    row = session.exec(select(FileUpload).where(FileUpload.key == key)).one()
    session.refresh(row)
    if fresh:
        return Claim.NEW, row
    if row.shared_at is not None:
        return Claim.DONE, row
    if row.lease_until is not None and row.lease_until > now:
        return Claim.BUSY, row
    taken = session.exec(
        update(FileUpload)
        .where(col(FileUpload.key) == key, col(FileUpload.shared_at).is_(None), _same_lease(row.lease_until))
        .values(claimed_at=now, lease_until=now + lease)
    ).rowcount
    if taken != 1:
        return Claim.BUSY, row
    session.refresh(row)
    return Claim.RESUMED, row


def _same_lease(lease_until: datetime | None):
    column = col(FileUpload.lease_until)
    return column.is_(None) if lease_until is None else column == lease_until


def _held(key: str, holder: datetime):
    return [col(FileUpload.key) == key, col(FileUpload.claimed_at) == holder, col(FileUpload.shared_at).is_(None)]


def set_upload_prepared(*, session: Session, key: str, file_id: str, now: datetime, holder: datetime) -> bool:
    """Record the uploaded file's id (not yet shared); False when ``holder``
    no longer holds the claim (then nothing changes)."""
    return session.exec(update(FileUpload).where(*_held(key, holder)).values(file_id=file_id, prepared_at=now)).rowcount == 1


def forget_upload_file(*, session: Session, key: str, file_id: str, holder: datetime) -> bool:
    """Drop a file id Slack no longer knows (an upload never completed is
    discarded), so the bytes go up again; False when ``holder`` lost the claim."""
    return session.exec(
        update(FileUpload).where(*_held(key, holder), col(FileUpload.file_id) == file_id).values(file_id=None, prepared_at=None)
    ).rowcount == 1


def replace_upload_content(*, session: Session, key: str, sha256: str, length: int, holder: datetime) -> bool:
    """The key's file, not shared yet, is now these bytes (a resumed run
    rendered it again, and it came out different): the file id of the old
    bytes is dropped, so the new ones go up. False when ``holder`` lost the claim."""
    return session.exec(
        update(FileUpload).where(*_held(key, holder)).values(sha256=sha256, length=length, file_id=None, prepared_at=None)
    ).rowcount == 1


def set_upload_shared(*, session: Session, key: str, file_id: str, now: datetime) -> bool:
    """Record that ``file_id`` is shared: true whoever holds the lease now,
    so it is recorded even by a run whose lease ran out. False when the row
    has another file id or was already marked shared."""
    return session.exec(
        update(FileUpload)
        .where(col(FileUpload.key) == key, col(FileUpload.file_id) == file_id, col(FileUpload.shared_at).is_(None))
        .values(shared_at=now, lease_until=now, error="")
    ).rowcount == 1


def release_upload(*, session: Session, key: str, now: datetime, holder: datetime, error: str) -> bool:
    """End a failed attempt: count it, keep why, and let the lease run out now
    so that the next call resumes. False when ``holder`` lost the claim."""
    return session.exec(
        update(FileUpload)
        .where(*_held(key, holder))
        .values(lease_until=now, attempts=FileUpload.attempts + 1, error=error[:2000])
    ).rowcount == 1


def find_upload(*, session: Session, key: str) -> FileUpload | None:
    return session.exec(select(FileUpload).where(FileUpload.key == key)).first()
