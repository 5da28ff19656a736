"""The App Home at company scale, end to end (signed ``app_home_opened``
events through the real app into the fake Slack; SQLite and PostgreSQL):
a Home asks for its own lists, the first ones of each and a count, so

- with more items than a list loads, the Home shows the count in the title,
  the first ones in the list's order and "…and N more" for the rest;
- the SQL statements one Home costs (counted on the real engine) do not grow
  with the number of open records, for opening a Home and for the ticker's
  pass over every opened Home.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from itertools import count
from zoneinfo import ZoneInfo

from sqlalchemy import event
from sqlmodel import select

from bot.core.lifecycle import Status
from bot.fakeslack import event_callback
from bot.fakeslack.requests import app_home_opened_event
from bot.services.home import LIST_SHOWN
from storage.db import transaction
from storage.models import Item

SHANGHAI = ZoneInfo("Asia/Shanghai")
Y, Z, OPS_HEAD, CS_LEAD = "U0OWNERY", "U0OWNERZ", "U0OPSHEAD", "U0CSLEAD"
EVENTS = count(1)
ORDERS = count(1)


def add_items(session_factory, clock, n: int, *, owner: str, category: str, branch: str, status: Status = Status.AWAITING) -> None:
    """``n`` open items of one owner, deadlines spread over the next days (the reverse of their order numbers)."""
    now = clock.now()
    with transaction(session_factory) as session:
        for k in range(n):
            number = next(ORDERS)
            session.add(Item(
                order_no=f"SO{number:08d}", rejected_on=date(2026, 11, 26), branch=branch, category=category, status=status,
                owner=owner, callback_agent="王丽", deadline=now + timedelta(hours=2 + (10_000 - number) % 97),
                imported_at=now, updated_at=now, decided_at=now if status != Status.AWAITING else None,
            ))


def open_home(bot, signer, fake, user: str) -> dict:
    event_ = app_home_opened_event(user=user, view=fake.home_view(user), tab="home")
    response = bot.app.dispatch(event_callback(signer, event=event_, event_id=f"EvScale{next(EVENTS)}").to_bolt())
    assert response.status == 200
    return fake.home_view(user)


class Statements:
    """Counts the SQL statements sent on the engine, and the items loaded from rows, while active."""

    def __init__(self, engine) -> None:
        self.engine, self.count, self.items = engine, 0, 0

    def _seen(self, *_args, **_kwargs) -> None:
        self.count += 1

    def _loaded(self, *_args, **_kwargs) -> None:
        self.items += 1

    def __enter__(self) -> Statements:
        event.listen(self.engine, "before_cursor_execute", self._seen)
        event.listen(Item, "load", self._loaded)
        return self

    def __exit__(self, *_exc) -> None:
        event.remove(self.engine, "before_cursor_execute", self._seen)
        event.remove(Item, "load", self._loaded)


def confirm_values(view: dict) -> list[str]:
    return [e["value"] for b in view["blocks"] for e in b.get("elements", []) if isinstance(e, dict) and e.get("action_id") == "item.confirm"]


def test_a_home_with_more_items_than_a_list_loads_shows_the_count_and_the_first_in_order(bot, signer, fake_slack, session_factory, clock) -> None:
    total = LIST_SHOWN + 60
    add_items(session_factory, clock, total, owner="大件配送", category="large", branch="杭州分公司")
    add_items(session_factory, clock, 30, owner="小件配送", category="small", branch="杭州分公司")  # someone else's

    view = open_home(bot, signer, fake_slack, Y)

    assert len(view["blocks"]) <= 100
    title = next(b["text"]["text"] for b in view["blocks"] if b.get("block_id") == "head-awaiting")
    assert f"({total})" in title
    with transaction(session_factory) as session:
        ordered = session.exec(
            select(Item.id).where(Item.owner == "大件配送", Item.status == Status.AWAITING).order_by(Item.deadline, Item.rejected_on, Item.order_no, Item.id)
        ).all()
    shown = confirm_values(view)
    assert 0 < len(shown) <= LIST_SHOWN
    assert shown == [str(i) for i in ordered[: len(shown)]]  # the nearest deadlines first
    assert f"and {total - len(shown)} more" in json.dumps(view["blocks"], ensure_ascii=False)


def test_the_statements_of_one_home_do_not_grow_with_the_open_records(bot, signer, fake_slack, session_factory, clock, engine) -> None:
    def seed(n: int) -> None:
        add_items(session_factory, clock, n, owner="大件配送", category="large", branch="杭州分公司")
        add_items(session_factory, clock, n, owner="大件配送", category="large", branch="南京分公司", status=Status.CONFIRMED)
        add_items(session_factory, clock, n, owner="小件配送", category="small", branch="杭州分公司", status=Status.DISPUTED)

    users = (Y, Z, OPS_HEAD, CS_LEAD)

    def measure() -> tuple[dict, int]:
        """Statements of each Home opened again (the first opening after a change publishes it), then of a pass."""
        for user in users:
            open_home(bot, signer, fake_slack, user)
        each = {}
        for user in users:
            with Statements(engine) as counted:
                open_home(bot, signer, fake_slack, user)
            each[user] = counted.count
        with Statements(engine) as counted:
            assert bot.services.refresh_homes(force=True).rendered == len(users)
        return each, counted.count

    seed(3)
    few, few_pass = measure()
    seed(400)
    many, many_pass = measure()
    with Statements(engine) as counted:
        open_home(bot, signer, fake_slack, Y)
    assert counted.items <= 2 * LIST_SHOWN < 800  # Y's two lists, the first of each; not Y's 803 open items

    assert many == few and many_pass == few_pass
    assert max(many.values()) < 60 and many_pass < 60 * len(users)
