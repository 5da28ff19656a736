"""Buttons on digest messages."""

from functools import partial

from slack_bolt import Ack, App

from bot.core.answers import Outcome
from bot.core.lifecycle import Action, Surface
from bot.core.modals import dispute_modal
from bot.ids import ActionId
from bot.services import Services
from handlers.context import reply_to_from


def _item_id(action: dict) -> int | None:
    value = action.get("value", "")
    return int(value) if value.isdigit() else None


def handle_item_confirm(ack: Ack, body: dict, action: dict, *, services: Services) -> None:
    ack()
    reply_to = reply_to_from(body)
    item_id = _item_id(action)
    if item_id is None:
        services.reply(reply_to, "answers.stale_button")
        return
    services.confirm_items(actor=reply_to.user, surface=Surface.BUTTON, reply_to=reply_to, item_ids=[item_id])


def handle_item_dispute(ack: Ack, body: dict, action: dict, *, services: Services) -> None:
    ack()
    reply_to = reply_to_from(body)
    item_id = _item_id(action)
    if item_id is None:
        services.reply(reply_to, "answers.stale_button")
        return
    check = services.check_dispute(actor=reply_to.user, item_id=item_id)
    if check.outcome is not Outcome.APPLIED:
        services.explain(Action.DISPUTE, check, reply_to)
        return
    services.open_view(
        body["trigger_id"],
        dispute_modal(item_id=item_id, order_no=check.order_no, channel=reply_to.channel, catalog=services.catalog),
    )


def register(app: App, services: Services) -> None:
    app.action(ActionId.CONFIRM)(partial(handle_item_confirm, services=services))
    app.action(ActionId.DISPUTE)(partial(handle_item_dispute, services=services))
