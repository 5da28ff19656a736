"""The follow-up policy: when a quiet thread is nudged and escalated, and when
an unresolved dispute is chased on CS's side. Pure: a function of (thread
facts, policy, working hours, now).

A thread's *quiet period* starts when its open work starts — the digest
post for awaiting items, the end of the fix window for confirmed items still
without a fix — or at the owner side's last activity, whichever is later.
From there the ladder counts working time only: a nudge in the thread after
``policy.quiet``, a DM to the first manager of the owner's escalation chain
after ``policy.level1``, to the second after ``policy.level2``. Each step's
key names the thread, the step and the quiet period, so a step happens once
per quiet period however often the sweep runs; new activity starts a new
period. 👀 by the owner side pauses the ladder until the dispute deadline.

Silence keeps climbing across the deadline. When the deadline deems the
unanswered items confirmed, their fix is owed (the fix phase) but the owner
side has still said nothing: the quiet period does not end there, so the
ladder continues from the level already reached — same quiet period, same
keys — and never starts again from the bottom. With the defaults a silent
owner's chain hears at 11:00 (nudge) and 13:00 (level 1) on the digest's day
and at 09:00 on the next working day (level 2). Only owner-side activity
after the deadline (an answer, a fix, a reply) ends that silence; the fix
phase then starts a new quiet period at the end of the fix window, as for
items the owner confirmed.

``project_thread`` answers "what happens if nobody acts": this quiet period's
steps that come before the deadline, then those after it, while the deemed
items still lack a fix.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum

from bot.core.routing import FollowUpPolicy
from bot.core.workcal import CalendarDataMissing
from bot.core.worktime import WorkingHours


class LadderCut(CalendarDataMissing):
    """A ladder runs into a year without calendar data: ``steps`` holds the
    steps before that point, which can still be taken."""

    def __init__(self, year: int, steps: list[Step]) -> None:
        super().__init__(year)
        self.steps = steps


class StepKind(StrEnum):
    NUDGE = "nudge"  # in the owner's thread, mentioning the owner
    ESCALATE = "escalate"  # DM to a manager of the owner's chain
    DISPUTE_NUDGE = "dispute_nudge"  # DM to the callback agent
    DISPUTE_ESCALATE = "dispute_escalate"  # DM to the CS lead


@dataclass(frozen=True, slots=True)
class ThreadFacts:
    """What the policy needs to know about one owner's digest thread."""

    thread_id: int
    owner_user: str
    escalation: tuple[str, ...]
    posted_at: datetime
    deadline: datetime
    awaiting: int  # items still waiting for an answer
    oldest_unfixed_at: datetime | None  # earliest confirmation/deemed time of an item still without a fix
    last_activity_at: datetime | None = None  # owner, delegate or manager answered, reacted or replied
    acknowledged_at: datetime | None = None  # 👀
    deemed_unfixed: int = 0  # items the deadline deemed confirmed (nobody answered them) still without a fix
    other_owner: str | None = None  # the items' owner when the thread's pages name someone else (a split thread)

    @property
    def silent_past_deadline(self) -> bool:
        """The deadline answered for the owner side, which has said nothing
        since: the silence that began before the deadline goes on."""
        return self.deemed_unfixed > 0 and (self.last_activity_at is None or self.last_activity_at <= self.deadline)


@dataclass(frozen=True, slots=True)
class DisputeFacts:
    item_id: int
    disputed_at: datetime
    agent_user: str
    cs_lead: str


@dataclass(frozen=True, slots=True)
class Step:
    kind: StepKind
    level: int  # 0 for nudges, the escalation level otherwise
    recipient: str
    due_at: datetime
    subject: int  # thread id, or item id for disputes
    since: datetime  # the quiet period (or dispute) it belongs to
    owner: str | None = None  # a thread's items' owner other than the one its pages name

    @property
    def key(self) -> str:
        """``<kind>:<subject>:<level>:<since>``; a ladder for items of an owner
        other than the one the thread's pages name (a thread split between
        owners) ends in ``:<owner>``, so the page owner's keys — every key
        sent before threads could be split — stay as they were."""
        since = self.since.astimezone(UTC).strftime("%Y%m%dT%H%M%S")
        key = f"{self.kind}:{self.subject}:{self.level}:{since}"
        return f"{key}:{self.owner}" if self.owner else key


def key_owner(key: str) -> str | None:
    """The owner a thread step's key (``Step.key``) names: None for the owner
    the thread's pages name."""
    parts = key.split(":", 4)
    return parts[4] if len(parts) == 5 else None


def quiet_since(facts: ThreadFacts, policy: FollowUpPolicy, hours: WorkingHours) -> datetime | None:
    """When the thread's current quiet period began; None when nothing is open.
    A silence that ran across the deadline keeps the start it had before it
    (``silent_past_deadline``), so the deadline changes nothing here."""
    silent = facts.awaiting > 0 or facts.silent_past_deadline
    if silent:  # before any fix falls due (a fix window counts from an answer after the post)
        since = facts.posted_at
    elif facts.oldest_unfixed_at is not None:
        since = hours.add(facts.oldest_unfixed_at, policy.fix_window)
    else:
        return None
    if facts.last_activity_at is not None and facts.last_activity_at > since:
        since = facts.last_activity_at
    if silent and facts.acknowledged_at is not None:
        since = max(since, facts.deadline)  # 👀: quiet until the deadline, which still applies
    return since


