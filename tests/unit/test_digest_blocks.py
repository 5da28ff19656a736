"""The daily digest: grouping by owner, pagination, and Block Kit rendering
within Slack's limits (checked by our fake Slack's own checker)."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

import pytest
from support import ItemStandIn

from bot.core.digest import (
    ITEMS_FIRST_PAGE,
    ITEMS_PER_PAGE,
    NOTE_LIMIT,
    PageContext,
    build_digest,
    digest_message,
    item_blocks,
    page_count,
    paginate,
    unrouted_message,
)
from bot.core.lifecycle import Status, Surface
from bot.core.routing import Owner, Routing
from bot.core.text import MESSAGE_TEXT_BUDGET, block_text_length
from bot.fakeslack import check_blocks
from bot.i18n import LOCALES, Catalog
from bot.ids import ActionId

SHANGHAI = ZoneInfo("Asia/Shanghai")
DAY = date(2026, 11, 27)
DEADLINE = datetime(2026, 11, 27, 10, 0, tzinfo=timezone.utc)  # 18:00 in Shanghai
DEADLINE_SHOWN = "11-27 18:00"
SLACK_TEXT_LIMIT = 3000
SLACK_MESSAGE_TEXT_LIMIT = 40_000


Item = ItemStandIn


HZ_LARGE = Owner(name="杭州大件", user="U0HZ", categories=("large",), branches=("杭州分公司",))
LARGE = Owner(name="大件配送", user="U0OWNERY", categories=("large",), escalation=("U0OPSHEAD",))
SMALL = Owner(name="小件配送", user="U0OWNERZ", categories=("small",), branches=("南京分公司", "苏州分公司"))
ROUTING = Routing(channel="C0LOGISTICS", cs_lead="U0CSLEAD", cs_agents={}, owners=(HZ_LARGE, LARGE, SMALL))


def ids(items) -> list[int]:
    return [i.id for i in items]


def context(owner: Owner = LARGE, *, page: int = 0, pages: int = 1, total: int = 1, **kw) -> PageContext:
    return PageContext(
        owner=owner, digest_day=DAY, deadline=DEADLINE, page=page, pages=pages,
        total_items=total, open_items=total, **kw,
    )


def render_all(owner: Owner, items: list, catalog: Catalog, **kw) -> list[tuple[str, list[dict]]]:
    """Every message of one owner's digest, as the digest service sends them."""
    pages = paginate(items)
    return [
        digest_message(context(owner, page=i, pages=len(pages), total=len(items), **kw), page, catalog, SHANGHAI)
        for i, page in enumerate(pages)
    ]


def text_objects(node) -> Iterator[dict]:
    """Every text object ({"type": "mrkdwn"|"plain_text", "text": ...}) in blocks."""
    if isinstance(node, dict):
        if node.get("type") in ("mrkdwn", "plain_text") and isinstance(node.get("text"), str):
            yield node
        for value in node.values():
            yield from text_objects(value)
    elif isinstance(node, list):
        for value in node:
            yield from text_objects(value)


def assert_valid(blocks: list[dict]) -> None:
    assert len(blocks) <= 50
    assert check_blocks(blocks, max_blocks=50) == []
    for obj in text_objects(blocks):
        assert len(obj["text"]) <= SLACK_TEXT_LIMIT, obj["text"][:80]


ALLOWED_MARKUP = re.compile(r"&(?:amp|lt|gt);|<@[UW][A-Z0-9]+>|^> ", re.MULTILINE)


def unescaped(text: str) -> str:
    """The control characters left once the markup we mean to send is removed."""
    return "".join(ch for ch in ALLOWED_MARKUP.sub("", text) if ch in "<>&")


# --- build_digest ------------------------------------------------------------


def test_items_go_to_the_first_owner_in_file_order_that_covers_them() -> None:
    items = [
        Item(1, category="small", branch="南京分公司"),
        Item(2, category="large", branch="南京分公司"),
        Item(3, category="large", branch="杭州分公司"),  # LARGE covers it too, HZ_LARGE comes first
        Item(4, category="small", branch="杭州分公司"),  # SMALL's branch filter leaves it out
        Item(5, category="small", branch="苏州分公司"),
    ]
    plan = build_digest(items, ROUTING)
    assert list(plan.by_owner) == ["杭州大件", "大件配送", "小件配送"]  # file order, not arrival order
    assert ids(plan.by_owner["杭州大件"]) == [3]
    assert ids(plan.by_owner["大件配送"]) == [2]
    assert ids(plan.by_owner["小件配送"]) == [1, 5]
    assert ids(plan.unrouted) == [4]


