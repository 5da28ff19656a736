"""The App Home tab: each person's work, published with views.publish
(rendering: ``bot.core.home``).

- ``open_home``: ``app_home_opened`` — the person is noted (``home_view``)
  and their Home rendered and published at once; published again even when
  unchanged if Slack shows another view than our last (the event's
  ``view.hash`` is not the one we stored: a Home never published, or lost).
- ``refresh_home``: after someone's own change to items (any surface:
  ``bot.services.answers`` calls it once the answer is sent), their own
  Home at once, if they ever opened it: they may be looking at it.
- ``refresh_homes``: the ticker's job, for everyone else concerned. How a
  Home learns of a change: the job reads cheap *change marks* (the newest
  row id of every table a Home shows: each an index look-up); when they
  moved since its last pass — or ``FULL_EVERY`` has passed, for what only
  time changes (a deadline passed, a new day) — it loads the facts everyone
  shares once (the month's figures, letters, reports, failed sends), then
  each opened Home's own lists (``storage.home.list_home_items``: the first
  ``LIST_SHOWN`` of each and a count, so a Home costs the same whatever the
  number of open records), renders it and publishes only those whose
  rendering changed (``content_hash``). Nobody's request waits
  for other people's Homes, no change path needs to know who is concerned
  (the rendering decides), and every surface (buttons, commands, the CLI,
  the scheduler) is covered alike. A publish is idempotent, so a pass
  repeated (two replicas, a crash) does no harm.
- ``show_section``: the "and N more" button: the whole list of one section
  in a modal.

Only people who opened their Home are published to. Errors: none raised;
Slack failures are recorded on the person's row (``attempts``, ``error``)
and retried by the next pass.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from slack_sdk.errors import SlackApiError

from bot.core.home import (
    REPORT_DAYS,
    HomeData,
    HomeEscalation,
    HomeLetter,
    HomeReport,
    ReportState,
    find_section,
    home_view,
    list_queries,
    roles_of,
    section_modal,
    sections_for,
    view_hash,
)
from bot.core.letters import LetterStatus
from bot.core.monthly import Month
from bot.core.workcal import CalendarDataMissing
from bot.gateway import ReplyTo, SlackUnavailable
from bot.services.calendar import coverage_lines
from bot.services.deps import Deps
from bot.services.monthly import figures_for
from bot.services.reports import recent_reports
from storage import home as store
from storage import letters as letter_store
from storage import standins
from storage.db import reading, transaction

log = logging.getLogger(__name__)
FULL_EVERY = timedelta(minutes=10)  # a pass even without changes: deadlines pass, days change
FAILED_SHOWN = 50  # failed sends of each kind loaded for the CS lead
REPORTS_SHOWN = 200  # the recent legitimate-rejection reports loaded for the CS lead (held ones: all); beyond the Home, its "and N more" modal
PUBLISH_MOST = 80  # Homes published per pass at most (views.publish: Tier 4, 100+ a minute)
LIST_SHOWN = 40  # items of each list loaded for a Home: the first 40 at most show, the rest behind "…and N more"
MODAL_SHOWN = 1000  # items of one list loaded for its "show all" modal (which says how many more, and where to find them)
RETRY_EVERY_TICK = 5  # failed publishes retried each tick; after that, with the next change or full pass
SLACK_ERRORS = (SlackApiError, SlackUnavailable)


@dataclass
class HomesReport:
    """What one pass of the ticker's job did."""

    rendered: int = 0
    published: int = 0
    failed: int = 0
    skipped: bool = False  # nothing changed: no pass
    unfinished: bool = False  # more Homes to publish than a pass does: the next pass carries on
    problem: str | None = None
    users: list[str] = field(default_factory=list)  # published


def _error_text(error: Exception) -> str:
    response = getattr(error, "response", None)
    code = response.get("error") if response is not None and hasattr(response, "get") else None
    return str(code or getattr(error, "reason", None) or type(error).__name__)


# --- the facts ---------------------------------------------------------------------------


