"""The demo's history: months of records before the demo day, so that the
monthly notice's trend and its chart mean something.

Written straight into the database as the bot itself would have left it:
each working day's digest message per owner, its items, and every item's
audit rows (posted at the digest's time, then confirmed or deemed, disputes
upheld or overruled, fixes), the CS-accuracy penalty of each upheld dispute,
and the escalation DMs about the silent owner's threads. Deterministic (a
fixed seed): every run of the demo shows the same figures.

The story follows the case study: Y (large items) improves once the monthly
notices are announced; Z (small items) does not, answers nothing and fixes
late, which is what finally earns him the work contact letter.
"""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.core.lifecycle import Action, Role, Status, Surface
from bot.core.monthly import Month
from bot.core.routing import Routing
from bot.core.workcal import WorkCalendar
from storage.db import SessionFactory, transaction
from storage.models import AuditEntry, DigestMessage, FollowUp, Item, Penalty

# Records per owner and month (the demo's routing's owner names). Y improves; Z does not.
PLAN: dict[str, dict[Month, int]] = {
    "大件配送": {Month(2026, 6): 66, Month(2026, 7): 60, Month(2026, 8): 52, Month(2026, 9): 46, Month(2026, 10): 40, Month(2026, 11): 4},
    "小件配送": {Month(2026, 6): 9, Month(2026, 7): 11, Month(2026, 8): 10, Month(2026, 9): 12, Month(2026, 10): 13, Month(2026, 11): 4},
}  # November's own come on top: the demo day's import (Y 26 records, Z 12)
LAST_DAY = date(2026, 11, 26)  # history stops the day before the demo day
BRANCHES = {
    "大件配送": ("上海浦东分公司", "上海浦西分公司", "南京分公司", "无锡分公司", "杭州分公司", "苏州分公司"),
    "小件配送": ("杭州分公司", "南京分公司", "苏州分公司", "无锡分公司"),
}
CATEGORY = {"大件配送": "large", "小件配送": "small"}
SCENARIOS = ("customer_received", "reschedule", "no_contact")
NOTES = ("客户确认已收到商品", "客户要求改期配送，配送员直接拒收", "客户表示未接到任何配送电话")
SURNAMES = "张王李赵刘陈杨黄周吴"


def _at(day: date, hour: int, minute: int, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=tz)


