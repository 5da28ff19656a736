"""The ``rejectbot`` command line as an operator runs it: environment
variables, a routing file, a SQLite database, and our fake Slack."""

from __future__ import annotations

import subprocess
import sys
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


def test_import_of_a_file_that_cannot_be_read_says_so_and_exits_1(operator, capsys):
    # A regular file whose read fails whoever runs the test (root ignores chmod 000).
    unreadable = Path("/proc/self/mem")
    if not unreadable.is_file():
        pytest.skip("needs Linux's /proc/self/mem: a regular file whose read fails with EIO")
    assert main(["import", str(unreadable)]) == 1
    err = capsys.readouterr().err
    assert "Cannot read /proc/self/mem (Input/output error); nothing was imported" in err
    no_traceback(err)
    assert main(["import", str(SAMPLE)]) == 0 and item_count(operator) == 40  # only the readable file's rows


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
    out = capsys.readouterr().out.splitlines()
    assert out[:2] == ["Configuration OK: 2 owner(s), channel C0LOGISTICS, time zone Asia/Shanghai.", "Working-day calendar:"]
    assert len(out) == 4  # this year and next


def test_check_config_shows_which_years_the_calendar_covers_and_by_what(operator, slack, capsys):
    from datetime import date

    routing = operator / "routing.toml"
    text = routing.read_text(encoding="utf-8").replace("assume_weekdays = []", "assume_weekdays = [2028]")
    routing.write_text(text + '\n[calendar.years.2027]\nholidays = ["2027-01-01"]\nworking_days = []\n', encoding="utf-8")
    assert main(["check-config"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert "  2027: the routing file's [calendar.years.2027]" in out
    assert "  2028: Monday–Friday assumed ([calendar] assume_weekdays)" in out
    this_year = date.today().year
    assert any(line.startswith(f"  {this_year}: ") for line in out) and any(line.startswith(f"  {this_year + 1}: ") for line in out)
    if this_year == 2026:
        assert "  2026: the chinesecalendar package (official data)" in out


def test_check_config_shows_years_named_in_the_file_far_ahead(operator, slack, capsys):
    routing = operator / "routing.toml"
    routing.write_text(routing.read_text(encoding="utf-8").replace("assume_weekdays = []", "assume_weekdays = [2199]"), encoding="utf-8")
    routing.write_text(routing.read_text(encoding="utf-8") + '\n[calendar.years.2198]\nholidays = []\n', encoding="utf-8")
    assert main(["check-config"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert "  2198: the routing file's [calendar.years.2198]" in out and "  2199: Monday–Friday assumed ([calendar] assume_weekdays)" in out


def test_start_up_refuses_an_unknown_key_naming_the_one_meant(operator, slack, capsys):
    routing = operator / "routing.toml"
    routing.write_text(routing.read_text(encoding="utf-8").replace("[timings]\n", "[timings]\nwork_stat = \"09:00\"\n"), encoding="utf-8")
    assert main(["sweep", "--at", "2026-11-27T09:00"]) == 2
    err = capsys.readouterr().err
    assert "[timings]: unknown key 'work_stat'; did you mean 'work_start'?" in err
    no_traceback(err)


def test_check_config_refuses_an_unknown_key_naming_the_one_meant(operator, slack, capsys):
    routing = operator / "routing.toml"
    routing.write_text(routing.read_text(encoding="utf-8").replace("escalation = [", "escalaton = [", 1), encoding="utf-8")
    assert main(["check-config"]) == 1
    out = capsys.readouterr().out
    assert "owners[0] (大件配送): unknown key 'escalaton'; did you mean 'escalation'?" in out


def test_db_upgrade(operator, capsys):
    assert main(["db", "upgrade"]) == 0
    assert item_count(operator) == 0


def test_check_config_reports_a_token_slack_refuses(operator, slack, capsys):
    slack.fail_next("auth.test", error="invalid_auth")  # a revoked token
    assert main(["check-config"]) == 1
    out = capsys.readouterr().out
    assert "invalid_auth" in out
    assert "Working-day calendar:" in out  # the routing file was read: its calendar is shown too


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


# --- exit codes: 0 done (warnings on stderr), 1 something due not done, 2 bad usage --------

HEADER = "订单号,拒收日期,分公司,配送类型,场景,客户,回访人,回访时间,回访记录"
GOOD_ROW = "SO20261126900001,2026-11-26,南京分公司,大件,客户已收货,张先生 13812341234,王丽,2026-11-26 16:00,已签收"
BAD_ROW = "SO20261126900002,not-a-date,南京分公司,大件,客户已收货,张先生 13812341234,王丽,2026-11-26 16:00,已签收"
CLOSED_PORT_PG = "postgresql://postgres@127.0.0.1:1/test"  # nothing listens on port 1


def no_traceback(err: str) -> None:
    assert "Traceback" not in err and 'File "' not in err, err


def test_help_documents_the_exit_codes(operator, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert "exit codes:" in out
    assert "  0  the work was done" in out and "  1  something due was not done" in out and "  2  bad usage" in out


def test_each_command_s_help_documents_the_exit_codes_in_chinese(operator, monkeypatch, capsys):
    monkeypatch.setenv("BOT_LOCALE", "zh_CN")
    with pytest.raises(SystemExit):
        main(["digest", "--help"])
    assert "退出码：" in capsys.readouterr().out


def test_bad_usage_exits_2(operator, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["import"])  # the file is missing
    assert exit_.value.code == 2
    assert "file" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["digest", "sweep"])
@pytest.mark.parametrize("value", ["nonsense", "2026-13-01T08:30", "27/11/2026"])
def test_a_bad_at_value_exits_2_with_a_message(operator, slack, capsys, command, value):
    assert main([command, "--at", value]) == 2
    err = capsys.readouterr().err
    assert f"--at '{value}': not a date and time" in err
    no_traceback(err)
    assert slack.calls_to("chat.postMessage") == []


def test_sweep_warns_about_next_year_s_calendar_and_exits_0(operator, slack, capsys):
    # From 1 December the sweep warns that next year has no calendar data; its work was done.
    assert main(["sweep", "--at", "2026-12-01T10:00"]) == 0
    captured = capsys.readouterr()
    assert "Sweep at 2026-12-01 10:00" in captured.out
    assert "no data for 2027" in captured.err
    no_traceback(captured.err)


def test_a_digest_paused_for_lack_of_calendar_data_exits_1_with_a_message(operator, slack, capsys):
    assert main(["import", str(SAMPLE)]) == 0
    capsys.readouterr()
    assert main(["digest", "--at", "2027-01-04T09:00"]) == 1  # chinesecalendar has no 2027 yet
    err = capsys.readouterr().err
    assert "No digest: the China working-day calendar has no official data for 2027" in err
    assert "[calendar.years.2027]" in err and "assume_weekdays = [2027]" in err
    no_traceback(err)
    # Issue 7: the CS lead and the channel are told it is paused, once that day.
    posts = [c for c in slack.calls_to("chat.postMessage") if c.error is None]
    assert sorted(c.params["channel"] for c in posts) == ["C0LOGISTICS", "DU0CSLEAD"]
    assert main(["digest", "--at", "2027-01-04T11:00"]) == 1
    assert len([c for c in slack.calls_to("chat.postMessage") if c.error is None]) == 2


@pytest.mark.parametrize("command", ["digest", "sweep"])
def test_a_digest_or_sweep_is_0_on_a_day_with_nothing_to_do(operator, slack, capsys, command):
    assert main([command, "--at", "2026-11-28T09:00"]) == 0  # a Saturday
    no_traceback(capsys.readouterr().err)


def test_a_digest_slack_refuses_exits_1_with_a_message(operator, slack, capsys):
    assert main(["import", str(SAMPLE)]) == 0
    capsys.readouterr()
    slack.fail_next("chat.postMessage", error="channel_not_found", times=10)
    assert main(["digest", "--at", "2026-11-27T08:30"]) == 1
    err = capsys.readouterr().err
    assert "The digest of 2026-11-27 is not complete: 3 of 3 digest message(s)" in err and "channel_not_found" in err
    no_traceback(err)


def test_a_digest_when_slack_cannot_be_reached_exits_1_with_a_message(operator, slack, monkeypatch, capsys):
    assert main(["import", str(SAMPLE)]) == 0
    capsys.readouterr()
    monkeypatch.setenv("SLACK_API_URL", "http://127.0.0.1:1/api/")  # nothing listens on port 1
    assert main(["digest", "--at", "2026-11-27T08:30"]) == 1
    err = capsys.readouterr().err
    assert "Slack failed after the retries" in err
    no_traceback(err)


def test_a_sweep_when_slack_cannot_be_reached_exits_1_with_a_message(operator, slack, monkeypatch, capsys):
    assert main(["import", str(SAMPLE)]) == 0
    assert main(["digest", "--at", "2026-11-27T08:30"]) == 0
    capsys.readouterr()
    monkeypatch.setenv("SLACK_API_URL", "http://127.0.0.1:1/api/")
    assert main(["sweep", "--at", "2026-11-27T11:00"]) == 1  # nudges are due
    err = capsys.readouterr().err
    assert "Slack failed after the retries" in err
    no_traceback(err)


def test_a_sweep_whose_follow_ups_slack_refuses_exits_1_until_they_go_out(operator, slack, capsys):
    assert main(["import", str(SAMPLE)]) == 0
    assert main(["digest", "--at", "2026-11-27T08:30"]) == 0
    capsys.readouterr()
    slack.fail_next("chat.postMessage", error="channel_not_found", times=2)  # both owners' nudges

    assert main(["sweep", "--at", "2026-11-27T11:00"]) == 1
    err = capsys.readouterr().err
    assert "follow-ups are failing: 2 send(s) failed in this sweep" in err
    no_traceback(err)

    assert main(["sweep", "--at", "2026-11-27T11:01"]) == 0  # sent now: nothing is failing any more
    assert "2 follow-up message(s) sent" in capsys.readouterr().out


def test_an_import_with_some_bad_rows_keeps_the_good_ones_and_exits_0(operator, capsys):
    path = operator / "mixed.csv"
    path.write_text("\n".join([HEADER, GOOD_ROW, BAD_ROW]), encoding="utf-8")
    assert main(["import", str(path)]) == 0
    captured = capsys.readouterr()
    assert "row 3" in captured.out.lower()  # the bad row is listed in the report
    assert "1 row(s) were not imported (listed above); the other rows were kept." in captured.err
    assert item_count(operator) == 1


def test_an_import_whose_every_row_is_bad_exits_1(operator, capsys):
    path = operator / "bad.csv"
    path.write_text("\n".join([HEADER, BAD_ROW]), encoding="utf-8")
    assert main(["import", str(path)]) == 1
    assert "1 row(s) were not imported" in capsys.readouterr().err
    assert item_count(operator) == 0


def test_an_import_file_refused_as_a_whole_exits_1(operator, capsys):
    path = operator / "notes.csv"
    path.write_text("hello,world\n1,2\n", encoding="utf-8")
    assert main(["import", str(path)]) == 1
    err = capsys.readouterr().err
    assert err.strip()
    no_traceback(err)
    assert item_count(operator) == 0


@pytest.mark.parametrize("argv", [["db", "upgrade"], ["import", str(SAMPLE)], ["digest", "--at", "2026-11-27T08:30"], ["sweep", "--at", "2026-11-27T11:00"]], ids=["db", "import", "digest", "sweep"])
def test_a_database_that_does_not_answer_exits_1_with_a_message(operator, slack, monkeypatch, capsys, argv):
    monkeypatch.setenv("DATABASE_URL", CLOSED_PORT_PG)
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert "The database did not answer (OperationalError: " in err
    assert "Check DATABASE_URL" in err
    no_traceback(err)
    assert slack.calls_to("chat.postMessage") == []


def test_a_sqlite_database_that_cannot_be_opened_exits_1_with_a_message(operator, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{operator / 'no-such-dir' / 'bot.db'}")
    assert main(["import", str(SAMPLE)]) == 1
    err = capsys.readouterr().err
    assert "The database did not answer (OperationalError: unable to open database file)" in err
    no_traceback(err)


def test_a_database_url_the_bot_cannot_use_exits_2(operator, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", "mysql://localhost/bot")
    assert main(["db", "upgrade"]) == 2
    assert "DATABASE_URL" in capsys.readouterr().err


def test_a_token_slack_refuses_exits_2(operator, slack, capsys):
    slack.fail_next("auth.test", error="invalid_auth")  # a revoked token: the command cannot start
    assert main(["digest", "--at", "2026-11-27T08:30"]) == 2
    err = capsys.readouterr().err
    assert "SLACK_BOT_TOKEN was refused by Slack (invalid_auth)" in err
    no_traceback(err)


def rejectbot(*argv: str, cwd: Path) -> subprocess.CompletedProcess:
    """The command as the operator runs it: its own process, its real exit status and stderr."""
    return subprocess.run([sys.executable, "-m", "bot.cli", *argv], cwd=cwd, capture_output=True, text=True, timeout=120, check=False)


def test_as_a_process_each_failure_has_its_exit_status_and_no_traceback(operator, slack, monkeypatch):
    assert rejectbot("import", str(SAMPLE), cwd=operator).returncode == 0

    bad_at = rejectbot("digest", "--at", "tomorrow", cwd=operator)
    assert bad_at.returncode == 2 and "--at 'tomorrow': not a date and time" in bad_at.stderr

    calendar = rejectbot("digest", "--at", "2027-01-04T09:00", cwd=operator)
    assert calendar.returncode == 1 and "no official data for 2027" in calendar.stderr

    warning = rejectbot("sweep", "--at", "2026-12-01T10:00", cwd=operator)
    assert warning.returncode == 0 and "no data for 2027" in warning.stderr

    slack.fail_next("chat.postMessage", error="channel_not_found", times=10)
    refused = rejectbot("digest", "--at", "2026-11-27T08:30", cwd=operator)
    assert refused.returncode == 1 and "The digest of 2026-11-27 is not complete" in refused.stderr
    assert "channel_not_found" in refused.stderr

    monkeypatch.setenv("DATABASE_URL", CLOSED_PORT_PG)
    gone = rejectbot("digest", "--at", "2026-11-27T08:30", cwd=operator)
    assert gone.returncode == 1 and "The database did not answer" in gone.stderr

    for run in (bad_at, calendar, warning, refused, gone):
        no_traceback(run.stderr)


def test_check_config_with_the_database_gone_exits_1(operator, slack, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", CLOSED_PORT_PG)
    assert main(["check-config"]) == 1
    out = capsys.readouterr().out
    assert "DATABASE_URL: cannot connect (OperationalError: " in out
