"""Use cases. ``Services`` is what handlers, the scheduler and the CLI call;
each method opens its own transactions and notifies through the gateway."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import date, datetime

from bot.core.answers import ItemResult
from bot.core.away import AwayRequest
from bot.core.commands import command_words
from bot.core.lifecycle import Action, Status, Surface
from bot.core.monthly import Month
from bot.core.reports import ReportRequest
from bot.gateway import ReplyTo
from bot.health import Health, run_job
from bot.services import answers, away, calendar, convergence, digest, followup, letters, monthly, record, reports, retention, review, slack_import
from bot.services.deps import Deps
from bot.services.home import HomeRefresher, HomesReport, open_home, refresh_home, show_section
from bot.services.routing_reload import ReloadResult, RoutingReloader
from storage.db import optimize

log = logging.getLogger(__name__)
OPTIMIZE_AT_MINUTE = 17  # the tick that refreshes SQLite's planner statistics, once an hour (off the hour, when the digest and letters run)


class Services:
    def __init__(self, deps: Deps, *, reloader: RoutingReloader | None = None) -> None:
        self.deps = deps
        self.reloader = reloader  # None: the routing was given, not read from a file (tests, the demo)
        self.homes = HomeRefresher()  # the App Home job's last pass
        self.on_import_queued: Callable[[], None] | None = None  # wakes the ImportRunner (``run`` sets it); None: tests call run_imports

    @property
    def catalog(self):
        return self.deps.catalog

    def catalog_for(self, user: str | None):
        """The catalog for a text to ``user`` (their Slack locale): modals, their errors."""
        return self.deps.catalog_for(user)

    def post_daily_digest(self, *, now: datetime | None = None) -> digest.DigestOutcome:
        return digest.post_daily_digest(self.deps, now=now or self.deps.clock.now())

    def post_monthly(self, *, month: Month, now: datetime | None = None, reissue: bool = False) -> monthly.MonthlyOutcome:
        """The monthly notice of ``month``, once; ``reissue``: a correction if
        its figures changed. Once posted, an owner whose figures did not
        improve gets a letter drafted (once per owner and month)."""
        now = now or self.deps.clock.now()
        return self._letters_after(monthly.post_monthly(self.deps, month=month, now=now, reissue=reissue), now=now)

    def post_monthly_if_due(self, *, now: datetime | None = None) -> monthly.MonthlyOutcome | None:
        """The ticker's: the previous month's notice on the first working day, after its digest."""
        now = now or self.deps.clock.now()
        return self._letters_after(monthly.post_monthly_if_due(self.deps, now=now), now=now)

    def _letters_after(self, outcome: monthly.MonthlyOutcome | None, *, now: datetime) -> monthly.MonthlyOutcome | None:
        if outcome is not None and outcome.state is monthly.MonthlyState.POSTED and outcome.figures is not None:
            letters.draft_if_no_improvement(self.deps, outcome.figures, now=now)
        return outcome

    def month_to_date(self, *, actor: str, reply_to: ReplyTo) -> bool:
        """``/reject month``: the current month so far, privately, as the actor may see it."""
        return monthly.month_to_date(self.deps, actor=actor, reply_to=reply_to)

    def jobs(self) -> list[tuple[str, Callable[[], object]]]:
        """What the ticker runs every minute, in order: everything that is due."""
        return [
            ("routing", self.reload_routing),  # first: every job after it sees the routing file's latest good version
            ("calendar", self.tell_calendar_assumed),
            ("digest", self.post_daily_digest),
            ("monthly", self.post_monthly_if_due),  # after the digest: the first working day's notice waits for that day's digest
            ("sweep", self.sweep),
            ("reviews", self.send_pending_reviews),
            ("report_reviews", self.send_pending_report_reviews),  # held records of reported orders: CS keeps or drops them
            ("refresh", self.refresh_stale_messages),  # messages catch up with the database
            ("retention", lambda: retention.mask_expired(self.deps)),  # closed items' customer data masked after [privacy] retention_days
            ("letters", self.run_letters),  # after the digest: a letter's PDF goes on the owner's next digest message
            ("homes", self.refresh_homes),  # last: the App Homes show what every job before did
            ("planner", self.optimize_database),  # hourly: SQLite's planner statistics kept fresh
        ]

    def optimize_database(self) -> bool:
        """Once an hour (the tick at minute ``OPTIMIZE_AT_MINUTE``): SQLite
        refreshes its planner statistics where stale (``storage.db.optimize``)."""
        if self.deps.clock.now().minute != OPTIMIZE_AT_MINUTE:
            return False
        return optimize(self.deps.session_factory)

    def tick(self, *, health: Health | None = None) -> dict[str, str | None]:
        """Run every job on its own: one that fails (an exception, or a result
        with a ``problem``) is logged and recorded in ``health`` and stops
        none of the others. Each job's problem, or None."""
        if health is not None:
            health.record_tick()
        return {name: run_job(name, job, health=health) for name, job in self.jobs()}

    def reload_routing(self) -> ReloadResult | None:
        """The routing file changed? A good edit takes effect now; a bad one
        is refused (the last good routing stays) and the CS lead told."""
        return self.reloader.check(self.deps) if self.reloader is not None else None

    def routing_note(self) -> str | None:
        """``/healthz``'s note while an edit of the routing file is refused."""
        return self.reloader.note(self.deps.catalog) if self.reloader is not None else None

    def tell_calendar_assumed(self) -> list[int]:
        """Weekly: the CS lead is reminded of years run on assumed Monday–Friday."""
        return calendar.tell_assumed(self.deps, now=self.deps.clock.now())

    def sweep(self, *, now: datetime | None = None) -> followup.SweepReport:
        return followup.sweep(self.deps, now=now or self.deps.clock.now())

    def refresh_stale_messages(self) -> int:
        """Digest messages that show an older state than the database's are
        updated, oldest first, a bounded number per call (for the ticker)."""
        return convergence.refresh_stale_messages(self.deps)

    def start_refresher(self) -> None:
        """From now on this process coalesces digest message updates (one
        ``chat.update`` per message per second) and shows a clicked message
        through the click's ``response_url`` (``bot.services.refresher``)."""
        self.deps.refresher.start(lambda message_id: convergence.show_current_state(self.deps, message_id, renders=1))

    def stop_refresher(self, *, timeout: float = 5.0) -> None:
        self.deps.refresher.stop(timeout=timeout)

    def acknowledge(self, *, event_id: str, user: str, channel: str, ts: str) -> None:
        followup.acknowledge(self.deps, event_id=event_id, user=user, channel=channel, ts=ts)

    def note_thread_reply(self, *, user: str, channel: str, thread_ts: str) -> bool:
        return followup.note_thread_reply(self.deps, user=user, channel=channel, thread_ts=thread_ts)

    def upcoming(self, *, actor: str, reply_to: ReplyTo) -> str:
        """``/reject next``: the follow-ups ahead for what ``actor`` is involved in."""
        return followup.tell_upcoming(self.deps, actor=actor, reply_to=reply_to)

    def remind_owner(self, *, actor: str, thread_id: int, reply_to: ReplyTo) -> bool:
        """A manager's or delegate's "remind now" from an escalation DM."""
        return followup.remind_owner(self.deps, actor=actor, thread_id=thread_id, reply_to=reply_to)

    def confirm_for_owner(self, *, actor: str, thread_id: int, reply_to: ReplyTo) -> answers.Answer | None:
        """A manager's or delegate's "confirm all for them" from an escalation DM."""
        return followup.confirm_for_owner(self.deps, actor=actor, thread_id=thread_id, reply_to=reply_to)

    def confirm_items(self, *, actor: str, surface: Surface, reply_to: ReplyTo | None, orders: Sequence[str] = (), item_ids: Sequence[int] = (), every_open: bool = False) -> answers.Answer:
        return answers.act_on_items(self.deps, actor=actor, action=Action.CONFIRM, surface=surface, reply_to=reply_to, orders=orders, item_ids=item_ids, every_open=every_open)

    def dispute_items(self, *, actor: str, surface: Surface, reason: str, reply_to: ReplyTo | None, orders: Sequence[str] = (), item_ids: Sequence[int] = ()) -> answers.Answer:
        """Dispute, then ask CS to re-verify (thread reply + DM with buttons)."""
        return review.dispute_items(self.deps, actor=actor, surface=surface, reason=reason, reply_to=reply_to, orders=orders, item_ids=item_ids)

    def uphold_disputes(self, *, actor: str, surface: Surface, reply_to: ReplyTo | None, note: str = "", orders: Sequence[str] = (), item_ids: Sequence[int] = ()) -> answers.Answer:
        return review.uphold_disputes(self.deps, actor=actor, surface=surface, reply_to=reply_to, note=note, orders=orders, item_ids=item_ids)

    def overrule_disputes(self, *, actor: str, surface: Surface, evidence: str, reply_to: ReplyTo | None, orders: Sequence[str] = (), item_ids: Sequence[int] = ()) -> answers.Answer:
        return review.overrule_disputes(self.deps, actor=actor, surface=surface, evidence=evidence, reply_to=reply_to, orders=orders, item_ids=item_ids)

    def fix_items(self, *, actor: str, surface: Surface, note: str, reply_to: ReplyTo | None, orders: Sequence[str] = (), item_ids: Sequence[int] = ()) -> answers.Answer:
        return review.fix_items(self.deps, actor=actor, surface=surface, note=note, reply_to=reply_to, orders=orders, item_ids=item_ids)

    def send_pending_reviews(self) -> int:
        """Re-verification requests whose sending failed earlier (for the ticker)."""
        return review.send_pending_reviews(self.deps)

    def check_action(self, *, actor: str, item_id: int, action: Action) -> ItemResult:
        """Would ``action`` on the item be allowed now? (Before opening a modal.)"""
        return answers.check_item_action(self.deps, actor=actor, item_id=item_id, action=action)

    def explain(self, action: Action, result: ItemResult, reply_to: ReplyTo) -> None:
        answers.explain(self.deps, action, result, reply_to)

    def handle_reaction(self, *, event_id: str, user: str, reaction: str, channel: str, ts: str, added: bool) -> answers.Answer | None:
        return answers.handle_reaction(self.deps, event_id=event_id, user=user, reaction=reaction, channel=channel, ts=ts, added=added)

    def status_report(self, *, actor: str, orders: Sequence[str], reply_to: ReplyTo) -> str:
        return answers.status_report(self.deps, actor=actor, orders=orders, reply_to=reply_to)

    # --- correcting the record --------------------------------------------------

    def void_item(self, *, actor: str, order: str, rejected_on: date | None, reason: str, reply_to: ReplyTo) -> Status | None:
        """``/reject void``: CS withdraws its own wrong record (new or awaiting)."""
        return record.void_item(self.deps, actor=actor, order=order, rejected_on=rejected_on, reason=reason, reply_to=reply_to)

    def reopen_item(self, *, actor: str, order: str, rejected_on: date | None, reason: str, reply_to: ReplyTo) -> Status | None:
        """``/reject reopen``: CS takes a confirmed or deemed item back to awaiting."""
        return record.reopen_item(self.deps, actor=actor, order=order, rejected_on=rejected_on, reason=reason, reply_to=reply_to)

    def find_items(self, *, actor: str, text: str, reply_to: ReplyTo) -> str:
        """``/reject find``: the newest matching items the actor may see."""
        return record.find_items(self.deps, actor=actor, text=text, reply_to=reply_to)

    def help(self, reply_to: ReplyTo) -> None:
        """``/reject help``: the commands, then those correcting the record."""
        cat = self.deps.catalog_for(reply_to.user)
        words = cat.t("words.help", words=" · ".join(cat.t("words.pair", english=en, chinese=zh).strip() for en, zh in command_words()))
        self.deps.notifier.reply(reply_to, "\n".join([*(cat.t(key) for key in ("commands.help", "record.help", "away.help", "monthly.help", "letters.help", "slackimport.help", "reports.help")), words]))
    def away(self, *, actor: str, request: AwayRequest, reply_to: ReplyTo) -> str:
        """``/reject away``: name, end or list stand-ins for owners on leave."""
        return away.away(self.deps, actor=actor, request=request, reply_to=reply_to)

    # --- the work contact letter ------------------------------------------------

    def run_letters(self, *, now: datetime | None = None) -> letters.LetterReport:
        """The K-days trigger, and each letter's next step: its draft DM, delivery, reminders, overdue.
        First, the no-improvement trigger of last month's notice once it is
        posted (a run that died between posting it and drafting left it
        undone; a draft already made is not made again)."""
        now = now or self.deps.clock.now()
        last_month = Month.of(now.astimezone(self.deps.timezone).date()).previous()
        figures = monthly.posted_figures(self.deps, last_month)
        if figures is not None:
            letters.draft_if_no_improvement(self.deps, figures, now=now)
        return letters.run(self.deps, now=now)

    def draft_letter(self, *, actor: str, who: str, reply_to: ReplyTo) -> int | None:
        """``/reject letter <owner>``: a draft for this month, to the CS lead."""
        return letters.draft_by_hand(self.deps, actor=actor, who=who, reply_to=reply_to)

    def list_letters(self, *, reply_to: ReplyTo) -> str:
        """``/reject letters``: every letter with its number, status, dates and hashes."""
        return letters.tell_letters(self.deps, reply_to=reply_to)

    def approve_letter(self, *, actor: str, letter_id: int, reply_to: ReplyTo) -> bool:
        return letters.approve(self.deps, actor=actor, letter_id=letter_id, reply_to=reply_to)

    def open_letter_edit(self, *, actor: str, letter_id: int, trigger_id: str, reply_to: ReplyTo) -> bool:
        return letters.open_edit(self.deps, actor=actor, letter_id=letter_id, trigger_id=trigger_id, reply_to=reply_to)

    def edit_letter(self, *, actor: str, letter_id: int, improvement: str, reply_days: int, reply_to: ReplyTo) -> bool:
        return letters.edit(self.deps, actor=actor, letter_id=letter_id, improvement=improvement, reply_days=reply_days, reply_to=reply_to)

    def discard_letter(self, *, actor: str, letter_id: int, reply_to: ReplyTo) -> bool:
        return letters.discard(self.deps, actor=actor, letter_id=letter_id, reply_to=reply_to)

    def acknowledge_letter(self, *, actor: str, letter_id: int, reply_to: ReplyTo) -> bool:
        return letters.acknowledge(self.deps, actor=actor, letter_id=letter_id, reply_to=reply_to)

    # --- legitimate-rejection reports (bot.services.reports) ---

    def open_report_modal(self, *, actor: str, trigger_id: str, reply_to: ReplyTo) -> bool:
        return reports.open_report_modal(self.deps, actor=actor, trigger_id=trigger_id, reply_to=reply_to)

    def report_rejection(self, *, actor: str, request: ReportRequest, surface: Surface, reply_to: ReplyTo) -> reports.Reported:
        return reports.report_rejection(self.deps, actor=actor, request=request, surface=surface, reply_to=reply_to)

    def recent_reports(self, *, days: int = 7, limit: int = 50) -> list[reports.ReportSummary]:
        """For CS's App Home: the latest reports and where each stands."""
        return reports.recent_reports(self.deps, days=days, limit=limit)

    def send_pending_report_reviews(self) -> int:
        return reports.send_pending_report_reviews(self.deps)

    def decide_reported(self, *, actor: str, report_id: int, action: Action, reply_to: ReplyTo) -> Status | None:
        status = reports.decide_reported(self.deps, actor=actor, report_id=report_id, action=action, reply_to=reply_to)
        if status is not None:  # their own Home shows it at once (everyone else's: the ticker's pass)
            try:
                refresh_home(self.deps, user=actor)
            except Exception:  # a courtesy: the ticker's pass publishes it anyway
                log.exception("could not refresh the App Home of %s after their decision", actor)
        return status

    def reply(self, reply_to: ReplyTo, key: str, **params: object) -> None:
        """A catalog message to one person, privately."""
        self.deps.notifier.reply(reply_to, self.deps.catalog_for(reply_to.user).t(key, **params))

    def open_view(self, trigger_id: str, view: dict) -> None:
        self.deps.notifier.open_view(trigger_id, view)

    # --- the App Home -------------------------------------------------------------

    def open_home(self, *, user: str, shown_hash: str | None) -> bool:
        """``app_home_opened``: the person's Home, published now."""
        return open_home(self.deps, user=user, shown_hash=shown_hash)

    def refresh_home(self, *, user: str) -> bool:
        """After a click from someone's Home: their Home, now (if they ever opened it)."""
        return refresh_home(self.deps, user=user)

    def refresh_homes(self, *, force: bool = False) -> HomesReport:
        """The ticker's job: every opened Home whose content changed, republished."""
        return self.homes.run(self.deps, force=force)

    def show_home_section(self, *, user: str, key: str, trigger_id: str, reply_to: ReplyTo) -> bool:
        """The Home's "and N more": the whole section in a modal."""
        return show_section(self.deps, user=user, key=key, trigger_id=trigger_id, reply_to=reply_to)
    # --- logging and importing in Slack (CS) -----------------------------------------

    def open_log(self, *, actor: str, trigger_id: str, reply_to: ReplyTo) -> bool:
        """``/reject log``: the modal for one record (CS only)."""
        return slack_import.open_log_modal(self.deps, actor=actor, trigger_id=trigger_id, reply_to=reply_to)

    def log_record(self, *, actor: str, view: dict) -> slack_import.LogOutcome:
        """The log modal submitted: errors by block, or the record stored."""
        return slack_import.log_record(self.deps, actor=actor, view=view)

    def tell_logged(self, outcome: slack_import.LogOutcome, *, actor: str, reply_to: ReplyTo) -> None:
        slack_import.tell_logged(self.deps, outcome, actor=actor, reply_to=reply_to)

    def explain_import(self, *, actor: str, reply_to: ReplyTo) -> None:
        """``/reject import``: the two ways to import in Slack."""
        slack_import.explain_import(self.deps, actor=actor, reply_to=reply_to)

    def receive_upload(self, *, user: str, channel: str, files: Sequence[dict]) -> int:
        """Files sent to the app in its DM: refused, or queued and the runner woken."""
        queued = slack_import.receive_upload(self.deps, user=user, channel=channel, files=files)
        if queued and self.on_import_queued is not None:
            self.on_import_queued()
        return queued

    def run_imports(self) -> int:
        """Import the files waiting (``ImportRunner``'s job; tests call it)."""
        return slack_import.run_imports(self.deps)
