"""Texts of correcting the record: the owner's notice of a void or a reopen,
and the list ``/reject find`` answers with (within the message budget, notes
masked as the channel shows them)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Protocol
from zoneinfo import ZoneInfo

from bot.core.lifecycle import Action
from bot.core.masking import mask_note
from bot.core.text import MESSAGE_TEXT_BUDGET, esc_cut, fmt_time, join_within, mention
from bot.i18n import Catalog

FIND_SHOWN = 20  # matches listed by /reject find: the newest
ORDER_LIMIT = 64
BRANCH_LIMIT = 60
OWNER_LIMIT = 60
FIND_NOTE_LIMIT = 150  # a callback note in a find result
QUERY_LIMIT = 100  # the search text, echoed back
REASON_LIMIT = 1500  # a void's or reopen's reason, in the owner's thread


class FoundItem(Protocol):
    order_no: str
    rejected_on: date
    branch: str
    note: str
    customer: str
    status: str
    owner: str | None


def day_of(order: str, rejected_on: date) -> str:
    """``SO1@2026-11-28``: an order and one of its rejection days, as typed to name it."""
    return f"{order}@{rejected_on.isoformat()}"


def owner_notice(
    action: Action, *, owner_user: str, actor: str, order: str, rejected_on: date, reason: str, customer: str,
    deadline: datetime | None, catalog: Catalog, tz: ZoneInfo,
) -> str:
    """What the owner reads in the item's thread when CS voids or reopens it.
    The reason is CS's own words, shown in the channel: masked as notes are."""
    params = dict(
        owner=mention(owner_user), actor=mention(actor), order=esc_cut(order, ORDER_LIMIT), rejected_on=rejected_on.isoformat(),
        reason=esc_cut(mask_note(" ".join(reason.split()), customer), REASON_LIMIT),
    )
    if action is Action.VOID:
        return catalog.t("record.voided_notice", **params)
    return catalog.t("record.reopened_notice", deadline=fmt_time(deadline, tz) if deadline else "—", **params)


def find_text(query: str, items: Sequence[FoundItem], total: int, catalog: Catalog) -> str:
    """The newest matches, one line each, with their state; or that none matched."""
    shown_query = esc_cut(query, QUERY_LIMIT)
    if not items:
        return catalog.t("record.find_none", text=shown_query)
    head = catalog.t("record.find_head", text=shown_query, total=total, shown=len(items))
    lines = [head] + [_line(item, catalog) for item in items]
    return join_within(lines, MESSAGE_TEXT_BUDGET, lambda n: catalog.t("record.find_more_lines", count=n))


def _line(item: FoundItem, catalog: Catalog) -> str:
    line = catalog.t(
        "record.find_line", order=esc_cut(item.order_no, ORDER_LIMIT), rejected_on=item.rejected_on.isoformat(),
        branch=esc_cut(item.branch, BRANCH_LIMIT) or "—", status=catalog.t(f"status.{item.status}"),
        owner=esc_cut(item.owner or "", OWNER_LIMIT) or "—",
    )
    note = " ".join((item.note or "").split())
    if note:  # masked as the channel shows it; masking never more than halves a stretch
        line += "\n> " + esc_cut(mask_note(note[: 2 * FIND_NOTE_LIMIT + 64], item.customer), FIND_NOTE_LIMIT)
    return line
