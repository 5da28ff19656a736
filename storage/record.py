"""Queries behind correcting the record: a reopened item's new deadline, and
searching items by order number, branch and note (keyword-only, in the
caller's session)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, update
from sqlmodel import Session, col, select

from storage.models import DigestMessage, Item

LIKE_ESCAPE = "\\"


def set_reopened(*, session: Session, item_id: int, deadline: datetime) -> None:
    """A reopened item's new dispute deadline; it has no decision any more, so
    no fix window runs (``decided_at`` is set again by its next confirmation)."""
    session.exec(
        update(Item).where(col(Item.id) == item_id).values(deadline=deadline, decided_at=None)
        .execution_options(synchronize_session=False)
    )


def extend_thread_deadline(*, session: Session, message_id: int, deadline: datetime) -> None:
    """A reopened item's thread runs to its new deadline: every page of that
    owner's digest of the day whose deadline is earlier gets ``deadline`` (the
    follow-up ladder and the 👀 pause read the thread's deadline)."""
    message = session.get(DigestMessage, message_id)
    if message is None:
        return
    session.exec(
        update(DigestMessage)
        .where(col(DigestMessage.digest_day) == message.digest_day, col(DigestMessage.owner) == message.owner,
               col(DigestMessage.deadline) < deadline)
        .values(deadline=deadline)
        .execution_options(synchronize_session=False)
    )


def like_pattern(text: str) -> str:
    """``%text%`` with the user's own ``%``, ``_`` and ``\\`` matching themselves."""
    escaped = text.replace(LIKE_ESCAPE, LIKE_ESCAPE * 2).replace("%", LIKE_ESCAPE + "%").replace("_", LIKE_ESCAPE + "_")
    return f"%{escaped.lower()}%"


@dataclass(frozen=True, slots=True)
class Found:
    items: Sequence[Item]  # the newest matches, newest first
    total: int  # every match


def search_items(*, session: Session, text: str, owners: Sequence[str] | None, limit: int) -> Found:
    """Items whose order number, branch or callback note contains ``text``
    (case-insensitive for Latin letters), newest rejection first; only the
    items of ``owners`` unless it is None (everything)."""
    pattern = like_pattern(text)
    where = [
        or_(
            *(func.lower(column).like(pattern, escape=LIKE_ESCAPE) for column in (col(Item.order_no), col(Item.branch), col(Item.note)))
        )
    ]
    if owners is not None:
        if not owners:
            return Found([], 0)
        where.append(col(Item.owner).in_(list(owners)))
    total = session.exec(select(func.count()).select_from(Item).where(*where)).one()
    items = session.exec(
        select(Item).where(*where).order_by(col(Item.rejected_on).desc(), col(Item.id).desc()).limit(limit)
    ).all()
    return Found(items, total)
