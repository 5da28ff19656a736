"""Correcting the record: CS voids its own wrong record, CS reopens a
confirmation, and anyone searches what they may see.

- ``void_item``: a new or awaiting item becomes ``voided`` — CS's own
  correction, not a mistaken rejection (no penalty, never counted against
  logistics).
- ``reopen_item``: a confirmed or deemed-confirmed item awaits an answer
  again, with a new deadline by the minimum-window rule counted from now; no
  fix is due any more (the fix window starts again at its next
  confirmation). No penalty can be booked on a confirmed item (the only one,
  CS accuracy, is booked when a dispute is upheld, and that item is withdrawn).
- Both: one transaction changes the item (compare-and-set, with its audit
  row and the digest message's version) and claims the owner's notice in
  the item's thread in the ledger (``notice:record:<audit id>``), so it is
  posted once; a post that fails is retried by the sweep. After the commit
  the digest message shows the change and the actor gets a private answer.
- ``find_items``: the 20 newest items whose order number, branch or note
  contains the text; CS sees every item, the owner side its owners' items,
  anyone else nothing.

An order number names one item per rejection day; when it names several,
the one the action applies to is taken, or the actor is asked to name the
day (``ORDER@YYYY-MM-DD``).

Errors: none of its own; every refusal is a private answer that changes
nothing. ``CalendarDataMissing`` while computing a reopen's deadline is
such a refusal.
"""

from __future__ import annotations

import json
import logging
from datetime import date, datetime

from bot.core.lifecycle import Action, Decision, Refusal, Role, Status, Surface, Verdict, decide
from bot.core.record import FIND_SHOWN, day_of, find_text, owner_notice
from bot.core.text import esc_cut, fmt_time
from bot.core.workcal import CalendarDataMissing
from bot.core.worktime import WorkingHours, dispute_deadline
from bot.gateway import ReplyTo
from bot.i18n import Catalog
from bot.services.deps import Deps
from bot.services.digest import refresh_digest_messages
from bot.services.followup import SEND_LEASE, _post_once  # the sweep retries a failed post under the "notice:" prefix
from bot.services.office_hours import may_message_people
from bot.services.review import owner_thread
from storage import followups as f
from storage import queries as q
from storage import record as rec
from storage import review as rv
from storage import standins
from storage.db import transaction
from storage.models import Item

log = logging.getLogger(__name__)

ORDER_LIMIT = 64
NOTICE_PREFIX = "notice:record:"  # a ONCE_PREFIXES prefix of the sweep's retries


# Refusals, per action: (not CS, no reason, already so, wrong state).
REFUSALS = {
    Action.VOID: ("record.void_cs_only", "record.void_needs_reason", "record.void_already", "record.void_wrong_state"),
    Action.REOPEN: ("record.reopen_cs_only", "record.reopen_needs_reason", "record.reopen_already", "record.reopen_wrong_state"),
}


def notice_key(audit_id: int) -> str:
    return f"{NOTICE_PREFIX}{audit_id}"


def void_item(deps: Deps, *, actor: str, order: str, rejected_on: date | None, reason: str, reply_to: ReplyTo) -> Status | None:
    """CS withdraws its own wrong record; the item's status after, or None when refused."""
    return _correct(deps, Action.VOID, actor=actor, order=order, rejected_on=rejected_on, reason=reason, reply_to=reply_to)


def reopen_item(deps: Deps, *, actor: str, order: str, rejected_on: date | None, reason: str, reply_to: ReplyTo) -> Status | None:
    """CS takes a confirmation back: the item awaits its owner's answer again."""
    return _correct(deps, Action.REOPEN, actor=actor, order=order, rejected_on=rejected_on, reason=reason, reply_to=reply_to)


def _reply(deps: Deps, reply_to: ReplyTo, key: str, **params: object) -> None:
    deps.notifier.reply(reply_to, deps.catalog_for(reply_to.user).t(key, **params))


