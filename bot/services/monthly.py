"""The monthly notice (月度通报): its figures from the audit rows, posted
exactly once in the shared channel, with DMs to managers and agents.

- ``figures_for``: a month's figures as of a moment (and the previous month
  for the trend), from ``storage.monthly.load_month`` and the pure
  ``bot.core.monthly.compute_figures``.
- ``post_monthly``: the notice of a month, exactly once under the ledger key
  ``monthly:YYYY-MM`` (a correction: ``monthly:YYYY-MM:r<N>``), with the
  digest's discipline: the key is claimed with a lease in the transaction
  that stores the notice's ``as_of`` and figures (``monthly_notice``), so a
  run resuming a claim whose holder died posts the same figures. Every
  message carries its own key in its Slack metadata (the notice its claim's
  key; continuations ``…:c<page>``; DMs ``…:dm:<user>``); a resumed claim
  looks the notice up before posting it, and each further message is a
  ledger entry of its own. DMs wait for working time (the notice itself
  keeps the digest's time). While anything is unsent the claim is released
  for the next run (the ticker's job retries every minute, DMs from the
  opening); once all is sent it is finished. A rerun posts nothing and says where the notice is;
  ``reissue`` posts a correction only when the figures changed.
- ``post_monthly_if_due``: the ticker's job. On the first working day of a
  month, once that day's digest is done (``digest:<day>``), the previous
  month's notice; any day, an unfinished notice is resumed.
- ``month_to_date``: ``/reject month``, privately, scoped by role.

Errors: ``bot.core.workcal.CalendarDataMissing`` (propagated) when a working
time to count lies in a year without calendar data. Slack errors are caught,
recorded in the outcome's ``problem`` and retried by the next run.
"""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from slack_sdk.errors import SlackApiError

from bot.core.monthly import Month, MonthFigures, MonthItem, compute_figures
from bot.core.monthly_text import Message, agent_message, describe_changes, manager_messages, notice_messages, same_figures
from bot.core.workcal import CalendarDataMissing
from bot.core.worktime import WorkingHours
from bot.gateway import ReplyTo, SlackUnavailable, UploadRefused
from bot.i18n import Catalog
from bot.services import uploads
from bot.services.deps import Deps
from bot.services.office_hours import may_message_people
from storage import monthly as m
from storage import queries as q
from storage import standins
from storage.db import transaction
from storage.models import MonthlyNotice

log = logging.getLogger(__name__)


# Matplotlib (with NumPy, Pillow) and openpyxl take tens of MB: they are
# loaded when the month's files are first rendered, not when the bot starts,
# so that an idle `rejectbot run` stays small (bench/bench_run.py).


def render_trend_chart(series, *, catalog: Catalog, as_of_text: str) -> bytes:
    from bot.documents.chart import render_trend_chart as render

    return render(series, catalog=catalog, as_of_text=as_of_text)


def render_workbook(figures, items, *, catalog: Catalog, tz, masked: bool) -> bytes:
    from bot.documents.workbook import render_workbook as render

    return render(figures, items, catalog=catalog, tz=tz, masked=masked)
LEVELS = 2  # the follow-up ladder's escalation levels (bot.core.followup.thread_ladder: level1, level2)
LEASE = timedelta(minutes=10)  # a run's claim on a notice, renewed after every message it sends
LOOKUP_MARGIN = timedelta(minutes=1)  # a resumed notice is looked up from a little before its claim
SLACK_ERRORS = (SlackApiError, SlackUnavailable)
NOTICE_KEY = re.compile(r"monthly:(\d{4}-\d{2})(?::r(\d+))?")


class MonthlyState(StrEnum):
    POSTED = "posted"  # the notice (or, version > 0, its correction) is posted, and everything with it
    ALREADY_POSTED = "already_posted"  # nothing to do: ``link`` says where it is
    UNCHANGED = "unchanged"  # reissue: the figures are those of the notice posted (``link``)
    IN_PROGRESS = "in_progress"  # another run holds the claim right now
    UNFINISHED = "unfinished"  # something is still unsent (``problem``); the next run carries on


@dataclass
class MonthlyOutcome:
    state: MonthlyState
    month: Month
    version: int = 0
    link: str | None = None
    problem: str | None = None  # set while something due is not sent
    pending: int = 0  # messages still unsent
    waiting: int = 0  # DMs waiting for working time: the next run in working time sends them (not a problem)
    figures: MonthFigures | None = None


