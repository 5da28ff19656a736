"""The work contact letter (工作联系函): its facts, as the draft is built from
the records. Pure: no I/O. Nothing in a letter is free text the bot made up:
every fact comes from rows (figures, items, escalations) or from the routing
file's ``[letters]`` table; the requested improvement and the reply deadline
are the CS lead's to edit before approving."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, fields, replace
from datetime import date, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from bot.core.monthly import Counts, Escalation, Month, MonthFigures, OwnerFigures


class LetterStatus(StrEnum):
    DRAFT = "draft"
    APPROVED = "approved"  # signed off, files made and hashed; not yet delivered to both
    DELIVERED = "delivered"
    ACKNOWLEDGED = "acknowledged"
    OVERDUE = "overdue"  # delivered, unacknowledged past its reply deadline
    DISCARDED = "discarded"


class LetterReason(StrEnum):
    ESCALATIONS = "escalations"  # the owner's threads reached the top of the chain on K working days of the month
    NO_IMPROVEMENT = "no_improvement"  # the month's confirmed + deemed is above 0 and at least the previous month's (which had items)
    BY_HAND = "by_hand"  # /reject letter, by CS


@dataclass(frozen=True, slots=True)
class UnfixedItem:
    """One of the oldest items still without a fix."""

    order_no: str
    rejected_on: date
    branch: str
    status: str  # confirmed / deemed_confirmed
    since: datetime  # aware UTC: when it was confirmed or deemed


@dataclass(frozen=True, slots=True)
class SentEscalation:
    at: datetime  # aware UTC
    level: int
    recipient: str  # the manager's Slack user, as the routing file gives it (Slack messages mention it)
    name: str = ""  # the manager's name in Slack when the draft was made; "" when Slack did not say (the letter names the level's role)


@dataclass(frozen=True, slots=True)
class LetterFacts:
    """Everything a letter says. The documents (DOCX, PDF) render exactly this."""

    number: str  # KF-2026-007: prefix, year, sequence per year
    issued_on: date
    sender: str  # [letters] from
    recipient: str  # [letters] to
    owner: str
    month: Month
    reason: LetterReason
    counts: Counts  # the owner's figures of ``month``
    previous_mistaken: int | None  # the owner's mistaken rejections the month before
    per_item: int | None  # yuan per mistaken rejection, when set
    unfixed: tuple[UnfixedItem, ...]  # the 3–5 oldest still unfixed
    escalations: tuple[SentEscalation, ...]
    agreement: str | None  # [letters] agreement
    improvement: str  # the improvement requested (the CS lead may edit it)
    reply_days: int  # working days
    reply_by: date  # the reply deadline: reply_days working days after issued_on
    as_of: datetime | None = None  # aware UTC: the moment the figures were counted at, stated on the letter when known
    timezone: ZoneInfo = ZoneInfo("Asia/Shanghai")  # the team's: the letter shows escalation times in it


# --- to and from JSON (the ``letter.facts`` column) ---------------------------------


def facts_to_json(facts: LetterFacts) -> str:
    """``facts`` as JSON: dates ISO, datetimes ISO with their UTC offset."""
    counts = {f.name: getattr(facts.counts, f.name) for f in fields(Counts)}
    for name in ("answer_median", "fix_median"):
        counts[name] = None if counts[name] is None else counts[name].total_seconds()
    data = {
        "number": facts.number,
        "issued_on": facts.issued_on.isoformat(),
        "sender": facts.sender,
        "recipient": facts.recipient,
        "owner": facts.owner,
        "month": str(facts.month),
        "reason": str(facts.reason),
        "counts": counts,
        "previous_mistaken": facts.previous_mistaken,
        "per_item": facts.per_item,
        "unfixed": [
            {"order_no": u.order_no, "rejected_on": u.rejected_on.isoformat(), "branch": u.branch, "status": u.status, "since": u.since.isoformat()}
            for u in facts.unfixed
        ],
        "escalations": [{"at": e.at.isoformat(), "level": e.level, "recipient": e.recipient, "name": e.name} for e in facts.escalations],
        "agreement": facts.agreement,
        "improvement": facts.improvement,
        "reply_days": facts.reply_days,
        "reply_by": facts.reply_by.isoformat(),
        "as_of": None if facts.as_of is None else facts.as_of.isoformat(),
        "timezone": facts.timezone.key,
    }
    return json.dumps(data, ensure_ascii=False, sort_keys=True)


def facts_from_json(text: str) -> LetterFacts:
    """The inverse of ``facts_to_json``."""
    data = json.loads(text)
    counts = dict(data["counts"])
    for name in ("answer_median", "fix_median"):
        counts[name] = None if counts.get(name) is None else timedelta(seconds=counts[name])
    return LetterFacts(
        number=data["number"],
        issued_on=date.fromisoformat(data["issued_on"]),
        sender=data["sender"],
        recipient=data["recipient"],
        owner=data["owner"],
        month=Month.parse(data["month"]),
        reason=LetterReason(data["reason"]),
        counts=Counts(**{f.name: counts[f.name] for f in fields(Counts) if f.name in counts}),
        previous_mistaken=data["previous_mistaken"],
        per_item=data["per_item"],
        unfixed=tuple(
            UnfixedItem(u["order_no"], date.fromisoformat(u["rejected_on"]), u["branch"], u["status"], datetime.fromisoformat(u["since"]))
            for u in data["unfixed"]
        ),
        escalations=tuple(
            SentEscalation(datetime.fromisoformat(e["at"]), e["level"], e["recipient"], e.get("name") or "") for e in data["escalations"]
        ),
        agreement=data["agreement"],
        improvement=data["improvement"],
        reply_days=data["reply_days"],
        reply_by=date.fromisoformat(data["reply_by"]),
        as_of=None if data.get("as_of") is None else datetime.fromisoformat(data["as_of"]),
        timezone=ZoneInfo(data.get("timezone") or "Asia/Shanghai"),
    )


# --- building a draft ----------------------------------------------------------------

UNFIXED_MOST = 5  # the oldest still-unfixed items a letter lists, at most
UNFIXED_LEAST = 3  # ... and at least, when the owner has that many
DRAFT_NUMBER = ""  # a draft's number: given on approval (``letter_number``)


def letter_number(prefix: str, year: int, seq: int) -> str:
    """``KF-2026-007``: sequences under 1000 take three digits."""
    return f"{prefix}-{year:04d}-{seq:03d}"


def draft_key(owner: str, month: Month) -> str:
    """The key that makes an owner's letter of a month happen once."""
    return f"letter:{owner}:{month}"


