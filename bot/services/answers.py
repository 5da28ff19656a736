"""Acting on items: confirm, dispute, fix, uphold, overrule, ✅ reactions and
their undo, status.

Each use case: one transaction that decides every item through the lifecycle
table and compare-and-sets it with its audit row (plus whatever the use case
adds for each applied item: ``on_applied``); then the digest messages that
show those items are updated in place, then the actor gets a private answer
saying what happened to each item. An applied action by the owner's side also
marks the owner's digest thread as active (the follow-up's quiet timer).

Once the transaction is committed, nothing after it may tell the actor that
nothing changed: a digest message that cannot be updated is logged (it is
refreshed later), and an answer that no route accepts is replaced by a DM
with the counts alone. Answers stay within the message budget (long lists
are summarised by the core).

Errors: ``AnswerNotDelivered`` when the change is committed but not even the
short DM reached the actor.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session

from bot.core.answers import ItemResult, Outcome, answer_counts, answer_summary, outcome_of
from bot.core.formats import format_date
from bot.core.lifecycle import LOGISTICS, Action, Status, Surface, Verdict, decide
from bot.core.masking import mask_customer, mask_note
from bot.core.routing import Owner
from bot.core.text import MESSAGE_TEXT_BUDGET, cut, esc_cut, fmt_time, join_within
from bot.gateway import ReplyTo
from bot.ids import CONFIRM_REACTION
from bot.services import home
from bot.services.convergence import show_current_state
from bot.services.deps import Deps
from bot.services.digest import refresh_digest_messages
from bot.services.refresher import Shown
from storage import followups, standins
from storage import queries as q
from storage.db import transaction
from storage.models import Item, ReactionEffect

log = logging.getLogger(__name__)

OnApplied = Callable[[Session, Item, ItemResult], None]
"""Extra work for one applied item, in the same transaction (e.g. book a penalty)."""

STATUS_NOTE_LIMIT = 3000  # a callback note in /reject status (the record in full, short of a runaway cell)
STATUS_HISTORY_SHOWN = 30  # audit lines per item in /reject status: the latest
STATUS_WAITING_SHOWN = 20  # awaiting items listed per owner in /reject status
# Renders a click may send through its response_url while others change the
# message under it: with the private answer, 4 of the URL's 5 uses (Slack:
# "up to 5 times within 30 minutes", docs.slack.dev/interactivity/handling-user-interaction).
CLICK_RENDERS = 3


class AnswerNotDelivered(Exception):
    """The change was committed, but neither the answer nor the short DM with
    its counts reached the actor; ``counts`` says what was done."""

    def __init__(self, counts: str) -> None:
        super().__init__(f"a committed change could not be told to the actor: {counts}")
        self.counts = counts


@dataclass
class Answer:
    """What a use case did: per-item results and the text sent to the actor."""

    results: list[ItemResult]
    text: str

    def count(self, outcome: Outcome) -> int:
        return sum(1 for r in self.results if r.outcome is outcome)


def _owner_of(deps: Deps, item: Item) -> Owner | None:
    """Whoever answers for the item now (``Routing.owner_now``): after a
    rename in the routing file the new owner may act at once, before the
    sweep has recorded the handover."""
    return deps.routing.owner_now(item.owner, item.category, item.branch)


def _act(
    deps: Deps, session, item: Item, *, action: Action, actor: str, surface: Surface, note: str, now: datetime,
    threads: set[int] | None = None, stand_ins: Mapping[str, str] | None = None,
) -> ItemResult:
    """Decide and apply ``action`` on one item; a lost race is decided again
    on the state that won. The owner's side acting marks the item's digest
    thread active, or adds it to ``threads`` for the caller to mark once.
    ``stand_ins`` (owner name -> stand-in in force) lets a stand-in act as a delegate."""
    owner = _owner_of(deps, item)
    role = deps.routing.role_for(actor, owner, stand_ins)
    for _ in range(2):
        past = item.deadline is not None and now > item.deadline
        decision = decide(Status(item.status), action, role, past_deadline=past)
        if decision.verdict is not Verdict.APPLY:
            break
        change = q.Change(action, decision.new_status, actor, role, surface, note)
        if q.transition_item(session=session, item=item, change=change, now=now):
            if role in LOGISTICS and item.digest_message_id:
                if threads is None:
                    followups.touch_thread(session=session, message_id=item.digest_message_id, now=now)
                else:
                    threads.add(item.digest_message_id)
            break
    return ItemResult(
        order_no=item.order_no, outcome=outcome_of(decision), status=Status(item.status),
        owner=owner.name if owner else None, deadline=item.deadline,
    )


def _finish(deps: Deps, action: Action, results: list[ItemResult], touched: set[int], reply_to: ReplyTo | None) -> Answer:
    """After the commit: the digest messages show it, the actor hears it.
    Once the process's refresher runs, the message clicked is replaced
    through the click's ``response_url`` at once and the others are marked
    for the refresher (at most one chat.update per message per second)."""
    shown = None
    if deps.refresher.running and reply_to is not None:
        shown = show_clicked_message(deps, touched, reply_to)
    try:
        refresh_digest_messages(deps, touched, shown=shown)
    except Exception:  # committed: the messages catch up later; the actor still gets the answer
        log.exception("could not update digest messages %s after %s", sorted(touched), action)
    text = answer_summary(action, results, deps.catalog_for(reply_to.user if reply_to else None), deps.timezone)
    if reply_to is not None:
        deliver_answer(deps, reply_to, text, results)
        refresh_own_home(deps, reply_to.user, results)
    return Answer(results, text)


def show_clicked_message(deps: Deps, touched: set[int], reply_to: ReplyTo) -> int | None:
    """The digest message a click came from shows its new state at once:
    replaced through the click's ``response_url`` (Slack's way to update the
    message of an interaction, and not a ``chat.update``: the refresher's one
    a second would make a click on a busy message wait up to a second).
    Under the message's refresh lease, rendered from the database once held,
    so the latest state wins whichever route lands last. A message another
    refresher holds, a replace Slack refuses (the URL's 5 uses spent, say):
    left to the refresher, to which ``refresh_digest_messages`` marks it.
    Returns the message's id when it now shows the database's state."""
    if not (reply_to.response_url and reply_to.message_ts and reply_to.channel and touched):
        return None
    try:
        with transaction(deps.session_factory) as session:
            message = q.find_digest_message(session=session, channel=reply_to.channel, ts=reply_to.message_ts)
        if message is None or message.id not in touched:
            return None
        shown = show_current_state(
            deps, message.id, renders=CLICK_RENDERS,
            send=lambda text, blocks: deps.notifier.replace_original(reply_to, text=text, blocks=blocks),
        )
    except Exception:  # noqa: BLE001 - committed: the refresher and the tick catch up
        log.exception("could not show the clicked message %s to %s", reply_to.message_ts, reply_to.user)
        return None
    return message.id if shown is Shown.UPDATED else None


def refresh_own_home(deps: Deps, user: str, results: Sequence[ItemResult]) -> None:
    """The actor's App Home shows the change at once, if they ever opened it
    (everyone else's at the ticker's next pass: ``bot.services.home``)."""
    if not any(r.outcome is Outcome.APPLIED for r in results):
        return
    try:
        home.refresh_home(deps, user=user)
    except Exception:  # a courtesy: the ticker's pass publishes it anyway
        log.exception("could not refresh the App Home of %s after their change", user)


def deliver_answer(deps: Deps, reply_to: ReplyTo, text: str, results: Sequence[ItemResult]) -> None:
    """Tell the actor what their committed request did. If every route
    refuses the answer, a DM says the request was carried out, with the
    counts; if that fails too, ``AnswerNotDelivered``."""
    try:
        deps.notifier.reply(reply_to, text)
        return
    except Exception:
        log.exception("could not send %s the answer to a committed request (%d characters)", reply_to.user, len(text))
    cat = deps.catalog_for(reply_to.user)
    counts = answer_counts(results, cat)
    try:
        deps.notifier.send_dm(reply_to.user, text=cat.t("answers.reply_failed", counts=counts))
    except Exception as exc:
        raise AnswerNotDelivered(counts) from exc


def act_on_items(
    deps: Deps, *, actor: str, action: Action, surface: Surface, reply_to: ReplyTo | None,
    orders: Sequence[str] = (), item_ids: Sequence[int] = (), every_open: bool = False, note: str = "",
    on_applied: OnApplied | None = None,
) -> Answer:
    """Apply ``action`` to the items named by order number or id, or to every
    awaiting item the actor answers for. ``on_applied`` runs for each item the
    action changed, inside the same transaction."""
    now = deps.clock.now()
    results: list[ItemResult] = []
    touched: set[int] = set()
    with transaction(deps.session_factory) as session:
        stand_ins = standins.in_force_by_owner_user(session=session, now=now)
    owners = [o.name for o in deps.routing.owners_acting_for(actor, stand_ins)]
    if every_open and not owners:
        return _tell(deps, reply_to, "answers.no_owner_role")
    with transaction(deps.session_factory) as session:
        if every_open:
            items = list(q.list_items_for_owners(session=session, owners=owners, status=Status.AWAITING))
        else:
            items = list(q.list_items_by_orders(session=session, orders=orders))
            by_id = q.list_items_by_ids(session=session, item_ids=item_ids)
            items += [i for i in by_id if i not in items]
            found = {i.order_no for i in items}
            results += [ItemResult(o, Outcome.UNKNOWN) for o in orders if o not in found]
            known_ids = {i.id for i in by_id}
            results += [ItemResult(f"#{i}", Outcome.STALE) for i in item_ids if i not in known_ids]
        threads: set[int] = set()  # touched once each, not once per item (thousands of orders)
        for item in items:
            result = _act(deps, session, item, action=action, actor=actor, surface=surface, note=note, now=now, threads=threads, stand_ins=stand_ins)
            results.append(result)
            if result.outcome is Outcome.APPLIED:
                if on_applied is not None:
                    on_applied(session, item, result)
                if item.digest_message_id:
                    touched.add(item.digest_message_id)
        for message_id in sorted(threads):
            followups.touch_thread(session=session, message_id=message_id, now=now)
    if every_open and not items:
        return _tell(deps, reply_to, "answers.nothing_awaiting")
    return _finish(deps, action, results, touched, reply_to)


def _tell(deps: Deps, reply_to: ReplyTo | None, key: str, **params: object) -> Answer:
    text = deps.catalog_for(reply_to.user if reply_to else None).t(key, **params)
    if reply_to is not None:
        deps.notifier.reply(reply_to, text)
    return Answer([], text)


def check_item_action(deps: Deps, *, actor: str, item_id: int, action: Action) -> ItemResult:
    """Would ``action`` on the item be allowed now? (Before opening a modal.)"""
    now = deps.clock.now()
    with transaction(deps.session_factory) as session:
        item = q.find_item(session=session, item_id=item_id)
        if item is None:  # a button or form pointing at an item that is gone
            return ItemResult(f"#{item_id}", Outcome.STALE)
        owner = _owner_of(deps, item)
        role = deps.routing.role_for(actor, owner, standins.in_force_by_owner_user(session=session, now=now))
        decision = decide(Status(item.status), action, role, past_deadline=item.deadline is not None and now > item.deadline)
        return ItemResult(item.order_no, outcome_of(decision), Status(item.status), owner.name if owner else None, item.deadline)


def explain(deps: Deps, action: Action, result: ItemResult, reply_to: ReplyTo) -> None:
    deps.notifier.reply(reply_to, answer_summary(action, [result], deps.catalog_for(reply_to.user), deps.timezone))


# --- reactions -------------------------------------------------------------------


def handle_reaction(
    deps: Deps, *, event_id: str, user: str, reaction: str, channel: str, ts: str, added: bool
) -> Answer | None:
    """✅ on a digest message confirms its awaiting items; removing it within
    the undo window puts back exactly what it confirmed. Redelivered events
    (same ``event_id``) do nothing."""
    if reaction != CONFIRM_REACTION:
        return None
    now = deps.clock.now()
    results: list[ItemResult] = []
    too_late = False
    reply_to = ReplyTo(user=user, channel=channel)
    with transaction(deps.session_factory) as session:
        message = q.find_digest_message(session=session, channel=channel, ts=ts)
        if message is None:
            return None
        if not q.record_once(session=session, key=f"event:{event_id}", now=now):
            log.info("event %s already handled", event_id)
            return None
        owner = deps.routing.owner_named(message.owner)
        stand_ins = standins.in_force_by_owner_user(session=session, now=now)
        if added:
            items = [i for i in q.list_items_on_message(session=session, message_id=message.id) if i.status == Status.AWAITING]
            for item in items:
                results.append(_act(deps, session, item, action=Action.CONFIRM, actor=user, surface=Surface.REACTION, note="", now=now, stand_ins=stand_ins))
            changed = [i.id for i, r in zip(items, results, strict=True) if r.outcome is Outcome.APPLIED]
            if changed:
                q.add_reaction_effect(
                    session=session,
                    effect=ReactionEffect(channel=channel, message_ts=ts, user=user, reaction=reaction, at=now, item_ids=",".join(map(str, changed))),
                )
            action = Action.CONFIRM
        else:
            effect = q.find_reaction_effect(session=session, channel=channel, ts=ts, user=user, reaction=reaction)
            if effect is None:
                return None
            window = timedelta(minutes=deps.routing.timings.reaction_undo_minutes)
            if now - effect.at > window:
                too_late = True
            else:
                q.mark_reaction_undone(session=session, effect_id=effect.id, now=now)
                ids = [int(i) for i in effect.item_ids.split(",") if i]
                for item in q.list_items_by_ids(session=session, item_ids=ids):
                    results.append(_act(deps, session, item, action=Action.UNDO_CONFIRM, actor=user, surface=Surface.REACTION, note="", now=now, stand_ins=stand_ins))
            action = Action.UNDO_CONFIRM
    if too_late:
        return _tell(deps, reply_to, "answers.undo_too_late", minutes=deps.routing.timings.reaction_undo_minutes)
    if added and not results:
        return _tell(deps, reply_to, "answers.nothing_on_message", owner=owner.name if owner else message.owner)
    touched = {message.id} if any(r.outcome is Outcome.APPLIED for r in results) else set()
    return _finish(deps, action, results, touched, reply_to)


# --- status ------------------------------------------------------------------------


def _free_text(text: str, item: Item, privileged: bool) -> str:
    """A note as the asker may see it: in full for CS and the owner's side,
    else with the customer's name and phone numbers masked."""
    return text if privileged else mask_note(text, item.customer)


def status_report(deps: Deps, *, actor: str, orders: Sequence[str], reply_to: ReplyTo) -> str:
    """The state of the named orders (full customer data only for CS and the
    owner's side), or a summary of what waits on the actor; within the
    message budget: the first orders in full, then how many more."""
    cat = deps.catalog_for(reply_to.user)
    chunks: list[str] = []
    with transaction(deps.session_factory) as session:
        stand_ins = standins.in_force_by_owner_user(session=session, now=deps.clock.now())
        if orders:
            items = q.list_items_by_orders(session=session, orders=orders)
            found = {i.order_no for i in items}
            for item in items:
                owner = _owner_of(deps, item)
                privileged = deps.routing.is_cs(actor) or deps.routing.role_for(actor, owner, stand_ins) in LOGISTICS
                customer = item.customer if privileged else mask_customer(item.customer)
                lines = [
                    cat.t(
                        "answers.status_item", order=item.order_no, rejected_on=format_date(item.rejected_on, cat),
                        status=cat.t(f"status.{item.status}"), owner=owner.name if owner else cat.t("answers.no_owner"),
                        branch=item.branch, customer=cut(customer, 200) or "—", note=cut(_free_text(item.note, item, privileged), STATUS_NOTE_LIMIT) or "—",
                    )
                ]
                if item.redacted_at is not None:
                    lines.append(cat.t(
                        "privacy.masked_after_retention", day=item.redacted_at.astimezone(deps.timezone).date().isoformat(),
                        days=deps.routing.privacy.retention_days,
                    ))
                history = q.list_audit(session=session, item_id=item.id)
                if len(history) > STATUS_HISTORY_SHOWN:
                    lines.append(cat.t("answers.status_earlier", count=len(history) - STATUS_HISTORY_SHOWN))
                for entry in history[-STATUS_HISTORY_SHOWN:]:
                    lines.append(
                        cat.t(
                            "answers.status_history", at=fmt_time(entry.at, deps.timezone),
                            actor=f"<@{entry.actor}>" if entry.actor[:1] in "UW" else entry.actor,
                            status=cat.t(f"status.{entry.to_status}"), surface=cat.t(f"surface.{entry.surface}"),
                            note=f" — {cut(_free_text(entry.note, item, privileged), 300)}" if entry.note else "",
                        )
                    )
                chunks.append("\n".join(lines))
            missing = [o for o in orders if o not in found]
            if missing:
                shown = ", ".join(esc_cut(o, 64) for o in missing[:20])
                if len(missing) > 20:
                    shown += " " + cat.t("answers.and_more", count=len(missing) - 20)
                chunks.insert(0, cat.t("answers.unknown", orders=shown))  # short, so always shown
        else:
            owners = deps.routing.owners_acting_for(actor, stand_ins)
            if not owners and not deps.routing.is_cs(actor):
                chunks.append(cat.t("answers.no_owner_role"))
            for owner in owners:
                waiting = q.list_items_for_owners(session=session, owners=[owner.name], status=Status.AWAITING)
                lines = [cat.t("answers.status_owner", owner=owner.name, count=len(waiting))]
                lines += [f"• {item.order_no} · {item.branch}" for item in waiting[:STATUS_WAITING_SHOWN]]
                if len(waiting) > STATUS_WAITING_SHOWN:
                    lines.append(cat.t("answers.status_more", count=len(waiting) - STATUS_WAITING_SHOWN))
                chunks.append("\n".join(lines))
            if deps.routing.is_cs(actor):
                disputed = q.list_items_by_status(session=session, status=Status.DISPUTED)
                chunks.append(cat.t("answers.status_cs", count=len(disputed)))
    budget = MESSAGE_TEXT_BUDGET
    text = join_within([cut(c, budget // 2) for c in chunks], budget, lambda n: cat.t("answers.status_more_parts", count=n))
    deps.notifier.reply(reply_to, text)
    return text
