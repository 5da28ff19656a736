"""Modal submissions: dispute (reason), overrule (evidence), fix (note)."""

from collections.abc import Callable
from functools import partial

from slack_bolt import Ack, App

from bot.core.lifecycle import Surface
from bot.core.modals import (
    input_value,
    read_dispute_metadata,
    read_fix_metadata,
    read_overrule_metadata,
)
from bot.gateway import ReplyTo
from bot.ids import ActionId, BlockId, ViewId
from bot.services import Services


def _read_submission(ack: Ack, body: dict, view: dict, *, services: Services, block_id: str, action_id: str,
                     required_key: str, read_metadata: Callable) -> tuple[int, str, ReplyTo] | None:
    """(item id, text, where to answer) of a submitted item modal; a blank text
    keeps the modal open with an error, metadata that is not ours is answered
    as expired (both: None)."""
    text = input_value(view, block_id, action_id)
    if not text:
        ack(response_action="errors", errors={block_id: services.catalog.t(required_key)})
        return None
    ack()
    meta = read_metadata(view.get("private_metadata", ""))
    user = body["user"]["id"]
    if meta is None:
        services.reply(ReplyTo(user=user), "answers.stale_button")
        return None
    item_id, channel = meta
    return item_id, text, ReplyTo(user=user, channel=channel)


def handle_dispute_submission(ack: Ack, body: dict, view: dict, *, services: Services) -> None:
    read = _read_submission(ack, body, view, services=services, block_id=BlockId.DISPUTE_REASON, action_id=ActionId.DISPUTE_REASON,
                            required_key="answers.reason_required", read_metadata=read_dispute_metadata)
    if read is not None:
        item_id, reason, reply_to = read
        services.dispute_items(actor=reply_to.user, surface=Surface.MODAL, reason=reason, item_ids=[item_id], reply_to=reply_to)


def handle_overrule_submission(ack: Ack, body: dict, view: dict, *, services: Services) -> None:
    read = _read_submission(ack, body, view, services=services, block_id=BlockId.OVERRULE_EVIDENCE, action_id=ActionId.OVERRULE_EVIDENCE,
                            required_key="answers.evidence_required", read_metadata=read_overrule_metadata)
    if read is not None:
        item_id, evidence, reply_to = read
        services.overrule_disputes(actor=reply_to.user, surface=Surface.MODAL, evidence=evidence, item_ids=[item_id], reply_to=reply_to)


def handle_fix_submission(ack: Ack, body: dict, view: dict, *, services: Services) -> None:
    read = _read_submission(ack, body, view, services=services, block_id=BlockId.FIX_NOTE, action_id=ActionId.FIX_NOTE,
                            required_key="answers.fix_note_required", read_metadata=read_fix_metadata)
    if read is not None:
        item_id, note, reply_to = read
        services.fix_items(actor=reply_to.user, surface=Surface.MODAL, note=note, item_ids=[item_id], reply_to=reply_to)


def register(app: App, services: Services) -> None:
    app.view(ViewId.DISPUTE)(partial(handle_dispute_submission, services=services))
    app.view(ViewId.OVERRULE)(partial(handle_overrule_submission, services=services))
    app.view(ViewId.FIX)(partial(handle_fix_submission, services=services))
