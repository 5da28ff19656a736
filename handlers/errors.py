"""The one error handler: known errors become a friendly private reply;
anything else is logged with a short reference the user can quote.

It never says that nothing was changed: an unexpected error may come after
a commit. A committed change whose answer could not be delivered
(``AnswerNotDelivered``) is told as done, with its counts.

A request the inbox pool will dispatch again if it fails (``bot.handoff``:
not its last attempt) is answered 500 without a word to the user: the next
attempt may well work, and the last one tells them."""

import logging
import uuid
from functools import partial

from slack_bolt import App, BoltRequest, BoltResponse

from bot.core.commands import CommandError
from bot.core.text import cut
from bot.services import Services
from bot.services.answers import AnswerNotDelivered
from handlers.context import is_retried_later, reply_to_from

log = logging.getLogger(__name__)

PARAM_LIMIT = 200  # a word or order number the user typed, echoed in the answer


def handle_error(error: Exception, body: dict, request: BoltRequest | None = None, *, services: Services) -> BoltResponse:
    reply_to = reply_to_from(body or {})
    if isinstance(error, CommandError):
        if reply_to:
            # what the user typed comes back to them: bounded, however much they pasted
            params = {k: cut(v, PARAM_LIMIT) if isinstance(v, str) else v for k, v in error.params.items()}
            try:
                services.reply(reply_to, error.key, **params)
            except Exception:  # nothing was done; the log has why the user was not told
                log.exception("could not tell %s that their command was not understood (%s)", reply_to.user, error.key)
        return BoltResponse(status=200, body="")
    ref = uuid.uuid4().hex[:8]
    done = isinstance(error, AnswerNotDelivered)
    if not done and request is not None and is_retried_later(request.headers):
        log.warning("a request failed; the inbox tries it again (ref %s)", ref, exc_info=error)
        return BoltResponse(status=500, body="")
    log.error("%s (ref %s)", "a committed request could not be answered" if done else "unhandled error", ref, exc_info=error)
    if reply_to:
        try:
            if done:
                services.reply(reply_to, "answers.done_not_shown", counts=error.counts, ref=ref)
            else:
                services.reply(reply_to, "answers.internal_error", ref=ref)
        except Exception:  # the reply itself failed: the log above has the cause
            log.exception("could not tell the user about error %s", ref)
    # The work is done: a 500 would only make Slack retry an event.
    return BoltResponse(status=200 if done else 500, body="")


def register(app: App, services: Services) -> None:
    app.error(partial(handle_error, services=services))
