"""Every query the services run (imports live in ``storage.imports``).

``get_*`` returns one row or raises, ``find_*`` returns a row or ``None``,
``list_*`` a sequence. All functions are keyword-only and run inside the
caller's session and transaction.

Errors: ``NotFound``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from sqlalchemy import and_, case, event, func, or_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import undefer
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, col, select

from bot.core.lifecycle import Action, Role, Status, Surface
from storage.models import AuditEntry, DigestMessage, Item, ReactionEffect, SideEffect


class NotFound(LookupError):
    pass


def dialect_insert(session: Session, table):
    """INSERT with ON CONFLICT support for the session's database."""
    name = session.get_bind().dialect.name
    return (postgresql.insert if name == "postgresql" else sqlite.insert)(table)


# --- side-effect ledger ----------------------------------------------------------


class Claim(StrEnum):
    NEW = "new"  # first claim: do the work
    RESUMED = "resumed"  # an earlier claimant's lease ran out unfinished: finish its work
    BUSY = "busy"  # someone else holds a live lease
    DONE = "done"  # already done


def claim_effect(*, session: Session, key: str, now: datetime, lease: timedelta) -> Claim:
    stmt = (
        dialect_insert(session, SideEffect.__table__)
        .values(key=key, claimed_at=now, lease_until=now + lease, done_at=None, detail="")
        .on_conflict_do_nothing(index_elements=["key"])
        .returning(SideEffect.key)  # rowcount is not reliable for this on psycopg
    )
    if session.exec(stmt).first() is not None:
        return Claim.NEW
    row = session.exec(select(SideEffect).where(SideEffect.key == key)).one()
    session.refresh(row)
    if row.done_at is not None:
        return Claim.DONE
    if row.lease_until > now:
        return Claim.BUSY
    taken = session.exec(
        update(SideEffect)
        .where(col(SideEffect.key) == key, col(SideEffect.lease_until) == row.lease_until, col(SideEffect.done_at).is_(None))
        .values(lease_until=now + lease, claimed_at=now)
    ).rowcount
    return Claim.RESUMED if taken == 1 else Claim.BUSY


def _held(key: str, holder: datetime | None):
    """The row of ``key``, and when ``holder`` is given only while that claim
    (its ``claimed_at``) still holds it: a claimant whose lease ran out and
    was resumed by another must not renew, release or finish that one's claim."""
    where = [col(SideEffect.key) == key]
    if holder is not None:
        where.append(col(SideEffect.claimed_at) == holder)
    return where


def renew_effect(*, session: Session, key: str, until: datetime, holder: datetime | None = None) -> bool:
    """Extend the lease; False when ``holder`` no longer holds the claim."""
    return session.exec(update(SideEffect).where(*_held(key, holder)).values(lease_until=until)).rowcount == 1


def release_effect(*, session: Session, key: str, now: datetime, holder: datetime | None = None) -> bool:
    """Let the lease of an unfinished claim run out now, so that the next run
    resumes the work (the digest leaves pages that Slack refused for it).
    False when ``holder`` no longer holds the claim (then nothing changes)."""
    return session.exec(
        update(SideEffect).where(*_held(key, holder), col(SideEffect.done_at).is_(None)).values(lease_until=now)
    ).rowcount == 1


def finish_effect(*, session: Session, key: str, now: datetime, detail: str = "", holder: datetime | None = None) -> bool:
    """Mark the effect done; False when ``holder`` no longer holds the claim."""
    return session.exec(update(SideEffect).where(*_held(key, holder)).values(done_at=now, detail=detail)).rowcount == 1


def find_effect(*, session: Session, key: str) -> SideEffect | None:
    return session.get(SideEffect, key)


def set_effect_detail(*, session: Session, key: str, detail: str) -> None:
    session.exec(update(SideEffect).where(col(SideEffect.key) == key).values(detail=detail))


def list_unfinished_effects(*, session: Session, prefixes: Sequence[str], now: datetime) -> Sequence[SideEffect]:
    """Claimed effects with one of ``prefixes`` that are not done and whose
    lease is over (their claimant failed or died), oldest first."""
    return session.exec(
        select(SideEffect)
        .where(
            col(SideEffect.done_at).is_(None), col(SideEffect.lease_until) <= now,
            or_(*[col(SideEffect.key).startswith(p) for p in prefixes]),
        )
        .order_by(SideEffect.claimed_at)
    ).all()


