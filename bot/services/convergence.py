"""Digest messages converge on the database.

Every change to an item makes the digest messages showing it one version
newer, in the change's own transaction (``storage.queries``); each message
records the version Slack last showed (``shown_version``). After an answer
the messages concerned are updated at once (``digest.refresh_digest_messages``);
whatever that missed — a failed or timed-out ``chat.update``, a crash, a
sweep deeming thousands of items — ``refresh_stale_messages`` catches up at
each tick, at most ``PER_TICK`` messages a tick (in ``rejectbot run``, marked
for ``refresher.DigestRefresher``, which paces them): those never tried first,
then the one whose last refresh attempt is oldest, so messages that keep
failing (a render error, Slack down) take turns with the others instead of
holding the first places for ever.

Errors: none; a message that cannot be updated is logged and stays behind.
An update Slack definitively refuses (``msg_blocks_too_long``, deleted
message, archived channel…) is not tried again until the message changes,
and the CS lead is told once per message (a keyed DM through the ledger,
``update-refused:<message id>``; a failed DM is retried by the sweep, and
one outside working time is left for the sweep to send from the opening).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import timedelta

from slack_sdk.errors import SlackApiError

from bot.core.formats import format_date
from bot.gateway import is_ambiguous
from bot.services.deps import Deps
from bot.services.digest import render_digest_message
from bot.services.office_hours import may_message_people
from bot.services.refresher import Shown
from storage import queries as q
from storage.db import transaction
from storage.models import DigestMessage

log = logging.getLogger(__name__)

# chat.update is Tier 3, about 50 calls a minute (docs.slack.dev/reference/methods/chat.update); the tick runs every minute.
PER_TICK = 50
REFRESH_LEASE = timedelta(minutes=2)  # one refresher per message; longer than the gateway's retries of chat.update
RENDERS_PER_REFRESH = 3  # renders in a row while the message keeps changing under the refresher
REFUSED_PREFIX = "update-refused:"  # ledger keys of the CS lead's notices of refused updates


def slack_refused(exc: Exception, *, method: str | tuple[str, ...]) -> str | None:
    """Slack's error when ``exc`` is ``method`` (one of them) definitively refused (trying
    the same call again cannot help); None when it may pass another time
    (whatever the gateway's ``is_ambiguous`` says may have been done, a 429,
    anything else) — or when another call
    failed, such as the lookup the gateway makes before repeating a post:
    then the post may have gone out."""
    if not isinstance(exc, SlackApiError):
        return None
    if not str(getattr(exc.response, "api_url", "")).rstrip("/").endswith(method):
        return None
    if is_ambiguous(exc) or getattr(exc.response, "status_code", 200) == 429:  # a 429 passes later
        return None
    error = exc.response.get("error") if isinstance(exc.response.data, dict) else None
    return str(error or exc)


Send = Callable[[str, list[dict]], None]
"""Puts a rendered message in Slack (text, blocks); raises when it did not."""


def show_current_state(deps: Deps, message_id: int, *, send: Send | None = None, renders: int = RENDERS_PER_REFRESH) -> Shown:
    """Bring one posted message up to what the database says, recording the
    version it now shows. One refresher at a time per message (a short
    lease): a refresher that finds another at work leaves the message to it
    (``BUSY``), and the one at work renders again while the message changed
    under it (up to ``renders`` times, then ``BEHIND``), so an older render
    never overwrites a newer one. Nothing is sent when Slack already shows
    the current version (``ALREADY``). A passing failure leaves the message
    behind for the next tick (``FAILED``); a definitive refusal of a
    chat.update (message deleted, channel archived…) is logged, and that
    version is not tried again.

    ``send`` puts the render in Slack: ``chat.update`` by default; the
    answers pass the click's ``response_url`` (``replace_original``)."""
    now = deps.clock.now()
    with transaction(deps.session_factory) as session:
        message = q.claim_message_refresh(session=session, message_id=message_id, now=now, until=now + REFRESH_LEASE)
    if message is None:
        return Shown.BUSY
    released = False
    try:
        if message.shown_version >= message.version:
            return Shown.ALREADY
        for _ in range(renders):
            version = message.version  # read before the items: it never claims more than Slack shows
            if not _update(deps, message, send):
                return Shown.FAILED
            with transaction(deps.session_factory) as session:
                current = q.mark_message_shown(session=session, message_id=message.id, version=version)
                if current <= version:  # done: released in the same transaction
                    q.release_message_refresh(session=session, message_id=message_id, attempted_at=now)
                    released = True
                    return Shown.UPDATED
                message = q.get_digest_message(session=session, message_id=message.id)  # changed meanwhile: once more
        return Shown.BEHIND
    finally:
        if not released:
            with transaction(deps.session_factory) as session:
                q.release_message_refresh(session=session, message_id=message_id, attempted_at=now)


