"""Small text helpers every renderer shares: Slack mentions, mrkdwn escaping,
cutting to a limit, and times as the team reads them."""

from __future__ import annotations

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