def notice_key(month: Month, version: int = 0) -> str:
    return f"monthly:{month}" if version == 0 else f"monthly:{month}:r{version}"


# --- the figures ------------------------------------------------------------------


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


def _route(deps: Deps):
    """The owner a record routes to now, by name (for a reported record never asked about)."""
    def route(category: str, branch: str) -> str | None:
        owner = deps.routing.owner_for(category, branch)
        return owner.name if owner else None

    return route


def figures_for(deps: Deps, month: Month, as_of: datetime) -> tuple[MonthFigures, list[MonthItem]]:
    """The figures of ``month`` as of ``as_of``, and the month's items (with
    their history up to ``as_of``: what the XLSX lists)."""
    with transaction(deps.session_factory) as session:
        items, escalations, penalties = m.load_month(session, month=month, as_of=as_of, tz=deps.timezone, top_level=_top_level(deps))
        previous_items, _, _ = m.load_month(session, month=month.previous(), as_of=as_of, tz=deps.timezone)
        reported = m.load_reported(session, month=month, as_of=as_of, route=_route(deps))
    figures = compute_figures(
        month=month, as_of=as_of, items=items, previous_items=previous_items, escalations=escalations,
        penalties=penalties, hours=_hours(deps), fix_window=_fix_window(deps), per_item=deps.routing.penalties.logistics_per_item,
        reported=reported,
    )
    return figures, items


def posted_figures(deps: Deps, month: Month) -> MonthFigures | None:
    """The figures of ``month``'s latest notice in the channel (a correction's
    when one was posted), or None while none is."""
    with transaction(deps.session_factory) as session:
        notice = m.find_latest_notice(session=session, month=month, posted=True)
        return MonthFigures.from_json(notice.figures) if notice is not None else None


# --- posting ------------------------------------------------------------------------


def _error_text(error: Exception) -> str:
    response = getattr(error, "response", None)
    code = response.get("error") if response is not None and hasattr(response, "get") else None
    return str(code or getattr(error, "reason", None) or type(error).__name__)


def _link(deps: Deps, notice: MonthlyNotice) -> str:
    """The notice's permalink; its channel and ts when Slack cannot give one."""
    try:
        return deps.notifier.permalink(notice.channel, notice.ts)
    except SLACK_ERRORS as error:  # a link is a courtesy: say where it is anyway
        log.warning("no permalink for the monthly notice %s %s: %s", notice.channel, notice.ts, _error_text(error))
        return f"<#{notice.channel}> {notice.ts}"


def post_monthly(deps: Deps, *, month: Month, now: datetime, reissue: bool = False) -> MonthlyOutcome:
    """Post ``month``'s notice once (see the module's docstring); with
    ``reissue``, a correction of the last one posted, only if its figures
    changed. Safe to call any number of times, from any number of processes."""
    with transaction(deps.session_factory) as session:
        latest = m.find_latest_notice(session=session, month=month)
        settled = latest is not None and _is_done(session, notice_key(month, latest.version))
    figures = items = None
    if reissue and latest is not None and latest.ts and settled:  # else the unfinished one is finished first
        figures, items = figures_for(deps, month, now)
        if same_figures(MonthFigures.from_json(latest.figures), figures):
            return MonthlyOutcome(MonthlyState.UNCHANGED, month, latest.version, link=_link(deps, latest), figures=figures)
        version = latest.version + 1
    else:
        version = latest.version if latest is not None else 0
    key = notice_key(month, version)
    with transaction(deps.session_factory) as session:
        effect = q.find_effect(session=session, key=key)
    if effect is not None and effect.done_at is not None:
        return _already(deps, month, version)
    if effect is not None and effect.lease_until > now:
        return MonthlyOutcome(MonthlyState.IN_PROGRESS, month, version)
    if figures is None and (latest is None or latest.version != version):
        figures, items = figures_for(deps, month, now)  # computed outside the claim's transaction (SQLite: one writer at a time)

    with transaction(deps.session_factory) as session:
        claim = q.claim_effect(session=session, key=key, now=now, lease=LEASE)
        if claim is q.Claim.DONE:
            notice = None
        elif claim is q.Claim.BUSY:
            return MonthlyOutcome(MonthlyState.IN_PROGRESS, month, version)
        else:
            notice = m.find_notice(session=session, month=month, version=version)
            if notice is None:  # the first claim: the as-of moment and the figures are fixed here
                if figures is None:  # a row was expected but is gone: the claim's key was made by hand
                    q.release_effect(session=session, key=key, now=now)
                    return MonthlyOutcome(MonthlyState.IN_PROGRESS, month, version)
                previous = m.find_latest_notice(session=session, month=month, posted=True) if version else None
                notice = m.create_notice(session=session, notice=MonthlyNotice(
                    month=str(month), version=version, as_of=figures.as_of, figures=figures.to_json(),
                    channel=deps.routing.channel, created_at=now, correction_of=previous.id if previous else None,
                ))
            else:
                log.info("resuming the monthly notice %s left unfinished by an earlier run", key)
            session.expunge(notice)
    if notice is None:
        return _already(deps, month, version)
    if items is None or figures is None or figures.as_of != notice.as_of:  # resumed: the items as of the first claim's moment
        items = figures_for(deps, month, notice.as_of)[1]
    figures = MonthFigures.from_json(notice.figures)  # what the first claim fixed, whoever resumes it
    return _deliver(deps, notice, figures, items, key=key, holder=now, resumed=claim is q.Claim.RESUMED)


