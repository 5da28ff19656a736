"""An App Home's lists in SQL (``storage.home.list_home_items``) agree with
the pure reference (``bot.core.home.item_lists``): the same items, in the
same order, the same totals, cut at the limit; on SQLite and PostgreSQL.

The routing has what makes "whose item is it now" subtle: two owners
covering the same branch (the stored owner keeps its items), an owner
covering every branch, an item whose stored owner no longer covers it
(handed to whoever covers it now), an item whose stored owner left the
file, and items nobody covers."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

import pytest

from bot.core.home import ListKey, Roles, item_lists, list_queries
from bot.core.lifecycle import Status
from bot.core.routing import Owner, Routing
from storage import home as store
from storage.db import reading, transaction
from storage.models import Item

NOW = datetime(2026, 11, 27, 1, 15, tzinfo=UTC)
ROUTING = Routing(
    channel="C0LOGISTICS",
    cs_lead="U0CSLEAD",
    cs_agents={"王丽": "U0CS0001", "陈静": "U0CS0002"},
    owners=(
        Owner(name="华东大件", user="U0A", categories=("large",), branches=("杭州分公司", "南京分公司"), escalation=("U0BOSS",)),
        Owner(name="大件配送", user="U0B", categories=("large",), escalation=("U0BOSS",)),  # every branch, overlapping the first
        Owner(name="小件配送", user="U0C", categories=("small",), branches=("杭州分公司", "苏州分公司")),
    ),
)
BRANCHES = ("杭州分公司", "南京分公司", "苏州分公司", "上海分公司")
STORED = ("华东大件", "大件配送", "小件配送", "已离职", None)
STATUSES = (Status.NEW, Status.AWAITING, Status.DISPUTED, Status.CONFIRMED, Status.DEEMED_CONFIRMED, Status.FIXED)


def seed(session_factory, n: int) -> None:
    rng = random.Random(7)
    with transaction(session_factory) as session:
        for k in range(n):
            session.add(Item(
                order_no=f"SO{rng.randrange(10**6):06d}{k:04d}" if k % 3 else f"Ab-{rng.randrange(50):02d}-{k}",
                rejected_on=date(2026, 11, 20) + timedelta(days=rng.randrange(5)),
                branch=rng.choice(BRANCHES), category=rng.choice(("large", "small")), status=rng.choice(STATUSES),
                owner=rng.choice(STORED), callback_agent=rng.choice(("王丽", " 陈静 ", "", "赵六")),
                deadline=None if k % 7 == 0 else NOW + timedelta(hours=rng.randrange(30)),
                imported_at=NOW, updated_at=NOW,
            ))


def every_role() -> Roles:
    return Roles(owners=ROUTING.owners[:1] + ROUTING.owners[2:], managed=ROUTING.owners[1:2], agent_names=("王丽", "陈静"), lead=True)


@pytest.mark.parametrize("limit", [5, 1000])
def test_each_list_in_sql_is_the_reference_cut_at_the_limit(session_factory, limit) -> None:
    seed(session_factory, 400)
    queries = list_queries(every_role())
    with reading(session_factory) as session:
        every = session.exec(store.select(Item)).all()
        expected = {key: ([i.id for i in lst.items], lst.total) for key, lst in item_lists(queries, every, ROUTING, limit=limit).items()}
        found = {q.key: store.list_home_items(session=session, query=q, routing=ROUTING, limit=limit) for q in queries}
        got = {key: ([i.id for i in lst.items], lst.total) for key, lst in found.items()}
    assert set(got) == {ListKey.AWAITING, ListKey.UNFIXED, ListKey.TEAM, ListKey.DISPUTES, ListKey.ALL_DISPUTES,
                        ListKey.ALL_AWAITING, ListKey.ALL_UNFIXED, ListKey.UNROUTED}
    for key, want in expected.items():
        assert got[key] == want, key
    assert all(total for _, total in expected.values()), "the data should fill every list"
    assert any(total > limit for _, total in expected.values()) == (limit == 5)


def test_an_owner_no_longer_covering_an_item_hands_it_to_whoever_covers_it_now(session_factory) -> None:
    with transaction(session_factory) as session:
        for n, (owner, branch) in enumerate([("小件配送", "上海分公司"), ("华东大件", "上海分公司"), ("大件配送", "杭州分公司"), ("已离职", "南京分公司")]):
            session.add(Item(order_no=f"SO{n}", rejected_on=date(2026, 11, 26), branch=branch, category="large", status=Status.AWAITING,
                             owner=owner, deadline=NOW, imported_at=NOW, updated_at=NOW))
    mine = Roles(owners=ROUTING.owners[:1], managed=(), agent_names=(), lead=False)
    theirs = Roles(owners=ROUTING.owners[1:2], managed=(), agent_names=(), lead=False)
    with reading(session_factory) as session:
        a = [i.order_no for i in store.list_home_items(session=session, query=list_queries(mine)[0], routing=ROUTING, limit=10).items]
        b = [i.order_no for i in store.list_home_items(session=session, query=list_queries(theirs)[0], routing=ROUTING, limit=10).items]
    assert a == ["SO3"]  # its stored owner left: the first owner covering it
    assert sorted(b) == ["SO0", "SO1", "SO2"]  # stored 大件配送 keeps SO2 though 华东大件 covers it too


def test_many_threads_and_routing_reloads_share_the_owner_now_cache_safely() -> None:
    """Homes are built on several threads while the routing file is reloaded:
    the cached expression is per routing, and evicting old routings never fails."""
    import dataclasses
    from concurrent.futures import ThreadPoolExecutor

    routings = [dataclasses.replace(ROUTING) for _ in range(7)]  # seven reloads of the same file

    def build(n: int) -> str:  # a KeyError from a racing eviction would be raised by pool.map
        return str(store.owner_now_name(routings[n % len(routings)]).compile())

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert len(set(pool.map(build, range(2_000)))) == 1  # the same file gives the same expression
    assert str(store.owner_now_name(routings[0]).compile()) == str(store.owner_now_name(routings[1]).compile())
