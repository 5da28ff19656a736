"""Legitimate-rejection reports (上报), replacing the hotline: pure parts.

Delivery staff, owners and delegates report, as it happens, that an order
was rejected for a legitimate reason: the goods were damaged, the customer
refused them, or the customer number was wrong (the case study's three).

- ``parse_report``: ``/reject report <order> <reason> [note]`` (reason words
  in English or Chinese, ``REASON_ALIASES``); empty text means "open the modal".
- ``check_order``: an order number by the importer's own rules
  (``bot.core.importing``: normalised, printable, at most 64 characters).
- ``matches``: which reports a CS record of the order answers: the same
  order number, the report's day within ``MATCH_DAYS`` days of the rejection
  date, either side (a report may be made the day after the delivery, a
  record may carry the delivery's date or the callback's).
- ``report_modal``, ``read_report_view``: the modal, as plain dicts.
- ``review_message``: the callback agent's DM with the report beside the
  record and the Keep and Drop buttons; once decided, who decided.
- ``digest_report_line``: the line a kept record shows in the digest.

Errors: ``bot.core.commands.CommandError`` (``.key`` a catalog key).
"""

from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Protocol
from zoneinfo import ZoneInfo

from bot.core.commands import LEADING_SEPARATORS, SEPARATORS, CommandError
from bot.core.importing import MAX_LENGTHS, normalise_order_no, unprintable
from bot.core.masking import mask_note
from bot.core.text import esc_cut, fmt_time, mention
from bot.i18n import Catalog
from bot.ids import ActionId, BlockId, ViewId

MATCH_DAYS = 7  # a report matches a record of its order rejected within this many days of the report's day
NOTE_LIMIT = 1000  # a report's note, as stored
NOTE_SHOWN = 300  # a report's note, as shown in the digest or the DM
ORDER_LIMIT = MAX_LENGTHS["order_no"]


class ReportState(StrEnum):
    """Where a legitimate-rejection report stands."""

    WAITING = "waiting"  # no CS record of the order yet
    HELD = "held"  # CS's record is held: keep or drop it
    KEPT = "kept"
    DROPPED = "dropped"


class Reason(StrEnum):
    DAMAGED = "damaged"  # 货损: the goods were damaged
    REFUSED = "refused"  # 客户拒收: the customer refused them
    WRONG_CUSTOMER = "wrong_customer"  # 客户编号错误: the customer number was wrong


REASON_ALIASES: dict[str, Reason] = {
    "damaged": Reason.DAMAGED, "damage": Reason.DAMAGED, "货损": Reason.DAMAGED, "破损": Reason.DAMAGED,
    "损坏": Reason.DAMAGED,
    "refused": Reason.REFUSED, "refuse": Reason.REFUSED, "客户拒收": Reason.REFUSED, "拒收": Reason.REFUSED,
    "wrong-customer": Reason.WRONG_CUSTOMER, "wrong_customer": Reason.WRONG_CUSTOMER, "wrongcustomer": Reason.WRONG_CUSTOMER,
    "客户编号错误": Reason.WRONG_CUSTOMER, "客户编号错": Reason.WRONG_CUSTOMER, "编号错误": Reason.WRONG_CUSTOMER,
    "客户号错误": Reason.WRONG_CUSTOMER,
}


def parse_reason(word: str) -> Reason | None:
    return REASON_ALIASES.get(unicodedata.normalize("NFKC", word).strip().lower())


@dataclass(frozen=True, slots=True)
class ReportRequest:
    order: str  # normalised as the importer does
    reason: Reason
    note: str = ""


def check_order(text: str) -> str:
    """The order number as the importer stores it; ``CommandError`` when the
    importer would refuse it (missing, an invisible character, too long)."""
    raw = unicodedata.normalize("NFKC", text or "")
    flaw = unprintable(raw.strip())
    if flaw is not None:
        raise CommandError("reports.order_unprintable", character=flaw)
    order = normalise_order_no(raw)
    if not order:
        raise CommandError("reports.needs_order")
    if len(order) > ORDER_LIMIT:
        raise CommandError("reports.order_too_long", length=len(order), limit=ORDER_LIMIT)
    return order


def check_note(note: str) -> str:
    note = (note or "").strip()
    if len(note) > NOTE_LIMIT:
        raise CommandError("reports.note_too_long", length=len(note), limit=NOTE_LIMIT)
    return note


