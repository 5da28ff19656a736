"""The monthly notice's figures (月度通报), from audit rows: pure, no I/O.

Which month an item belongs to: the month of the working day its digest was
for (``DigestMessage.digest_day``), whenever it was actually posted or
answered. An item posted on 30 November and answered on 2 December counts in
November.

Every figure is counted from the item's audit rows *at or before* the
notice's ``as_of`` moment, replayed in order, so that a rerun for the same
month and ``as_of`` gives identical figures, and a late change (a void, a
reopen, a decision after the notice) shows in a reissue, never silently.

The owner an item counts for is the owner its digest message was posted to
(``DigestMessage.owner``): a later rename in the routing file does not move
a past month's figures.

This module holds the data shapes every part of the notice shares: the
inputs (``MonthItem`` with its ``AuditRow`` history, ``Escalation``,
``BookedPenalty``) and the outputs (``Counts``, ``OwnerFigures``,
``AgentFigures``, ``MonthFigures``). ``compute_figures`` turns the first into
the second.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields
from datetime import date, datetime, timedelta

from bot.core.lifecycle import Action, Status
from bot.core.masking import mask_note
from bot.core.worktime import WorkingHours

_MONTH = re.compile(r"(\d{4})-(\d{2})")


class BadMonth(ValueError):
    """Not a month written YYYY-MM (``2026-11``)."""


@dataclass(frozen=True, slots=True, order=True)
class Month:
    year: int
    month: int

    def __post_init__(self) -> None:
        if not 1 <= self.month <= 12 or not 2000 <= self.year <= 2099:
            raise BadMonth(f"{self.year:04d}-{self.month:02d}")

    @classmethod
    def parse(cls, text: str) -> Month:
        """``2026-11`` → Month(2026, 11); anything else raises ``BadMonth``."""
        match = _MONTH.fullmatch(text.strip())
        if match is None:
            raise BadMonth(text)
        return cls(int(match.group(1)), int(match.group(2)))

    @classmethod
    def of(cls, day: date) -> Month:
        return cls(day.year, day.month)

    @property
    def first_day(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def last_day(self) -> date:
        return self.next().first_day - timedelta(days=1)

    def previous(self) -> Month:
        return Month(self.year - 1, 12) if self.month == 1 else Month(self.year, self.month - 1)

    def next(self) -> Month:
        return Month(self.year + 1, 1) if self.month == 12 else Month(self.year, self.month + 1)

    def contains(self, day: date) -> bool:
        return (day.year, day.month) == (self.year, self.month)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


# --- inputs -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AuditRow:
    """One ``audit_entry`` row of an item, as the figures read it."""

    id: int
    at: datetime  # aware UTC
    actor: str
    role: str  # bot.core.lifecycle.Role value
    surface: str  # bot.core.lifecycle.Surface value
    action: str  # bot.core.lifecycle.Action value
    from_status: str
    to_status: str
    note: str = ""


@dataclass(frozen=True, slots=True)
class MonthItem:
    """An item of the month with its history up to ``as_of`` (oldest first)."""

    id: int
    order_no: str
    rejected_on: date
    branch: str
    category: str
    customer: str
    callback_agent: str
    note: str
    owner: str  # the owner its digest message was posted to
    digest_day: date  # the working day its digest was for: decides the month
    history: tuple[AuditRow, ...] = ()


@dataclass(frozen=True, slots=True)
class Escalation:
    """A DM escalation sent about an owner's thread (``follow_up`` row)."""

    owner: str
    level: int  # 1 = the first manager of the chain
    top: bool  # the last level of the owner's chain
    recipient: str  # Slack user
    sent_at: datetime  # aware UTC


@dataclass(frozen=True, slots=True)
class BookedPenalty:
    """A ``penalty`` row (today only ``cs_accuracy``, against a callback agent)."""

    item_id: int
    kind: str
    person: str
    amount: int  # yuan
    at: datetime  # aware UTC