def _role(deps: Deps, actor: str, item: Item) -> Role:
    owner = deps.routing.owner_named(item.owner) if item.owner else deps.routing.owner_for(item.category, item.branch)
    return deps.routing.role_for(actor, owner)


def _correct(
    deps: Deps, action: Action, *, actor: str, order: str, rejected_on: date | None, reason: str, reply_to: ReplyTo,
) -> Status | None:
    cat, tz = deps.catalog_for(actor), deps.timezone
    shown = esc_cut(order, ORDER_LIMIT)
    reason = reason.strip()
    not_cs, no_reason, _, _ = REFUSALS[action]
    if not deps.routing.is_cs(actor):
        _reply(deps, reply_to, not_cs, order=shown)
        return None
    if not reason:
        _reply(deps, reply_to, no_reason, order=shown)
        return None
    now = deps.clock.now()
    deadline = None
    if action is Action.REOPEN:
        timings = deps.routing.timings
        hours = WorkingHours(calendar=deps.calendar, start=timings.work_start, end=timings.work_end, tz=tz)
        try:
            deadline = dispute_deadline(now, hours=hours, min_window=timings.min_window)
        except CalendarDataMissing as exc:
            log.warning("reopen of %s refused: %s", order, exc)
            _reply(deps, reply_to, "record.reopen_no_calendar", order=shown)
            return None
    refusal: tuple[str, dict] | None = None
    with transaction(deps.session_factory) as session:  # Slack is called only after it
        items = [i for i in q.list_items_by_orders(session=session, orders=[order]) if rejected_on in (None, i.rejected_on)]
        if not items:
            key = "record.unknown_day" if rejected_on else "record.unknown"
            refusal = (key, {"order": shown, "rejected_on": rejected_on.isoformat() if rejected_on else ""})
        else:
            item, decision, refusal = _target(deps, action, actor, items)
        if refusal is None:
            role = _role(deps, actor, item)
            for _ in range(2):  # a lost race is decided again on the state that won
                if decision.verdict is not Verdict.APPLY:
                    break
                change = q.Change(action, decision.new_status, actor, role, Surface.COMMAND, reason)
                if q.transition_item(session=session, item=item, change=change, now=now):
                    break
                decision = decide(Status(item.status), action, role)
            if decision.verdict is not Verdict.APPLY:
                refusal = _refusal(deps, action, decision, item, cat)
            else:
                if action is Action.REOPEN:
                    rec.set_reopened(session=session, item_id=item.id, deadline=deadline)
                    if item.digest_message_id is not None:  # the owner's thread starts a new quiet period, as after an answer:
                        f.touch_thread(session=session, message_id=item.digest_message_id, now=now)  # else every step is overdue at once
                        rec.extend_thread_deadline(session=session, message_id=item.digest_message_id, deadline=deadline)
                audit = rv.find_last_audit(session=session, item_id=item.id, action=action)
                notice = _claim_notice(deps, session, item, audit.id, action, actor=actor, reason=reason, deadline=deadline, now=now)
                message_id, status, day = item.digest_message_id, Status(item.status), item.rejected_on
    if refusal is not None:
        _reply(deps, reply_to, refusal[0], **refusal[1])
        return None
    if message_id is not None:
        refresh_digest_messages(deps, {message_id})  # never raises: a message left behind catches up at a tick
    told = "record.owner_not_shown"
    if notice is not None:
        key, note, later = notice
        told = "record.owner_told_later" if later else "record.owner_told"
        if not later:
            try:
                _post_once(deps, key, note, now, look_first=False)
            except Exception:  # committed and claimed: the sweep posts it once the lease runs out
                log.exception("could not tell the owner in the thread that %s was %s", order, action)
    if action is Action.VOID:
        _reply(deps, reply_to, "record.voided", order=day_of(shown, day), told=cat.t(told))
    else:
        _reply(deps, reply_to, "record.reopened", order=day_of(shown, day), deadline=fmt_time(deadline, tz), told=cat.t(told))
    return status


