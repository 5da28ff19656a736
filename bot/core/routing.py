"""Who answers for what: the routing file's content as plain data.

Parsing and validation of the TOML file live in ``bot.config``; this module
is pure and holds only the model and its questions (who owns an item, what
role a Slack user has for an owner).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import time

from bot.core.lifecycle import Role

CATEGORIES = ("large", "small")


@dataclass(frozen=True, slots=True)
class Owner:
    name: str
    user: str
    categories: tuple[str, ...]
    branches: tuple[str, ...] = ()  # empty: every branch
    delegates: tuple[str, ...] = ()
    escalation: tuple[str, ...] = ()

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


@dataclass(frozen=True, slots=True)
class CalendarOverrides:
    days_off: frozenset = frozenset()  # of datetime.date
    working_days: frozenset = frozenset()


@dataclass(frozen=True, slots=True)
class Routing:
    channel: str
    cs_lead: str
    cs_agents: dict[str, str]  # callback agent name -> Slack user
    owners: tuple[Owner, ...]
    timings: Timings = field(default_factory=Timings)
    calendar: CalendarOverrides = field(default_factory=CalendarOverrides)

    def owner_for(self, category: str, branch: str) -> Owner | None:
        """The first owner, in file order, covering this delivery type and branch."""
        for owner in self.owners:
            if owner.covers(category, branch):
                return owner
        return None

    def owner_named(self, name: str) -> Owner | None:
        for owner in self.owners:
            if owner.name == name:
                return owner
        return None

    def role_for(self, user: str, owner: Owner | None) -> Role:
        """The role ``user`` has for an item of ``owner``."""
        if owner is not None:
            role = owner.role_of(user)
            if role is not None:
                return role
        if user == self.cs_lead:
            return Role.CS_LEAD
        if user in self.cs_agents.values():
            return Role.CS_AGENT
        return Role.OTHER

    def owners_acting_for(self, user: str) -> tuple[Owner, ...]:
        """Owners whose items ``user`` may answer (as owner, delegate or manager)."""
        return tuple(o for o in self.owners if o.role_of(user) is not None)

    def is_cs(self, user: str) -> bool:
        return user == self.cs_lead or user in self.cs_agents.values()
