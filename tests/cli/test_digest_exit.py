"""``rejectbot digest`` exits 1 while something due is not posted, 0 once it is."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.cli import main
from bot.fakeslack import FakeSlack

SAMPLE = Path(__file__).resolve().parents[1] / "fixtures" / "samples" / "callbacks-2026-11-26.csv"
EXAMPLE_ROUTING = Path(__file__).resolve().parents[2] / "routing.example.toml"


def test_a_digest_with_a_page_slack_refused_exits_1_until_the_rerun_posts_it(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("SLACK_SIGNING_SECRET", "ROUTING_FILE", "BOT_TIMEZONE"):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "routing.toml").write_text(EXAMPLE_ROUTING.read_text(encoding="utf-8"), encoding="utf-8")
    friday = datetime(2026, 11, 27, 8, 30, tzinfo=ZoneInfo("Asia/Shanghai")).timestamp()
    with FakeSlack(clock=lambda: friday) as fake:  # scheduled warnings judged by the runs' time, not the wall clock
        for name, value in {
            "DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}", "BOT_LOCALE": "en", "SLACK_BOT_TOKEN": "xoxb-test",
            "SLACK_APP_TOKEN": "xapp-test", "SLACK_API_URL": fake.api_url,
        }.items():
            monkeypatch.setenv(name, value)
        assert main(["import", str(SAMPLE)]) == 0
        fake.fail_next("chat.postMessage", "not_in_channel")

        assert main(["digest", "--at", "2026-11-27T08:30"]) == 1
        assert "not posted yet: not_in_channel" in capsys.readouterr().err
        assert main(["digest", "--at", "2026-11-27T08:31"]) == 0
        assert main(["digest", "--at", "2026-11-27T08:32"]) == 0
        assert "already posted" in capsys.readouterr().out
        assert len([c for c in fake.calls_to("chat.postMessage") if c.error is None and c.params["channel"] == "C0LOGISTICS"]) == 3