def thread_ladder(facts: ThreadFacts, policy: FollowUpPolicy, hours: WorkingHours) -> list[Step]:
    """Every step of the thread's ladder for its current quiet period, due or not."""
    since = quiet_since(facts, policy, hours)
    if since is None:
        return []
    plan = [(StepKind.NUDGE, 0, facts.owner_user, policy.quiet)]
    plan += [
        (StepKind.ESCALATE, level, manager, delay)
        for level, (manager, delay) in enumerate(zip(facts.escalation, (policy.level1, policy.level2)), start=1)
    ]
    return _steps(plan, since, facts.thread_id, hours, facts.other_owner)


def dispute_ladder(facts: DisputeFacts, policy: FollowUpPolicy, hours: WorkingHours) -> list[Step]:
    plan = [(StepKind.DISPUTE_NUDGE, 0, facts.agent_user, policy.dispute_quiet)]
    if facts.cs_lead and facts.cs_lead != facts.agent_user:
        plan.append((StepKind.DISPUTE_ESCALATE, 1, facts.cs_lead, policy.dispute_escalate))
    return _steps(plan, facts.disputed_at, facts.item_id, hours)


def _steps(plan: list[tuple[StepKind, int, str, timedelta]], since: datetime, subject: int, hours: WorkingHours, owner: str | None = None) -> list[Step]:
    """Steps in ladder order; a step beyond the calendar's data cuts the ladder there."""
    steps: list[Step] = []
    for kind, level, recipient, delay in plan:
        try:
            due = hours.add(since, delay)
        except CalendarDataMissing as exc:
            raise LadderCut(exc.year, steps) from None
        steps.append(Step(kind, level, recipient, due, subject, since, owner))
    return steps


def until_cut(compute: Callable[..., list[Step]], *args) -> tuple[list[Step], int | None]:
    """A ladder as far as the calendar reaches: (its steps, the year without
    calendar data that cut it, if any)."""
    try:
        return compute(*args), None
    except LadderCut as cut:  # the steps before that year still count
        return cut.steps, cut.year
    except CalendarDataMissing as exc:  # not even the quiet period's start is known
        return [], exc.year


@dataclass(frozen=True, slots=True)
class Projection:
    """A thread's steps if nobody acts."""

    current: list[Step]  # the current quiet period's
    after_deadline: list[Step]  # once the deadline deemed the awaiting items confirmed, while no fix is recorded
    missing_year: int | None = None


def project_thread(facts: ThreadFacts, policy: FollowUpPolicy, hours: WorkingHours) -> Projection:
    """What the ladder will do if nobody acts. While items await an answer the
    deadline deems them confirmed; the silence goes on, and so does the
    ladder (the same ``thread_ladder``, on the facts after the deadline,
    which keep the quiet period): the steps before the deadline, then those
    from the deadline on."""
    if not facts.awaiting:
        current, missing = until_cut(thread_ladder, facts, policy, hours)
        return Projection(current, [], missing)
    unfixed = facts.deadline if facts.oldest_unfixed_at is None else min(facts.oldest_unfixed_at, facts.deadline)
    deemed = replace(facts, awaiting=0, deemed_unfixed=facts.deemed_unfixed + facts.awaiting, oldest_unfixed_at=unfixed)
    steps, missing = until_cut(thread_ladder, deemed, policy, hours)
    before = [s for s in steps if s.due_at < facts.deadline]
    after = [s for s in steps if s.due_at >= facts.deadline]
    return Projection(before, after, missing)


@dataclass(frozen=True, slots=True)
class ThreadOutlook:
    """One open digest thread and the follow-ups ahead of it (``/reject next``)."""

    owner: str  # the owner's name
    owner_user: str
    digest_day: date
    deadline: datetime
    awaiting: int
    oldest_unfixed_at: datetime | None
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    steps: tuple[Step, ...]  # this quiet period's, not yet taken
    after_deadline: tuple[Step, ...] = ()  # once the deadline deemed the items confirmed, while no fix is recorded
    missing_year: int | None = None  # later steps fall in a year without calendar data


@dataclass(frozen=True, slots=True)
class DisputeOutlook:
    """One unresolved dispute and CS's reminders ahead of it."""

    order_no: str
    owner: str
    agent: str  # the callback agent's name
    disputed_at: datetime
    steps: tuple[Step, ...]  # not yet taken
    missing_year: int | None = None


def due_steps(steps: Iterable[Step], *, now: datetime, done: set[str]) -> list[Step]:
    """Steps due at ``now`` and not yet taken, in due order."""
    return sorted((s for s in steps if s.due_at <= now and s.key not in done), key=lambda s: (s.due_at, s.level))


def pending_steps(steps: Iterable[Step], *, done: set[str]) -> tuple[Step, ...]:
    """Steps not yet taken, due or not, in due order."""
    return tuple(sorted((s for s in steps if s.key not in done), key=lambda s: (s.due_at, s.level)))


def within_cap(steps: Sequence[Step], *, sent_today: dict[str, int], cap: int) -> tuple[list[Step], list[Step]]:
    """(steps to send, steps held back) so that nobody gets more than ``cap``
    follow-up messages a day; escalations to one manager in one sweep share a
    single DM and count once."""
    counts = dict(sent_today)
    send: list[Step] = []
    held: list[Step] = []
    dm_counted: set[tuple[str, StepKind]] = set()
    for step in steps:
        shared = step.kind in (StepKind.ESCALATE, StepKind.DISPUTE_NUDGE, StepKind.DISPUTE_ESCALATE)
        if shared and (step.recipient, step.kind) in dm_counted:
            send.append(step)
            continue
        if counts.get(step.recipient, 0) >= cap:
            held.append(step)
            continue
        counts[step.recipient] = counts.get(step.recipient, 0) + 1
        if shared:
            dm_counted.add((step.recipient, step.kind))
        send.append(step)
    return send, held
