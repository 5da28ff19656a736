"""The sweep: deadlines, nudges, escalations and dispute follow-ups that are
due now — each exactly once, however many sweeps, processes or restarts.

Every follow-up message is claimed in the ``follow_up`` table under its key
before it is sent (``nudge:<thread>:0:<quiet since>``) and carries that key
in its metadata; a claim whose send failed or whose sender died is taken
over by the next sweep, which looks the message up by its key before
sending it again. Escalations to one
manager in one sweep go out as one consolidated DM, with buttons per thread,
and nobody gets more than the policy's daily cap of follow-up messages.

Also here, on the same facts and ladders: ``upcoming`` (``/reject next``:
the follow-ups ahead for what someone is involved in), and what the
escalation DM's buttons do — ``remind_owner`` (a reminder in the owner's
thread, once per thread and asker every ten minutes) and
``confirm_for_owner`` (the thread's awaiting items confirmed by the clicking
manager or delegate, through ``answers.act_on_items``).

Errors: none of its own; a missing calendar year is reported, not raised,
and a failed follow-up send is kept for the next sweep (see "sending"). A
Slack error posting a manager's reminder propagates, its ledger key released.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache, partial

from sqlmodel import Session

from bot.core.followup import (
    DisputeFacts,
    DisputeOutlook,
    Step,
    StepKind,
    ThreadFacts,
    ThreadOutlook,
    dispute_ladder,
    due_steps,
    key_owner,
    pending_steps,
    project_thread,
    thread_ladder,
    until_cut,
    within_cap,
)
from bot.core.followup_messages import ESCALATION_THREADS_WITH_BUTTONS, EscalationThread, escalation_message, outlook_text
from bot.core.lifecycle import LOGISTICS, Action, Role, Status, Surface, decide
from bot.core.routing import FollowUpPolicy, Owner
from bot.core.text import MESSAGE_TEXT_BUDGET, fmt_time, join_within, text_size
from bot.core.workcal import local_datetime
from bot.gateway import CLIENT_TIMEOUT, LOOKUP_PAGES, Backoff, ReplyTo
from bot.i18n import Catalog
from bot.services.answers import Answer, act_on_items
from bot.services.convergence import REFUSED_PREFIX, slack_refused
from bot.services.deps import Deps
from bot.services.digest import refresh_digest_messages
from bot.services.office_hours import may_message_people, working_hours
from storage import followups as f
from storage import queries as q
from storage import standins
from storage.db import transaction
from storage.models import DigestMessage, FollowUp, Item

log = logging.getLogger(__name__)
CALENDAR_WARNING_FROM = (12, 1)  # from 1 December, warn about next year's missing calendar
DISPUTE_HEADS = {StepKind.DISPUTE_NUDGE: "followup.dispute_nudge_head", StepKind.DISPUTE_ESCALATE: "followup.dispute_escalate_head"}
REMIND_EVERY = timedelta(minutes=10)  # a manager's "remind now": once per thread and manager in this window
ACTING_FOR_OWNER = frozenset({Role.DELEGATE, Role.MANAGER})  # who may use the escalation DM's buttons


@dataclass
class SweepReport:
    deemed: int = 0
    sent: dict[str, int] = field(default_factory=dict)  # step kind -> messages sent
    held: int = 0  # over the daily cap, left for tomorrow
    calendar_problem: int | None = None  # the year without calendar data, if any
    failed: int = 0  # follow-up messages whose send failed in this sweep
    stuck: int = 0  # follow-ups neither sent nor given up after GIVE_UP_AFTER failed sends
    problem: str | None = None  # for /healthz and the exit code: sends are failing (catalog text)
    handed_over: int = 0  # threads whose open items went to the owner now covering them


def sweep(deps: Deps, *, now: datetime) -> SweepReport:
    """Do everything that is due at ``now``; safe to repeat and to run concurrently."""
    report = SweepReport()
    report.handed_over = follow_owners(deps, now)
    report.calendar_problem = _check_calendar(deps, now)
    report.deemed = _deem_overdue(deps, now)
    steps, threads, items, missing_year = _due(deps, now)
    if missing_year is not None and report.calendar_problem is None:
        report.calendar_problem = missing_year
        _warn_calendar(deps, now, missing_year)
    if may_message_people(deps, now):  # reminders wait for working hours, however late they are
        _send(deps, steps, threads, items, now, report)
    with transaction(deps.session_factory) as session:
        report.stuck = f.count_stuck_follow_ups(session=session, attempts=GIVE_UP_AFTER)
    if report.failed or report.stuck:
        report.problem = deps.catalog.t("followup.sweep_problem", failed=report.failed, stuck=report.stuck, attempts=GIVE_UP_AFTER)
    return report


# --- deadlines ---------------------------------------------------------------------


def _deem_overdue(deps: Deps, now: datetime) -> int:
    """Awaiting items past their deadline become deemed confirmed — as of the
    deadline, so a sweep that runs late (after downtime) does not push their
    fix window later."""
    decision = decide(Status.AWAITING, Action.DEEM, Role.SYSTEM)
    change = q.Change(Action.DEEM, decision.new_status, "system", Role.SYSTEM, Surface.SCHEDULER)
    changed: set[int] = set()
    with transaction(deps.session_factory) as session:
        items = f.list_overdue_items(session=session, now=now)
        by_deadline: dict[datetime, list[int]] = defaultdict(list)
        for item in items:
            by_deadline[item.deadline].append(item.id)
        for deadline, ids in by_deadline.items():
            changed.update(q.transition_many(session=session, item_ids=ids, expected=Status.AWAITING, change=change, now=deadline))
        messages = {i.digest_message_id for i in items if i.id in changed and i.digest_message_id}
    refresh_digest_messages(deps, messages)
    return len(changed)


# --- what is due -------------------------------------------------------------------


@lru_cache(maxsize=256)
def _stored_policy(text: str) -> FollowUpPolicy:
    """A thread's stored policy, parsed once per process: thousands of threads share a few."""
    return FollowUpPolicy.from_json(text)


