"""One-off notices sent exactly once under a ledger key: the calendar's
"paused" and "Monday–Friday assumed" notices and the "routing file refused"
DM. Each is claimed in the side-effect ledger before it is sent and carries
its key in its Slack metadata; a send that fails (or a sender that dies)
leaves the claim for the next tick, which first looks the message up by its
key. Callers call again on every tick until it is done.

Errors: none; a failed send is logged and left for the next tick.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from bot.services.deps import Deps
from storage import queries as q
from storage.db import transaction

log = logging.getLogger(__name__)
LEASE = timedelta(minutes=10)  # longer than any one send with the gateway's retries


def post_once(deps: Deps, key: str, *, text: str, now: datetime, user: str | None = None, channel: str | None = None) -> bool:
    """Post ``text`` once under ``key``: to ``channel``, or as a DM to
    ``user``. True when it is in Slack (now or earlier); False when another
    run holds the key right now or the send failed (the next call tries again)."""
    with transaction(deps.session_factory) as session:
        claim = q.claim_effect(session=session, key=key, now=now, lease=LEASE)
    if claim is q.Claim.DONE:
        return True
    if claim is q.Claim.BUSY:
        return False
    try:
        where = channel or deps.notifier.open_dm(user)
        ts = deps.notifier.lookup_by_key(where, key) if claim is q.Claim.RESUMED else None
        if ts is None:
            ts = deps.notifier.post_message(where, text=text, key=key)
    except Exception as exc:  # noqa: BLE001 - whatever failed, the next tick tries again
        log.warning("notice %s not sent (%s: %s); the next tick tries again", key, type(exc).__name__, exc)
        with transaction(deps.session_factory) as session:
            q.release_effect(session=session, key=key, now=deps.clock.now())
        return False
    with transaction(deps.session_factory) as session:
        q.finish_effect(session=session, key=key, now=deps.clock.now(), detail=f"{where} {ts}")
    return True


def is_done(deps: Deps, key: str) -> bool:
    with transaction(deps.session_factory) as session:
        effect = q.find_effect(session=session, key=key)
    return effect is not None and effect.done_at is not None