def _is_sent(deps: Deps, key: str) -> bool:
    with transaction(deps.session_factory) as session:
        return _is_done(session, key)


def _is_done(session, key: str) -> bool:
    effect = q.find_effect(session=session, key=key)
    return effect is not None and effect.done_at is not None


def _already(deps: Deps, month: Month, version: int) -> MonthlyOutcome:
    with transaction(deps.session_factory) as session:
        notice = m.find_notice(session=session, month=month, version=version)
    link = _link(deps, notice) if notice is not None and notice.ts else None
    return MonthlyOutcome(MonthlyState.ALREADY_POSTED, month, version, link=link)


def _deliver(deps: Deps, notice: MonthlyNotice, figures: MonthFigures, items: Sequence[MonthItem], *, key: str, holder: datetime, resumed: bool) -> MonthlyOutcome:
    month = Month.parse(notice.month)
    cat, tz = deps.catalog, deps.timezone
    old = changes = None
    corrected_link = ""
    if notice.correction_of is not None:
        with transaction(deps.session_factory) as session:
            corrected = session.get(MonthlyNotice, notice.correction_of)
            session.expunge(corrected)
        old = MonthFigures.from_json(corrected.figures)
        changes = describe_changes(old, figures, cat)
        corrected_link = _link(deps, corrected)
    messages = notice_messages(figures, cat, tz, version=notice.version, changes=changes or (), corrected_link=corrected_link)
    outcome = MonthlyOutcome(MonthlyState.POSTED, month, notice.version, figures=figures)
    if not notice.ts:
        try:
            ts = deps.notifier.lookup_by_key(notice.channel, key, since=notice.created_at - LOOKUP_MARGIN) if resumed else None
            if ts is None:
                text, blocks = messages[0]
                ts = deps.notifier.post_message(notice.channel, text=text, blocks=blocks, key=key)
        except SLACK_ERRORS as error:  # recorded; the next run looks it up before posting
            log.warning("the monthly notice %s was not posted: %s", key, _error_text(error))
            with transaction(deps.session_factory) as session:
                q.release_effect(session=session, key=key, now=deps.clock.now(), holder=holder)
            outcome.state, outcome.problem, outcome.pending = MonthlyState.UNFINISHED, deps.catalog.t(
                "monthly.failed", month=str(month), error=_error_text(error)), 1
            return outcome
        with transaction(deps.session_factory) as session:
            m.set_notice_posted(session=session, notice_id=notice.id, ts=ts, now=deps.clock.now())
            held = q.renew_effect(session=session, key=key, until=deps.clock.now() + LEASE, holder=holder)
        notice.ts = ts
        if not held:
            log.warning("the monthly notice %s was taken over by another run; this one stops", key)
            outcome.link = _link(deps, notice)
            return outcome
    outcome.link = _link(deps, notice)

    failures: list[str] = []
    for page, (text, blocks) in enumerate(messages[1:], start=2):
        _send(deps, f"{key}:c{page}", channel=notice.channel, text=text, blocks=blocks, thread_ts=notice.ts, failures=failures)
    _attachments(deps, notice, figures, items, key=key, failures=failures)
    dms = _direct_messages(deps, figures, old, version=notice.version, changes=changes or (), corrected_link=corrected_link)
    if may_message_people(deps, deps.clock.now()):
        _lead_workbook(deps, notice, figures, items, key=key, failures=failures)  # the CS lead's full copy is a DM too
    else:
        # DMs wait for working time (office_hours); the notice itself keeps the digest's time
        outcome.waiting = sum(1 for user, _ in dms if not _is_sent(deps, f"{key}:dm:{user}"))
        outcome.waiting += uploads.find_shared(deps, f"{key}:xlsx-lead") is None
        dms = []
    for user, dm in dms:
        first = _send(deps, f"{key}:dm:{user}", user=user, text=dm[0][0], blocks=dm[0][1], failures=failures)
        for page, (text, blocks) in enumerate(dm[1:], start=2):
            if first is not None:
                _send(deps, f"{key}:dm:{user}:c{page}", channel=first[0], text=text, blocks=blocks, thread_ts=first[1], failures=failures)
    with transaction(deps.session_factory) as session:
        if failures or outcome.waiting:
            q.release_effect(session=session, key=key, now=deps.clock.now(), holder=holder)
        else:
            q.finish_effect(session=session, key=key, now=deps.clock.now(), detail=f"{notice.channel} {notice.ts}", holder=holder)
    if failures:
        outcome.state, outcome.pending = MonthlyState.UNFINISHED, len(failures)
        outcome.problem = cat.t("monthly.unfinished", month=str(month), link=outcome.link, count=len(failures), error=failures[0])
    log.info("monthly notice %s: %s", key, outcome.state)
    return outcome


