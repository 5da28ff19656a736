"""What people see of a work contact letter in Slack, as plain dicts and
text: the CS lead's draft DM (Approve / Edit / Discard), the edit modal and
its checks, the recipients' DM (Acknowledge), the channel's announcement,
the reminders, the overdue DM and ``/reject letters``. Pure: a catalog in,
text and blocks out. The letter's full text is in its files only."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from bot.core.letters import LetterFacts, LetterReason, LetterStatus
from bot.core.text import cut, mention
from bot.i18n import Catalog
from bot.ids import ActionId, BlockId, ViewId, parse_id

IMPROVEMENT_MAX = 2000  # characters of the requested improvement
REPLY_DAYS_MAX = 60  # working days a reply deadline may be, at most (as ``[letters] reply_days``)
SECTION_MAX = 2900  # a section's text stays under Slack's 3000

STATUS_KEYS = {
    LetterStatus.DRAFT: "letters.status_draft",
    LetterStatus.APPROVED: "letters.status_approved",
    LetterStatus.DELIVERED: "letters.status_delivered",
    LetterStatus.ACKNOWLEDGED: "letters.status_acknowledged",
    LetterStatus.OVERDUE: "letters.status_overdue",
    LetterStatus.DISCARDED: "letters.status_discarded",
}
REASON_KEYS = {
    LetterReason.ESCALATIONS: "letters.reason_escalations",
    LetterReason.NO_IMPROVEMENT: "letters.reason_no_improvement",
    LetterReason.BY_HAND: "letters.reason_by_hand",
}


@dataclass(frozen=True, slots=True)
class LetterView:
    """One letter as ``/reject letters`` and the DMs show it."""

    id: int
    number: str | None
    subject: str  # the letter's own subject line (``bot.documents.letter.letter_subject``)
    owner: str
    month: str
    reason: str
    status: LetterStatus
    created_at: datetime
    approved_at: datetime | None
    approved_by: str | None
    delivered_at: datetime | None
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    reply_by: date | None
    docx_sha256: str | None
    pdf_sha256: str | None


def _local(moment: datetime | None, tz: ZoneInfo) -> str:
    return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M") if moment is not None else "—"


def name_of(view: LetterView, catalog: Catalog) -> str:
    """Its number, or "draft #7" before approval."""
    return view.number or catalog.t("letters.draft_name", id=view.id)


def hashes_text(view: LetterView, catalog: Catalog) -> str:
    """The recorded SHA-256 of both files (shown on every later view)."""
    if not view.docx_sha256:
        return ""
    return catalog.t("letters.hashes", docx=view.docx_sha256, pdf=view.pdf_sha256)


def facts_text(facts: LetterFacts, catalog: Catalog, tz: ZoneInfo) -> str:
    """The draft's facts in a few lines (the letter says them in full)."""
    c = facts.counts
    lines = [
        catalog.t(REASON_KEYS[facts.reason]),
        catalog.t(
            "letters.facts_counts", month=str(facts.month), posted=c.posted, confirmed=c.confirmed, deemed=c.deemed,
            overruled=c.overruled, open=c.open, fixed=c.fixed, mistaken=c.mistaken,
            previous="—" if facts.previous_mistaken is None else facts.previous_mistaken,
        ),
    ]
    if facts.unfixed:
        lines.append(catalog.t("letters.facts_unfixed", orders=", ".join(f"{u.order_no} ({u.rejected_on})" for u in facts.unfixed)))
    else:
        lines.append(catalog.t("letters.facts_no_unfixed"))
    if facts.escalations:
        last = facts.escalations[-1]
        lines.append(catalog.t("letters.facts_escalations", count=len(facts.escalations), last=_local(last.at, tz), to=mention(last.recipient)))
    if facts.agreement:
        lines.append(catalog.t("letters.facts_agreement", text=cut(facts.agreement, 300)))
    lines.append(catalog.t("letters.facts_improvement", text=cut(facts.improvement, 1200)))
    lines.append(catalog.t("letters.facts_reply_days", days=facts.reply_days))
    return "\n".join(lines)