def _policy(deps: Deps, message: DigestMessage | None, owner_name: str | None, owner: Owner | None = None) -> FollowUpPolicy:
    """The policy in force when the thread was posted; the file's for older threads."""
    if message is not None and message.policy:
        return _stored_policy(message.policy)
    owner = owner or deps.routing.owner_named(owner_name or "")
    return deps.routing.policy_for(owner) if owner else deps.routing.follow_up


@dataclass
class OpenWork:
    """Open threads and unresolved disputes, each with the facts and the
    policy its ladder needs. A thread is followed up per owner of its open
    items (keys: (thread id, that owner when not the one its pages name)):
    each owner on their own ladder, to their own chain. An owner who left the
    routing file, whose items nobody covers now, has no facts: not followed up."""

    threads: dict[tuple[int, str | None], f.OpenThread]
    thread_facts: dict[tuple[int, str | None], tuple[ThreadFacts, FollowUpPolicy]]
    items: dict[int, Item]
    dispute_facts: dict[int, tuple[DisputeFacts, FollowUpPolicy]]


def _open_work(deps: Deps, session: Session) -> OpenWork:
    threads = {(t.message.id, t.owner): t for t in f.list_open_threads(session=session)}
    stand_ins = standins.in_force_by_owner_user(session=session, now=deps.clock.now())  # once, not per thread
    routing = deps.routing
    named = {o.name: o for o in reversed(routing.owners)}  # owner_named's answer (the first of a name), for thousands of threads
    thread_facts: dict[tuple[int, str | None], tuple[ThreadFacts, FollowUpPolicy]] = {}
    for key, thread in threads.items():
        message = thread.message
        owner = named.get(thread.items_owner)
        if owner is None:
            log.warning("owner %r of open items in thread %s is no longer in the routing file and nobody covers them: not followed up", thread.items_owner, message.id)
            continue
        facts = ThreadFacts(
            thread_id=message.id, owner_user=contact_for(deps, owner, stand_ins=stand_ins), escalation=owner.escalation,
            posted_at=message.posted_at or message.created_at, deadline=message.deadline,
            awaiting=thread.awaiting, oldest_unfixed_at=thread.oldest_unfixed_at,
            last_activity_at=message.last_activity_at, acknowledged_at=message.acknowledged_at,
            deemed_unfixed=thread.deemed, other_owner=thread.owner,
        )
        thread_facts[key] = (facts, _policy(deps, message, message.owner, named.get(message.owner)))
    items = {i.id: i for i in f.list_disputed_items(session=session)}
    dispute_facts = {
        item.id: (DisputeFacts(item.id, item.updated_at, deps.routing.agent_user(item.callback_agent), deps.routing.cs_lead), _policy(deps, None, item.owner))
        for item in items.values()
    }
    return OpenWork(threads, thread_facts, items, dispute_facts)


def _due(deps: Deps, now: datetime) -> tuple[list[Step], dict[tuple[int, str | None], f.OpenThread], dict[int, Item], int | None]:
    """Steps due now, the threads and disputed items they are about, and a
    year whose missing calendar kept some ladder from being computed."""
    hours = working_hours(deps)
    steps: list[Step] = []
    missing: int | None = None
    with transaction(deps.session_factory) as session:
        work = _open_work(deps, session)
        ladders = [until_cut(thread_ladder, facts, policy, hours) for facts, policy in work.thread_facts.values()]
        ladders += [until_cut(dispute_ladder, facts, policy, hours) for facts, policy in work.dispute_facts.values()]
        for found, year in ladders:  # a cut ladder still counts up to the cut; the others go on
            steps += found
            missing = year or missing
        done = f.list_done_keys(session=session, keys=[s.key for s in steps if s.due_at <= now], now=now)  # only those due can be sent
    return due_steps(steps, now=now, done=done), work.threads, work.items, missing


# --- what is ahead (/reject next) ------------------------------------------------------


def upcoming(deps: Deps, *, actor: str) -> list[ThreadOutlook | DisputeOutlook]:
    """The follow-ups not yet taken that concern ``actor``, if nobody acts:
    for the owner side (owner, delegate, manager, a stand-in in force), every
    open thread of the owners they act for; for CS, the unresolved disputes
    (an agent's own, all of them for the CS lead). The same facts and ladders
    as the sweep."""
    routing = deps.routing
    with transaction(deps.session_factory) as session:
        stand_ins = standins.in_force_by_owner_user(session=session, now=deps.clock.now())
    owners = [o.name for o in routing.owners_acting_for(actor, stand_ins)]
    cs_lead = actor == routing.cs_lead
    if not owners and not routing.is_cs(actor):
        return []
    hours = working_hours(deps)
    with transaction(deps.session_factory) as session:
        work = _open_work(deps, session)
        projections = {
            thread_id: project_thread(facts, policy, hours) for thread_id, (facts, policy) in work.thread_facts.items()
            if work.threads[thread_id].message.owner in owners
        }
        disputes = {
            item_id: until_cut(dispute_ladder, facts, policy, hours) for item_id, (facts, policy) in work.dispute_facts.items()
            if routing.is_cs(actor) and (cs_lead or facts.agent_user == actor)
        }
        keys = [s.key for p in projections.values() for s in p.current] + [s.key for steps, _ in disputes.values() for s in steps]
        done = f.list_done_keys(session=session, keys=keys, now=deps.clock.now())
    order = {o.name: i for i, o in enumerate(routing.owners)}
    entries: list[ThreadOutlook | DisputeOutlook] = []
    for thread_id in sorted(projections, key=lambda t: (work.threads[t].message.digest_day, order[work.threads[t].message.owner])):
        thread, projection = work.threads[thread_id], projections[thread_id]
        message = thread.message
        entries.append(
            ThreadOutlook(
                owner=message.owner, owner_user=work.thread_facts[thread_id][0].owner_user, digest_day=message.digest_day,
                deadline=message.deadline, awaiting=thread.awaiting, oldest_unfixed_at=thread.oldest_unfixed_at,
                acknowledged_at=message.acknowledged_at, acknowledged_by=message.acknowledged_by,
                steps=pending_steps(projection.current, done=done), after_deadline=tuple(projection.after_deadline),
                missing_year=projection.missing_year,
            )
        )
    for item_id, (steps, year) in sorted(disputes.items()):
        item = work.items[item_id]
        entries.append(
            DisputeOutlook(
                order_no=item.order_no, owner=item.owner or "", agent=item.callback_agent, disputed_at=item.updated_at,
                steps=pending_steps(steps, done=done), missing_year=year,
            )
        )
    return entries