CHART_MONTHS = 6  # the chart's months, the notice's month the last


def _attachments(
    deps: Deps, notice: MonthlyNotice, figures: MonthFigures, items: Sequence[MonthItem], *, key: str, failures: list[str],
) -> None:
    """The notice's files in its thread, each once (``bot.services.uploads``):
    the chart of the last six months (``<key>:chart``) and the workbook with
    customer data masked as the channel shows it (``<key>:xlsx``). Every
    figure is as of the notice's ``as_of``. A file not shared is appended to
    ``failures``: the claim is released and the next run shares it."""
    month = Month.parse(notice.month)
    cat = deps.catalog
    as_of = notice.as_of.astimezone(deps.timezone).strftime("%Y-%m-%d %H:%M")
    files = [
        (f"{key}:chart", f"rejectbot-{month}-chart.png", cat.t("monthly.chart_title", month=str(month)),
         lambda: render_trend_chart(_series(deps, month, notice.as_of, figures), catalog=cat, as_of_text=as_of)),
        (f"{key}:xlsx", f"rejectbot-{month}.xlsx", cat.t("monthly.workbook_title", month=str(month)),
         lambda: render_workbook(figures, items, catalog=cat, tz=deps.timezone, masked=True)),
    ]
    for file_key, filename, title, render in files:
        _upload(deps, file_key, channel=notice.channel, thread_ts=notice.ts, filename=filename, title=title, render=render, failures=failures)


def _lead_workbook(deps: Deps, notice: MonthlyNotice, figures: MonthFigures, items: Sequence[MonthItem], *, key: str, failures: list[str]) -> None:
    """The CS lead's full copy of the workbook (customer data unmasked), by DM."""
    month = Month.parse(notice.month)
    cat = deps.catalog_for(deps.routing.cs_lead)  # a DM: in the CS lead's language
    _upload(
        deps, f"{key}:xlsx-lead", channel=deps.routing.cs_lead, thread_ts=None, filename=f"rejectbot-{month}-full.xlsx",
        title=cat.t("monthly.workbook_lead_title", month=str(month)), comment=cat.t("monthly.workbook_lead_comment", month=str(month)),
        render=lambda: render_workbook(figures, items, catalog=cat, tz=deps.timezone, masked=False), failures=failures,
    )


def _upload(
    deps: Deps, key: str, *, channel: str, thread_ts: str | None, filename: str, title: str, render, failures: list[str],
    comment: str | None = None,
) -> None:
    if uploads.find_shared(deps, key) is not None:
        return  # shared by an earlier run: not even rendered again
    try:
        uploads.upload_once(deps, key=key, channel=channel, filename=filename, content=render(), title=title, comment=comment, thread_ts=thread_ts)
    except uploads.UploadBusy:
        failures.append(deps.catalog.t("delivery.busy_elsewhere"))
    except uploads.UploadConflict as error:  # a bug, not Slack: said once per run, never a traceback that stops the notice
        log.error("monthly file %s: %s", key, error)
        failures.append(str(error))
    except (*SLACK_ERRORS, UploadRefused) as error:  # recorded by upload_once; the next run carries on from there
        log.warning("monthly file %s not shared: %s", key, _error_text(error))
        failures.append(_error_text(error))