def _buttons(letter_id: int, catalog: Catalog) -> dict:
    value = str(letter_id)
    return {
        "type": "actions",
        "block_id": f"letter-{letter_id}",
        "elements": [
            {"type": "button", "action_id": ActionId.LETTER_APPROVE, "value": value, "style": "primary", "text": {"type": "plain_text", "text": catalog.t("letters.approve")}},
            {"type": "button", "action_id": ActionId.LETTER_EDIT, "value": value, "text": {"type": "plain_text", "text": catalog.t("letters.edit")}},
            {"type": "button", "action_id": ActionId.LETTER_DISCARD, "value": value, "style": "danger", "text": {"type": "plain_text", "text": catalog.t("letters.discard")}},
        ],
    }


def draft_message(view: LetterView, facts: LetterFacts, catalog: Catalog, tz: ZoneInfo) -> tuple[str, list[dict]]:
    """The CS lead's DM: the draft's facts, and its buttons while it is a
    draft; afterwards what became of it (who approved, the hashes)."""
    head = catalog.t("letters.draft_head", name=name_of(view, catalog), subject=view.subject)
    body = facts_text(facts, catalog, tz)
    blocks: list[dict] = [{"type": "section", "text": {"type": "mrkdwn", "text": cut(f"{head}\n{body}", SECTION_MAX)}}]
    if view.status is LetterStatus.DRAFT:
        blocks.append(_buttons(view.id, catalog))
        return head, blocks
    if view.status is LetterStatus.DISCARDED:
        state = catalog.t("letters.state_discarded")
    else:
        state = catalog.t("letters.state_approved", by=mention(view.approved_by), at=_local(view.approved_at, tz), status=catalog.t(STATUS_KEYS[view.status]))
        state += "\n" + hashes_text(view, catalog)
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": cut(state, SECTION_MAX)}]})
    return head, blocks


def delivery_message(view: LetterView, facts: LetterFacts, catalog: Catalog, *, acknowledged: bool = False) -> tuple[str, list[dict]]:
    """A recipient's DM (and each reminder): what the letter is, by when to
    reply, the hashes, and the Acknowledge button (gone once acknowledged)."""
    text = catalog.t(
        "letters.delivery", number=view.number, subject=view.subject, sender=facts.sender,
        reply_by=str(facts.reply_by), days=facts.reply_days,
    )
    blocks: list[dict] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": text}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": hashes_text(view, catalog)}]},
    ]
    if not acknowledged:
        blocks.append(ack_button(view.id, catalog))
    return text, blocks


def ack_button(letter_id: int, catalog: Catalog) -> dict:
    return {
        "type": "actions",
        "block_id": f"letter-ack-{letter_id}",
        "elements": [
            {"type": "button", "action_id": ActionId.LETTER_ACKNOWLEDGE, "value": str(letter_id), "style": "primary", "text": {"type": "plain_text", "text": catalog.t("letters.acknowledge")}},
        ],
    }


def reminder_message(view: LetterView, facts: LetterFacts, catalog: Catalog) -> tuple[str, list[dict]]:
    text = catalog.t("letters.reminder", number=view.number, subject=view.subject, reply_by=str(facts.reply_by))
    return text, [{"type": "section", "text": {"type": "mrkdwn", "text": text}}, ack_button(view.id, catalog)]


def announcement(view: LetterView, facts: LetterFacts, recipients: Sequence[str], catalog: Catalog) -> str:
    """In the shared channel: number, subject, to whom, deadline; not the full text."""
    return catalog.t(
        "letters.announce", number=view.number, subject=view.subject,
        to=", ".join(mention(u) for u in recipients), reply_by=str(facts.reply_by),
    ) + "\n" + hashes_text(view, catalog)


def overdue_message(view: LetterView, facts: LetterFacts, recipients: Sequence[str], reminders: int, catalog: Catalog, tz: ZoneInfo) -> str:
    """The CS lead's one DM about a letter unacknowledged past its deadline."""
    return "\n".join([
        catalog.t(
            "letters.overdue", number=view.number, subject=view.subject, reply_by=str(facts.reply_by),
            delivered=_local(view.delivered_at, tz), to=", ".join(mention(u) for u in recipients), reminders=reminders,
        ),
        facts_text(facts, catalog, tz),
        hashes_text(view, catalog),
    ])