def record_once(*, session: Session, key: str, now: datetime) -> bool:
    """Mark a one-shot effect (e.g. handling a Slack event) as done; False if it
    already was."""
    stmt = (
        dialect_insert(session, SideEffect.__table__)
        .values(key=key, claimed_at=now, lease_until=now, done_at=now, detail="")
        .on_conflict_do_nothing(index_elements=["key"])
        .returning(SideEffect.key)
    )
    return session.exec(stmt).first() is not None


# --- items ---------------------------------------------------------------------------


def get_item(*, session: Session, item_id: int) -> Item:
    item = session.get(Item, item_id)
    if item is None:
        raise NotFound(f"no item {item_id}")
    return item


def find_item(*, session: Session, item_id: int) -> Item | None:
    return session.get(Item, item_id)


def list_routing_keys(*, session: Session, status: Status) -> Sequence:
    """What routing, ordering and page sizes need of the items in ``status`` —
    id, order number, rejection day, branch, delivery type, and the facts a
    digest page shows (``bot.core.digest.paginate`` budgets pages by their
    text) — as light rows, not ORM objects (the digest plans thousands at a time)."""
    return session.exec(
        select(
            Item.id, Item.order_no, Item.rejected_on, Item.branch, Item.category,
            Item.scenario, Item.customer, Item.callback_agent, Item.note,
            Item.report_shown,  # a kept record's report shows on its line
        ).where(Item.status == status).order_by(Item.id)
    ).all()


def list_items_by_status(*, session: Session, status: Status) -> Sequence[Item]:
    return session.exec(select(Item).where(Item.status == status).order_by(Item.id)).all()


def list_items_by_orders(*, session: Session, orders: Iterable[str]) -> Sequence[Item]:
    orders = list(orders)
    if not orders:
        return []
    return session.exec(
        select(Item).where(col(Item.order_no).in_(orders)).order_by(Item.order_no, col(Item.rejected_on).desc())
    ).all()


def list_items_for_owners(*, session: Session, owners: Iterable[str], status: Status) -> Sequence[Item]:
    owners = list(owners)
    if not owners:
        return []
    return session.exec(
        select(Item).where(col(Item.owner).in_(owners), Item.status == status).order_by(Item.id)
    ).all()


def list_items_on_message(*, session: Session, message_id: int) -> Sequence[Item]:
    """The items a digest message shows (with the remedy of fixed ones)."""
    return session.exec(
        select(Item)
        .where(Item.digest_message_id == message_id)
        .options(undefer(Item.fix_note))
        .order_by(Item.rejected_on, Item.branch, Item.order_no)
    ).all()


def list_items_of_day(*, session: Session, digest_day: date) -> Sequence[Item]:
    """Every item on the digest messages of one day, in the order a message shows them."""
    return session.exec(
        select(Item)
        .join(DigestMessage, col(Item.digest_message_id) == col(DigestMessage.id))
        .where(DigestMessage.digest_day == digest_day)
        .options(undefer(Item.fix_note))
        .order_by(Item.rejected_on, Item.branch, Item.order_no)
    ).all()


def count_items_of_digest(*, session: Session, digest_day: date, owner: str) -> tuple[int, int]:
    """(all but the voided, awaiting) items on one owner's digest messages of
    one day: a voided item is CS's own correction, not a mistaken rejection."""
    total, awaiting = session.exec(
        select(func.count().filter(Item.status != Status.VOIDED), func.count().filter(Item.status == Status.AWAITING))
        .select_from(Item)
        .join(DigestMessage, col(Item.digest_message_id) == col(DigestMessage.id))
        .where(DigestMessage.digest_day == digest_day, DigestMessage.owner == owner)
    ).one()
    return total, awaiting


def list_items_by_ids(*, session: Session, item_ids: Iterable[int]) -> Sequence[Item]:
    ids = list(item_ids)
    if not ids:
        return []
    return session.exec(select(Item).where(col(Item.id).in_(ids)).order_by(Item.id)).all()


@dataclass(frozen=True, slots=True)
class Change:
    """One state change, for ``transition_item``."""

    action: Action
    new_status: Status
    actor: str
    role: Role
    surface: Surface
    note: str = ""


