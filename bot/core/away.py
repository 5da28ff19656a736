"""Someone on leave: ``/reject away`` and who may name a stand-in.

A stand-in answers for an owner while the owner is away: they act on the
owner's items like a delegate and are mentioned in the owner's nudges. The
period runs from when it is set through the end of its ``until`` day (in the
bot's time zone); it ends by itself, or earlier with ``/reject away off``.

Forms (mentions arrive as ``<@U123|name>`` once the command escapes them):
    away                                      the stand-ins in force
    away <@stand-in> until YYYY-MM-DD         for the caller (an owner)
    away <@stand-in> until YYYY-MM-DD for <@owner>   by a manager or the CS lead
    away off [for <@owner>]                   ends it early

Pure: parsing and the checks that need only the routing and today's date.
Errors: ``CommandError`` (``.key`` a catalog key under ``away.``).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from bot.core.commands import CommandError
from bot.core.lifecycle import Role
from bot.core.routing import Owner, Routing

MAX_DAYS_AHEAD = 90  # a stand-in may be named at most this many days ahead: a longer absence is a routing change
AUDIT_SET = "away_set"  # audit actions of a stand-in's rows
AUDIT_END = "away_end"

MENTION = re.compile(r"^<@([UW][A-Z0-9]+)(?:\|[^>]*)?>$")
PLAIN_MENTION = re.compile(r"^[@＠]\S+$")
DATE = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})$")
UNTIL_WORDS = {"until", "till", "to", "至", "到"}
FOR_WORDS = {"for", "替"}
OFF_WORDS = {"off", "end", "结束", "取消"}


class AwayKind(StrEnum):
    LIST = "list"
    SET = "set"
    OFF = "off"


@dataclass(frozen=True, slots=True)
class AwayRequest:
    kind: AwayKind
    stand_in: str | None = None  # Slack user id
    until: date | None = None
    owner_user: str | None = None  # ``for <@owner>``; None: the caller


def _user(token: str) -> str:
    """The user id of an escaped mention; a plain ``@name`` (typed, or sent
    without escaping) or anything else is refused with what to do."""
    found = MENTION.match(token)
    if found:
        return found.group(1)
    if PLAIN_MENTION.match(token):
        raise CommandError("away.plain_mention", name=token)
    raise CommandError("away.not_a_person", word=token)


def _date(token: str) -> date:
    found = DATE.match(token)
    if found:
        try:
            return date(*map(int, found.groups()))
        except ValueError:
            pass
    raise CommandError("away.bad_date", word=token)


def parse_away(text: str) -> AwayRequest:
    """The text after ``away``."""
    words = unicodedata.normalize("NFKC", text or "").split()
    if not words:
        return AwayRequest(AwayKind.LIST)
    if words[0].lower() in OFF_WORDS:
        rest = words[1:]
        if not rest:
            return AwayRequest(AwayKind.OFF)
        if len(rest) == 2 and rest[0].lower() in FOR_WORDS:
            return AwayRequest(AwayKind.OFF, owner_user=_user(rest[1]))
        raise CommandError("away.usage")
    stand_in = _user(words[0])
    rest = words[1:]
    if len(rest) < 2 or rest[0].lower() not in UNTIL_WORDS:
        raise CommandError("away.needs_until")
    until = _date(rest[1])
    rest = rest[2:]
    owner_user = None
    if rest:
        if len(rest) != 2 or rest[0].lower() not in FOR_WORDS:
            raise CommandError("away.usage")
        owner_user = _user(rest[1])
    return AwayRequest(AwayKind.SET, stand_in=stand_in, until=until, owner_user=owner_user)


def period_end(until: date, tz: ZoneInfo) -> datetime:
    """A stand-in's period runs through the end of ``until`` in ``tz``: it
    ends at the next local midnight."""
    return datetime.combine(until + timedelta(days=1), time.min, tzinfo=tz)


def check_until(until: date, today: date) -> None:
    if until < today:
        raise CommandError("away.date_past", until=until.isoformat(), today=today.isoformat())
    if until > today + timedelta(days=MAX_DAYS_AHEAD):
        raise CommandError("away.date_too_far", until=until.isoformat(), days=MAX_DAYS_AHEAD, latest=(today + timedelta(days=MAX_DAYS_AHEAD)).isoformat())


def owners_of(routing: Routing, user: str) -> tuple[Owner, ...]:
    """The owner entries of the routing file that are this Slack user."""
    return tuple(o for o in routing.owners if o.user == user)


def naming_role(routing: Routing, caller: str, owner: Owner) -> Role | None:
    """Who may name or end a stand-in for ``owner``: the owner, a manager in
    their escalation list, the CS lead; the role they do it in, or None."""
    if caller == owner.user:
        return Role.OWNER
    if caller in owner.escalation:
        return Role.MANAGER
    if caller == routing.cs_lead:
        return Role.CS_LEAD
    return None