def tell_upcoming(deps: Deps, *, actor: str, reply_to: ReplyTo) -> str:
    """``/reject next``: the follow-ups ahead, privately to ``actor``."""
    text = outlook_text(upcoming(deps, actor=actor), deps.catalog_for(reply_to.user), deps.timezone, now=deps.clock.now())
    deps.notifier.reply(reply_to, text)
    return text


# --- sending -----------------------------------------------------------------------
#
# A follow-up is claimed (its ``follow_up`` row, with a lease) before it is
# sent, and its message carries a key in its metadata: the first claimed
# step's key, recorded on the claims before the send. Whatever goes wrong
# while sending — a refusal, a timeout, Slack unavailable, a crash — the claim
# stays: a failed send frees it at once, a dead sender's lease runs out. The
# next sweep takes it over and first looks its message up by that key (Slack
# may have posted it after all), so it goes out exactly once. A definitive
# refusal (``SlackApiError`` from the gateway) is tried until Slack refused it
# ``GIVE_UP_AFTER`` times; then the bot stops, and the CS lead is told once.
# Other (ambiguous) failures are counted apart and tried at every sweep, and
# the CS lead is told once they have failed that often. While a send failed in
# a sweep, or some follow-up is still pending after that many failed sends,
# the sweep's report has a ``problem`` (/healthz, ``rejectbot sweep``'s exit code).
#
# One-off messages outside the ladders (the owner's escalation notice, the
# CS lead's failure notice, the calendar warning) work the same way through
# the side-effect ledger: ``_send_once``.



def _worst_call(backoff: Backoff = Backoff(), timeout: float = CLIENT_TIMEOUT) -> float:
    """Seconds one gateway call may take at worst: every attempt times out,
    with the backoff's waits in between."""
    return backoff.attempts * timeout + sum(backoff.delays())


def _worst_send(backoff: Backoff = Backoff(), timeout: float = CLIENT_TIMEOUT) -> timedelta:
    """The longest one follow-up send may be in flight in the gateway: the DM
    opened (``conversations.open``), an earlier attempt looked up by its key
    (``LOOKUP_PAGES`` pages of ``conversations.history``/``replies``), then
    the keyed post — its attempts, each repeat preceded by such a lookup."""
    call = _worst_call(backoff, timeout)
    lookup = LOOKUP_PAGES * call
    post = call + (backoff.attempts - 1) * lookup
    return timedelta(seconds=call + lookup + post)


# A send in flight: twice the gateway's worst case (about 16 min with its
# defaults), so another replica never takes over a claim whose sender is still
# retrying (it would miss the message in flight and send it again); the margin
# covers rate-limit waits and the escalation's permalinks. A dead sender's
# claim waits that long before the next sweep takes it over.
SEND_LEASE = 2 * _worst_send()
GIVE_UP_AFTER = 3  # failed sends of one message before the CS lead is told (and, if Slack refused it, it stops)
# Slack refused the message itself for its size or shape: built again from the
# same facts it would be refused again, so it is given up at the first refusal.
REFUSED_AS_BUILT = frozenset({"msg_too_long", "msg_blocks_too_long", "invalid_blocks"})
DESCRIBED = 5  # follow-ups named in the CS lead's notice of a failed send; the rest are counted
ONCE_PREFIXES = ("notice:", "followup-failed:", "calendar:", "away:", REFUSED_PREFIX, "handover:")  # ledger keys of the one-off messages (below; convergence)


def _failure(exc: Exception) -> tuple[bool, str]:
    """(definitive, why): a definitive refusal by Slack, or a failure that
    may pass if tried again (5xx, timeouts, Slack unavailable, …)."""
    refused = slack_refused(exc, method=("chat.postMessage", "conversations.open"))  # nothing was posted
    if refused is not None:
        return True, refused
    return False, f"{type(exc).__name__}: {exc}"[:300]


def _claim(deps: Deps, steps: Sequence[Step], now: datetime) -> list[tuple[Step, str | None]]:
    """Claim ``steps`` (new claims, or claims nobody is sending); each with the
    key an earlier attempt's message carried, if any."""
    claimed: list[tuple[Step, str | None]] = []
    lease_until = now + SEND_LEASE
    with transaction(deps.session_factory) as session:
        for step in steps:
            thread = step.subject if step.kind in (StepKind.NUDGE, StepKind.ESCALATE) else None
            item = None if thread else step.subject
            row = FollowUp(
                key=step.key, kind=step.kind, thread_id=thread, item_id=item, level=step.level, recipient=step.recipient,
                sent_at=now, lease_until=lease_until,
            )
            if f.claim_follow_up(session=session, follow_up=row):
                claimed.append((step, None))
                continue
            taken, earlier = f.take_over_follow_up(session=session, key=step.key, now=now, lease_until=lease_until)
            if taken:
                claimed.append((step, earlier))
    return claimed


