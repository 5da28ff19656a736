"""Customer data as the shared channel may show it (docs/product.md: masked phone
numbers, no full names)."""

from __future__ import annotations

import re

import pytest

from bot.core.masking import mask_customer, mask_name, mask_phone


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("13812341234", "138****1234"),
        ("138 1234 1234", "138****1234"),
        ("138-1234-1234", "138****1234"),
        ("+8613812341234", "138****1234"),
        ("+86 138-1234-1234", "138****1234"),
        ("86-13912345678", "139****5678"),
        ("call 13812341234 after 6", "call 138****1234 after 6"),
    ],
)
def test_mobile_numbers_keep_prefix_and_last_four(text: str, masked: str) -> None:
    assert mask_phone(text) == masked


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("010-12345678", "***-****5678"),
        ("0571-88886666", "****-****6666"),
        ("62345678", "****5678"),
    ],
)
def test_landlines_keep_only_the_last_four_digits(text: str, masked: str) -> None:
    assert mask_phone(text) == masked


def test_short_numbers_are_not_phone_numbers() -> None:
    assert mask_phone("room 1203, 2 boxes") == "room 1203, 2 boxes"


@pytest.mark.parametrize(
    ("name", "masked"),
    [
        ("张三", "张*"),
        ("张三丰", "张*"),
        ("张", "张*"),
        ("郑女士", "郑女士"),
        ("王先生", "王先生"),
        ("欧阳娜娜", "欧阳*"),
        ("司马光", "司马*"),
        ("欧阳女士", "欧阳女士"),
        ("  李四 ", "李*"),
        ("John Smith", "J*** S****"),
        ("Li", "L*"),
        ("", ""),
        ("   ", ""),
    ],
)
def test_names_show_the_surname_only(name: str, masked: str) -> None:
    assert mask_name(name) == masked


@pytest.mark.parametrize(
    ("customer", "masked"),
    [
        ("张三 13812341234", "张* 138****1234"),
        ("张三13812341234", "张* 138****1234"),
        ("13812341234 张三", "张* 138****1234"),
        ("张三，13812341234", "张* 138****1234"),
        ("郑女士 +86 138-1234-1234", "郑女士 138****1234"),
        ("王先生 010-62345678", "王先生 ***-****5678"),
        ("欧阳娜娜 13912345678", "欧阳* 139****5678"),
        ("John Smith 13812341234", "J*** S**** 138****1234"),
        ("张三", "张*"),
        ("13812341234", "138****1234"),
        ("", ""),
        ("   ", ""),
    ],
)
def test_customer_cell_masks_name_and_phone(customer: str, masked: str) -> None:
    assert mask_customer(customer) == masked


@pytest.mark.parametrize(
    "customer",
    ["张三 13812341234", "+86 138-1234-1234 张三", "张三 138 1234 1234", "李四 0571-88886666 13700001111"],
)
def test_no_full_number_survives(customer: str) -> None:
    masked = mask_customer(customer)
    digits_of_input = re.sub(r"\D", "", customer)
    assert "****" in masked
    assert not re.search(r"\d{5,}", masked.replace("-", "").replace(" ", "")), masked
    assert digits_of_input not in re.sub(r"\D", "", masked)


def test_two_phones_are_both_masked() -> None:
    assert mask_customer("李四 13700001111 0571-88886666") == "李* 137****1111 ****-****6666"
