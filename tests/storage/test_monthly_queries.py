"""``load_month`` on a real database (SQLite, and PostgreSQL when
``TEST_DATABASE_URL`` is set): what was stored comes back, cut at as_of."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.core.monthly import Month
from storage.db import transaction
from storage.models import AuditEntry, DigestMessage, FollowUp, Item, Penalty
from storage.monthly import load_month

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOV = Month(2025, 11)
AS_OF = datetime(2025, 12, 1, 9, 30, tzinfo=SHANGHAI)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


def seed(session_factory) -> dict[str, int]:
    """Three digest days (31 Oct, 28 Nov, 1 Dec) of 大件配送, one item each
    (and an item of 小件配送 on 28 Nov), with audit rows, escalations and a penalty."""
    ids: dict[str, int] = {}
    with transaction(session_factory) as session:
        messages = {}
        for day, owner in ((date(2025, 10, 31), "大件配送"), (date(2025, 11, 28), "大件配送"), (date(2025, 11, 28), "小件配送"), (date(2025, 12, 1), "大件配送")):
            message = DigestMessage(digest_day=day, owner=owner, channel="C0LOG", ts=f"{day:%m%d}.{len(owner)}", deadline=at("2025-11-28 18:00"), created_at=at("2025-11-28 08:30"))
            session.add(message)
            session.flush()
            messages[(day, owner)] = message.id
        for order, day, owner in (("OCT", date(2025, 10, 31), "大件配送"), ("NOV", date(2025, 11, 28), "大件配送"), ("SMALL", date(2025, 11, 28), "小件配送"), ("DEC", date(2025, 12, 1), "大件配送")):
            item = Item(
                order_no=order, rejected_on=day - timedelta(days=1), branch="南京分公司", category="large", status="confirmed",
                owner="改名后" if order == "NOV" else owner,  # the item's owner now; the month counts the message's
                customer="张三", callback_agent="王丽", note="n", digest_message_id=messages[(day, owner)],
                imported_at=at("2025-11-27 20:00"), updated_at=at("2025-11-28 10:00"),
            )
            session.add(item)
            session.flush()
            ids[order] = item.id
        rows = [
            ("NOV", "2025-11-28 08:30", "post", "new", "awaiting"),
            ("NOV", "2025-12-01 09:15", "confirm", "awaiting", "confirmed"),
            ("NOV", "2025-12-01 09:30", "fix", "confirmed", "fixed"),  # exactly as_of: kept
            ("NOV", "2025-12-01 09:31", "reopen", "fixed", "awaiting"),  # after as_of: cut
            ("SMALL", "2025-11-28 08:30", "post", "new", "awaiting"),
            ("OCT", "2025-10-31 08:30", "post", "new", "awaiting"),
            ("DEC", "2025-12-01 08:30", "post", "new", "awaiting"),
        ]
        for order, when, action, frm, to in rows:
            session.add(AuditEntry(item_id=ids[order], at=at(when), actor="U0X", role="owner", surface="button", action=action, from_status=frm, to_status=to, note="备注"))
        late_thread = messages[(date(2025, 10, 31), "大件配送")]
        for key, thread, level, when, ts in (
            ("escalate:1:1:a", late_thread, 1, "2025-11-03 13:00", "1.1"),  # an October thread, escalated in November: counts
            ("escalate:1:2:a", late_thread, 2, "2025-11-04 09:00", "1.2"),
            ("escalate:1:2:b:小件配送", late_thread, 2, "2025-11-05 09:00", "1.3"),  # the ladder of another owner's items in the thread
            ("escalate:1:1:c", late_thread, 1, "2025-10-31 17:00", "1.4"),  # October's
            ("escalate:1:1:d", late_thread, 1, "2025-12-01 09:00", "1.5"),  # December's
            ("escalate:1:1:e", late_thread, 1, "2025-11-06 09:00", None),  # claimed, never sent
            ("nudge:1:0:a", late_thread, 0, "2025-11-06 09:00", "1.6"),  # not an escalation
        ):
            session.add(FollowUp(key=key, kind=key.split(":")[0], thread_id=thread, level=level, recipient="U0HEAD", sent_at=at(when), channel="D1", ts=ts))
        session.add(Penalty(item_id=ids["NOV"], kind="cs_accuracy", person="王丽", amount=50, at=at("2025-11-30 10:00")))
        session.add(Penalty(item_id=ids["SMALL"], kind="cs_accuracy", person="王丽", amount=50, at=at("2025-12-01 10:00")))  # after as_of
        session.add(Penalty(item_id=ids["OCT"], kind="cs_accuracy", person="王丽", amount=50, at=at("2025-11-01 10:00")))  # October's item
    return ids


def test_load_month_returns_what_was_stored_cut_at_as_of(session_factory) -> None:
    ids = seed(session_factory)
    with transaction(session_factory) as session:
        items, escalations, penalties = load_month(
            session, month=NOV, as_of=AS_OF, tz=SHANGHAI, top_level={"大件配送": 2, "小件配送": 1}.get,
        )
    assert [(i.order_no, i.owner, i.digest_day) for i in items] == [
        ("NOV", "大件配送", date(2025, 11, 28)), ("SMALL", "小件配送", date(2025, 11, 28)),
    ]
    nov = items[0]
    assert (nov.id, nov.branch, nov.callback_agent, nov.customer, nov.rejected_on) == (ids["NOV"], "南京分公司", "王丽", "张三", date(2025, 11, 27))
    assert [r.action for r in nov.history] == ["post", "confirm", "fix"]
    assert nov.history[-1].at == AS_OF and nov.history[-1].at.tzinfo is not None
    assert nov.history[0].note == "备注" and nov.history[0].to_status == "awaiting"
    assert [(e.owner, e.level, e.top, e.sent_at) for e in escalations] == [
        ("大件配送", 1, False, at("2025-11-03 13:00")),
        ("大件配送", 2, True, at("2025-11-04 09:00")),
        ("小件配送", 2, False, at("2025-11-05 09:00")),
    ]
    assert [(p.item_id, p.amount, p.person) for p in penalties] == [(ids["NOV"], 50, "王丽")]


def test_an_earlier_as_of_cuts_more(session_factory) -> None:
    seed(session_factory)
    with transaction(session_factory) as session:
        items, escalations, penalties = load_month(session, month=NOV, as_of=at("2025-11-03 13:00"), tz=SHANGHAI)
    assert [r.action for r in items[0].history] == []  # posted on the 28th
    assert [(e.level, e.top) for e in escalations] == [(1, False)]  # at as_of: kept; no top level known
    assert penalties == []


def test_the_month_boundary_is_local_midnight(session_factory) -> None:
    """An escalation at 23:30 UTC on 31 October is 07:30 on 1 November in Shanghai: November's."""
    seed(session_factory)
    with transaction(session_factory) as session:
        session.add(FollowUp(key="escalate:9:1:z", kind="escalate", thread_id=1, level=1, recipient="U0HEAD", sent_at=datetime(2025, 10, 31, 23, 30, tzinfo=UTC), channel="D1", ts="9.9"))
    with transaction(session_factory) as session:
        _, escalations, _ = load_month(session, month=NOV, as_of=AS_OF, tz=SHANGHAI)
    assert escalations[0].sent_at == datetime(2025, 10, 31, 23, 30, tzinfo=UTC)
