"""Posting the daily digest, exactly once per working day, and never quietly failing.

The ledger key ``digest:<day>`` is claimed in the same transaction that plans
the day's messages (one ``digest_message`` row per message, items assigned
and moved to *awaiting*). Messages are then posted one by one:

- **Exactly once.** Each message carries the key ``digest:<day>:<message id>``
  in its Slack metadata. Its try is counted in the database *before* the post
  (``in_doubt``); a message that an earlier try may have posted (killed
  mid-post, or Slack's answer lost) is first looked up by its key (from a
  minute before that try: one call), and only posted when it is not there. A
  try Slack definitely refused needs no lookup. Its ``ts`` is stored as soon
  as it is known.
- **One run per page.** Each try at a page is claimed first
  (``q.claim_message_post``, for ``PAGE_LEASE``, longer than any one try), so
  two runs (replicas, or the CLI beside the ticker) never post the same page.
  The day's claim is renewed after every try, failed or not, and only by the
  run holding it: a run whose claim another run took over stops, and can
  neither release nor finish that run's claim.
- **One failure stops nothing else.** A Slack error on one message is recorded
  on it (``attempts``, ``last_error``) and the others are still posted, and
  the CS lead's list of unrouted records still sent. While anything is
  pending the claim is not finished but released, so each run (the ticker's,
  every minute) tries again. Once a message has failed ``TROUBLE_AFTER``
  tries (a failed lookup of an earlier try counts as one), the CS lead gets
  one DM (``digest-trouble:<day>``) saying which and why.
  ``DigestOutcome.problem`` says what is still pending.
- **Nothing left behind at midnight.** A page still pending when its day
  ends is posted by the next working day's runs: each run from the earlier
  of the digest's time and the start of work first resumes every unfinished
  ``digest:<day>`` claim of an earlier day, and reports its pending pages in
  ``problem`` until they are posted.
- **A full window.** A message's dispute deadline is set when it is posted,
  from that moment (``bot.core.worktime.dispute_deadline``, ``min_window``
  of working time at least); its items get that deadline once it is posted.
- **Never silent.** A warning to the CS lead is scheduled in Slack itself
  (``chat.scheduleMessage``, no metadata) for each digest's time + 30 min,
  and deleted once that digest is fully posted. The rule: when a day's digest
  is claimed (planned or resumed), the next working day's warning is
  scheduled (``digest-watch:<day>``, once). A run before the digest's time on
  a working day schedules that day's own warning if it has none, so the
  first digest after installing is watched as well when the bot was started
  before its time. If no bot process runs at all, the warning still arrives.

Errors: none for a missing calendar year: the digest pauses
(``DigestState.PAUSED``, with a ``problem``). Slack errors
on a message, the unrouted DM or the warning are caught, recorded and retried
by the next run.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum

from slack_sdk.errors import SlackApiError

from bot.core.digest import PageContext, build_digest, digest_message, paginate, unrouted_message
from bot.core.lifecycle import Action, Role, Status, Surface, decide
from bot.core.routing import Owner
from bot.core.workcal import CalendarDataMissing, local_datetime
from bot.core.worktime import WorkingHours, dispute_deadline
from bot.gateway import SlackUnavailable
from bot.services import calendar
from bot.services.deps import Deps
from storage import followups as f
from storage import queries as q
from storage.db import transaction
from storage.models import DigestMessage

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=10)  # a run's claim on a day's digest, renewed after every page it tries
# A run's claim on one page while it tries to post it: longer than any one try
# can take (the gateway's retries and lookups are bounded: well under a minute,
# plus rate-limit waits), so no other run posts that page while a slow try may
# still land. A run killed mid-post leaves its page to the next run after this.
PAGE_LEASE = timedelta(minutes=15)
LATE_AFTER = timedelta(minutes=15)
TROUBLE_AFTER = 3  # failed tries of a message before the CS lead is told
WATCH_AFTER = timedelta(minutes=30)  # the scheduled warning: the digest's time + this
POST_MARGIN = timedelta(minutes=1)  # a message's window counts from a little after its try: it appears within seconds
SLACK_ERRORS = (SlackApiError, SlackUnavailable)


class DigestState(StrEnum):
    POSTED = "posted"
    NOT_WORKING_DAY = "not_working_day"
    TOO_EARLY = "too_early"
    ALREADY_POSTED = "already_posted"
    IN_PROGRESS = "in_progress"
    PAUSED = "paused"  # no working-day calendar for a year the digest needs (``bot.services.calendar``)


@dataclass
class DigestOutcome:
    state: DigestState
    day: date
    messages: int = 0
    items: int = 0
    unrouted: int = 0
    late: bool = False
    owners: dict[str, int] = field(default_factory=dict)
    problem: str | None = None  # set when something due is still not posted after this run
    pending: int = 0  # digest messages still unposted after this run
    missing_year: int | None = None  # PAUSED: the year without a working-day calendar


def digest_key(day: date) -> str:
    return f"digest:{day.isoformat()}"


def message_key(day: date, message_id: int) -> str:
    """The side-effect key a digest message carries in its Slack metadata."""
    return f"digest:{day.isoformat()}:{message_id}"


def watch_key(day: date) -> str:
    return f"digest-watch:{day.isoformat()}"


def _error_text(error: Exception) -> str:
    if isinstance(error, SlackApiError):
        return str(error.response.get("error") or f"HTTP {error.response.status_code}")
    if isinstance(error, SlackUnavailable):
        return f"Slack unavailable ({error.reason})"
    return type(error).__name__


def post_daily_digest(deps: Deps, *, now: datetime) -> DigestOutcome:
    """Post today's digest if it is due and not yet posted, or what is still
    pending of it, and first what is still pending of earlier days' digests;
    safe to call any number of times, from any number of processes. Without
    a working-day calendar for a year it needs, it pauses instead (from the
    digest's time: the CS lead and the channel are told once a day)."""
    try:
        return _post_daily_digest(deps, now=now)
    except CalendarDataMissing as missing:
        local = now.astimezone(deps.timezone)
        if local.time() < deps.routing.timings.digest_at:
            return DigestOutcome(DigestState.TOO_EARLY, local.date())  # nothing is due yet, whatever the day is
        log.error("digest of %s paused: %s", local.date(), missing)
        problem = calendar.pause(deps, now=now, year=missing.year)
        return DigestOutcome(DigestState.PAUSED, local.date(), problem=problem, missing_year=missing.year)


def _post_daily_digest(deps: Deps, *, now: datetime) -> DigestOutcome:
    tz = deps.timezone
    local = now.astimezone(tz)
    day = local.date()
    timings = deps.routing.timings
    if not deps.calendar.is_working_day(day):
        return DigestOutcome(DigestState.NOT_WORKING_DAY, day)
    earlier = _resume_earlier(deps, day=day, now=now) if local.time() >= min(timings.work_start, timings.digest_at) else []
    due_at = local_datetime(day, timings.digest_at, tz)
    if local < due_at:
        _watch(deps, day=day, now=now)  # e.g. the first digest after installing
        return _with_earlier(DigestOutcome(DigestState.TOO_EARLY, day), earlier)
    key = digest_key(day)

    with transaction(deps.session_factory) as session:
        claim = q.claim_effect(session=session, key=key, now=now, lease=LEASE)
        if claim is q.Claim.DONE:
            return _with_earlier(DigestOutcome(DigestState.ALREADY_POSTED, day), earlier)
        if claim is q.Claim.BUSY:
            return _with_earlier(DigestOutcome(DigestState.IN_PROGRESS, day), earlier)
        if claim is q.Claim.NEW:
            outcome = _plan(deps, session=session, day=day, now=now, late=now - due_at > LATE_AFTER)
        else:
            log.info("resuming the digest of %s left unfinished by an earlier run", day)
            outcome = DigestOutcome(DigestState.POSTED, day)

    try:
        _watch(deps, day=deps.calendar.next_working_day(day), now=now)
    except CalendarDataMissing as error:
        log.warning("no warning scheduled for the next digest: %s", error)

    delivery = _deliver(deps, day=day, holder=now, now=now, unrouted=True)
    outcome.messages, outcome.unrouted, outcome.pending = delivery.posted, delivery.unrouted, delivery.pending
    outcome = _with_earlier(outcome, earlier, delivery.problems)
    log.info("digest %s: %d items in %d messages, %d unrouted", day, outcome.items, outcome.messages, outcome.unrouted)
    return outcome


def _with_earlier(outcome: DigestOutcome, earlier: list[Delivery], problems: Sequence[str] = ()) -> DigestOutcome:
    """``outcome`` with what is still pending of earlier days' digests added."""
    outcome.pending += sum(d.pending for d in earlier)
    outcome.problem = "; ".join([p for d in earlier for p in d.problems] + list(problems)) or None
    if outcome.problem:
        log.warning("digest %s: %s", outcome.day, outcome.problem)
    return outcome


@dataclass
class Delivery:
    """What one run did for one day's digest."""

    posted: int = 0
    pending: int = 0
    unrouted: int = 0
    problems: list[str] = field(default_factory=list)


def _resume_earlier(deps: Deps, *, day: date, now: datetime) -> list[Delivery]:
    """Post what is still pending of the digests of days before ``day`` (a
    page Slack refused until the day ended): their claims stay unfinished
    until every page is posted. Each page's window counts from when it
    appears, as always."""
    with transaction(deps.session_factory) as session:
        keys = [e.key for e in q.list_unfinished_effects(session=session, prefixes=["digest:"], now=now)]
    deliveries = []
    for key in keys:
        try:
            earlier = date.fromisoformat(key.removeprefix("digest:"))
        except ValueError:  # not a day's digest claim
            continue
        if earlier >= day:
            continue
        with transaction(deps.session_factory) as session:
            if q.claim_effect(session=session, key=key, now=now, lease=LEASE) is not q.Claim.RESUMED:
                continue  # another run has it, or just finished it
        log.info("resuming the digest of %s, still unfinished on %s", earlier, day)
        deliveries.append(_deliver(deps, day=earlier, holder=now, now=now, unrouted=False))
    return deliveries


def _deliver(deps: Deps, *, day: date, holder: datetime, now: datetime, unrouted: bool) -> Delivery:
    """Post ``day``'s pending messages (and, with ``unrouted``, the CS lead's
    list of unrouted records) under the claim ``digest:<day>`` taken at
    ``holder``; finish the claim when all is done, else release it for the
    next run. A run that lost its claim to another leaves both to that one."""
    key = digest_key(day)
    delivery = Delivery()
    posted, pending, total, held = _post_pending(deps, day=day, key=key, holder=holder)
    delivery.posted = posted
    if pending:
        delivery.pending = len(pending)
        delivery.problems.append(deps.catalog.t(
            "delivery.problem", pending=len(pending), total=total, day=day.isoformat(), error=pending[0][1],
        ))
    if not held:
        return delivery
    unrouted_done = True
    if unrouted:
        try:
            delivery.unrouted, unrouted_done = _notify_unrouted(deps, day=day, now=now)
        except SLACK_ERRORS as error:
            unrouted_done = False
            log.warning("the unrouted records of %s were not sent to the CS lead: %s", day, _error_text(error))
            delivery.problems.append(deps.catalog.t("delivery.problem_unrouted", day=day.isoformat(), error=_error_text(error)))

    if not pending and unrouted_done:
        try:
            _unwatch(deps, day=day)  # before finishing: a crash in between leaves it to the next run
        except SLACK_ERRORS as error:
            log.warning("the warning for the digest of %s could not be deleted: %s", day, _error_text(error))
            delivery.problems.append(deps.catalog.t("delivery.problem_watch", day=day.isoformat(), error=_error_text(error)))
        else:
            with transaction(deps.session_factory) as session:
                q.finish_effect(session=session, key=key, now=deps.clock.now(), detail=f"{total} messages", holder=holder)
    if pending or not unrouted_done or delivery.problems:
        with transaction(deps.session_factory) as session:
            q.release_effect(session=session, key=key, now=deps.clock.now(), holder=holder)  # the next run resumes
    if pending:
        _report_trouble(deps, day=day, pending=pending, now=now)
    return delivery


def _plan(deps: Deps, *, session, day: date, now: datetime, late: bool) -> DigestOutcome:
    plan = build_digest(q.list_routing_keys(session=session, status=Status.NEW), deps.routing)
    provisional = _deadline(deps, now)  # replaced by the deadline of the moment each message is posted
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
                    digest_day=day, owner=owner_name, posted_owner=owner_name, page=page_no, pages=len(pages),
                    channel=deps.routing.channel, late=late, deadline=provisional, created_at=now,
                    policy=deps.routing.policy_for(owner).to_json() if page_no == 0 else "",
                    copied=",".join(copied) if page_no == 0 else "",
                ),
            )
            q.assign_to_message(
                session=session, item_ids=[i.id for i in page_items], owner=owner_name,
                message_id=message.id, deadline=None,  # set when the message is posted
            )
            q.transition_many(
                session=session, item_ids=[i.id for i in page_items], expected=Status.NEW,
                change=q.Change(Action.POST, decision.new_status, "system", Role.SYSTEM, Surface.SCHEDULER),
                now=now,
            )
        outcome.owners[owner_name] = len(items)
        outcome.items += len(items)
    return outcome


