"""Modal submissions."""

from functools import partial

from slack_bolt import Ack, App

from bot.core.lifecycle import Surface
from bot.core.modals import read_dispute_metadata
from bot.gateway import ReplyTo
from bot.ids import ActionId, BlockId, ViewId
from bot.services import Services


def handle_dispute_submission(ack: Ack, body: dict, view: dict, *, services: Services) -> None:
    values = view.get("state", {}).get("values", {})
    reason = ((values.get(BlockId.DISPUTE_REASON) or {}).get(ActionId.DISPUTE_REASON) or {}).get("value") or ""
    if not reason.strip():
        ack(response_action="errors", errors={BlockId.DISPUTE_REASON: services.catalog.t("answers.reason_required")})
        return
    meta = read_dispute_metadata(view.get("private_metadata", ""))
    ack()
    user = body["user"]["id"]
    if meta is None:
        services.reply(ReplyTo(user=user), "answers.stale_button")
        return
    item_id, channel = meta
    services.dispute_items(actor=user, surface=Surface.MODAL, reason=reason.strip(), item_ids=[item_id], reply_to=ReplyTo(user=user, channel=channel))


def register(app: App, services: Services) -> None:
    app.view(ViewId.DISPUTE)(partial(handle_dispute_submission, services=services))
