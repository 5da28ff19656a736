"""Queries behind the App Home (keyword-only, in the caller's session): who
opened their Home and what it showed last, and what the Homes show that no
other module reads this way (the open items, failed sends, held reports,
change marks).

Errors: none of its own.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import and_, case, false, func, null, or_, true, update
from sqlmodel import Session, col, select

from bot.core.home import FailedKind, FailedSend, ItemList, ListQuery
from bot.core.lifecycle import Status
from bot.core.routing import Owner, Routing
from storage.models import AuditEntry, DigestMessage, FileUpload, FollowUp, HomeView, Item, LetterEvent, RejectionReport, StandIn
from storage.queries import dialect_insert

# --- who opened their Home ----------------------------------------------------------


def note_opened(*, session: Session, user: str, now: datetime) -> None:
    """``user`` opened their Home (a first time, or again)."""
    stmt = dialect_insert(session, HomeView.__table__).values(
        user=user, opened_at=now, content_hash="", slack_hash="", attempts=0, error="",
    )
    session.exec(stmt.on_conflict_do_update(index_elements=["user"], set_={"opened_at": now}))


def find_home(*, session: Session, user: str) -> HomeView | None:
    home = session.get(HomeView, user)
    if home is not None:
        session.refresh(home)
    return home


def list_homes(*, session: Session) -> Sequence[HomeView]:
    """Every Home opened at least once, those least recently published first."""
    return session.exec(select(HomeView).order_by(col(HomeView.published_at).is_not(None), HomeView.published_at, HomeView.user)).all()


def set_published(*, session: Session, user: str, content_hash: str, slack_hash: str, now: datetime) -> None:
    session.exec(
        update(HomeView).where(col(HomeView.user) == user)
        .values(content_hash=content_hash, slack_hash=slack_hash, published_at=now, attempts=0, error="")
    )


def set_failed(*, session: Session, user: str, error: str) -> None:
    """A publish failed: the next pass tries again (``content_hash`` stays as Slack shows it)."""
    session.exec(update(HomeView).where(col(HomeView.user) == user).values(attempts=HomeView.attempts + 1, error=error[:500]))


# --- what the Homes show ---------------------------------------------------------------


def _covers(owner: Owner):
    """``Owner.covers`` in SQL."""
    clause = col(Item.category).in_(owner.categories)
    return and_(clause, col(Item.branch).in_(owner.branches)) if owner.branches else clause


# id(routing) -> (routing, its expression): built once per routing. A cache of a
# pure function of the routing (no service, no connection), shared by the Home
# threads under its lock.
_OWNER_NOW: dict[int, tuple[Routing, object]] = {}
_OWNER_NOW_LOCK = threading.Lock()


def owner_now_name(routing: Routing):
    """``Routing.owner_now(item.owner, item.category, item.branch)``'s name in
    SQL (NULL: nobody covers the item): the stored owner while it is in the
    file and covers the item, else the first owner in file order that does.
    Kept for the routing it was built from (building it costs more than the
    statements it goes into take to run)."""
    with _OWNER_NOW_LOCK:
        cached = _OWNER_NOW.get(id(routing))
        if cached is not None and cached[0] is routing:
            return cached[1]
    expression = _owner_now_name(routing)
    with _OWNER_NOW_LOCK:
        while len(_OWNER_NOW) >= 4:  # a routing reload: forget the oldest
            _OWNER_NOW.pop(next(iter(_OWNER_NOW)))
        _OWNER_NOW[id(routing)] = (routing, expression)
    return expression


def _owner_now_name(routing: Routing):
    whens = [(and_(Item.owner == o.name, _covers(o)), o.name) for o in routing.owners]
    whens += [(_covers(o), o.name) for o in routing.owners]
    return case(*whens, else_=null()) if whens else null()


def _list_filter(query: ListQuery, routing: Routing) -> list:
    where = [col(Item.status).in_([str(s) for s in query.statuses])]
    if query.owners is not None:
        if not query.owners:
            return [false()]
        # Whoever answers for an item covers it: the index (status, category,
        # branch) narrows the rows to those, the CASE picks the owner now.
        where.append(or_(*(_covers(o) for o in query.owners)))
        where.append(owner_now_name(routing).in_([o.name for o in query.owners]))
    if query.agents is not None:
        where.append(func.trim(Item.callback_agent).in_(query.agents) if query.agents else false())
    if query.unrouted:
        where.append(~or_(*(_covers(o) for o in routing.owners)) if routing.owners else true())
    return where


def list_home_items(*, session: Session, query: ListQuery, routing: Routing, limit: int) -> ItemList:
    """One list of one person's Home (``bot.core.home.item_lists`` is the
    reference): its first ``limit`` items in the list's order, and its total.
    Three statements, whatever the number of open items: the count and the
    first ids from the index ``ix_item_home`` alone, then those rows."""
    where = _list_filter(query, routing)
    total = session.exec(select(func.count(col(Item.id))).where(*where)).one()
    if not total or limit <= 0:
        return ItemList((), total)
    order_no = col(Item.order_no)
    if session.get_bind().dialect.name == "postgresql":
        order_no = order_no.collate("C")  # code point order, as Python's (SQLite's BINARY is)
    order = [col(Item.rejected_on), order_no, col(Item.id)]
    if query.by_deadline:
        order.insert(0, col(Item.deadline).asc().nulls_last())
    ids = list(session.exec(select(Item.id).where(*where).order_by(*order).limit(limit)).all())
    rows = {item.id: item for item in session.exec(select(Item).where(col(Item.id).in_(ids))).all()}
    return ItemList(tuple(rows[i] for i in ids if i in rows), total)


def list_failed_sends(*, session: Session, limit: int) -> list[FailedSend]:
    """What the bot could not send and stopped or keeps failing at: digest
    messages not posted with their last error, follow-ups it gave up on, files
    not shared after a failed try. Newest first, at most ``limit`` of each."""
    failed: list[FailedSend] = []
    for m in session.exec(
        select(DigestMessage).where(col(DigestMessage.ts).is_(None), DigestMessage.last_error != "")
        .order_by(col(DigestMessage.id).desc()).limit(limit)
    ).all():
        failed.append(FailedSend(FailedKind.DIGEST, f"{m.digest_day.isoformat()} {m.owner} #{m.page + 1}", m.attempted_at, m.last_error))
    for f in session.exec(
        select(FollowUp).where(col(FollowUp.gave_up_at).is_not(None), col(FollowUp.ts).is_(None))
        .order_by(col(FollowUp.gave_up_at).desc()).limit(limit)
    ).all():
        failed.append(FailedSend(FailedKind.FOLLOW_UP, f.recipient, f.gave_up_at, f.error))
    for u in session.exec(
        select(FileUpload).where(col(FileUpload.shared_at).is_(None), FileUpload.attempts > 0)
        .order_by(col(FileUpload.id).desc()).limit(limit)
    ).all():
        failed.append(FailedSend(FailedKind.UPLOAD, u.filename, u.created_at, u.error))
    return failed


def list_held_reports(*, session: Session) -> Sequence[tuple[RejectionReport, Item]]:
    """Reports not decided whose record is held for CS's Keep or Drop, newest first."""
    return session.exec(
        select(RejectionReport, Item)
        .join(Item, col(RejectionReport.item_id) == col(Item.id))
        .where(col(RejectionReport.decision).is_(None), Item.status == Status.HELD)
        .order_by(col(RejectionReport.created_at).desc(), col(RejectionReport.id).desc())
    ).all()


def change_marks(*, session: Session) -> tuple:
    """The newest row of every table whose rows a Home shows (each an index
    look-up): while these stay the same, only time changes what a Home says."""
    return tuple(
        session.exec(select(func.max(column))).one()
        for column in (AuditEntry.id, Item.id, LetterEvent.id, FollowUp.id, DigestMessage.id, FileUpload.id, StandIn.id, RejectionReport.id)
    ) + (session.exec(select(func.count()).select_from(StandIn).where(col(StandIn.ended_at).is_not(None))).one(),)
