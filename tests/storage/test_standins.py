"""Stand-in storage on SQLite and PostgreSQL: in force by time, one per
owner (keyed by the owner's Slack user), ending, and an audit row for each
naming and ending."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import select

from storage import standins
from storage.db import transaction
from storage.models import AuditEntry, StandIn

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 30, 10, 0, tzinfo=SHANGHAI)
ENDS = datetime(2026, 12, 6, 0, 0, tzinfo=SHANGHAI)  # through 2026-12-05


NAMES = {"U0OWNERY": "大件配送", "U0OWNERZ": "小件配送"}


def name(session_factory, owner: str = "U0OWNERY", user: str = "U0LI", *, by: str = "U0OWNERY", role: str = "owner", now: datetime = NOW):
    with transaction(session_factory) as session:
        stand_in, replaced = standins.name_stand_in(
            session=session, owner_user=owner, owners=NAMES[owner], user=user, until=date(2026, 12, 5), ends_at=ENDS, by=by, role=role, now=now,
        )
        return stand_in.id, [s.id for s in replaced]


def in_force(session_factory, now: datetime) -> dict[str, str]:
    with transaction(session_factory) as session:
        return standins.in_force_by_owner_user(session=session, now=now)


def audit(session_factory) -> list[tuple]:
    with transaction(session_factory) as session:
        rows = session.exec(select(AuditEntry).order_by(AuditEntry.id)).all()
    return [(a.item_id, a.stand_in_id, a.actor, a.role, a.surface, a.action, a.from_status, a.to_status, a.note) for a in rows]


def test_a_stand_in_is_in_force_from_now_through_its_last_day(session_factory) -> None:
    first, replaced = name(session_factory)

    assert replaced == []
    assert in_force(session_factory, NOW - timedelta(seconds=1)) == {}
    assert in_force(session_factory, NOW) == {"U0OWNERY": "U0LI"}
    assert in_force(session_factory, ENDS - timedelta(seconds=1)) == {"U0OWNERY": "U0LI"}
    assert in_force(session_factory, ENDS) == {}  # expired by itself: no job, no row changed
    with transaction(session_factory) as session:
        assert standins.list_in_force(session=session, now=ENDS) == []
        assert standins.stand_in_for(session=session, owner_user="U0OWNERY", now=NOW) == "U0LI"
        assert standins.stand_in_for(session=session, owner_user="U0OWNERZ", now=NOW) is None
        row = session.get(StandIn, first)
    assert (row.owner_user, row.user, row.until, row.set_by, row.ended_at, row.ended_by) == ("U0OWNERY", "U0LI", date(2026, 12, 5), "U0OWNERY", None, None)
    assert row.starts_at == NOW and row.ends_at == ENDS
    assert audit(session_factory) == [(None, first, "U0OWNERY", "owner", "command", "away_set", "", "", "大件配送 (<@U0OWNERY>): <@U0LI> until 2026-12-05")]


def test_naming_another_replaces_the_one_in_force(session_factory) -> None:
    first, _ = name(session_factory)
    later = NOW + timedelta(hours=1)
    second, replaced = name(session_factory, user="U0WANG", by="U0OPSHEAD", role="manager", now=later)

    assert replaced == [first]
    assert in_force(session_factory, later) == {"U0OWNERY": "U0WANG"}
    with transaction(session_factory) as session:
        old = session.get(StandIn, first)
    assert (old.ended_at, old.ended_by) == (later, "U0OPSHEAD")
    assert [(r[1], r[2], r[3], r[5]) for r in audit(session_factory)] == [
        (first, "U0OWNERY", "owner", "away_set"), (first, "U0OPSHEAD", "manager", "away_end"), (second, "U0OPSHEAD", "manager", "away_set"),
    ]


def test_ending_ends_only_that_owner_s_stand_in(session_factory) -> None:
    y, _ = name(session_factory)
    z, _ = name(session_factory, owner="U0OWNERZ", user="U0WANG", by="U0OWNERZ")
    later = NOW + timedelta(minutes=5)

    with transaction(session_factory) as session:
        ended = [s.id for s in standins.end_stand_ins(session=session, owner_user="U0OWNERY", owners="大件配送", by="U0CSLEAD", role="cs_lead", now=later)]
    with transaction(session_factory) as session:
        again = standins.end_stand_ins(session=session, owner_user="U0OWNERY", owners="大件配送", by="U0CSLEAD", role="cs_lead", now=later)

    assert ended == [y] and again == []
    assert in_force(session_factory, later) == {"U0OWNERZ": "U0WANG"}
    assert [(r[1], r[2], r[5]) for r in audit(session_factory)][-1] == (y, "U0CSLEAD", "away_end")
    with transaction(session_factory) as session:
        assert [a.action for a in standins.list_stand_in_audit(session=session, stand_in_id=z)] == ["away_set"]


def test_an_ended_stand_in_is_not_in_force_even_before_its_last_day(session_factory) -> None:
    name(session_factory)
    with transaction(session_factory) as session:
        standins.end_stand_ins(session=session, owner_user="U0OWNERY", owners="大件配送", by="U0OWNERY", role="owner", now=NOW + timedelta(hours=1))
    assert in_force(session_factory, NOW + timedelta(hours=2)) == {}
    assert in_force(session_factory, NOW + timedelta(minutes=30)) == {"U0OWNERY": "U0LI"}  # it was, until it ended
