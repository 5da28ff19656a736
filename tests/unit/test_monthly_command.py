"""``/reject month`` (本月, 月度) parses to its verb, whatever follows."""

from __future__ import annotations

import pytest

from bot.core.commands import Command, Verb, parse_command


@pytest.mark.parametrize("text", ["month", "MONTH", "本月", "月度", "  month  ", "month please"])
def test_month_parses(text: str) -> None:
    assert parse_command(text) == Command(Verb.MONTH)
