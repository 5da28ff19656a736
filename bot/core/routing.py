"""Who answers for what: the routing file's content as plain data.

Parsing and validation of the TOML file live in ``bot.config``; this module
is pure and holds only the model and its questions (who owns an item, what
role a Slack user has for an owner).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from datetime import time, timedelta

from bot.core.lifecycle import Role

CATEGORIES = ("large", "small")


@dataclass(frozen=True, slots=True)
class FollowUpPolicy:
    """How long a thread may stay quiet, in working time, before each step."""

    quiet: timedelta = timedelta(hours=2)  # no owner activity -> nudge in the thread
    level1: timedelta = timedelta(hours=4)  # -> DM escalation[0] (operations-centre head)
    level2: timedelta = timedelta(hours=9)  # -> DM escalation[1] (company head): one working day
    fix_window: timedelta = timedelta(hours=18)  # a confirmed item needs its fix within 2 working days
    dispute_quiet: timedelta = timedelta(hours=4)  # an unresolved dispute -> nudge the callback agent
    dispute_escalate: timedelta = timedelta(hours=9)  # -> DM the CS lead
    daily_cap: int = 10  # follow-up messages per person per day, at most

    def to_json(self) -> str:
        return json.dumps({k: (v.total_seconds() if isinstance(v, timedelta) else v) for k, v in asdict(self).items()})

    @classmethod
    def from_json(cls, text: str) -> FollowUpPolicy:
        if not text:
            return cls()
        data = json.loads(text)
        values = {}
        for f in fields(cls):
            if f.name in data:
                values[f.name] = data[f.name] if f.name == "daily_cap" else timedelta(seconds=data[f.name])
        return cls(**values)


@dataclass(frozen=True, slots=True)
class Penalties:
    cs_wrong_callback: int = 50  # yuan, booked against the callback agent when a dispute is upheld
    logistics_per_item: int | None = None  # yuan per mistaken rejection booked against logistics (issue 8); None: not set


@dataclass(frozen=True, slots=True)
class ImportLimits:
    """What one import may hold, checked while the file is read."""

    max_rows: int = 200_000
    max_bytes: int = 50 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Privacy:
    retention_days: int = 365  # customer name and phone are masked in the database this long after an item closes


@dataclass(frozen=True, slots=True)
class Letters:
    """The routing file's ``[letters]``: the work contact letter (工作联系函)."""

    escalation_days: int = 3  # K: working days of a month with a top-level escalation that draft a letter
    reply_days: int = 5  # the reply deadline, in working days after the letter's date
    number_prefix: str = "KF"  # KF-2026-007
    from_: str | None = None  # the sending department on the letter (``from``); None: the catalog's default
    to: str | None = None  # the receiving department (``to``); None: the owner's name
    agreement: str | None = None  # what was agreed before, quoted in the letter's facts


@dataclass(frozen=True, slots=True)
class Owner:
    name: str
    user: str
    categories: tuple[str, ...]
    branches: tuple[str, ...] = ()  # empty: every branch
    delegates: tuple[str, ...] = ()
    escalation: tuple[str, ...] = ()
    follow_up: FollowUpPolicy | None = None  # None: the routing file's default

    def covers(self, category: str, branch: str) -> bool:
        return category in self.categories and (not self.branches or branch in self.branches)

    def role_of(self, user: str) -> Role | None:
        if user == self.user:
            return Role.OWNER
        if user in self.delegates:
            return Role.DELEGATE
        if user in self.escalation:
            return Role.MANAGER
        return None


@dataclass(frozen=True, slots=True)
class Timings:
    digest_at: time = time(8, 30)
    work_start: time = time(9, 0)
    work_end: time = time(18, 0)
    reaction_undo_minutes: int = 5
    min_window: timedelta = timedelta(hours=4)  # working time an owner has, at least, between a message appearing and its deadline