def _mark_sent(deps: Deps, steps: Sequence[Step], channel: str, ts: str) -> None:
    with transaction(deps.session_factory) as session:
        f.set_follow_ups_sent(session=session, keys=[s.key for s in steps], channel=channel, ts=ts)


def _found_earlier(deps: Deps, claimed: list[tuple[Step, str | None]], channel: str, thread_ts: str | None) -> list[Step]:
    """Look up the messages of earlier attempts by their keys; record those
    found as sent, and return the steps still to send."""
    by_key: dict[str, list[Step]] = defaultdict(list)
    unsent: list[Step] = []
    for step, earlier in claimed:
        if earlier is None:
            unsent.append(step)
        else:
            by_key[earlier].append(step)
    for key, steps in by_key.items():
        ts = deps.notifier.lookup_by_key(channel, key, thread_ts=thread_ts)
        if ts is None:
            unsent.extend(steps)
        else:
            log.info("follow-up %s had gone out after all (found by its key)", key)
            _mark_sent(deps, steps, channel, ts)
    return sorted(unsent, key=lambda s: (s.due_at, s.level, s.key))


def _deliver(deps: Deps, steps: Sequence[Step], now: datetime, report: SweepReport, *, where, compose) -> bool:
    """Claim ``steps`` and send one keyed message for the claimed ones that
    have not gone out yet: ``where()`` gives (channel, thread ts),
    ``compose(steps)`` (text, blocks). Any failure leaves the claims for the
    next sweep. True when the steps' message is in Slack."""
    claimed = _claim(deps, steps, now)
    if not claimed:
        return False
    unsent = [step for step, _ in claimed]
    channel: str | None = None
    thread_ts: str | None = None
    try:
        if any(earlier for _, earlier in claimed):  # taken over: did an earlier attempt go out after all?
            channel, thread_ts = where()
            unsent = _found_earlier(deps, claimed, channel, thread_ts)
            if not unsent:
                return True
        key = unsent[0].key
        with transaction(deps.session_factory) as session:  # committed first: a crash after the post can find it
            f.set_message_key(session=session, keys=[s.key for s in unsent], message_key=key)
        text, blocks = compose(unsent)
        if channel is None:
            channel, thread_ts = where()
        ts = deps.notifier.post_message(channel, text=text, blocks=blocks, thread_ts=thread_ts, key=key)
    except Exception as exc:  # noqa: BLE001 - whatever failed, the claims stay for the next sweep
        _send_failed(deps, unsent, exc, now)
        report.failed += 1
        return False
    _mark_sent(deps, unsent, channel, ts)
    return True


def _send_failed(deps: Deps, steps: Sequence[Step], exc: Exception, now: datetime) -> None:
    """Count the failure (a refusal apart from an ambiguous one) and free the
    claims; give up after ``GIVE_UP_AFTER`` refusals; tell the CS lead once
    when it is given up, and once when ambiguous failures reached that many."""
    definitive, why = _failure(exc)
    give_up_after = 1 if definitive and why in REFUSED_AS_BUILT else GIVE_UP_AFTER
    keys = [s.key for s in steps]
    with transaction(deps.session_factory) as session:
        failures = f.record_send_failure(session=session, keys=keys, error=why, refused=definitive, give_up_after=give_up_after, now=now)
    stopped = failures.refusals >= give_up_after
    log.error(
        "follow-up %s failed (%s; %d refused, %d ambiguous so far); %s",
        keys, why, failures.refusals, failures.ambiguous, "given up" if stopped else "will retry next sweep",
    )
    cat = deps.catalog_for(deps.routing.cs_lead)
    if stopped:
        text = cat.t("followup.send_given_up", attempts=failures.refusals, error=why, what=_describe_all(deps, steps, cat))
        _send_once(deps, f"followup-failed:given-up:{keys[0]}", user=deps.routing.cs_lead, text=text, now=now)
    elif not definitive and failures.ambiguous >= GIVE_UP_AFTER:
        text = cat.t("followup.send_failing", attempts=failures.ambiguous, error=why, what=_describe_all(deps, steps, cat))
        _send_once(deps, f"followup-failed:{keys[0]}", user=deps.routing.cs_lead, text=text, now=now)


def _describe_all(deps: Deps, steps: Sequence[Step], cat: Catalog) -> str:
    """The first ``DESCRIBED`` follow-ups of a failed message, then how many
    more: one DM may carry thousands, and the notice must fit in a message."""
    what = "; ".join(_describe(deps, step, cat) for step in steps[:DESCRIBED])
    if len(steps) > DESCRIBED:
        what += " " + cat.t("followup.failed_more", count=len(steps) - DESCRIBED)
    return what


def _describe(deps: Deps, step: Step, cat: Catalog) -> str:
    """What a follow-up step is, for the CS lead."""
    owner = ""
    if step.kind in (StepKind.NUDGE, StepKind.ESCALATE):
        with transaction(deps.session_factory) as session:
            message = f.find_thread(session=session, thread_id=step.subject)
        owner = message.owner if message else ""
    return cat.t(f"followup.failed_{step.kind}", owner=owner, user=f"<@{step.recipient}>", level=step.level)


