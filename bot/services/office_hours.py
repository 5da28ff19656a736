"""When the bot may speak to people: every DM and thread post to a person —
warnings, nudges, escalations, notices — waits for working time (a working
day of the ``WorkCalendar``, between ``timings.work_start`` and
``timings.work_end``); only the channel digest keeps its own time.

Read through ``deps.routing`` on each call: the routing may be swapped at
runtime (a reload), so nothing here is cached.

Exceptions, decided and kept here so they are not rediscovered:
- The digest's own DMs to the CS lead (records no owner covers, a digest
  stuck in delivery, the scheduled "digest missing" watch) run with the
  digest, on working days at ``digest_at``: they are the alarm about the
  channel digest and must reach the CS lead before the team starts.
- Direct answers to someone's own action (ephemeral replies, the DM that a
  parked request could not be carried out) go at once: the person just
  acted and is waiting for the answer.

Errors: none. A day without calendar data is not working time (the calendar
helper makes the bot say it is paused; here nothing is sent and nothing raised).
"""

from __future__ import annotations

from datetime import datetime

from bot.core.workcal import CalendarDataMissing
from bot.core.worktime import WorkingHours
from bot.services.deps import Deps


def working_hours(deps: Deps) -> WorkingHours:
    timings = deps.routing.timings
    return WorkingHours(deps.calendar, timings.work_start, timings.work_end, deps.timezone)


def may_message_people(deps: Deps, now: datetime) -> bool:
    """True in working time; False outside it, and on a day without calendar data."""
    try:
        return working_hours(deps).is_working_time(now)
    except CalendarDataMissing:
        return False
