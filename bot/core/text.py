"""Small text helpers every renderer shares: Slack mentions, mrkdwn escaping,
cutting to a limit, times as the team reads them, and the size of a message
as Slack counts it (with our budgets under Slack's limits)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from zoneinfo import ZoneInfo


def fmt_time(at: datetime, tz: ZoneInfo) -> str:
    """``11-27 18:00`` in the team's time zone."""
    return at.astimezone(tz).strftime("%m-%d %H:%M")


def mention(user: str | None) -> str:
    """``<@U123>`` for a Slack user ID; anything else (a name, "system") as is."""
    if not user:
        return ""
    return f"<@{user}>" if user[0] in "UW" else user


def cut(text: str | None, limit: int) -> str:
    text = (text or "").strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def esc(text: str) -> str:
    """Escape the three characters Slack's mrkdwn treats as control characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


_ESCAPED = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}


def esc_cut(text: str, limit: int) -> str:
    """Escape ``text`` and cut it to ``limit`` characters *after* escaping,
    never inside an escape sequence."""
    text = (text or "").strip()
    escaped = esc(text)
    if len(escaped) <= limit:
        return escaped
    out: list[str] = []
    size = 0
    for ch in text:
        piece = _ESCAPED.get(ch, ch)
        if size + len(piece) > limit - 1:
            break
        out.append(piece)
        size += len(piece)
    return "".join(out) + "…"


# --- message size ----------------------------------------------------------------
#
# Slack refuses a message whose blocks hold more than about 11,000-13,000
# characters of text in total with ``msg_blocks_too_long``. It is undocumented:
# slackapi/bolt-js #2509 (refused at 13,297) and #2867 (refused at 11,341).
# Top-level ``text`` over 40,000 characters gives ``msg_too_long`` (Slack
# changelog 2018-04 "truncating really long messages"). Every message we
# build stays within our own budgets, well under both.

MESSAGE_TEXT_BUDGET = 10_000
"""Our budget for the text of a message: its blocks' text, and a private
reply's plain text (under Slack's ~11,000)."""
TOP_TEXT_LIMIT = 40_000
"""Slack's limit for a message's top-level ``text``."""
TOP_TEXT_BUDGET = 30_000
"""Our budget for a message's top-level ``text``, with a margin under ``TOP_TEXT_LIMIT``."""


def text_size(text: str) -> int:
    """The length of ``text`` as Slack's JavaScript counts it (UTF-16 code
    units): an emoji counts two. Never less than ``len(text)``."""
    return len(text.encode("utf-16-le")) // 2  # two bytes a code unit; counted in C, not per character


def block_text_length(blocks: object) -> int:
    """The total text of Block Kit ``blocks``: the sum of every "text" string
    at any depth (sections, fields, context elements, headers, buttons and
    their confirm dialogs...), counted by ``text_size``."""
    if isinstance(blocks, dict):
        total = 0
        for key, value in blocks.items():
            if key == "text" and isinstance(value, str):
                total += text_size(value)
            else:
                total += block_text_length(value)
        return total
    if isinstance(blocks, list):
        return sum(block_text_length(value) for value in blocks)
    return 0


def join_within(parts: Sequence[str], budget: int, more: Callable[[int], str], *, hidden: int = 0, sep: str = "\n") -> str:
    """``parts`` joined by ``sep``, as many as fit in ``budget`` (by
    ``text_size``) in order. When some are left out (or ``hidden`` parts were
    left out before), the line ``more(n)`` (n: how many in all) ends the
    text, within the budget too."""
    total = sum(text_size(p) for p in parts) + text_size(sep) * max(len(parts) - 1, 0)
    if not hidden and total <= budget:
        return sep.join(parts)
    reserve = text_size(sep) + text_size(more(len(parts) + hidden))  # the "n more" line, at its longest
    kept: list[str] = []
    size = 0
    for part in parts:
        step = text_size(part) + (text_size(sep) if kept else 0)
        if size + step + reserve > budget:
            break
        kept.append(part)
        size += step
    line = more(len(parts) - len(kept) + hidden)
    text = sep.join([*kept, line])
    return text if text_size(text) <= budget else cut(line, budget)