def _send(deps: Deps, due: list[Step], threads: dict[tuple[int, str | None], f.OpenThread], items: dict[int, Item], now: datetime, report: SweepReport) -> None:
    _retry_once_messages(deps, now)
    start_of_day = local_datetime(now.astimezone(deps.timezone).date(), datetime.min.time(), deps.timezone)
    with transaction(deps.session_factory) as session:
        sent_today = f.count_sent_since(session=session, since=start_of_day)
    send, held = within_cap(due, sent_today=sent_today, cap=deps.routing.follow_up.daily_cap)
    report.held = len(held)
    for step in held:
        log.info("daily cap reached for %s: %s waits for tomorrow", step.recipient, step.key)
    grouped: dict[tuple[StepKind, str], list[Step]] = defaultdict(list)
    for step in send:
        grouped[(step.kind, step.recipient)].append(step)
    for (kind, recipient), steps in grouped.items():
        def in_dm(recipient=recipient):
            return deps.notifier.open_dm(recipient), None

        if kind is StepKind.NUDGE:
            for step in steps:
                thread = threads[(step.subject, step.owner)]
                sent = _deliver(
                    deps, [step], now, report, where=lambda t=thread.message: (t.channel, t.ts),
                    compose=lambda _s, t=thread: (_nudge_text(deps, t), None),
                )
                if sent:
                    report.sent[kind] = report.sent.get(kind, 0) + 1
        elif kind is StepKind.ESCALATE:
            def escalation(claimed, recipient=recipient):  # a DM: in the manager's language
                return _escalation_message(deps, [(threads[(s.subject, s.owner)], s) for s in claimed], recipient)

            if _deliver(deps, steps, now, report, where=in_dm, compose=escalation):
                report.sent[kind] = report.sent.get(kind, 0) + 1
                for step in steps:
                    _tell_owner(deps, threads[(step.subject, step.owner)], step, now)
        else:
            def dispute(claimed, kind=kind, recipient=recipient):  # a DM: in the recipient's language
                cat = deps.catalog_for(recipient)
                head = cat.t(DISPUTE_HEADS[kind], count=len(claimed))
                lines = [_dispute_line(deps, items[s.subject], now, cat) for s in claimed]  # the oldest first; thousands are counted
                more = partial(cat.t, "followup.failed_more")
                return head + "\n" + join_within(lines, MESSAGE_TEXT_BUDGET - text_size(head) - 1, lambda n: more(count=n)), None

            if _deliver(deps, steps, now, report, where=in_dm, compose=dispute):
                report.sent[kind] = report.sent.get(kind, 0) + 1


def _tell_owner(deps: Deps, thread: f.OpenThread, step: Step, now: datetime) -> None:
    """Nobody is escalated behind their back: say so in the owner's thread."""
    message = thread.message
    owner = deps.routing.owner_named(thread.items_owner)
    text = deps.catalog.t(
        "followup.escalated_notice", owner=f"<@{contact_for(deps, owner)}>" if owner else thread.items_owner, manager=f"<@{step.recipient}>", level=step.level,
    )
    _send_once(deps, f"notice:{step.key}", channel=message.channel, thread_ts=message.ts, text=text, now=now)


# --- one-off messages ---------------------------------------------------------------


def _send_once(deps: Deps, key: str, *, text: str, now: datetime, channel: str | None = None, thread_ts: str | None = None, user: str | None = None) -> bool:
    """Send a one-off message once: claimed in the ledger under ``key`` with
    where it goes and what it says, carrying ``key`` in its metadata. A
    failed send is retried by the next sweep (``_retry_once_messages``),
    after looking the message up by its key; so is one claimed outside
    working time, from the opening. True when sent now."""
    note = {"channel": channel, "thread_ts": thread_ts, "user": user, "text": text, "attempts": 0}
    later = not may_message_people(deps, now)
    if later:
        note["look"] = False  # not tried yet: nothing to look for
    with transaction(deps.session_factory) as session:
        claim = q.claim_effect(session=session, key=key, now=now, lease=SEND_LEASE)
        if claim is q.Claim.NEW:
            q.set_effect_detail(session=session, key=key, detail=json.dumps(note, ensure_ascii=False))
        elif claim is q.Claim.RESUMED:
            note = json.loads(q.find_effect(session=session, key=key).detail)
        else:
            return False
        if later:  # people hear it in working time: the sweep sends it from the opening
            q.release_effect(session=session, key=key, now=now)
    if later:
        return False
    return _post_once(deps, key, note, now, look_first=claim is q.Claim.RESUMED and note.get("look", True))


def _post_once(deps: Deps, key: str, note: dict, now: datetime, *, look_first: bool) -> bool:
    try:
        channel = note["channel"] or deps.notifier.open_dm(note["user"])
        ts = deps.notifier.lookup_by_key(channel, key, thread_ts=note["thread_ts"]) if look_first else None
        if ts is None:
            ts = deps.notifier.post_message(channel, text=note["text"], thread_ts=note["thread_ts"], key=key)
    except Exception as exc:  # noqa: BLE001 - whatever failed, the next sweep tries again
        definitive, why = _failure(exc)
        note["attempts"] = note.get("attempts", 0) + 1
        note["refusals"] = note.get("refusals", 0) + definitive  # only refusals count toward giving up
        note["look"] = not definitive  # refused: it is not in Slack, the next attempt need not look for it
        stop = note["refusals"] >= GIVE_UP_AFTER or (definitive and why in REFUSED_AS_BUILT)
        log.error("message %s failed (attempt %d: %s)%s", key, note["attempts"], why, "; given up" if stop else "")
        with transaction(deps.session_factory) as session:
            if stop:
                q.finish_effect(session=session, key=key, now=now, detail=f"given up: {why}")
            else:
                q.set_effect_detail(session=session, key=key, detail=json.dumps(note, ensure_ascii=False))
                q.renew_effect(session=session, key=key, until=now)  # free for the next sweep
        return False
    with transaction(deps.session_factory) as session:
        q.finish_effect(session=session, key=key, now=deps.clock.now(), detail=f"{channel} {ts}")
    return True


