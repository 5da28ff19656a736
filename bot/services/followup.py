"""The sweep: deadlines, nudges, escalations and dispute follow-ups that are
due now — each exactly once, however many sweeps, processes or restarts.

Every follow-up message is claimed in the ``follow_up`` table under its key
before it is sent (``nudge:<thread>:0:<quiet since>``); a claim whose send
fails is released so that the next sweep tries again. Escalations to one
manager in one sweep go out as one consolidated DM, and nobody gets more than
the policy's daily cap of follow-up messages.

Errors: none of its own; a missing calendar year is reported, not raised.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from slack_sdk.errors import SlackApiError

from bot.core.followup import DisputeFacts, LadderCut, Step, StepKind, ThreadFacts, dispute_ladder, due_steps, thread_ladder, within_cap
from bot.core.lifecycle import Action, Role, Status, Surface, decide
from bot.core.routing import FollowUpPolicy
from bot.core.workcal import CalendarDataMissing, local_datetime
from bot.core.worktime import WorkingHours
from bot.gateway import ReplyTo
from bot.services.deps import Deps
from bot.services.digest import refresh_digest_messages
from storage import followups as f
from storage import queries as q
from storage.db import transaction
from storage.models import DigestMessage, FollowUp, Item

log = logging.getLogger(__name__)
CALENDAR_WARNING_FROM = (12, 1)  # from 1 December, warn about next year's missing calendar
DISPUTE_HEADS = {StepKind.DISPUTE_NUDGE: "followup.dispute_nudge_head", StepKind.DISPUTE_ESCALATE: "followup.dispute_escalate_head"}


@dataclass
class SweepReport:
    deemed: int = 0
    sent: dict[str, int] = field(default_factory=dict)  # step kind -> messages sent
    held: int = 0  # over the daily cap, left for tomorrow
    calendar_problem: int | None = None  # the year without calendar data, if any


def working_hours(deps: Deps) -> WorkingHours:
    timings = deps.routing.timings
    return WorkingHours(deps.calendar, timings.work_start, timings.work_end, deps.timezone)


def sweep(deps: Deps, *, now: datetime) -> SweepReport:
    """Do everything that is due at ``now``; safe to repeat and to run concurrently."""
    report = SweepReport()
    report.calendar_problem = _check_calendar(deps, now)
    report.deemed = _deem_overdue(deps, now)
    steps, threads, items, missing_year = _due(deps, now)
    if missing_year is not None and report.calendar_problem is None:
        report.calendar_problem = missing_year
        _warn_calendar(deps, now, missing_year)
    if _in_working_hours(deps, now):  # reminders wait for working hours, however late they are
        _send(deps, steps, threads, items, now, report)
    return report


def _in_working_hours(deps: Deps, now: datetime) -> bool:
    try:
        return working_hours(deps).is_working_time(now)
    except CalendarDataMissing:
        return False


# --- deadlines ---------------------------------------------------------------------


def _deem_overdue(deps: Deps, now: datetime) -> int:
    decision = decide(Status.AWAITING, Action.DEEM, Role.SYSTEM)
    with transaction(deps.session_factory) as session:
        items = f.list_overdue_items(session=session, now=now)
        changed = q.transition_many(
            session=session, item_ids=[i.id for i in items], expected=Status.AWAITING,
            change=q.Change(Action.DEEM, decision.new_status, "system", Role.SYSTEM, Surface.SCHEDULER), now=now,
        )
        messages = {i.digest_message_id for i in items if i.id in set(changed) and i.digest_message_id}
    refresh_digest_messages(deps, messages)
    return len(changed)


# --- what is due -------------------------------------------------------------------


def _policy(deps: Deps, message: DigestMessage | None, owner_name: str | None) -> FollowUpPolicy:
    """The policy in force when the thread was posted; the file's for older threads."""
    if message is not None and message.policy:
        return FollowUpPolicy.from_json(message.policy)
    owner = deps.routing.owner_named(owner_name or "")
    return deps.routing.policy_for(owner) if owner else deps.routing.follow_up


