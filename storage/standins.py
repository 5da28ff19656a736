"""Stand-ins for owners on leave: naming, ending, and who is in force now.

A stand-in is in force while ``starts_at <= now < ends_at`` and it had not
been ended by ``now``; expired rows need no job, every query filters by ``now``.
A stand-in is keyed by the owner's Slack user (``owner_user``), not an owner's
name in the routing file: the command is per person, and a name may change
(hot reload) while the person on leave stays the same. Naming a stand-in for an
owner ends the one in force (one at a time per owner).
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


def list_in_force(*, session: Session, now: datetime, owner_users: Iterable[str] | None = None) -> Sequence[StandIn]:
    """The stand-ins in force at ``now`` (of ``owner_users`` if given), oldest first."""
    query = _in_force(now)
    if owner_users is not None:
        query = query.where(col(StandIn.owner_user).in_(list(owner_users)))
    return session.exec(query.order_by(StandIn.id)).all()


def in_force_by_owner_user(*, session: Session, now: datetime) -> dict[str, str]:
    """The owner's Slack user -> the user standing in for them now (the
    latest named, should two overlap): the ``stand_ins`` of ``Routing.role_for``."""
    return {s.owner_user: s.user for s in list_in_force(session=session, now=now)}


def stand_in_for(*, session: Session, owner_user: str, now: datetime) -> str | None:
    found = session.exec(_in_force(now).where(StandIn.owner_user == owner_user).order_by(col(StandIn.id).desc())).first()
    return found.user if found else None


def _audit(session: Session, stand_in: StandIn, *, action: str, actor: str, role: str, now: datetime, owners: str) -> None:
    """``owners``: the owner's names in the routing file when it happened, for the record."""
    note = f"{owners} (<@{stand_in.owner_user}>): <@{stand_in.user}> until {stand_in.until.isoformat()}"
    session.add(
        AuditEntry(
            stand_in_id=stand_in.id, at=now, actor=actor, role=role, surface=Surface.COMMAND, action=action,
            from_status="", to_status="", note=note,
        )
    )


def end_stand_ins(*, session: Session, owner_user: str, owners: str, by: str, role: str, now: datetime) -> list[StandIn]:
    """End the stand-ins of ``owner_user`` in force now, with an audit row
    each (``owners``: their names, for its note); those ended."""
    ended = list(session.exec(_in_force(now).where(StandIn.owner_user == owner_user).order_by(StandIn.id).with_for_update()).all())
    for stand_in in ended:
        stand_in.ended_at, stand_in.ended_by = now, by
        session.add(stand_in)
        _audit(session, stand_in, action=AUDIT_END, actor=by, role=role, now=now, owners=owners)
    session.flush()
    return ended


def name_stand_in(
    *, session: Session, owner_user: str, owners: str, user: str, until: date, ends_at: datetime, by: str, role: str, now: datetime,
) -> tuple[StandIn, list[StandIn]]:
    """Name ``user`` stand-in for the owner ``owner_user`` (``owners``: their
    names, for the audit note) from ``now`` to ``ends_at``; the one in force
    before is ended. (The new row, those ended.)"""
    replaced = end_stand_ins(session=session, owner_user=owner_user, owners=owners, by=by, role=role, now=now)
    stand_in = StandIn(owner_user=owner_user, user=user, starts_at=now, until=until, ends_at=ends_at, set_by=by)
    session.add(stand_in)
    session.flush()
    _audit(session, stand_in, action=AUDIT_SET, actor=by, role=role, now=now, owners=owners)
    session.flush()
    return stand_in, replaced


def list_stand_in_audit(*, session: Session, stand_in_id: int) -> Sequence[AuditEntry]:
    return session.exec(select(AuditEntry).where(AuditEntry.stand_in_id == stand_in_id).order_by(AuditEntry.id)).all()