def _retry_once_messages(deps: Deps, now: datetime) -> None:
    """One-off messages whose send failed, or whose sender died: once more."""
    with transaction(deps.session_factory) as session:
        keys = [e.key for e in q.list_unfinished_effects(session=session, prefixes=ONCE_PREFIXES, now=now)]
    for key in keys:
        with transaction(deps.session_factory) as session:
            if q.claim_effect(session=session, key=key, now=now, lease=SEND_LEASE) is not q.Claim.RESUMED:
                continue
            note = json.loads(q.find_effect(session=session, key=key).detail)
        _post_once(deps, key, note, now, look_first=note.get("look", True))  # a crashed sender left no "look": look


def _fmt(deps: Deps, at: datetime) -> str:
    return fmt_time(at, deps.timezone)


def _nudge_text(deps: Deps, thread: f.OpenThread, head: str = "followup.nudge", **params: object) -> str:
    """The owner's reminder in their thread: ``head`` (mentioning the owner
    of these open items), then what of theirs awaits an answer and what a fix."""
    message = thread.message
    owner = deps.routing.owner_named(thread.items_owner)
    parts = [deps.catalog.t(head, owner=f"<@{contact_for(deps, owner)}>" if owner else thread.items_owner, **params)]
    if thread.awaiting:
        parts.append(deps.catalog.t("followup.nudge_awaiting", count=thread.awaiting, deadline=_fmt(deps, message.deadline)))
    if thread.oldest_unfixed_at is not None:
        parts.append(deps.catalog.t("followup.nudge_unfixed", since=_fmt(deps, thread.oldest_unfixed_at)))
    return "\n".join(parts)


def _escalation_message(deps: Deps, escalated: Sequence[tuple[f.OpenThread, Step]], recipient: str) -> tuple[str, list[dict]]:
    """The consolidated escalation DM: the threads quiet longest first, with
    their facts, as many as one message shows (``escalation_message``); the
    others are counted, and ``/reject next`` lists them all. The facts — who
    was nudged when, the thread's link — are read only for the threads
    shown, in one query: a manager may have thousands of quiet threads."""
    ordered = sorted(escalated, key=lambda pair: (pair[1].since, pair[1].level, pair[1].key))
    shown: list[int] = []
    for thread, _ in ordered:
        if thread.message.id not in shown and len(shown) < ESCALATION_THREADS_WITH_BUTTONS:
            shown.append(thread.message.id)
    with transaction(deps.session_factory) as session:
        nudges = [u for u in f.list_follow_ups(session=session, thread_ids=shown) if u.kind == StepKind.NUDGE and u.ts]
    facts = [_escalation_facts(deps, thread, step, nudges) for thread, step in ordered if thread.message.id in shown]
    total = len({thread.message.id for thread, _ in ordered})
    return escalation_message(facts, deps.catalog_for(recipient), deps.timezone, total=total)


def _escalation_facts(deps: Deps, thread: f.OpenThread, step: Step, nudges: Sequence[FollowUp]) -> EscalationThread:
    message = thread.message
    owner = deps.routing.owner_named(thread.items_owner)
    earlier = [u for u in nudges if u.thread_id == message.id and key_owner(u.key) == thread.owner]
    try:
        link = deps.notifier.permalink(message.channel, message.ts)
    except Exception:  # noqa: BLE001 - an escalation without the link beats one held back for it
        log.warning("no permalink for thread %s; the escalation goes without it", message.id, exc_info=True)
        link = ""
    return EscalationThread(
        thread_id=message.id, owner=thread.items_owner, owner_user=contact_for(deps, owner) if owner else "", digest_day=message.digest_day,
        awaiting=thread.awaiting, oldest_unfixed_at=thread.oldest_unfixed_at, since=step.since, level=step.level,
        nudged=tuple((u.recipient, u.sent_at) for u in earlier), link=link,
    )


def _dispute_line(deps: Deps, item: Item, now: datetime, cat: Catalog) -> str:
    return cat.t("followup.dispute_line", order=item.order_no, owner=item.owner or "—", agent=item.callback_agent or "—", since=_fmt(deps, item.updated_at))


# --- open items follow their owner -------------------------------------------------


def contact_for(deps: Deps, owner: Owner, session: Session | None = None, *, stand_ins: Mapping[str, str] | None = None) -> str:
    """The Slack user the bot mentions or DMs for ``owner`` — in nudges (and
    their daily cap), the escalation notice and DM, the handover notice: their
    stand-in while one is in force (``/reject away``), else the owner. The one
    place this choice is made. ``stand_ins``: those in force now, read once
    (``standins.in_force_by_owner_user``) for many owners at a time."""
    if stand_ins is not None:
        return stand_ins.get(owner.user) or owner.user
    if session is None:
        with transaction(deps.session_factory) as session:
            return contact_for(deps, owner, session)
    return standins.stand_in_for(session=session, owner_user=owner.user, now=deps.clock.now()) or owner.user


def thread_owner(deps: Deps, session: Session, message: DigestMessage) -> Owner | None:
    """Whoever answers for a digest thread now: the owner it names while the
    routing file has them, else whoever now covers its open items (pages
    that kept an old name, or before the sweep's ``follow_owners``)."""
    owner = deps.routing.owner_named(message.owner)
    if owner is not None:
        return owner
    for stored, category, branch in f.list_thread_open_item_keys(session=session, digest_day=message.digest_day, owner=message.owner):
        owner = deps.routing.owner_now(stored, category, branch)
        if owner is not None:
            return owner
    return None


