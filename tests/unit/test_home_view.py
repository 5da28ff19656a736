"""The App Home's rendering (``bot.core.home``): plain dicts, no doubles.

Each role's sections; a person with several roles sees each part; the
block budget (``allocate``) shares 100 blocks fairly and says "and N more";
every view passes the fake Slack's own Block Kit check (``check_view``);
the full list (``section_modal``) stays within a modal's limits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.core.home import (
    MAX_BLOCKS,
    Entry,
    FailedKind,
    FailedSend,
    HomeData,
    HomeEscalation,
    HomeLetter,
    ItemList,
    Section,
    allocate,
    find_section,
    home_view,
    roles_of,
    section_modal,
    sections_for,
    view_hash,
)
from bot.core.monthly import AgentFigures, Counts, Month, MonthFigures, OwnerFigures, Trend
from bot.core.routing import Owner, Routing
from bot.fakeslack import check_view
from bot.i18n import LOCALES, Catalog

SHANGHAI = ZoneInfo("Asia/Shanghai")
EN = Catalog("en")
NOW = datetime(2026, 11, 27, 1, 15, tzinfo=UTC)  # 09:15 in Shanghai
DEADLINE = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)  # 18:00
ROUTING = Routing(
    channel="C0LOGISTICS",
    cs_lead="U0CSLEAD",
    cs_agents={"王丽": "U0CS0001", "陈静": "U0CS0002"},
    owners=(
        Owner(name="大件配送", user="U0OWNERY", categories=("large",), delegates=("U0DELEGY",), escalation=("U0OPSHEAD", "U0LOGIBOSS")),
        Owner(name="小件配送", user="U0OWNERZ", categories=("small",), branches=("杭州分公司",), escalation=("U0OPSHEAD",)),
    ),
)


@dataclass
class It:
    """An item with what the Home reads (``storage.models.Item`` has it)."""

    id: int
    status: str = "awaiting"
    owner: str | None = "大件配送"
    category: str = "large"
    branch: str = "杭州分公司"
    order_no: str = ""
    rejected_on: date = date(2026, 11, 26)
    scenario: str | None = "received"
    customer: str = "张三 13812341234"
    callback_agent: str = "王丽"
    note: str = ""
    deadline: datetime | None = DEADLINE
    decided_at: datetime | None = None
    updated_at: datetime = NOW
    last_actor: str | None = None
    last_surface: str | None = None

    def __post_init__(self) -> None:
        self.order_no = self.order_no or f"SO{self.id:010d}"


def figures() -> MonthFigures:
    counts = Counts(posted=5, confirmed=2, deemed=1, disputed=1, upheld=1, open=1, fixed=1, fixed_in_window=1, escalations=2)
    return MonthFigures(
        month=Month(2026, 11), as_of=NOW, per_item=50,
        owners=(OwnerFigures("大件配送", counts, (), Trend(None, 3), 150),),
        agents=(AgentFigures("王丽", posted=4, disputed=1, upheld=1, penalty=50, voided=0),),
        totals=counts,
    )


def data(*items, **more) -> HomeData:
    return HomeData(items=items, figures=figures(), now=NOW, **more)


def view_of(user: str, d: HomeData, catalog: Catalog = EN) -> dict:
    view = home_view(user, d, ROUTING, catalog, SHANGHAI)
    assert check_view(view) == [], "the fake Slack would refuse it"
    assert len(view["blocks"]) <= MAX_BLOCKS
    return view


def headers(view: dict) -> list[str]:
    return [b["block_id"].removeprefix("head-") for b in view["blocks"] if b["type"] == "header"]


def buttons(view: dict) -> list[tuple[str, str]]:
    return [
        (e["action_id"], e["value"])
        for b in view["blocks"] for e in [b.get("accessory"), *b.get("elements", [])]
        if isinstance(e, dict) and e.get("type") == "button"
    ]


def text(view: dict) -> str:
    return str(view["blocks"])


# --- who sees what -----------------------------------------------------------------------


def test_an_owner_sees_awaiting_with_the_deadline_unfixed_since_when_and_their_month() -> None:
    view = view_of("U0OWNERY", data(It(1), It(2, status="confirmed", decided_at=NOW - timedelta(hours=3)), It(3, owner="小件配送", category="small")))

    assert headers(view) == ["awaiting", "unfixed", "month"]
    assert buttons(view) == [("item.confirm", "1"), ("item.dispute", "1"), ("item.fix", "2")]
    assert "Answer by 11-27 18:00" in text(view)
    assert "confirmed since 11-27 06:15" in text(view)
    assert "*大件配送*: 5 posted · 3 mistaken · 1 open" in text(view) and "¥150 penalties" in text(view)
    assert "138****1234" in text(view) and "13812341234" not in text(view)  # masked for logistics, as on the digest


def test_past_the_deadline_says_so() -> None:
    late = HomeData(items=(It(1),), now=DEADLINE + timedelta(minutes=1))
    assert "Past its deadline (11-27 18:00)" in text(view_of("U0OWNERY", late))


def test_a_delegate_and_a_stand_in_act_for_the_owner() -> None:
    stand_in = HomeData(items=(It(1), It(2, owner="小件配送", category="small")), stand_ins={"U0OWNERZ": "U0STAND"}, now=NOW)

    assert buttons(view_of("U0DELEGY", stand_in)) == [("item.confirm", "1"), ("item.dispute", "1")]
    assert buttons(view_of("U0STAND", stand_in)) == [("item.confirm", "2"), ("item.dispute", "2")]


def test_a_manager_sees_their_owners_items_escalations_and_month() -> None:
    escalations = (
        HomeEscalation("大件配送", 1, "U0OPSHEAD", NOW - timedelta(hours=2)),
        HomeEscalation("大件配送", 2, "U0LOGIBOSS", NOW),
    )
    view = view_of("U0OPSHEAD", data(It(1), It(2, owner="小件配送", category="small"), escalations=escalations))

    assert headers(view) == ["team", "escalations", "team_month"]
    assert [v for a, v in buttons(view) if a == "item.confirm"] == ["1", "2"]
    assert "大件配送: level 1, 11-27 07:15" in text(view) and "level 2" not in text(view)  # only those sent to them
    assert "*小件配送*: nothing posted yet this month" in text(view)


def test_a_callback_agent_sees_their_disputes_and_accuracy() -> None:
    view = view_of("U0CS0001", data(
        It(1, status="disputed", last_actor="U0OWNERY"), It(2, status="disputed", callback_agent="陈静"), It(3),
    ))

    assert headers(view) == ["disputes", "reports", "accuracy"]
    assert buttons(view) == [("dispute.uphold", "1"), ("dispute.overrule", "1")]
    uphold = next(e for b in view["blocks"] for e in b.get("elements", []) if isinstance(e, dict) and e.get("action_id") == "dispute.uphold")
    assert "¥50 penalty" in uphold["confirm"]["text"]["text"]  # [penalties] cs_wrong_callback
    assert "accuracy 75%" in text(view) and "¥50 penalties" in text(view)
    assert "13812341234" in text(view)  # CS sees its own record in full


def test_the_cs_lead_sees_everyone_unrouted_failed_calendar_and_letters() -> None:
    items = (
        It(1), It(2, owner="小件配送", category="small"), It(3, status="disputed"), It(4, status="deemed_confirmed", decided_at=NOW),
        It(5, status="new", owner=None, category="small", branch="上海浦东分公司"),  # no owner covers it
        It(6, status="new", owner=None),  # not posted yet, but covered
    )
    failed = (
        FailedSend(FailedKind.DIGEST, "2026-11-27 大件配送 #1", NOW, "channel_not_found"),
        FailedSend(FailedKind.FOLLOW_UP, "U0OPSHEAD", NOW, "user_not_found"),
        FailedSend(FailedKind.UPLOAD, "rejectbot-2026-11.xlsx", NOW, "HTTP 500"),
    )
    letters = (HomeLetter(7, "小件配送", "2026-11", "escalations", NOW),)
    view = view_of("U0CSLEAD", data(*items, failed=failed, letters=letters, calendar=("2026: the chinesecalendar package (official data)",)))

    assert headers(view) == ["all_disputes", "letters", "all_reports", "all_awaiting", "all_unfixed", "unrouted", "failed", "all_month", "calendar"]
    assert buttons(view) == [
        ("dispute.uphold", "3"), ("dispute.overrule", "3"), ("letter.approve", "7"), ("letter.edit", "7"), ("letter.discard", "7"),
    ]
    assert "SO0000000005" in text(view) and "SO0000000006" not in text(view).split("head-unrouted")[1].split("head-failed")[0]
    assert "channel_not_found" in text(view) and "<@U0OPSHEAD>" in text(view) and "rejectbot-2026-11.xlsx" in text(view)
    assert "All owners: 5 posted" in text(view) and "*王丽*" in text(view)


def test_a_person_with_several_roles_sees_each_part_once() -> None:
    routing = Routing(channel="C1", cs_lead="U0CSLEAD", cs_agents={"王丽": "U0OWNERY"}, owners=ROUTING.owners)
    view = home_view("U0OWNERY", data(It(1), It(2, status="disputed")), routing, EN, SHANGHAI)

    assert headers(view) == ["awaiting", "unfixed", "month", "disputes", "reports", "accuracy"]
    assert check_view(view) == []


def test_nobody_gets_a_friendly_home() -> None:
    view = view_of("U0NOBODY", data(It(1)))

    assert headers(view) == ["welcome"] and buttons(view) == []
    assert "no role in the routing file" in text(view)


@pytest.mark.parametrize("locale", LOCALES)
def test_every_locale_renders_every_role_within_the_limits(locale: str) -> None:
    d = data(It(1), It(2, status="confirmed", decided_at=NOW), It(3, status="disputed"), It(4, status="new", owner=None, branch="X", category="small"),
             letters=(HomeLetter(1, "大件配送", "2026-11", "by_hand", NOW),), failed=(FailedSend(FailedKind.DIGEST, "x", None, ""),))
    for user in ("U0OWNERY", "U0DELEGY", "U0OPSHEAD", "U0CS0001", "U0CSLEAD", "U0NOBODY"):
        view_of(user, d, Catalog(locale))


# --- within 100 blocks ----------------------------------------------------------------------


def test_more_items_than_a_view_holds_end_with_and_n_more_and_a_show_all_button() -> None:
    view = view_of("U0OWNERY", data(*[It(n) for n in range(1, 201)], *[It(n, status="confirmed", decided_at=NOW) for n in range(201, 301)]))

    shown_awaiting = [v for a, v in buttons(view) if a == "item.confirm"]
    shown_unfixed = [v for a, v in buttons(view) if a == "item.fix"]
    assert len(view["blocks"]) == MAX_BLOCKS or len(view["blocks"]) == MAX_BLOCKS - 1
    assert shown_awaiting and shown_unfixed  # both lists get their turn
    assert ("apphome.show_all", "awaiting") in buttons(view) and ("apphome.show_all", "unfixed") in buttons(view)
    assert f"and {200 - len(shown_awaiting)} more" in text(view) and f"and {100 - len(shown_unfixed)} more" in text(view)
    assert headers(view) == ["awaiting", "unfixed", "month"]  # the month is never crowded out


def test_the_cs_lead_with_thousands_of_everything_stays_within_100_blocks() -> None:
    items = [It(n, status=s) for n, s in zip(range(1, 3001), ["awaiting", "disputed", "confirmed", "new"] * 750, strict=True)]
    d = data(*items, letters=tuple(HomeLetter(n, "大件配送", "2026-11", "by_hand", NOW) for n in range(1, 60)),
             failed=tuple(FailedSend(FailedKind.DIGEST, str(n), NOW, "x") for n in range(150)))
    view = view_of("U0CSLEAD", d)

    assert headers(view)[-2:] == ["all_month", "calendar"]


def entry(blocks: int) -> Entry:
    return Entry([{"type": "divider"}] * blocks, "line")


def test_a_list_cut_by_storage_shows_its_total_and_the_rest_as_more() -> None:
    """Storage hands over the first items and the count (``ItemList``): the
    title says the count, "and N more" counts what the view does not show."""
    first = tuple(It(n) for n in range(1, 6))
    d = HomeData(lists={"awaiting": ItemList(first, 5000), "unfixed": ItemList((), 0)}, figures=figures(), now=NOW)

    view = view_of("U0OWNERY", d)

    assert "(5000)" in next(b["text"]["text"] for b in view["blocks"] if b["block_id"] == "head-awaiting")
    assert [v for a, v in buttons(view) if a == "item.confirm"] == ["1", "2", "3", "4", "5"]
    assert "and 4995 more" in text(view)
    modal = section_modal(find_section(sections_for("U0OWNERY", d, ROUTING, EN, SHANGHAI), "awaiting"), EN)
    assert "4995 more" in str(modal["blocks"][-1]) and "/reject find" in str(modal["blocks"][-1])


def test_allocate_takes_turns_and_keeps_a_block_for_each_more_line() -> None:
    sections = [Section("a", "A", entries=[entry(2)] * 50), Section("b", "B", entries=[entry(1)] * 3), Section("c", "C", summary=["x"])]

    shown = allocate(sections, 20)

    # headings 3 + summary 1; "b" shown whole (3), "a" gets the rest less its "more" line
    assert shown == [6, 3, 0]
    used = sum(s.fixed_blocks() for s in sections) + 2 * shown[0] + shown[1] + 1
    assert used <= 20


def test_allocate_shows_everything_when_it_fits() -> None:
    sections = [Section("a", "A", entries=[entry(2)] * 3), Section("b", "B", entries=[], empty="none")]
    assert allocate(sections, 100) == [3, 0]


# --- the rest ---------------------------------------------------------------------------------


def test_the_same_facts_give_the_same_view_and_hash() -> None:
    d = data(It(1), It(2, status="confirmed", decided_at=NOW))
    first, again = home_view("U0OWNERY", d, ROUTING, EN, SHANGHAI), home_view("U0OWNERY", d, ROUTING, EN, SHANGHAI)
    changed = home_view("U0OWNERY", data(It(1, status="confirmed", decided_at=NOW), It(2, status="confirmed", decided_at=NOW)), ROUTING, EN, SHANGHAI)

    assert view_hash(first) == view_hash(again) != view_hash(changed)


def test_the_full_list_modal_holds_every_line_it_can_and_points_further() -> None:
    sections = sections_for("U0OWNERY", data(*[It(n) for n in range(1, 5001)]), ROUTING, EN, SHANGHAI)
    modal = section_modal(find_section(sections, "awaiting"), EN)

    assert check_view(modal) == []
    assert len(modal["blocks"]) <= 100
    assert "SO0000000001" in str(modal["blocks"][0])
    assert "/reject find" in str(modal["blocks"][-1])  # 5,000 lines do not fit: the rest is said
    few = section_modal(find_section(sections_for("U0OWNERY", data(It(1), It(2)), ROUTING, EN, SHANGHAI), "awaiting"), EN)
    assert "SO0000000001" in str(few) and "SO0000000002" in str(few) and "/reject find" not in str(few)
    gone = section_modal(None, EN)
    assert check_view(gone) == [] and "Nothing here any more" in str(gone)


def test_roles_of_reads_the_routing_and_stand_ins() -> None:
    assert roles_of("U0OPSHEAD", ROUTING, {}).managed == ROUTING.owners
    assert roles_of("U0OWNERY", ROUTING, {}).owners == (ROUTING.owners[0],)
    assert roles_of("U0STAND", ROUTING, {"U0OWNERZ": "U0STAND"}).owners == (ROUTING.owners[1],)
    assert roles_of("U0CSLEAD", ROUTING, {}).lead and not roles_of("U0NOBODY", ROUTING, {}).any
