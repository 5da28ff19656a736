"""Parsing ``/reject void``, ``reopen`` and ``find``, and the texts of
correcting the record (the find list within the message budget)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.core.commands import Command, CommandError, Verb, parse_command
from bot.core.lifecycle import Action
from bot.core.record import find_text, owner_notice
from bot.core.text import MESSAGE_TEXT_BUDGET, text_size
from bot.i18n import LOCALES, Catalog


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("void SO1 录错了", Command(Verb.VOID, orders=("SO1",), reason="录错了")),
        ("作废 so1，录错了 两次", Command(Verb.VOID, orders=("SO1",), reason="录错了 两次")),
        ("void ＳＯ１ wrong order", Command(Verb.VOID, orders=("SO1",), reason="wrong order")),
        ("reopen SO1@2026-11-27 owner asked", Command(Verb.REOPEN, orders=("SO1",), reason="owner asked", rejected_on=date(2026, 11, 27))),
        ("重开 so1＠２０２６-11-27 负责人请求", Command(Verb.REOPEN, orders=("SO1",), reason="负责人请求", rejected_on=date(2026, 11, 27))),
        ("find  50%_ 杭州 ", Command(Verb.FIND, reason="50%_ 杭州")),
        ("查找 SO1", Command(Verb.FIND, reason="SO1")),
        ("FIND so1", Command(Verb.FIND, reason="so1")),
    ],
)
def test_record_commands_parse(text: str, expected: Command) -> None:
    assert parse_command(text) == expected


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("void", "record.void_needs_order"),
        ("void SO1", "record.void_needs_reason"),
        ("void SO1 ，　", "record.void_needs_reason"),
        ("reopen", "record.reopen_needs_order"),
        ("reopen SO1", "record.reopen_needs_reason"),
        ("reopen SO1@yesterday reason", "record.bad_day"),
        ("void SO1@ reason", "record.bad_day"),
        ("find", "record.find_needs_text"),
        ("find 　", "record.find_needs_text"),
    ],
)
def test_incomplete_record_commands_are_explained(text: str, key: str) -> None:
    with pytest.raises(CommandError) as caught:
        parse_command(text)
    assert caught.value.key == key


@pytest.mark.parametrize("locale", LOCALES)
def test_every_record_refusal_of_the_parser_has_a_text(locale: str) -> None:
    catalog = Catalog(locale)
    for text in ("void", "void SO1", "reopen", "reopen SO1", "void SO1@x y", "find"):
        with pytest.raises(CommandError) as caught:
            parse_command(text)
        assert catalog.t(caught.value.key, **caught.value.params)


@dataclass
class Found:
    order_no: str
    rejected_on: date
    branch: str
    note: str
    status: str
    owner: str | None
    customer: str = ""


@pytest.mark.parametrize("locale", LOCALES)
def test_the_find_list_stays_within_the_budget_however_long_the_records(locale: str) -> None:
    catalog = Catalog(locale)
    huge = [Found("SO<&>1", date(2026, 11, 26), "网" * 500, "电话13812341234 " + "长" * 5000, "deemed_confirmed", "负" * 300)] * 20

    text = find_text("%" * 500, huge, 99_999, catalog)

    assert text_size(text) <= MESSAGE_TEXT_BUDGET
    assert "13812341234" not in text and "138****1234" in text
    assert "<&>" not in text and "&lt;&amp;&gt;" in text


@pytest.mark.parametrize("locale", LOCALES)
def test_the_owner_notice_masks_the_customer_in_the_reason(locale: str) -> None:
    text = owner_notice(
        Action.REOPEN, owner_user="U0OWNERY", actor="U0CSLEAD", order="SO1", rejected_on=date(2026, 11, 26),
        reason="客户王伟 13812341234 要求 <重开>", customer="王伟", deadline=datetime(2026, 11, 30, 10, 0, tzinfo=ZoneInfo("UTC")),
        catalog=Catalog(locale), tz=ZoneInfo("Asia/Shanghai"),
    )
    assert "<@U0OWNERY>" in text and "138****1234" in text and "13812341234" not in text
    assert "王伟" not in text and "王*" in text
    assert "&lt;重开&gt;" in text and "11-30 18:00" in text