def test_file_order_decides_between_overlapping_owners() -> None:
    reordered = replace(ROUTING, owners=(LARGE, HZ_LARGE, SMALL))
    plan = build_digest([Item(1, branch="杭州分公司")], reordered)
    assert list(plan.by_owner) == ["大件配送"]


def test_owners_without_items_get_no_entry() -> None:
    plan = build_digest([Item(1, category="small", branch="南京分公司")], ROUTING)
    assert list(plan.by_owner) == ["小件配送"]
    assert build_digest([], ROUTING).by_owner == {}


def test_unknown_categories_and_uncovered_branches_are_unrouted() -> None:
    items = [Item(1, category="huge"), Item(2, category="small", branch="上海分公司")]
    plan = build_digest(items, ROUTING)
    assert plan.by_owner == {}
    assert ids(plan.unrouted) == [2, 1]  # ordered like an owner's items: 上海 before 杭州


def test_items_are_ordered_by_day_branch_and_order_number() -> None:
    items = [
        Item(1, rejected_on=date(2026, 11, 26), branch="南京分公司", order_no="SO2"),
        Item(2, rejected_on=date(2026, 11, 25), branch="南京分公司", order_no="SO9"),
        Item(3, rejected_on=date(2026, 11, 26), branch="南京分公司", order_no="SO1"),
        Item(4, rejected_on=date(2026, 11, 26), branch="上海分公司", order_no="SO0"),
    ]
    plan = build_digest(items, ROUTING)
    assert ids(plan.by_owner["大件配送"]) == [2, 4, 3, 1]


# --- pagination --------------------------------------------------------------


def expected_pages(n: int) -> int:
    return 1 if n <= ITEMS_FIRST_PAGE else 1 + math.ceil((n - ITEMS_FIRST_PAGE) / ITEMS_PER_PAGE)


def test_page_sizes_fill_a_message() -> None:
    # Two blocks an item; two heading blocks on the first message, one on the rest.
    assert 2 + 2 * ITEMS_FIRST_PAGE <= 50 < 2 + 2 * (ITEMS_FIRST_PAGE + 1)
    assert 1 + 2 * ITEMS_PER_PAGE <= 50 < 1 + 2 * (ITEMS_PER_PAGE + 1)


@pytest.mark.parametrize(
    ("n", "pages"),
    [
        (1, 1),
        (ITEMS_FIRST_PAGE, 1),
        (ITEMS_FIRST_PAGE + 1, 2),
        (ITEMS_FIRST_PAGE + ITEMS_PER_PAGE, 2),
        (ITEMS_FIRST_PAGE + ITEMS_PER_PAGE + 1, 3),
        (10_000, expected_pages(10_000)),
    ],
)
def test_items_with_short_text_fill_pages_to_the_block_limit(n: int, pages: int) -> None:
    items = [Item(i) for i in range(n)]
    split = paginate(items)
    assert page_count(n) == len(split) == pages
    assert [x for page in split for x in page] == items  # nothing lost, nothing reordered
    assert len(split[0]) == min(n, ITEMS_FIRST_PAGE)
    assert all(0 < len(page) <= ITEMS_PER_PAGE for page in split[1:])
    assert all(len(page) == ITEMS_PER_PAGE for page in split[1:-1])  # only the last may be short


def test_ten_thousand_items_need_417_messages() -> None:
    assert ITEMS_FIRST_PAGE == ITEMS_PER_PAGE == 24
    assert page_count(10_000) == 417


def test_no_items_agree_too() -> None:
    # The digest never pages an owner without items (build_digest drops them);
    # the two functions must still agree.
    assert page_count(0) == len(paginate([]))


# --- pagination: the text budget ------------------------------------------------

LONG_NAMES = dict(branch="分" * 128, customer="客" * 300 + " 13812341234", callback_agent="王" * 64, order_no="SO" + "9" * 62)


def worst_state(item: Item, status: Status, *, surface: Surface = Surface.CLI) -> Item:
    """The item as it may look later: decided by someone, fixed with a long note."""
    return replace(item, status=status, last_actor="U0123456789ABCDEFGHIJKLM", last_surface=surface, fix_note="修" * 5_000)


