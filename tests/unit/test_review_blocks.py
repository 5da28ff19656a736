"""Re-verification and fixes in the pure core: the review DM and its resolved
form, the thread replies, the Fix button and the remedy on digest items, the
overrule and fix modals, and parsing the new ``/reject`` verbs."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from functools import partial
from zoneinfo import ZoneInfo

import pytest
from support import ItemStandIn

from bot.core.answers import ItemResult, Outcome, answer_summary
from bot.core.commands import Command, CommandError, Verb, parse_command
from bot.core.digest import (
    Resolution,
    ReviewFacts,
    item_blocks,
    penalty_notice,
    resolved_thread_text,
    review_message,
    review_thread_text,
)
from bot.core.lifecycle import Action, Status
from bot.core.modals import (
    fix_modal,
    input_value,
    overrule_modal,
    read_item_metadata,
)
from bot.fakeslack import check_blocks, check_view
from bot.i18n import LOCALES, Catalog
from bot.ids import ActionId, BlockId, ViewId

SHANGHAI = ZoneInfo("Asia/Shanghai")
DISPUTED_AT = datetime(2026, 11, 27, 1, 15, tzinfo=UTC)  # 09:15 in Shanghai
RESOLVED_AT = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)  # 11:00 in Shanghai


# A disputed item, as the review renderers see it.
Item = partial(
    ItemStandIn, note="客户 13812341234 说已经收到货了", status="disputed", last_actor="U0OWNERY",
    last_surface="command", updated_at=DISPUTED_AT,
)


def facts(item: Item | None = None, **kw) -> ReviewFacts:
    values = {
        "item": item or Item(42), "owner": "大件配送", "owner_user": "U0OWNERY", "disputed_by": "U0DELEGY",
        "disputed_at": DISPUTED_AT, "reason": "客户当面拒收 <有录音> & 照片", "reviewer": "U0CS0001",
        "agent_known": True, "penalty": 50,
    }
    return ReviewFacts(**(values | kw))


def uphold(**kw) -> Resolution:
    return Resolution(**{"action": Action.UPHOLD, "actor": "U0CS0001", "at": RESOLVED_AT, "note": "", "penalty": 50, **kw})


def overrule(**kw) -> Resolution:
    return Resolution(**{"action": Action.OVERRULE, "actor": "U0CS0002", "at": RESOLVED_AT, "note": "录音显示客户已签收", **kw})


def buttons(blocks: list[dict]) -> list[dict]:
    return [e for b in blocks for e in [b.get("accessory"), *b.get("elements", [])] if isinstance(e, dict) and e.get("type") == "button"]


def everything(fallback: str, blocks: list[dict]) -> str:
    return fallback + json.dumps(blocks, ensure_ascii=False)


# --- the review DM -------------------------------------------------------------


@pytest.mark.parametrize("locale", LOCALES)
def test_the_review_dm_shows_the_item_owner_and_reason_with_uphold_and_overrule_buttons(locale: str) -> None:
    catalog = Catalog(locale)
    fallback, blocks = review_message(facts(), catalog, SHANGHAI)

    assert check_blocks(blocks, max_blocks=50) == []
    assert [b["block_id"] for b in blocks] == ["review-head", "item-42", "dispute-42", "review-hint", "review-act-42"]
    text = everything(fallback, blocks)
    assert "SO20261126001" in fallback and "大件配送" in fallback
    assert "大件配送" in text and "<@U0OWNERY>" in text  # the owner
    assert "<@U0DELEGY>" in text and "11-27 09:15" in text  # who disputed, when (team time)
    assert "客户当面拒收 &lt;有录音&gt; &amp; 照片" in text  # the reason, escaped
    assert "¥50" in text and "王丽" in text  # what an uphold costs, and whom
    uphold_button, overrule_button = buttons(blocks)
    assert (uphold_button["action_id"], uphold_button["value"]) == (ActionId.UPHOLD, "42")
    assert (overrule_button["action_id"], overrule_button["value"]) == (ActionId.OVERRULE, "42")
    assert uphold_button["text"]["text"] == catalog.t("review.button_uphold")
    assert overrule_button["text"]["text"] == catalog.t("review.button_overrule")
    assert "¥50" in uphold_button["confirm"]["text"]["text"]  # a penalty is booked: ask first


def test_the_review_dm_shows_the_full_customer_it_goes_to_cs_only() -> None:
    fallback, blocks = review_message(facts(), Catalog("en"), SHANGHAI)
    text = everything(fallback, blocks)
    assert "张三 13812341234" in text
    assert "138****1234" not in text
    assert "客户 13812341234 说已经收到货了" in text  # CS's own note, unmasked too


def test_the_digest_still_masks_the_customer() -> None:
    section, _ = item_blocks(Item(42, status="awaiting"), Catalog("en"), SHANGHAI)
    assert "13812341234" not in json.dumps(section, ensure_ascii=False)


def test_the_review_dm_says_why_it_came_to_the_cs_lead() -> None:
    catalog = Catalog("en")
    unknown = facts(Item(42, callback_agent="赵敏"), reviewer="U0CSLEAD", agent_known=False)
    _, blocks = review_message(unknown, catalog, SHANGHAI)
    assert catalog.t("review.agent_unknown", agent="赵敏") in json.dumps(blocks, ensure_ascii=False)
    _, known = review_message(facts(), catalog, SHANGHAI)
    assert "CS lead" not in json.dumps(known, ensure_ascii=False)


@pytest.mark.parametrize("locale", LOCALES)
def test_a_resolved_review_dm_has_no_buttons_and_says_what_was_decided(locale: str) -> None:
    catalog = Catalog(locale)
    upheld_fallback, upheld = review_message(facts(), catalog, SHANGHAI, resolution=uphold(note="回访时听错了"))
    overruled_fallback, overruled = review_message(facts(), catalog, SHANGHAI, resolution=overrule())

    for fallback, blocks in ((upheld_fallback, upheld), (overruled_fallback, overruled)):
        assert check_blocks(blocks, max_blocks=50) == []
        assert buttons(blocks) == []
        assert blocks[-1]["block_id"] == "review-state-42"
        assert "张三 13812341234" in json.dumps(blocks, ensure_ascii=False)  # the facts stay
    state = upheld[-1]["elements"][0]["text"]
    assert "<@U0CS0001>" in state and "11-27 11:00" in state and "¥50" in state and "回访时听错了" in state
    state = overruled[-1]["elements"][0]["text"]
    assert "<@U0CS0002>" in state and "录音显示客户已签收" in state and "¥" not in state


def test_an_uphold_that_booked_nothing_mentions_no_penalty() -> None:
    _, blocks = review_message(facts(), Catalog("en"), SHANGHAI, resolution=uphold(penalty=None))
    assert "¥" not in blocks[-1]["elements"][0]["text"]


def test_a_huge_reason_keeps_the_review_dm_within_slacks_limits() -> None:
    nasty = facts(Item(42, note="回访" * 6000, customer="<b>" * 300), reason="<&>" * 5000)
    for resolution in (None, uphold(note="&" * 5000), overrule(note="<" * 5000)):
        fallback, blocks = review_message(nasty, Catalog("zh_CN"), SHANGHAI, resolution=resolution)
        assert check_blocks(blocks, max_blocks=50) == []
        assert len(fallback) <= 40_000


# --- replies in the owner's thread and the penalty DM --------------------------------


@pytest.mark.parametrize("locale", LOCALES)
def test_the_thread_reply_says_the_dispute_went_to_cs_without_customer_data(locale: str) -> None:
    text = review_thread_text(facts(), Catalog(locale))
    assert "SO20261126001" in text and "<@U0DELEGY>" in text and "<@U0CS0001>" in text
    assert "&lt;有录音&gt;" in text
    assert "13812341234" not in text and "张三" not in text  # the channel sees no customer


@pytest.mark.parametrize("locale", LOCALES)
def test_an_overrule_tells_the_owner_with_the_evidence(locale: str) -> None:
    text = resolved_thread_text(facts(), overrule(note="录音 <12:03> 客户确认签收"), Catalog(locale))
    assert text.startswith("<@U0OWNERY>")
    assert "SO20261126001" in text and "<@U0CS0002>" in text
    assert "录音 &lt;12:03&gt; 客户确认签收" in text


def test_an_uphold_tells_the_owner_it_is_withdrawn() -> None:
    catalog = Catalog("en")
    text = resolved_thread_text(facts(), uphold(), catalog)
    assert text.startswith("<@U0OWNERY>") and "withdrawn" in text


@pytest.mark.parametrize("locale", LOCALES)
def test_the_penalty_notice_names_the_amount_and_the_agent(locale: str) -> None:
    text = penalty_notice(facts(), uphold(penalty=80), Catalog(locale))
    assert "¥80" in text and "王丽" in text and "SO20261126001" in text and "<@U0CS0001>" in text


@pytest.mark.parametrize("locale", LOCALES)
def test_the_penalty_notice_writes_the_amount_as_money_in_the_reader_s_language(locale: str) -> None:
    text = penalty_notice(facts(), uphold(penalty=1200), Catalog(locale))
    assert "¥1,200" in text and "¥¥" not in text


# --- the digest: Fix button and the remedy ------------------------------------------


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("status", [Status.CONFIRMED, Status.DEEMED_CONFIRMED])
def test_an_item_awaiting_its_fix_shows_its_state_with_a_fix_button(locale: str, status: Status) -> None:
    catalog = Catalog(locale)
    blocks = item_blocks(Item(9, status=status), catalog, SHANGHAI)
    assert len(blocks) == 2  # the page sizes count on it
    assert check_blocks(blocks, max_blocks=50) == []
    _, line = blocks
    assert (line["type"], line["block_id"]) == ("section", "state-9")
    assert catalog.t(f"status.{status}") in line["text"]["text"]
    button = line["accessory"]
    assert (button["type"], button["action_id"], button["value"]) == ("button", ActionId.FIX, "9")
    assert button["action_id"] == "item.fix"
    assert button["text"]["text"] == catalog.t("digest.button_fix")


@pytest.mark.parametrize("locale", LOCALES)
def test_a_fixed_item_shows_the_remedy_and_no_button(locale: str) -> None:
    catalog = Catalog(locale)
    blocks = item_blocks(Item(9, status="fixed", fix_note="已于 11-28 重新配送 <签收>"), catalog, SHANGHAI)
    assert len(blocks) == 2 and check_blocks(blocks, max_blocks=50) == []
    _, line = blocks
    assert (line["type"], line["block_id"]) == ("context", "state-9")
    text = line["elements"][0]["text"]
    assert catalog.t("status.fixed") in text
    assert "已于 11-28 重新配送 &lt;签收&gt;" in text
    assert buttons(blocks) == []


def test_a_huge_remedy_is_cut() -> None:
    _, line = item_blocks(Item(9, status="fixed", fix_note="x" * 10_000), Catalog("en"), SHANGHAI)
    assert len(line["elements"][0]["text"]) < 1000


@pytest.mark.parametrize("status", [Status.DISPUTED, Status.WITHDRAWN])
def test_other_decided_items_have_no_fix_button(status: Status) -> None:
    assert buttons(item_blocks(Item(9, status=status), Catalog("en"), SHANGHAI)) == []


# --- modals -------------------------------------------------------------------------


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize(
    ("modal", "callback", "block", "action", "read"),
    [
        (overrule_modal, ViewId.OVERRULE, BlockId.OVERRULE_EVIDENCE, ActionId.OVERRULE_EVIDENCE, read_item_metadata),
        (fix_modal, ViewId.FIX, BlockId.FIX_NOTE, ActionId.FIX_NOTE, read_item_metadata),
    ],
    ids=["overrule", "fix"],
)
def test_the_overrule_and_fix_modals_ask_for_one_text_and_carry_the_item(locale, modal, callback, block, action, read) -> None:
    view = modal(item_id=42, order_no="SO20261126001", channel="DU0CS0001", catalog=Catalog(locale))
    assert check_view(view) == []
    assert view["callback_id"] == callback
    [field] = [b for b in view["blocks"] if b["type"] == "input"]
    assert (field["block_id"], field["element"]["action_id"]) == (block, action)
    assert field.get("optional") is not True
    assert "SO20261126001" in json.dumps(view, ensure_ascii=False)
    assert read(view["private_metadata"]) == (42, "DU0CS0001")


@pytest.mark.parametrize("metadata", ["", "garbage", "[]", '{"channel": "C1"}', '{"item": "x"}'])
def test_metadata_that_is_not_ours_reads_as_none(metadata: str) -> None:
    assert read_item_metadata(metadata) is None


def test_input_value_reads_and_strips_the_typed_text() -> None:
    view = {"state": {"values": {"fix.note": {"fix.note_input": {"type": "plain_text_input", "value": "  已重新配送 \n"}}}}}
    assert input_value(view, BlockId.FIX_NOTE, ActionId.FIX_NOTE) == "已重新配送"
    assert input_value(view, BlockId.OVERRULE_EVIDENCE, ActionId.OVERRULE_EVIDENCE) == ""
    assert input_value({"state": {"values": {"fix.note": {"fix.note_input": {"value": None}}}}}, BlockId.FIX_NOTE, ActionId.FIX_NOTE) == ""
    assert input_value({}, BlockId.FIX_NOTE, ActionId.FIX_NOTE) == ""


# --- the answer to the actor ----------------------------------------------------------


def test_someone_outside_cs_resolving_a_dispute_is_told_only_cs_can() -> None:
    catalog = Catalog("en")
    results = [ItemResult("SO1", Outcome.NOT_YOURS, Status.DISPUTED, "大件配送")]
    for action in (Action.UPHOLD, Action.OVERRULE):
        assert answer_summary(action, results, catalog, SHANGHAI) == catalog.t("answers.cs_only", orders="SO1")


def test_a_fix_on_an_item_not_yet_confirmed_says_what_a_fix_needs() -> None:
    catalog = Catalog("en")
    text = answer_summary(Action.FIX, [ItemResult("SO1", Outcome.WRONG_STATE, Status.AWAITING)], catalog, SHANGHAI)
    assert text == catalog.t("answers.wrong_state_fix", order="SO1", status=catalog.t("status.awaiting"))
    assert "confirmed" in text and "nothing changed" in text


# --- parsing the new verbs ------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("uphold SO1", Command(Verb.UPHOLD, orders=("SO1",))),
        ("uphold so1 回访时听错了", Command(Verb.UPHOLD, orders=("SO1",), reason="回访时听错了")),
        ("申诉成立 SO1，客户记错了", Command(Verb.UPHOLD, orders=("SO1",), reason="客户记错了")),
        ("overrule SO1 录音显示已签收", Command(Verb.OVERRULE, orders=("SO1",), reason="录音显示已签收")),
        ("驳回 ＳＯ1 录音 12:03 客户确认", Command(Verb.OVERRULE, orders=("SO1",), reason="录音 12:03 客户确认")),
        ("申诉驳回 SO1 有录音", Command(Verb.OVERRULE, orders=("SO1",), reason="有录音")),
        ("fix SO1 已于 11-28 重新配送", Command(Verb.FIX, orders=("SO1",), reason="已于 11-28 重新配送")),
        ("整改 SO1，已恢复订单", Command(Verb.FIX, orders=("SO1",), reason="已恢复订单")),
        ("FIX SO1\n已恢复订单\n并致电客户", Command(Verb.FIX, orders=("SO1",), reason="已恢复订单\n并致电客户")),
    ],
)
def test_uphold_overrule_and_fix_take_one_order_and_a_text(text: str, expected: Command) -> None:
    assert parse_command(text) == expected


@pytest.mark.parametrize(
    ("text", "key", "params"),
    [
        ("uphold", "commands.uphold_needs_order", {}),
        ("overrule", "commands.overrule_needs_order", {}),
        ("overrule SO1", "commands.overrule_needs_evidence", {"order": "SO1"}),
        ("驳回 so1   ", "commands.overrule_needs_evidence", {"order": "SO1"}),
        ("fix", "commands.fix_needs_order", {}),
        ("整改 SO1", "commands.fix_needs_note", {"order": "SO1"}),
    ],
)
def test_a_missing_order_evidence_or_note_is_an_error(text: str, key: str, params: dict) -> None:
    with pytest.raises(CommandError) as caught:
        parse_command(text)
    assert (caught.value.key, caught.value.params) == (key, params)


@pytest.mark.parametrize("locale", LOCALES)
def test_the_errors_and_help_read_well_in_both_catalogs(locale: str) -> None:
    catalog = Catalog(locale)
    assert "SO1" in catalog.t("commands.overrule_needs_evidence", order="SO1")
    assert "SO1" in catalog.t("commands.fix_needs_note", order="SO1")
    help_text = catalog.t("commands.help")
    for verb in ("uphold", "overrule", "fix"):
        assert f"/reject {verb}" in help_text


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("resolved", [False, True])
def test_the_review_dm_fits_the_text_budget_with_everything_long(locale: str, resolved: bool) -> None:
    from bot.core.text import MESSAGE_TEXT_BUDGET, block_text_length

    long = Item(42, note="回访 13812341234 " * 2_000, branch="分" * 128, customer="客" * 5_000, callback_agent="王" * 64, order_no="SO" + "9" * 62)
    f = facts(long, owner="大件配送" * 200, reason="理由 <&> " * 3_000)
    resolution = uphold(note="备注" * 5_000) if resolved else None
    _, blocks = review_message(f, Catalog(locale), SHANGHAI, resolution=resolution)
    assert block_text_length(blocks) <= MESSAGE_TEXT_BUDGET
    assert check_blocks(blocks, max_blocks=50) == []
