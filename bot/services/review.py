"""Disputes going back to customer service, CS resolving them, and fixes.

- ``dispute_items``: the owner's side disputes (``answers.act_on_items``);
  after the commit each disputed item goes to CS for re-verification: a
  reply in the owner's digest thread and a DM to the callback agent (the CS
  lead when the agent has no Slack user) with Uphold and Overrule buttons —
  once per item, under the ledger key ``review:<item id>``.
- ``uphold_disputes``: CS was wrong; the item is withdrawn and, in the same
  transaction, a CS-accuracy penalty is booked against the callback agent
  (one per item). ``overrule_disputes``: with evidence, the item counts as
  confirmed. After the commit the review DM shows the decision, the owner is
  told in their thread (an overrule with its evidence) and, for an uphold,
  the callback agent is told of the penalty.
- ``fix_items``: the owner's side records the remedy of a confirmed or
  deemed-confirmed item; its digest message shows it.

Who may do what, and what a repeat does, is the lifecycle table's answer.

Errors: none of its own. A Slack error (or timeout) while telling people is
logged and neither undoes the change nor reaches the actor as a failure; a review request that could not be sent stays
claimed until its lease runs out and ``send_pending_reviews`` sends it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from slack_sdk.errors import SlackApiError
from sqlmodel import Session

from bot.core.answers import ItemResult
from bot.core.digest import (
    Resolution,
    ReviewFacts,
    penalty_notice,
    resolved_thread_text,
    review_message,
    review_thread_text,
)
from bot.core.lifecycle import Action, Status, Surface
from bot.gateway import ReplyTo
from bot.services.answers import Answer, act_on_items
from bot.services.deps import Deps
from storage import queries as q
from storage import review as rv
from storage.db import transaction
from storage.models import Item

log = logging.getLogger(__name__)

REVIEW_LEASE = timedelta(minutes=10)


def review_key(item_id: int) -> str:
    return f"review:{item_id}"


# --- disputes go to CS ----------------------------------------------------------


def dispute_items(
    deps: Deps, *, actor: str, surface: Surface, reason: str, reply_to: ReplyTo | None,
    orders: Sequence[str] = (), item_ids: Sequence[int] = (),
) -> Answer:
    """Dispute the items, then ask CS to re-verify each one disputed now."""
    disputed: list[int] = []
    answer = act_on_items(
        deps, actor=actor, action=Action.DISPUTE, surface=surface, reply_to=reply_to, orders=orders,
        item_ids=item_ids, note=reason, on_applied=lambda _session, item, _result: disputed.append(item.id),
    )
    for item_id in disputed:  # committed: a failure here must not reach the actor as "nothing changed"
        try:
            send_review(deps, item_id=item_id)
        except Exception:  # a timeout, say: the claim stays, send_pending_reviews sends it later
            log.exception("could not ask CS to re-verify item %s; it is sent again once its claim runs out", item_id)
    return answer


def send_review(deps: Deps, *, item_id: int) -> bool:
    """Ask CS to re-verify a disputed item (thread reply + DM with buttons),
    at most once; True when this call sent it."""
    now = deps.clock.now()
    key = review_key(item_id)
    with transaction(deps.session_factory) as session:
        claim = q.claim_effect(session=session, key=key, now=now, lease=REVIEW_LEASE)
        if claim not in (q.Claim.NEW, q.Claim.RESUMED):
            return False
        item = q.get_item(session=session, item_id=item_id)
        if item.status != Status.DISPUTED:  # resolved before anyone asked
            q.finish_effect(session=session, key=key, now=now, detail=f"not sent: {item.status}")
            return False
        facts = _review_facts(deps, session, item)
        thread = owner_thread(session, item)
        dm_sent = item.review_ts is not None  # a resumed claim: the DM went, the thread reply did not
    try:
        if not dm_sent:
            text, blocks = review_message(facts, deps.catalog_for(facts.reviewer), deps.timezone)  # a DM: the reviewer's language
            channel = deps.notifier.open_dm(facts.reviewer)
            ts = deps.notifier.post_message(channel, text=text, blocks=blocks)
            with transaction(deps.session_factory) as session:
                rv.set_review_message(session=session, item_id=item_id, channel=channel, ts=ts)
        if thread is not None:
            deps.notifier.post_message(thread[0], text=review_thread_text(facts, deps.catalog), thread_ts=thread[1])
    except SlackApiError:
        log.exception("could not ask CS to re-verify item %s; it is sent again once its claim runs out", item_id)
        return False
    with transaction(deps.session_factory) as session:
        q.finish_effect(session=session, key=key, now=deps.clock.now(), detail=f"to {facts.reviewer}")
    return True


def send_pending_reviews(deps: Deps) -> int:
    """Send the review requests of disputed items that have none yet (a
    failed or interrupted send, once its claim ran out); how many were sent."""
    with transaction(deps.session_factory) as session:
        item_ids = [i.id for i in rv.list_unsent_reviews(session=session)]
    return sum(send_review(deps, item_id=item_id) for item_id in item_ids)


# --- CS resolves ---------------------------------------------------------------------


@dataclass
class _Resolved:
    item_id: int
    penalty: int | None = None


def uphold_disputes(
    deps: Deps, *, actor: str, surface: Surface, reply_to: ReplyTo | None,
    orders: Sequence[str] = (), item_ids: Sequence[int] = (), note: str = "",
) -> Answer:
    """CS accepts the disputes: each item is withdrawn and a CS-accuracy
    penalty booked against its callback agent, in one transaction."""
    amount = deps.routing.penalties.cs_wrong_callback
    resolved: list[_Resolved] = []

    def book_penalty(session: Session, item: Item, _result: ItemResult) -> None:
        agent = item.callback_agent.strip()
        booked = rv.book_penalty(
            session=session, item_id=item.id, kind=rv.CS_ACCURACY, person=agent,
            user=deps.routing.cs_agents.get(agent, ""), amount=amount, at=item.updated_at, note=note,
        )
        resolved.append(_Resolved(item.id, amount if booked else None))

    answer = act_on_items(
        deps, actor=actor, action=Action.UPHOLD, surface=surface, reply_to=reply_to, orders=orders,
        item_ids=item_ids, note=note, on_applied=book_penalty,
    )
    for done in resolved:
        _announce(deps, done, action=Action.UPHOLD, actor=actor, note=note)
    return answer


def overrule_disputes(
    deps: Deps, *, actor: str, surface: Surface, evidence: str, reply_to: ReplyTo | None,
    orders: Sequence[str] = (), item_ids: Sequence[int] = (),
) -> Answer:
    """CS rejects the disputes, with evidence: the items count as confirmed
    and their owners are told why."""
    evidence = evidence.strip()
    if not evidence:
        text = deps.catalog_for(reply_to.user if reply_to else None).t("answers.evidence_required")
        if reply_to is not None:
            deps.notifier.reply(reply_to, text)
        return Answer([], text)
    resolved: list[_Resolved] = []
    answer = act_on_items(
        deps, actor=actor, action=Action.OVERRULE, surface=surface, reply_to=reply_to, orders=orders,
        item_ids=item_ids, note=evidence, on_applied=lambda _session, item, _result: resolved.append(_Resolved(item.id)),
    )
    for done in resolved:
        _announce(deps, done, action=Action.OVERRULE, actor=actor, note=evidence)
    return answer


def _announce(deps: Deps, done: _Resolved, *, action: Action, actor: str, note: str) -> None:
    """After the commit: the review DM shows the decision, the owner hears it
    in their thread, and an uphold's penalty is told to the callback agent."""
    with transaction(deps.session_factory) as session:
        item = q.get_item(session=session, item_id=done.item_id)
        facts = _review_facts(deps, session, item)
        thread = owner_thread(session, item)
    resolution = Resolution(action=action, actor=actor, at=item.updated_at, note=note, penalty=done.penalty)
    cat, tz = deps.catalog, deps.timezone
    try:
        if item.review_channel and item.review_ts:
            text, blocks = review_message(facts, deps.catalog_for(facts.reviewer), tz, resolution=resolution)  # their DM
            deps.notifier.update_message(item.review_channel, item.review_ts, text=text, blocks=blocks)
        if thread is not None:
            deps.notifier.post_message(thread[0], text=resolved_thread_text(facts, resolution, cat), thread_ts=thread[1])
        if action is Action.UPHOLD and done.penalty is not None:
            deps.notifier.send_dm(facts.reviewer, text=penalty_notice(facts, resolution, deps.catalog_for(facts.reviewer)))
    except Exception:  # committed: logged, never reported to the actor as a failure of their request
        log.exception("could not tell everyone that the dispute of item %s was resolved (%s)", item.id, action)


