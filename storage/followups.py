"""Queries behind deadlines, nudges and escalations (keyword-only, in the
caller's session).

Errors: none of its own.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import bindparam, case, delete, func, update
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from bot.core.followup import key_owner
from bot.core.lifecycle import Status
from storage.models import OPEN_ITEM_STATUSES, DigestMessage, FollowUp, Item, SideEffect
from storage.queries import dialect_insert, find_first_page

OPEN_STATUSES = OPEN_ITEM_STATUSES  # awaiting an answer, a fix, or CS's review


def open_item():
    """``item.status IN ('awaiting', …)`` with the values written out: the
    condition of the partial index ``ix_item_open`` (``storage.models``), so
    that SQLite (and PostgreSQL) read the open items from it. Every query of
    the sweep on open items holds it, beside its own narrower condition."""
    return col(Item.status).in_(bindparam("open_item", [str(s) for s in OPEN_STATUSES], expanding=True, literal_execute=True))


@dataclass(frozen=True, slots=True)
class OpenThread:
    """An owner's first digest message of a day, with the open work of one
    owner on it: the owner its pages name (``owner`` None), or another owner
    who now has some of its items (a thread split between owners)."""

    message: DigestMessage
    awaiting: int
    oldest_unfixed_at: datetime | None
    deemed: int = 0  # deemed confirmed (the deadline answered for the owner side), still without a fix
    owner: str | None = None  # the items' owner when not the one the pages name

    @property
    def items_owner(self) -> str:
        """Whose open items these are (the name stored on them)."""
        return self.owner or self.message.owner


def list_open_threads(*, session: Session, digest_day: date | None = None, owner: str | None = None) -> list[OpenThread]:
    """Threads whose items still await an answer or a fix (of one day and
    owner when given): one per thread and owner of its open items, the
    owner the pages name first. Read from the open items (``open_item``) up
    to their thread's first page: the history of closed digests is not read."""
    page = aliased(DigestMessage)
    first = aliased(DigestMessage)
    awaiting = Item.status == Status.AWAITING
    work = (
        select(
            first.id.label("thread_id"), Item.owner,
            func.count(case((awaiting, 1))).label("awaiting"),
            func.min(case((~awaiting, Item.decided_at))).label("oldest_unfixed"),
            func.count(case((Item.status == Status.DEEMED_CONFIRMED, 1))).label("deemed"),
        )
        .join(page, col(Item.digest_message_id) == page.id)
        .join(first, (first.digest_day == page.digest_day) & (first.owner == page.owner) & (first.page == 0))
        .where(open_item(), col(Item.status).in_([Status.AWAITING, Status.CONFIRMED, Status.DEEMED_CONFIRMED]))
        .group_by(first.id, Item.owner)
    )
    if digest_day is not None:
        work = work.where(page.digest_day == digest_day)
    if owner is not None:
        work = work.where(page.owner == owner)
    work = work.subquery()
    rows = session.exec(
        select(DigestMessage, work.c.owner, work.c.awaiting, work.c.oldest_unfixed, work.c.deemed)
        .join(work, col(DigestMessage.id) == work.c.thread_id)
    ).all()
    found: dict[tuple[int, str | None], OpenThread] = {}
    for message, items_owner, count, oldest, deemed in rows:
        if not message.ts:
            continue
        other = items_owner if items_owner and items_owner != message.owner else None
        key = (message.id, other)
        if key in found:  # items without an owner and the pages' owner's: one entry
            was = found[key]
            oldest = _aware(oldest)
            earliest = min((t for t in (was.oldest_unfixed_at, oldest) if t is not None), default=None)
            found[key] = OpenThread(message, was.awaiting + count, earliest, was.deemed + deemed, other)
        else:
            found[key] = OpenThread(message, count, _aware(oldest), deemed, other)
    return sorted(found.values(), key=lambda t: (t.message.id, t.owner is not None, t.owner or ""))


