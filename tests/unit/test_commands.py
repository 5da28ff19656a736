"""Parsing ``/reject`` command text."""

from __future__ import annotations

import pytest

from bot.core.commands import Command, CommandError, Verb, parse_command, split_orders
from bot.i18n import LOCALES, Catalog

# --- split_orders ------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "SO1 SO2 SO3",
        "SO1,SO2,SO3",
        "SO1, SO2 ,SO3",
        "SO1，SO2，SO3",  # full-width comma
        "SO1、SO2、SO3",  # enumeration comma
        "SO1;SO2；SO3",
        "SO1\nSO2\nSO3",
        "SO1\r\nSO2\r\nSO3\r\n",  # a column pasted from Excel on Windows
        "SO1\tSO2\tSO3",  # a row pasted from Excel
        "  SO1 \n\n SO2\t\t,SO3  ",
        "SO1\u3000SO2\u3000SO3",  # ideographic space
    ],
)
def test_orders_split_on_any_separator(text: str) -> None:
    assert split_orders(text) == ("SO1", "SO2", "SO3")


def test_duplicates_are_removed_keeping_the_first_position() -> None:
    assert split_orders("SO2 SO1 SO2 so1 ＳＯ２") == ("SO2", "SO1")


def test_full_width_order_numbers_are_normalised() -> None:
    assert split_orders("ＳＯ２０２６１１２６００１") == ("SO20261126001",)


def test_lower_case_is_upper_cased() -> None:
    assert split_orders("so123 Ab9") == ("SO123", "AB9")


def test_nothing_to_split() -> None:
    assert split_orders("") == ()
    assert split_orders(" ,，、\n\t ") == ()


# --- parse_command -----------------------------------------------------------


def test_confirm_with_orders_from_an_excel_paste() -> None:
    assert parse_command("confirm SO1\nso2\tSO3，SO4、SO1") == Command(Verb.CONFIRM, orders=("SO1", "SO2", "SO3", "SO4"))


def test_confirm_with_the_orders_on_the_next_line() -> None:
    assert parse_command("confirm\nSO1\nSO2") == Command(Verb.CONFIRM, orders=("SO1", "SO2"))


@pytest.mark.parametrize("text", ["confirm all", "confirm ALL", "Confirm  all ", "确认 全部", "确认 all", "confirm 全部"])
def test_confirm_all(text: str) -> None:
    assert parse_command(text) == Command(Verb.CONFIRM, all=True)


@pytest.mark.parametrize(
    ("text", "verb"),
    [
        ("确认 SO1", Verb.CONFIRM),
        ("申诉 SO1 客户未收到", Verb.DISPUTE),
        ("状态", Verb.STATUS),
        ("帮助", Verb.HELP),
        ("CONFIRM so1", Verb.CONFIRM),
        ("Status", Verb.STATUS),
        ("help", Verb.HELP),
        ("?", Verb.HELP),
        ("？", Verb.HELP),  # full-width question mark
    ],
)
def test_verbs_and_chinese_aliases(text: str, verb: Verb) -> None:
    assert parse_command(text).verb is verb


def test_a_full_width_space_after_a_chinese_verb() -> None:
    assert parse_command("确认\u3000SO1") == Command(Verb.CONFIRM, orders=("SO1",))


def test_status_with_and_without_orders() -> None:
    assert parse_command("status") == Command(Verb.STATUS)
    assert parse_command("状态 so1, so2") == Command(Verb.STATUS, orders=("SO1", "SO2"))


@pytest.mark.parametrize("text", ["next", "NEXT", "下一步", "下一步 ", "next anything after it"])
def test_next_in_english_and_chinese(text: str) -> None:
    assert parse_command(text) == Command(Verb.NEXT)


@pytest.mark.parametrize("locale", LOCALES)
def test_the_help_names_next(locale: str) -> None:
    assert "/reject next" in Catalog(locale).t("commands.help")


def test_dispute_keeps_the_reason_with_its_inner_spaces_and_lines() -> None:
    cmd = parse_command("dispute so1   customer  signed,\nsee photo  ")
    assert cmd == Command(Verb.DISPUTE, orders=("SO1",), reason="customer  signed,\nsee photo")


def test_dispute_in_chinese_with_a_full_width_order() -> None:
    assert parse_command("申诉 ＳＯ１ 客户已签收") == Command(Verb.DISPUTE, orders=("SO1",), reason="客户已签收")


def test_dispute_reason_after_the_order_on_a_new_line() -> None:
    assert parse_command("dispute SO1\nwrong callback") == Command(Verb.DISPUTE, orders=("SO1",), reason="wrong callback")


@pytest.mark.parametrize("text", ["dispute SO1, wrong callback", "申诉 SO1，客户已签收", "申诉 SO1、客户已签收"])
def test_dispute_reason_after_a_comma(text: str) -> None:
    cmd = parse_command(text)
    assert cmd.verb is Verb.DISPUTE
    assert cmd.orders == ("SO1",)
    assert cmd.reason in ("wrong callback", "客户已签收")


def test_dispute_only_takes_one_order() -> None:
    cmd = parse_command("dispute SO1 SO2 looked fine")
    assert cmd.orders == ("SO1",)
    assert cmd.reason == "SO2 looked fine"


@pytest.mark.parametrize(
    ("text", "key", "params"),
    [
        ("dispute so1", "commands.dispute_needs_reason", {"order": "SO1"}),
        ("申诉 SO1  ", "commands.dispute_needs_reason", {"order": "SO1"}),
        ("dispute SO1，", "commands.dispute_needs_reason", {"order": "SO1"}),
        ("dispute", "commands.dispute_needs_order", {}),
        ("dispute  ,", "commands.dispute_needs_order", {}),
        ("confirm", "commands.confirm_needs_orders", {}),
        ("confirm , ，", "commands.confirm_needs_orders", {}),
        ("approve SO1", "commands.unknown_verb", {"word": "approve"}),
        ("SO1 SO2", "commands.unknown_verb", {"word": "SO1"}),
    ],
)
def test_errors(text: str, key: str, params: dict) -> None:
    with pytest.raises(CommandError) as caught:
        parse_command(text)
    assert caught.value.key == key
    assert caught.value.params == params


@pytest.mark.parametrize("text", ["", "   ", "\n\t", None])
def test_empty_text_means_help(text) -> None:
    assert parse_command(text) == Command(Verb.HELP)


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize(
    "text", ["dispute so1", "dispute", "confirm", "approve SO1"]
)
def test_every_command_error_has_a_message_in_both_catalogs(locale: str, text: str) -> None:
    with pytest.raises(CommandError) as caught:
        parse_command(text)
    catalog = Catalog(locale)
    assert catalog.has(caught.value.key)
    message = catalog.t(caught.value.key, **caught.value.params)
    for value in caught.value.params.values():
        assert str(value) in message