def load_data(deps: Deps, *, now: datetime, figures: bool = True) -> HomeData:
    """What every Home shares, as of ``now`` (no lists of items: ``with_lists``
    adds one person's): a few queries, and the month's figures (as ``/reject
    month`` computes them) when ``figures``."""
    month = Month.of(now.astimezone(deps.timezone).date())
    with reading(deps.session_factory) as session:  # reads only: it holds up no writer
        stand_ins = standins.in_force_by_owner_user(session=session, now=now)
        letters = [
            HomeLetter(id=letter.id, owner=letter.owner, month=letter.month, reason=letter.reason, created_at=letter.created_at)
            for letter in letter_store.list_letters(session=session, statuses=[LetterStatus.DRAFT])
        ]
        start = datetime.combine(month.first_day, datetime.min.time(), deps.timezone)
        escalations = [
            HomeEscalation(owner=owner, level=level, recipient=recipient, sent_at=sent_at)
            for owner, level, recipient, sent_at in letter_store.list_escalations(session=session, since=start, until=now + timedelta(seconds=1))
        ]
        failed = store.list_failed_sends(session=session, limit=FAILED_SHOWN)
        held = [
            HomeReport(
                id=r.id, order_no=r.order_no, reason=r.reason, note=r.note, reporter=r.reporter, reporter_owner=r.reporter_owner,
                created_at=r.created_at, state=ReportState.HELD, callback_agent=item.callback_agent,
            )
            for r, item in store.list_held_reports(session=session)
        ]
    agents = {r.id: r.callback_agent for r in held}
    recent = [
        HomeReport(
            id=r.report_id, order_no=r.order_no, reason=r.reason, note=r.note, reporter=r.reporter, reporter_owner=r.reporter_owner,
            created_at=r.created_at, state=str(r.state), callback_agent=agents.get(r.report_id),
        )
        for r in recent_reports(deps, days=REPORT_DAYS, limit=REPORTS_SHOWN)
    ]
    shown = {r.id for r in recent}
    reports = sorted(recent + [r for r in held if r.id not in shown], key=lambda r: (r.created_at, r.id), reverse=True)
    reports.sort(key=lambda r: r.state != ReportState.HELD)  # what waits on CS first, each part newest first
    month_figures = None
    if figures:
        try:
            month_figures = figures_for(deps, month, now)[0]
        except CalendarDataMissing:  # the digest pauses and says so; the Home shows the rest
            log.warning("App Home: no month figures without the calendar of the year")
    return HomeData(
        stand_ins=stand_ins, figures=month_figures, escalations=escalations, letters=letters, failed=failed, now=now,
        reports=reports,
    )


def render(deps: Deps, user: str, data: HomeData) -> dict:
    """``user``'s Home in their language (``Deps.catalog_for``)."""
    catalog = deps.catalog_for(user)
    if user == deps.routing.cs_lead and data.now is not None:  # the calendar's coverage, in the lead's words
        data = replace(data, calendar=coverage_lines(deps.calendar, catalog, today=data.now.astimezone(deps.timezone).date()))
    return home_view(user, data, deps.routing, catalog, deps.timezone)


def with_lists(deps: Deps, user: str, data: HomeData, *, limit: int = LIST_SHOWN) -> HomeData:
    """``data`` with ``user``'s own lists of items: three statements each (the
    first ``limit`` items and a count), whatever the number of open records."""
    queries = list_queries(roles_of(user, deps.routing, data.stand_ins))
    with reading(deps.session_factory) as session:
        lists = {q.key: store.list_home_items(session=session, query=q, routing=deps.routing, limit=limit) for q in queries}
        for found in lists.values():
            for item in found.items:
                session.expunge(item)
    return replace(data, lists=lists)


def _data_for(deps: Deps, user: str, now: datetime, *, limit: int = LIST_SHOWN) -> HomeData:
    """The facts one person's Home needs (no month figures for someone with no role)."""
    with transaction(deps.session_factory) as session:
        stand_ins = standins.in_force_by_owner_user(session=session, now=now)
    return with_lists(deps, user, load_data(deps, now=now, figures=roles_of(user, deps.routing, stand_ins).any), limit=limit)


# --- publishing -------------------------------------------------------------------------


def _publish(deps: Deps, user: str, view: dict, *, force: bool, data_again=None) -> bool | None:
    """Publish ``view`` unless Slack shows it already (``force``: publish
    anyway). True: published; False: unchanged; None: Slack failed (recorded).
    A publish refused because another came in between (``hash_conflict``) is
    rendered again from fresh facts (``data_again``) and published over it."""
    content = view_hash(view)
    with transaction(deps.session_factory) as session:
        home = store.find_home(session=session, user=user)
    if home is None:
        return False
    if not force and home.content_hash == content:
        return False
    try:
        try:
            shown = deps.notifier.publish_home(user, view, hash=home.slack_hash or None)
        except SlackApiError as error:
            if _error_text(error) != "hash_conflict":
                raise
            log.info("the Home of %s was published meanwhile: rendered again", user)
            if data_again is not None:
                view = render(deps, user, data_again())
                content = view_hash(view)
            shown = deps.notifier.publish_home(user, view)
    except SLACK_ERRORS as error:
        log.warning("the Home of %s was not published: %s", user, _error_text(error))
        with transaction(deps.session_factory) as session:
            store.set_failed(session=session, user=user, error=_error_text(error))
        return None
    with transaction(deps.session_factory) as session:
        store.set_published(session=session, user=user, content_hash=content, slack_hash=shown or "", now=deps.clock.now())
    return True


