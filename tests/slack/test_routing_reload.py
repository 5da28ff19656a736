"""Changes to the routing file without a restart (issue 7), through the real
app and ticker jobs into our fake Slack, on SQLite and PostgreSQL. The app
reads its routing from a file; the test edits the file and ticks."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest
from conftest import SHANGHAI, at

from bot.app import create_app
from bot.core.importing import parse_export
from bot.core.lifecycle import Role
from bot.fakeslack import FakeSlack
from bot.gateway import make_client
from bot.health import Health
from storage.db import transaction
from storage.imports import insert_records

SAMPLE = Path(__file__).resolve().parents[1] / "fixtures" / "samples" / "callbacks-2026-11-26.csv"
CHANNEL, CS_LEAD = "C0LOGISTICS", "U0CSLEAD"

ONE_OWNER = """\
channel = "C0LOGISTICS"

[cs]
lead = "U0CSLEAD"
agents = { "王丽" = "U0CS0001" }

[[owners]]
name = "大件配送"
user = "U0OWNERY"
categories = ["large"]
escalation = ["U0OPSHEAD", "U0LOGIBOSS"]
"""

SMALL_OWNER = """
[[owners]]
name = "小件配送"
user = "z@example.com"
categories = ["small"]
escalation = ["U0OPSHEAD"]
"""


@pytest.fixture
def fake_slack(clock):
    users = {"U0OWNERZ": {"name": "z", "real_name": "Z", "email": "z@example.com"}}
    with FakeSlack(clock=lambda: clock.now().timestamp(), users=users) as fake:
        yield fake


@pytest.fixture
def routing_file(settings) -> Path:
    settings.routing_file.write_text(ONE_OWNER, encoding="utf-8")
    return settings.routing_file


@pytest.fixture
def bot(settings, fake_slack, session_factory, clock, routing_file):
    return create_app(settings, client=make_client("xoxb-test", fake_slack.api_url), session_factory=session_factory,
                      clock=clock, process_before_response=True)  # the routing is read from the file


def edit(path: Path, text: str) -> None:
    """Write the file as an editor would; its modification time moves on."""
    before = path.stat().st_mtime_ns
    path.write_text(text, encoding="utf-8")
    os.utime(path, ns=(before + 1_000_000_000, before + 1_000_000_000))


def seed(session_factory, clock) -> None:
    records = parse_export(SAMPLE.read_bytes(), filename="callbacks.csv").records
    with transaction(session_factory) as session:
        insert_records(session=session, records=records, batch_id=None, now=clock.now(), timezone=SHANGHAI)


def dms(fake, user: str, about: str = "") -> list[str]:
    return [c.params["text"] for c in fake.calls_to("chat.postMessage") if c.error is None and c.params["channel"] == f"D{user}" and about in c.params["text"]]


def tick_at(bot, clock, when: str, health: Health | None = None):
    clock.set(at(when))
    return bot.services.tick(health=health)


def test_a_good_edit_takes_effect_without_a_restart(bot, fake_slack, session_factory, clock, routing_file) -> None:
    seed(session_factory, clock)
    clock.set(at("2026-11-27 08:00"))
    assert bot.services.deps.routing.owner_named("小件配送") is None

    edit(routing_file, ONE_OWNER + SMALL_OWNER)  # a new owner for the small items, given by e-mail address
    tick_at(bot, clock, "2026-11-27 08:01")

    routing = bot.services.deps.routing
    small = routing.owner_named("小件配送")
    assert small is not None and small.user == "U0OWNERZ"  # resolved by users.lookupByEmail, as at start-up
    assert [c.params["email"] for c in fake_slack.calls_to("users.lookupByEmail")] == ["z@example.com"]
    assert bot.services.deps.calendar.overrides == routing.calendar
    assert routing.role_for("U0OWNERZ", small) is Role.OWNER

    # The digest (a job of the same ticker) posts the small items to the new owner.
    outcome = tick_at(bot, clock, "2026-11-27 08:30")
    assert outcome["digest"] is None
    heads = [c.params["text"] for c in fake_slack.calls_to("chat.postMessage") if c.params["channel"] == CHANNEL and not c.params.get("thread_ts")]
    assert any("小件配送" in h for h in heads) and any("大件配送" in h for h in heads)
    assert dms(fake_slack, CS_LEAD, "match no logistics owner") == []  # nothing unrouted any more

    # Unchanged file: not read again, nobody looked up again.
    tick_at(bot, clock, "2026-11-27 08:31")
    assert len(fake_slack.calls_to("users.lookupByEmail")) == 1


def test_a_bad_edit_keeps_the_last_good_routing_and_tells_the_cs_lead_once_in_working_time(bot, fake_slack, session_factory, clock, routing_file, caplog) -> None:
    caplog.set_level(logging.ERROR)
    health = Health(clock=clock, ticker=False)
    health.add_note("routing file", bot.services.routing_note)
    fake_slack.clear()

    # Friday evening, after work: the escalation key is misspelt.
    edit(routing_file, ONE_OWNER.replace("escalation =", "escalaton ="))
    tick_at(bot, clock, "2026-11-27 19:00", health)

    owner = bot.services.deps.routing.owner_named("大件配送")
    assert owner.escalation == ("U0OPSHEAD", "U0LOGIBOSS")  # the last good routing stays in force
    assert any("escalaton" in r.getMessage() for r in caplog.records)
    assert dms(fake_slack, CS_LEAD) == []  # not at night
    report = health.report()
    assert report.ok and any(line.startswith("routing file: an edit is refused since 2026-11-27T19:00") and "escalaton" in line for line in report.lines)

    tick_at(bot, clock, "2026-11-28 10:00", health)  # Saturday: not a working day
    assert dms(fake_slack, CS_LEAD) == []

    for when in ("2026-11-30 09:00", "2026-11-30 09:01", "2026-11-30 14:00"):  # Monday, working time
        tick_at(bot, clock, when, health)
    (told,) = dms(fake_slack, CS_LEAD)
    assert "keeps using the last good version" in told
    assert "owners[0] (大件配送): unknown key 'escalaton'; did you mean 'escalation'?" in told

    # Another bad content is told too, once; fixing it clears the note.
    edit(routing_file, ONE_OWNER.replace('channel = "C0LOGISTICS"', 'channel = "logistics"'))
    tick_at(bot, clock, "2026-11-30 15:00", health)
    tick_at(bot, clock, "2026-11-30 15:01", health)
    assert len(dms(fake_slack, CS_LEAD)) == 2 and "'logistics' is not a Slack channel ID" in dms(fake_slack, CS_LEAD)[1]
    assert bot.services.deps.routing.channel == CHANNEL

    edit(routing_file, ONE_OWNER.replace('categories = ["large"]', 'categories = ["large", "small"]'))
    tick_at(bot, clock, "2026-11-30 15:02", health)
    assert bot.services.deps.routing.owner_named("大件配送").categories == ("large", "small")
    assert not any(line.startswith("routing file:") for line in health.report().lines)
    assert len(dms(fake_slack, CS_LEAD)) == 2


def test_a_bad_edit_back_to_a_content_already_told_is_not_told_again(bot, fake_slack, clock, routing_file) -> None:
    bad = "chanel = 1\n" + ONE_OWNER
    edit(routing_file, bad)
    tick_at(bot, clock, "2026-11-30 10:00")
    edit(routing_file, ONE_OWNER)  # fixed
    tick_at(bot, clock, "2026-11-30 10:01")
    edit(routing_file, bad)  # the same mistake again
    tick_at(bot, clock, "2026-11-30 10:02")
    (told,) = dms(fake_slack, CS_LEAD)
    assert "Unknown key 'chanel' at the top of the routing file; did you mean 'channel'?" in told


def test_an_unknown_e_mail_address_is_a_bad_edit(bot, fake_slack, clock, routing_file) -> None:
    edit(routing_file, ONE_OWNER + SMALL_OWNER.replace("z@example.com", "nobody@example.com"))
    tick_at(bot, clock, "2026-11-30 10:00")
    assert bot.services.deps.routing.owner_named("小件配送") is None
    (told,) = dms(fake_slack, CS_LEAD)
    assert "no Slack user has the e-mail address nobody@example.com" in told


def test_slack_failing_to_resolve_an_address_is_tried_again_not_refused(bot, fake_slack, clock, routing_file) -> None:
    edit(routing_file, ONE_OWNER + SMALL_OWNER)
    fake_slack.fail_next("users.lookupByEmail", error="invalid_auth")  # refused outright: no retries within the tick
    tick_at(bot, clock, "2026-11-30 10:00")
    assert bot.services.deps.routing.owner_named("小件配送") is None and bot.services.routing_note() is None
    tick_at(bot, clock, "2026-11-30 10:01")
    assert bot.services.deps.routing.owner_named("小件配送").user == "U0OWNERZ"
    assert dms(fake_slack, CS_LEAD) == []


def test_a_deleted_routing_file_keeps_the_routing_in_force(bot, fake_slack, clock, routing_file) -> None:
    routing_file.unlink()
    tick_at(bot, clock, "2026-11-30 10:00")
    tick_at(bot, clock, "2026-11-30 10:01")
    assert bot.services.deps.routing.owner_named("大件配送") is not None
    (told,) = dms(fake_slack, CS_LEAD)
    assert "not found" in told