def find_open_thread(*, session: Session, thread_id: int) -> OpenThread | None:
    """The thread (an owner's first digest message) with its open work — of
    the owner its pages name when they have some, else of another owner of
    its items; None when there is no such thread or nothing on it is open
    any more."""
    message = find_thread(session=session, thread_id=thread_id)
    if message is None:
        return None
    found = list_open_threads(session=session, digest_day=message.digest_day, owner=message.owner)
    return found[0] if found else None


def find_thread(*, session: Session, thread_id: int) -> DigestMessage | None:
    """An owner's first digest message of a day, by id (a continuation page is not a thread)."""
    message = session.get(DigestMessage, thread_id)
    return message if message is not None and message.page == 0 else None


def list_thread_item_ids(*, session: Session, digest_day: date, owner: str, status: Status) -> list[int]:
    """Ids of the items in ``status`` on an owner's digest messages of one day (every page)."""
    return list(
        session.exec(
            select(Item.id)
            .join(DigestMessage, col(Item.digest_message_id) == col(DigestMessage.id))
            .where(DigestMessage.digest_day == digest_day, DigestMessage.owner == owner, Item.status == status)
            .order_by(Item.id)
        ).all()
    )


def list_thread_items(*, session: Session, digest_day: date, owner: str, status: Status) -> Sequence[Item]:
    """The items in ``status`` on an owner's digest messages of one day (every page)."""
    return session.exec(
        select(Item)
        .join(DigestMessage, col(Item.digest_message_id) == col(DigestMessage.id))
        .where(DigestMessage.digest_day == digest_day, DigestMessage.owner == owner, Item.status == status)
        .order_by(Item.id)
    ).all()


