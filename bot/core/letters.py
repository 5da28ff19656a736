"""The work contact letter (工作联系函): its facts, as the draft is built from
the records. Pure: no I/O. Nothing in a letter is free text the bot made up:
every fact comes from rows (figures, items, escalations) or from the routing
file's ``[letters]`` table; the requested improvement and the reply deadline
are the CS lead's to edit before approving."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from bot.core.monthly import Counts, Month


class LetterStatus(StrEnum):
    DRAFT = "draft"
    APPROVED = "approved"  # signed off, files made and hashed; not yet delivered to both
    DELIVERED = "delivered"
    ACKNOWLEDGED = "acknowledged"
    OVERDUE = "overdue"  # delivered, unacknowledged past its reply deadline
    DISCARDED = "discarded"


class LetterReason(StrEnum):
    ESCALATIONS = "escalations"  # the owner's threads reached the top of the chain on K working days of the month
    NO_IMPROVEMENT = "no_improvement"  # the month's confirmed + deemed is above 0 and at least the previous month's
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
    recipient: str  # the manager's display name or Slack user, as the routing file gives it


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
