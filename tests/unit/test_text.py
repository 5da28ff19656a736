"""The size of a message as Slack counts it, and fitting lists in a budget."""

from __future__ import annotations

import pytest

from bot.core.text import MESSAGE_TEXT_BUDGET, TOP_TEXT_BUDGET, TOP_TEXT_LIMIT, block_text_length, join_within, text_size


def test_block_text_counts_every_text_string_at_any_depth() -> None:
    blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": "abc"}},
        {"type": "section", "text": {"type": "mrkdwn", "text": "12345"}, "fields": [{"type": "mrkdwn", "text": "xy"}],
         "accessory": {"type": "button", "text": {"type": "plain_text", "text": "Go"}, "value": "not text" * 100}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "ctx"}, {"type": "image", "alt_text": "no"}]},
        {"type": "actions", "elements": [{"type": "button", "text": {"type": "plain_text", "text": "B"},
         "confirm": {"title": {"type": "plain_text", "text": "T"}, "text": {"type": "plain_text", "text": "sure?"},
                     "confirm": {"type": "plain_text", "text": "OK"}, "deny": {"type": "plain_text", "text": "No"}}}]},
    ]
    assert block_text_length(blocks) == 3 + 5 + 2 + 2 + 3 + 1 + 1 + 5 + 2 + 2
    assert block_text_length([]) == 0


def test_an_emoji_counts_as_two_like_slacks_javascript() -> None:
    assert text_size("✅🔧") == 1 + 2
    assert block_text_length([{"text": {"text": "中文🔧"}}]) == 4


def test_the_budgets_sit_under_slacks_limits() -> None:
    assert MESSAGE_TEXT_BUDGET <= 10_000 < 11_000
    assert TOP_TEXT_BUDGET < TOP_TEXT_LIMIT == 40_000


def more(n: int) -> str:
    return f"… and {n} more."


def test_parts_that_fit_are_joined_whole() -> None:
    assert join_within(["a", "b"], 3, more) == "a\nb"


@pytest.mark.parametrize("budget", [20, 50, 100, 1_000, 9_999])
@pytest.mark.parametrize("size", [1, 7, 60])
def test_what_does_not_fit_is_counted(budget: int, size: int) -> None:
    parts = [f"{i:0{size}d}" for i in range(5_000)]
    text = join_within(parts, budget, more)
    assert text_size(text) <= budget
    lines = text.split("\n")
    shown = lines[:-1]
    assert shown == parts[: len(shown)]
    assert lines[-1] == more(5_000 - len(shown))


def test_hidden_parts_are_counted_even_when_the_rest_fits() -> None:
    assert join_within(["a", "b"], 100, more, hidden=3) == "a\nb\n… and 3 more."
