"""The monthly notice rendered: the hand-built November (test_monthly_figures)
in both locales, within Slack's limits, and a correction saying what changed."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from test_monthly_figures import LARGE, LI, SMALL, WANG, figures

from bot.core.monthly import AgentFigures, BranchFigures, Correction, Counts, MonthFigures, OwnerFigures, Trend
from bot.core.monthly_text import agent_message, describe_changes, manager_messages, notice_messages, same_figures
from bot.core.text import MESSAGE_TEXT_BUDGET
from bot.i18n import Catalog

SHANGHAI = ZoneInfo("Asia/Shanghai")


def all_text(messages) -> str:
    out = []
    for text, blocks in messages:
        out.append(text)
        for block in blocks:
            if block["type"] in ("section", "header"):
                out.append(block["text"]["text"])
            elif block["type"] == "context":
                out += [e["text"] for e in block["elements"]]
    return "\n".join(out)


def within_slack_limits(messages) -> None:
    for text, blocks in messages:
        assert len(blocks) <= 50
        assert text
        for block in blocks:
            if block["type"] == "section":
                assert len(block["text"]["text"]) <= 3000
        assert sum(len(b["text"]["text"]) for b in blocks if b["type"] == "section") <= MESSAGE_TEXT_BUDGET


def test_the_notice_in_chinese_shows_the_hand_counted_figures() -> None:
    messages = notice_messages(figures(), Catalog("zh_CN"), SHANGHAI)
    assert len(messages) == 1
    text = all_text(messages)
    assert "2025-11 误拒收月度通报" in text
    assert "数据截至 2025-12-01 09:30" in text
    assert "发布 13 · 确认 6 · 逾期默认确认 2 · 申诉 4（成立 2，驳回 1）· 未结 2" in text  # totals
    assert "*大件配送*　↑ +200%（上月 2）" in text
    assert "发布 9 · 确认 3 · 逾期默认确认 2 · 申诉 3（成立 1，驳回 1）· 未结 2" in text
    assert "已整改 2（时限内 1）· 答复中位 1小时07分 · 整改中位 15小时30分 · 收到升级 2 次" in text
    assert "误拒收处罚：6 单 × ¥100 = *¥600*" in text
    assert "*小件配送*　→（上月无记录）" in text
    assert "误拒收处罚：3 单 × ¥100 = *¥300*" in text
    assert "• 南京分公司：发布 5 · 确认 2 · 逾期 2 · 成立 0 · 驳回 0 · 未结 1 · 整改 2（时限内 1）" in text
    assert f"• {LI}：发布 4 · 被申诉 3 · 申诉成立 2 · 自行撤回 1 · 处罚 ¥100" in text
    assert f"• {WANG}：发布 9 · 被申诉 1 · 申诉成立 0 · 自行撤回 0 · 处罚 ¥0" in text
    assert "回访部自行更正*（不计入发布数）：1 条" in text
    assert "• L8（2025-11-11）大件配送，回访人 李娜，11-12 09:30 由 <@U0LEAD> 撤回：录入错误，张* 138****0000 已签收" in text
    assert "*处罚合计*：物流 ¥900 · 回访部 ¥100" in text
    within_slack_limits(messages)


def test_the_notice_in_english_shows_the_hand_counted_figures() -> None:
    text = all_text(notice_messages(figures(), Catalog("en"), SHANGHAI))
    assert "monthly notice for 2025-11" in text
    assert "posted 13 · confirmed 6 · deemed confirmed 2 · disputed 4 (upheld 2, overruled 1) · open 2" in text
    assert f"*{LARGE}*   ↑ +200% (last month 2)" in text
    assert "fixed 2 (1 within the fix window) · median answer 1h07m · median fix 15h30m · escalations received 2" in text
    assert "Penalty: 3 × ¥100 = *¥300*" in text
    assert f"• {LI}: posted 4 · disputed 3 · upheld 2 · withdrawn by CS 1 · penalty ¥100" in text
    assert "*Penalties in total*: logistics ¥900 · customer service ¥100" in text


def test_without_an_amount_per_item_no_money_for_logistics() -> None:
    # mistaken in total: confirmed 6 + deemed 2 + overruled 1
    text = all_text(notice_messages(figures(per_item=None), Catalog("en"), SHANGHAI))
    assert "Mistaken rejections: 6 (no amount per item set: counts only)" in text
    assert "logistics 9 items (no amount set) · customer service ¥100" in text
    assert "× ¥" not in text


def test_a_manager_sees_only_the_owners_below_them_and_no_cs_part() -> None:
    text = all_text(manager_messages(figures(), [SMALL], Catalog("zh_CN"), SHANGHAI))
    assert "抄送上级" in text
    assert SMALL in text and LARGE not in text
    assert "回访部自身准确率" not in text and "合计" not in text


def test_an_agent_gets_their_part() -> None:
    f = figures()
    (li,) = [a for a in f.agents if a.agent == LI]
    text, blocks = agent_message(f, li, Catalog("zh_CN"))
    assert "发布 4 条 · 被申诉 3 · 申诉成立 2 · 处罚 *¥100*" in text
    assert blocks[0]["text"]["text"] == text


def big_month(owners: int, branches: int, corrections: int) -> MonthFigures:
    counts = Counts(posted=10, confirmed=5, deemed=5, answer_median=timedelta(hours=1))
    return MonthFigures(
        month=figures().month, as_of=figures().as_of, per_item=None,
        owners=tuple(
            OwnerFigures(f"负责人{o:03d}" * 3, counts, tuple(BranchFigures(f"分公司{b:03d}" * 4, counts) for b in range(branches)), Trend(5, 10), None)
            for o in range(owners)
        ),
        agents=tuple(AgentFigures(f"回访{a}", 10, 1, 1, 50, 0) for a in range(40)),
        corrections=tuple(Correction(f"SO{c}", date(2025, 11, 3), "王丽", "大件配送", datetime(2025, 11, 3, 1, tzinfo=SHANGHAI), "U0LEAD", "很长" * 300) for c in range(corrections)),
        totals=counts,
    )


@pytest.mark.parametrize("locale", ["zh_CN", "en"])
def test_a_huge_month_is_split_into_continuations_within_slacks_limits(locale: str) -> None:
    messages = notice_messages(big_month(owners=80, branches=30, corrections=500), Catalog(locale), SHANGHAI)
    assert len(messages) > 3
    within_slack_limits(messages)
    text = all_text(messages)
    assert "负责人079" in text  # the last owner is there, in a continuation
    assert ("另有 400 条" if locale == "zh_CN" else "and 400 more") in text
    assert messages[1][1][0]["type"] == "context"  # a continuation says what it continues


def test_a_correction_says_what_changed() -> None:
    old = figures()
    # L7 confirmed again after the notice: 大件配送 has one more confirmed, one fewer open
    large = old.owner(LARGE)
    changed = replace(large, counts=replace(large.counts, confirmed=4, open=1), penalty=700)
    new = replace(old, owners=(changed, old.owner(SMALL)), as_of=old.as_of + timedelta(days=2))
    cat = Catalog("zh_CN")
    lines = describe_changes(old, new, cat)
    assert lines == ["• 大件配送，确认：3 → 4", "• 大件配送，未结：2 → 1", "• 大件配送，处罚：¥600 → ¥700"]
    text = all_text(notice_messages(new, cat, SHANGHAI, version=1, changes=lines, corrected_link="https://x/p1"))
    assert "（更正第 1 版）" in text
    assert "这是对 2025-11 月度通报的更正（原通报：https://x/p1）" in text
    assert "• 大件配送，确认：3 → 4" in text
    assert not same_figures(old, new)


def test_the_same_figures_at_another_moment_are_no_change() -> None:
    old = figures()
    later = replace(old, as_of=old.as_of + timedelta(days=3))
    assert same_figures(old, later)
    assert describe_changes(old, later, Catalog("en")) == []