@dataclass(frozen=True, slots=True)
class ReportedRejection:
    """A legitimate-rejection report that came before CS's record of the
    order and matched it (``storage.monthly.load_reported``). It counts for
    ``owner`` (the owner that record routes to) in the month of the record's
    rejection date, once the record matched it (``matched_at``), whether CS
    then kept the record or dropped it; a dropped record is CS's correction."""

    owner: str
    order_no: str
    rejected_on: date
    reported_at: datetime  # aware UTC
    matched_at: datetime  # aware UTC: when CS's record of it was imported
    agent: str = ""  # the record's callback agent
    customer: str = ""
    decision: str | None = None  # keep | drop
    decided_at: datetime | None = None
    decided_by: str = ""


# --- outputs -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Counts:
    """Figures of a set of items as of ``as_of``.

    ``posted == confirmed + deemed + overruled + upheld + open``: every posted
    item is in exactly one of these. Voided items are not posted (they are
    CS's own corrections, listed apart).
    """

    posted: int = 0
    confirmed: int = 0  # confirmed by the owner side, and still so as of as_of (fixed or not)
    deemed: int = 0  # unanswered by the deadline: counts as confirmed (Y's agreement)
    disputed: int = 0  # items disputed: upheld + overruled + still awaiting CS
    upheld: int = 0  # dispute accepted: CS was wrong, item withdrawn
    overruled: int = 0  # dispute rejected by CS with evidence: counts as confirmed
    open: int = 0  # still awaiting the owner side's answer, or CS's decision on a dispute
    fixed: int = 0  # of the mistaken rejections, those with a fix recorded
    fixed_in_window: int = 0  # of those, fixed within the owner's fix window
    answer_median: timedelta | None = None  # working time from posting to the owner side's first answer
    fix_median: timedelta | None = None  # working time from the decision (confirm, deem, overrule) to the fix
    escalations: int = 0  # DM escalations about the owner's threads, sent in the month (owner level only)
    reported: int = 0  # legitimate rejections reported before CS's record of them (bot.core.reports): good behaviour

    @property
    def mistaken(self) -> int:
        """Mistaken rejections: confirmed + deemed + overruled."""
        return self.confirmed + self.deemed + self.overruled


@dataclass(frozen=True, slots=True)
class Trend:
    """The change in mistaken rejections against the previous month."""

    previous: int | None  # None: the owner had no items that month
    current: int

    @property
    def arrow(self) -> str:
        if self.previous is None or self.current == self.previous:
            return "→"
        return "↑" if self.current > self.previous else "↓"

    @property
    def percent(self) -> int | None:
        """Rounded change in percent; None when there is nothing to compare with (previous 0 or None)."""
        if not self.previous:
            return None
        return round((self.current - self.previous) * 100 / self.previous)


@dataclass(frozen=True, slots=True)
class BranchFigures:
    branch: str
    counts: Counts


@dataclass(frozen=True, slots=True)
class OwnerFigures:
    owner: str
    counts: Counts
    branches: tuple[BranchFigures, ...]  # by branch name
    trend: Trend
    penalty: int | None  # counts.mistaken × per-item amount; None when no amount is set


@dataclass(frozen=True, slots=True)
class AgentFigures:
    """CS's own accuracy, per callback agent."""

    agent: str
    posted: int  # their records posted in the month
    disputed: int
    upheld: int  # disputes upheld: their callback was wrong
    penalty: int  # yuan, the CS-accuracy penalties booked for their records of the month
    voided: int  # their records CS voided (its own corrections)


@dataclass(frozen=True, slots=True)
class Correction:
    """A record CS voided: not counted as posted, listed as CS's own correction."""

    order_no: str
    rejected_on: date
    agent: str
    owner: str
    at: datetime
    actor: str
    note: str  # the void's reason, masked as the channel shows free text (bot.core.masking.mask_note)
    customer: str = ""  # the record's customer cell: the workbook masks the note with it (bot.core.masking.mask_note)


