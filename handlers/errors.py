"""The one error handler: known errors become a friendly private reply;
anything else is logged with a short reference the user can quote."""

import logging
import uuid
from functools import partial

from slack_bolt import App, BoltResponse

from bot.core.commands import CommandError
from bot.services import Services
from handlers.context import reply_to_from

log = logging.getLogger(__name__)


def handle_error(error: Exception, body: dict, *, services: Services) -> BoltResponse:
    reply_to = reply_to_from(body or {})
    if isinstance(error, CommandError):
        if reply_to:
            services.reply(reply_to, error.key, **error.params)
        return BoltResponse(status=200, body="")
    ref = uuid.uuid4().hex[:8]
    log.error("unhandled error (ref %s)", ref, exc_info=error)
    if reply_to:
        try:
            services.reply(reply_to, "answers.internal_error", ref=ref)
        except Exception:  # the reply itself failed: the log above has the cause
            log.exception("could not tell the user about error %s", ref)
    return BoltResponse(status=500, body="")


def register(app: App, services: Services) -> None:
    app.error(partial(handle_error, services=services))
