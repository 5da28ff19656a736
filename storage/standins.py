"""Stand-ins for owners on leave: naming, ending, and who is in force now.

A stand-in is in force while ``starts_at <= now < ends_at`` and it had not
been ended by ``now``; expired rows need no job, every query filters by ``now``. Naming
a stand-in for an owner ends the one in force (one at a time per owner).
Every naming and ending writes an audit row in the same transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime

from sqlalchemy import or_
from sqlmodel import Session, col, select

from bot.core.away import AUDIT_END, AUDIT_SET
from bot.core.lifecycle import Surface
from storage.models import AuditEntry, StandIn


def _in_force(now: datetime):
    ended_later = or_(col(StandIn.ended_at).is_(None), col(StandIn.ended_at) > now)
    return select(StandIn).where(ended_later, StandIn.starts_at <= now, StandIn.ends_at > now)


def list_in_force(*, session: Session, now: datetime, owners: Iterable[str] | None = None) -> Sequence[StandIn]:
    """The stand-ins in force at ``now`` (of ``owners`` if given), oldest first."""
    query = _in_force(now)
    if owners is not None:
        query = query.where(col(StandIn.owner).in_(list(owners)))
    return session.exec(query.order_by(StandIn.id)).all()


def in_force_by_owner(*, session: Session, now: datetime) -> dict[str, str]:
    """Owner name -> the user standing in for them now (the latest named, should two overlap)."""
    return {s.owner: s.user for s in list_in_force(session=session, now=now)}


def stand_in_for(*, session: Session, owner: str, now: datetime) -> str | None:
    found = session.exec(_in_force(now).where(StandIn.owner == owner).order_by(col(StandIn.id).desc())).first()
    return found.user if found else None


def _audit(session: Session, stand_in: StandIn, *, action: str, actor: str, role: str, now: datetime) -> None:
    note = f"{stand_in.owner}: <@{stand_in.user}> until {stand_in.until.isoformat()}"
    session.add(
        AuditEntry(
            stand_in_id=stand_in.id, at=now, actor=actor, role=role, surface=Surface.COMMAND, action=action,
            from_status="", to_status="", note=note,
        )
    )


def end_stand_ins(*, session: Session, owner: str, by: str, role: str, now: datetime) -> list[StandIn]:
    """End the stand-ins of ``owner`` in force now, with an audit row each; those ended."""
    ended = list(session.exec(_in_force(now).where(StandIn.owner == owner).with_for_update()).all())
    for stand_in in ended:
        stand_in.ended_at, stand_in.ended_by = now, by
        session.add(stand_in)
        _audit(session, stand_in, action=AUDIT_END, actor=by, role=role, now=now)
    session.flush()
    return ended


def name_stand_in(
    *, session: Session, owner: str, user: str, until: date, ends_at: datetime, by: str, role: str, now: datetime,
) -> tuple[StandIn, list[StandIn]]:
    """Name ``user`` stand-in for ``owner`` from ``now`` to ``ends_at``; the
    one in force before is ended. (The new row, those ended.)"""
    replaced = end_stand_ins(session=session, owner=owner, by=by, role=role, now=now)
    stand_in = StandIn(owner=owner, user=user, starts_at=now, until=until, ends_at=ends_at, set_by=by)
    session.add(stand_in)
    session.flush()
    _audit(session, stand_in, action=AUDIT_SET, actor=by, role=role, now=now)
    session.flush()
    return stand_in, replaced


def list_stand_in_audit(*, session: Session, stand_in_id: int) -> Sequence[AuditEntry]:
    return session.exec(select(AuditEntry).where(AuditEntry.stand_in_id == stand_in_id).order_by(AuditEntry.id)).all()