def add_working_days(start: date, days: int, is_working_day: Callable[[date], bool]) -> date:
    """The ``days``-th working day after ``start`` (``start`` itself not counted)."""
    day, left = start, days
    while left > 0:
        day += timedelta(days=1)
        if is_working_day(day):
            left -= 1
    return day


def oldest_unfixed(items: Iterable[UnfixedItem], *, most: int = UNFIXED_MOST) -> tuple[UnfixedItem, ...]:
    """The ``most`` oldest (by rejection day, then since when, then order number)."""
    return tuple(sorted(items, key=lambda u: (u.rejected_on, u.since, u.order_no))[:most])


def build_facts(
    *,
    owner: str,
    month: Month,
    reason: LetterReason,
    figures: MonthFigures,
    unfixed: Iterable[UnfixedItem],
    escalations: Iterable[Escalation],
    sender: str,
    recipient: str,
    agreement: str | None,
    improvement: str,
    reply_days: int,
    issued_on: date,
    is_working_day: Callable[[date], bool],
    timezone: ZoneInfo = ZoneInfo("Asia/Shanghai"),
    number: str = DRAFT_NUMBER,
    names: Mapping[str, str] | None = None,
) -> LetterFacts:
    """A letter's facts, every one from the rows: the owner's figures of
    ``month`` (zero when they had no items), the month before's mistaken
    rejections (the notice's trend), the oldest unfixed items, the escalations
    of the month about the owner's threads (oldest first), each manager with
    their name from ``names`` (Slack user → name; missing: ""); the figures'
    ``as_of`` is stated on the letter."""
    mine = figures.owner(owner)
    return LetterFacts(
        number=number,
        issued_on=issued_on,
        sender=sender,
        recipient=recipient,
        owner=owner,
        month=month,
        reason=reason,
        counts=mine.counts if mine is not None else Counts(),
        previous_mistaken=mine.trend.previous if mine is not None else None,
        per_item=figures.per_item,
        unfixed=oldest_unfixed(unfixed),
        escalations=tuple(
            SentEscalation(at=e.sent_at, level=e.level, recipient=e.recipient, name=(names or {}).get(e.recipient, ""))
            for e in sorted(escalations, key=lambda e: (e.sent_at, e.level, e.recipient))
            if e.owner == owner
        ),
        agreement=agreement,
        improvement=improvement,
        reply_days=reply_days,
        reply_by=add_working_days(issued_on, reply_days, is_working_day),
        as_of=figures.as_of,
        timezone=timezone,
    )


def issue(
    facts: LetterFacts, *, number: str, issued_on: date, is_working_day: Callable[[date], bool], unfixed: Iterable[UnfixedItem] | None = None,
) -> LetterFacts:
    """The approved letter: its number and date, the reply deadline counted
    from that date, and the oldest still-unfixed items as of the approval
    (``unfixed``, read in the approving transaction): an item fixed since
    the draft is never listed as unfixed. ``None`` keeps the draft's list."""
    listed = facts.unfixed if unfixed is None else oldest_unfixed(unfixed)
    return replace(
        facts, number=number, issued_on=issued_on, reply_by=add_working_days(issued_on, facts.reply_days, is_working_day), unfixed=listed,
    )