DECIDED_STATUSES = (Status.CONFIRMED, Status.DEEMED_CONFIRMED)


def _change_values(change: Change, now: datetime) -> dict:
    values = dict(status=change.new_status, updated_at=now, last_actor=change.actor, last_surface=change.surface)
    if change.new_status in DECIDED_STATUSES:
        values["decided_at"] = now  # the fix window runs from here
    return values


def transition_item(*, session: Session, item: Item, change: Change, now: datetime) -> bool:
    """Compare-and-set the item's status and write the audit row; False when
    someone else changed the item first (nothing is written then)."""
    expected = item.status
    changed = session.exec(
        update(Item)
        .where(col(Item.id) == item.id, col(Item.status) == expected)
        .values(**_change_values(change, now))
        .execution_options(synchronize_session=False)
    ).rowcount
    if changed != 1:
        session.refresh(item)
        return False
    session.add(
        AuditEntry(
            item_id=item.id, at=now, actor=change.actor, role=change.role, surface=change.surface,
            action=change.action, from_status=expected, to_status=change.new_status, note=change.note,
        )
    )
    for name, value in _change_values(change, now).items():  # what the UPDATE wrote; no reload
        set_committed_value(item, name, value)
    _note_changed(session, [item.id])
    return True


def transition_many(*, session: Session, item_ids: Sequence[int], expected: Status, change: Change, now: datetime) -> list[int]:
    """``transition_item`` for many items in one statement; returns the ids
    that were still in ``expected`` and so changed (each with its audit row)."""
    if not item_ids:
        return []
    changed = session.exec(
        update(Item)
        .where(col(Item.id).in_(list(item_ids)), col(Item.status) == expected)
        .values(**_change_values(change, now))
        .returning(Item.id)
        .execution_options(synchronize_session=False)
    ).scalars().all()
    if changed:
        session.exec(
            dialect_insert(session, AuditEntry.__table__),
            params=[
                dict(item_id=i, at=now, actor=change.actor, role=change.role, surface=change.surface,
                     action=change.action, from_status=expected, to_status=change.new_status, note=change.note)
                for i in changed
            ],
        )
        _note_changed(session, changed)
    return list(changed)


def assign_to_message(*, session: Session, item_ids: Sequence[int], owner: str, message_id: int, deadline: datetime | None) -> None:
    """Put items on a digest message; their ``deadline`` stays ``None`` until
    the message is posted (``set_message_posted`` sets it)."""
    session.exec(
        update(Item)
        .where(col(Item.id).in_(list(item_ids)))
        .values(owner=owner, digest_message_id=message_id, deadline=deadline)
        .execution_options(synchronize_session=False)  # the planner does not read these back
    )


def list_audit(*, session: Session, item_id: int) -> Sequence[AuditEntry]:
    return session.exec(select(AuditEntry).where(AuditEntry.item_id == item_id).order_by(AuditEntry.id)).all()


# --- what digest messages show ----------------------------------------------------
#
# Every item change makes the digest messages showing it (and the owner's first
# page, whose head counts every page) one version newer, in the same
# transaction. The bump is made once, just before the commit, for all the
# transaction's changes in message-id order: two transactions changing items on
# the same messages in a different order then queue instead of deadlocking.

_CHANGED = "changed_item_ids"  # session.info: items changed in the open transaction


def _note_changed(session: Session, item_ids: Iterable[int]) -> None:
    session.info.setdefault(_CHANGED, set()).update(item_ids)


def bump_message_versions(session: Session) -> None:
    """Make the messages showing the items changed in this transaction one
    version newer (the session runs it before each commit; see ``watch_changes``)."""
    item_ids = session.info.pop(_CHANGED, None)
    if not item_ids:
        return
    rows = session.exec(
        select(DigestMessage.id, DigestMessage.digest_day, DigestMessage.owner, DigestMessage.page).where(
            col(DigestMessage.id).in_(select(Item.digest_message_id).where(col(Item.id).in_(sorted(item_ids))))
        )
    ).all()
    ids = {row[0] for row in rows}
    continued = {(day, owner) for _, day, owner, page in rows if page > 0}
    if continued:
        ids.update(
            session.exec(
                select(DigestMessage.id).where(
                    DigestMessage.page == 0,
                    or_(*[and_(DigestMessage.digest_day == day, DigestMessage.owner == owner) for day, owner in sorted(continued)]),
                )
            ).all()
        )
    if ids:
        session.exec(
            update(DigestMessage)
            .where(col(DigestMessage.id).in_(sorted(ids)))
            .values(version=DigestMessage.version + 1)
            .execution_options(synchronize_session=False)
        )