def follow_owners(deps: Deps, now: datetime) -> int:
    """Open items belong to whoever now covers them (``Routing.owner_now``):
    after an owner was renamed, replaced or narrowed in the routing file, the
    items name the new owner; a thread whose open items all went to one new
    owner names it on every page (one version newer: the next refresh shows
    it). Every owner who now has open items in a thread named for someone
    else is mentioned in it once (``handover:<first page>:<owner>``, in
    working time). The items stay on their messages. When the pages keep
    their name — the open items went to several owners (a split), or the new
    owner already has a digest that day — each owner is followed up for
    their own items in that thread (``_open_work``). Returns the threads
    whose open items went to a new owner."""
    routing = deps.routing  # read each time: the routing may be swapped at runtime
    handed: list[tuple[int, Owner, str]] = []
    with transaction(deps.session_factory) as session:
        moves: dict[str, list[int]] = defaultdict(list)
        names: dict[tuple[date, str], set[str]] = defaultdict(set)
        for posted in f.list_open_posted_items(session=session):
            owner = routing.owner_now(posted.owner, posted.category, posted.branch)
            name = owner.name if owner is not None else posted.message_owner  # nobody covers it: it stays
            names[(posted.digest_day, posted.message_owner)].add(name)
            if owner is not None and owner.name != posted.owner:
                moves[owner.name].append(posted.item_id)
        for name, item_ids in moves.items():
            f.hand_over_items(session=session, item_ids=item_ids, owner=name)
            log.info("%d open item(s) now belong to %s, who covers them now", len(item_ids), name)
        for (day, before), now_names in sorted(names.items()):
            if now_names == {before}:
                continue
            first = q.find_first_page(session=session, digest_day=day, owner=before)
            if len(now_names) > 1:
                log.info("the open items of %s's digest of %s now belong to %s: the pages keep their name", before, day, sorted(now_names))
            elif not f.hand_over_thread(session=session, digest_day=day, owner=before, to=next(iter(now_names))):
                log.info("%s already has a digest of %s: the pages of %s's keep their name", next(iter(now_names)), day, before)
            if first is not None:
                handed += [(first.id, routing.owner_named(name), before) for name in sorted(now_names - {before})]
    for first, owner, before in handed:
        _announce_handover(deps, first, owner, before, now)
    return len({first for first, _, _ in handed})


def _announce_handover(deps: Deps, thread_id: int, owner: Owner, before: str, now: datetime) -> None:
    with transaction(deps.session_factory) as session:
        message = f.find_thread(session=session, thread_id=thread_id)
    if message is None or not message.ts:
        return
    text = deps.catalog.t("ladder.handed_over", owner=f"<@{contact_for(deps, owner)}>", name=owner.name, before=before)
    _send_once(deps, f"handover:{thread_id}:{owner.name}", channel=message.channel, thread_ts=message.ts, text=text, now=now)


# --- the calendar ------------------------------------------------------------------


def _check_calendar(deps: Deps, now: datetime) -> int | None:
    """From 1 December, warn loudly when next year has no official calendar data."""
    local = now.astimezone(deps.timezone).date()
    if (local.month, local.day) < CALENDAR_WARNING_FROM:
        return None
    year = local.year + 1
    if deps.calendar.has_data_for(year):
        return None
    _warn_calendar(deps, now, year)
    return year


def _warn_calendar(deps: Deps, now: datetime, year: int) -> None:
    """Logged at every sweep; the CS lead is told once a working day, in
    working time (the first sweep from the opening), never at night."""
    log.error("the China working-day calendar has no official data for %s: upgrade the chinesecalendar package", year)
    if not may_message_people(deps, now):
        return
    day = now.astimezone(deps.timezone).date().isoformat()
    text = deps.catalog_for(deps.routing.cs_lead).t("followup.calendar_missing", year=year)
    _send_once(deps, f"calendar:{year}:{day}", user=deps.routing.cs_lead, text=text, now=now)



# --- owner-side signals ---------------------------------------------------------------


def acknowledge(deps: Deps, *, event_id: str, user: str, channel: str, ts: str) -> None:
    """👀 on a digest message by the owner side: reminders pause until the
    dispute deadline (the deadline itself still applies)."""
    now = deps.clock.now()
    with transaction(deps.session_factory) as session:
        message = q.find_digest_message(session=session, channel=channel, ts=ts)
        if message is None or not q.record_once(session=session, key=f"event:{event_id}", now=now):
            return
        allowed = _owner_side_of_thread(deps, session, user, message)
        if allowed:
            first = message if message.page == 0 else q.find_first_page(session=session, digest_day=message.digest_day, owner=message.owner)
            f.acknowledge_thread(session=session, message_id=first.id, user=user, now=now)
    reply_to = ReplyTo(user=user, channel=channel)
    if allowed:
        deps.notifier.reply(reply_to, deps.catalog_for(user).t("followup.acknowledged", deadline=_fmt(deps, message.deadline)))
    else:
        deps.notifier.reply(reply_to, deps.catalog_for(user).t("followup.acknowledge_not_yours", owner=message.owner))


def _owner_side(deps: Deps, session: Session, user: str, owner: Owner) -> bool:
    """``user`` is on ``owner``'s side: the owner, a delegate, a manager, or
    their stand-in in force now."""
    stand_ins = standins.in_force_by_owner_user(session=session, now=deps.clock.now())
    return deps.routing.role_for(user, owner, stand_ins) in LOGISTICS