def _deadline(deps: Deps, at: datetime) -> datetime:
    timings = deps.routing.timings
    hours = WorkingHours(calendar=deps.calendar, start=timings.work_start, end=timings.work_end, tz=deps.timezone)
    return dispute_deadline(at, hours=hours, min_window=timings.min_window)


def _post_pending(
    deps: Deps, *, day: date, key: str, holder: datetime
) -> tuple[int, list[tuple[DigestMessage, str]], int, bool]:
    """Post every planned message of ``day`` that has no ``ts`` yet, each
    under its own claim (``q.claim_message_post``) so that two runs never
    post the same one; the day's claim is renewed after every try, failed or
    not. Returns how many were posted now, the ones still pending (with
    why), how many messages the day has, and whether this run still holds
    the day's claim (when another run took it over, this one stops)."""
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
    pending: list[tuple[DigestMessage, str]] = []
    for planned in messages:
        if planned.ts:
            continue
        thread_ts = None if planned.page == 0 else first_ts.get(planned.owner)
        if planned.page > 0 and not thread_ts:
            pending.append((planned, deps.catalog.t("delivery.waiting_for_first")))
            continue
        with transaction(deps.session_factory) as session:
            message = q.claim_message_post(session=session, message_id=planned.id, now=deps.clock.now(), lease=PAGE_LEASE)
            if message is None:
                current = q.get_digest_message(session=session, message_id=planned.id)
            elif not message.in_doubt:  # nothing to look up first: count the try in the claim's transaction
                _start_attempt(deps, session, message)
        if message is None:  # posted meanwhile, or another run is trying it right now
            if current.ts:
                if current.page == 0:
                    first_ts[current.owner] = current.ts
            else:
                pending.append((current, deps.catalog.t("delivery.busy_elsewhere")))
            continue
        try:
            ts = _post_one(deps, message, on_message[message.id], per_owner[message.owner], thread_ts=thread_ts)
        except SLACK_ERRORS as error:
            reason = _error_text(error)
            lookup_failed = message.in_doubt  # still in doubt: the lookup of an earlier try failed, nothing was posted
            log.warning("digest message %s (%s, page %d) not posted: %s", message.id, message.owner, message.page + 1, reason)
            now = deps.clock.now()
            with transaction(deps.session_factory) as session:
                q.set_message_failed(
                    session=session, message_id=message.id, error=reason, count_try=lookup_failed,
                    in_doubt=lookup_failed or isinstance(error, SlackUnavailable),
                )
                held = q.renew_effect(session=session, key=key, until=now + LEASE, holder=holder)
            if lookup_failed:
                message.attempts += 1
            message.last_error = reason
            pending.append((message, reason))
        else:
            now = deps.clock.now()
            with transaction(deps.session_factory) as session:
                q.set_message_posted(session=session, message_id=message.id, ts=ts, thread_ts=thread_ts, now=now)
                held = q.renew_effect(session=session, key=key, until=now + LEASE, holder=holder)
            if message.page == 0:
                first_ts[message.owner] = ts
            posted += 1
        if not held:
            log.warning("the digest of %s was taken over by another run; this one stops", day)
            return posted, pending, len(messages), False
    return posted, pending, len(messages), True