def _series(deps: Deps, month: Month, as_of: datetime, figures: MonthFigures) -> dict[str, list[tuple[Month, int]]]:
    """Mistaken rejections per owner over the last ``CHART_MONTHS`` months
    ending with ``month``, each as of ``as_of`` (the notice's moment). Every
    month from the first with any items (the bot's first month, at the
    earliest) is on the chart, for every owner: a month without items for an
    owner is a 0 for them, not a gap, and a month without any items at all
    is not left out."""
    months = [month]
    while len(months) < CHART_MONTHS:
        months.insert(0, months[0].previous())
    per_month = {shown: figures if shown == month else figures_for(deps, shown, as_of)[0] for shown in months}
    shown_months = months[next(i for i, shown in enumerate(months) if per_month[shown].owners or shown == month):]
    owners = sorted({o.owner for shown in shown_months for o in per_month[shown].owners})
    series: dict[str, list[tuple[Month, int]]] = {}
    for owner in owners:
        counted = {shown: per_month[shown].owner(owner) for shown in shown_months}
        series[owner] = [(shown, found.counts.mistaken if found else 0) for shown, found in counted.items()]
    return series


def _send(
    deps: Deps, key: str, *, text: str, blocks: list[dict], failures: list[str], channel: str | None = None,
    user: str | None = None, thread_ts: str | None = None,
) -> tuple[str, str] | None:
    """Post once under ``key`` (to ``channel``, or as a DM to ``user``): the
    ledger claims it, a resumed claim looks the message up first. Returns
    (channel, ts) once it is in Slack; None (with the reason appended to
    ``failures``) when it is not, or another run is sending it right now."""
    now = deps.clock.now()
    with transaction(deps.session_factory) as session:
        claim = q.claim_effect(session=session, key=key, now=now, lease=LEASE)
        effect = q.find_effect(session=session, key=key) if claim is q.Claim.DONE else None
        detail = effect.detail if effect is not None else ""
    if claim is q.Claim.DONE:
        where, _, ts = detail.partition(" ")
        return where, ts
    if claim is q.Claim.BUSY:
        failures.append(deps.catalog.t("delivery.busy_elsewhere"))
        return None
    try:
        where = channel or deps.notifier.open_dm(user)
        ts = deps.notifier.lookup_by_key(where, key, thread_ts=thread_ts) if claim is q.Claim.RESUMED else None
        if ts is None:
            ts = deps.notifier.post_message(where, text=text, blocks=blocks, thread_ts=thread_ts, key=key)
    except SLACK_ERRORS as error:  # recorded; the next run tries again, looking first
        log.warning("monthly message %s not sent: %s", key, _error_text(error))
        with transaction(deps.session_factory) as session:
            q.release_effect(session=session, key=key, now=deps.clock.now())
        failures.append(_error_text(error))
        return None
    with transaction(deps.session_factory) as session:
        q.finish_effect(session=session, key=key, now=deps.clock.now(), detail=f"{where} {ts}")
    return where, ts


def managers_below(deps: Deps, owners: Sequence[str]) -> dict[str, list[str]]:
    """Each manager of an escalation chain -> the owners (of ``owners``) whose chain they are in."""
    below: dict[str, list[str]] = defaultdict(list)
    for owner in deps.routing.owners:
        if owner.name in owners:
            for manager in owner.escalation:
                if owner.name not in below[manager]:
                    below[manager].append(owner.name)
    return dict(below)


def _direct_messages(
    deps: Deps, figures: MonthFigures, old: MonthFigures | None, *, version: int, changes: Sequence[str], corrected_link: str,
) -> list[tuple[str, list[Message]]]:
    """(user, messages) of every DM the notice sends: each manager the
    figures of the owners below them, each agent with a penalty their part.
    A correction goes only to those whose part changed."""
    tz = deps.timezone  # each DM in its reader's language (``Deps.catalog_for``)
    out: list[tuple[str, list[Message]]] = []
    for manager, owners in sorted(managers_below(deps, [o.owner for o in figures.owners]).items()):
        if old is not None and all(old.owner(o) == figures.owner(o) for o in owners):
            continue
        out.append((manager, manager_messages(figures, owners, deps.catalog_for(manager), tz, version=version, changes=changes, corrected_link=corrected_link)))
    before = {a.agent: a for a in old.agents} if old is not None else {}
    for agent in figures.agents:
        if agent.penalty <= 0 or (old is not None and before.get(agent.agent) == agent):
            continue
        user = deps.routing.cs_agents.get(agent.agent.strip())
        if user is None:
            log.warning("callback agent %r is not in the routing file's cs_agents: no DM of their monthly part", agent.agent)
            continue
        out.append((user, [agent_message(figures, agent, deps.catalog_for(user), version=version)]))
    return out


