"""Dates, times and money as each locale writes them, and which catalog a
Slack locale reads."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.core.formats import format_date, format_datetime, format_money
from bot.i18n import LOCALES, Catalog, locale_for_slack

SHANGHAI = ZoneInfo("Asia/Shanghai")
ZH, EN = Catalog("zh_CN"), Catalog("en")


@pytest.mark.parametrize(("slack", "ours"), [
    ("zh-CN", "zh_CN"), ("zh-TW", "zh_CN"), ("zh-HK", "zh_CN"), ("zh_CN", "zh_CN"), ("ZH-cn", "zh_CN"),
    ("en-US", "en"), ("en-GB", "en"), ("ja-JP", "en"), ("ko-KR", "en"), ("", "en"), (None, "en"), ("zhx-XX", "en"),
])
def test_chinese_of_any_region_reads_zh_cn_and_every_other_locale_en(slack, ours) -> None:
    assert locale_for_slack(slack) == ours


def test_a_date_in_each_locale() -> None:
    assert format_date(date(2026, 12, 1), ZH) == "2026年12月1日"
    assert format_date(date(2026, 12, 1), EN) == "1 Dec 2026"
    assert format_date(date(2027, 3, 9), EN) == "9 Mar 2027"


def test_a_moment_in_the_team_s_time_zone() -> None:
    moment = datetime(2026, 12, 1, 1, 30, tzinfo=UTC)  # 09:30 in Shanghai
    assert format_datetime(moment, ZH, SHANGHAI) == "2026年12月1日 09:30"
    assert format_datetime(moment, EN, SHANGHAI) == "1 Dec 2026 09:30"
    late = datetime(2026, 12, 31, 16, 5, tzinfo=UTC)  # already the new year in Shanghai
    assert format_datetime(late, EN, SHANGHAI) == "1 Jan 2027 00:05"


def test_money_with_thousands_and_only_the_decimals_it_has() -> None:
    assert format_money(1200, ZH) == "¥1,200"
    assert format_money(1200, EN) == "¥1,200"
    assert format_money(50, EN) == "¥50"
    assert format_money(1234567.5, ZH) == "¥1,234,567.50"
    assert format_money(0, EN) == "¥0"


@pytest.mark.parametrize("locale", LOCALES)
def test_every_locale_s_patterns_render(locale) -> None:
    """A new locale's formats.toml is checked here: twelve months, known directives."""
    catalog = Catalog(locale)
    for month in range(1, 13):
        assert format_date(date(2026, month, 28), catalog)
        assert format_datetime(datetime(2026, month, 28, 23, 59, tzinfo=SHANGHAI), catalog, SHANGHAI)
    assert "1,200" in format_money(1200, catalog)


class _Bad:
    def __init__(self, **texts: str) -> None:
        self.texts = texts

    def t(self, key: str, /, **params: object) -> str:
        return self.texts[key.split(".", 1)[1]].format(**params)


def test_a_pattern_with_an_unknown_directive_is_refused() -> None:
    months = "a b c d e f g h i j k l"
    with pytest.raises(ValueError, match="%Q"):
        format_date(date(2026, 1, 1), _Bad(date="%Q %Y", months=months))
    with pytest.raises(ValueError, match="%H"):  # a time in a date-only pattern
        format_date(date(2026, 1, 1), _Bad(date="%Y %H", months=months))
    with pytest.raises(ValueError, match="11 months"):
        format_date(date(2026, 1, 1), _Bad(date="%b", months="a b c d e f g h i j k"))