def unfixed_change(before: Iterable[UnfixedItem], after: Iterable[UnfixedItem]) -> str:
    """What changed in the unfixed list between the draft and the approval,
    for the letter's events: ``-SO1 +SO7`` (order numbers gone, then new);
    "" when it is the same list."""
    was, now = [u.order_no for u in before], [u.order_no for u in after]
    if was == now:
        return ""
    gone = [f"-{o}" for o in was if o not in now]
    new = [f"+{o}" for o in now if o not in was]
    return " ".join(gone + new) or "reordered"


# --- the triggers ----------------------------------------------------------------------


def escalation_days(escalations: Iterable[Escalation], *, owner: str, month: Month, tz: ZoneInfo, is_working_day: Callable[[date], bool]) -> list[date]:
    """The distinct local working days of ``month`` on which ``owner``'s
    threads got a top-level escalation (the last manager of their chain)."""
    days = set()
    for e in escalations:
        if e.owner != owner or not e.top:
            continue
        day = e.sent_at.astimezone(tz).date()
        if month.contains(day) and is_working_day(day):
            days.add(day)
    return sorted(days)


def reached_escalation_days(escalations: Iterable[Escalation], *, owner: str, month: Month, k: int, tz: ZoneInfo, is_working_day: Callable[[date], bool]) -> bool:
    """The K-days trigger: at least ``k`` such days in the month."""
    return len(escalation_days(escalations, owner=owner, month=month, tz=tz, is_working_day=is_working_day)) >= k


def no_improvement(figures: OwnerFigures) -> bool:
    """The no-improvement trigger, on the monthly notice's figures: the
    owner's mistaken rejections (confirmed + deemed, and overruled disputes,
    which count as confirmed: ``Counts.mistaken``, the figure the notice's
    trend compares) are above 0 and at least the month before's. It needs a
    month before with items for the owner (``trend.previous`` not None):
    with nothing to compare with (the first notice after going live, a new
    owner) there is no "no improvement", so one mistaken rejection alone
    never earns a letter."""
    current, previous = figures.counts.mistaken, figures.trend.previous
    return previous is not None and current > 0 and current >= previous


# --- who may do what with a letter ------------------------------------------------------


class LetterAction(StrEnum):
    APPROVE = "approve"
    EDIT = "edit"
    DISCARD = "discard"
    ACKNOWLEDGE = "acknowledge"


class Verdict(StrEnum):
    DO = "do"  # allowed: change the letter
    ALREADY = "already"  # the same thing was done before (a double click): nothing to do
    NOT_ALLOWED = "not_allowed"  # this person may not: nothing changes
    TOO_LATE = "too_late"  # the letter is past that step: nothing changes


SIGN_OFF = (LetterAction.APPROVE, LetterAction.EDIT, LetterAction.DISCARD)
AFTER_APPROVAL = (LetterStatus.APPROVED, LetterStatus.DELIVERED, LetterStatus.ACKNOWLEDGED, LetterStatus.OVERDUE)


def decide(status: LetterStatus, action: LetterAction, *, is_cs_lead: bool, is_recipient: bool, dm_sent: bool = False) -> Verdict:
    """The one table of what a click on a letter does. Only the CS lead signs
    off (approve, edit, discard), on a draft only; a repeated approval or
    discard is ``ALREADY``. Only the letter's recipients acknowledge, once it
    is delivered; every acknowledgment is recorded, the first ends the
    follow-up (``DO`` on a delivered or overdue letter, ``ALREADY`` after).
    A recipient whose DM went out (``dm_sent``) while the rest of the
    delivery has not yet (the letter still ``approved``: a file share or the
    other DM failed and the ticker resumes it) may acknowledge too: it is
    recorded, and the letter is acknowledged once the delivery completes."""
    if action in SIGN_OFF:
        if not is_cs_lead:
            return Verdict.NOT_ALLOWED
        if status is LetterStatus.DRAFT:
            return Verdict.DO
        if action is LetterAction.APPROVE and status in AFTER_APPROVAL:
            return Verdict.ALREADY
        if action is LetterAction.DISCARD and status is LetterStatus.DISCARDED:
            return Verdict.ALREADY
        return Verdict.TOO_LATE
    if not is_recipient:
        return Verdict.NOT_ALLOWED
    if status in (LetterStatus.DELIVERED, LetterStatus.OVERDUE):
        return Verdict.DO
    if status is LetterStatus.APPROVED and dm_sent:
        return Verdict.DO
    if status is LetterStatus.ACKNOWLEDGED:
        return Verdict.ALREADY
    return Verdict.TOO_LATE
