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
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
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

    @property
    def key(self) -> str:
        since = self.since.astimezone(UTC).strftime("%Y%m%dT%H%M%S")
        return f"{self.kind}:{self.subject}:{self.level}:{since}"


def quiet_since(facts: ThreadFacts, policy: FollowUpPolicy, hours: WorkingHours) -> datetime | None:
    """When the thread's current quiet period began; None when nothing is open."""
    starts: list[datetime] = []
    if facts.awaiting:
        starts.append(facts.posted_at)
    if facts.oldest_unfixed_at is not None:
        starts.append(hours.add(facts.oldest_unfixed_at, policy.fix_window))
    if not starts:
        return None
    since = min(starts)
    if facts.last_activity_at is not None and facts.last_activity_at > since:
        since = facts.last_activity_at
    if facts.awaiting and facts.acknowledged_at is not None:
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
    return _steps(plan, since, facts.thread_id, hours)


def dispute_ladder(facts: DisputeFacts, policy: FollowUpPolicy, hours: WorkingHours) -> list[Step]:
    plan = [(StepKind.DISPUTE_NUDGE, 0, facts.agent_user, policy.dispute_quiet)]
    if facts.cs_lead and facts.cs_lead != facts.agent_user:
        plan.append((StepKind.DISPUTE_ESCALATE, 1, facts.cs_lead, policy.dispute_escalate))
    return _steps(plan, facts.disputed_at, facts.item_id, hours)


def _steps(plan: list[tuple[StepKind, int, str, timedelta]], since: datetime, subject: int, hours: WorkingHours) -> list[Step]:
    """Steps in ladder order; a step beyond the calendar's data cuts the ladder there."""
    steps: list[Step] = []
    for kind, level, recipient, delay in plan:
        try:
            due = hours.add(since, delay)
        except CalendarDataMissing as exc:
            raise LadderCut(exc.year, steps) from None
        steps.append(Step(kind, level, recipient, due, subject, since))
    return steps


def due_steps(steps: Iterable[Step], *, now: datetime, done: set[str]) -> list[Step]:
    """Steps due at ``now`` and not yet taken, in due order."""
    return sorted((s for s in steps if s.due_at <= now and s.key not in done), key=lambda s: (s.due_at, s.level))


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