# --- fixes ------------------------------------------------------------------------------


def fix_items(
    deps: Deps, *, actor: str, surface: Surface, note: str, reply_to: ReplyTo | None,
    orders: Sequence[str] = (), item_ids: Sequence[int] = (),
) -> Answer:
    """Record the remedy (re-delivered, order restored) of confirmed or
    deemed-confirmed items; the note is required."""
    note = note.strip()
    if not note:
        text = deps.catalog_for(reply_to.user if reply_to else None).t("answers.fix_note_required")
        if reply_to is not None:
            deps.notifier.reply(reply_to, text)
        return Answer([], text)
    return act_on_items(
        deps, actor=actor, action=Action.FIX, surface=surface, reply_to=reply_to, orders=orders,
        item_ids=item_ids, note=note,
    )


# --- reading ----------------------------------------------------------------------------


def _review_facts(deps: Deps, session: Session, item: Item) -> ReviewFacts:
    routing = deps.routing
    owner = routing.owner_now(item.owner, item.category, item.branch)
    dispute = rv.find_last_audit(session=session, item_id=item.id, action=Action.DISPUTE)
    agent = item.callback_agent.strip()
    return ReviewFacts(
        item=item,
        owner=owner.name if owner else (item.owner or "—"),
        owner_user=owner.user if owner else "",
        disputed_by=dispute.actor if dispute else "",
        disputed_at=dispute.at if dispute else item.updated_at,
        reason=dispute.note if dispute else "",
        reviewer=routing.agent_user(agent),
        agent_known=agent in routing.cs_agents,
        penalty=routing.penalties.cs_wrong_callback,
    )


def owner_thread(session: Session, item: Item) -> tuple[str, str] | None:
    """(channel, ts) of the owner's first digest message of the item's day:
    replies go in its thread, even for items on a continuation page."""
    if item.digest_message_id is None:
        return None
    message = q.get_digest_message(session=session, message_id=item.digest_message_id)
    first = message if message.page == 0 else q.find_first_page(session=session, digest_day=message.digest_day, owner=message.owner)
    if first is None or not first.ts:
        return None
    return first.channel, first.ts
