"""Posting the daily digest, exactly once per working day.

The ledger key ``digest:<day>`` is claimed in the same transaction that plans
the day's messages (one ``digest_message`` row per message, items assigned
and moved to *awaiting*). Messages are then posted one by one, each ``ts``
stored as soon as Slack returns it, and the claim's lease renewed. A second
process finds the claim and stops; a process that crashed is resumed by the
next run once its lease has run out, posting only the messages that have no
``ts`` yet.

Errors: ``CalendarDataMissing`` (from the calendar) propagates.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum

from bot.core.digest import PageContext, build_digest, digest_message, paginate, unrouted_message
from bot.core.lifecycle import Action, Role, Status, Surface, decide
from bot.core.routing import Owner
from bot.core.workcal import dispute_deadline, local_datetime
from bot.services.deps import Deps
from storage import followups as f
from storage import queries as q
from storage.db import transaction
from storage.models import DigestMessage

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=10)
LATE_AFTER = timedelta(minutes=15)


class DigestState(StrEnum):
    POSTED = "posted"
    NOT_WORKING_DAY = "not_working_day"
    TOO_EARLY = "too_early"
    ALREADY_POSTED = "already_posted"
    IN_PROGRESS = "in_progress"


@dataclass
class DigestOutcome:
    state: DigestState
    day: date
    messages: int = 0
    items: int = 0
    unrouted: int = 0
    late: bool = False
    owners: dict[str, int] = field(default_factory=dict)


def digest_key(day: date) -> str:
    return f"digest:{day.isoformat()}"


def post_daily_digest(deps: Deps, *, now: datetime) -> DigestOutcome:
    """Post today's digest if it is due and not yet posted; safe to call any
    number of times, from any number of processes."""
    tz = deps.timezone
    local = now.astimezone(tz)
    day = local.date()
    timings = deps.routing.timings
    if not deps.calendar.is_working_day(day):
        return DigestOutcome(DigestState.NOT_WORKING_DAY, day)
    due_at = local_datetime(day, timings.digest_at, tz)
    if local < due_at:
        return DigestOutcome(DigestState.TOO_EARLY, day)
    key = digest_key(day)

    with transaction(deps.session_factory) as session:
        claim = q.claim_effect(session=session, key=key, now=now, lease=LEASE)
        if claim is q.Claim.DONE:
            return DigestOutcome(DigestState.ALREADY_POSTED, day)
        if claim is q.Claim.BUSY:
            return DigestOutcome(DigestState.IN_PROGRESS, day)
        if claim is q.Claim.NEW:
            outcome = _plan(deps, session=session, day=day, now=now, late=now - due_at > LATE_AFTER)
        else:
            log.warning("resuming the digest of %s left unfinished by an earlier run", day)
            outcome = DigestOutcome(DigestState.POSTED, day)

    outcome.messages = _post_pending(deps, day=day, key=key)
    outcome.unrouted = _notify_unrouted(deps, day=day, now=now)
    with transaction(deps.session_factory) as session:
        q.finish_effect(session=session, key=key, now=deps.clock.now(), detail=f"{outcome.messages} messages")
    log.info("digest %s: %d items in %d messages, %d unrouted", day, outcome.items, outcome.messages, outcome.unrouted)
    return outcome


def _plan(deps: Deps, *, session, day: date, now: datetime, late: bool) -> DigestOutcome:
    plan = build_digest(q.list_routing_keys(session=session, status=Status.NEW), deps.routing)
    deadline = dispute_deadline(now, calendar=deps.calendar, work_end=deps.routing.timings.work_end, tz=deps.timezone)
    outcome = DigestOutcome(DigestState.POSTED, day, late=late)
    decision = decide(Status.NEW, Action.POST, Role.SYSTEM)
    for owner_name, items in plan.by_owner.items():
        owner = deps.routing.owner_named(owner_name)
        pages = paginate(items)
        # managers escalated to since the owner last answered are copied until the owner answers again
        copied = f.list_escalated_managers(
            session=session, owner=owner_name, since=f.last_activity_of(session=session, owner=owner_name)
        )
        for page_no, page_items in enumerate(pages):
            message = q.create_digest_message(
                session=session,
                message=DigestMessage(
                    digest_day=day, owner=owner_name, page=page_no, pages=len(pages),
                    channel=deps.routing.channel, late=late, deadline=deadline, created_at=now,
                    policy=deps.routing.policy_for(owner).to_json() if page_no == 0 else "",
                    copied=",".join(copied) if page_no == 0 else "",
                ),
            )
            q.assign_to_message(
                session=session, item_ids=[i.id for i in page_items], owner=owner_name,
                message_id=message.id, deadline=deadline,
            )
            q.transition_many(
                session=session, item_ids=[i.id for i in page_items], expected=Status.NEW,
                change=q.Change(Action.POST, decision.new_status, "system", Role.SYSTEM, Surface.SCHEDULER),
                now=now,
            )
        outcome.owners[owner_name] = len(items)
        outcome.items += len(items)
    return outcome


def _post_pending(deps: Deps, *, day: date, key: str) -> int:
    """Post every planned message of ``day`` that has no ``ts`` yet."""
    with transaction(deps.session_factory) as session:
        messages = q.list_digest_messages(session=session, digest_day=day)
        on_message: dict[int, list] = {m.id: [] for m in messages}
        for item in q.list_items_of_day(session=session, digest_day=day):  # one query for every page
            on_message[item.digest_message_id].append(item)
    per_owner: dict[str, list] = {}
    for message in messages:
        per_owner.setdefault(message.owner, []).extend(on_message[message.id])
    first_ts = {m.owner: m.ts for m in messages if m.page == 0}
    posted = 0
    renewed = deps.clock.now()  # the claim was taken (or renewed) just before
    for message in messages:
        if message.ts:
            continue
        thread_ts = None if message.page == 0 else first_ts.get(message.owner)
        everything = per_owner[message.owner] if message.page == 0 else on_message[message.id]
        text, blocks = _render(deps, message, on_message[message.id], everything)
        ts = deps.notifier.post_message(message.channel, text=text, blocks=blocks, thread_ts=thread_ts)
        now = deps.clock.now()
        with transaction(deps.session_factory) as session:
            q.set_message_posted(session=session, message_id=message.id, ts=ts, thread_ts=thread_ts, now=now)
            if now >= renewed + LEASE / 2:  # keep the claim alive while posting takes long
                q.renew_effect(session=session, key=key, until=now + LEASE)
                renewed = now
        if message.page == 0:
            first_ts[message.owner] = ts
        posted += 1
    return posted


def _notify_unrouted(deps: Deps, *, day: date, now: datetime) -> int:
    """DM the CS lead, once a day, the records no owner covers; they stay new
    and are posted to their owner once the routing file covers them."""
    key = f"unrouted:{day.isoformat()}"
    with transaction(deps.session_factory) as session:
        items = build_digest(q.list_routing_keys(session=session, status=Status.NEW), deps.routing).unrouted
        if not items or q.claim_effect(session=session, key=key, now=now, lease=LEASE) not in (q.Claim.NEW, q.Claim.RESUMED):
            return 0
    deps.notifier.send_dm(deps.routing.cs_lead, text=unrouted_message(items, day, deps.catalog))
    with transaction(deps.session_factory) as session:
        q.finish_effect(session=session, key=key, now=deps.clock.now(), detail=f"{len(items)} records")
    return len(items)


def render_digest_message(deps: Deps, message: DigestMessage) -> tuple[str, list[dict]]:
    """The current text and blocks of a digest message, from the database."""
    with transaction(deps.session_factory) as session:
        items = q.list_items_on_message(session=session, message_id=message.id)
        if message.page == 0 and message.pages > 1:
            counts = q.count_items_of_digest(session=session, digest_day=message.digest_day, owner=message.owner)
        else:
            counts = None
    return _render(deps, message, items, items, counts=counts)


def _render(deps: Deps, message: DigestMessage, items: Sequence, everything: Sequence, *, counts: tuple[int, int] | None = None) -> tuple[str, list[dict]]:
    """A digest message showing ``items``; its head counts ``everything``
    (all of the owner's items of the day on a first page), or ``counts``."""
    total, awaiting = counts or (len(everything), sum(1 for i in everything if i.status == Status.AWAITING))
    owner = deps.routing.owner_named(message.owner)
    if owner is None:  # the routing file dropped this owner since: keep the name
        owner = Owner(name=message.owner, user="", categories=())
    ctx = PageContext(
        owner=owner, digest_day=message.digest_day, deadline=message.deadline, page=message.page,
        pages=message.pages, late=message.late, total_items=total, open_items=awaiting,
        undo_minutes=deps.routing.timings.reaction_undo_minutes,
        copied=tuple(u for u in message.copied.split(",") if u),
    )
    return digest_message(ctx, items, deps.catalog, deps.timezone)


def refresh_digest_messages(deps: Deps, message_ids: set[int]) -> int:
    """Show the items' current state on their digest messages (``chat.update``),
    and the owner's first message too, whose head counts every page. Called
    after a change is committed, so it never raises: a message Slack could
    not update stays behind and ``convergence.refresh_stale_messages`` brings
    it up to date at a later tick. Returns the messages updated."""
    from bot.services.convergence import show_current_state  # it renders with this module

    messages: dict[int, DigestMessage] = {}
    try:
        with transaction(deps.session_factory) as session:
            for message_id in message_ids:
                message = q.get_digest_message(session=session, message_id=message_id)
                messages[message.id] = message
                if message.page > 0:
                    first = q.find_first_page(session=session, digest_day=message.digest_day, owner=message.owner)
                    if first is not None:
                        messages[first.id] = first
    except Exception:  # noqa: BLE001 - the change is committed; the tick catches up
        log.exception("could not load digest messages %s to refresh; the tick will", sorted(message_ids))
        return 0
    updated = 0
    for message in sorted(messages.values(), key=lambda m: (m.digest_day, m.owner, m.page)):
        if not message.ts:
            continue
        try:
            updated += show_current_state(deps, message.id)
        except Exception:  # noqa: BLE001 - the change is committed; the tick catches up
            log.exception("could not refresh digest message %s; the tick will", message.id)
    return updated
