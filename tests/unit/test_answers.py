"""Private answers stay within the message budget however many orders they
cover: the first orders are named, the rest counted."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.core.answers import ORDERS_SHOWN, ItemResult, Outcome, answer_counts, answer_summary
from bot.core.lifecycle import Action, Status
from bot.core.text import MESSAGE_TEXT_BUDGET, text_size
from bot.i18n import LOCALES, Catalog

SHANGHAI = ZoneInfo("Asia/Shanghai")
DEADLINE = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
ACTIONS = (Action.CONFIRM, Action.DISPUTE, Action.UNDO_CONFIRM, Action.UPHOLD, Action.OVERRULE, Action.FIX)


def results(n: int, outcome: Outcome, *, order_len: int = 16) -> list[ItemResult]:
    return [
        ItemResult(f"SO{i:0{order_len - 2}d}", outcome, status=Status.CONFIRMED, owner=f"owner {i % 7}", deadline=DEADLINE)
        for i in range(n)
    ]


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("action", ACTIONS)
def test_five_thousand_orders_of_every_kind_fit_the_budget(locale: str, action: Action) -> None:
    catalog = Catalog(locale)
    everything = [r for outcome in Outcome for r in results(5_000, outcome, order_len=64)]
    text = answer_summary(action, everything, catalog, SHANGHAI)
    assert text_size(text) <= MESSAGE_TEXT_BUDGET


@pytest.mark.parametrize("locale", LOCALES)
def test_a_confirm_of_5000_orders_says_how_many_and_names_the_first(locale: str) -> None:
    # Issue 6: 60 confirmed, 4,940 unknown built a 60,457-character reply.
    catalog = Catalog(locale)
    done, unknown = results(60, Outcome.APPLIED), [ItemResult(f"SO9{i:013d}", Outcome.UNKNOWN) for i in range(4_940)]
    text = answer_summary(Action.CONFIRM, done + unknown, catalog, SHANGHAI)
    assert text_size(text) <= 2_000
    shown = ", ".join(r.order_no for r in done[:ORDERS_SHOWN]) + " " + catalog.t("answers.and_more", count=40)
    assert text.splitlines()[0] == catalog.t("answers.applied_confirm", count=60, orders=shown)
    assert done[0].order_no in text and done[ORDERS_SHOWN - 1].order_no in text and done[ORDERS_SHOWN].order_no not in text
    assert catalog.t("answers.and_more", count=60 - ORDERS_SHOWN) in text
    assert catalog.t("answers.and_more", count=4_940 - ORDERS_SHOWN) in text


def test_a_short_list_is_named_in_full() -> None:
    catalog = Catalog("en")
    text = answer_summary(Action.CONFIRM, results(3, Outcome.APPLIED), catalog, SHANGHAI)
    assert text == catalog.t("answers.applied_confirm", count=3, orders="SO00000000000000, SO00000000000001, SO00000000000002")


@pytest.mark.parametrize("outcome", [Outcome.WRONG_STATE, Outcome.EXPIRED])
def test_one_line_per_order_outcomes_show_the_first_and_count_the_rest(outcome: Outcome) -> None:
    catalog = Catalog("en")
    text = answer_summary(Action.CONFIRM, results(1_000, outcome), catalog, SHANGHAI)
    lines = text.splitlines()
    assert len(lines) == 6
    assert lines[-1] == catalog.t("answers.more_lines", count=995)


@pytest.mark.parametrize("locale", LOCALES)
def test_counts_name_every_outcome(locale: str) -> None:
    catalog = Catalog(locale)
    text = answer_counts(results(60, Outcome.APPLIED) + results(4_940, Outcome.UNKNOWN), catalog)
    assert text == ", ".join([catalog.t("answers.count_applied", count=60), catalog.t("answers.count_unknown", count=4_940)])