def _forget_changes(session: Session, *_args) -> None:
    session.info.pop(_CHANGED, None)


def watch_changes(session: Session) -> Session:
    """Have ``session`` bump message versions before each commit (and forget
    the changes of a rolled-back transaction). ``storage.db`` does this for
    every session it makes."""
    event.listen(session, "before_commit", bump_message_versions)
    event.listen(session, "after_rollback", _forget_changes)
    return session


def list_stale_messages(*, session: Session, limit: int) -> Sequence[DigestMessage]:
    """Posted digest messages showing an older version than the database's:
    those never tried first, then by their last refresh attempt
    (``refresh_until`` once released), then oldest first — so messages that
    keep failing take turns with the others."""
    return session.exec(
        select(DigestMessage)
        .where(col(DigestMessage.ts).is_not(None), col(DigestMessage.shown_version) < col(DigestMessage.version))
        .order_by(col(DigestMessage.refresh_until).is_not(None), col(DigestMessage.refresh_until), DigestMessage.id)
        .limit(limit)
    ).all()


def claim_message_refresh(*, session: Session, message_id: int, now: datetime, until: datetime) -> DigestMessage | None:
    """Become the one refresher of a posted message (until ``until``): the
    message as it is now, or None when another refresher holds it. One at a
    time, so an older render can never overwrite a newer one in Slack."""
    return _lease_message(session=session, message_id=message_id, posted=True, now=now, until=until)


def mark_message_shown(*, session: Session, message_id: int, version: int) -> int:
    """Slack now shows ``version`` of the message (never moves backwards);
    returns the message's current version."""
    return session.exec(
        update(DigestMessage)
        .where(col(DigestMessage.id) == message_id)
        .values(shown_version=case((col(DigestMessage.shown_version) < version, version), else_=col(DigestMessage.shown_version)))
        .returning(DigestMessage.version)
    ).scalar_one()


def release_message_refresh(*, session: Session, message_id: int, attempted_at: datetime) -> None:
    """The refresher is done with the message: ``refresh_until`` becomes the
    time of its attempt (free to claim from then on, and what orders the
    stale list: the least recently tried first)."""
    session.exec(update(DigestMessage).where(col(DigestMessage.id) == message_id).values(refresh_until=attempted_at))


# --- digest messages ------------------------------------------------------------


def create_digest_message(*, session: Session, message: DigestMessage) -> DigestMessage:
    session.add(message)
    session.flush()
    return message


def list_digest_messages(*, session: Session, digest_day: date) -> Sequence[DigestMessage]:
    return session.exec(
        select(DigestMessage).where(DigestMessage.digest_day == digest_day).order_by(DigestMessage.id)
    ).all()


def get_digest_message(*, session: Session, message_id: int) -> DigestMessage:
    message = session.get(DigestMessage, message_id)
    if message is None:
        raise NotFound(f"no digest message {message_id}")
    return message


def find_digest_message(*, session: Session, channel: str, ts: str) -> DigestMessage | None:
    return session.exec(
        select(DigestMessage).where(DigestMessage.channel == channel, DigestMessage.ts == ts)
    ).first()


def find_first_page(*, session: Session, digest_day: date, owner: str) -> DigestMessage | None:
    return session.exec(
        select(DigestMessage).where(
            DigestMessage.digest_day == digest_day, DigestMessage.owner == owner, DigestMessage.page == 0
        )
    ).first()


PLANNED_VERSION = 1  # a planned message's version: the plan's one transaction moved its items to awaiting