# --- the ticker's job ------------------------------------------------------------


def first_working_day(deps: Deps, month: Month) -> date:
    day = month.first_day
    while not deps.calendar.is_working_day(day):
        day += timedelta(days=1)
    return day


def post_monthly_if_due(deps: Deps, *, now: datetime) -> MonthlyOutcome | None:
    """Resume any unfinished notice; on the first working day of a month,
    once that day's digest is done, post the previous month's. None when
    nothing was due. Without calendar data for today nothing is due (the
    digest pauses and says so); without it for a working time the figures
    count, the outcome's ``problem`` says so, and the next tick tries again."""
    try:
        return _post_monthly_if_due(deps, now=now)
    except CalendarDataMissing as missing:
        local = now.astimezone(deps.timezone).date()
        if missing.year == local.year:
            return None  # the digest's pause tells the CS lead and the channel
        log.warning("monthly notice: %s", missing)
        month = Month.of(local).previous()
        return MonthlyOutcome(MonthlyState.UNFINISHED, month, problem=deps.catalog.t("monthly.calendar_missing", month=str(month), year=missing.year))


def _post_monthly_if_due(deps: Deps, *, now: datetime) -> MonthlyOutcome | None:
    from bot.services.digest import digest_key  # the digest's key is its module's to name

    outcome = None
    with transaction(deps.session_factory) as session:
        unfinished = [e.key for e in q.list_unfinished_effects(session=session, prefixes=["monthly:"], now=now)]
    for key in unfinished:
        match = NOTICE_KEY.fullmatch(key)
        if match is None:
            continue
        month = Month.parse(match.group(1))
        if not may_message_people(deps, now):  # a posted notice has only DMs left, and they wait for working time
            with transaction(deps.session_factory) as session:
                notice = m.find_notice(session=session, month=month, version=int(match.group(2) or 0))
            if notice is not None and notice.ts:
                continue
        outcome = post_monthly(deps, month=month, now=now, reissue=match.group(2) is not None)
    if outcome is not None:
        return outcome  # one notice a tick: today's, if due, at the next
    day = now.astimezone(deps.timezone).date()
    if not deps.calendar.is_working_day(day) or first_working_day(deps, Month.of(day)) != day:
        return outcome
    with transaction(deps.session_factory) as session:
        digest = q.find_effect(session=session, key=digest_key(day))
        if digest is None or digest.done_at is None:
            return outcome  # after the day's digest: the next tick looks again
        effect = q.find_effect(session=session, key=notice_key(Month.of(day).previous()))
    if effect is not None and effect.done_at is not None:
        return outcome
    previous = Month.of(day).previous()
    with transaction(deps.session_factory) as session:
        if not m.has_items(session=session, month=previous):
            log.info("no monthly notice for %s: no digest had items that month (rejectbot monthly posts one anyway)", previous)
            return outcome
    return post_monthly(deps, month=previous, now=now)


# --- /reject month -----------------------------------------------------------------


def month_to_date(deps: Deps, *, actor: str, reply_to: ReplyTo) -> bool:
    """``/reject month``: the current month so far, privately. CS sees
    everything; owners, delegates, stand-ins and managers the owners they act
    for; anyone else a polite refusal. False when refused."""
    now = deps.clock.now()
    routing = deps.routing
    if routing.is_cs(actor):
        owners = None
    else:
        with transaction(deps.session_factory) as session:
            stand_ins = standins.in_force_by_owner_user(session=session, now=now)
        owners = [o.name for o in routing.owners_acting_for(actor, stand_ins)]
        if not owners:
            deps.notifier.reply(reply_to, deps.catalog_for(actor).t("monthly.month_refused"))
            return False
    figures, _ = figures_for(deps, Month.of(now.astimezone(deps.timezone).date()), now)
    if owners is not None and not any(figures.owner(o) for o in owners):
        deps.notifier.reply(reply_to, deps.catalog_for(actor).t("monthly.month_none"))
        return True
    for text, blocks in notice_messages(figures, deps.catalog_for(actor), deps.timezone, owners=owners, show_cs=owners is None, to_date=True):
        deps.notifier.reply(reply_to, text, blocks=blocks)
    return True