def parse_report(text: str) -> ReportRequest | None:
    """``<order> <reason> [note]`` after ``report``; None for no text at all
    (the modal opens)."""
    text = LEADING_SEPARATORS.sub("", text or "").strip()
    if not text:
        return None
    order, rest = (SEPARATORS.split(text, maxsplit=1) + [""])[:2]
    order = check_order(order)
    word, note = (SEPARATORS.split(rest.strip(), maxsplit=1) + ["", ""])[:2]
    if not word:
        raise CommandError("reports.needs_reason", order=order)
    reason = parse_reason(word)
    if reason is None:
        raise CommandError("reports.unknown_reason", order=order, word=word)
    return ReportRequest(order, reason, check_note(note))


def matches(reported_on: date, rejected_on: date) -> bool:
    """Whether a report made on ``reported_on`` (local day) is about a
    rejection on ``rejected_on`` of the same order."""
    return abs(reported_on - rejected_on) <= timedelta(days=MATCH_DAYS)


def window(day: date) -> tuple[date, date]:
    """The first and last day ``matches`` accepts around ``day`` (either way round)."""
    return day - timedelta(days=MATCH_DAYS), day + timedelta(days=MATCH_DAYS)


# --- texts --------------------------------------------------------------------


class ReportFacts(Protocol):
    id: int | None
    order_no: str
    reason: str
    note: str
    reporter: str
    reporter_role: str
    reporter_owner: str | None
    created_at: datetime
    decision: str | None
    decided_by: str | None
    decided_at: datetime | None


class RecordFacts(Protocol):
    order_no: str
    rejected_on: date
    branch: str
    category: str
    customer: str
    callback_agent: str
    note: str


def reason_text(reason: str, catalog: Catalog) -> str:
    return catalog.t(f"reports.reason_{reason}")


def report_text(report: ReportFacts, catalog: Catalog, tz: ZoneInfo) -> str:
    """Who reported what, when, with the note as typed (for CS's DM only: the channel masks it)."""
    note = " ".join((report.note or "").split())
    text = catalog.t(
        "reports.report_line", reason=reason_text(report.reason, catalog), user=mention(report.reporter),
        at=fmt_time(report.created_at, tz),
    )
    if note:
        text += "\n> " + esc_cut(note, NOTE_SHOWN)
    return text


def digest_report_line(*, reason: str, reporter: str, note: str, customer: str, catalog: Catalog) -> str:
    """The report under a kept record in the channel's digest: masked as notes are."""
    note = " ".join((note or "").split())
    line = catalog.t("reports.digest_line", reason=reason_text(reason, catalog), user=mention(reporter))
    if note:
        line += " " + esc_cut(mask_note(note[: 2 * NOTE_SHOWN + 64], customer), NOTE_SHOWN)
    return line


REPORT_SEPARATOR = "\x1f"  # storage.models.Item.report_shown: reason, reporter, note


def report_shown_line(shown: str, *, customer: str, catalog: Catalog) -> str:
    """``digest_report_line`` from an item's ``report_shown`` (reason, reporter
    and note joined by ``REPORT_SEPARATOR``, the note last)."""
    reason, reporter, note = ([*shown.split(REPORT_SEPARATOR, 2), "", ""])[:3]
    if reason not in Reason._value2member_map_:
        return ""
    return digest_report_line(reason=reason, reporter=reporter, note=note, customer=customer, catalog=catalog)


def review_message(
    report: ReportFacts, record: RecordFacts, catalog: Catalog, tz: ZoneInfo, *, agent: str,
) -> tuple[str, list[dict]]:
    """The DM to the record's callback agent (``agent``: their Slack user, or
    the CS lead's): the record, the report beside it, Keep and Drop; once
    decided, the decision instead of the buttons."""
    order = esc_cut(record.order_no, ORDER_LIMIT)
    head = catalog.t("reports.review_head", agent=mention(agent), order=order, rejected_on=record.rejected_on.isoformat())
    facts = catalog.t(
        "reports.review_record", branch=esc_cut(record.branch, 60), category=catalog.t(f"digest.category_{record.category}"),
        customer=esc_cut(record.customer, 60) or "—", callback_agent=esc_cut(record.callback_agent, 60) or "—",
        note=esc_cut(" ".join((record.note or "").split()), NOTE_SHOWN) or "—",
    )
    report_part = catalog.t("reports.review_report", report=report_text(report, catalog, tz))
    blocks: list[dict] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": head}},
        {"type": "section", "text": {"type": "mrkdwn", "text": facts}},
        {"type": "section", "text": {"type": "mrkdwn", "text": report_part}},
    ]
    if report.decision is None:
        blocks.append({
            "type": "actions",
            "block_id": f"reported-{report.id}",
            "elements": [
                {"type": "button", "action_id": ActionId.REPORT_KEEP, "style": "primary", "value": str(report.id),
                 "text": {"type": "plain_text", "text": catalog.t("reports.button_keep")}},
                {"type": "button", "action_id": ActionId.REPORT_DROP, "style": "danger", "value": str(report.id),
                 "text": {"type": "plain_text", "text": catalog.t("reports.button_drop")}},
            ],
        })
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": catalog.t("reports.review_explain")}]})
    else:
        key = "reports.review_kept" if report.decision == "keep" else "reports.review_dropped"
        when = fmt_time(report.decided_at, tz) if report.decided_at else ""
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": catalog.t(key, user=mention(report.decided_by or ""), at=when)}]})
    return head, blocks


