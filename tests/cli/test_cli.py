"""The ``rejectbot`` command line as an operator runs it: environment
variables, a routing file, a SQLite database, and our fake Slack."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import func, select

from bot.cli import main
from bot.fakeslack import FakeSlack
from storage.db import make_engine, make_session_factory, transaction
from storage.models import Item

SAMPLE = Path(__file__).resolve().parents[1] / "fixtures" / "samples" / "callbacks-2026-11-26.csv"
EXAMPLE_ROUTING = Path(__file__).resolve().parents[2] / "routing.example.toml"


@pytest.fixture
def operator(tmp_path, monkeypatch):
    """A working directory with a routing file and a fresh environment."""
    monkeypatch.chdir(tmp_path)  # no .env from the repository
    for name in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_API_URL", "DATABASE_URL", "ROUTING_FILE", "BOT_TIMEZONE", "BOT_LOCALE"):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "routing.toml").write_text(EXAMPLE_ROUTING.read_text(encoding="utf-8"), encoding="utf-8")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'bot.db'}")
    monkeypatch.setenv("BOT_LOCALE", "en")
    return tmp_path


BROKEN_ROUTING = 'channel = "general"\n[cs]\nlead = "nobody"\n[[owners]]\nname = "A"\nuser = "U1X"\ncategories = ["huge"]\n'


@pytest.fixture
def slack(operator, monkeypatch):
    """Tokens set and the Web API pointed at a fake Slack."""
    with FakeSlack() as fake:
        monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test")
        monkeypatch.setenv("SLACK_APP_TOKEN", "xapp-test")
        monkeypatch.setenv("SLACK_API_URL", fake.api_url)
        yield fake


def item_count(tmp_path: Path) -> int:
    engine = make_engine(f"sqlite:///{tmp_path / 'bot.db'}")
    with transaction(make_session_factory(engine)) as session:
        return session.exec(select(func.count()).select_from(Item)).one()


def test_import_dry_run_reports_and_writes_nothing(operator, capsys):
    assert main(["import", str(SAMPLE), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "40" in out and "dry run" in out.lower()
    assert item_count(operator) == 0


def test_import_twice_adds_once(operator, capsys):
    assert main(["import", str(SAMPLE)]) == 0
    assert main(["import", str(SAMPLE)]) == 0
    out = capsys.readouterr().out
    assert item_count(operator) == 40
    assert "skipped: 40" in out.lower() or "40 already" in out.lower()


def test_import_of_a_missing_file_says_so(operator, capsys):
    assert main(["import", "nope.csv"]) == 2
    assert "nope.csv" in capsys.readouterr().err


def test_digest_at_a_time_posts_once(operator, slack, capsys):
    fake = slack
    assert main(["import", str(SAMPLE)]) == 0
    assert main(["digest", "--at", "2026-11-27T08:29"]) == 0
    assert "not due yet" in capsys.readouterr().out
    assert main(["digest", "--at", "2026-11-27T08:30"]) == 0
    assert main(["digest", "--at", "2026-11-27T08:31"]) == 0
    out = capsys.readouterr().out
    assert "posted" in out and "already posted" in out
    channel_posts = [c for c in fake.calls_to("chat.postMessage") if c.params["channel"] == "C0LOGISTICS" and not c.params.get("thread_ts")]
    assert len(channel_posts) == 2  # one per owner, once
    assert main(["digest", "--at", "2026-11-28T09:00"]) == 0  # a Saturday
    assert "not a working day" in capsys.readouterr().out


def test_check_config_names_every_problem(operator, monkeypatch, capsys):
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxp-user-token")
    monkeypatch.setenv("BOT_TIMEZONE", "Mars/Olympus")
    (operator / "routing.toml").write_text(BROKEN_ROUTING, encoding="utf-8")
    assert main(["check-config"]) == 1
    out = capsys.readouterr().out
    assert out.startswith("6 problem(s) found:\n")
    for fragment in ("xoxb-", "SLACK_APP_TOKEN", "Mars/Olympus", "channel", "cs.lead", "'huge'"):
        assert fragment in out, fragment
    assert "  ✗ routing.toml: owners[0] (A).categories: 'huge' is not \"large\" or \"small\"." in out.splitlines()


@pytest.mark.parametrize("locale", ["zh_CN", "fr"])  # an unknown BOT_LOCALE falls back to zh_CN
def test_check_config_speaks_chinese(operator, monkeypatch, capsys, locale):
    monkeypatch.setenv("BOT_LOCALE", locale)  # no Slack tokens: two problems of the environment
    (operator / "routing.toml").write_text(BROKEN_ROUTING, encoding="utf-8")
    assert main(["check-config"]) == 1
    out = capsys.readouterr().out
    expected_count = 5 if locale == "zh_CN" else 6  # plus: BOT_LOCALE 'fr' is not a locale
    assert out.splitlines()[0] == f"发现 {expected_count} 个问题："
    for line in (
        "  ✗ 未设置 SLACK_BOT_TOKEN：请在 Slack 应用的 OAuth & Permissions 页面复制 Bot User OAuth Token（xoxb-…）。",
        "  ✗ routing.toml：channel：'general' 不是 Slack 频道 ID（C…）；请在 Slack 中打开该频道的详情，复制其 ID。",
        "  ✗ routing.toml：cs.lead：'nobody' 既不是 Slack 用户 ID（U…），也不是电子邮件地址。",
        "  ✗ routing.toml：owners[0] (A).categories：'huge' 不是 \"large\" 或 \"small\"。",
    ):
        assert line in out.splitlines(), line
    assert "problem" not in out and "is not" not in out  # no English left
    if locale == "fr":
        assert "  ✗ BOT_LOCALE 'fr' 不是 zh_CN, en 之一。" in out.splitlines()


def test_run_without_a_connection_mode_says_so_in_chinese(operator, monkeypatch, capsys):
    monkeypatch.setenv("BOT_LOCALE", "zh_CN")
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test")
    assert main(["run"]) == 2
    err = capsys.readouterr().err
    assert "✗ 请设置 SLACK_APP_TOKEN 以使用 Socket Mode" in err


def test_check_config_passes_on_a_good_setup(operator, slack, capsys):
    assert main(["check-config"]) == 0
    assert capsys.readouterr().out == "Configuration OK: 2 owner(s), channel C0LOGISTICS, time zone Asia/Shanghai.\n"


def test_db_upgrade(operator, capsys):
    assert main(["db", "upgrade"]) == 0
    assert item_count(operator) == 0


def test_check_config_reports_a_token_slack_refuses(operator, slack, capsys):
    slack.fail_next("auth.test", error="invalid_auth")  # a revoked token
    assert main(["check-config"]) == 1
    assert "invalid_auth" in capsys.readouterr().out


def test_sweep_at_times_nudges_once(operator, slack, capsys):
    fake = slack
    assert main(["import", str(SAMPLE)]) == 0
    assert main(["digest", "--at", "2026-11-27T08:30"]) == 0
    assert main(["sweep", "--at", "2026-11-27T10:59"]) == 0
    nudges = lambda: [c for c in fake.calls_to("chat.postMessage") if c.params.get("thread_ts") and "reminder" in c.params["text"]]  # noqa: E731
    assert nudges() == []
    assert main(["sweep", "--at", "2026-11-27T11:00"]) == 0
    assert main(["sweep", "--at", "2026-11-27T11:10"]) == 0
    assert len(nudges()) == 2  # one per owner's thread, once
    out = capsys.readouterr().out
    assert "2 follow-up message(s) sent" in out and "0 follow-up message(s) sent" in out
