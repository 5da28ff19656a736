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

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

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
    note: str
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


def items_of_month(items: Sequence[MonthItem], month: Month) -> list[MonthItem]:
    return [i for i in items if month.contains(i.digest_day)]
