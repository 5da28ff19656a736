"""Dates, times and money as a locale writes them.

The patterns are data, in each locale's ``formats.toml``, so adding a locale
adds no code: ``formats.date`` and ``formats.datetime`` are strftime-like
patterns, ``formats.months`` the twelve month names (space-separated), and
``formats.money`` the amount's frame. The directives are interpreted here,
not by the C library, so they do not depend on the process's locale or
platform: ``%Y`` year, ``%m``/``%d`` zero-padded month/day, ``%-m``/``%-d``
unpadded, ``%b`` the month's name from ``formats.months``, ``%H``/``%M``
hour and minute, ``%%`` a percent sign.

    zh_CN: 2026年12月1日 09:30 · ¥1,200
    en:    1 Dec 2026 09:30 · ¥1,200

Pure: the caller gives the catalog and, for moments, the time zone.

Errors: ``ValueError`` for a pattern with an unknown directive (a bad
catalog; tests/unit/test_formats.py formats every locale's patterns).
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from typing import Protocol
from zoneinfo import ZoneInfo

DIRECTIVE = re.compile(r"%(-?[A-Za-z%])")


class _Catalog(Protocol):
    def t(self, key: str, /, **params: object) -> str: ...


def _render(pattern: str, moment: date | datetime, months: list[str]) -> str:
    def one(match: re.Match[str]) -> str:
        code = match.group(1)
        if code == "%":
            return "%"
        if code == "Y":
            return f"{moment.year:04d}"
        if code in ("m", "-m", "d", "-d"):
            value = moment.month if code.endswith("m") else moment.day
            return str(value) if code.startswith("-") else f"{value:02d}"
        if code == "b":
            return months[moment.month - 1]
        if code in ("H", "M") and isinstance(moment, datetime):
            return f"{moment.hour if code == 'H' else moment.minute:02d}"
        raise ValueError(f"unknown or misplaced directive %{code} in {pattern!r}")

    return DIRECTIVE.sub(one, pattern)


def _months(catalog: _Catalog) -> list[str]:
    months = catalog.t("formats.months").split()
    if len(months) != 12:
        raise ValueError(f"formats.months names {len(months)} months, not 12")
    return months


def format_date(day: date, catalog: _Catalog) -> str:
    """``2026年12月1日`` / ``1 Dec 2026``."""
    return _render(catalog.t("formats.date"), day, _months(catalog))


def format_datetime(moment: datetime, catalog: _Catalog, tz: ZoneInfo) -> str:
    """``2026年12月1日 09:30`` / ``1 Dec 2026 09:30``, in ``tz``."""
    return _render(catalog.t("formats.datetime"), moment.astimezone(tz), _months(catalog))


def format_money(amount: int | float | Decimal, catalog: _Catalog) -> str:
    """``¥1,200`` (whole yuan without decimals, else two: ``¥12.50``)."""
    value = Decimal(str(amount))
    number = f"{value:,.0f}" if value == value.to_integral_value() else f"{value:,.2f}"
    return catalog.t("formats.money", amount=number)