def _update(deps: Deps, message: DigestMessage, send: Send | None = None) -> bool:
    """Put the database's state in Slack; False when it may pass next time."""
    try:
        text, blocks = render_digest_message(deps, message)
        if send is None:
            deps.notifier.update_message(message.channel, message.ts, text=text, blocks=blocks)
        else:
            send(text, blocks)
    except Exception as exc:  # noqa: BLE001 - one message failing must not stop the others
        refused = slack_refused(exc, method="chat.update") if send is None else None
        if refused is None:
            log.warning("digest message %s (%s %s) could not be updated (%s); it stays behind for the next tick", message.id, message.channel, message.ts, exc)
            return False
        log.error("Slack refused to update digest message %s (%s %s): %s; not retried until it changes again", message.id, message.channel, message.ts, refused)
        _tell_refused(deps, message, refused)
    return True


def _tell_refused(deps: Deps, message: DigestMessage, error: str) -> None:
    """Tell the CS lead, once per message, that Slack refused to update it.
    Claimed in the ledger with where it goes and what it says, the way the
    sweep's one-off messages are (``followup.ONCE_PREFIXES``): a DM that
    fails here is sent by a later sweep, after looking it up by its key."""
    now = deps.clock.now()
    key = f"{REFUSED_PREFIX}{message.id}"
    cat = deps.catalog_for(deps.routing.cs_lead)
    text = cat.t(
        "followup.update_refused", owner=message.owner, day=format_date(message.digest_day, cat), error=error, channel=f"<#{message.channel}>",
    )
    note = {"channel": None, "thread_ts": None, "user": deps.routing.cs_lead, "text": text, "attempts": 0}
    later = not may_message_people(deps, now)
    if later:
        note["look"] = False  # never tried: the sweep need not look for it first
    with transaction(deps.session_factory) as session:
        if q.claim_effect(session=session, key=key, now=now, lease=REFRESH_LEASE) is not q.Claim.NEW:
            return  # told already, or being told
        q.set_effect_detail(session=session, key=key, detail=json.dumps(note, ensure_ascii=False))
        if later:  # out of working time: the sweep sends it from the opening (its one-off messages)
            q.release_effect(session=session, key=key, now=now)
    if later:
        log.info("the CS lead will be told in working time that digest message %s was refused", message.id)
        return
    try:
        ts = deps.notifier.send_dm(deps.routing.cs_lead, text=text, key=key)
    except Exception:  # noqa: BLE001 - the sweep sends it later (the lease runs out at once)
        log.exception("could not tell the CS lead that digest message %s was refused; the sweep retries", message.id)
        with transaction(deps.session_factory) as session:
            q.release_effect(session=session, key=key, now=now)
        return
    with transaction(deps.session_factory) as session:
        q.finish_effect(session=session, key=key, now=deps.clock.now(), detail=ts)


def refresh_stale_messages(deps: Deps, *, limit: int = PER_TICK) -> int:
    """Update the posted digest messages that show an older state than the
    database's, those tried least recently first, at most ``limit``; returns
    how many now show it."""
    with transaction(deps.session_factory) as session:
        stale = list(q.list_stale_messages(session=session, limit=limit))
    if deps.refresher.running:  # its senders update them, one chat.update per message per second at most
        deps.refresher.mark(m.id for m in stale)
        return 0
    updated = 0
    for message in stale:
        try:
            updated += show_current_state(deps, message.id) in (Shown.UPDATED, Shown.ALREADY)
        except Exception:  # noqa: BLE001 - the database failing for one message must not stop the others
            log.exception("could not refresh digest message %s", message.id)
    if stale:
        log.info("refreshed %d of %d digest messages that were behind", updated, len(stale))
    return updated