def _due(deps: Deps, now: datetime) -> tuple[list[Step], dict[int, f.OpenThread], dict[int, Item], int | None]:
    """Steps due now, the threads and disputed items they are about, and a
    year whose missing calendar kept some ladder from being computed."""
    hours = working_hours(deps)
    steps: list[Step] = []
    missing: int | None = None

    def ladder(compute, *args) -> list[Step]:
        nonlocal missing
        try:
            return compute(*args)
        except LadderCut as cut:  # the steps before next year still count
            missing = cut.year
            return cut.steps
        except CalendarDataMissing as exc:  # this ladder only; the others go on
            missing = exc.year
            return []

    with transaction(deps.session_factory) as session:
        threads = {t.message.id: t for t in f.list_open_threads(session=session)}
        for thread in threads.values():
            message = thread.message
            owner = deps.routing.owner_named(message.owner)
            if owner is None:
                log.warning("owner %r of thread %s is no longer in the routing file: not followed up", message.owner, message.id)
                continue
            facts = ThreadFacts(
                thread_id=message.id, owner_user=owner.user, escalation=owner.escalation,
                posted_at=message.posted_at or message.created_at, deadline=message.deadline,
                awaiting=thread.awaiting, oldest_unfixed_at=thread.oldest_unfixed_at,
                last_activity_at=message.last_activity_at, acknowledged_at=message.acknowledged_at,
            )
            steps += ladder(thread_ladder, facts, _policy(deps, message, message.owner), hours)
        items = {i.id: i for i in f.list_disputed_items(session=session)}
        for item in items.values():
            facts = DisputeFacts(item.id, item.updated_at, deps.routing.agent_user(item.callback_agent), deps.routing.cs_lead)
            steps += ladder(dispute_ladder, facts, _policy(deps, None, item.owner), hours)
        done = f.list_done_keys(session=session, keys=[s.key for s in steps])
    return due_steps(steps, now=now, done=done), threads, items, missing


# --- sending -----------------------------------------------------------------------


def _claim(deps: Deps, steps: Sequence[Step], now: datetime) -> list[Step]:
    claimed = []
    with transaction(deps.session_factory) as session:
        for step in steps:
            thread = step.subject if step.kind in (StepKind.NUDGE, StepKind.ESCALATE) else None
            item = None if thread else step.subject
            row = FollowUp(key=step.key, kind=step.kind, thread_id=thread, item_id=item, level=step.level, recipient=step.recipient, sent_at=now)
            if f.claim_follow_up(session=session, follow_up=row):
                claimed.append(step)
    return claimed


def _release(deps: Deps, steps: Sequence[Step]) -> None:
    with transaction(deps.session_factory) as session:
        f.release_follow_ups(session=session, keys=[s.key for s in steps])


def _mark_sent(deps: Deps, steps: Sequence[Step], channel: str, ts: str) -> None:
    with transaction(deps.session_factory) as session:
        f.set_follow_ups_sent(session=session, keys=[s.key for s in steps], channel=channel, ts=ts)


def _deliver(deps: Deps, steps: Sequence[Step], now: datetime, send) -> bool:
    """Claim ``steps``, send one message for the claimed ones, record it; on a
    Slack error release the claims for the next sweep."""
    claimed = _claim(deps, steps, now)
    if not claimed:
        return False
    try:
        channel, ts = send(claimed)
    except SlackApiError as exc:
        log.error("follow-up %s failed (%s); will retry next sweep", [s.key for s in claimed], exc.response.get("error"))
        _release(deps, claimed)
        return False
    _mark_sent(deps, claimed, channel, ts)
    return True


def _send(deps: Deps, due: list[Step], threads: dict[int, f.OpenThread], items: dict[int, Item], now: datetime, report: SweepReport) -> None:
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
    cat = deps.catalog
    for (kind, recipient), steps in grouped.items():
        if kind is StepKind.NUDGE:
            for step in steps:
                thread = threads[step.subject].message
                text = _nudge_text(deps, threads[step.subject])
                if _deliver(deps, [step], now, lambda _s, t=thread, x=text: (t.channel, deps.notifier.post_message(t.channel, text=x, thread_ts=t.ts))):
                    report.sent[kind] = report.sent.get(kind, 0) + 1
        elif kind is StepKind.ESCALATE:
            def send_escalation(claimed, recipient=recipient):
                text = "\n\n".join(_escalation_text(deps, threads[s.subject], s, now) for s in claimed)
                channel = deps.notifier.open_dm(recipient)
                return channel, deps.notifier.post_message(channel, text=cat.t("followup.escalation_head", count=len(claimed)) + "\n\n" + text)

            if _deliver(deps, steps, now, send_escalation):
                report.sent[kind] = report.sent.get(kind, 0) + 1
                for step in steps:
                    _tell_owner(deps, threads[step.subject].message, step, now)
        else:
            def send_dispute(claimed, kind=kind, recipient=recipient):
                lines = [_dispute_line(deps, items[s.subject], now) for s in claimed]
                head = cat.t(DISPUTE_HEADS[kind], count=len(claimed))
                channel = deps.notifier.open_dm(recipient)
                return channel, deps.notifier.post_message(channel, text=head + "\n" + "\n".join(lines))

            if _deliver(deps, steps, now, send_dispute):
                report.sent[kind] = report.sent.get(kind, 0) + 1


