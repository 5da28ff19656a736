"""Parsing ``/reject`` command text.

Errors: ``CommandError`` (``.key`` is a catalog key, ``.params`` its values).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from bot.core.importing import normalise_order_no

SEPARATORS = re.compile(r"[\s,，、;；]+")
LEADING_SEPARATORS = re.compile(r"^[\s,，、;；]+")


class Verb(StrEnum):
    CONFIRM = "confirm"
    DISPUTE = "dispute"
    UPHOLD = "uphold"  # CS: the dispute stands, the callback was wrong
    OVERRULE = "overrule"  # CS: the dispute is rejected, with evidence
    FIX = "fix"  # the owner's side records the remedy
    STATUS = "status"
    NEXT = "next"  # the follow-ups ahead: what the bot will send, to whom, when
    HELP = "help"
    # correcting the record (``_parse_record``)
    VOID = "void"  # CS withdraws its own wrong record
    REOPEN = "reopen"  # CS takes a confirmation back to awaiting
    FIND = "find"  # search order numbers, branches and notes
    AWAY = "away"  # a stand-in for an owner on leave; the text is parsed by ``bot.core.away.parse_away``
    LETTER = "letter"  # CS drafts a work contact letter for an owner (``reason``: the owner's name or mention)
    LETTERS = "letters"  # every letter, its number, status, dates and hashes
    MONTH = "month"  # the current month's figures so far, privately (bot.services.monthly.month_to_date)
    LOG = "log"  # CS logs one record in a modal (bot.services.slack_import)
    IMPORT = "import"  # how to import in Slack: a file in the DM, or /reject log
    REPORT = "report"  # a legitimate rejection, as it happens (``reason``: the rest, parsed by ``bot.core.reports.parse_report``)


ALIASES = {
    "confirm": Verb.CONFIRM, "确认": Verb.CONFIRM,
    "dispute": Verb.DISPUTE, "申诉": Verb.DISPUTE,
    "uphold": Verb.UPHOLD, "申诉成立": Verb.UPHOLD,
    "overrule": Verb.OVERRULE, "驳回": Verb.OVERRULE, "申诉驳回": Verb.OVERRULE,
    "fix": Verb.FIX, "整改": Verb.FIX,
    "status": Verb.STATUS, "状态": Verb.STATUS,
    "next": Verb.NEXT, "下一步": Verb.NEXT,
    "help": Verb.HELP, "帮助": Verb.HELP, "?": Verb.HELP,
    "away": Verb.AWAY, "请假": Verb.AWAY, "代理": Verb.AWAY,
    "letter": Verb.LETTER, "联系函": Verb.LETTER, "工作联系函": Verb.LETTER,
    "letters": Verb.LETTERS, "联系函列表": Verb.LETTERS,
    "month": Verb.MONTH, "本月": Verb.MONTH, "月度": Verb.MONTH,
    "log": Verb.LOG, "登记": Verb.LOG,
    "import": Verb.IMPORT, "导入": Verb.IMPORT,
    "report": Verb.REPORT, "上报": Verb.REPORT,
}
ALL_WORDS = {"all", "全部"}


class CommandError(ValueError):
    def __init__(self, key: str, **params: object) -> None:
        super().__init__(key)
        self.key = key
        self.params = params


# Verbs naming one order and then some text: (needs text?, error without an
# order, error without the text).
ONE_ORDER_AND_TEXT: dict[Verb, tuple[bool, str, str | None]] = {
    Verb.DISPUTE: (True, "commands.dispute_needs_order", "commands.dispute_needs_reason"),
    Verb.UPHOLD: (False, "commands.uphold_needs_order", None),
    Verb.OVERRULE: (True, "commands.overrule_needs_order", "commands.overrule_needs_evidence"),
    Verb.FIX: (True, "commands.fix_needs_order", "commands.fix_needs_note"),
}


@dataclass(frozen=True, slots=True)
class Command:
    verb: Verb
    orders: tuple[str, ...] = ()
    all: bool = False
    reason: str = ""  # the dispute's reason, the overrule's evidence, the uphold's or fix's note; find's text
    rejected_on: date | None = None  # void/reopen ``ORDER@YYYY-MM-DD``: which of an order's rejection days


def split_orders(text: str) -> tuple[str, ...]:
    """Order numbers separated by spaces, commas or newlines (pasted from
    Excel), normalised and without repeats, in the order given."""
    seen: dict[str, None] = {}
    for token in SEPARATORS.split(unicodedata.normalize("NFKC", text)):
        if token:
            seen.setdefault(normalise_order_no(token), None)
    return tuple(seen)


def parse_command(text: str) -> Command:
    """The verb and order numbers are normalised (full-width characters, case);
    a reason, evidence or note is kept as typed."""
    text = (text or "").strip()
    if not text:
        return Command(Verb.HELP)
    word, rest = (text.split(maxsplit=1) + [""])[:2]
    word = unicodedata.normalize("NFKC", word)
    verb = ALIASES.get(word.lower())
    if verb is None:
        raise CommandError("commands.unknown_verb", word=word)
    rest = rest.strip()
    if verb in (Verb.HELP, Verb.NEXT, Verb.MONTH, Verb.LETTERS, Verb.LOG, Verb.IMPORT):
        return Command(verb)
    if verb is Verb.LETTER:
        if not rest:
            raise CommandError("letters.needs_owner")
        return Command(Verb.LETTER, reason=rest)
    if verb in RECORD_VERBS:
        return _parse_record(verb, rest)
    if verb is Verb.AWAY:
        return Command(Verb.AWAY, reason=rest)
    if verb is Verb.REPORT:
        return Command(Verb.REPORT, reason=rest)
    if verb is Verb.STATUS:
        return Command(Verb.STATUS, orders=split_orders(rest))
    if verb is Verb.CONFIRM:
        if rest.lower() in ALL_WORDS:
            return Command(Verb.CONFIRM, all=True)
        orders = split_orders(rest)
        if not orders:
            raise CommandError("commands.confirm_needs_orders")
        return Command(Verb.CONFIRM, orders=orders)
    # one order, then the text (after a space or a comma: 申诉 SO1，理由)
    needs_text, no_order, no_text = ONE_ORDER_AND_TEXT[verb]
    order, text = (SEPARATORS.split(LEADING_SEPARATORS.sub("", rest), maxsplit=1) + ["", ""])[:2]
    if not order:
        raise CommandError(no_order)
    order = normalise_order_no(order)
    text = text.strip()
    if needs_text and not text:
        raise CommandError(str(no_text), order=order)
    return Command(verb, orders=(order,), reason=text)


# --- correcting the record: void, reopen, find ----------------------------------

RECORD_ALIASES = {
    "void": Verb.VOID, "作废": Verb.VOID,
    "reopen": Verb.REOPEN, "重开": Verb.REOPEN, "重新打开": Verb.REOPEN,
    "find": Verb.FIND, "查找": Verb.FIND, "搜索": Verb.FIND,
}
ALIASES.update(RECORD_ALIASES)
RECORD_VERBS = frozenset(RECORD_ALIASES.values())
RECORD_NEEDS = {  # (error without an order, error without a reason)
    Verb.VOID: ("record.void_needs_order", "record.void_needs_reason"),
    Verb.REOPEN: ("record.reopen_needs_order", "record.reopen_needs_reason"),
}
ORDER_DAY = re.compile(r"(?P<order>.+?)@(?P<day>[^@]*)")


def _parse_record(verb: Verb, rest: str) -> Command:
    """``void``/``reopen`` take one order, optionally ``@YYYY-MM-DD`` (the
    rejection day, when the order was rejected on more than one), and a
    required reason; ``find`` takes the text to search for, as typed."""
    if verb is Verb.FIND:
        if not rest:
            raise CommandError("record.find_needs_text")
        return Command(Verb.FIND, reason=rest)
    order, reason = (SEPARATORS.split(LEADING_SEPARATORS.sub("", rest), maxsplit=1) + ["", ""])[:2]
    no_order, no_reason = RECORD_NEEDS[verb]
    if not order:
        raise CommandError(no_order)
    day = None
    split = ORDER_DAY.fullmatch(unicodedata.normalize("NFKC", order))
    if split is not None:
        order = split["order"]
        try:
            day = date.fromisoformat(split["day"])
        except ValueError:
            raise CommandError("record.bad_day", day=split["day"]) from None
    order = normalise_order_no(order)
    reason = reason.strip()
    if not reason:
        raise CommandError(no_reason, order=order)
    return Command(verb, orders=(order,), reason=reason, rejected_on=day)


# --- each subcommand's Chinese word ------------------------------------------------

# The Chinese word ``/reject help`` shows beside each English one (each is
# also an alias above; a verb added later needs its word here:
# tests/unit/test_command_words.py).
CHINESE_WORDS: dict[Verb, str] = {
    Verb.CONFIRM: "确认", Verb.DISPUTE: "申诉", Verb.UPHOLD: "申诉成立", Verb.OVERRULE: "申诉驳回",
    Verb.FIX: "整改", Verb.STATUS: "状态", Verb.NEXT: "下一步", Verb.HELP: "帮助",
    Verb.VOID: "作废", Verb.REOPEN: "重开", Verb.FIND: "查找", Verb.AWAY: "请假",
    Verb.LETTER: "联系函", Verb.LETTERS: "联系函列表", Verb.MONTH: "本月", Verb.LOG: "登记", Verb.IMPORT: "导入", Verb.REPORT: "上报",
}


def command_words() -> list[tuple[str, str]]:
    """(English, Chinese) of every subcommand, in the order of ``Verb``; a
    verb without a Chinese word yet shows its English one alone."""
    return [(str(verb), CHINESE_WORDS.get(verb, "")) for verb in Verb]