def every_page_fits(items: list, owner: Owner = LARGE) -> list[list]:
    """Render every page in both locales, as posted and as it may be re-rendered
    in any later state (late, copied managers); assert each fits the budget
    and every item is on exactly one page."""
    pages = paginate(items)
    assert [i.id for page in pages for i in page] == [i.id for i in items]
    for locale in LOCALES:
        catalog = Catalog(locale)
        for number, page in enumerate(pages):
            for status in Status:
                later = [worst_state(i, status) if status is not Status.AWAITING else i for i in page]
                for kw in ({}, {"late": True, "copied": tuple(f"U0MANAGER{k:02}" for k in range(12))}):
                    ctx = context(owner, page=number, pages=len(pages), total=len(items), **kw)
                    _, blocks = digest_message(ctx, later, catalog, SHANGHAI)
                    assert block_text_length(blocks) <= MESSAGE_TEXT_BUDGET, (locale, number, status, kw)
                    assert_valid(blocks)
                    assert [b["block_id"] for b in blocks if b["block_id"].startswith("item-")] == [f"item-{i.id}" for i in page]
    return pages


@pytest.mark.parametrize("note_length", [400, 5_000])
@pytest.mark.parametrize("names", [{}, LONG_NAMES], ids=["short-names", "long-names"])
def test_pages_of_long_notes_fit_the_text_budget_in_every_state_and_locale(note_length: int, names: dict) -> None:
    owner = replace(LARGE, name="大件配送" * 50)  # a long owner name in the head
    items = [Item(i, note=("回访记录 13812341234 " * 400)[:note_length], **names) for i in range(1, 61)]
    pages = every_page_fits(items, owner)
    assert len(pages) > page_count(60)  # the text budget, not the block limit, closed the pages


def test_a_page_of_24_items_with_400_character_notes_is_split() -> None:
    # Issue 6: such a page carried 12-14k characters of text; Slack refuses it.
    items = [Item(i, note="x" * 400) for i in range(1, 25)]
    pages = paginate(items)
    assert len(pages) == 2
    for locale in LOCALES:
        for number, page in enumerate(pages):
            ctx = context(page=number, pages=2, total=24)
            assert block_text_length(digest_message(ctx, page, Catalog(locale), SHANGHAI)[1]) <= MESSAGE_TEXT_BUDGET


def test_the_note_is_cut_on_the_page() -> None:
    text = item_blocks(Item(1, note="x" * 5_000), Catalog("en"), SHANGHAI)[0]["text"]["text"]
    assert "x" * NOTE_LIMIT not in text and "x" * (NOTE_LIMIT - 1) + "…" in text