def _post_one(deps: Deps, message: DigestMessage, items: Sequence, everything: Sequence, *, thread_ts: str | None) -> str:
    """Post one digest message, unless an earlier try already did: then its
    ts. Clears ``message.in_doubt`` (in memory) once the lookup has not found it."""
    key = message_key(message.digest_day, message.id)
    if message.in_doubt:  # an earlier try may have reached Slack (killed mid-post, or its answer lost)
        # from a little before that try: one page of history, not the channel's last thousand messages
        since = message.attempted_at - POST_MARGIN if message.attempted_at else None
        found = deps.notifier.lookup_by_key(message.channel, key, thread_ts=thread_ts, since=since)
        if found is not None:
            log.info("digest message %s was already posted by an earlier try: %s", message.id, found)
            return found
        message.in_doubt = False  # in memory: the earlier try is settled; this one is counted now
        with transaction(deps.session_factory) as session:
            _start_attempt(deps, session, message)
    text, blocks = _render(deps, message, items, everything if message.page == 0 else items)
    return deps.notifier.post_message(message.channel, text=text, blocks=blocks, thread_ts=thread_ts, key=key)


def _start_attempt(deps: Deps, session, message: DigestMessage) -> None:
    """Count a try at posting ``message``, with the deadline it will show,
    before the post (so a run killed mid-post is seen by the next): in the
    database it is in doubt from here until its ts is stored."""
    if message in session:
        session.expunge(message)  # the counts below are ours to keep: no ORM sync or flush of them
    now = deps.clock.now()
    deadline = _deadline(deps, now + POST_MARGIN)
    q.start_message_attempt(session=session, message_id=message.id, deadline=deadline, now=now)
    message.attempts += 1
    message.deadline = deadline