def _target(deps: Deps, action: Action, actor: str, items: list[Item]) -> tuple[Item, Decision, tuple[str, dict] | None]:
    """Of the items an order names (one per rejection day, at least one),
    the one to act on and the decision on it; with the refusal (catalog
    key, values) when the order could mean several."""
    decisions = [(item, decide(Status(item.status), action, _role(deps, actor, item))) for item in items]
    if len(decisions) == 1:
        return *decisions[0], None
    applicable = [(i, d) for i, d in decisions if d.applies]
    if len(applicable) == 1:
        return *applicable[0], None
    order = esc_cut(items[0].order_no, ORDER_LIMIT)
    cat = deps.catalog_for(actor)  # the refusal is the actor's
    days = ", ".join(f"{day_of(order, i.rejected_on)} ({cat.t(f'status.{i.status}')})" for i in items[:10])
    return *decisions[0], ("record.ambiguous", {"order": order, "days": days, "verb": str(action), "day": day_of(order, items[0].rejected_on)})


def _refusal(deps: Deps, action: Action, decision: Decision, item: Item, cat: Catalog) -> tuple[str, dict]:
    order = day_of(esc_cut(item.order_no, ORDER_LIMIT), item.rejected_on)
    not_cs, _, already, wrong_state = REFUSALS[action]
    if decision.verdict is Verdict.NOOP:
        key = already
    elif decision.refusal is Refusal.NOT_ALLOWED:
        key = not_cs  # a CS member who is also on this item's owner side
    else:
        key = wrong_state
    return key, {"order": order, "status": cat.t(f"status.{item.status}")}


def _claim_notice(
    deps: Deps, session, item: Item, audit_id: int, action: Action, *, actor: str, reason: str,
    deadline: datetime | None, now: datetime,
) -> tuple[str, dict, bool] | None:
    """Claim the owner's notice in the item's thread, in the change's
    transaction: (key, what to post, whether it waits for working time), or
    None when the item was never shown to its owner (a new item has no
    thread). Outside working time the claim is released at once, and the
    sweep posts it from the opening, as every message to a person."""
    thread = owner_thread(session, item)
    if thread is None:
        return None
    owner = deps.routing.owner_named(item.owner) if item.owner else None
    text = owner_notice(
        action, owner_user=owner.user if owner else (item.owner or ""), actor=actor, order=item.order_no,
        rejected_on=item.rejected_on, reason=reason, customer=item.customer, deadline=deadline, catalog=deps.catalog, tz=deps.timezone,
    )
    key = notice_key(audit_id)
    note = {"channel": thread[0], "thread_ts": thread[1], "user": None, "text": text, "attempts": 0}
    later = not may_message_people(deps, now)
    if later:
        note["look"] = False  # not tried yet: nothing to look for
    if q.claim_effect(session=session, key=key, now=now, lease=SEND_LEASE) is not q.Claim.NEW:
        return None
    q.set_effect_detail(session=session, key=key, detail=json.dumps(note, ensure_ascii=False))
    if later:
        q.release_effect(session=session, key=key, now=now)
    return key, note, later


# --- find ----------------------------------------------------------------------------


def find_items(deps: Deps, *, actor: str, text: str, reply_to: ReplyTo) -> str:
    """``/reject find``: the newest items matching ``text`` that the actor may see."""
    cat = deps.catalog_for(reply_to.user)
    text = text.strip()
    if not text:
        answer = cat.t("record.find_needs_text")
    else:
        owners = None
        if not deps.routing.is_cs(actor):
            with transaction(deps.session_factory) as session:
                stand_ins = standins.in_force_by_owner_user(session=session, now=deps.clock.now())
            owners = [o.name for o in deps.routing.owners_acting_for(actor, stand_ins)]
        if owners is not None and not owners:
            answer = cat.t("record.find_no_access")
        else:
            with transaction(deps.session_factory) as session:
                found = rec.search_items(session=session, text=text, owners=owners, limit=FIND_SHOWN)
                answer = find_text(text, found.items, found.total, cat)
    deps.notifier.reply(reply_to, answer)
    return answer
