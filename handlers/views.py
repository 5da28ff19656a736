"""Modal submissions: dispute (reason), overrule (evidence), fix (note), a letter's edit."""

import logging
from functools import partial

from slack_bolt import Ack, App

from bot.core.letter_blocks import check_edit, read_letter_metadata
from bot.core.lifecycle import Surface
from bot.core.modals import input_value, read_item_metadata
from bot.core.reports import read_report_channel, read_report_view
from bot.gateway import ReplyTo
from bot.i18n import Catalog
from bot.ids import ActionId, BlockId, ViewId
from bot.services import Services
from handlers.context import user_id_of

log = logging.getLogger(__name__)

# Each item modal's required text: (block, input, message when blank).
MODAL_TEXT: dict[str, tuple[str, str, str]] = {
    ViewId.DISPUTE: (BlockId.DISPUTE_REASON, ActionId.DISPUTE_REASON, "answers.reason_required"),
    ViewId.OVERRULE: (BlockId.OVERRULE_EVIDENCE, ActionId.OVERRULE_EVIDENCE, "answers.evidence_required"),
    ViewId.FIX: (BlockId.FIX_NOTE, ActionId.FIX_NOTE, "answers.fix_note_required"),
}


def modal_text(view: dict) -> str:
    block_id, action_id, _ = MODAL_TEXT[view["callback_id"]]
    return input_value(view, block_id, action_id)


def blank_text_errors(view: dict, catalog: Catalog) -> dict[str, str] | None:
    """``response_action: errors`` for an item modal submitted without its
    required text (Slack keeps the modal open); None when the text is there."""
    if modal_text(view):
        return None
    block_id, _, required_key = MODAL_TEXT[view["callback_id"]]
    return {block_id: catalog.t(required_key)}


def _read_submission(ack: Ack, body: dict, view: dict, *, services: Services) -> tuple[int, str, ReplyTo] | None:
    """(item id, text, where to answer) of a submitted item modal; a blank text
    keeps the modal open with an error, metadata that is not ours is answered
    as expired (both: None)."""
    errors = blank_text_errors(view, services.catalog_for(user_id_of(body)))
    if errors:
        ack(response_action="errors", errors=errors)
        return None
    ack()
    user = user_id_of(body)
    if user is None:  # nobody to act for or to answer
        log.warning("a modal submission without a user id: ignored")
        return None
    meta = read_item_metadata(view.get("private_metadata") or "")
    if meta is None:
        services.reply(ReplyTo(user=user), "answers.stale_button")
        return None
    item_id, channel = meta
    return item_id, modal_text(view), ReplyTo(user=user, channel=channel)


def handle_dispute_submission(ack: Ack, body: dict, view: dict, *, services: Services) -> None:
    if read := _read_submission(ack, body, view, services=services):
        item_id, reason, reply_to = read
        services.dispute_items(actor=reply_to.user, surface=Surface.MODAL, reason=reason, item_ids=[item_id], reply_to=reply_to)


def handle_overrule_submission(ack: Ack, body: dict, view: dict, *, services: Services) -> None:
    if read := _read_submission(ack, body, view, services=services):
        item_id, evidence, reply_to = read
        services.overrule_disputes(actor=reply_to.user, surface=Surface.MODAL, evidence=evidence, item_ids=[item_id], reply_to=reply_to)


def handle_fix_submission(ack: Ack, body: dict, view: dict, *, services: Services) -> None:
    if read := _read_submission(ack, body, view, services=services):
        item_id, note, reply_to = read
        services.fix_items(actor=reply_to.user, surface=Surface.MODAL, note=note, item_ids=[item_id], reply_to=reply_to)


def handle_letter_edit_submission(ack: Ack, body: dict, view: dict, *, services: Services) -> None:
    """The letter's edit modal: a blank improvement or a bad number of days
    keeps it open with the error on that field."""
    improvement = input_value(view, BlockId.LETTER_IMPROVEMENT, ActionId.LETTER_IMPROVEMENT)
    errors, reply_days = check_edit(improvement, input_value(view, BlockId.LETTER_REPLY_DAYS, ActionId.LETTER_REPLY_DAYS), services.catalog_for(user_id_of(body)))
    if errors:
        ack(response_action="errors", errors=errors)
        return
    ack()
    user = user_id_of(body)
    if user is None:
        log.warning("a modal submission without a user id: ignored")
        return
    letter_id = read_letter_metadata(view.get("private_metadata") or "")
    if letter_id is None or reply_days is None:
        services.reply(ReplyTo(user=user), "answers.stale_button")
        return
    services.edit_letter(actor=user, letter_id=letter_id, improvement=improvement, reply_days=reply_days, reply_to=ReplyTo(user=user))


def handle_report_submission(ack: Ack, body: dict, view: dict, *, services: Services) -> None:
    """The report modal: a field the importer's rules refuse keeps it open with the error on that field."""
    user = user_id_of(body)
    request, errors = read_report_view(view, services.catalog_for(user))
    if errors:
        ack(response_action="errors", errors=errors)
        return
    ack()
    if user is None or request is None:
        log.warning("a modal submission without a user id: ignored")
        return
    reply_to = ReplyTo(user=user, channel=read_report_channel(view.get("private_metadata") or ""))
    services.report_rejection(actor=user, request=request, surface=Surface.MODAL, reply_to=reply_to)


def register(app: App, services: Services) -> None:
    app.view(ViewId.LETTER_EDIT)(partial(handle_letter_edit_submission, services=services))
    app.view(ViewId.DISPUTE)(partial(handle_dispute_submission, services=services))
    app.view(ViewId.OVERRULE)(partial(handle_overrule_submission, services=services))
    app.view(ViewId.FIX)(partial(handle_fix_submission, services=services))
    app.view(ViewId.REPORT)(partial(handle_report_submission, services=services))
