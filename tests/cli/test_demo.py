"""`rejectbot demo` runs the whole loop offline, in both languages: the
morning's answers, then the silent owner's day — a nudge, an escalation DM
to the operations-centre head, the owner told, and the 18:00 deadline."""

import hashlib
import re
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session, select

from bot.cli import main
from bot.clock import SystemClock
from bot.core.lifecycle import Status
from bot.demo import CHANNEL, TICK_EVERY, _width, _wrap, play
from bot.i18n import Catalog
from storage.db import make_engine
from storage.models import FollowUp, Item

Z, OPS_HEAD, TOP = "U0OWNERZ", "U0OPSHEAD", "U0LOGIBOSS"
SHANGHAI = ZoneInfo("Asia/Shanghai")
EVERY = int(TICK_EVERY.total_seconds() // 60)  # the demo's ticker, in minutes


@pytest.mark.parametrize(("locale", "how"), [("en", "flag"), ("zh_CN", "env")])
def test_the_demo_runs_the_loop(locale, how, capsys, monkeypatch):
    """In the language ``--locale`` names, else ``BOT_LOCALE``'s."""
    monkeypatch.setenv("BOT_LOCALE", "zh_CN" if how == "flag" else locale)
    assert main(["demo", "--locale", locale] if how == "flag" else ["demo"]) == 0
    captured = capsys.readouterr()
    out = captured.out
    assert "Traceback" not in out + captured.err
    assert Catalog(locale).t("demo.step_silent", every=EVERY) in out
    assert "SO20261126000000" in out
    assert "[ Confirm ]" in out or "[ 确认 ]" in out  # the digest shows its buttons
    assert "new Slack calls: 0" in out or "新增 Slack 调用：0" in out  # the redelivered event did nothing
    assert "138****" in out or "****" in out  # customers are masked
    assert "15523938499" not in out  # no full phone number in the channel


def _key(call) -> str:
    metadata = call.params.get("metadata") or {}
    return (metadata.get("event_payload") or {}).get("key", "")


def _flat(text: str) -> str:
    """Printed text without its wrapping: no line prefixes, no whitespace."""
    return re.sub(r"\s|│|↳", "", text)


@pytest.mark.parametrize("locale", ["en", "zh_CN"])
def test_the_silent_owner_is_nudged_escalated_and_deemed(locale, tmp_path, capsys, monkeypatch):
    def today(self):
        raise AssertionError("the demo read the system clock: its day must not depend on the day it runs")

    monkeypatch.setattr(SystemClock, "now", today)
    fake, day_one = play(locale=locale, workdir=tmp_path)
    out = capsys.readouterr().out
    t = Catalog(locale).t

    # --- what the bot really sent to Slack on the demo day, in order ---------------------
    z_message = next(m for m in fake.channel_history(CHANNEL) if f"<@{Z}>" in (m["blocks"][0].get("text") or {}).get("text", ""))
    calls = fake.calls[:day_one]
    posts = [(i, c) for i, c in enumerate(calls) if c.method == "chat.postMessage"]
    nudges = [(i, c) for i, c in posts if _key(c).startswith("nudge:")]
    escalations = [(i, c) for i, c in posts if _key(c).startswith("escalate:")]
    notices = [(i, c) for i, c in posts if _key(c).startswith("notice:escalate:")]
    deemed_updates = [
        (i, c) for i, c in enumerate(calls)
        if c.method == "chat.update" and c.params["ts"] == z_message["ts"]
        and any(t("status.deemed_confirmed") in str(b) for b in c.params["blocks"] if b.get("block_id", "").startswith("state-"))
    ]
    # each exactly once, and only about Z's thread: Y answered everything
    assert len(nudges) == len(escalations) == len(notices) == 1
    [(nudge_at, nudge)], [(escalation_at, escalation)], [(notice_at, notice)] = nudges, escalations, notices
    assert deemed_updates, "Z's digest message never showed its items deemed confirmed"
    deemed_at = deemed_updates[0][0]
    assert nudge_at < escalation_at < notice_at < deemed_at

    assert nudge.params["channel"] == CHANNEL and nudge.params["thread_ts"] == z_message["ts"]
    assert f"<@{Z}>" in nudge.params["text"]
    assert fake.dm_user(escalation.params["channel"]) == OPS_HEAD  # escalation[0], by DM
    assert _key(escalation).split(":")[2] == "1"  # level 1
    assert f"<@{Z}>" in str(escalation.params["blocks"])
    assert notice.params["channel"] == CHANNEL and notice.params["thread_ts"] == z_message["ts"]
    assert f"<@{Z}>" in notice.params["text"] and f"<@{OPS_HEAD}>" in notice.params["text"]
    # the top of the chain hears nothing on day one
    assert not [c for _, c in posts if fake.dm_user(c.params["channel"]) == TOP]
    final = fake.messages[(CHANNEL, z_message["ts"])]
    states = [b for b in final["blocks"] if b.get("block_id", "").startswith("state-")]
    assert len(states) == 12 and all(t("status.deemed_confirmed") in str(b) for b in states)

    # --- and the database agrees ----------------------------------------------------
    with Session(make_engine(f"sqlite:///{tmp_path / 'demo.db'}")) as session:
        z_items = session.exec(select(Item).where(Item.owner == "小件配送", Item.rejected_on == date(2026, 11, 26), Item.digest_message_id.is_not(None))).all()
        assert len(z_items) == 12 and {i.status for i in z_items} == {Status.DEEMED_CONFIRMED}
        assert not session.exec(select(Item).where(Item.owner == "大件配送", Item.status == Status.AWAITING)).all()
        friday = [f for f in session.exec(select(FollowUp)).all() if f.sent_at < datetime(2026, 11, 27, 18, tzinfo=SHANGHAI)]
        steps = sorted((f.kind, f.level, f.recipient) for f in friday if not f.key.startswith("demo-history:"))
        assert steps == [("escalate", 1, OPS_HEAD), ("nudge", 0, Z)]

    # --- what the terminal shows, in the same order ---------------------------------
    flat = _flat(out)
    day = flat[flat.index(_flat(t("demo.step_silent", every=EVERY))):]
    expected = [
        _flat(t("demo.at", time="11-27 11:00")),
        _flat(t("followup.nudge", owner="@Z (小件配送)")),
        _flat(t("demo.at", time="11-27 13:00")),
        _flat(t("demo.dm", person=t("demo.name_ops_head"))),
        _flat(t("followup.escalation_head", count=1)),
        _flat(t("followup.escalated_notice", owner="@Z (小件配送)", manager="@" + t("demo.name_ops_head"), level=1)),
        _flat(t("demo.at", time="11-27 18:00")),
        _flat(t("status.deemed_confirmed")),
    ]
    positions = [day.find(text) for text in expected]
    assert -1 not in positions, [text for text, at in zip(expected, positions) if at == -1]
    assert positions == sorted(positions)


def test_terminal_lines_keep_to_their_width_in_both_scripts():
    text = ("*小件配送* @Z (小件配送) · 2026-11-27 的误拒单日报：12 条待答复；自 11-27 08:30 起无响应。已在话题中提醒："
            "@Z (小件配送) 11-27 11:00。 https://rejectbot-test.slack.com/archives/C0LOGISTICS/p1795739400000200")
    lines = _wrap(text, 40)
    assert "".join(lines).replace(" ", "") == text.replace(" ", "")  # nothing lost
    assert "https://rejectbot-test.slack.com/archives/C0LOGISTICS/p1795739400000200" in lines  # a link is never cut
    assert all(_width(line) <= 40 + 2 for line in lines if not line.startswith("https://"))  # punctuation may hang over
    assert not any(line[:1] in "，。：；）" for line in lines)  # no line starts with punctuation
    assert _wrap("Answering here stops further escalation.", 20) == ["Answering here stops", "further escalation."]


def test_the_month_ends_with_the_notice_and_a_letter_for_the_silent_owner(tmp_path, capsys):
    fake, day_one = play(locale="zh_CN", workdir=tmp_path)
    out = capsys.readouterr().out
    t = Catalog("zh_CN").t
    later = fake.calls[day_one:]
    # the day began with the export dropped into the bot's DM and imported there (no terminal)
    agent_dms = [m.get("text", "") for (channel, _), m in fake.messages.items() if fake.dm_user(channel) == "U0CS0001"]
    assert any("callbacks-2026-11-26.csv" in text and "40" in text for text in agent_dms)  # the summary replaced the progress
    assert [c for c in fake.calls[:day_one] if c.method == "files.info"], "the upload was not fetched through files.info"
    # and Y opened his Home tab: what waits on him
    home = fake.home_view("U0OWNERY")
    assert home is not None and "SO20261126" in str(home["blocks"])
    # November's notice, once, with its chart and its masked workbook in its thread
    notices = [c for c in later if c.method == "chat.postMessage" and _key(c) == "monthly:2026-11"]
    assert len(notices) == 1 and notices[0].params["channel"] == CHANNEL
    files = {f["name"]: f for f in fake.files()}
    assert {"rejectbot-2026-11-chart.png", "rejectbot-2026-11.xlsx", "rejectbot-2026-11-full.xlsx"} <= set(files)
    assert files["rejectbot-2026-11-chart.png"]["shares"][0]["channel"] == CHANNEL
    # the history gives the trend: Y improved on October, Z did not
    assert "↓" in out and "↑" in out
    # one letter, for Z only, numbered, its files delivered to Z and the top of his chain with the recorded hashes
    letters = [f for f in fake.files() if f["name"].startswith("KF-")]  # each recipient gets their own upload
    assert sorted(f["name"] for f in letters) == ["KF-2026-001.docx"] * 2 + ["KF-2026-001.pdf"] * 2
    pdfs = [f for f in letters if f["name"].endswith(".pdf")]
    assert sorted(fake.dm_user(s["channel"]) for f in pdfs for s in f["shares"]) == sorted([Z, TOP])
    for f in letters:
        assert hashlib.sha256(f["content"]).hexdigest() in out
    # Z acknowledged it: announced once in the channel's thread of the announcement
    acks = [c for c in later if c.method == "chat.postMessage" and c.params.get("channel") == CHANNEL and "KF-2026-001" in c.params.get("text", "")]
    assert len(acks) == 2 and acks[1].params.get("thread_ts")  # the announcement, then the acknowledgment in its thread
    assert _flat(t("demo.step_acknowledge")) in _flat(out)


@pytest.mark.parametrize("extra", [["--host", "0.0.0.0"], ["--port", "8080"]])
def test_host_and_port_without_web_are_bad_usage_not_ignored(extra, capsys):
    assert main(["demo", *extra]) == 2
    err = capsys.readouterr().err
    assert "--web" in err and "Traceback" not in err
