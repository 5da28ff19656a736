"""Legitimate-rejection reports (上报), replacing the hotline.

- ``report_rejection``: anyone outside CS (delivery staff, owners,
  delegates) reports an order, with ``/reject report`` or its modal. Stored
  with who (Slack user, role, the owner they act for), when, order, reason
  and note, and acknowledged privately. CS is refused (CS records, logistics
  reports). A second report of the order (by anyone, within the match
  window) stores nothing and says who reported it when. An order CS has
  already recorded stores nothing either: the record is in (or on its way
  to) the digest, and the reporter is told to dispute it there.
- When CS later imports a record of a reported order (any import path:
  ``storage.imports.insert_records`` holds it in its transaction), the record
  is *held*: the digest skips it. ``send_report_review`` asks its callback
  agent (the CS lead when the agent has no Slack user), by DM, in working
  time, once per report (ledger key ``report-review:<report id>``), with the
  report beside the record: Keep or Drop. ``send_pending_report_reviews``
  (the ticker) sends those not sent yet.
- ``decide_reported``: Keep puts the record back to *new*: the next digest
  posts it, its line showing the report. Drop withdraws it as CS's own
  correction (*voided*, audit action ``drop``): never posted. Only CS may;
  anyone else is refused and nothing changes; a second click is a no-op
  that says who decided, when.

Errors: none of its own; every refusal is a private answer that changes
nothing. A Slack error while asking CS leaves the ledger claim to run out:
the ticker asks again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from slack_sdk.errors import SlackApiError

from bot.core.lifecycle import Action, Role, Status, Surface, Verdict, decide
from bot.core.reports import ReportRequest, ReportState, reason_text, report_modal, review_message
from bot.core.text import esc_cut, fmt_time, mention
from bot.gateway import ReplyTo, SlackUnavailable
from bot.services.deps import Deps
from bot.services.office_hours import may_message_people
from storage import queries as q
from storage import reports as rp
from storage import standins
from storage.db import transaction
from storage.models import RejectionReport

log = logging.getLogger(__name__)

REVIEW_LEASE = timedelta(minutes=10)
REVIEW_PREFIX = "report-review:"
ORDER_SHOWN = 64


class ReportOutcome(StrEnum):
    STORED = "stored"
    CS_REFUSED = "cs_refused"  # CS records, logistics reports
    ALREADY_REPORTED = "already_reported"  # someone reported the order already: nothing new stored
    ALREADY_RECORDED = "already_recorded"  # CS has a record of it already: dispute that instead


@dataclass(frozen=True, slots=True)
class Reported:
    outcome: ReportOutcome
    report_id: int | None = None


def review_key(report_id: int) -> str:
    return f"{REVIEW_PREFIX}{report_id}"


def _reply(deps: Deps, reply_to: ReplyTo, key: str, **params: object) -> None:
    deps.notifier.reply(reply_to, deps.catalog_for(reply_to.user).t(key, **params))


def open_report_modal(deps: Deps, *, actor: str, trigger_id: str, reply_to: ReplyTo) -> bool:
    """``/reject report`` without text: the modal, for anyone outside CS."""
    if deps.routing.is_cs(actor):
        _reply(deps, reply_to, "reports.cs_refused")
        return False
    deps.notifier.open_view(trigger_id, report_modal(deps.catalog_for(actor), channel=reply_to.channel))
    return True


def report_rejection(deps: Deps, *, actor: str, request: ReportRequest, surface: Surface, reply_to: ReplyTo) -> Reported:
    """Store a legitimate-rejection report, once per order, and acknowledge it privately."""
    cat, tz = deps.catalog_for(actor), deps.timezone
    order = esc_cut(request.order, ORDER_SHOWN)
    if deps.routing.is_cs(actor):
        _reply(deps, reply_to, "reports.cs_refused")
        return Reported(ReportOutcome.CS_REFUSED)
    now = deps.clock.now()
    day = now.astimezone(tz).date()
    answer: tuple[str, dict] | None = None
    with transaction(deps.session_factory) as session:
        stand_ins = standins.in_force_by_owner_user(session=session, now=now)
        owners = deps.routing.owners_acting_for(actor, stand_ins)
        owner = owners[0] if owners else None
        role = deps.routing.role_for(actor, owner, stand_ins)
        earlier = rp.find_report_near(session=session, order_no=request.order, day=day)
        recorded = rp.list_items_near(session=session, order_no=request.order, day=day) if earlier is None else []
        if earlier is not None:
            answer = _already_reported(earlier, order, cat, tz)
        elif recorded:
            item = recorded[-1]
            key = "reports.already_recorded_new" if item.status == Status.NEW else "reports.already_recorded"
            answer = key, {"order": order, "rejected_on": item.rejected_on.isoformat(), "status": cat.t(f"status.{item.status}")}
        else:
            stored = rp.add_report(session=session, report=RejectionReport(
                order_no=request.order, reported_on=day, reason=request.reason, note=request.note, reporter=actor,
                reporter_role=role, reporter_owner=owner.name if owner else None, surface=surface, created_at=now,
            ))
            if stored is None:  # a report of the same order and day committed meanwhile
                earlier = rp.find_report_near(session=session, order_no=request.order, day=day)
                answer = _already_reported(earlier, order, cat, tz) if earlier else ("reports.already_reported_now", {"order": order})
            else:
                report_id = stored.id
    if answer is not None:
        _reply(deps, reply_to, answer[0], **answer[1])
        recorded_now = answer[0].startswith("reports.already_recorded")
        return Reported(ReportOutcome.ALREADY_RECORDED if recorded_now else ReportOutcome.ALREADY_REPORTED)
    note = esc_cut(" ".join(request.note.split()), 300)
    _reply(deps, reply_to, "reports.stored", order=order, reason=reason_text(request.reason, cat), note=note or "—")
    return Reported(ReportOutcome.STORED, report_id)


def _already_reported(report: RejectionReport, order: str, cat, tz) -> tuple[str, dict]:
    return "reports.already_reported", {
        "order": order, "user": mention(report.reporter), "at": fmt_time(report.created_at, tz),
        "reason": reason_text(report.reason, cat),
    }


# --- asking CS: keep or drop ------------------------------------------------------------


def send_report_review(deps: Deps, *, report_id: int) -> bool:
    """Ask the held record's callback agent (the CS lead when the agent has
    no Slack user) to keep or drop it, with the report beside it: at most
    once, in working time only; True when this call sent it."""
    now = deps.clock.now()
    if not may_message_people(deps, now):
        return False  # the ticker sends it from the opening
    key = review_key(report_id)
    with transaction(deps.session_factory) as session:
        claim = q.claim_effect(session=session, key=key, now=now, lease=REVIEW_LEASE)
        if claim not in (q.Claim.NEW, q.Claim.RESUMED):
            return False
        report = rp.get_report(session=session, report_id=report_id)
        item = q.get_item(session=session, item_id=report.item_id) if report.item_id is not None else None
        if item is None or item.status != Status.HELD or report.decision is not None or report.review_ts:
            q.finish_effect(session=session, key=key, now=now, detail="not sent")
            return False
        owner = deps.routing.owner_for(item.category, item.branch)
        reviewer = deps.routing.agent_user(item.callback_agent)
        session.expunge(report)
        session.expunge(item)
    # rendered after the transaction: the reviewer's language may take a users.info call, never under the write lock
    text, blocks = review_message(report, item, deps.catalog_for(reviewer), deps.timezone, agent=reviewer)
    try:
        channel = deps.notifier.open_dm(reviewer)
        ts = deps.notifier.lookup_by_key(channel, key) if claim is q.Claim.RESUMED else None
        if ts is None:
            ts = deps.notifier.post_message(channel, text=text, blocks=blocks, key=key)
    except (SlackApiError, SlackUnavailable):
        log.exception("could not ask CS to keep or drop the record of report %s; the ticker asks again", report_id)
        with transaction(deps.session_factory) as session:
            q.release_effect(session=session, key=key, now=deps.clock.now())
        return False
    with transaction(deps.session_factory) as session:
        rp.set_review_message(session=session, report_id=report_id, channel=channel, ts=ts, owner=owner.name if owner else None)
        q.finish_effect(session=session, key=key, now=deps.clock.now(), detail=f"to {reviewer}")
    return True


def send_pending_report_reviews(deps: Deps) -> int:
    """Ask CS about every held record not asked about yet (just imported, or
    a send that failed or waited for working time); how many were sent."""
    with transaction(deps.session_factory) as session:
        report_ids = [r.id for r in rp.list_unsent_reviews(session=session)]
    return sum(send_report_review(deps, report_id=report_id) for report_id in report_ids)


class _Lost(Exception):
    """Another click decided the report first: roll back."""


def decide_reported(deps: Deps, *, actor: str, report_id: int, action: Action, reply_to: ReplyTo) -> Status | None:
    """CS keeps (``Action.KEEP``) or drops (``Action.DROP``) a held record;
    its status after, or None when refused or already decided."""
    if action not in (Action.KEEP, Action.DROP):
        raise ValueError(f"not a decision on a reported record: {action}")
    cat, tz = deps.catalog_for(actor), deps.timezone
    role = deps.routing.role_for(actor, None)
    if role not in (Role.CS_AGENT, Role.CS_LEAD):
        _reply(deps, reply_to, "reports.decide_cs_only")
        return None
    now = deps.clock.now()
    answer: tuple[str, dict] | None = None
    try:
        with transaction(deps.session_factory) as session:
            report = rp.find_report(session=session, report_id=report_id)
            item = q.get_item(session=session, item_id=report.item_id) if report and report.item_id is not None else None
            if report is None or item is None:
                answer = "answers.stale_button", {}
            elif report.decision is not None:
                answer = _decided_answer(report, cat, tz)
            else:
                order = esc_cut(item.order_no, ORDER_SHOWN)
                decision = decide(Status(item.status), action, role)
                if decision.verdict is not Verdict.APPLY:
                    answer = "reports.not_held", {"order": order, "status": cat.t(f"status.{item.status}")}
                else:
                    change = q.Change(action, decision.new_status, actor, role, Surface.BUTTON, f"report {report_id}")
                    if not q.transition_item(session=session, item=item, change=change, now=now) or not rp.decide_report(
                        session=session, report_id=report_id, decision=str(action), actor=actor, now=now,
                    ):
                        raise _Lost
                    session.refresh(report)
                    session.refresh(item)
                    reviewer = deps.routing.agent_user(item.callback_agent)
                    session.expunge(report)
                    session.expunge(item)
                    where = (report.review_channel, report.review_ts)
                    status = Status(decision.new_status)
    except _Lost:
        with transaction(deps.session_factory) as session:
            report = rp.get_report(session=session, report_id=report_id)
            answer = _decided_answer(report, cat, tz) if report.decision else ("answers.stale_button", {})
    if answer is not None:
        _reply(deps, reply_to, answer[0], **answer[1])
        return None
    if where[0] and where[1]:
        # rendered after the commit: the reviewer's language may take a users.info call, never under the write lock
        text, blocks = review_message(report, item, deps.catalog_for(reviewer), tz, agent=reviewer)
        try:
            deps.notifier.update_message(where[0], where[1], text=text, blocks=blocks)
        except Exception:  # committed: the decision stands, the DM keeps its buttons (a click then says it is decided)
            log.exception("could not show the decision on report %s's review message", report_id)
    key = "reports.kept" if action is Action.KEEP else "reports.dropped"
    _reply(deps, reply_to, key, order=order)
    return status


def _decided_answer(report: RejectionReport, cat, tz) -> tuple[str, dict]:
    key = "reports.already_kept" if report.decision == Action.KEEP else "reports.already_dropped"
    return key, {"user": mention(report.decided_by or ""), "at": fmt_time(report.decided_at, tz) if report.decided_at else ""}


# --- for CS's App Home ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ReportSummary:
    """One report as CS's App Home lists it."""

    report_id: int
    order_no: str
    reason: str  # bot.core.reports.Reason value
    note: str
    reporter: str
    reporter_owner: str | None
    created_at: datetime
    state: ReportState
    item_id: int | None


def recent_reports(deps: Deps, *, days: int = 7, limit: int = 50) -> list[ReportSummary]:
    """The reports of the last ``days`` days, newest first, with where each stands."""
    since = deps.clock.now() - timedelta(days=days)
    with transaction(deps.session_factory) as session:
        rows = rp.list_recent_reports(session=session, since=since, limit=limit)
        return [
            ReportSummary(
                report_id=r.id, order_no=r.order_no, reason=r.reason, note=r.note, reporter=r.reporter,
                reporter_owner=r.reporter_owner, created_at=r.created_at, state=_state(r, item), item_id=r.item_id,
            )
            for r, item in rows
        ]


def _state(report: RejectionReport, item) -> ReportState:
    if report.decision == Action.KEEP:
        return ReportState.KEPT
    if report.decision == Action.DROP:
        return ReportState.DROPPED
    return ReportState.HELD if item is not None else ReportState.WAITING