def _dm_once(deps: Deps, *, key: str, text: str, now: datetime) -> bool:
    """DM the CS lead ``text`` exactly once under ``key``; False when another
    run holds the key right now. Slack errors propagate (the claim released)."""
    with transaction(deps.session_factory) as session:
        claim = q.claim_effect(session=session, key=key, now=now, lease=LEASE)
    if claim is q.Claim.DONE:
        return True
    if claim is q.Claim.BUSY:
        return False
    try:
        channel = deps.notifier.open_dm(deps.routing.cs_lead)
        ts = deps.notifier.lookup_by_key(channel, key) if claim is q.Claim.RESUMED else None
        if ts is None:
            ts = deps.notifier.post_message(channel, text=text, key=key)
    except SLACK_ERRORS:
        with transaction(deps.session_factory) as session:
            q.release_effect(session=session, key=key, now=deps.clock.now())
        raise
    with transaction(deps.session_factory) as session:
        q.finish_effect(session=session, key=key, now=deps.clock.now(), detail=f"{channel} {ts}")
    return True


def _notify_unrouted(deps: Deps, *, day: date, now: datetime) -> tuple[int, bool]:
    """DM the CS lead, once a day, the records no owner covers; they stay new
    and are posted to their owner once the routing file covers them. Returns
    how many were sent now, and whether that DM is done (or not needed)."""
    key = f"unrouted:{day.isoformat()}"
    with transaction(deps.session_factory) as session:
        effect = q.find_effect(session=session, key=key)
        if effect is not None and effect.done_at is not None:
            return 0, True
        items = build_digest(q.list_routing_keys(session=session, status=Status.NEW), deps.routing).unrouted
    if not items:
        return 0, True
    if not _dm_once(deps, key=key, text=unrouted_message(items, day, deps.catalog_for(deps.routing.cs_lead)), now=now):
        return 0, False
    return len(items), True


