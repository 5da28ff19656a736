"""The monthly notice (月度通报): its figures from the audit rows.

``figures_for`` loads a month (and the previous one, for the trend) as of a
moment and asks the pure core (``bot.core.monthly.compute_figures``).

Errors: ``bot.core.workcal.CalendarDataMissing`` (propagated) when a working
time to count lies in a year without calendar data.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from bot.core.monthly import Month, MonthFigures, MonthItem, compute_figures
from bot.core.worktime import WorkingHours
from bot.services.deps import Deps
from storage import monthly as m
from storage.db import transaction

log = logging.getLogger(__name__)
LEVELS = 2  # the follow-up ladder's escalation levels (bot.core.followup.thread_ladder: level1, level2)


def _hours(deps: Deps) -> WorkingHours:
    timings = deps.routing.timings
    return WorkingHours(calendar=deps.calendar, start=timings.work_start, end=timings.work_end, tz=deps.timezone)


def _fix_window(deps: Deps):
    routing = deps.routing

    def fix_window(owner: str) -> timedelta:
        named = routing.owner_named(owner)
        return (routing.policy_for(named) if named is not None else routing.follow_up).fix_window

    return fix_window


def _top_level(deps: Deps):
    """The last escalation level an owner's threads can reach: their chain's
    length, at most the ladder's levels; None for an owner no longer in the
    routing file (never counted as top)."""
    routing = deps.routing

    def top_level(owner: str) -> int | None:
        named = routing.owner_named(owner)
        if named is None or not named.escalation:
            return None
        return min(len(named.escalation), LEVELS)

    return top_level


def figures_for(deps: Deps, month: Month, as_of: datetime) -> tuple[MonthFigures, list[MonthItem]]:
    """The figures of ``month`` as of ``as_of``, and the month's items (with
    their history up to ``as_of``: what the XLSX lists)."""
    with transaction(deps.session_factory) as session:
        items, escalations, penalties = m.load_month(session, month=month, as_of=as_of, tz=deps.timezone, top_level=_top_level(deps))
        previous_items, _, _ = m.load_month(session, month=month.previous(), as_of=as_of, tz=deps.timezone)
    figures = compute_figures(
        month=month, as_of=as_of, items=items, previous_items=previous_items, escalations=escalations,
        penalties=penalties, hours=_hours(deps), fix_window=_fix_window(deps), per_item=deps.routing.penalties.logistics_per_item,
    )
    return figures, items