@pytest.mark.parametrize("n", [1, 2, 3, 5, 8, 13, 23, 24, 25, 47, 48, 49, 100, 333])
@pytest.mark.parametrize("note_length", [0, 40, 150, 301, 900, 3_000])
def test_any_number_of_items_of_any_note_length_fits(n: int, note_length: int) -> None:
    # Property-style: notes of mixed lengths around the size, every page within budget.
    items = [
        Item(i, note="备注" * ((note_length * (1 + i % 3)) // 6), **(LONG_NAMES if i % 4 == 0 else {}))
        for i in range(1, n + 1)
    ]
    pages = paginate(items)
    assert [i.id for page in pages for i in page] == list(range(1, n + 1))
    assert all(page for page in pages)
    for locale in LOCALES:
        catalog = Catalog(locale)
        for number, page in enumerate(pages):
            later = [worst_state(i, Status.FIXED) for i in page]
            ctx = context(page=number, pages=len(pages), total=n, late=True, copied=("U0OPSHEAD",) * 9)
            _, blocks = digest_message(ctx, later, catalog, SHANGHAI)
            assert block_text_length(blocks) <= MESSAGE_TEXT_BUDGET
            assert len(blocks) <= 50


def test_a_page_whose_facts_grew_still_fits_by_cutting_notes() -> None:
    # A page not made by paginate (or whose items changed since): notes give way.
    items = [Item(i, note="x" * 3_000, **LONG_NAMES) for i in range(1, 25)]
    _, blocks = digest_message(context(total=24), items, Catalog("en"), SHANGHAI)
    assert block_text_length(blocks) <= MESSAGE_TEXT_BUDGET
    assert len([b for b in blocks if b["block_id"].startswith("item-")]) == 24


# --- rendering: limits -------------------------------------------------------

NASTY = dict(
    order_no="SO<1>&2",
    branch="<!channel> & <b>" + "分" * 484,  # 500 characters
    note="<script>alert(1)</script> & more\n" + "回访记录" * 2500,  # over 10,000 characters
    callback_agent="<@U999> & co",
    customer="张三 <i> 13812341234",
)


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize(
    "n", [1, ITEMS_FIRST_PAGE, ITEMS_FIRST_PAGE + 1, ITEMS_FIRST_PAGE + ITEMS_PER_PAGE + 1, 1_000]
)
def test_every_message_is_within_slacks_limits(locale: str, n: int) -> None:
    statuses = list(Status)
    items = [
        Item(
            i, **NASTY, status=statuses[i % len(statuses)],
            last_actor="U0OWNERY" if i % 3 else None, last_surface=list(Surface)[i % len(Surface)],
        )
        for i in range(1, n + 1)
    ]
    messages = render_all(LARGE, items, Catalog(locale), late=True, copied=("U0OPSHEAD", "U0BOSS"))
    assert len(messages) >= page_count(n)  # long notes: the text budget closes pages sooner
    rendered_items = 0
    for fallback, blocks in messages:
        assert_valid(blocks)
        assert block_text_length(blocks) <= MESSAGE_TEXT_BUDGET
        assert fallback and len(fallback) <= SLACK_MESSAGE_TEXT_LIMIT
        rendered_items += sum(1 for b in blocks if b["block_id"].startswith("item-"))
    assert rendered_items == n


@pytest.mark.parametrize("note", ["x" * 10_000, "&" * 10_000, "<>" * 5_000, "line\n" * 2_000])
def test_a_huge_callback_note_keeps_the_section_within_the_limit(note: str) -> None:
    blocks = item_blocks(Item(1, note=note, branch="<b>" * 200), Catalog("en"), SHANGHAI)
    assert_valid(blocks)


@pytest.mark.parametrize("note", ["x" * 10_000, "&" * 10_000, "<>" * 5_000, "line\n" * 2_000])
def test_a_huge_callback_note_does_not_push_out_the_item_facts(note: str) -> None:
    # The note is cut (NOTE_LIMIT) so that the customer, agent and date still show.
    blocks = item_blocks(Item(1, note=note, branch="<b>" * 200), Catalog("en"), SHANGHAI)
    text = blocks[0]["text"]["text"]
    assert "138****1234" in text
    assert text.rstrip().endswith("2026-11-26")


@pytest.mark.parametrize("note", ["&" * 10_000, "<" * 10_000, "a>" * 5_000])
def test_a_cut_note_never_leaves_a_broken_escape(note: str) -> None:
    blocks = item_blocks(Item(1, note=note), Catalog("en"), SHANGHAI)
    assert unescaped(blocks[0]["text"]["text"]) == ""


# --- rendering: escaping -----------------------------------------------------


@pytest.mark.parametrize("locale", LOCALES)
def test_mrkdwn_control_characters_are_escaped(locale: str) -> None:
    owner = replace(LARGE, name="Y <&> 大件")
    items = [
        Item(1, **{**NASTY, "note": "<script>alert(1)</script> & <!here>"}),
        Item(2, **{**NASTY, "note": "a < b > c & d"}, status="confirmed", last_actor="U0OWNERY", last_surface="button"),
    ]
    [(fallback, blocks)] = render_all(owner, items, Catalog(locale))
    data_blocks = [b for b in blocks if b["block_id"] != "howto"]  # the how-to is catalog text only
    assert len(data_blocks) == len(blocks) - 1
    for obj in text_objects(data_blocks):
        if obj["type"] == "mrkdwn":
            assert unescaped(obj["text"]) == "", obj["text"]
    dumped = json.dumps(blocks, ensure_ascii=False)
    assert "&lt;!channel&gt; &amp; &lt;b&gt;" in dumped
    assert "SO&lt;1&gt;&amp;2" in dumped
    assert "&lt;script&gt;" in dumped
    assert "&lt;@U999&gt; &amp; co" in dumped  # an agent name is not a mention
    assert "Y &lt;&amp;&gt; 大件" in dumped


def test_only_our_own_mentions_stay_as_markup() -> None:
    [(_, blocks)] = render_all(LARGE, [Item(1)], Catalog("en"), copied=("U0OPSHEAD",))
    head = blocks[0]["text"]["text"]
    assert "<@U0OWNERY>" in head
    assert "<@U0OPSHEAD>" in head


# --- rendering: content ------------------------------------------------------


@pytest.mark.parametrize("locale", LOCALES)
def test_awaiting_items_have_confirm_and_dispute_buttons(locale: str) -> None:
    catalog = Catalog(locale)
    section, actions = item_blocks(Item(4711), catalog, SHANGHAI)
    assert section["type"] == "section"
    assert actions["type"] == "actions"
    confirm, dispute = actions["elements"]
    assert (confirm["type"], confirm["action_id"], confirm["value"]) == ("button", ActionId.CONFIRM, "4711")
    assert (dispute["type"], dispute["action_id"], dispute["value"]) == ("button", ActionId.DISPUTE, "4711")
    assert confirm["action_id"] == "item.confirm" and dispute["action_id"] == "item.dispute"
    assert confirm["text"]["text"] == catalog.t("digest.button_confirm")
    assert dispute["text"]["text"] == catalog.t("digest.button_dispute")
    assert confirm.get("style") == "primary" and "style" not in dispute


def state_text(line: dict) -> str:
    """The state line under an item: a context line, or a section (with a Fix button)."""
    if line["type"] == "section":
        return line["text"]["text"]
    [element] = line["elements"]
    return element["text"]


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("status", sorted(set(Status) - {Status.AWAITING}))
def test_decided_items_say_who_did_what_instead_of_buttons(locale: str, status: Status) -> None:
    catalog = Catalog(locale)
    item = Item(7, status=status, last_actor="U0DELEGY", last_surface="reaction")
    section, line = item_blocks(item, catalog, SHANGHAI)
    assert line["block_id"] == "state-7"
    assert line["type"] == ("section" if status in (Status.CONFIRMED, Status.DEEMED_CONFIRMED) else "context")
    text = state_text(line)
    assert catalog.t(f"status.{status}") in text
    assert "<@U0DELEGY>" in text
    assert catalog.t("surface.reaction") in text
    assert "11-27 10:15" in text  # in the team's time zone
    assert "item.confirm" not in json.dumps([section, line])


def test_a_decision_without_an_actor_shows_the_state_alone() -> None:
    catalog = Catalog("en")
    _, line = item_blocks(Item(7, status="deemed_confirmed"), catalog, SHANGHAI)
    assert state_text(line) == catalog.t("status.deemed_confirmed")


@pytest.mark.parametrize("locale", LOCALES)
def test_the_customer_is_masked_everywhere(locale: str) -> None:
    items = [Item(1), Item(2, customer="13812341234 张三", status="confirmed", last_actor="U0OWNERY", last_surface="command")]
    [(fallback, blocks)] = render_all(LARGE, items, Catalog(locale))
    everything = fallback + json.dumps(blocks, ensure_ascii=False)
    assert "13812341234" not in everything
    assert "张三" not in everything
    assert "张* 138****1234" in everything


def test_a_phone_number_in_the_callback_note_is_masked_too() -> None:
    # docs/product.md: "the channel shows masked phone numbers" - whichever field they are in.
    [(fallback, blocks)] = render_all(LARGE, [Item(1, note="客户 13812341234 说货已收到")], Catalog("zh_CN"))
    assert "13812341234" not in json.dumps(blocks, ensure_ascii=False)


@pytest.mark.parametrize("locale", LOCALES)
def test_an_item_shows_its_facts(locale: str) -> None:
    catalog = Catalog(locale)
    item = Item(1, scenario="reschedule", category="small", branch="南京分公司", note="line one\nline two")
    text = item_blocks(item, catalog, SHANGHAI)[0]["text"]["text"]
    assert "*SO20261126001*" in text
    assert "南京分公司" in text
    assert catalog.t("digest.category_small") in text
    assert catalog.t("digest.scenario_reschedule") in text
    assert "> line one line two" in text  # the note as one quoted line
    assert "王丽" in text and "2026-11-26" in text


def test_an_item_without_scenario_or_note() -> None:
    text = item_blocks(Item(1, scenario=None, note=""), Catalog("en"), SHANGHAI)[0]["text"]["text"]
    assert "> " not in text
    assert "None" not in text


@pytest.mark.parametrize("locale", LOCALES)
def test_the_first_message_states_owner_count_and_deadline(locale: str) -> None:
    catalog = Catalog(locale)
    items = [Item(i) for i in range(1, ITEMS_FIRST_PAGE + 2)]
    (fallback, first), (_, second) = render_all(LARGE, items, catalog, late=True, copied=("U0OPSHEAD",))
    head = first[0]["text"]["text"]
    assert "大件配送" in head and "<@U0OWNERY>" in head
    assert str(len(items)) in head
    assert DEADLINE_SHOWN in head
    assert catalog.t("digest.more_in_thread", pages=2) in head
    assert catalog.t("digest.late") in head
    assert DEADLINE_SHOWN in first[1]["elements"][0]["text"]  # the how-to line
    assert DEADLINE_SHOWN in fallback and str(len(items)) in fallback
    # the continuation: one heading block, then its items
    assert second[0]["type"] == "context"
    assert second[0]["elements"][0]["text"] == catalog.t(
        "digest.continuation", owner="大件配送", page=2, pages=2, deadline=DEADLINE_SHOWN
    )
    assert len(second) == 1 + 2 * 1


def test_a_single_page_says_nothing_about_a_thread_or_lateness() -> None:
    catalog = Catalog("en")
    [(_, blocks)] = render_all(LARGE, [Item(1)], catalog)
    head = blocks[0]["text"]["text"]
    assert catalog.t("digest.more_in_thread", pages=1) not in head
    assert catalog.t("digest.late") not in head
    assert len(blocks) == 2 + 2


def test_both_catalogs_render_differently() -> None:
    en = render_all(LARGE, [Item(1)], Catalog("en"))
    zh = render_all(LARGE, [Item(1)], Catalog("zh_CN"))
    assert en != zh
    assert "确认" in json.dumps(zh, ensure_ascii=False)
    assert "Confirm" in json.dumps(en)


# --- the unrouted DM ---------------------------------------------------------


@pytest.mark.parametrize("locale", LOCALES)
def test_unrouted_message_lists_records_and_the_fix(locale: str) -> None:
    catalog = Catalog(locale)
    items = [Item(i, order_no=f"SO{i}", category="small", branch="上海分公司") for i in range(1, 4)]
    text = unrouted_message(items, DAY, catalog)
    assert "2026-11-27" in text
    assert all(f"SO{i}" in text for i in range(1, 4))
    assert catalog.t("digest.category_small") in text
    assert text.endswith(catalog.t("digest.unrouted_hint"))


def test_unrouted_message_shows_a_hundred_and_counts_the_rest() -> None:
    catalog = Catalog("en")
    items = [Item(i, order_no=f"SO{i:05}") for i in range(1, 10_001)]
    text = unrouted_message(items, DAY, catalog)
    assert "SO00100" in text and "SO00101" not in text
    assert catalog.t("digest.unrouted_more", count=9_900) in text


def test_unrouted_message_fits_a_slack_message_with_long_branches() -> None:
    items = [Item(i, branch="分" * 500) for i in range(1, 10_001)]
    text = unrouted_message(items, DAY, Catalog("en"))
    assert len(text) <= SLACK_MESSAGE_TEXT_LIMIT


@pytest.mark.parametrize("shift", range(0, 40, 3))
def test_a_phone_number_where_the_note_is_cut_is_still_masked(shift: int) -> None:
    note = "备" * (NOTE_LIMIT - 20 + shift) + " +86-138-1234-5678 13812345678 " * 30
    text = item_blocks(Item(1, note=note), Catalog("zh_CN"), SHANGHAI)[0]["text"]["text"]
    digits = re.sub(r"\D", "", text.split("\n")[1])
    assert "1234" not in digits  # the middle four never show, however the note was cut


@pytest.mark.parametrize("locale", LOCALES)
def test_the_unrouted_dm_fits_the_budget_with_long_branches(locale: str) -> None:
    catalog = Catalog(locale)
    items = [Item(i, order_no="SO" + "9" * 62, branch="分" * 500) for i in range(1, 10_001)]
    text = unrouted_message(items, DAY, catalog)
    assert len(text) <= MESSAGE_TEXT_BUDGET
    shown = text.count("SO" + "9" * 62)
    assert 0 < shown < 100
    assert catalog.t("digest.unrouted_more", count=10_000 - shown) in text
    assert text.endswith(catalog.t("digest.unrouted_hint"))