def list_text(views: Sequence[LetterView], catalog: Catalog, tz: ZoneInfo) -> str:
    """``/reject letters``: every letter, its number, status, dates and hashes."""
    if not views:
        return catalog.t("letters.list_none")
    lines = [catalog.t("letters.list_head", count=len(views))]
    for v in views:
        line = catalog.t(
            "letters.list_line", name=name_of(v, catalog), owner=v.owner, month=v.month,
            status=catalog.t(STATUS_KEYS[v.status]), created=_local(v.created_at, tz),
        )
        dates = []
        if v.approved_at:
            dates.append(catalog.t("letters.list_approved", at=_local(v.approved_at, tz), by=mention(v.approved_by)))
        if v.delivered_at:
            dates.append(catalog.t("letters.list_delivered", at=_local(v.delivered_at, tz), reply_by=str(v.reply_by)))
        if v.acknowledged_at:
            dates.append(catalog.t("letters.list_acknowledged", at=_local(v.acknowledged_at, tz), by=mention(v.acknowledged_by)))
        if dates:
            line += "\n    " + catalog.t("letters.list_separator").join(dates)
        if v.docx_sha256:
            line += "\n    " + hashes_text(v, catalog)
        lines.append(line)
    return "\n".join(lines)


# --- the edit modal --------------------------------------------------------------------


def edit_modal(*, letter_id: int, improvement: str, reply_days: int, catalog: Catalog) -> dict:
    """The CS lead edits the requested improvement and the reply deadline."""
    return {
        "type": "modal",
        "callback_id": ViewId.LETTER_EDIT,
        "private_metadata": json.dumps({"letter": letter_id}),
        "title": {"type": "plain_text", "text": catalog.t("letters.edit_title")},
        "submit": {"type": "plain_text", "text": catalog.t("letters.edit_submit")},
        "close": {"type": "plain_text", "text": catalog.t("modals.cancel")},
        "blocks": [
            {
                "type": "input",
                "block_id": BlockId.LETTER_IMPROVEMENT,
                "label": {"type": "plain_text", "text": catalog.t("letters.edit_improvement")},
                "element": {
                    "type": "plain_text_input", "action_id": ActionId.LETTER_IMPROVEMENT, "multiline": True,
                    "initial_value": improvement[:IMPROVEMENT_MAX], "max_length": IMPROVEMENT_MAX,
                },
            },
            {
                "type": "input",
                "block_id": BlockId.LETTER_REPLY_DAYS,
                "label": {"type": "plain_text", "text": catalog.t("letters.edit_reply_days")},
                "element": {"type": "plain_text_input", "action_id": ActionId.LETTER_REPLY_DAYS, "initial_value": str(reply_days), "max_length": 3},
            },
        ],
    }


def read_letter_metadata(private_metadata: str) -> int | None:
    """The letter id of our edit modal, or None when it is not ours."""
    try:
        data = json.loads(private_metadata)
    except (ValueError, TypeError):
        return None
    return parse_id(data.get("letter")) if isinstance(data, dict) else None


def check_edit(improvement: str, reply_days: str, catalog: Catalog) -> tuple[dict[str, str], int | None]:
    """The errors of a submitted edit, by block (``response_action:
    errors``), and the reply deadline it gives when valid."""
    errors: dict[str, str] = {}
    if not improvement.strip():
        errors[BlockId.LETTER_IMPROVEMENT] = catalog.t("letters.improvement_required")
    elif len(improvement) > IMPROVEMENT_MAX:
        errors[BlockId.LETTER_IMPROVEMENT] = catalog.t("letters.improvement_too_long", most=IMPROVEMENT_MAX)
    text = reply_days.strip()
    days = int(text) if text.isascii() and text.isdigit() else None
    if days is None or not 1 <= days <= REPLY_DAYS_MAX:
        errors[BlockId.LETTER_REPLY_DAYS] = catalog.t("letters.reply_days_invalid", most=REPLY_DAYS_MAX)
        days = None
    return errors, days