def _aware(value: datetime | None) -> datetime | None:
    """Aggregates bypass the column type: make SQLite's naive UTC aware."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def list_overdue_items(*, session: Session, now: datetime) -> Sequence[Item]:
    """Awaiting items whose dispute deadline has passed."""
    return session.exec(
        select(Item).where(open_item(), Item.status == Status.AWAITING, col(Item.deadline) <= now).order_by(Item.id)
    ).all()


def list_disputed_items(*, session: Session) -> Sequence[Item]:
    return session.exec(select(Item).where(open_item(), Item.status == Status.DISPUTED).order_by(Item.id)).all()


def list_done_keys(*, session: Session, keys: Iterable[str], now: datetime) -> set[str]:
    """The keys taken: sent, given up, or being sent (a live lease). A claim
    whose send failed, or whose sender died (lease over), is not taken: the
    next sweep takes it over."""
    keys = list(keys)
    if not keys:
        return set()
    return set(
        session.exec(
            select(FollowUp.key).where(
                col(FollowUp.key).in_(keys),
                col(FollowUp.ts).is_not(None) | col(FollowUp.gave_up_at).is_not(None) | (col(FollowUp.lease_until) > now),
            )
        ).all()
    )


def claim_follow_up(*, session: Session, follow_up: FollowUp) -> bool:
    """Record a follow-up about to be sent; False when its key was taken."""
    values = {c.name: getattr(follow_up, c.name) for c in FollowUp.__table__.columns if c.name != "id"}
    stmt = (
        dialect_insert(session, FollowUp.__table__)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["key"])
        .returning(FollowUp.key)
    )
    return session.exec(stmt).first() is not None


def release_once(*, session: Session, key: str) -> None:
    """Forget a one-shot ledger key (``queries.record_once``) whose effect
    could not be carried out, so that it may be tried again."""
    session.exec(delete(SideEffect).where(col(SideEffect.key) == key))


def take_over_follow_up(*, session: Session, key: str, now: datetime, lease_until: datetime) -> tuple[bool, str | None]:
    """Take a claim that is not being sent (its send failed, or its sender's
    lease ran out): (taken, the key its earlier message carried, if any)."""
    row = session.exec(
        update(FollowUp)
        .where(
            col(FollowUp.key) == key, col(FollowUp.ts).is_(None), col(FollowUp.gave_up_at).is_(None),
            col(FollowUp.lease_until).is_(None) | (col(FollowUp.lease_until) <= now),
        )
        .values(lease_until=lease_until, sent_at=now)
        .returning(FollowUp.message_key)
    ).first()
    return (row is not None, row[0] if row is not None else None)


def set_message_key(*, session: Session, keys: Sequence[str], message_key: str) -> None:
    """The key the message about to be sent for ``keys`` carries in its metadata."""
    session.exec(update(FollowUp).where(col(FollowUp.key).in_(list(keys))).values(message_key=message_key))


@dataclass(frozen=True, slots=True)
class SendFailures:
    """Failed sends of a follow-up so far: all of them, and those Slack
    definitively refused (the rest were ambiguous: timeouts, 5xx, …)."""

    attempts: int
    refusals: int

    @property
    def ambiguous(self) -> int:
        return self.attempts - self.refusals


def record_send_failure(*, session: Session, keys: Sequence[str], error: str, refused: bool, give_up_after: int | None, now: datetime) -> SendFailures:
    """Count a failed send of the unsent ``keys`` and free them for the next
    sweep. Definitive refusals (``refused``) are counted apart: the keys are
    given up once ``give_up_after`` refusals failed them (None: never);
    ambiguous failures never give up. A message Slack ``refused`` was not
    posted: the next attempt need not look for it. Returns the most failures
    of any of the keys."""
    values: dict = dict(attempts=FollowUp.attempts + 1, error=error[:500], lease_until=None)
    if refused:
        values["message_key"] = None
        values["refusals"] = FollowUp.refusals + 1
    rows = session.exec(
        update(FollowUp)
        .where(col(FollowUp.key).in_(list(keys)), col(FollowUp.ts).is_(None))
        .values(**values)
        .returning(FollowUp.attempts, FollowUp.refusals)
    ).all()
    most = SendFailures(max((r[0] for r in rows), default=0), max((r[1] for r in rows), default=0))
    if give_up_after is not None and most.refusals >= give_up_after:
        session.exec(
            update(FollowUp).where(col(FollowUp.key).in_(list(keys)), col(FollowUp.ts).is_(None)).values(gave_up_at=now)
        )
    return most


def count_stuck_follow_ups(*, session: Session, attempts: int) -> int:
    """Follow-ups neither sent nor given up whose send failed ``attempts``
    times or more: still pending, still failing."""
    return session.exec(
        select(func.count()).select_from(FollowUp).where(
            col(FollowUp.ts).is_(None), col(FollowUp.gave_up_at).is_(None), col(FollowUp.attempts) >= attempts,
        )
    ).one()


def set_follow_ups_sent(*, session: Session, keys: Sequence[str], channel: str, ts: str) -> None:
    session.exec(update(FollowUp).where(col(FollowUp.key).in_(list(keys))).values(channel=channel, ts=ts, lease_until=None))


def count_sent_since(*, session: Session, since: datetime) -> dict[str, int]:
    """Follow-up messages per recipient since ``since`` (one DM counts once):
    sent or being sent, not those whose send failed."""
    rows = session.exec(
        select(FollowUp.recipient, func.count(func.distinct(func.coalesce(FollowUp.ts, FollowUp.key))))
        .where(col(FollowUp.sent_at) >= since, col(FollowUp.ts).is_not(None) | col(FollowUp.lease_until).is_not(None))
        .group_by(FollowUp.recipient)
    ).all()
    return {recipient: count for recipient, count in rows}


def list_follow_ups(*, session: Session, thread_ids: Iterable[int] = (), item_ids: Iterable[int] = ()) -> Sequence[FollowUp]:
    thread_ids, item_ids = list(thread_ids), list(item_ids)
    if not thread_ids and not item_ids:
        return []
    return session.exec(
        select(FollowUp)
        .where(col(FollowUp.thread_id).in_(thread_ids) | col(FollowUp.item_id).in_(item_ids))
        .order_by(FollowUp.id)
    ).all()


def list_escalated_managers(*, session: Session, owner: str, since: datetime | None) -> list[str]:
    """Managers escalated to about ``owner``'s open items after ``since``: in
    the threads named for them, and for their items in threads named for
    someone else (keys ending in ``:<owner>``, ``Step.key``)."""
    stmt = (
        select(FollowUp.recipient, FollowUp.key, DigestMessage.owner)
        .join(DigestMessage, col(FollowUp.thread_id) == col(DigestMessage.id))
        .where((DigestMessage.owner == owner) | col(FollowUp.key).endswith(f":{owner}"), FollowUp.kind == "escalate")
    )
    if since is not None:
        stmt = stmt.where(col(FollowUp.sent_at) > since)
    return sorted({recipient for recipient, key, named in session.exec(stmt).all() if (key_owner(key) or named) == owner})


def last_activity_of(*, session: Session, owner: str) -> datetime | None:
    value = session.exec(
        select(func.max(DigestMessage.last_activity_at)).where(DigestMessage.owner == owner, DigestMessage.page == 0)
    ).one()
    return _aware(value)


def acknowledge_thread(*, session: Session, message_id: int, user: str, now: datetime) -> None:
    session.exec(
        update(DigestMessage)
        .where(col(DigestMessage.id) == message_id)
        .values(acknowledged_at=now, acknowledged_by=user, last_activity_at=now)
    )


def touch_thread(*, session: Session, message_id: int, now: datetime) -> None:
    """Owner-side activity on a digest thread: restarts its quiet period.
    ``message_id`` may be any page; the owner's first page carries the state."""
    message = session.get(DigestMessage, message_id)
    if message is None:
        return
    first = message if message.page == 0 else find_first_page(session=session, digest_day=message.digest_day, owner=message.owner)
    if first is not None:
        session.exec(update(DigestMessage).where(col(DigestMessage.id) == first.id).values(last_activity_at=now))


