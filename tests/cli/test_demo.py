"""`rejectbot demo` runs the whole loop offline, in both languages."""

import pytest

from bot.cli import main


@pytest.mark.parametrize("locale", ["en", "zh_CN"])
def test_the_demo_runs_the_loop(locale, capsys):
    assert main(["demo", "--locale", locale]) == 0
    out = capsys.readouterr().out
    assert "SO20261126000000" in out
    assert "[ Confirm ]" in out or "[ 确认 ]" in out  # the digest shows its buttons
    assert "new Slack calls: 0" in out or "新增 Slack 调用：0" in out  # the redelivered event did nothing
    assert "138****" in out or "****" in out  # customers are masked
    assert "15523938499" not in out  # no full phone number in the channel
