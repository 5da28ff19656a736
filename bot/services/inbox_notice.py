"""Telling someone that their request, stored in the inbox and acknowledged,
could not be carried out (``bot.handoff`` parked it): a direct message with
what they asked for and a reference, never silence.

Errors: none of its own; the notifier's propagate.
"""

from __future__ import annotations

import logging

from bot.services import Services

log = logging.getLogger(__name__)


def tell_parked(services: Services, *, user: str | None, request: str, reference: str) -> bool:
    """DM ``user`` that their ``request`` (a few words: ``describe_request``)
    could not be carried out; False when there is nobody to tell (the log
    has it)."""
    if not user:
        log.error("inbox %s (%s) could not be carried out and names nobody to tell", reference, request)
        return False
    text = services.deps.catalog_for(user).t("answers.request_parked", request=request, ref=reference)
    services.deps.notifier.send_dm(user, text=text)
    log.info("told %s that inbox %s (%s) could not be carried out", user, reference, request)
    return True