@dataclass(frozen=True, slots=True)
class CalendarYear:
    """One year's official schedule, as the State Council publishes it and the
    operator entered it (``[calendar.years.<year>]``): its holidays and its
    adjusted working days; every other day follows the weekday rule."""

    year: int
    holidays: frozenset = frozenset()  # of datetime.date, all in ``year``
    working_days: frozenset = frozenset()


@dataclass(frozen=True, slots=True)
class CalendarOverrides:
    """The routing file's ``[calendar]``: company days off and working days
    (over any calendar), whole years' schedules, and the years the operator
    opted into Monday–Friday for (``assume_weekdays``)."""

    days_off: frozenset = frozenset()  # of datetime.date
    working_days: frozenset = frozenset()
    years: tuple[CalendarYear, ...] = ()
    assume_weekdays: frozenset = frozenset()  # of int (years)

    def year(self, year: int) -> CalendarYear | None:
        for entry in self.years:
            if entry.year == year:
                return entry
        return None


@dataclass(frozen=True, slots=True)
class Routing:
    channel: str
    cs_lead: str
    cs_agents: dict[str, str]  # callback agent name -> Slack user
    owners: tuple[Owner, ...]
    timings: Timings = field(default_factory=Timings)
    calendar: CalendarOverrides = field(default_factory=CalendarOverrides)
    follow_up: FollowUpPolicy = field(default_factory=FollowUpPolicy)
    penalties: Penalties = field(default_factory=Penalties)
    imports: ImportLimits = field(default_factory=ImportLimits)
    privacy: Privacy = field(default_factory=Privacy)
    letters: Letters = field(default_factory=Letters)

    def policy_for(self, owner: Owner) -> FollowUpPolicy:
        return owner.follow_up or self.follow_up

    def agent_user(self, agent_name: str) -> str:
        """The Slack user of a callback agent, or the CS lead when unknown."""
        return self.cs_agents.get(agent_name.strip()) or self.cs_lead

    def owner_for(self, category: str, branch: str) -> Owner | None:
        """The first owner, in file order, covering this delivery type and branch."""
        for owner in self.owners:
            if owner.covers(category, branch):
                return owner
        return None

    def owner_now(self, stored: str | None, category: str, branch: str) -> Owner | None:
        """Who answers for an open item now: its stored owner while that owner
        is still in the file and still covers the item's delivery type and
        branch, else whoever covers it now (``owner_for``); None when nobody
        does. An owner renamed, replaced or narrowed in the routing file thus
        hands its open items on, while an overlap added later (another owner
        also covering them, earlier in the file) does not take them away."""
        owner = self.owner_named(stored) if stored else None
        if owner is not None and owner.covers(category, branch):
            return owner
        return self.owner_for(category, branch)

    def owner_named(self, name: str) -> Owner | None:
        for owner in self.owners:
            if owner.name == name:
                return owner
        return None

    def role_for(self, user: str, owner: Owner | None, stand_ins: Mapping[str, str] | None = None) -> Role:
        """The role ``user`` has for an item of ``owner``. ``stand_ins`` (the
        owner's Slack user -> the stand-in in force, from storage) makes a
        stand-in act like a delegate, for every entry of that owner under
        whatever name it has now."""
        if owner is not None:
            role = owner.role_of(user)
            if role is not None:
                return role
            if stand_ins and stand_ins.get(owner.user) == user:
                return Role.DELEGATE
        if user == self.cs_lead:
            return Role.CS_LEAD
        if user in self.cs_agents.values():
            return Role.CS_AGENT
        return Role.OTHER

    def owners_acting_for(self, user: str, stand_ins: Mapping[str, str] | None = None) -> tuple[Owner, ...]:
        """Owners whose items ``user`` may answer (as owner, delegate, manager
        or the stand-in in ``stand_ins``, keyed by the owner's Slack user)."""
        stand_ins = stand_ins or {}
        return tuple(o for o in self.owners if o.role_of(user) is not None or stand_ins.get(o.user) == user)

    def is_cs(self, user: str) -> bool:
        return user == self.cs_lead or user in self.cs_agents.values()