@dataclass(frozen=True, slots=True)
class MonthFigures:
    month: Month
    as_of: datetime  # aware UTC
    per_item: int | None  # [penalties] logistics_per_item; None: counts only, no money
    owners: tuple[OwnerFigures, ...]  # by owner name
    agents: tuple[AgentFigures, ...]  # by agent name
    corrections: tuple[Correction, ...] = ()
    totals: Counts = field(default_factory=Counts)

    @property
    def logistics_penalty(self) -> int | None:
        if self.per_item is None:
            return None
        return sum(o.penalty or 0 for o in self.owners)

    @property
    def cs_penalty(self) -> int:
        return sum(a.penalty for a in self.agents)

    def owner(self, name: str) -> OwnerFigures | None:
        for figures in self.owners:
            if figures.owner == name:
                return figures
        return None

    def to_json(self) -> str:
        """The figures as JSON (stored with a posted notice, to tell a reissue what changed)."""
        return json.dumps(_encode(self), ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> MonthFigures:
        data = json.loads(text)
        return cls(
            month=Month.parse(data["month"]), as_of=datetime.fromisoformat(data["as_of"]), per_item=data["per_item"],
            owners=tuple(
                OwnerFigures(
                    owner=o["owner"], counts=_counts_from(o["counts"]),
                    branches=tuple(BranchFigures(b["branch"], _counts_from(b["counts"])) for b in o["branches"]),
                    trend=Trend(**o["trend"]), penalty=o["penalty"],
                )
                for o in data["owners"]
            ),
            agents=tuple(AgentFigures(**a) for a in data["agents"]),
            corrections=tuple(
                Correction(**{**c, "rejected_on": date.fromisoformat(c["rejected_on"]), "at": datetime.fromisoformat(c["at"])})
                for c in data["corrections"]
            ),
            totals=_counts_from(data["totals"]),
        )


def _encode(value):
    if isinstance(value, Month):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if hasattr(value, "__dataclass_fields__"):
        return {f.name: _encode(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, tuple | list):
        return [_encode(v) for v in value]
    return value


def _counts_from(data: dict) -> Counts:
    values = dict(data)
    for name in ("answer_median", "fix_median"):
        if values[name] is not None:
            values[name] = timedelta(seconds=values[name])
    return Counts(**values)


def items_of_month(items: Sequence[MonthItem], month: Month) -> list[MonthItem]:
    return [i for i in items if month.contains(i.digest_day)]


# --- computing the figures ---------------------------------------------------


class Outcome:
    """What an item of the month amounts to as of ``as_of`` (``classify``)."""

    CONFIRMED = "confirmed"
    DEEMED = "deemed"
    OVERRULED = "overruled"
    UPHELD = "upheld"
    OPEN = "open"  # awaiting an answer, or a dispute awaiting CS
    VOIDED = "voided"  # CS's own correction: not posted
    UNPOSTED = "unposted"  # no post row by as_of: not counted


_DECISIONS = {Action.CONFIRM: Outcome.CONFIRMED, Action.DEEM: Outcome.DEEMED, Action.OVERRULE: Outcome.OVERRULED}
_ANSWERS = (Action.CONFIRM, Action.DISPUTE)


@dataclass(frozen=True, slots=True)
class Replay:
    """One item's history replayed up to ``as_of``."""

    outcome: str
    disputed: bool  # upheld, overruled or a dispute still awaiting CS (as of as_of)
    posted_at: datetime | None
    answered_at: datetime | None  # the owner side's first confirm or dispute after the post
    decided_at: datetime | None  # the decision (confirm, deem, overrule) the fix followed, or in force
    fixed_at: datetime | None
    voided: AuditRow | None = None


def replay(item: MonthItem, as_of: datetime) -> Replay:
    """Replay ``item``'s audit rows at or before ``as_of``, in order.

    The status is the last row's ``to_status``; the decision in force is the
    last confirm, deem or overrule, taken back by an undo of a confirmation or
    a reopen (after which the item awaits again, and a later decision counts).
    A fix keeps the decision it followed. A void makes the item CS's own
    correction.
    """
    rows = sorted((r for r in item.history if r.at <= as_of), key=lambda r: (r.at, r.id))
    status = Status.NEW
    posted_at = answered_at = decided_at = fixed_at = None
    decision: str | None = None
    voided: AuditRow | None = None
    for row in rows:
        action = row.action
        if action == Action.POST and posted_at is None:
            posted_at = row.at
        elif action in _ANSWERS and answered_at is None and posted_at is not None:
            answered_at = row.at
        if action in _DECISIONS:
            decision, decided_at = _DECISIONS[Action(action)], row.at
        elif action in (Action.UNDO_CONFIRM, Action.REOPEN):
            decision, decided_at, fixed_at = None, None, None
        elif action == Action.FIX:
            fixed_at = row.at
        elif action == Action.VOID:
            voided = row
        status = row.to_status or status
    disputed = False
    if status == Status.VOIDED:
        outcome = Outcome.VOIDED
    elif posted_at is None or status == Status.NEW:
        outcome = Outcome.UNPOSTED
    elif status == Status.WITHDRAWN:
        outcome, disputed = Outcome.UPHELD, True
    elif status == Status.DISPUTED:
        outcome, disputed = Outcome.OPEN, True
    elif status in (Status.CONFIRMED, Status.DEEMED_CONFIRMED, Status.FIXED) and decision is not None:
        outcome = decision
        disputed = decision == Outcome.OVERRULED
    else:  # awaiting (or a decision without its row: counted as open rather than guessed)
        outcome = Outcome.OPEN
    return Replay(
        outcome=outcome, disputed=disputed, posted_at=posted_at, answered_at=answered_at,
        decided_at=decided_at if outcome in _DECISIONS.values() else None,
        fixed_at=fixed_at if status == Status.FIXED else None, voided=voided if outcome == Outcome.VOIDED else None,
    )


def median(values: Sequence[timedelta]) -> timedelta | None:
    """The median, to the second (the mean of the middle two for an even count)."""
    if not values:
        return None
    ordered = sorted(values)
    middle = len(ordered) // 2
    value = ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2
    return timedelta(seconds=round(value.total_seconds()))


def _counts(
    replays: Sequence[tuple[MonthItem, Replay]], *, hours: WorkingHours, fix_window: Callable[[str], timedelta],
    escalations: int = 0, reported: int = 0,
) -> Counts:
    tally: dict[str, int] = defaultdict(int)
    answer_times: list[timedelta] = []
    fix_times: list[timedelta] = []
    fixed = fixed_in_window = disputed = 0
    for item, r in replays:
        tally[r.outcome] += 1
        disputed += r.disputed
        if r.answered_at is not None:
            answer_times.append(hours.between(r.posted_at, r.answered_at))
        if r.fixed_at is not None and r.decided_at is not None:
            took = hours.between(r.decided_at, r.fixed_at)
            fixed += 1
            fix_times.append(took)
            fixed_in_window += took <= fix_window(item.owner)
    return Counts(
        posted=len(replays), confirmed=tally[Outcome.CONFIRMED], deemed=tally[Outcome.DEEMED], disputed=disputed,
        upheld=tally[Outcome.UPHELD], overruled=tally[Outcome.OVERRULED], open=tally[Outcome.OPEN],
        fixed=fixed, fixed_in_window=fixed_in_window, answer_median=median(answer_times), fix_median=median(fix_times),
        escalations=escalations, reported=reported,
    )


def compute_figures(
    *,
    month: Month,
    as_of: datetime,
    items: Sequence[MonthItem],
    previous_items: Sequence[MonthItem],
    escalations: Sequence[Escalation],
    penalties: Sequence[BookedPenalty],
    hours: WorkingHours,
    fix_window: Callable[[str], timedelta],
    per_item: int | None,
    reported: Sequence[ReportedRejection] = (),
) -> MonthFigures:
    """The month's figures as of ``as_of``.

    - ``items``: the month's items (others are ignored), each with its audit
      rows (rows after ``as_of`` are ignored). ``previous_items``: the previous
      month's, for the trend (mistaken rejections per owner).
    - Posted: items with a post row and not voided; each is confirmed, deemed,
      overruled, upheld or open by its replayed state (``replay``). Voided
      items are CS's corrections, not posted.
    - Answer time: working time from the post row to the owner side's first
      confirm or dispute; fix time: from the decision in force (confirm, deem,
      overrule) to the fix; fixed in the window: fix time at most
      ``fix_window(owner)``.
    - Escalations: those sent in the month (local date, ``hours.tz``) and at
      or before ``as_of``, per owner (not per branch).
    - Per agent: their posted records, disputes, upheld disputes, voided
      records, and the penalties booked (at or before ``as_of``) on the
      month's items against them.
    - Reported properly (``reported``): per owner, the reports that came
      before CS's record of the order, matched by ``as_of``, for records
      rejected in the month. A record CS dropped for its report is CS's
      correction (listed, counted as voided for its agent), never posted.
    """
    tz = hours.tz
    replays: list[tuple[MonthItem, Replay]] = []
    corrections: list[Correction] = []
    agents: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for item in items_of_month(items, month):
        r = replay(item, as_of)
        if r.outcome == Outcome.UNPOSTED:
            continue
        if r.outcome == Outcome.VOIDED:
            v = r.voided
            # the reason as the channel may show it: figures are posted, and stored with the notice
            corrections.append(Correction(item.order_no, item.rejected_on, item.callback_agent, item.owner, v.at, v.actor, mask_note(v.note, item.customer)))
            agents[item.callback_agent]["voided"] += 1
            continue
        replays.append((item, r))
        agent = agents[item.callback_agent]
        agent["posted"] += 1
        agent["disputed"] += r.disputed
        agent["upheld"] += r.outcome == Outcome.UPHELD
    reported_by: dict[str, int] = defaultdict(int)
    for rep in reported:
        if not month.contains(rep.rejected_on) or rep.matched_at > as_of:
            continue
        reported_by[rep.owner] += 1
        if rep.decision == Action.DROP and rep.decided_at is not None and rep.decided_at <= as_of:
            corrections.append(Correction(rep.order_no, rep.rejected_on, rep.agent, rep.owner, rep.decided_at, rep.decided_by, "", rep.customer))
            agents[rep.agent]["voided"] += 1
    month_ids = {item.id for item in items_of_month(items, month)}
    for p in penalties:
        if p.item_id in month_ids and p.at <= as_of:
            agents[p.person]["penalty"] += p.amount

    sent: dict[str, int] = defaultdict(int)
    for e in escalations:
        if e.sent_at <= as_of and month.contains(e.sent_at.astimezone(tz).date()):
            sent[e.owner] += 1

    previous: dict[str, int] = defaultdict(int)
    had_previous: set[str] = set()
    for item in items_of_month(previous_items, month.previous()):
        r = replay(item, as_of)
        if r.outcome in (Outcome.UNPOSTED, Outcome.VOIDED):
            continue
        had_previous.add(item.owner)
        previous[item.owner] += r.outcome in (Outcome.CONFIRMED, Outcome.DEEMED, Outcome.OVERRULED)

    by_owner: dict[str, list[tuple[MonthItem, Replay]]] = defaultdict(list)
    for pair in replays:
        by_owner[pair[0].owner].append(pair)
    owners = []
    for name in sorted(set(by_owner) | set(sent) | set(reported_by)):
        mine = by_owner.get(name, [])
        counts = _counts(mine, hours=hours, fix_window=fix_window, escalations=sent.get(name, 0), reported=reported_by.get(name, 0))
        by_branch: dict[str, list[tuple[MonthItem, Replay]]] = defaultdict(list)
        for pair in mine:
            by_branch[pair[0].branch].append(pair)
        branches = tuple(
            BranchFigures(branch, _counts(by_branch[branch], hours=hours, fix_window=fix_window)) for branch in sorted(by_branch)
        )
        trend = Trend(previous=previous[name] if name in had_previous else None, current=counts.mistaken)
        penalty = None if per_item is None else counts.mistaken * per_item
        owners.append(OwnerFigures(name, counts, branches, trend, penalty))

    agent_figures = tuple(
        AgentFigures(agent=name, posted=a["posted"], disputed=a["disputed"], upheld=a["upheld"], penalty=a["penalty"], voided=a["voided"])
        for name, a in sorted(agents.items())
    )
    totals = _counts(replays, hours=hours, fix_window=fix_window, escalations=sum(sent.values()), reported=sum(reported_by.values()))
    corrections.sort(key=lambda c: (c.at, c.order_no))
    return MonthFigures(
        month=month, as_of=as_of, per_item=per_item, owners=tuple(owners), agents=agent_figures,
        corrections=tuple(corrections), totals=totals,
    )
