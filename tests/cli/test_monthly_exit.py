"""``rejectbot monthly``: 0 when posted or already there, 1 when not all is
sent (the next run carries on), 2 for a bad ``--month``."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.cli import main
from bot.fakeslack import FakeSlack

SAMPLE = Path(__file__).resolve().parents[1] / "fixtures" / "samples" / "callbacks-2026-11-26.csv"
EXAMPLE_ROUTING = Path(__file__).resolve().parents[2] / "routing.example.toml"


@pytest.fixture
def fake(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name in ("SLACK_SIGNING_SECRET", "ROUTING_FILE", "BOT_TIMEZONE"):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "routing.toml").write_text(EXAMPLE_ROUTING.read_text(encoding="utf-8"), encoding="utf-8")
    friday = datetime(2026, 11, 27, 8, 30, tzinfo=ZoneInfo("Asia/Shanghai")).timestamp()
    with FakeSlack(clock=lambda: friday) as fake:
        for name, value in {
            "DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}", "BOT_LOCALE": "en", "SLACK_BOT_TOKEN": "xoxb-test",
            "SLACK_APP_TOKEN": "xapp-test", "SLACK_API_URL": fake.api_url,
        }.items():
            monkeypatch.setenv(name, value)
        yield fake


def notices(fake: FakeSlack) -> list[dict]:
    """The notices posted in the channel (not the DMs)."""
    return [
        c for c in fake.calls_to("chat.postMessage")
        if c.error is None and c.params["channel"].startswith("C") and (c.params.get("metadata") or {}).get("event_payload", {}).get("key", "").startswith("monthly:")
    ]


@pytest.mark.parametrize("month", ["2026-13", "nov", "2026-1", "1999-12"])
def test_a_bad_month_exits_2_with_a_clear_message(fake, capsys, month) -> None:
    assert main(["monthly", "--month", month, "--at", "2026-12-01T09:00"]) == 2
    err = capsys.readouterr().err
    assert "Not a month" in err and "Traceback" not in err
    assert notices(fake) == []


def test_a_month_not_over_exits_2(fake, capsys) -> None:
    assert main(["monthly", "--month", "2026-12", "--at", "2026-12-01T09:00"]) == 2
    assert "is not over yet" in capsys.readouterr().err


def test_posted_then_already_then_unchanged_and_a_failure_exits_1(fake, capsys) -> None:
    assert main(["import", str(SAMPLE)]) == 0
    assert main(["digest", "--at", "2026-11-27T08:30"]) == 0
    capsys.readouterr()
    fake.fail_next("chat.postMessage", "not_in_channel")  # the notice itself

    assert main(["monthly", "--at", "2026-12-01T09:00"]) == 1  # default: the previous month
    assert "not posted: not_in_channel" in capsys.readouterr().err
    assert main(["monthly", "--month", "2026-11", "--at", "2026-12-01T09:01"]) == 0
    assert "The monthly notice for 2026-11 is posted: https://" in capsys.readouterr().out
    assert main(["monthly", "--at", "2026-12-01T09:02"]) == 0
    assert "was already posted: https://" in capsys.readouterr().out
    assert main(["monthly", "--reissue", "--at", "2026-12-02T09:00"]) == 0
    assert "are the same as in the notice posted" in capsys.readouterr().out
    assert len(notices(fake)) == 1