def seed_history(session_factory: SessionFactory, routing: Routing, *, tz: ZoneInfo, seed: int = 20261127) -> int:
    """Write the history; the number of items written."""
    rng = random.Random(seed)
    calendar = WorkCalendar(routing.calendar)
    agents = sorted(routing.cs_agents)
    written = 0
    escalated: list[FollowUp] = []
    with transaction(session_factory) as session:
        for owner_name, months in PLAN.items():
            owner = routing.owner_named(owner_name)
            silent = owner_name == "小件配送"
            for month, count in months.items():
                days = [
                    d for d in (month.first_day + timedelta(days=n) for n in range((month.last_day - month.first_day).days + 1))
                    if d <= LAST_DAY and calendar.is_working_day(d)
                ]
                messages: dict[date, DigestMessage] = {}  # one digest message per owner and day
                for n in range(count):
                    day = days[(n * len(days)) // count]
                    message = messages.get(day)
                    if message is None:
                        message = messages[day] = DigestMessage(
                            digest_day=day, owner=owner_name, posted_owner=owner_name, channel=routing.channel,
                            ts=f"{_at(day, 8, 30, tz).timestamp():.0f}.{written + 1:06d}", deadline=_at(day, 18, 0, tz),
                            created_at=_at(day, 8, 30, tz), posted_at=_at(day, 8, 30, tz),
                        )
                        session.add(message)
                        session.flush()
                    written += 1
                    item = _item(rng, owner_name, day, n, agents, message.id, tz)
                    session.add(item)
                    session.flush()
                    for entry in _history(rng, item, owner.user, silent=silent, day=day, tz=tz):
                        session.add(entry)
                    if item.status == Status.WITHDRAWN:
                        session.add(Penalty(item_id=item.id, kind="cs_accuracy", person=item.callback_agent,
                                            user=routing.agent_user(item.callback_agent), amount=routing.penalties.cs_wrong_callback,
                                            at=item.updated_at, note="demo"))
                    if silent and n % 3 == 0 and not any(e.thread_id == message.id for e in escalated):  # Z's silence climbs the chain: the operations head, then the company head
                        for level, recipient in enumerate(owner.escalation, start=1):
                            escalated.append(FollowUp(
                                key=f"demo-history:escalate:{message.id}:{level}", kind="escalate", thread_id=message.id,
                                level=level, recipient=recipient, sent_at=_at(day, 13 + 4 * (level - 1), 0, tz),
                            ))
                            session.add(escalated[-1])
    return written


def _item(rng: random.Random, owner: str, day: date, n: int, agents: list[str], message_id: int, tz: ZoneInfo) -> Item:
    rejected_on = day - timedelta(days=1)
    phone = f"1{rng.choice('3589')}{rng.randrange(10**9):09d}"
    return Item(
        order_no=f"SO{rejected_on:%Y%m%d}{'L' if CATEGORY[owner] == 'large' else 'S'}{n:04d}",
        rejected_on=rejected_on, branch=rng.choice(BRANCHES[owner]), category=CATEGORY[owner],
        scenario=rng.choice(SCENARIOS), customer=f"{rng.choice(SURNAMES)}先生 {phone}", callback_agent=rng.choice(agents),
        callback_at=_at(rejected_on, 15, 0, tz), note=rng.choice(NOTES), status=Status.AWAITING, owner=owner,
        digest_message_id=message_id, deadline=_at(day, 18, 0, tz), imported_at=_at(rejected_on, 17, 0, tz),
        updated_at=_at(day, 8, 30, tz),
    )


def _history(rng: random.Random, item: Item, owner_user: str, *, silent: bool, day: date, tz: ZoneInfo) -> list[AuditEntry]:
    """The item's audit rows, and its final state set on ``item``."""
    rows: list[AuditEntry] = []

    def row(at: datetime, actor: str, role: Role, surface: Surface, action: Action, before: Status, after: Status, note: str = "") -> None:
        rows.append(AuditEntry(item_id=item.id, at=at, actor=actor, role=role, surface=surface, action=action,
                               from_status=before, to_status=after, note=note))
        item.status, item.updated_at, item.last_actor = after, at, actor

    row(_at(day, 8, 30, tz), "system", Role.SYSTEM, Surface.SCHEDULER, Action.POST, Status.NEW, Status.AWAITING)
    draw = rng.random()
    if not silent and draw < 0.12:  # Y disputes, CS re-verifies and finds its callback was wrong
        row(_at(day, 10, 5, tz), owner_user, Role.OWNER, Surface.BUTTON, Action.DISPUTE, Status.AWAITING, Status.DISPUTED, "客户当天改约，已留言")
        row(_at(day, 15, 20, tz), "U0CS0001", Role.CS_AGENT, Surface.BUTTON, Action.UPHOLD, Status.DISPUTED, Status.WITHDRAWN)
        return rows
    if silent and draw < 0.8:  # Z says nothing: deemed at the deadline
        row(_at(day, 18, 0, tz), "system", Role.SYSTEM, Surface.SCHEDULER, Action.DEEM, Status.AWAITING, Status.DEEMED_CONFIRMED)
        decided = _at(day, 18, 0, tz)
    else:
        answered = _at(day, 9 + rng.randrange(0, 3 if not silent else 8), rng.randrange(0, 60), tz)
        row(answered, owner_user, Role.OWNER, Surface.BUTTON, Action.CONFIRM, Status.AWAITING, Status.CONFIRMED)
        decided = answered
    item.decided_at = decided
    # Every earlier record has its fix by the demo day (Z's late), so that the demo day's follow-ups are
    # about the demo day's records only; Z's oldest unfixed items are the ones he leaves deemed that day.
    fix_days = rng.choice((0, 1, 1, 2)) if not silent else rng.choice((2, 4, 6, 9))
    fixed = min(decided + timedelta(days=fix_days, hours=rng.randrange(1, 4)), _at(LAST_DAY, 17, 0, tz))
    row(fixed, owner_user, Role.OWNER, Surface.COMMAND, Action.FIX, item.status, Status.FIXED, "已重新安排配送")
    return rows
