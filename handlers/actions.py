"""Buttons: confirm, dispute and fix on digest messages; uphold and overrule
on CS's re-verification DM; remind the owner now and confirm all for them on
a manager's escalation DM; approve, edit and discard on the CS lead's letter
draft, and acknowledge on a delivered letter."""

import logging
from functools import partial

from slack_bolt import Ack, App

from bot.core.answers import Outcome
from bot.core.lifecycle import Action, Surface
from bot.core.modals import dispute_modal, fix_modal, overrule_modal
from bot.gateway import ReplyTo
from bot.ids import ActionId
from bot.services import Services
from handlers.context import clicked_id, reply_to_from

log = logging.getLogger(__name__)


def _clicked(ack: Ack, body: dict, action: dict, services: Services) -> tuple[ReplyTo, int] | None:
    """Ack the click; who clicked and the item or thread id the button
    carries — or None, after telling them the button is stale."""
    ack()
    reply_to = reply_to_from(body)
    if reply_to is None:  # nobody to act for or to answer
        log.warning("a click without a user id: ignored")
        return None
    target = clicked_id(action)
    if target is None:
        services.reply(reply_to, "answers.stale_button")
        return None
    return reply_to, target


def handle_item_confirm(ack: Ack, body: dict, action: dict, *, services: Services) -> None:
    if clicked := _clicked(ack, body, action, services):
        reply_to, item_id = clicked
        services.confirm_items(actor=reply_to.user, surface=Surface.BUTTON, reply_to=reply_to, item_ids=[item_id])


def handle_review_uphold(ack: Ack, body: dict, action: dict, *, services: Services) -> None:
    if clicked := _clicked(ack, body, action, services):
        reply_to, item_id = clicked
        services.uphold_disputes(actor=reply_to.user, surface=Surface.BUTTON, reply_to=reply_to, item_ids=[item_id])


def _open_item_modal(ack: Ack, body: dict, action: dict, *, services: Services, kind: Action, modal) -> None:
    """A button whose action needs a text first: answer a refusal at once,
    else open the modal asking for it."""
    clicked = _clicked(ack, body, action, services)
    if clicked is None:
        return
    reply_to, item_id = clicked
    check = services.check_action(actor=reply_to.user, item_id=item_id, action=kind)
    if check.outcome is not Outcome.APPLIED:
        services.explain(kind, check, reply_to)
        return
    services.open_view(
        body.get("trigger_id", ""),
        modal(item_id=item_id, order_no=check.order_no, channel=reply_to.channel, catalog=services.catalog_for(reply_to.user)),
    )


def handle_item_dispute(ack: Ack, body: dict, action: dict, *, services: Services) -> None:
    _open_item_modal(ack, body, action, services=services, kind=Action.DISPUTE, modal=dispute_modal)


def handle_review_overrule(ack: Ack, body: dict, action: dict, *, services: Services) -> None:
    _open_item_modal(ack, body, action, services=services, kind=Action.OVERRULE, modal=overrule_modal)


def handle_item_fix(ack: Ack, body: dict, action: dict, *, services: Services) -> None:
    _open_item_modal(ack, body, action, services=services, kind=Action.FIX, modal=fix_modal)


def handle_escalation_remind(ack: Ack, body: dict, action: dict, *, services: Services) -> None:
    if clicked := _clicked(ack, body, action, services):
        reply_to, thread_id = clicked
        services.remind_owner(actor=reply_to.user, thread_id=thread_id, reply_to=reply_to)


def handle_escalation_confirm_all(ack: Ack, body: dict, action: dict, *, services: Services) -> None:
    if clicked := _clicked(ack, body, action, services):
        reply_to, thread_id = clicked
        services.confirm_for_owner(actor=reply_to.user, thread_id=thread_id, reply_to=reply_to)


def handle_letter_approve(ack: Ack, body: dict, action: dict, *, services: Services) -> None:
    if clicked := _clicked(ack, body, action, services):
        reply_to, letter_id = clicked
        services.approve_letter(actor=reply_to.user, letter_id=letter_id, reply_to=reply_to)


def handle_letter_edit(ack: Ack, body: dict, action: dict, *, services: Services) -> None:
    if clicked := _clicked(ack, body, action, services):
        reply_to, letter_id = clicked
        trigger_id = body.get("trigger_id")
        services.open_letter_edit(actor=reply_to.user, letter_id=letter_id, trigger_id=trigger_id if isinstance(trigger_id, str) else "", reply_to=reply_to)


def handle_letter_discard(ack: Ack, body: dict, action: dict, *, services: Services) -> None:
    if clicked := _clicked(ack, body, action, services):
        reply_to, letter_id = clicked
        services.discard_letter(actor=reply_to.user, letter_id=letter_id, reply_to=reply_to)


def handle_letter_acknowledge(ack: Ack, body: dict, action: dict, *, services: Services) -> None:
    if clicked := _clicked(ack, body, action, services):
        reply_to, letter_id = clicked
        services.acknowledge_letter(actor=reply_to.user, letter_id=letter_id, reply_to=reply_to)


def handle_reported_keep(ack: Ack, body: dict, action: dict, *, services: Services) -> None:
    if clicked := _clicked(ack, body, action, services):
        reply_to, report_id = clicked
        services.decide_reported(actor=reply_to.user, report_id=report_id, action=Action.KEEP, reply_to=reply_to)


def handle_reported_drop(ack: Ack, body: dict, action: dict, *, services: Services) -> None:
    if clicked := _clicked(ack, body, action, services):
        reply_to, report_id = clicked
        services.decide_reported(actor=reply_to.user, report_id=report_id, action=Action.DROP, reply_to=reply_to)


def handle_escalation_open_thread(ack: Ack) -> None:
    """A link button: Slack opens the thread, and still tells the app."""
    ack()


def register(app: App, services: Services) -> None:
    app.action(ActionId.CONFIRM)(partial(handle_item_confirm, services=services))
    app.action(ActionId.DISPUTE)(partial(handle_item_dispute, services=services))
    app.action(ActionId.FIX)(partial(handle_item_fix, services=services))
    app.action(ActionId.UPHOLD)(partial(handle_review_uphold, services=services))
    app.action(ActionId.OVERRULE)(partial(handle_review_overrule, services=services))
    app.action(ActionId.REMIND_OWNER)(partial(handle_escalation_remind, services=services))
    app.action(ActionId.CONFIRM_FOR_OWNER)(partial(handle_escalation_confirm_all, services=services))
    app.action(ActionId.OPEN_THREAD)(handle_escalation_open_thread)
    app.action(ActionId.LETTER_APPROVE)(partial(handle_letter_approve, services=services))
    app.action(ActionId.LETTER_EDIT)(partial(handle_letter_edit, services=services))
    app.action(ActionId.LETTER_DISCARD)(partial(handle_letter_discard, services=services))
    app.action(ActionId.LETTER_ACKNOWLEDGE)(partial(handle_letter_acknowledge, services=services))
    app.action(ActionId.REPORT_KEEP)(partial(handle_reported_keep, services=services))
    app.action(ActionId.REPORT_DROP)(partial(handle_reported_drop, services=services))
