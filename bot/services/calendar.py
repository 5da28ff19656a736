"""The calendar cliff: what the bot does about a year whose working days
nobody knows, and about a year it runs on Monday–Friday by the operator's
opt-in (``bot.core.workcal``).

- **Paused.** On a day whose year has no data (not in the package, no
  ``[calendar.years.<year>]``, not in ``[calendar] assume_weekdays``), the
  digest cannot tell whether it is due, nor any deadline: it pauses. The CS
  lead (DM) and the channel are told so once that day
  (``calendar-paused:<day>:lead`` / ``:channel``), with the year and the two
  routing-file keys that fix it — Monday to Friday, between the digest's
  time and the end of work; the digest's result carries the problem from the
  digest's time on, every day (``/healthz``, ``rejectbot digest``'s exit code 1).
- **Assumed.** While a year runs on assumed Monday–Friday — it is this year,
  or next year from 1 December — the CS lead is told so once a week, in
  working time (``calendar-assumed:<year>:<ISO week>``), and each digest
  message says so in its footer.
- **Coverage.** Which years are covered, and by what (``check-config``).

Errors: none; Slack failures are left for the next tick (``notices``).
"""

from __future__ import annotations

from datetime import date, datetime

from bot.core.formats import format_date
from bot.core.workcal import CalendarDataMissing, Coverage, WorkCalendar
from bot.core.worktime import WorkingHours
from bot.services.deps import Deps
from bot.services.notices import post_once

NEXT_YEAR_FROM = (12, 1)  # from 1 December, next year's calendar is in question too (as the sweep's warning)
COVERAGE_KEYS = {
    Coverage.PACKAGE: "calendar.coverage_package",
    Coverage.ROUTING_FILE: "calendar.coverage_routing_file",
    Coverage.ASSUMED: "calendar.coverage_assumed",
    None: "calendar.coverage_none",
}


def pause(deps: Deps, *, now: datetime, year: int) -> str:
    """The day's work needs ``year``'s calendar, which nobody has: tell the
    CS lead and the channel once today (from the digest's time); the
    problem, for ``/healthz`` and the CLI."""
    local = now.astimezone(deps.timezone)
    routing = deps.routing
    if _notice_time(local, routing.timings):
        day = local.date().isoformat()
        lead = deps.catalog_for(routing.cs_lead)  # the DM in the CS lead's language, the channel's in BOT_LOCALE
        text = lead.t("calendar.paused", year=year, day=format_date(local.date(), lead))
        post_once(deps, f"calendar-paused:{day}:lead", user=routing.cs_lead, text=text, now=now)
        text = deps.catalog.t("calendar.paused", year=year, day=format_date(local.date(), deps.catalog))
        post_once(deps, f"calendar-paused:{day}:channel", channel=routing.channel, text=text, now=now)
    return deps.catalog.t("calendar.paused_problem", year=year)


def _notice_time(local: datetime, timings) -> bool:
    """When the paused notice may go out, on a day whose working status is
    unknown: Monday to Friday, from the digest's time (the notice stands in
    for the digest) until the end of work — never at night or at weekends."""
    return local.weekday() < 5 and timings.digest_at <= local.time().replace(tzinfo=None) < timings.work_end


def years_in_question(today: date) -> list[int]:
    """This year, and next year from 1 December."""
    return [today.year] + ([today.year + 1] if (today.month, today.day) >= NEXT_YEAR_FROM else [])


def assumed_years(calendar: WorkCalendar, *days: date) -> tuple[int, ...]:
    """The years of ``days`` that run on assumed Monday–Friday."""
    return tuple(sorted({d.year for d in days if calendar.is_assumed(d.year)}))


def tell_assumed(deps: Deps, *, now: datetime) -> list[int]:
    """Once a week, in working time, remind the CS lead of each year in
    question that runs on assumed Monday–Friday; the years told now or before."""
    local = now.astimezone(deps.timezone)
    years = [y for y in years_in_question(local.date()) if deps.calendar.is_assumed(y)]
    if not years:
        return []
    timings = deps.routing.timings
    try:
        if not WorkingHours(deps.calendar, timings.work_start, timings.work_end, deps.timezone).is_working_time(now):
            return []
    except CalendarDataMissing:  # this year is unknown (the digest says so); next year's reminder waits
        return []
    iso = local.isocalendar()
    told = []
    for year in years:
        text = deps.catalog_for(deps.routing.cs_lead).t("calendar.assumed_dm", year=year)
        if post_once(deps, f"calendar-assumed:{year}:{iso.year}-W{iso.week:02d}", user=deps.routing.cs_lead, text=text, now=now):
            told.append(year)
    return told


def coverage_lines(calendar: WorkCalendar, catalog, *, today: date) -> list[str]:
    """``check-config``'s lines: this year and next, and every year the
    routing file names, each with what covers it."""
    overrides = calendar.overrides
    years = sorted({today.year, today.year + 1, *(y.year for y in overrides.years), *overrides.assume_weekdays})
    return [catalog.t(COVERAGE_KEYS[calendar.coverage(year)], year=year) for year in years]