def _report_trouble(deps: Deps, *, day: date, pending: list[tuple[DigestMessage, str]], now: datetime) -> None:
    """Once a message has failed ``TROUBLE_AFTER`` tries, DM the CS lead
    (once a day) which messages are stuck and why."""
    stuck = [(m, why) for m, why in pending if m.attempts >= TROUBLE_AFTER]
    if not stuck:
        return
    cat = deps.catalog_for(deps.routing.cs_lead)
    lines = [cat.t("delivery.trouble_title", day=day.isoformat(), count=len(pending), tries=max(m.attempts for m, _ in stuck))]
    lines += [cat.t("delivery.trouble_line", owner=m.owner, page=m.page + 1, pages=m.pages, error=why) for m, why in pending[:20]]
    try:
        _dm_once(deps, key=f"digest-trouble:{day.isoformat()}", text="\n".join(lines), now=now)
    except SLACK_ERRORS as error:
        log.warning("the CS lead could not be told about the digest of %s: %s", day, _error_text(error))


def _watch(deps: Deps, *, day: date, now: datetime) -> None:
    """Schedule, once, the CS lead's warning that ``day``'s digest is missing,
    for its time + ``WATCH_AFTER``. Slack errors are logged; the next run
    tries again."""
    post_at = local_datetime(day, deps.routing.timings.digest_at, deps.timezone) + WATCH_AFTER
    if post_at <= now + timedelta(minutes=1):
        return
    key = watch_key(day)
    with transaction(deps.session_factory) as session:
        claim = q.claim_effect(session=session, key=key, now=now, lease=LEASE)
    if claim not in (q.Claim.NEW, q.Claim.RESUMED):
        return
    text = deps.catalog.t("delivery.watch_missing", day=day.isoformat(), channel=deps.routing.channel)
    try:
        channel = deps.notifier.open_dm(deps.routing.cs_lead)
        scheduled = deps.notifier.lookup_scheduled(channel, text=text, post_at=post_at) if claim is q.Claim.RESUMED else None
        if scheduled is None:
            scheduled = deps.notifier.schedule_message(channel, text=text, post_at=post_at)
    except SLACK_ERRORS as error:
        if isinstance(error, SlackApiError) and error.response.get("error") == "time_in_past":
            # Slack's clock is past the warning's time (a run ``--at`` an earlier
            # day): there is nothing left to watch for, so nothing to retry.
            log.info("the warning for the digest of %s is not scheduled: its time has passed", day)
            with transaction(deps.session_factory) as session:
                q.finish_effect(session=session, key=key, now=deps.clock.now(), detail="time-passed")  # no space: nothing for _unwatch to delete
            return
        log.warning("the warning for the digest of %s was not scheduled: %s", day, _error_text(error))
        with transaction(deps.session_factory) as session:
            q.release_effect(session=session, key=key, now=deps.clock.now())
        return
    with transaction(deps.session_factory) as session:
        q.finish_effect(session=session, key=key, now=deps.clock.now(), detail=f"{channel} {scheduled}")


