"""``/reject`` and its subcommands."""

import logging
from functools import partial

from slack_bolt import Ack, App

from bot.core.away import parse_away
from bot.core.commands import RECORD_VERBS, Command, Verb, parse_command
from bot.core.lifecycle import Surface
from bot.core.reports import parse_report
from bot.gateway import ReplyTo
from bot.ids import COMMAND
from bot.services import Services
from handlers.context import reply_to_from

log = logging.getLogger(__name__)


def handle_reject_command(ack: Ack, command: dict, *, services: Services) -> None:
    ack()
    reply_to = reply_to_from(command)
    if reply_to is None:  # nobody to act for or to answer
        log.warning("a command without a user id: ignored")
        return
    text = command.get("text")
    parsed = parse_command(text if isinstance(text, str) else "")  # CommandError -> errors.handle_error
    actor = reply_to.user
    if parsed.verb is Verb.CONFIRM:
        services.confirm_items(actor=actor, surface=Surface.COMMAND, reply_to=reply_to, orders=parsed.orders, every_open=parsed.all)
    elif parsed.verb is Verb.DISPUTE:
        services.dispute_items(actor=actor, surface=Surface.COMMAND, reason=parsed.reason, reply_to=reply_to, orders=parsed.orders)
    elif parsed.verb is Verb.UPHOLD:
        services.uphold_disputes(actor=actor, surface=Surface.COMMAND, note=parsed.reason, reply_to=reply_to, orders=parsed.orders)
    elif parsed.verb is Verb.OVERRULE:
        services.overrule_disputes(actor=actor, surface=Surface.COMMAND, evidence=parsed.reason, reply_to=reply_to, orders=parsed.orders)
    elif parsed.verb is Verb.FIX:
        services.fix_items(actor=actor, surface=Surface.COMMAND, note=parsed.reason, reply_to=reply_to, orders=parsed.orders)
    elif parsed.verb is Verb.STATUS:
        services.status_report(actor=actor, orders=parsed.orders, reply_to=reply_to)
    elif parsed.verb is Verb.NEXT:
        services.upcoming(actor=actor, reply_to=reply_to)
    elif parsed.verb is Verb.MONTH:
        services.month_to_date(actor=actor, reply_to=reply_to)
    elif parsed.verb in RECORD_VERBS:
        correct_record(parsed, actor=actor, reply_to=reply_to, services=services)
    elif parsed.verb is Verb.LETTER:
        services.draft_letter(actor=actor, who=parsed.reason, reply_to=reply_to)
    elif parsed.verb is Verb.LETTERS:
        services.list_letters(reply_to=reply_to)
    elif parsed.verb is Verb.LOG:
        trigger_id = command.get("trigger_id")
        services.open_log(actor=actor, trigger_id=trigger_id if isinstance(trigger_id, str) else "", reply_to=reply_to)
    elif parsed.verb is Verb.IMPORT:
        services.explain_import(actor=actor, reply_to=reply_to)
    elif parsed.verb is Verb.REPORT:
        report(parsed, command, reply_to=reply_to, services=services)
    elif parsed.verb is Verb.AWAY:
        services.away(actor=actor, request=parse_away(parsed.reason), reply_to=reply_to)  # CommandError -> errors.handle_error
    else:
        services.help(reply_to)


def correct_record(parsed: Command, *, actor: str, reply_to: ReplyTo, services: Services) -> None:
    """``void``, ``reopen`` and ``find``."""
    if parsed.verb is Verb.FIND:
        services.find_items(actor=actor, text=parsed.reason, reply_to=reply_to)
        return
    correct = services.void_item if parsed.verb is Verb.VOID else services.reopen_item
    correct(actor=actor, order=parsed.orders[0], rejected_on=parsed.rejected_on, reason=parsed.reason, reply_to=reply_to)


def report(parsed: Command, command: dict, *, reply_to: ReplyTo, services: Services) -> None:
    """``report <order> <reason> [note]``; without text, the modal."""
    request = parse_report(parsed.reason)  # CommandError -> errors.handle_error
    if request is None:
        trigger_id = command.get("trigger_id")
        services.open_report_modal(actor=reply_to.user, trigger_id=trigger_id if isinstance(trigger_id, str) else "", reply_to=reply_to)
    else:
        services.report_rejection(actor=reply_to.user, request=request, surface=Surface.COMMAND, reply_to=reply_to)


def register(app: App, services: Services) -> None:
    app.command(COMMAND)(partial(handle_reject_command, services=services))