def _tell_owner(deps: Deps, message: DigestMessage, step: Step, now: datetime) -> None:
    """Nobody is escalated behind their back: say so in the owner's thread."""
    with transaction(deps.session_factory) as session:
        first = q.record_once(session=session, key=f"notice:{step.key}", now=now)
    if first:
        owner = deps.routing.owner_named(message.owner)
        deps.notifier.post_message(
            message.channel, thread_ts=message.ts,
            text=deps.catalog.t("followup.escalated_notice", owner=f"<@{owner.user}>" if owner else message.owner, manager=f"<@{step.recipient}>", level=step.level),
        )


def _fmt(deps: Deps, at: datetime) -> str:
    return at.astimezone(deps.timezone).strftime("%m-%d %H:%M")


def _nudge_text(deps: Deps, thread: f.OpenThread) -> str:
    message = thread.message
    owner = deps.routing.owner_named(message.owner)
    parts = [deps.catalog.t("followup.nudge", owner=f"<@{owner.user}>" if owner else message.owner)]
    if thread.awaiting:
        parts.append(deps.catalog.t("followup.nudge_awaiting", count=thread.awaiting, deadline=_fmt(deps, message.deadline)))
    if thread.oldest_unfixed_at is not None:
        parts.append(deps.catalog.t("followup.nudge_unfixed", since=_fmt(deps, thread.oldest_unfixed_at)))
    return "\n".join(parts)


def _escalation_text(deps: Deps, thread: f.OpenThread, step: Step, now: datetime) -> str:
    message = thread.message
    owner = deps.routing.owner_named(message.owner)
    with transaction(deps.session_factory) as session:
        earlier = [u for u in f.list_follow_ups(session=session, thread_ids=[message.id]) if u.kind == StepKind.NUDGE and u.ts]
    nudged = ", ".join(f"<@{u.recipient}> {_fmt(deps, u.sent_at)}" for u in earlier) or "—"
    try:
        link = deps.notifier.permalink(message.channel, message.ts)
    except SlackApiError:
        link = ""
    return deps.catalog.t(
        "followup.escalation_thread", owner=message.owner, user=f"<@{owner.user}>" if owner else "",
        day=message.digest_day.isoformat(), awaiting=thread.awaiting,
        unfixed=deps.catalog.t("followup.unfixed_since", since=_fmt(deps, thread.oldest_unfixed_at)) if thread.oldest_unfixed_at else "",
        since=_fmt(deps, step.since), nudged=nudged, level=step.level, link=link,
    )


def _dispute_line(deps: Deps, item: Item, now: datetime) -> str:
    return deps.catalog.t("followup.dispute_line", order=item.order_no, owner=item.owner or "—", agent=item.callback_agent or "—", since=_fmt(deps, item.updated_at))


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
    log.error("the China working-day calendar has no official data for %s: upgrade the chinesecalendar package", year)
    day = now.astimezone(deps.timezone).date().isoformat()
    with transaction(deps.session_factory) as session:
        first = q.record_once(session=session, key=f"calendar:{year}:{day}", now=now)
    if first:
        deps.notifier.send_dm(deps.routing.cs_lead, text=deps.catalog.t("followup.calendar_missing", year=year))



# --- owner-side signals ---------------------------------------------------------------


def acknowledge(deps: Deps, *, event_id: str, user: str, channel: str, ts: str) -> None:
    """👀 on a digest message by the owner side: reminders pause until the
    dispute deadline (the deadline itself still applies)."""
    now = deps.clock.now()
    with transaction(deps.session_factory) as session:
        message = q.find_digest_message(session=session, channel=channel, ts=ts)
        if message is None or not q.record_once(session=session, key=f"event:{event_id}", now=now):
            return
        owner = deps.routing.owner_named(message.owner)
        allowed = owner is not None and owner.role_of(user) is not None
        if allowed:
            first = message if message.page == 0 else q.find_first_page(session=session, digest_day=message.digest_day, owner=message.owner)
            f.acknowledge_thread(session=session, message_id=first.id, user=user, now=now)
    reply_to = ReplyTo(user=user, channel=channel)
    if allowed:
        deps.notifier.reply(reply_to, deps.catalog.t("followup.acknowledged", deadline=_fmt(deps, message.deadline)))
    else:
        deps.notifier.reply(reply_to, deps.catalog.t("followup.acknowledge_not_yours", owner=message.owner))


def note_thread_reply(deps: Deps, *, user: str, channel: str, thread_ts: str) -> bool:
    """A reply by the owner side in a digest thread counts as activity."""
    now = deps.clock.now()
    with transaction(deps.session_factory) as session:
        message = q.find_digest_message(session=session, channel=channel, ts=thread_ts)
        if message is None:
            return False
        owner = deps.routing.owner_named(message.owner)
        if owner is None or owner.role_of(user) is None:
            return False
        f.touch_thread(session=session, message_id=message.id, now=now)
    return True