def note_thread_reply(deps: Deps, *, user: str, channel: str, thread_ts: str) -> bool:
    """A reply by the owner side in a digest thread counts as activity."""
    now = deps.clock.now()
    with transaction(deps.session_factory) as session:
        message = q.find_digest_message(session=session, channel=channel, ts=thread_ts)
        if message is None:
            return False
        if not _owner_side_of_thread(deps, session, user, message):
            return False
        f.touch_thread(session=session, message_id=message.id, now=now)
    return True


# --- acting from the escalation DM ------------------------------------------------------


def _thread_owners(deps: Deps, session: Session, message: DigestMessage) -> list[Owner]:
    """Whoever ``thread_owner`` names, and the owners of the thread's open
    items now (several, in a thread split between owners)."""
    owners = [thread_owner(deps, session, message)]
    for stored, category, branch in f.list_thread_open_item_keys(session=session, digest_day=message.digest_day, owner=message.owner):
        owners.append(deps.routing.owner_now(stored, category, branch))
    return [o for o in owners if o is not None]


def _owner_side_of_thread(deps: Deps, session: Session, user: str, message: DigestMessage) -> bool:
    """``user`` is on the side of one of the thread's owners (its quiet
    period and 👀 are the whole thread's)."""
    return any(_owner_side(deps, session, user, owner) for owner in _thread_owners(deps, session, message))


def _acting_for(deps: Deps, session: Session, message: DigestMessage, actor: str) -> set[str]:
    """The owners of the thread's open items (and whoever ``thread_owner``
    names) that ``actor`` acts for as a delegate or manager: in a thread split
    between owners, each chain acts for its own owner's items."""
    return {o.name for o in _thread_owners(deps, session, message) if deps.routing.role_for(actor, o) in ACTING_FOR_OWNER}


def _refusal(deps: Deps, session: Session, message: DigestMessage | None, actor: str) -> tuple[str, dict] | None:
    """Why ``actor`` may not use an escalation DM's buttons on this thread (a
    catalog key and its values), or None: its owners' delegates and managers may."""
    if message is None:
        return "answers.stale_button", {}
    if not _acting_for(deps, session, message, actor):
        return "followup.buttons_not_yours", {"owner": message.owner}
    return None


def remind_owner(deps: Deps, *, actor: str, thread_id: int, reply_to: ReplyTo) -> bool:
    """Remind now: a reminder in the owner's thread mentioning the owner and
    saying who asked — at most once per thread and asker in each
    ``REMIND_EVERY`` window (a ledger key names the window). True when sent."""
    now = deps.clock.now()
    cat = deps.catalog_for(reply_to.user)
    window = int(now.timestamp()) // int(REMIND_EVERY.total_seconds())
    key = f"remind:{thread_id}:{actor}:{window}"
    thread, first = None, False
    with transaction(deps.session_factory) as session:
        message = f.find_thread(session=session, thread_id=thread_id)
        refusal = _refusal(deps, session, message, actor)
        if refusal is None:  # the reminder is for the owner(s) ``actor`` acts for
            acting = _acting_for(deps, session, message, actor)
            found = f.list_open_threads(session=session, digest_day=message.digest_day, owner=message.owner)
            thread = next((t for t in found if t.items_owner in acting), found[0] if found else None)
            first = thread is not None and q.record_once(session=session, key=key, now=now)
    if refusal is not None:
        deps.notifier.reply(reply_to, cat.t(refusal[0], **refusal[1]))
        return False
    if thread is None:
        deps.notifier.reply(reply_to, cat.t("followup.nothing_open", owner=message.owner, day=message.digest_day.isoformat()))
        return False
    if not first:
        deps.notifier.reply(reply_to, cat.t("followup.remind_repeat", owner=message.owner, minutes=int(REMIND_EVERY.total_seconds() // 60)))
        return False
    text = _nudge_text(deps, thread, "followup.remind", manager=f"<@{actor}>")
    try:
        deps.notifier.post_message(message.channel, text=text, thread_ts=message.ts, key=key)
    except Exception:
        with transaction(deps.session_factory) as session:  # not sent: the next click may try again
            f.release_once(session=session, key=key)
        raise
    deps.notifier.reply(reply_to, cat.t("followup.remind_sent", owner=message.owner))
    return True


def confirm_for_owner(deps: Deps, *, actor: str, thread_id: int, reply_to: ReplyTo) -> Answer | None:
    """Confirm all for them: every item still awaiting an answer on the
    thread's digest messages (that day, that owner) whose owner the clicker
    acts for (a thread split between owners: only that owner's) is confirmed
    in the clicker's name, through the lifecycle table like any other confirmation."""
    item_ids: list[int] = []
    with transaction(deps.session_factory) as session:
        message = f.find_thread(session=session, thread_id=thread_id)
        refusal = _refusal(deps, session, message, actor)
        if refusal is None:  # in a thread split between owners, only the items of those ``actor`` acts for
            acting = _acting_for(deps, session, message, actor)
            awaiting = f.list_thread_items(session=session, digest_day=message.digest_day, owner=message.owner, status=Status.AWAITING)
            page_owner = thread_owner(deps, session, message)
            whose = [deps.routing.owner_now(i.owner, i.category, i.branch) or page_owner for i in awaiting]
            item_ids = [i.id for i, o in zip(awaiting, whose, strict=True) if o is not None and o.name in acting]
    if refusal is not None:
        deps.notifier.reply(reply_to, deps.catalog_for(reply_to.user).t(refusal[0], **refusal[1]))
        return None
    if not item_ids:
        deps.notifier.reply(reply_to, deps.catalog_for(reply_to.user).t("followup.nothing_awaiting", owner=message.owner, day=message.digest_day.isoformat()))
        return None
    return act_on_items(deps, actor=actor, action=Action.CONFIRM, surface=Surface.BUTTON, reply_to=reply_to, item_ids=item_ids)