def open_home(deps: Deps, *, user: str, shown_hash: str | None) -> bool:
    """``user`` opened their Home tab (``shown_hash``: Slack's hash of the
    view it shows, None when none was ever published): note them, and publish
    their Home. True when it was published."""
    now = deps.clock.now()
    with transaction(deps.session_factory) as session:
        before = store.find_home(session=session, user=user)
        store.note_opened(session=session, user=user, now=now)
    force = before is None or not shown_hash or shown_hash != before.slack_hash
    view = render(deps, user, _data_for(deps, user, now))
    return bool(_publish(deps, user, view, force=force, data_again=lambda: _data_for(deps, user, deps.clock.now())))


def refresh_home(deps: Deps, *, user: str) -> bool:
    """``user``'s Home now, if they ever opened it (after their own click)."""
    with transaction(deps.session_factory) as session:
        if store.find_home(session=session, user=user) is None:
            return False
    view = render(deps, user, _data_for(deps, user, deps.clock.now()))
    return bool(_publish(deps, user, view, force=False, data_again=lambda: _data_for(deps, user, deps.clock.now())))


class HomeRefresher:
    """The ticker's job: remembers the change marks of its last pass (in
    memory: after a restart the first pass is a full one)."""

    def __init__(self, *, publish_most: int = PUBLISH_MOST) -> None:
        self.publish_most = publish_most
        self._lock = threading.Lock()
        self._marks: tuple | None = None
        self._passed_at: datetime | None = None

    def run(self, deps: Deps, *, now: datetime | None = None, force: bool = False) -> HomesReport:
        now = now or deps.clock.now()
        if not self._lock.acquire(blocking=False):  # a pass is running in this process
            return HomesReport(skipped=True)
        try:
            with transaction(deps.session_factory) as session:
                homes = list(store.list_homes(session=session))
                if not homes:  # nobody opened their Home: nothing to keep up to date
                    return HomesReport(skipped=True)
                marks = store.change_marks(session=session) + (now.astimezone(deps.timezone).date(), id(deps.routing))
            behind = any(h.error and h.attempts < RETRY_EVERY_TICK for h in homes)  # a publish failed lately: try again
            due = force or behind or marks != self._marks or self._passed_at is None or now - self._passed_at >= FULL_EVERY
            if not due:
                return HomesReport(skipped=True)
            report = refresh_all(deps, [h.user for h in homes], now=now, most=self.publish_most)
            if not report.failed and not report.unfinished:
                self._marks, self._passed_at = marks, now
            return report
        finally:
            self._lock.release()


def refresh_all(deps: Deps, users: list[str], *, now: datetime, most: int = PUBLISH_MOST) -> HomesReport:
    """Render every one of ``users``' Homes from one load of what they share
    and each one's own lists; publish those that changed, ``most`` at most
    (the rest: ``unfinished``)."""
    report = HomesReport()
    shared = load_data(deps, now=now)
    for user in users:
        if report.published >= most:
            break  # the rest at the next tick (their marks are not recorded as seen)
        view = render(deps, user, with_lists(deps, user, shared))
        report.rendered += 1
        done = _publish(deps, user, view, force=False, data_again=lambda user=user: _data_for(deps, user, deps.clock.now()))
        if done is None:
            report.failed += 1
        elif done:
            report.published += 1
            report.users.append(user)
    report.unfinished = report.rendered < len(users)
    if report.failed:
        report.problem = f"{report.failed} App Home(s) not published; retried at the next tick"
    return report


# --- "and N more" ----------------------------------------------------------------------


def show_section(deps: Deps, *, user: str, key: str, trigger_id: str, reply_to: ReplyTo) -> bool:
    """The whole list of one section of ``user``'s Home, in a modal."""
    now = deps.clock.now()
    catalog = deps.catalog_for(user)
    sections = sections_for(user, _data_for(deps, user, now, limit=MODAL_SHOWN), deps.routing, catalog, deps.timezone)
    try:
        deps.notifier.open_view(trigger_id, section_modal(find_section(sections, key), catalog))
    except SLACK_ERRORS as error:  # an expired trigger, say: the Home still shows the first ones
        log.warning("could not open the full list %s for %s: %s", key, user, _error_text(error))
        deps.notifier.reply(reply_to, catalog.t("answers.stale_button"))
        return False
    return True
