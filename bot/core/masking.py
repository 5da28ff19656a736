"""Customer data as the shared channel may show it: surname only, phone
masked (138****1234)."""

from __future__ import annotations

import re
import unicodedata

PHONE = re.compile(r"(?<![\dA-Za-z])(\+?86[- ]?)?(1[3-9]\d)[- ]?(\d{4})[- ]?(\d{4})(?!\d)")
OTHER_NUMBER = re.compile(r"(?<![\dA-Za-z])(?:\d{2,4}-)?\d{7,}(?!\d)")
HONORIFICS = ("先生", "女士", "小姐", "太太", "老师")
COMPOUND_SURNAMES = (
    "欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "尉迟", "公孙", "慕容", "长孙", "宇文", "司徒", "夏侯", "轩辕", "令狐", "端木",
)


def mask_phone(text: str) -> str:
    text = PHONE.sub(lambda m: f"{m.group(2)}****{m.group(4)}", text)
    return OTHER_NUMBER.sub(lambda m: re.sub(r"\d", "*", m.group()[:-4]) + m.group()[-4:], text)


def _is_cjk(ch: str) -> bool:
    return unicodedata.name(ch, "").startswith("CJK")


def mask_name(name: str) -> str:
    """``张三`` → ``张*``; ``郑女士`` stays (surname and honorific);
    ``John Smith`` → ``J*** S****``."""
    name = name.strip()
    if not name:
        return ""
    if _is_cjk(name[0]):
        for title in HONORIFICS:
            if name.endswith(title) and len(name) > len(title):
                surname = _surname(name[: -len(title)])
                return surname + title
        return _surname(name) + "*"
    return " ".join(word[0] + "*" * (len(word) - 1) for word in name.split())


def _surname(name: str) -> str:
    for compound in COMPOUND_SURNAMES:
        if name.startswith(compound):
            return compound
    return name[0]


def mask_customer(customer: str) -> str:
    """The customer cell (name and phone, in any order) with both masked."""
    customer = customer.strip()
    phones = [m.group() for m in PHONE.finditer(customer)]
    rest = PHONE.sub(" ", customer)
    phones += OTHER_NUMBER.findall(rest)
    rest = OTHER_NUMBER.sub(" ", rest)
    name = " ".join(rest.replace(",", " ").replace("，", " ").split())
    parts = [mask_name(name)] if name else []
    parts += [mask_phone(p) for p in phones]
    return " ".join(p for p in parts if p)