# --- open items follow their owner ----------------------------------------------------



@dataclass(frozen=True, slots=True)
class PostedItem:
    """An open item on a digest message: whom it names, and what decides who covers it."""

    item_id: int
    owner: str | None
    category: str
    branch: str
    message_id: int
    digest_day: date
    message_owner: str


def list_open_posted_items(*, session: Session) -> list[PostedItem]:
    """Open items (awaiting an answer, a fix, or CS's review) on digest messages."""
    rows = session.exec(
        select(Item.id, Item.owner, Item.category, Item.branch, DigestMessage.id, DigestMessage.digest_day, DigestMessage.owner)
        .join(DigestMessage, col(Item.digest_message_id) == col(DigestMessage.id))
        .where(open_item())
        .order_by(Item.id)
    ).all()
    return [PostedItem(*row) for row in rows]


def hand_over_items(*, session: Session, item_ids: Sequence[int], owner: str) -> None:
    """The items now belong to ``owner``; the messages showing them are one
    version newer, so the next refresh shows it."""
    ids = sorted(item_ids)
    session.exec(update(Item).where(col(Item.id).in_(ids)).values(owner=owner))
    messages = select(Item.digest_message_id).where(col(Item.id).in_(ids))
    session.exec(
        update(DigestMessage).where(col(DigestMessage.id).in_(messages)).values(version=DigestMessage.version + 1)
        .execution_options(synchronize_session=False)
    )


def hand_over_thread(*, session: Session, digest_day: date, owner: str, to: str) -> bool:
    """Every page of ``owner``'s digest of ``digest_day`` now names ``to`` (one
    version newer each); False when ``to`` already has a digest that day (the
    pages then keep their name)."""
    taken = session.exec(select(func.count()).select_from(DigestMessage).where(DigestMessage.digest_day == digest_day, DigestMessage.owner == to)).one()
    if taken:
        return False
    session.exec(
        update(DigestMessage).where(DigestMessage.digest_day == digest_day, DigestMessage.owner == owner)
        .values(owner=to, version=DigestMessage.version + 1)
        .execution_options(synchronize_session=False)
    )
    return True


def list_thread_open_item_keys(*, session: Session, digest_day: date, owner: str) -> list[tuple[str | None, str, str]]:
    """(stored owner, category, branch) of the open items on an owner's digest of one day."""
    return list(
        session.exec(
            select(Item.owner, Item.category, Item.branch)
            .join(DigestMessage, col(Item.digest_message_id) == col(DigestMessage.id))
            .where(DigestMessage.digest_day == digest_day, DigestMessage.owner == owner, col(Item.status).in_(OPEN_STATUSES))
            .order_by(Item.id)
        ).all()
    )
