"""What follow-up messages say: the escalation DM (fallback text and blocks
with its buttons) and the ``/reject next`` answer. Plain dicts and strings;
the fake Slack's own Block Kit checks say whether Slack would take them."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.core.followup import DisputeOutlook, Step, StepKind, ThreadOutlook
from bot.core.followup_messages import ESCALATION_THREADS_WITH_BUTTONS, EscalationThread, escalation_message, outlook_text
from bot.core.text import MESSAGE_TEXT_BUDGET, block_text_length, text_size
from bot.fakeslack.server import check_blocks
from bot.i18n import LOCALES, Catalog
from bot.ids import ActionId

SHANGHAI = ZoneInfo("Asia/Shanghai")
EN = Catalog("en")
OWNER, OPS_HEAD, BOSS, AGENT, CS_LEAD = "U0OWNERY", "U0OPSHEAD", "U0LOGIBOSS", "U0CS0001", "U0CSLEAD"
LINK = "https://rejectbot-test.slack.com/archives/C0LOGISTICS/p1764203400000100"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI).astimezone(UTC)


def escalated(thread_id: int = 7, **changes) -> EscalationThread:
    facts = EscalationThread(
        thread_id=thread_id, owner="大件配送", owner_user=OWNER, digest_day=date(2026, 11, 27), awaiting=26,
        oldest_unfixed_at=None, since=at("2026-11-27 08:30"), level=1,
        nudged=((OWNER, at("2026-11-27 11:00")),), link=LINK,
    )
    return replace(facts, **changes)


def buttons(blocks: list[dict], block_id: str) -> list[dict]:
    (block,) = [b for b in blocks if b.get("block_id") == block_id]
    return block["elements"]


# --- the escalation DM ----------------------------------------------------------------


def test_the_escalation_text_says_what_is_open_since_when_who_was_nudged_and_links_the_thread() -> None:
    text, _ = escalation_message([escalated(7), escalated(8, owner="小件配送", owner_user="U0OWNERZ", awaiting=12, link="")], EN, SHANGHAI)

    head, y, z = text.split("\n\n")
    assert head == EN.t("followup.escalation_head", count=2)
    assert "大件配送" in y and f"<@{OWNER}>" in y and "26 item(s) awaiting" in y and "quiet since 11-27 08:30" in y
    assert f"<@{OWNER}> 11-27 11:00" in y and LINK in y and "level 1" in y
    assert "小件配送" in z and "12 item(s)" in z and "https://" not in z


def test_each_thread_has_its_facts_and_buttons_to_remind_confirm_and_open_it() -> None:
    text, blocks = escalation_message([escalated(7), escalated(8, link="")], EN, SHANGHAI)

    assert check_blocks(blocks, max_blocks=50) == []
    assert [b["block_id"] for b in blocks] == ["escalation-head", "escalation-7", "escalation-act-7", "escalation-8", "escalation-act-8"]
    (section,) = [b for b in blocks if b["block_id"] == "escalation-7"]
    assert section["text"]["text"] == text.split("\n\n")[1]
    remind, confirm_all, open_thread = buttons(blocks, "escalation-act-7")
    assert (remind["action_id"], remind["value"], remind["text"]["text"]) == (ActionId.REMIND_OWNER, "7", "Remind owner now")
    assert (confirm_all["action_id"], confirm_all["value"], confirm_all["text"]["text"]) == (ActionId.CONFIRM_FOR_OWNER, "7", "Confirm all for them")
    assert "大件配送" in confirm_all["confirm"]["text"]["text"]  # asked before confirming someone else's items
    assert (open_thread["action_id"], open_thread["url"]) == (ActionId.OPEN_THREAD, LINK)
    assert [b["action_id"] for b in buttons(blocks, "escalation-act-8")] == [ActionId.REMIND_OWNER, ActionId.CONFIRM_FOR_OWNER]  # no link, no link button


def test_two_levels_of_one_thread_in_one_dm_get_one_set_of_buttons() -> None:
    text, blocks = escalation_message([escalated(7, level=1), escalated(7, level=2)], EN, SHANGHAI)

    assert len(text.split("\n\n")) == 3
    assert check_blocks(blocks, max_blocks=50) == []
    assert [b["block_id"] for b in blocks] == ["escalation-head", "escalation-7", "escalation-act-7"]


def test_more_threads_than_the_block_limit_allows_are_counted_in_a_last_line() -> None:
    threads = [escalated(i) for i in range(1, ESCALATION_THREADS_WITH_BUTTONS + 4)]

    text, blocks = escalation_message(threads, EN, SHANGHAI)

    assert check_blocks(blocks, max_blocks=50) == []
    shown = len([b for b in blocks if b["type"] == "actions"])
    assert 0 < shown <= ESCALATION_THREADS_WITH_BUTTONS  # the block limit or the text budget, whichever is first
    assert blocks[-1]["block_id"] == "escalation-more"
    assert blocks[-1]["elements"][0]["text"] == EN.t("followup.escalation_more", count=len(threads) - shown)
    assert len(text.split("\n\n")) == shown + 2  # the text lists the same threads, and the count
    assert block_text_length(blocks) <= MESSAGE_TEXT_BUDGET


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("count", [1, 5, 19, 24, 25, 300, 1_700])
def test_an_escalation_of_very_many_threads_fits_the_budget(locale: str, count: int) -> None:
    # Issue 6: ~1,700 threads built an over-40,000-character DM, refused (msg_too_long) and retried forever.
    catalog = Catalog(locale)
    nudged = tuple((f"U0NUDGED{k:03}", at("2026-11-27 11:00")) for k in range(40))
    threads = [escalated(i, owner="配" * 60, nudged=nudged if i % 2 else ((OWNER, at("2026-11-27 11:00")),)) for i in range(1, count + 1)]

    text, blocks = escalation_message(threads, catalog, SHANGHAI)

    assert check_blocks(blocks, max_blocks=50) == []
    assert block_text_length(blocks) <= MESSAGE_TEXT_BUDGET
    assert text_size(text) <= MESSAGE_TEXT_BUDGET
    shown = [b["elements"][0]["value"] for b in blocks if b["type"] == "actions"]
    assert shown == [str(i) for i in range(1, len(shown) + 1)]  # the first threads, in order, with buttons
    if len(shown) < count:
        assert blocks[-1]["elements"][0]["text"] == catalog.t("followup.escalation_more", count=count - len(shown))
    else:
        assert blocks[-1]["type"] == "actions"


@pytest.mark.parametrize("locale", LOCALES)
def test_the_next_answer_for_very_many_threads_fits_the_budget(locale: str) -> None:
    catalog = Catalog(locale)
    now = at("2026-11-27 12:00")
    steps = tuple(step(StepKind.NUDGE, 0, OWNER, "2026-11-27 14:00", subject=i) for i in range(3))
    entries = [
        ThreadOutlook(
            owner=f"大件配送{i}", owner_user=OWNER, digest_day=date(2026, 11, 27), awaiting=26, deadline=at("2026-11-27 18:00"),
            acknowledged_by=None, acknowledged_at=None, oldest_unfixed_at=None, steps=steps,
        )
        for i in range(2_000)
    ]
    text = outlook_text(entries, catalog, SHANGHAI, now=now)
    assert text_size(text) <= MESSAGE_TEXT_BUDGET
    assert text.startswith(catalog.t("followup.next_head", tz="Asia/Shanghai"))
    shown = text.count("大件配送")
    assert 0 < shown < 2_000
    assert text.splitlines()[-1] == catalog.t("followup.next_more", count=2_000 - shown)


@pytest.mark.parametrize("locale", LOCALES)
def test_the_escalation_buttons_fit_slack_s_limits_in_every_locale(locale: str) -> None:
    _, blocks = escalation_message([escalated(7, owner="配" * 200)], Catalog(locale), SHANGHAI)

    assert check_blocks(blocks, max_blocks=50) == []


# --- /reject next -------------------------------------------------------------------------------


def step(kind: StepKind, level: int, recipient: str, due: str, subject: int = 7) -> Step:
    return Step(kind, level, recipient, at(due), subject, at("2026-11-27 08:30"))


def outlook(**changes) -> ThreadOutlook:
    entry = ThreadOutlook(
        owner="大件配送", owner_user=OWNER, digest_day=date(2026, 11, 27), deadline=at("2026-11-27 18:00"),
        awaiting=26, oldest_unfixed_at=None, acknowledged_at=None, acknowledged_by=None,
        steps=(step(StepKind.NUDGE, 0, OWNER, "2026-11-27 11:00"), step(StepKind.ESCALATE, 1, OPS_HEAD, "2026-11-27 13:00")),
        after_deadline=(step(StepKind.ESCALATE, 2, BOSS, "2026-12-03 09:00"),),
    )
    return replace(entry, **changes)


def test_nothing_ahead_says_so() -> None:
    assert outlook_text([], EN, SHANGHAI, now=at("2026-11-27 10:00")) == EN.t("followup.next_none")


def test_a_thread_s_steps_say_when_what_and_to_whom() -> None:
    text = outlook_text([outlook()], EN, SHANGHAI, now=at("2026-11-27 10:00"))

    assert "Asia/Shanghai" in text
    assert "*大件配送*" in text and "2026-11-27" in text
    assert "26 item(s) await an answer" in text and "unanswered at 11-27 18:00 are deemed confirmed" in text
    assert f"11-27 11:00 — reminder in the thread, mentioning <@{OWNER}>" in text
    assert f"11-27 13:00 — escalation level 1: DM to <@{OPS_HEAD}>" in text
    assert "After 11-27 18:00, while a fix is missing:" in text
    assert f"12-03 09:00 — escalation level 2: DM to <@{BOSS}>" in text
    assert "due:" not in text and "👀" not in text


def test_a_step_already_due_says_it_waits_for_the_next_sweep() -> None:
    text = outlook_text([outlook()], EN, SHANGHAI, now=at("2026-11-27 11:00"))

    (line,) = [line for line in text.splitlines() if "11-27 11:00 —" in line]
    assert line.endswith(EN.t("followup.next_overdue"))


def test_an_acknowledged_thread_says_who_acknowledged_it_and_until_when_it_is_quiet() -> None:
    text = outlook_text([outlook(steps=(), acknowledged_at=at("2026-11-27 09:30"), acknowledged_by=OWNER)], EN, SHANGHAI, now=at("2026-11-27 10:00"))

    assert f"👀 acknowledged by <@{OWNER}> at 11-27 09:30" in text and "(11-27 18:00)" in text


def test_a_thread_with_every_step_taken_and_a_missing_calendar_says_so() -> None:
    text = outlook_text([outlook(steps=(), after_deadline=(), missing_year=2027)], EN, SHANGHAI, now=at("2026-11-27 10:00"))

    assert EN.t("followup.next_no_steps") in text and "2027" in text


def test_a_dispute_s_reminders_name_the_order_the_agent_and_the_cs_lead() -> None:
    entry = DisputeOutlook(
        order_no="SO20261126000002", owner="大件配送", agent="王丽", disputed_at=at("2026-11-27 10:00"),
        steps=(step(StepKind.DISPUTE_NUDGE, 0, AGENT, "2026-11-27 14:00", 42), step(StepKind.DISPUTE_ESCALATE, 1, CS_LEAD, "2026-11-30 10:00", 42)),
    )

    text = outlook_text([entry], EN, SHANGHAI, now=at("2026-11-27 10:00"))

    assert "SO20261126000002" in text and "王丽" in text and "disputed 11-27 10:00" in text
    assert f"11-27 14:00 — reminder DM to the callback agent <@{AGENT}>" in text
    assert f"11-30 10:00 — escalation DM to the CS lead <@{CS_LEAD}>" in text


@pytest.mark.parametrize("locale", LOCALES)
def test_the_outlook_renders_in_every_locale(locale: str) -> None:
    entry = DisputeOutlook("SO1", "大件配送", "王丽", at("2026-11-27 10:00"), (step(StepKind.DISPUTE_NUDGE, 0, AGENT, "2026-11-27 14:00", 42),))

    text = outlook_text([outlook(acknowledged_at=at("2026-11-27 09:30"), acknowledged_by=OWNER, missing_year=2027), entry], Catalog(locale), SHANGHAI, now=at("2026-11-27 12:00"))

    assert f"<@{OWNER}>" in text and f"<@{BOSS}>" in text and f"<@{AGENT}>" in text and "2027" in text