def _unwatch(deps: Deps, *, day: date) -> None:
    """Delete ``day``'s scheduled warning: its digest is fully posted.
    Idempotent (Slack answers an already deleted or posted one harmlessly)."""
    with transaction(deps.session_factory) as session:
        effect = q.find_effect(session=session, key=watch_key(day))
    if effect is None or effect.done_at is None or " " not in effect.detail:
        return
    channel, scheduled = effect.detail.split(" ", 1)
    deps.notifier.delete_scheduled_message(channel, scheduled)


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
    # a voided item is CS's own correction, not a mistaken rejection: it is shown, not counted
    total, awaiting = counts or (
        sum(1 for i in everything if i.status != Status.VOIDED), sum(1 for i in everything if i.status == Status.AWAITING)
    )
    owner = deps.routing.owner_named(message.owner) or _owner_of_items(deps, everything)
    if owner is None:  # the routing file dropped this owner since, and nobody covers its items: keep the name
        owner = Owner(name=message.owner, user="", categories=())
    ctx = PageContext(
        owner=owner, digest_day=message.digest_day, deadline=message.deadline, page=message.page,
        pages=message.pages, late=message.late, total_items=total, open_items=awaiting,
        undo_minutes=deps.routing.timings.reaction_undo_minutes,
        copied=tuple(u for u in message.copied.split(",") if u),
        assumed_years=calendar.assumed_years(
            deps.calendar, message.digest_day, *([message.deadline.astimezone(deps.timezone).date()] if message.deadline else []),
        ),
    )
    return digest_message(ctx, items, deps.catalog, deps.timezone)


def _owner_of_items(deps: Deps, items: Sequence) -> Owner | None:
    """Whoever now answers for the message's open items (the first that has
    one), when the routing file no longer names the message's owner."""
    for item in items:
        if item.status in f.OPEN_STATUSES:
            owner = deps.routing.owner_now(item.owner, item.category, item.branch)
            if owner is not None:
                return owner
    return None


def refresh_digest_messages(deps: Deps, message_ids: set[int], *, shown: int | None = None) -> int:
    """Show the items' current state on their digest messages (``chat.update``),
    and the owner's first message too, whose head counts every page. Called
    after a change is committed, so it never raises: a message Slack could
    not update stays behind and ``convergence.refresh_stale_messages`` brings
    it up to date at a later tick. Returns the messages updated; once the
    process's ``refresher`` runs, they are marked for it instead (0), all
    but ``shown``, the message a click has just brought up to date."""
    from bot.services.convergence import Shown, show_current_state  # it renders with this module

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
    if deps.refresher.running:  # coalesced: at most one chat.update per message per second (``refresher``)
        deps.refresher.mark(m.id for m in messages.values() if m.ts and m.id != shown)
        return 0
    updated = 0
    for message in sorted(messages.values(), key=lambda m: (m.digest_day, m.owner, m.page)):
        if not message.ts:
            continue
        try:
            updated += show_current_state(deps, message.id) in (Shown.UPDATED, Shown.ALREADY)
        except Exception:  # noqa: BLE001 - the change is committed; the tick catches up
            log.exception("could not refresh digest message %s; the tick will", message.id)
    return updated
