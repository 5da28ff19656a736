"""Parsing ``/reject`` command text.

Errors: ``CommandError`` (``.key`` is a catalog key, ``.params`` its values).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum

from bot.core.importing import normalise_order_no

SEPARATORS = re.compile(r"[\s,，、;；]+")


class Verb(StrEnum):
    CONFIRM = "confirm"
    DISPUTE = "dispute"
    STATUS = "status"
    HELP = "help"


ALIASES = {
    "confirm": Verb.CONFIRM, "确认": Verb.CONFIRM,
    "dispute": Verb.DISPUTE, "申诉": Verb.DISPUTE,
    "status": Verb.STATUS, "状态": Verb.STATUS,
    "help": Verb.HELP, "帮助": Verb.HELP, "?": Verb.HELP,
}
ALL_WORDS = {"all", "全部"}


class CommandError(ValueError):
    def __init__(self, key: str, **params: object) -> None:
        super().__init__(key)
        self.key = key
        self.params = params


@dataclass(frozen=True, slots=True)
class Command:
    verb: Verb
    orders: tuple[str, ...] = ()
    all: bool = False
    reason: str = ""


def split_orders(text: str) -> tuple[str, ...]:
    """Order numbers separated by spaces, commas or newlines (pasted from
    Excel), normalised and without repeats, in the order given."""
    seen: dict[str, None] = {}
    for token in SEPARATORS.split(unicodedata.normalize("NFKC", text)):
        if token:
            seen.setdefault(normalise_order_no(token), None)
    return tuple(seen)


def parse_command(text: str) -> Command:
    text = unicodedata.normalize("NFKC", text or "").strip()
    if not text:
        return Command(Verb.HELP)
    word, rest = (text.split(maxsplit=1) + [""])[:2]
    verb = ALIASES.get(word.lower())
    if verb is None:
        raise CommandError("commands.unknown_verb", word=word)
    rest = rest.strip()
    if verb is Verb.HELP:
        return Command(Verb.HELP)
    if verb is Verb.STATUS:
        return Command(Verb.STATUS, orders=split_orders(rest))
    if verb is Verb.CONFIRM:
        if rest.lower() in ALL_WORDS:
            return Command(Verb.CONFIRM, all=True)
        orders = split_orders(rest)
        if not orders:
            raise CommandError("commands.confirm_needs_orders")
        return Command(Verb.CONFIRM, orders=orders)
    # dispute: one order, then the reason (after a space or a comma: 申诉 SO1，理由)
    order, reason = (SEPARATORS.split(rest.lstrip(",，、;；"), maxsplit=1) + ["", ""])[:2]
    if not order:
        raise CommandError("commands.dispute_needs_order")
    reason = reason.strip()
    if not reason:
        raise CommandError("commands.dispute_needs_reason", order=normalise_order_no(order))
    return Command(Verb.DISPUTE, orders=(normalise_order_no(order),), reason=reason)