def set_message_posted(*, session: Session, message_id: int, ts: str, thread_ts: str | None, now: datetime) -> None:
    """Record a posted message and give its items the deadline it shows. The
    message shows its planned state (``PLANNED_VERSION``), or its ``version``
    when that is lower (a message planned before versions were kept, still 0):
    so a change made since the plan (an answer by order number before the
    page went out) leaves it behind, to be refreshed. Frees its post claim."""
    shown = case((col(DigestMessage.version) < PLANNED_VERSION, col(DigestMessage.version)), else_=PLANNED_VERSION)
    session.exec(
        update(DigestMessage).where(col(DigestMessage.id) == message_id)
        .values(ts=ts, thread_ts=thread_ts, posted_at=now, in_doubt=False, last_error="", shown_version=shown, refresh_until=None)
    )
    deadline = select(DigestMessage.deadline).where(DigestMessage.id == message_id).scalar_subquery()
    session.exec(
        update(Item).where(col(Item.digest_message_id) == message_id).values(deadline=deadline)
        .execution_options(synchronize_session=False)
    )


def claim_message_post(*, session: Session, message_id: int, now: datetime, lease: timedelta) -> DigestMessage | None:
    """Take the right to try posting an unposted digest message until
    ``now + lease`` (kept in ``refresh_until``, which only posted messages
    otherwise use), so that two runs never post the same message at once.
    Returns the message as it is now, or ``None`` when it is posted already
    or another run's try holds it."""
    return _lease_message(session=session, message_id=message_id, posted=False, now=now, until=now + lease)


def _lease_message(*, session: Session, message_id: int, posted: bool, now: datetime, until: datetime) -> DigestMessage | None:
    """Take ``refresh_until`` (the lease of the one run that may post, or
    update, the message) when it is free and the message is (not) posted;
    the message as it is now, or None."""
    taken = session.exec(
        update(DigestMessage)
        .where(
            col(DigestMessage.id) == message_id,
            col(DigestMessage.ts).is_not(None) if posted else col(DigestMessage.ts).is_(None),
            col(DigestMessage.refresh_until).is_(None) | (col(DigestMessage.refresh_until) <= now),
        )
        .values(refresh_until=until)
        .returning(DigestMessage.id)
    ).first()
    if taken is None:
        return None
    return session.get(DigestMessage, message_id, populate_existing=True)  # one SELECT, fresh even if the session held it


def start_message_attempt(*, session: Session, message_id: int, deadline: datetime, now: datetime) -> None:
    """Count a try at posting a digest message, with the deadline it will
    show, before the post (so a run killed mid-post is seen by the next)."""
    session.exec(
        update(DigestMessage).where(col(DigestMessage.id) == message_id)
        .values(attempts=DigestMessage.attempts + 1, attempted_at=now, deadline=deadline, in_doubt=True)
    )


def set_message_failed(*, session: Session, message_id: int, error: str, in_doubt: bool, count_try: bool = False) -> None:
    """Why the last try failed; ``in_doubt=False`` when Slack's answer says
    for sure that nothing was posted (then no lookup is needed before the next).
    ``count_try`` counts a try that failed before its post (the lookup of an
    earlier try failed). Frees its post claim."""
    values: dict = dict(last_error=error[:2000], in_doubt=in_doubt, refresh_until=None)
    if count_try:
        values["attempts"] = DigestMessage.attempts + 1
    session.exec(update(DigestMessage).where(col(DigestMessage.id) == message_id).values(**values))


# --- reactions -------------------------------------------------------------------


def add_reaction_effect(*, session: Session, effect: ReactionEffect) -> None:
    session.add(effect)
    session.flush()


def find_reaction_effect(*, session: Session, channel: str, ts: str, user: str, reaction: str) -> ReactionEffect | None:
    """The newest not-yet-undone effect of this user's reaction on this message."""
    return session.exec(
        select(ReactionEffect)
        .where(
            ReactionEffect.channel == channel, ReactionEffect.message_ts == ts, ReactionEffect.user == user,
            ReactionEffect.reaction == reaction, col(ReactionEffect.undone_at).is_(None),
        )
        .order_by(col(ReactionEffect.id).desc())
    ).first()


def mark_reaction_undone(*, session: Session, effect_id: int, now: datetime) -> bool:
    return session.exec(
        update(ReactionEffect)
        .where(col(ReactionEffect.id) == effect_id, col(ReactionEffect.undone_at).is_(None))
        .values(undone_at=now)
    ).rowcount == 1