# --- the modal -----------------------------------------------------------------


def report_modal(catalog: Catalog, *, channel: str | None = None) -> dict:
    """The report modal: order number, reason (a select of the three), note."""
    options = [
        {"text": {"type": "plain_text", "text": reason_text(r, catalog)}, "value": r.value} for r in Reason
    ]
    return {
        "type": "modal",
        "callback_id": ViewId.REPORT,
        "private_metadata": json.dumps({"channel": channel}),
        "title": {"type": "plain_text", "text": catalog.t("reports.modal_title")},
        "submit": {"type": "plain_text", "text": catalog.t("reports.modal_submit")},
        "close": {"type": "plain_text", "text": catalog.t("reports.modal_cancel")},
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": catalog.t("reports.modal_intro")}},
            {
                "type": "input", "block_id": BlockId.REPORT_ORDER,
                "label": {"type": "plain_text", "text": catalog.t("reports.modal_order")},
                "element": {"type": "plain_text_input", "action_id": ActionId.REPORT_ORDER, "max_length": 200},
            },
            {
                "type": "input", "block_id": BlockId.REPORT_REASON,
                "label": {"type": "plain_text", "text": catalog.t("reports.modal_reason")},
                "element": {"type": "static_select", "action_id": ActionId.REPORT_REASON, "options": options},
            },
            {
                "type": "input", "block_id": BlockId.REPORT_NOTE, "optional": True,
                "label": {"type": "plain_text", "text": catalog.t("reports.modal_note")},
                "element": {"type": "plain_text_input", "action_id": ActionId.REPORT_NOTE, "multiline": True, "max_length": NOTE_LIMIT},
            },
        ],
    }


def _state(view: dict, block_id: str, action_id: str) -> dict:
    node: object = view
    for key in ("state", "values", block_id, action_id):
        node = node.get(key) if isinstance(node, dict) else None
    return node if isinstance(node, dict) else {}


def read_report_view(view: dict, catalog: Catalog) -> tuple[ReportRequest | None, dict[str, str]]:
    """The request a submitted report modal makes, or the errors to show on
    its fields (``response_action: errors``, keyed by block id)."""
    errors: dict[str, str] = {}
    order_text = _state(view, BlockId.REPORT_ORDER, ActionId.REPORT_ORDER).get("value")
    order = ""
    try:
        order = check_order(order_text if isinstance(order_text, str) else "")
    except CommandError as error:
        errors[BlockId.REPORT_ORDER] = catalog.t(error.key, **error.params)
    selected = _state(view, BlockId.REPORT_REASON, ActionId.REPORT_REASON).get("selected_option")
    value = selected.get("value") if isinstance(selected, dict) else None
    reason = Reason(value) if isinstance(value, str) and value in Reason._value2member_map_ else None
    if reason is None:
        errors[BlockId.REPORT_REASON] = catalog.t("reports.modal_needs_reason")
    note_value = _state(view, BlockId.REPORT_NOTE, ActionId.REPORT_NOTE).get("value")
    note = ""
    try:
        note = check_note(note_value if isinstance(note_value, str) else "")
    except CommandError as error:
        errors[BlockId.REPORT_NOTE] = catalog.t(error.key, **error.params)
    if errors or reason is None:
        return None, errors
    return ReportRequest(order, reason, note), {}


def read_report_channel(private_metadata: str) -> str | None:
    try:
        data = json.loads(private_metadata or "")
    except (ValueError, TypeError):
        return None
    channel = data.get("channel") if isinstance(data, dict) else None
    return channel if isinstance(channel, str) and channel else None

